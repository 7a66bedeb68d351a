"""The audience's groups and GDPR marketing permissions, as the preferences mappings need them.

Groups: ``GET /lists/{id}/interest-categories`` and, per group, ``.../interests`` (both page 10
by default, so syncer asks for 1,000: an audience has at most 60 interests). Permissions have no
endpoint of their own: they are read from one member (``count=1``), which lists every
permission of the audience (spatie/laravel-newsletter #174; brandonseydel/MailChimp.Net #639).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.connectors.answers import has_list
from syncer.connectors.mailchimp.client import MailchimpClient


@dataclass(frozen=True)
class Group:
    """An interest category and its interests, ``(id, name)`` in Mailchimp's order."""

    id: str
    title: str
    interests: tuple[tuple[str, str], ...]


def interest_groups(client: MailchimpClient) -> list[Group]:
    """Every group of the audience with its interests: one call, plus one per group."""
    path = {"list_id": client.list_id}
    answer = client.api.request(
        "GET",
        "/lists/{list_id}/interest-categories",
        path=path,
        params={"count": 1000, "fields": "categories.id,categories.title"},
        expect=has_list("categories"),
    )
    groups = []
    for item in (answer.data or {}).get("categories", []):
        category_id = str(item.get("id", ""))
        interests = client.api.request(
            "GET",
            "/lists/{list_id}/interest-categories/{category_id}/interests",
            path={**path, "category_id": category_id},
            params={"count": 1000, "fields": "interests.id,interests.name"},
            expect=has_list("interests"),
        )
        groups.append(
            Group(
                category_id,
                str(item.get("title", "")),
                tuple(
                    (str(i.get("id", "")), str(i.get("name", "")))
                    for i in (interests.data or {}).get("interests", [])
                ),
            )
        )
    return groups


def marketing_permissions(client: MailchimpClient) -> list[tuple[str, str]] | None:
    """``(marketing_permission_id, text)`` of the audience; ``None`` when it has no member to
    read them from (an empty audience), ``[]`` when its GDPR fields are off."""
    answer = client.api.request(
        "GET",
        "/lists/{list_id}/members",
        path={"list_id": client.list_id},
        params={"count": 1, "fields": "members.marketing_permissions"},
        expect=has_list("members"),
    )
    members = (answer.data or {}).get("members", [])
    if not members:
        return None
    return [
        (str(p.get("marketing_permission_id", "")), str(p.get("text", "")))
        for p in members[0].get("marketing_permissions") or []
        if isinstance(p, dict)
    ]
