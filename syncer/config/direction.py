"""Which way a mapping syncs and who wins a conflict: shared by field, interest and permission
mappings, so that every kind of mapping accepts the same words and reads them the same way."""

from __future__ import annotations

DIRECTIONS = ("both", "to_mailchimp", "to_hubspot")
WINNERS = ("latest", "hubspot", "mailchimp")


class Directed:
    """A mapping with a ``direction`` (one of :data:`DIRECTIONS`); the mapping dataclasses
    declare the field with its default, this mixin only reads it."""

    direction: str

    @property
    def to_mailchimp(self) -> bool:
        return self.direction in ("both", "to_mailchimp")

    @property
    def to_hubspot(self) -> bool:
        return self.direction in ("both", "to_hubspot")
