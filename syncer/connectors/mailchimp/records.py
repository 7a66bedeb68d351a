"""Mailchimp's answers read into syncer's values: members and batch statuses.

Split from the client so each module keeps one concern (and under the size limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncer.core.identity import subscriber_hash
from syncer.core.models import INTEREST_KEY, PERMISSION_KEY, MailchimpMember, parse_time
from syncer.core.transforms import normalise
from syncer.errors import MalformedRecord, RemoteError

#: The member fields syncer reads, and the JSON types each may have (``None`` aside).
_MEMBER_SHAPE: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "unique_email_id": str,
    "status": str,
    "merge_fields": dict,
    "last_changed": str,
    "tags": list,
    "interests": dict,
    "marketing_permissions": list,
}


@dataclass(frozen=True)
class BatchStatus:
    id: str
    status: str
    total: int
    finished: int
    errored: int
    response_body_url: str

    @property
    def done(self) -> bool:
        return self.status == "finished"


def parse_member(raw: Any) -> MailchimpMember:
    """A member as syncer keeps it; one without an address, or with a field of the wrong
    shape, raises :class:`MalformedRecord` naming what is wrong."""
    email = raw.get("email_address") if isinstance(raw, dict) else None
    if not isinstance(email, str) or not email:
        raise MalformedRecord("mailchimp: a member in the answer has no email address")
    for name, kinds in _MEMBER_SHAPE.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, kinds):
            raise MalformedRecord(
                f"mailchimp: member {email} has its {name} as {type(value).__name__}"
            )
    try:
        changed = parse_time(raw.get("last_changed"))
    except ValueError:
        raise MalformedRecord(
            f"mailchimp: member {email} has a last_changed that is not a time "
            f"({str(raw.get('last_changed'))[:40]!r})"
        ) from None
    return MailchimpMember(
        id=str(raw.get("id") or subscriber_hash(email)),
        email=email,
        unique_email_id=str(raw.get("unique_email_id") or ""),
        status=str(raw.get("status") or ""),
        merge_fields={
            **{
                str(tag): normalise(value) for tag, value in (raw.get("merge_fields") or {}).items()
            },
            **preference_values(raw),
        },
        last_changed=changed or datetime.fromtimestamp(0, UTC),
        tags=tuple(
            str(tag["name"])
            for tag in raw.get("tags") or ()
            if isinstance(tag, dict) and "name" in tag
        ),
        tags_count=int(raw.get("tags_count") or 0),
    )


def preference_values(raw: dict[str, Any]) -> dict[str, str]:
    """The member's groups and marketing permissions as ``@interest:<id>`` and
    ``@permission:<id>`` values (``true``/``false``), kept and compared beside its merge fields."""
    values = {
        f"{INTEREST_KEY}{key}": "true" if chosen is True else "false"
        for key, chosen in (raw.get("interests") or {}).items()
    }
    for permission in raw.get("marketing_permissions") or ():
        if isinstance(permission, dict) and permission.get("marketing_permission_id"):
            key = f"{PERMISSION_KEY}{permission['marketing_permission_id']}"
            values[key] = "true" if permission.get("enabled") is True else "false"
    return values


def parse_batch(raw: Any) -> BatchStatus:
    if not isinstance(raw, dict) or "id" not in raw:
        raise RemoteError("mailchimp: a batch answer has no id")
    return BatchStatus(
        id=str(raw["id"]),
        status=str(raw.get("status") or ""),
        total=int(raw.get("total_operations") or 0),
        finished=int(raw.get("finished_operations") or 0),
        errored=int(raw.get("errored_operations") or 0),
        response_body_url=str(raw.get("response_body_url") or ""),
    )


def format_time(moment: datetime) -> str:
    """UTC, ``+00:00`` and whole seconds: the only form ``since_last_changed`` reliably accepts."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()
