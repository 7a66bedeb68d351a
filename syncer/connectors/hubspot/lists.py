"""HubSpot's Lists v3 API: find a list by id or name, and page its memberships.

HubSpot offers no "changed since" read of memberships (airbytehq/airbyte #37672; the
``join-order`` endpoint finds joins but never leaves, estuary/connectors #3627), so a list is
read whole: 250 record ids a call, ``ceil(size / 250)`` calls (400 for 100,000 members). The run
bounds how often (``segments.list_read_minutes``). Ids are Lists v3 ("ILS") ids; a legacy v1 list
id is not one (HubSpot translates them at ``/crm/v3/lists/idmapping``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from syncer.connectors.http import ApiSession
from syncer.connectors.paging import LoopGuard
from syncer.errors import RemoteError

MEMBERSHIP_PAGE = 250
SEARCH_PAGE = 500


@dataclass(frozen=True)
class HubList:
    id: str
    name: str
    processing_type: str
    size: int | None = None

    @property
    def kind(self) -> str:
        """How an operator says it: DYNAMIC lists are HubSpot's "active" lists."""
        return {"DYNAMIC": "active", "MANUAL": "static", "SNAPSHOT": "static (snapshot)"}.get(
            self.processing_type, self.processing_type.lower()
        )


class HubSpotLists:
    def __init__(self, api: ApiSession) -> None:
        self.api = api

    def find(self, key: str) -> HubList | None:
        """The list ``key`` names: an id (digits) first, else an exact name (any case)."""
        if key.isdigit():
            found = self._get("/crm/v3/lists/{listId}", {"listId": key})
            if found is not None:
                return found
        return self._get(
            "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}",
            {"objectTypeId": "0-1", "listName": key},
        )

    def nearest(self, key: str) -> list[str]:
        """Up to three list names closest to ``key``, for a "did you mean" hint."""
        names = [item.name for item in self.all()]
        lowered = {name.lower(): name for name in names}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=3, cutoff=0.5)
        return [lowered[name] for name in close]

    def all(self) -> list[HubList]:
        found: list[HubList] = []
        offset = 0
        guard = LoopGuard(1000, "hubspot: searching lists")
        while True:
            guard.tick()
            response = self.api.request(
                "POST",
                "/crm/v3/lists/search",
                json_body={"query": "", "offset": offset, "count": SEARCH_PAGE},
                retry_safe_because="a search reads only",
            )
            data = response.data or {}
            found += [_parse(raw) for raw in data.get("lists", [])]
            if not data.get("hasMore") or int(data.get("offset") or 0) <= offset:
                return found
            offset = int(data["offset"])

    def members(self, list_id: str) -> Iterator[list[str]]:
        """Pages of the list's record ids, in HubSpot's order (by record id)."""
        after: str | None = None
        guard = LoopGuard(100_000, f"hubspot: reading list {list_id}")
        while True:
            guard.tick()
            params: dict[str, Any] = {"limit": MEMBERSHIP_PAGE}
            if after is not None:
                params["after"] = after
            response = self.api.request(
                "GET", "/crm/v3/lists/{listId}/memberships", path={"listId": list_id}, params=params
            )
            data = response.data or {}
            yield [str(item["recordId"]) for item in data.get("results", [])]
            following = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not following or following == after:
                return
            after = str(following)

    def _get(self, template: str, path: dict[str, str]) -> HubList | None:
        try:
            response = self.api.request("GET", template, path=path)
        except RemoteError as error:
            if error.status == 404:
                return None
            raise
        return _parse((response.data or {}).get("list"))


def _parse(raw: Any) -> HubList:
    if not isinstance(raw, dict) or "listId" not in raw:
        raise RemoteError("hubspot: a list in the answer has no listId")
    size = raw.get("size")
    if size is None:
        size = (raw.get("additionalProperties") or {}).get("hs_list_size")
    return HubList(
        id=str(raw["listId"]),
        name=str(raw.get("name") or ""),
        processing_type=str(raw.get("processingType") or ""),
        size=int(size) if size is not None else None,
    )
