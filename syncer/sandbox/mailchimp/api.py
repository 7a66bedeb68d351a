"""The Mailchimp simulator's audience routes: the list, its merge fields, members and member tags.

Batch operations run through these same handlers (see :class:`OperationRequest`), so an operation
inside a batch gets exactly the answer the same call would get over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from syncer.sandbox.mailchimp.dates import DEFAULT_FORMATS
from syncer.sandbox.mailchimp.members import Audience, Member, not_found, stamp
from syncer.sandbox.mailchimp.schema import (
    MemberWrite,
    MergeField,
    apply_merge_field_patch,
    merge_field_from_body,
    parse_bool,
)
from syncer.sandbox.mailchimp.tags import check_tag_write, record_tag_write
from syncer.sandbox.mailchimp.views import (
    MEMBER_KEYS,
    MemberQuery,
    MemberView,
    paging,
    project,
    wanted_keys,
)
from syncer.sandbox.server import Handler, Request, Response, SimError

_TYPE_OPTIONS: dict[str, dict[str, Any]] = {
    "text": {"size": 25},
    "address": {"default_country": 164},
    "phone": {"phone_format": "US"},
    "date": {"date_format": DEFAULT_FORMATS["date"]},
    "birthday": {"date_format": DEFAULT_FORMATS["birthday"]},
    "radio": {"choices": []},
    "dropdown": {"choices": []},
}


@dataclass
class OperationRequest(Request):
    """A request replayed from a batch operation: no auth, faults or latency; logged as batch."""


def body_of(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise SimError(
            400, "JSON Parse Error", "We encountered an unspecified JSON parsing error."
        ) from None


def via(request: Request) -> str:
    return "batch" if isinstance(request, OperationRequest) else "api"


class AudienceApi:
    """Handlers over one :class:`Audience`; each takes the simulator's lock for its store work."""

    def __init__(self, audience: Audience, lock: threading.RLock, links_base: str) -> None:
        self.audience = audience
        self.lock = lock
        self.links_base = links_base

    def register(self, add: Callable[[str, str, Handler], None]) -> None:
        lists = "/3.0/lists/{list_id}"
        member = f"{lists}/members/{{subscriber_hash}}"
        add("GET", "/3.0/lists", self.lists)
        add("GET", lists, self.get_list)
        add("GET", f"{lists}/merge-fields", self.merge_fields)
        add("POST", f"{lists}/merge-fields", self.add_merge_field)
        add("GET", f"{lists}/merge-fields/{{merge_id}}", self.get_merge_field)
        add("PATCH", f"{lists}/merge-fields/{{merge_id}}", self.update_merge_field)
        add("DELETE", f"{lists}/merge-fields/{{merge_id}}", self.delete_merge_field)
        add("GET", f"{lists}/members", self.members)
        add("POST", f"{lists}/members", self.add_member)
        add("GET", member, self.get_member)
        add("PUT", member, self.upsert_member)
        add("PATCH", member, self.update_member)
        add("DELETE", member, self.archive_member)
        add("POST", f"{member}/actions/delete-permanent", self.delete_permanent)
        add("GET", f"{member}/tags", self.member_tags)
        add("POST", f"{member}/tags", self.update_member_tags)

    def _audience(self, request: Request) -> Audience:
        if request.params["list_id"] != self.audience.list_id:
            raise not_found()
        return self.audience

    # -- the list ----------------------------------------------------------------------------------

    def lists(self, request: Request) -> Response:
        with self.lock:
            payload = {"lists": [self._list_json(request)], "total_items": 1, "_links": []}
        return Response.json(project(payload, request))

    def get_list(self, request: Request) -> Response:
        with self.lock:
            self._audience(request)
            payload = self._list_json(request)
        return Response.json(project(payload, request))

    def _list_json(self, request: Request) -> dict[str, Any]:
        audience = self.audience
        counts = audience.status_counts
        stats: dict[str, Any] = {
            "member_count": counts["subscribed"],
            "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"],
            "member_count_since_send": counts["subscribed"],
            "unsubscribe_count_since_send": counts["unsubscribed"],
            "cleaned_count_since_send": counts["cleaned"],
            "campaign_count": 0,
            "campaign_last_sent": "",
            "merge_field_count": len(audience.fields),
            "avg_sub_rate": 0,
            "avg_unsub_rate": 0,
            "target_sub_rate": 0,
            "open_rate": 0,
            "click_rate": 0,
            "last_sub_date": stamp(audience.last_sub),
            "last_unsub_date": stamp(audience.last_unsub),
        }
        if parse_bool(request.arg("include_total_contacts")):
            stats["total_contacts"] = sum(
                count for status, count in counts.items() if status != "archived"
            )
        return {
            "id": audience.list_id,
            "web_id": 1,
            "name": "Sandbox audience",
            "contact": {"company": "syncer sandbox", "address1": "", "city": "", "country": "US"},
            "permission_reminder": "You signed up for updates in the syncer sandbox.",
            "use_archive_bar": False,
            "campaign_defaults": {
                "from_name": "syncer",
                "from_email": "",
                "subject": "",
                "language": "en",
            },
            "notify_on_subscribe": "",
            "notify_on_unsubscribe": "",
            "date_created": stamp(audience.created),
            "list_rating": 0,
            "email_type_option": False,
            "subscribe_url_short": "",
            "subscribe_url_long": "",
            "beamer_address": "",
            "visibility": "prv",
            "double_optin": False,
            "has_welcome": False,
            "marketing_permissions": audience.preferences.gdpr,
            "modules": [],
            "stats": stats,
            "_links": [],
        }

    # -- merge fields ------------------------------------------------------------------------------

    def merge_fields(self, request: Request) -> Response:
        count, offset = paging(request)
        wanted_type = request.arg("type")
        required = request.arg("required")
        with self.lock:
            audience = self._audience(request)
            chosen = [
                self._merge_field_json(definition)
                for definition in sorted(audience.fields.values(), key=lambda item: item.merge_id)
                if (wanted_type is None or definition.type == wanted_type)
                and (required is None or definition.required == parse_bool(required))
            ]
        payload = {
            "merge_fields": chosen[offset : offset + count],
            "list_id": self.audience.list_id,
            "total_items": len(chosen),
            "_links": [],
        }
        return Response.json(project(payload, request))

    def add_merge_field(self, request: Request) -> Response:
        body = body_of(request)
        with self.lock:
            audience = self._audience(request)
            definition = merge_field_from_body(
                body, audience.next_merge_id, audience.fields_by_tag()
            )
            audience.fields[definition.merge_id] = definition
            audience.next_merge_id += 1
            return Response.json(self._merge_field_json(definition))

    def get_merge_field(self, request: Request) -> Response:
        with self.lock:
            payload = self._merge_field_json(self._merge_field(request))
        return Response.json(project(payload, request))

    def update_merge_field(self, request: Request) -> Response:
        body = body_of(request)
        with self.lock:
            definition = self._merge_field(request)
            apply_merge_field_patch(definition, body, self.audience.fields_by_tag())
            return Response.json(self._merge_field_json(definition))

    def delete_merge_field(self, request: Request) -> Response:
        with self.lock:
            del self.audience.fields[self._merge_field(request).merge_id]
        return Response.empty()

    def _merge_field(self, request: Request) -> MergeField:
        audience = self._audience(request)
        merge_id = request.params["merge_id"]
        definition = audience.fields.get(int(merge_id)) if merge_id.isdigit() else None
        if definition is None:
            raise not_found()
        return definition

    def _merge_field_json(self, definition: MergeField) -> dict[str, Any]:
        return {
            "merge_id": definition.merge_id,
            "tag": definition.tag,
            "name": definition.name,
            "type": definition.type,
            "required": definition.required,
            "default_value": definition.default_value,
            "public": definition.public,
            "display_order": definition.display_order,
            "options": {**_TYPE_OPTIONS.get(definition.type, {}), **definition.options},
            "help_text": definition.help_text,
            "list_id": self.audience.list_id,
            "_links": [],
        }

    # -- members -----------------------------------------------------------------------------------

    def members(self, request: Request) -> Response:
        query = MemberQuery.from_request(request)
        keys = wanted_keys(request, "members", MEMBER_KEYS)
        with self.lock:
            audience = self._audience(request)
            total, page = query.select(audience)
            view = MemberView(audience, self.links_base)
            rendered = [view.render(member, keys) for member in page]
        payload = {
            "members": rendered,
            "list_id": audience.list_id,
            "total_items": total,
            "_links": [],
        }
        response = Response.json(project(payload, request))
        if "since_last_changed" in request.query:  # what a look saw (the soak's timelines)
            response.subjects = [member.id for member in page]
        return response

    def get_member(self, request: Request) -> Response:
        with self.lock:
            member = self._audience(request).require(request.params["subscriber_hash"])
            payload = self._member_json(member, wanted_keys(request, None, MEMBER_KEYS))
        return Response.json(project(payload, request))

    def add_member(self, request: Request) -> Response:
        return self._write(request, "post")

    def upsert_member(self, request: Request) -> Response:
        return self._write(request, "put")

    def update_member(self, request: Request) -> Response:
        return self._write(request, "patch")

    def _write(self, request: Request, mode: str) -> Response:
        change = MemberWrite.parse(body_of(request), mode)
        skip = parse_bool(request.arg("skip_merge_validation"))
        segment = None if mode == "post" else request.params["subscriber_hash"]
        with self.lock:
            audience = self._audience(request)
            member = audience.write(mode, segment, change, via=via(request), skip_merge=skip)
            return Response.json(self._member_json(member))

    def archive_member(self, request: Request) -> Response:
        with self.lock:
            audience = self._audience(request)
            audience.archive(audience.require(request.params["subscriber_hash"]), via(request))
        return Response.empty()

    def delete_permanent(self, request: Request) -> Response:
        with self.lock:
            audience = self._audience(request)
            member = audience.require(request.params["subscriber_hash"], allow_email=False)
            audience.forget(member, via(request))
        return Response.empty()

    def member_tags(self, request: Request) -> Response:
        count, offset = paging(request)
        with self.lock:
            audience = self._audience(request)
            member = audience.require(request.params["subscriber_hash"], allow_email=False)
            tags = [
                {"id": audience.tag_ids[name], "name": name, "date_added": stamp(added)}
                for name, added in member.tags.items()
            ]
        payload = {"tags": tags[offset : offset + count], "total_items": len(tags), "_links": []}
        return Response.json(project(payload, request))

    def update_member_tags(self, request: Request) -> Response:
        tags, syncing = check_tag_write(body_of(request))
        with self.lock:
            audience = self._audience(request)
            member = audience.require(request.params["subscriber_hash"], allow_email=False)
            record_tag_write(audience, member, tags, syncing)
        return Response.empty()

    def _member_json(self, member: Member, keys: list[str] | None = None) -> dict[str, Any]:
        return MemberView(self.audience, self.links_base).render(member, keys)
