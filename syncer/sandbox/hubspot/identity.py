"""Identity by email in the HubSpot simulator.

Emails identify contacts: ``email`` and every ``;``-separated entry of ``hs_additional_emails`` are
unique, compared case-insensitively. HubSpot stores them lower-cased and refuses an address whose
domain has no real IANA top-level domain, or whose local part has quotes (reference §12.7: HubSpot
staff answer, community thread 833439; recorded refusals of ``bcooper@example.con`` and
``example.lcom``, and a v1 one of ``invalid.email@wales.nhs.ik``, all ``INVALID_EMAIL`` "Email
address ... is invalid"). The top-level domains are the ICANN section of the Public Suffix List
(``tlds.txt``). Seeded data may hold duplicates (real portals do, from imports); lookups then find
the oldest owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

EMAIL_PROPERTIES = ("email", "hs_additional_emails")
_SHAPE = re.compile(r"[^@\s;]+@[^@\s;]+\.[^@\s;.]+")


@cache
def _top_level_domains() -> frozenset[str]:
    text = files("syncer.sandbox.hubspot").joinpath("tlds.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.split() if line and not line.startswith("#"))


def valid_email(address: str) -> bool:
    """Whether HubSpot takes ``address``: one ``@``, no quotes, a real top-level domain."""
    if not _SHAPE.fullmatch(address) or '"' in address:
        return False
    label = address.rsplit(".", 1)[1].lower()
    try:
        label = label.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return label in _top_level_domains()


def email_entries(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """The identifying emails among ``values``, each with the property that holds it."""
    found = [("email", values["email"])] if values.get("email") else []
    extra = values.get("hs_additional_emails", "").split(";")
    return found + [("hs_additional_emails", e.strip()) for e in extra if e.strip()]


def emails_of(values: Mapping[str, str]) -> list[str]:
    return [email for _, email in email_entries(values)]


class EmailIndex:
    """Which contact owns each email, case-insensitively; the oldest owner wins among duplicates."""

    def __init__(self) -> None:
        self._owner: dict[str, int] = {}
        self._others: dict[str, list[int]] = {}

    def owner(self, email: str) -> int | None:
        return self._owner.get(email.strip().lower())

    def claim(self, email: str, cid: int) -> None:
        key = email.strip().lower()
        owner = self._owner.setdefault(key, cid)
        if owner != cid and cid not in self._others.setdefault(key, []):
            self._others[key].append(cid)

    def release(self, email: str, cid: int) -> None:
        key = email.strip().lower()
        others = self._others.get(key, [])
        if self._owner.get(key) == cid:
            if others:
                self._owner[key] = min(others)
                others.remove(self._owner[key])
            else:
                del self._owner[key]
        elif cid in others:
            others.remove(cid)
        if key in self._others and not others:
            del self._others[key]
