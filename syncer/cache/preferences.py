"""The cache's part of preferences: how many people hold each group or permission, per side.

Read for `syncer status` only, from the contacts' last fetched sides (no call): a HubSpot
property counts a person when it holds a yes (or, for a whole group, any name), Mailchimp when
any of the member's values the mapping reads (``@interest:<id>``, ``@permission:<id>``) is on.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncer.cache.base import StoreBase, dumps


class PreferenceStore(StoreBase):
    def hubspot_holding(self, prop: str, *, any_value: bool) -> int:
        """People whose cached HubSpot ``prop`` is ``true`` (``any_value``: not blank)."""
        row = self.db.execute(
            """SELECT count(*) FROM contacts WHERE
                   CASE WHEN :any THEN json_extract(hs, '$.' || json_quote(:prop)) <> ''
                   ELSE json_extract(hs, '$.' || json_quote(:prop)) = 'true' END""",
            {"prop": prop, "any": any_value},
        ).fetchone()
        return int(row[0])

    def mailchimp_holding(self, keys: Sequence[str]) -> int:
        """People whose cached member has any of the values ``keys`` on."""
        row = self.db.execute(
            """SELECT count(*) FROM contacts WHERE mc IS NOT NULL AND EXISTS (
                   SELECT 1 FROM json_each(?) AS k
                   WHERE json_extract(mc, '$.fields.' || json_quote(k.value)) = 'true')""",
            [dumps(list(keys))],
        ).fetchone()
        return int(row[0])
