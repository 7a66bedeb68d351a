"""Counted nouns for messages: "1 contact", "2 contacts", "1 property", "3 properties"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and the noun in the right number; ``many`` for irregular plurals."""
    if count == 1:
        return f"1 {noun}"
    if many is None:
        consonant_y = noun.endswith("y") and noun[-2:-1] not in "aeiou"
        many = noun[:-1] + "ies" if consonant_y else noun + "s"
    return f"{count:,} {many}"
