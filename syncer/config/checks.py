"""Rules of the configuration that span several keys, checked after each key is valid alone.

:mod:`syncer.config` validates key by key against its schema; these look across keys (a field
mapped twice, a value map that cannot be reversed, credentials sent over plain http, a Mailchimp
key without its data center) and add every problem found to the same list, with its key path.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

#: ``${NAME}`` in a value: substituted from the environment when the file is read.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def mappings(values: dict[str, Any], problems: list[str]) -> None:
    seen_pairs: set[tuple[str, str]] = set()
    seen_hubspot: dict[str, int] = {}
    seen_mailchimp: dict[str, int] = {}
    subscription_property = values.get("subscription", {}).get("hubspot_property")
    for index, mapping in enumerate(values["fields"]):
        if not isinstance(mapping, dict) or not {"hubspot", "mailchimp"} <= mapping.keys():
            continue
        where = f"fields[{index}]"
        pair = (mapping["hubspot"], mapping["mailchimp"])
        if pair in seen_pairs:
            problems.append(f"{where}: duplicate mapping of {pair[0]} <-> {pair[1]}")
            continue
        seen_pairs.add(pair)
        for side, seen in (("hubspot", seen_hubspot), ("mailchimp", seen_mailchimp)):
            name = mapping[side]
            if name in seen:
                problems.append(f"{where}.{side}: {name} is already mapped by fields[{seen[name]}]")
            else:
                seen[name] = index
        if mapping["hubspot"] in ("email", subscription_property):
            problems.append(
                f"{where}.hubspot: {mapping['hubspot']} is synced by syncer itself; remove it"
            )
        _values_map(mapping, where, problems)


def _values_map(mapping: dict[str, Any], where: str, problems: list[str]) -> None:
    table = mapping.get("values") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        problems.append(f"{where}.values: keys and values must be strings")
        return
    if mapping.get("direction") == "both" and len(set(table.values())) != len(table):
        problems.append(f"{where}.values: two-way value maps must be one-to-one")
    if table and mapping.get("transform"):
        problems.append(f"{where}: use either transform or values, not both")


def plain_http(values: dict[str, Any], problems: list[str]) -> None:
    """Refuse ``http://`` to another machine: the token, the API key or the webhook's own secret
    path would cross the network in clear text. Loopback stays allowed (the sandbox, a local
    proxy)."""
    for section, key in (
        ("hubspot", "base_url"),
        ("mailchimp", "base_url"),
        ("alerts", "webhook_url"),
    ):
        url = (values.get(section) or {}).get(key)
        if isinstance(url, str) and url.lower().startswith("http://") and not _loopback(url):
            problems.append(
                f"{section}.{key}: plain http:// would send credentials in clear text; use "
                "https:// (http:// is accepted for this machine only: localhost, 127.0.0.1, ::1)"
            )


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mailchimp_key(section: dict[str, Any], problems: list[str]) -> None:
    key = section["api_key"]
    if section["base_url"] or not isinstance(key, str) or ENV_REFERENCE.search(key):
        return
    if not re.fullmatch(r"[0-9a-f]+-[a-z]+[0-9]+", key):
        problems.append(
            "mailchimp.api_key: must end in -<data center> such as -us21 "
            "(or set mailchimp.base_url)"
        )
