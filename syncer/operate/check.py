"""`syncer check`: every check of the set-up, each reported whether it passed or not.

Offline, the file itself: a cache path that can be written, and no value left as the template's
example. Online, each API in turn (a refused token does not hide the audience's verdict), then
every mapped field with the nearest existing names when one is missing. With ``fix``, a missing
field is created with a type that fits its mapping, unless an existing field already has its name
or label, or a name close to it: then the existing one is suggested, because a second
"Last Contacted" or a property named after a typo is worse than a missing one. A field that
exists with an unusable type is reported, never changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.core.wording import plural
from syncer.errors import ConfigError, ExitCode, RemoteError
from syncer.run.preflight import FieldFinding, examine

T = TypeVar("T")

#: Keys whose value in the packaged template is an example, never a real setting.
PLACEHOLDER_KEYS = (("mailchimp", "list_id"),)


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``ok`` false is a problem; ``fixed`` says it was just created;
    ``unreachable`` says the check could not be made (credentials, network)."""

    what: str
    ok: bool
    detail: str = ""
    fixed: bool = False
    hint: str = ""
    unreachable: bool = False


def check_offline(config: Config) -> list[Finding]:
    """What can be told from the file alone."""
    findings = [_cache_writable(config.state_path)]
    findings.extend(_placeholders(config))
    findings.append(Finding("field mappings", True, plural(len(config.fields), "mapping")))
    return findings


def check_remote(
    config: Config, hubspot: HubSpotClient, mailchimp: MailchimpClient, *, fix: bool
) -> list[Finding]:
    findings: list[Finding] = []
    properties = _attempt(findings, "HubSpot token", hubspot.properties)
    if properties is not None:
        findings[-1] = Finding(
            "HubSpot token", True, f"{plural(len(properties), 'contact property')} visible"
        )
    info = _attempt(findings, "Mailchimp audience", mailchimp.list_info)
    merge_fields = None
    if info is not None:
        findings[-1] = Finding("Mailchimp audience", True, str(info.get("name", "")))
        merge_fields = _attempt(findings, "Mailchimp merge fields", mailchimp.merge_fields)
        if merge_fields is not None:
            findings.pop()
    by_tag = {field.tag: field for field in merge_fields or []}
    for found in examine(config, properties or {}, by_tag):
        side_read = properties if found.wanted.side == "hubspot" else merge_fields
        if side_read is not None:
            findings.append(_field(found, hubspot, mailchimp, fix))
    return findings


def summary(findings: list[Finding]) -> list[str]:
    """The verdict for stderr: how many checks failed, and each one's hint."""
    problems = [finding for finding in findings if not finding.ok]
    if not problems:
        return []
    lines = [f"error: {plural(len(problems), 'problem')} in {plural(len(findings), 'check')}"]
    hints = dict.fromkeys(finding.hint for finding in problems if finding.hint)
    lines.extend(f"hint: {hint}" for hint in hints)
    if any(finding.detail.startswith("missing") for finding in problems):
        lines.append("hint: correct the mapping, or run `syncer check --fix` to create the fields")
    return lines


def exit_code(findings: list[Finding]) -> ExitCode:
    if any(finding.unreachable for finding in findings):
        return ExitCode.REMOTE
    return ExitCode.OK if all(finding.ok for finding in findings) else ExitCode.CONFIG


def _attempt(findings: list[Finding], what: str, call: Callable[[], T]) -> T | None:
    """Run one remote check; a failure becomes a finding instead of ending the command."""
    try:
        result = call()
    except ConfigError as error:
        findings.append(Finding(what, False, error.message, hint=error.hint))
        return None
    except RemoteError as error:
        unreachable = error.exit_code == ExitCode.REMOTE
        findings.append(
            Finding(what, False, error.message, hint=error.hint, unreachable=unreachable)
        )
        return None
    findings.append(Finding(what, True))
    return result


def _field(
    found: FieldFinding, hubspot: HubSpotClient, mailchimp: MailchimpClient, fix: bool
) -> Finding:
    wanted = found.wanted
    where = f" ({wanted.key})"
    if not found.missing:
        return Finding(wanted.what, found.problem is None, f"{found.detail}{where}")
    if found.taken_by:
        return Finding(
            wanted.what,
            False,
            f"missing{where}; {found.taken_by} already has this name or label: map that "
            "instead (`--fix` never creates a second one)",
        )
    if found.similar:
        return Finding(
            wanted.what,
            False,
            f"missing{where}; did you mean {' or '.join(found.similar)}? "
            "(`--fix` creates only fields with no near namesake)",
        )
    if not fix:
        return Finding(wanted.what, False, f"missing{where} (`syncer check --fix` creates it)")
    if wanted.side == "hubspot":
        hubspot.create_property(wanted.name, wanted.label, wanted.kind, wanted.field_type)
    else:
        mailchimp.create_merge_field(wanted.name, wanted.label, wanted.kind)
    return Finding(wanted.what, True, f"created ({wanted.kind}){where}", fixed=True)


def _cache_writable(path: Path) -> Finding:
    """The cache file, or the nearest folder on the way to it, must be writable by this user."""
    if path.exists():
        usable = path.is_file() and os.access(path, os.W_OK)
        blocker = path
    else:
        blocker = _nearest_existing(path.parent)
        usable = blocker.is_dir() and os.access(blocker, os.W_OK | os.X_OK)
    if usable:
        return Finding("cache", True, str(path))
    why = "is not a folder" if blocker != path and not blocker.is_dir() else "is not writable"
    return Finding(
        "cache",
        False,
        f"state_path: {path} cannot be written ({blocker} {why})",
        hint="Point state_path at a folder this user can write to.",
    )


def _nearest_existing(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _placeholders(config: Config) -> list[Finding]:
    template = _template()
    findings = []
    for section, key in PLACEHOLDER_KEYS:
        example = (template.get(section) or {}).get(key)
        if example is not None and str(example) == str(getattr(getattr(config, section), key)):
            findings.append(
                Finding(
                    f"{section}.{key}",
                    False,
                    f"{example} is the template's example value, not yours",
                    hint="Put your audience id there (Audience > Settings > "
                    "Audience name and defaults).",
                )
            )
    return findings


def _template() -> dict[str, Any]:
    text = resources.files("syncer").joinpath("config.example.yaml").read_text()
    loaded = yaml.safe_load(text)
    return loaded if isinstance(loaded, dict) else {}
