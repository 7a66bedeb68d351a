"""`syncer check` against the real services: credentials, the audience, every mapped field.

With ``fix``, a missing HubSpot property or Mailchimp merge field is created with a type that
fits its mapping; a field that exists with an incompatible type is reported, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.config import Config, FieldMapping
from syncer.connectors.hubspot.client import HubSpotClient, PropertyInfo
from syncer.connectors.mailchimp.client import MailchimpClient, MergeField

#: Merge-field types a value synced as text can live in.
_TEXT_LIKE = {
    "text",
    "number",
    "phone",
    "url",
    "imageurl",
    "radio",
    "dropdown",
    "zip",
    "date",
    "birthday",
}
_BOOLEAN = {("bool", "booleancheckbox"), ("enumeration", "booleancheckbox")}


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``ok`` false is a problem; ``fixed`` says it was just created."""

    what: str
    ok: bool
    detail: str = ""
    fixed: bool = False


def check_remote(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, *, fix: bool
) -> list[Finding]:
    findings: list[Finding] = []
    properties = hubspot.properties()
    findings.append(Finding("HubSpot token", True, f"{len(properties)} contact properties visible"))
    info = mailchimp.list_info()
    findings.append(
        Finding("Mailchimp audience", True, f"{info.get('name', config.mailchimp.list_id)}")
    )
    merge_fields = {field.tag: field for field in mailchimp.merge_fields()}
    findings.extend(_hubspot_findings(config, hubspot, properties, fix))
    findings.extend(_mailchimp_findings(config, mailchimp, merge_fields, fix))
    return findings


def _hubspot_findings(
    config: Config, client: HubSpotClient, properties: dict[str, PropertyInfo], fix: bool
) -> list[Finding]:
    wanted: list[tuple[str, str, str, bool]] = [
        (config.subscription.hubspot_property, "bool", "booleancheckbox", True)
    ]
    if config.subscription.status_property:
        wanted.append((config.subscription.status_property, "string", "text", True))
    for mapping in config.fields:
        kind, field_type = (
            ("datetime", "date") if mapping.transform == "date" else ("string", "text")
        )
        wanted.append((mapping.hubspot, kind, field_type, mapping.to_hubspot))
    findings = []
    for name, kind, field_type, written in wanted:
        what = f"HubSpot property {name}"
        found = properties.get(name)
        if found is None:
            if fix:
                client.create_property(name, name.replace("_", " ").title(), kind, field_type)
                findings.append(Finding(what, True, f"created ({kind})", fixed=True))
            else:
                findings.append(Finding(what, False, "missing (`syncer check --fix` creates it)"))
            continue
        problem = _hubspot_problem(found, kind, written)
        findings.append(
            Finding(what, problem is None, problem or f"{found.type}/{found.field_type}")
        )
    return findings


def _hubspot_problem(found: PropertyInfo, kind: str, written: bool) -> str | None:
    if written and found.read_only:
        return "read-only in HubSpot, but the mapping writes to it"
    if kind == "bool" and (found.type, found.field_type) not in _BOOLEAN:
        return f"must be a yes/no checkbox property, is {found.type}/{found.field_type}"
    return None


def _mailchimp_findings(
    config: Config, client: MailchimpClient, merge_fields: dict[str, MergeField], fix: bool
) -> list[Finding]:
    findings = []
    for mapping in config.fields:
        what = f"Mailchimp merge field {mapping.mailchimp}"
        wanted = _merge_type(mapping)
        found = merge_fields.get(mapping.mailchimp)
        if found is None:
            if fix:
                client.create_merge_field(
                    mapping.mailchimp, mapping.hubspot.replace("_", " ").title(), wanted
                )
                findings.append(Finding(what, True, f"created ({wanted})", fixed=True))
            else:
                findings.append(Finding(what, False, "missing (`syncer check --fix` creates it)"))
            continue
        compatible = found.type == wanted if wanted == "date" else found.type in _TEXT_LIKE
        findings.append(
            Finding(
                what, compatible, found.type if compatible else f"type {found.type} cannot hold it"
            )
        )
    return findings


def _merge_type(mapping: FieldMapping) -> str:
    return "date" if mapping.transform == "date" else "text"
