"""What the Mailchimp simulator answers: member selection, ``fields``/``exclude_fields``, shapes.

Listing is built for pages of 1,000 out of 100,000 members: the audience keeps one sorted order
per store version (see :meth:`Audience.ordered`), filters are one pass over it, and a member is
turned into JSON only for the keys the request's ``fields`` / ``exclude_fields`` leave in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from syncer.sandbox.mailchimp.members import Audience, Member, stamp
from syncer.sandbox.mailchimp.schema import ALL_STATUSES, MergeField, field_error, parse_bool
from syncer.sandbox.server import Request

#: A parsed ``fields`` list: each key maps to its sub-selection, ``None`` meaning "all of it".
FieldTree = dict[str, "FieldTree | None"]
SORT_FIELDS = ("timestamp_opt", "timestamp_signup", "last_changed")
MAX_COUNT = 1000


def parse_fields(text: str | None) -> FieldTree | None:
    if not text:
        return None
    tree: FieldTree = {}
    for path in text.split(","):
        node: FieldTree | None = tree
        parts = [part for part in path.strip().split(".") if part]
        for position, part in enumerate(parts):
            if node is None:
                break
            if position == len(parts) - 1:
                node[part] = None
            else:
                node = node.setdefault(part, {})
    return tree


def _include(value: Any, tree: FieldTree) -> Any:
    if isinstance(value, list):
        return [_include(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: value[key] if sub is None else _include(value[key], sub)
        for key, sub in tree.items()
        if key in value
    }


def _exclude(value: Any, tree: FieldTree) -> Any:
    if isinstance(value, list):
        return [_exclude(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key not in tree:
            kept[key] = item
        elif (sub := tree[key]) is not None:
            kept[key] = _exclude(item, sub)
    return kept


def project(payload: dict[str, Any], request: Request) -> dict[str, Any]:
    """Apply the request's ``fields`` then ``exclude_fields`` (dot paths, comma lists)."""
    included = parse_fields(request.arg("fields"))
    excluded = parse_fields(request.arg("exclude_fields"))
    result: dict[str, Any] = payload if included is None else _include(payload, included)
    return result if excluded is None else _exclude(result, excluded)


def wanted_keys(request: Request, collection: str | None, names: Iterable[str]) -> list[str]:
    """Top-level keys of each item worth building; ``collection`` is ``members`` in a listing."""
    included = parse_fields(request.arg("fields"))
    excluded = parse_fields(request.arg("exclude_fields"))
    if collection is not None:
        if included is not None:
            included = included.get(collection, {})
        excluded = None if excluded is None else excluded.get(collection)
    keys = list(names) if included is None else [name for name in names if name in included]
    if excluded:
        keys = [name for name in keys if not (name in excluded and excluded[name] is None)]
    return keys


# -- members ---------------------------------------------------------------------------------------


@dataclass
class MemberQuery:
    """The filters, order and page of ``GET /lists/{list_id}/members``."""

    status: str | None = None
    since_changed: float | None = None
    before_changed: float | None = None
    since_opt: float | None = None
    before_opt: float | None = None
    unique_email_id: str | None = None
    email_type: str | None = None
    vip_only: bool = False
    sort_field: str | None = None
    descending: bool = False
    count: int = 10
    offset: int = 0

    @classmethod
    def from_request(cls, request: Request) -> MemberQuery:
        status = request.arg("status") or None
        if status is not None and status not in ALL_STATUSES:
            raise field_error("status", f"Value must be one of: {', '.join(ALL_STATUSES)}")
        sort_field = request.arg("sort_field") or None
        if sort_field is not None and sort_field not in SORT_FIELDS:
            raise field_error("sort_field", f"Value must be one of: {', '.join(SORT_FIELDS)}")
        sort_dir = (request.arg("sort_dir") or "ASC").upper()
        if sort_dir not in {"ASC", "DESC"}:
            raise field_error("sort_dir", "Value must be one of: ASC, DESC")
        count, offset = paging(request)
        return cls(
            status=status,
            since_changed=wall_clock(request, "since_last_changed"),
            before_changed=wall_clock(request, "before_last_changed"),
            since_opt=wall_clock(request, "since_timestamp_opt"),
            before_opt=wall_clock(request, "before_timestamp_opt"),
            unique_email_id=request.arg("unique_email_id") or None,
            email_type=request.arg("email_type") or None,
            vip_only=parse_bool(request.arg("vip_only")),
            sort_field=sort_field,
            descending=sort_dir == "DESC",
            count=count,
            offset=offset,
        )

    def tests(self) -> list[Callable[[Member], bool]]:
        """The filters; archived members pass only when ``status=archived`` is asked for."""
        tests: list[Callable[[Member], bool]] = []
        status = self.status
        if status is None:
            tests.append(lambda member: member.status != "archived")
        else:
            tests.append(lambda member: member.status == status)
        if (since := self.since_changed) is not None:
            tests.append(lambda member: member.last_changed > since)
        if (before := self.before_changed) is not None:
            tests.append(lambda member: member.last_changed < before)
        if (since_opt := self.since_opt) is not None:
            tests.append(lambda member: (member.timestamp_opt or 0) > since_opt)
        if (before_opt := self.before_opt) is not None:
            tests.append(lambda member: 0 < (member.timestamp_opt or 0) < before_opt)
        if (unique := self.unique_email_id) is not None:
            tests.append(lambda member: member.unique_email_id == unique)
        if (email_type := self.email_type) is not None:
            tests.append(lambda member: member.email_type == email_type)
        if self.vip_only:
            tests.append(lambda member: member.vip)
        return tests

    def select(self, audience: Audience) -> tuple[int, list[Member]]:
        """``(total_items, this page)``; in ``last_changed`` order the bounds are a bisection."""
        chosen = audience.selection(replace(self, count=0, offset=0), self._select_all(audience))
        return len(chosen), chosen[self.offset : self.offset + self.count]

    def _select_all(self, audience: Audience) -> Callable[[], list[Member]]:
        def select() -> list[Member]:
            chosen = audience.ordered(self.sort_field)
            if self.sort_field == "last_changed" and self.since_changed is not None:
                since = bisect_right(chosen, self.since_changed, key=attrgetter("last_changed"))
                chosen = chosen[since:]
            for test in self.tests():
                chosen = [member for member in chosen if test(member)]
            return chosen[::-1] if self.descending else chosen

        return select


def paging(request: Request) -> tuple[int, int]:
    """``(count, offset)`` of a collection request: 10 items by default, at most 1,000."""
    return _number(request, "count", 10, MAX_COUNT), _number(request, "offset", 0, None)


def _number(request: Request, name: str, default: int, maximum: int | None) -> int:
    text = request.arg(name)
    try:
        value = default if text in (None, "") else int(str(text))
    except ValueError:
        raise field_error(name, "Schema describes integer, string found instead") from None
    if value < 0 or (maximum is not None and value > maximum):
        limit = f"between 0 and {maximum}" if maximum is not None else "0 or more"
        raise field_error(name, f"Value must be {limit}.")
    return value


def wall_clock(request: Request, name: str) -> float | None:
    """Mailchimp drops the offset and compares the wall-clock value (reference §4 rule 1).

    An unencoded ``+`` in a query string arrives as a space, so one is read back as ``+``.
    """
    text = (request.arg(name) or "").strip()
    if not text:
        return None
    text = text[:11] + text[11:].replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise field_error(name, "Please provide a date in ISO 8601 format.") from None
    return moment.replace(tzinfo=UTC).timestamp()


class MemberView:
    """Turns members into Mailchimp's JSON, one key at a time, for one request."""

    def __init__(self, audience: Audience, links_base: str) -> None:
        self.audience = audience
        self.fields: list[MergeField] = sorted(
            audience.fields.values(), key=lambda field: (field.display_order, field.merge_id)
        )
        self.base = f"{links_base}/lists/{audience.list_id}/members"
        by_tag = {field.tag: field.merge_id for field in self.fields}
        self.first, self.last = by_tag.get("FNAME"), by_tag.get("LNAME")

    def render(self, member: Member, keys: Iterable[str] | None = None) -> dict[str, Any]:
        names = MEMBER_KEYS if keys is None else keys
        return {name: _MEMBER[name](self, member) for name in names}

    def merge_fields(self, member: Member) -> dict[str, Any]:
        return {field.tag: member.merge.get(field.merge_id, "") for field in self.fields}

    def full_name(self, member: Member) -> str:
        parts = (member.merge.get(self.first or 0, ""), member.merge.get(self.last or 0, ""))
        return " ".join(str(part) for part in parts if part)

    def links(self, member: Member) -> list[dict[str, str]]:
        href = f"{self.base}/{member.id}"
        pairs = [
            ("self", href, "GET"),
            ("parent", self.base, "GET"),
            ("update", href, "PATCH"),
            ("upsert", href, "PUT"),
            ("delete", href, "DELETE"),
            ("activity", f"{href}/activity", "GET"),
            ("goals", f"{href}/goals", "GET"),
            ("notes", f"{href}/notes", "GET"),
            ("events", f"{href}/events", "POST"),
            ("delete_permanent", f"{href}/actions/delete-permanent", "POST"),
        ]
        return [{"rel": rel, "href": link, "method": method} for rel, link, method in pairs]


_LOCATION = {
    "latitude": 0,
    "longitude": 0,
    "gmtoff": 0,
    "dstoff": 0,
    "country_code": "",
    "timezone": "",
    "region": "",
}
_MEMBER: dict[str, Callable[[MemberView, Member], Any]] = {
    "id": lambda view, member: member.id,
    "email_address": lambda view, member: member.email,
    "unique_email_id": lambda view, member: member.unique_email_id,
    "contact_id": lambda view, member: member.contact_id,
    "full_name": MemberView.full_name,
    "web_id": lambda view, member: member.seq,
    "email_type": lambda view, member: member.email_type,
    "status": lambda view, member: member.status,
    "unsubscribe_reason": lambda view, member: member.unsubscribe_reason,
    "consents_to_one_to_one_messaging": lambda view, member: True,
    "merge_fields": MemberView.merge_fields,
    "interests": lambda view, member: view.audience.preferences.render_interests(member.interests),
    "stats": lambda view, member: {"avg_open_rate": 0, "avg_click_rate": 0},
    "ip_signup": lambda view, member: member.ip_signup,
    "timestamp_signup": lambda view, member: stamp(member.timestamp_signup),
    "ip_opt": lambda view, member: member.ip_opt,
    "timestamp_opt": lambda view, member: stamp(member.timestamp_opt),
    "member_rating": lambda view, member: 2,
    "last_changed": lambda view, member: stamp(member.last_changed),
    "language": lambda view, member: member.language,
    "vip": lambda view, member: member.vip,
    "email_client": lambda view, member: "",
    "location": lambda view, member: dict(_LOCATION),
    "marketing_permissions": lambda view, member: (
        view.audience.preferences.render_permissions(member.permissions)
        if view.audience.preferences.gdpr
        else []
    ),
    "source": lambda view, member: member.source,
    "tags_count": lambda view, member: len(member.tags),
    "tags": lambda view, member: [
        {"id": view.audience.tag_ids[name], "name": name} for name in list(member.tags)[:50]
    ],
    "list_id": lambda view, member: view.audience.list_id,
    "_links": MemberView.links,
}
MEMBER_KEYS = tuple(_MEMBER)
