"""Before a run fetches or writes anything: do the fields the configuration names exist?

A mapping naming a property HubSpot does not have (a typo: `lastnme`) fails every write, and a
subscription property that does not exist reads as "nobody wants mail", which the reconciler
would faithfully turn into unsubscribes. Either is a configuration error: it is found here, with
two calls, and reported with its key path and the nearest existing names before anything else
happens. The verdict is kept in the cache for an hour (and only while the fields asked for stay
the same), so most runs pay nothing for it. `syncer check` reads the same findings.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from syncer.config import Config
from syncer.config.preferences import InterestMapping, PermissionMapping
from syncer.connectors.hubspot.client import PropertyInfo
from syncer.connectors.mailchimp.client import MergeField
from syncer.errors import ConfigError
from syncer.run.context import RunContext
from syncer.run.properties import remember_property_kinds

#: How long a successful check holds before a run asks both APIs again.
VERIFIED_FOR = timedelta(hours=1)
META_KEY = "fields_verified"

#: Merge-field types a value synced as text can live in.
TEXT_LIKE = frozenset(
    {"text", "number", "phone", "url", "imageurl", "radio", "dropdown", "zip", "date", "birthday"}
)
_BOOLEAN = {("bool", "booleancheckbox"), ("enumeration", "booleancheckbox")}


@dataclass(frozen=True)
class Wanted:
    """A field the configuration needs on one side, and how `check --fix` would create it."""

    side: str  # hubspot | mailchimp
    name: str
    key: str  # the config key naming it, e.g. fields[1].hubspot
    kind: str  # HubSpot type (bool, string, datetime) or Mailchimp type (text, date)
    field_type: str  # HubSpot field type; "" for Mailchimp
    label: str  # the label (HubSpot) or name (Mailchimp) it would be created with
    written: bool

    @property
    def what(self) -> str:
        noun = "HubSpot property" if self.side == "hubspot" else "Mailchimp merge field"
        return f"{noun} {self.name}"


@dataclass(frozen=True)
class FieldFinding:
    """What was found for one wanted field. ``problem`` None means it is fine as it is."""

    wanted: Wanted
    problem: str | None
    detail: str = ""
    missing: bool = False
    similar: tuple[str, ...] = ()
    taken_by: str | None = None  # an existing field with the name or label a create would take

    @property
    def creatable(self) -> bool:
        return self.missing and self.taken_by is None

    def message(self) -> str:
        """One line for the run's error: key path, what is wrong, the nearest existing names."""
        text = f"{self.wanted.key}: {self.wanted.what} {self.problem}"
        names = list(dict.fromkeys([*filter(None, [self.taken_by]), *self.similar]))
        if names:
            text += f" (did you mean {' or '.join(names)}?)"
        return text


def wanted_fields(config: Config) -> list[Wanted]:
    """Every field the configuration names, in the order the file names them."""
    subscription = config.subscription
    wanted = [
        Wanted(
            "hubspot",
            subscription.hubspot_property,
            "subscription.hubspot_property",
            "bool",
            "booleancheckbox",
            _label(subscription.hubspot_property),
            True,
        )
    ]
    if subscription.status_property:
        wanted.append(
            Wanted(
                "hubspot",
                subscription.status_property,
                "subscription.status_property",
                "string",
                "text",
                _label(subscription.status_property),
                True,
            )
        )
    for index, mapping in enumerate(config.fields):
        dated = mapping.transform == "date"
        wanted.append(
            Wanted(
                "hubspot",
                mapping.hubspot,
                f"fields[{index}].hubspot",
                "datetime" if dated else "string",
                "date" if dated else "text",
                _label(mapping.hubspot),
                mapping.to_hubspot,
            )
        )
        wanted.append(
            Wanted(
                "mailchimp",
                mapping.mailchimp,
                f"fields[{index}].mailchimp",
                "date" if dated else "text",
                "",
                _label(mapping.hubspot),
                mapping.to_mailchimp,
            )
        )
    wanted.extend(_preference_fields(config))
    return wanted


def _preference_fields(config: Config) -> list[Wanted]:
    """The HubSpot properties of the groups and permissions mappings: a yes/no checkbox each,
    or a multiple-checkboxes property for a whole group."""
    preferences = config.preferences
    keyed: list[tuple[str, InterestMapping | PermissionMapping]] = [
        (f"interests[{i}]", m) for i, m in enumerate(preferences.interests)
    ]
    keyed += [(f"permissions[{i}]", m) for i, m in enumerate(preferences.permissions)]
    wanted = []
    for key, mapping in keyed:
        whole = isinstance(mapping, InterestMapping) and mapping.whole_category
        wanted.append(
            Wanted(
                "hubspot",
                mapping.hubspot,
                f"{key}.hubspot",
                "enumeration" if whole else "bool",
                "checkbox" if whole else "booleancheckbox",
                _label(mapping.hubspot),
                mapping.to_hubspot,
            )
        )
    return wanted


def examine(
    config: Config,
    properties: Mapping[str, PropertyInfo],
    merge_fields: Mapping[str, MergeField],
) -> list[FieldFinding]:
    """A finding per wanted field, against what each API says it has."""
    hubspot_labels = {name: info.label for name, info in properties.items()}
    mailchimp_labels = {tag: field.name for tag, field in merge_fields.items()}
    findings: list[FieldFinding] = []
    for wanted in wanted_fields(config):
        if wanted.side == "hubspot":
            found = properties.get(wanted.name)
            labels = hubspot_labels
            problem = None if found is None else _hubspot_problem(wanted, found)
            shape = "" if found is None else f"{found.type}/{found.field_type}"
        else:
            field = merge_fields.get(wanted.name)
            labels = mailchimp_labels
            problem = None if field is None else _mailchimp_problem(wanted, field)
            shape = "" if field is None else field.type
        if shape:
            findings.append(FieldFinding(wanted, problem, problem or shape))
            continue
        findings.append(
            FieldFinding(
                wanted,
                "does not exist",
                "missing",
                missing=True,
                similar=nearest(wanted.name, labels),
                taken_by=_taken_by(wanted, labels),
            )
        )
    return findings


def nearest(name: str, labels: Mapping[str, str], count: int = 3) -> tuple[str, ...]:
    """Existing names closest to ``name``, by name or by label (`last_contacted` finds
    `notes_last_contacted`, labelled "Last Contacted")."""
    wanted = _plain(name)
    scored: dict[str, float] = {}
    for existing, label in labels.items():
        for candidate in (_plain(existing), _plain(label)):
            if not candidate:
                continue
            score = difflib.SequenceMatcher(None, wanted, candidate).ratio()
            if wanted in candidate or candidate in wanted:
                score = max(score, 0.8)
            scored[existing] = max(scored.get(existing, 0.0), score)
    ranked = sorted((score, name) for name, score in scored.items() if score >= 0.7)
    return tuple(name for _, name in sorted(ranked, key=lambda pair: (-pair[0], pair[1]))[:count])


def verify_fields(ctx: RunContext) -> None:
    """Stop the run (exit 2) when a field the configuration names is missing or unusable."""
    fingerprint = _fingerprint(ctx.config)
    if _recently_verified(ctx, fingerprint):
        return
    properties = ctx.hubspot.properties()
    remember_property_kinds(ctx, properties)
    merge_fields = {field.tag: field for field in ctx.read_merge_fields()}
    problems = [
        finding.message()
        for finding in examine(ctx.config, properties, merge_fields)
        if finding.problem is not None
    ]
    if problems:
        raise ConfigError(
            problems,
            hint="Fix the mapping in the configuration (or create the field), then run again; "
            "`syncer check` shows every field.",
        )
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    ctx.store.set_meta(META_KEY, json.dumps({"fingerprint": fingerprint, "at": stamp}))


def _recently_verified(ctx: RunContext, fingerprint: str) -> bool:
    raw = ctx.store.get_meta(META_KEY)
    if raw is None:
        return False
    try:
        seen = json.loads(raw)
        at = datetime.fromisoformat(seen["at"])
    except (ValueError, KeyError, TypeError):
        return False
    age = datetime.now(UTC) - at
    return bool(seen.get("fingerprint") == fingerprint and timedelta(0) <= age < VERIFIED_FOR)


def _fingerprint(config: Config) -> str:
    """What the verdict depends on: the fields wanted and where they were looked for."""
    wanted: Sequence[object] = [(w.side, w.name, w.kind, w.written) for w in wanted_fields(config)]
    where = [config.hubspot.base_url, config.mailchimp.api_url, config.mailchimp.list_id]
    text = json.dumps([wanted, where], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hubspot_problem(wanted: Wanted, found: PropertyInfo) -> str | None:
    if wanted.written and found.read_only:
        return "is read-only in HubSpot, but the mapping writes to it"
    if wanted.kind == "bool" and (found.type, found.field_type) not in _BOOLEAN:
        return f"must be a yes/no checkbox property, is {found.type}/{found.field_type}"
    if wanted.field_type == "checkbox" and (found.type, found.field_type) != (
        "enumeration",
        "checkbox",
    ):
        return f"must be a multiple checkboxes property, is {found.type}/{found.field_type}"
    return None


def _mailchimp_problem(wanted: Wanted, found: MergeField) -> str | None:
    fits = found.type == wanted.kind if wanted.kind == "date" else found.type in TEXT_LIKE
    return None if fits else f"is of type {found.type}, which cannot hold the value"


def _taken_by(wanted: Wanted, labels: Mapping[str, str]) -> str | None:
    """An existing field whose name or label a new one with ``wanted``'s would duplicate."""
    for existing, label in sorted(labels.items()):
        if existing.lower() == wanted.name.lower() or _plain(label) == _plain(wanted.label):
            return existing
    return None


def _label(name: str) -> str:
    return name.replace("_", " ").title()


def _plain(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
