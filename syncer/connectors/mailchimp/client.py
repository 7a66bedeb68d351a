"""The Mailchimp Marketing API v3 client: only what the sync needs, typed.

It knows nothing of the cache: it turns API answers into :mod:`syncer.core.models` values and typed
errors carrying Mailchimp's ``title`` and ``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncer.config import HttpConfig, MailchimpConfig
from syncer.connectors.answers import AnswerCheck, Skipped, has, has_list
from syncer.connectors.http import ApiResponse, ApiSession
from syncer.connectors.mailchimp.batches import OperationResult, parse_archive
from syncer.connectors.mailchimp.lost_batches import submitted_since
from syncer.connectors.mailchimp.records import BatchStatus, format_time, parse_batch, parse_member
from syncer.connectors.paging import LoopGuard, RecentIds, next_offset
from syncer.connectors.retry import RetryPolicy
from syncer.core.identity import subscriber_hash
from syncer.core.models import MailchimpMember
from syncer.errors import AudienceMissing, AuthError, MalformedRecord, RemoteError, ResponseTooLarge

PAGE_SIZE = 1000
PAGE_OVERLAP = 20
#: Member ids a walk remembers (five pages): enough for any overlap or step back.
RECENT_IDS = 5 * PAGE_SIZE
BATCH_LIMIT = 1000
MEMBER_FIELDS = (
    "id",
    "email_address",
    "unique_email_id",
    "status",
    "merge_fields",
    "last_changed",
    "tags",
    "tags_count",
)
MEMBER_PATH = "/lists/{list_id}/members/{subscriber_hash}"
#: Endpoints whose 404 can only mean the audience itself is unknown to this key (a member's 404
#: means the member is).
_AUDIENCE_ENDPOINTS = frozenset(
    {"GET /lists/{list_id}", "GET /lists/{list_id}/merge-fields", "GET /lists/{list_id}/members"}
)


#: Why repeating each kind of member write is harmless.
_SAFE = {
    "PUT": "PUT by subscriber hash is an upsert: repeating it is a no-op",
    "PATCH": "PATCH sets the same values again: repeating it is a no-op",
    "POST": "a tags write sets each tag active or inactive: repeating it is a no-op",
    "DELETE": "archiving an archived member leaves it archived",
}


#: What an upsert answers: the member (tag writes answer 204, archiving 204, with no body).
_MEMBER_ANSWER = has(email_address=str)


@dataclass(frozen=True)
class MergeField:
    tag: str
    name: str
    type: str
    #: ``options.date_format`` of a date or birthday field (``""`` for other types).
    date_format: str = ""


@dataclass(frozen=True)
class MemberOperation:
    """One member write to send, directly or inside a batch; ``operation_id`` is the outbox row.

    Mostly the upsert (``PUT``); ``suffix`` ``/tags`` with ``POST`` writes tags, ``DELETE``
    archives. Each is idempotent: sending one twice leaves the member as sending it once.
    """

    operation_id: str
    subscriber_hash: str
    body: dict[str, Any]
    method: str = "PUT"
    suffix: str = ""


def _read_error(status: int, body: Any, endpoint: str) -> RemoteError | None:
    """A 401, or a 403 that explains itself, means the key is wrong; a bare 403 is load."""
    if status == 401 or (status == 403 and isinstance(body, dict)):
        return AuthError(
            f"mailchimp: the API key was refused ({status})",
            hint="Check mailchimp.api_key (and its -<dc> suffix, or mailchimp.base_url).",
            status=status,
        )
    if status == 404 and endpoint in _AUDIENCE_ENDPOINTS:
        return AudienceMissing("mailchimp.list_id: this API key has no such audience", status=404)
    return None


class MailchimpClient:
    def __init__(self, config: MailchimpConfig, http: HttpConfig) -> None:
        key = config.api_key.reveal()
        self.list_id = config.list_id
        #: Malformed members left out of what the reads return, for the run to report.
        self.skipped = Skipped()
        self.api = ApiSession(
            "mailchimp",
            config.api_url,
            secrets=(key,),
            auth=("syncer", key),
            timeout=(http.connect_timeout, http.read_timeout),
            policy=RetryPolicy(max_tries=http.max_tries, max_time=http.max_time),
            max_body_bytes=http.max_response_bytes,
            read_error=_read_error,
            max_connections=config.max_connections,
            url_key="mailchimp.base_url"
            if config.base_url
            else "mailchimp.api_key's -<dc> suffix (or set mailchimp.base_url)",
        )

    def close(self) -> None:
        self.api.close()

    # -- the audience ------------------------------------------------------------------------------

    def list_info(self) -> dict[str, Any]:
        response = self._audience_request(
            "/lists/{list_id}", {"fields": "id,name,stats.member_count,double_optin"}
        )
        return dict(response.data or {})

    def audiences(self) -> list[tuple[str, str]]:
        """(id, name) of every audience this key can see (the first 100)."""
        response = self.api.request(
            "GET", "/lists", params={"count": 100, "fields": "lists.id,lists.name"}
        )
        return [
            (str(item.get("id", "")), str(item.get("name", "")))
            for item in (response.data or {}).get("lists", [])
        ]

    def merge_fields(self) -> list[MergeField]:
        response = self._audience_request(
            "/lists/{list_id}/merge-fields",
            {
                "count": 1000,
                "fields": "merge_fields.tag,merge_fields.name,merge_fields.type,"
                "merge_fields.options",
            },
            expect=has_list("merge_fields"),
        )
        return [
            MergeField(
                tag=item["tag"],
                name=item.get("name", ""),
                type=item.get("type", ""),
                date_format=str((item.get("options") or {}).get("date_format") or ""),
            )
            for item in (response.data or {}).get("merge_fields", [])
        ]

    def _audience_request(
        self, template: str, params: dict[str, Any], expect: AnswerCheck | None = None
    ) -> ApiResponse:
        """A read of the audience itself; an unknown list id says which audiences the key sees."""
        try:
            return self.api.request(
                "GET", template, path={"list_id": self.list_id}, params=params, expect=expect
            )
        except AudienceMissing as error:
            visible = self.audiences()
            names = ", ".join(f"{name!r} (id {ident})" for ident, name in visible)
            raise AudienceMissing(
                f"mailchimp.list_id: {self.list_id} is not one of this API key's audiences",
                hint=f"This key can see {names}: put one of these ids in mailchimp.list_id."
                if visible
                else "This key can see no audience: create one in Mailchimp first.",
                status=error.status,
            ) from None

    def create_merge_field(self, tag: str, name: str, field_type: str) -> None:
        self.api.request(
            "POST",
            "/lists/{list_id}/merge-fields",
            path={"list_id": self.list_id},
            json_body={"tag": tag, "name": name, "type": field_type, "required": False},
            retry_safe_because="tags are unique: a repeat is refused, and the check re-reads",
        )

    # -- reading members ---------------------------------------------------------------------------

    def changed_members(
        self, since: datetime | None, tags: Sequence[str], *, preferences: bool = False
    ) -> Iterator[list[MailchimpMember]]:
        """Pages of members changed since ``since`` (all members when ``None``), oldest first.

        Archived members are read by a second walk: they need not appear without
        ``status=archived``, yet an archive is a change the sync must see. Each member is
        yielded once per walk, even when a page boundary moves under the walk, unless it
        changed during the walk: it is then read again at the end, as it is now.
        """
        wanted = [f"members.{name}" for name in MEMBER_FIELDS if name != "merge_fields"]
        wanted += [f"members.merge_fields.{tag}" for tag in tags]
        if preferences:  # groups and GDPR permissions, only when mapped: they weigh per member
            wanted += ["members.interests", "members.marketing_permissions"]
        params: dict[str, Any] = {
            "count": PAGE_SIZE,
            "sort_field": "last_changed",
            "sort_dir": "ASC",
            "fields": ",".join([*wanted, "total_items"]),
        }
        if since is not None:
            params["since_last_changed"] = format_time(since)
        yield from self._walk_members(params)
        yield from self._walk_members({**params, "status": "archived"})

    def _walk_members(self, params: dict[str, Any]) -> Iterator[list[MailchimpMember]]:
        seen = RecentIds(RECENT_IDS)
        offset: int | None = 0
        guard = LoopGuard(100_000, "mailchimp: reading members")
        while offset is not None:
            guard.tick()
            response = self._audience_request(
                "/lists/{list_id}/members",
                {**params, "offset": offset},
                expect=has_list("members"),
            )
            data = response.data or {}
            page = [self._member(raw) for raw in data["members"]]
            # A malformed member keeps its place in the page (by position), so paging is
            # unchanged by it; it is not yielded.
            ids = [m.id if m else f"#{offset + i}" for i, m in enumerate(page)]
            following = next_offset(offset, ids, PAGE_SIZE, PAGE_OVERLAP, seen)
            fresh = [m for m in page if m is not None and m.id not in seen]
            seen.add(ids)
            total = data.get("total_items")
            reached_end = isinstance(total, int) and offset + len(ids) >= total
            # This page holds the last member, and none was skipped before it: no page past
            # the end is needed to confirm it.
            offset = None if reached_end and not following.stepped_back else following.offset
            if fresh:
                yield fresh

    def _member(self, raw: Any) -> MailchimpMember | None:
        try:
            return parse_member(raw)
        except MalformedRecord as error:
            self.skipped.note(error.message)
            return None

    def member_body(self, email: str) -> dict[str, Any] | None:
        """The member holding ``email`` as Mailchimp answers for it, or ``None``."""
        return self.member_at(subscriber_hash(email))

    def member_at(self, member_hash: str) -> dict[str, Any] | None:
        """The member with this subscriber hash as Mailchimp answers for it, or ``None``."""
        try:
            response = self.api.request(
                "GET", MEMBER_PATH, path={"list_id": self.list_id, "subscriber_hash": member_hash}
            )
        except RemoteError as error:
            if error.status == 404:
                return None
            raise
        return dict(response.data) if isinstance(response.data, dict) else None

    # -- writing members ---------------------------------------------------------------------------

    def upsert_member(self, operation: MemberOperation) -> OperationResult:
        """Send one upsert directly; the answer is shaped like a batch result, errors included."""
        try:
            response = self.api.request(
                operation.method,
                MEMBER_PATH + operation.suffix,
                path={"list_id": self.list_id, "subscriber_hash": operation.subscriber_hash},
                json_body=operation.body or None,
                retry_safe_because=_SAFE[operation.method],
                expect=_MEMBER_ANSWER if operation.method in ("PUT", "PATCH") else None,
            )
        except AuthError:
            raise
        except RemoteError as error:
            if error.status is None:
                raise
            return OperationResult(operation.operation_id, error.status, error.body)
        return OperationResult(operation.operation_id, response.status, response.data)

    def member_tags(self, subscriber_hash: str) -> list[str]:
        """Every tag of one member: the member listing gives only the first 50."""
        return self._names(
            MEMBER_PATH + "/tags",
            {"list_id": self.list_id, "subscriber_hash": subscriber_hash},
            {},
            "tags",
            "a member's tags",
        )

    def tags(self) -> list[str]:
        """Every tag of the audience (tags are its static segments), by name."""
        return self._names(
            "/lists/{list_id}/segments",
            {"list_id": self.list_id},
            {"type": "static"},
            "segments",
            "tags",
        )

    def _names(
        self,
        template: str,
        path: dict[str, str],
        params: dict[str, str],
        key: str,
        what: str,
    ) -> list[str]:
        """The ``name`` of every item of a paged listing, page after page until ``total_items``."""
        names: list[str] = []
        guard = LoopGuard(1000, f"mailchimp: reading {what}")
        while True:
            guard.tick()
            response = self.api.request(
                "GET",
                template,
                path=path,
                params={
                    **params,
                    "count": PAGE_SIZE,
                    "offset": len(names),
                    "fields": f"{key}.name,total_items",
                },
                expect=has_list(key),
            )
            data = response.data or {}
            page = [str(item.get("name", "")) for item in data.get(key, [])]
            names += page
            if not page or len(names) >= int(data.get("total_items") or 0):
                return names

    def submit_batch(self, operations: Sequence[MemberOperation]) -> BatchStatus:
        if not 0 < len(operations) <= BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} operations, not {len(operations)}")
        body = {
            "operations": [
                {
                    "method": operation.method,
                    "path": MEMBER_PATH.format(
                        list_id=self.list_id, subscriber_hash=operation.subscriber_hash
                    )
                    + operation.suffix,
                    "operation_id": operation.operation_id,
                    **({"body": json.dumps(operation.body)} if operation.body else {}),
                }
                for operation in operations
            ]
        }
        response = self.api.request(
            "POST",
            "/batches",
            json_body=body,
            retry_safe_because="a submission whose answer was lost is looked for before it is "
            "sent again, and every operation is idempotent",
            expect=has(id=str),
            recover=lambda seconds: submitted_since(self.api, len(operations), seconds),
        )
        return parse_batch(response.data)

    def get_batch(self, batch_id: str) -> BatchStatus:
        response = self.api.request(
            "GET", "/batches/{batch_id}", path={"batch_id": batch_id}, expect=has(id=str)
        )
        return parse_batch(response.data)

    def delete_batch(self, batch_id: str) -> None:
        """Stop a batch from running (``DELETE /batches/{batch_id}``, reference §6: what it had
        already carried out stays done, its results are gone); one already gone is as good."""
        try:
            self.api.request(
                "DELETE",
                "/batches/{batch_id}",
                path={"batch_id": batch_id},
                retry_safe_because="a batch deleted twice stays deleted (the repeat is a 404)",
            )
        except RemoteError as error:
            if error.status != 404:
                raise

    def batch_results(self, batch: BatchStatus) -> list[OperationResult]:
        """Download and parse a finished batch's results, from the status just read.

        The pre-signed URL expires within minutes: when it is refused, the batch is read again
        for a fresh one, once.
        """
        if not batch.done or not batch.response_body_url:
            raise RemoteError(f"mailchimp: batch {batch.id} has no results yet ({batch.status})")
        label = "batch results archive"
        try:
            archive = self.api.download(batch.response_body_url, label)
        except ResponseTooLarge:
            raise
        except RemoteError:
            archive = self.api.download(self.get_batch(batch.id).response_body_url, label)
        with archive:
            return parse_archive(archive, max_unpacked=self.api.max_body_bytes)
