"""The HubSpot CRM v3 contacts client: search, list, batch read/create/update, properties.

Reads come back as :class:`~syncer.core.models.HubSpotContact`; batch writes come back as one
:class:`WriteResult` per input, matched by ``objectWriteTraceId``, so a 207 with three bad records
out of a hundred is three results, not an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncer.config import HttpConfig, HubSpotConfig
from syncer.connectors.answers import Skipped, has_list
from syncer.connectors.http import ApiSession
from syncer.connectors.hubspot.full import SEARCH_LIMIT as FULL_SEARCH_LIMIT
from syncer.connectors.hubspot.full import all_contact_pages
from syncer.connectors.hubspot.parse import (
    WriteInput,
    WriteResult,
    match_results,
    parse_contact,
)
from syncer.connectors.hubspot.search import (
    SEARCH_CAP,
    changed_contact_pages,
    search_answer_lacks,
)
from syncer.connectors.paging import LoopGuard, chunks
from syncer.connectors.ratelimit import HubSpotThrottle
from syncer.connectors.retry import RetryPolicy
from syncer.core.models import HubSpotContact
from syncer.errors import (
    AuthError,
    MalformedRecord,
    RateLimitExhausted,
    RemoteError,
    RetriableError,
)

BATCH_LIMIT = 100
#: A batch read asking for property history takes at most 50 ids (reference §12.1).
HISTORY_LIMIT = 50
LIST_LIMIT = 100
#: Read with every contact: identity, cursors, and the ids a merged record absorbed (§12.2).
ALWAYS = ("email", "lastmodifieddate", "createdate", "hs_merged_object_ids")
CONTACTS = "/crm/v3/objects/contacts"


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    type: str
    field_type: str
    read_only: bool
    label: str = ""


def _read_error(status: int, body: Any, endpoint: str) -> RemoteError | None:
    """HubSpot's own meanings: auth and scopes, the daily limit, the rolling-window 429s."""
    message = body.get("message", "") if isinstance(body, dict) else ""
    if status in (401, 403):
        return AuthError(
            f"hubspot: {endpoint} was refused ({status}): {message}".rstrip(": "),
            hint="Check hubspot.token and that the private app has the contacts scopes.",
            status=status,
        )
    if status == 429 and isinstance(body, dict):
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return RateLimitExhausted("hubspot: the daily API limit is reached", status=status)
        wait = 1.0 if policy == "SECONDLY" or "/search" in endpoint else 2.0
        return RetriableError(
            f"hubspot: {endpoint} was rate limited ({policy or 'unknown policy'})",
            retry_after=wait,
            status=status,
            body=body,
        )
    return None


class HubSpotClient:
    def __init__(
        self, config: HubSpotConfig, http: HttpConfig, *, search_cap: int = SEARCH_CAP
    ) -> None:
        """``search_cap`` is HubSpot's result window; only tests of a smaller sandbox change it."""
        token = config.token.reveal()
        self.search_cap = search_cap
        #: Each read property's HubSpot type, when known: date and datetime values are then read
        #: in one spelling whichever HubSpot answers (:func:`~syncer.core.transforms.canonical`).
        self.kinds: dict[str, str] = {}
        #: Malformed contacts left out of what the reads return, for the run to report.
        self.skipped = Skipped()
        self.throttle = HubSpotThrottle(config.requests_per_10s, config.search_per_second)
        self.api = ApiSession(
            "hubspot",
            config.base_url,
            secrets=(token,),
            headers={"Authorization": f"Bearer {token}"},
            timeout=(http.connect_timeout, http.read_timeout),
            policy=RetryPolicy(max_tries=http.max_tries, max_time=http.max_time),
            max_body_bytes=http.max_response_bytes,
            read_error=_read_error,
            throttle=self.throttle,
        )

    def close(self) -> None:
        self.api.close()

    # -- properties --------------------------------------------------------------------------------

    def properties(self) -> dict[str, PropertyInfo]:
        response = self.api.request(
            "GET", "/crm/v3/properties/contacts", expect=has_list("results")
        )
        found: dict[str, PropertyInfo] = {}
        for raw in (response.data or {}).get("results", []):
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                self.skipped.note("hubspot: a property in the answer has no name")
                continue
            metadata = raw.get("modificationMetadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            found[raw["name"]] = PropertyInfo(
                name=raw["name"],
                type=str(raw.get("type", "")),
                field_type=str(raw.get("fieldType", "")),
                read_only=bool(metadata.get("readOnlyValue", False)),
                label=str(raw.get("label") or ""),
            )
        return found

    def create_property(
        self, name: str, label: str, kind: str, field_type: str, group: str = "contactinformation"
    ) -> None:
        body: dict[str, Any] = {
            "name": name,
            "label": label,
            "type": kind,
            "fieldType": field_type,
            "groupName": group,
        }
        if field_type == "booleancheckbox":
            body["options"] = [
                {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
                {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
            ]
        self.api.request(
            "POST",
            "/crm/v3/properties/contacts",
            json_body=body,
            retry_safe_because="a property name is unique: a repeat is refused with 409",
        )

    # -- reading contacts --------------------------------------------------------------------------

    def changed_contacts(
        self, since: datetime, properties: Iterable[str], until: datetime | None = None
    ) -> Iterator[list[HubSpotContact]]:
        """Pages of contacts modified at or after ``since`` (and before ``until``, if given),
        each once, through the search cap."""
        names = sorted({*properties, *ALWAYS})

        def search(body: dict[str, Any]) -> dict[str, Any]:
            response = self.api.request(
                "POST",
                f"{CONTACTS}/search",
                json_body={**body, "properties": names},
                retry_safe_because="a search reads only",
                expect=lambda data: search_answer_lacks(data, body),
            )
            return dict(response.data or {})

        for page in changed_contact_pages(search, since, cap=self.search_cap, until=until):
            yield self._contacts(page)

    def all_contacts(self, properties: Iterable[str]) -> Iterator[list[HubSpotContact]]:
        """Every contact, for a full sync: listed upwards and searched downwards at once."""
        names = sorted({*properties, *ALWAYS})

        def list_page(after: str | None) -> dict[str, Any]:
            return self._list_page(names, after, archived=False)

        def search_page(below: int | None) -> dict[str, Any]:
            edge = (
                {"propertyName": "hs_object_id", "operator": "LT", "value": str(below)}
                if below is not None
                else {"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}
            )
            body = {
                "filterGroups": [{"filters": [edge]}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
                "properties": names,
                "limit": FULL_SEARCH_LIMIT,
                "after": "0",
            }
            response = self.api.request(
                "POST",
                f"{CONTACTS}/search",
                json_body=body,
                retry_safe_because="a search reads only",
                expect=has_list("results"),
            )
            return dict(response.data or {})

        for page in all_contact_pages(list_page, search_page):
            yield self._contacts(page)

    def archived_contacts(self) -> Iterator[list[HubSpotContact]]:
        """Pages of archived (deleted, still restorable) contacts, which no search returns."""
        guard = LoopGuard(1_000_000, "hubspot: listing archived contacts")
        after: str | None = None
        while True:
            guard.tick()
            data = self._list_page(["email"], after, archived=True)
            yield self._contacts(data.get("results") or [])
            following = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not following or following == after:
                return
            after = str(following)

    def _contacts(self, raws: Iterable[Any]) -> list[HubSpotContact]:
        """The well-formed contacts of a page; the others are noted in :attr:`skipped`."""
        contacts = []
        for raw in raws:
            try:
                contacts.append(parse_contact(raw, self.kinds))
            except MalformedRecord as error:
                self.skipped.note(error.message)
        return contacts

    def _list_page(
        self, names: Sequence[str], after: str | None, *, archived: bool
    ) -> dict[str, Any]:
        """One page of the list endpoint, which holds either live or archived contacts only."""
        params = {
            "limit": LIST_LIMIT,
            "properties": ",".join(names),
            "archived": str(archived).lower(),
        }
        if after is not None:
            params["after"] = after
        answer = self.api.request("GET", CONTACTS, params=params, expect=has_list("results"))
        return dict(answer.data or {})

    def read(
        self, ids: Sequence[str], properties: Iterable[str], *, history: Sequence[str] = ()
    ) -> dict[str, HubSpotContact | None]:
        """Each id's contact as HubSpot has it now, with ``history``'s timestamps when asked.

        An id merged away is answered by the merged record, whose id is another (reference
        §12.2): it is matched back through ``hs_merged_object_ids``. An id HubSpot does not
        answer at all (deleted, or permanently deleted) maps to ``None``. History reads go 50
        ids a call, HubSpot's limit for them (§12.1); plain reads 100.
        """
        names = sorted({*properties, *ALWAYS, *history})
        wanted = list(dict.fromkeys(ids))
        found: dict[str, HubSpotContact | None] = {}
        for chunk in chunks(wanted, HISTORY_LIMIT if history else BATCH_LIMIT):
            response = self.api.request(
                "POST",
                f"{CONTACTS}/batch/read",
                json_body={
                    "properties": names,
                    "propertiesWithHistory": list(history),
                    "inputs": [{"id": contact_id} for contact_id in chunk],
                },
                retry_safe_because="a batch read reads only",
                expect=has_list("results", "errors"),
            )
            raws = (response.data or {}).get("results", [])
            answers = self._contacts(raws)
            by_id = {contact.id: contact for contact in answers}
            for contact_id in chunk:
                found[contact_id] = by_id.get(contact_id) or next(
                    (contact for contact in answers if contact_id in contact.merged_ids), None
                )
        return found

    def find_by_email(
        self, emails: Sequence[str], properties: Iterable[str]
    ) -> dict[str, HubSpotContact]:
        """The contact HubSpot has for each address, by its email or an additional one."""
        names = sorted({*properties, *ALWAYS, "hs_additional_emails"})
        wanted = sorted({email.strip().lower() for email in emails})
        found: dict[str, HubSpotContact] = {}
        for chunk in chunks(wanted, BATCH_LIMIT):
            response = self.api.request(
                "POST",
                f"{CONTACTS}/batch/read",
                json_body={
                    "properties": names,
                    "propertiesWithHistory": [],
                    "idProperty": "email",
                    "inputs": [{"id": email} for email in chunk],
                },
                retry_safe_because="a batch read reads only",
                expect=has_list("results", "errors"),
            )
            for contact in self._contacts((response.data or {}).get("results", [])):
                addresses = [
                    contact.email,
                    *contact.properties.get("hs_additional_emails", "").split(";"),
                ]
                for address in addresses:
                    if address.strip().lower() in chunk:
                        found[address.strip().lower()] = contact
        return found

    # -- writing contacts --------------------------------------------------------------------------

    def create(self, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for chunk in chunks(inputs, BATCH_LIMIT):
            results.extend(self._create_chunk(chunk))
        return results

    def update(self, inputs: Sequence[WriteInput]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for chunk in chunks(inputs, BATCH_LIMIT):
            body = {
                "inputs": [
                    {
                        "id": item.contact_id,
                        "properties": item.properties,
                        "objectWriteTraceId": item.trace_id,
                    }
                    for item in chunk
                ]
            }
            response = self.api.request(
                "POST",
                f"{CONTACTS}/batch/update",
                json_body=body,
                retry_safe_because="an update sets the same values again",
                expect=has_list("results", "errors"),
            )
            results.extend(match_results(chunk, response.data, by_id=True, kinds=self.kinds))
        return results

    def _create_chunk(self, chunk: Sequence[WriteInput]) -> list[WriteResult]:
        body = {
            "inputs": [
                {
                    "properties": item.properties,
                    "objectWriteTraceId": item.trace_id,
                    "associations": [],
                }
                for item in chunk
            ]
        }
        try:
            response = self.api.request(
                "POST",
                f"{CONTACTS}/batch/create",
                json_body=body,
                retry_safe_because="a repeated create gets a conflict, which becomes an update",
                expect=has_list("results", "errors"),
            )
        except RemoteError as error:
            if error.status != 409:
                raise
            return self._resolve_whole_conflict(chunk, error)
        return match_results(chunk, response.data, by_id=False, kinds=self.kinds)

    def _resolve_whole_conflict(
        self, chunk: Sequence[WriteInput], error: RemoteError
    ) -> list[WriteResult]:
        """A whole-batch 409 names one conflict only: look every email up, create the rest.

        When no email exists yet (two inputs share one), the 409 is reported for each input.
        """
        emails = [item.properties.get("email", "") for item in chunk]
        existing = {email: contact.id for email, contact in self.find_by_email(emails, []).items()}
        conflicts = [
            WriteResult(item.trace_id, "conflict", existing_id=existing[key], message="exists")
            for item in chunk
            if (key := item.properties.get("email", "").lower()) in existing
        ]
        rest = [item for item in chunk if item.properties.get("email", "").lower() not in existing]
        if not conflicts:
            return [WriteResult(item.trace_id, "error", message=error.detail) for item in chunk]
        return conflicts + (self._create_chunk(rest) if rest else [])
