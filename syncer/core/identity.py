"""Who is who: normalised emails and Mailchimp's subscriber hash."""

from __future__ import annotations

import hashlib
import re

# Deliberately loose: the vendors decide what they accept. This only catches what cannot possibly
# be delivered, so that no API call is spent on it.
_PLAUSIBLE_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalise_email(email: str | None) -> str:
    """The join key: trimmed and lower-cased (both vendors treat addresses case-insensitively)."""
    return (email or "").strip().lower()


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id for an address; prefer the id Mailchimp returned when there is one."""
    return hashlib.md5(normalise_email(email).encode(), usedforsecurity=False).hexdigest()


def plausible_email(email: str) -> bool:
    return bool(_PLAUSIBLE_EMAIL.match(email.strip()))
