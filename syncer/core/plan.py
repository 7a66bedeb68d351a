"""From a decision to outbox operations (the blast-radius guard over them is in :mod:`.guard`).

Every outbox payload is shaped here, including the one write no decision asks for: the
unsubscribe of a member whose HubSpot contact was deleted.

Pure: values in, values out. The engine stores what this returns in the same transaction as the
decision that produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncer.config import Config
from syncer.core.identity import normalise_email, subscriber_hash
from syncer.core.models import (
    INTEREST_KEY,
    PERMISSION_KEY,
    PREFERENCE_KEYS,
    Decision,
    FieldChange,
)
from syncer.core.preferences import consent_keys, member_preferences, withdraws
from syncer.core.records import ContactRow, NewOperation, Operation
from syncer.core.transforms import as_bool, normalise


def operations_for(row: ContactRow, decision: Decision, config: Config) -> list[NewOperation]:
    """The writes a decision asks for: at most one per side."""
    operations: list[NewOperation] = []
    if decision.writes_hubspot:
        operations.append(
            NewOperation(
                target="hubspot",
                action=_hubspot_action(row, decision, config),
                payload={
                    "properties": dict(decision.hubspot),
                    "changes": _changes(decision, "hubspot"),
                },
                agreed=_pairs(decision.agreed_after_hubspot),
            )
        )
    if decision.writes_mailchimp:
        operations.extend(_mailchimp_operations(row, decision, config))
    consent = consent_keys(config.preferences)
    for operation in operations:
        if consent and withdraws(operation.payload["changes"], consent):
            operation.payload["withdraws"] = True
    return operations


def _mailchimp_operations(
    row: ContactRow, decision: Decision, config: Config
) -> list[NewOperation]:
    """The member's upsert; its groups and permissions go apart when it also carries a status
    or merge fields (DESIGN §6: a consent change never shares a write with a value that can be
    refused; an interest or permission id refused takes its whole write with it).

    A create or a rename keeps them in the one write: a second write to the same member could
    run before it in a batch, and meet no member (or the old address).
    """
    values = dict(decision.mailchimp_fields)
    preferences = {k: v for k, v in values.items() if k.startswith(PREFERENCE_KEYS)}
    merge = {k: v for k, v in values.items() if k not in preferences}
    together = decision.create_mailchimp or bool(decision.mailchimp_email)
    alone = bool(preferences) and not together and bool(merge or decision.mailchimp_status)
    body = mailchimp_body(row, decision, config, merge if alone else values)
    changes = _changes(decision, "mailchimp")
    agreed = _pairs(decision.agreed_after_mailchimp)
    if not alone:
        return [_member_write(row, decision, _mailchimp_action(decision), body, changes, agreed)]
    keys = {mapping.hubspot for mapping in config.preferences.mappings}
    preference_body = {"email_address": body["email_address"]}
    _add_preferences(preference_body, preferences, config)
    return [
        _member_write(
            row,
            decision,
            _mailchimp_action(decision),
            body,
            [c for c in changes if c["field"] not in preferences],
            {k: pair for k, pair in agreed.items() if k not in keys},
        ),
        _member_write(
            row,
            decision,
            "preferences",
            preference_body,
            [c for c in changes if c["field"] in preferences],
            {k: pair for k, pair in agreed.items() if k in keys},
        ),
    ]


def _member_write(
    row: ContactRow,
    decision: Decision,
    action: str,
    body: dict[str, object],
    changes: list[dict[str, str]],
    agreed: dict[str, list[str]],
) -> NewOperation:
    return NewOperation(
        target="mailchimp",
        action=action,
        payload={"hash": _member_hash(row, decision), "body": body, "changes": changes},
        agreed=agreed,
    )


def _add_preferences(body: dict[str, object], values: Mapping[str, str], config: Config) -> None:
    interests, permissions = member_preferences(values, config.preferences)
    if interests:
        body["interests"] = interests
    if permissions:
        body["marketing_permissions"] = [
            {"marketing_permission_id": key, "enabled": enabled}
            for key, enabled in sorted(permissions.items())
        ]


def mailchimp_body(
    row: ContactRow,
    decision: Decision,
    config: Config,
    values: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The upsert's body.

    A create carries ``status_if_new`` only, never ``status``: the member may exist after all
    (a listing lag, a lost page, someone an admin unsubscribed, whom Mailchimp may let the API
    resubscribe), and an upsert must never force a status on a member the cache did not know.
    Such a member's answer comes back, and its subscription is then decided on its own. A change
    of status on a known member is a decision of its own and sends ``status``.
    """
    current = str((row.mc or {}).get("email", ""))
    body: dict[str, object] = {"email_address": decision.mailchimp_email or current}
    if decision.create_mailchimp:
        body["status_if_new"] = decision.mailchimp_status
    elif decision.mailchimp_status:
        body["status"] = decision.mailchimp_status
    values = decision.mailchimp_fields if values is None else values
    merge = {k: v for k, v in values.items() if not k.startswith(PREFERENCE_KEYS)}
    if merge:
        body["merge_fields"] = merge
    _add_preferences(body, values, config)
    return body


def member_unsubscribe(row: ContactRow) -> NewOperation:
    """Unsubscribe a person's member, with no decision behind it (their contact is deleted)."""
    member = row.mc or {}
    email = str(member.get("email") or row.email)
    change = FieldChange("mailchimp", "status", str(member.get("status", "")), "unsubscribed")
    return NewOperation(
        target="mailchimp",
        action="unsubscribe",
        payload={
            "hash": row.mailchimp_id or subscriber_hash(email),
            "body": {"email_address": email, "status": "unsubscribed"},
            "changes": [_change_record(change)],
        },
        agreed={},
    )


def requested_status(payload: Mapping[str, Any]) -> str | None:
    """The status an upsert asks for (``status``, or ``status_if_new`` on a create), if any."""
    body = payload.get("body") or {}
    status = body.get("status") or body.get("status_if_new")
    return str(status) if status else None


def earns_pending_retry(payload: Mapping[str, Any]) -> bool:
    """Only a refused *subscription* is asked again as ``pending`` (DESIGN §6): a refused name
    edit or unsubscribe is a failure of its own, and the member's status is left as it is."""
    return requested_status(payload) == "subscribed" and not payload.get("pending_retry")


def pending_retry(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The same upsert asking for ``pending``: Mailchimp then asks the person to confirm."""
    body = dict(payload["body"])
    for key in ("status", "status_if_new"):
        if key in body:
            body[key] = "pending"
    return {**payload, "body": body, "pending_retry": True}


#: How Mailchimp's ``errors[].field`` names the address of a member (reference §5, §7).
_ADDRESS_FIELDS = frozenset({"email address", "email_address"})


def refused_values(payload: Mapping[str, Any], problem: Any) -> dict[str, str]:
    """The values of this write that Mailchimp's refusal names, each with its message.

    Keys are merge tags, or ``email_address`` for a refused rename; only values the write sent
    count (a required field missing from the audience's data is no value of this write).
    """
    errors = problem.get("errors") if isinstance(problem, dict) else None
    if not isinstance(errors, list):
        return {}
    body = payload["body"]
    sent = body.get("merge_fields") or {}
    refused: dict[str, str] = {}
    for error in errors:
        if not isinstance(error, dict):
            continue
        name = str(error.get("field") or "").removeprefix("merge_fields.")
        message = str(error.get("message") or "")
        if name in sent:
            refused[name] = message
        elif name in _ADDRESS_FIELDS and _renames(payload, str(body.get("email_address", ""))):
            refused["email_address"] = message
    return refused


def without_values(
    payload: Mapping[str, Any], refused: Mapping[str, str], current_email: str
) -> dict[str, Any] | None:
    """The same write without the refused values, or ``None`` when nothing would be left.

    A refused value never takes the rest of the write with it: the status (an opt-out above
    all) and every other value are sent again on their own (DESIGN §6).
    """
    body = dict(payload["body"])
    fields = {
        tag: v for tag, v in (body.pop("merge_fields", None) or {}).items() if tag not in refused
    }
    if fields:
        body["merge_fields"] = fields
    if "email_address" in refused:
        body["email_address"] = current_email
    kept = ("status", "status_if_new", "interests", "marketing_permissions")
    if not (fields or any(body.get(key) for key in kept)) and not _renames(
        payload, str(body.get("email_address", ""))
    ):
        return None
    changes = [c for c in payload.get("changes") or [] if c.get("field") not in refused]
    return {**payload, "body": body, "changes": changes}


def without_preferences(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """A refused member write that carried groups or permissions beside a status, merge fields
    or an address (a create, a rename), again without them; ``None`` for any other write.

    Mailchimp refuses a write naming an interest or permission id it does not have as a whole
    (one deleted after the run read the audience's ids), and says so only in words: so any such
    refusal is sent once more without them, and a subscription never waits on a group.
    """
    body = dict(payload["body"])
    carried = [body.pop(key, None) for key in ("interests", "marketing_permissions")]
    rest = ("status", "status_if_new", "merge_fields")
    if not any(carried) or not (
        any(body.get(key) for key in rest) or _renames(payload, str(body.get("email_address", "")))
    ):
        return None
    changes = [
        c
        for c in payload.get("changes") or []
        if not str(c.get("field", "")).startswith(PREFERENCE_KEYS)
    ]
    return {**payload, "body": body, "changes": changes}


def _renames(payload: Mapping[str, Any], email: str) -> bool:
    return bool(email) and subscriber_hash(email) != payload["hash"]


def landed(operation: Operation, row: ContactRow) -> bool:
    """The fetched sides already hold every value this queued write would set.

    Only meaningful for a write that was sent and whose answer was lost (a dropped connection,
    a result missing from its batch): it is then known to have landed, and is recorded so,
    rather than as superseded, a history that would say an unsubscribe was never sent.
    """
    if operation.target == "hubspot":
        values = row.hs or {}
        wanted = operation.payload.get("properties") or {}
        return all(
            _same_value(name, normalise(value), values.get(name, ""))
            for name, value in wanted.items()
        )
    member = row.mc
    body = operation.payload.get("body") or {}
    if member is None:
        return False
    if body.get("status") and body["status"] != member.get("status"):
        return False
    if normalise_email(str(body.get("email_address", ""))) != normalise_email(
        str(member.get("email", ""))
    ):
        return False
    fields = member.get("fields") or {}
    held = [(tag, normalise(value)) for tag, value in (body.get("merge_fields") or {}).items()]
    held += [
        (f"{INTEREST_KEY}{key}", "true" if chosen else "false")
        for key, chosen in (body.get("interests") or {}).items()
    ]
    held += [
        (f"{PERMISSION_KEY}{p['marketing_permission_id']}", "true" if p["enabled"] else "false")
        for p in body.get("marketing_permissions") or []
    ]
    return all(fields.get(key, "") == value for key, value in held)


def _member_hash(row: ContactRow, decision: Decision) -> str:
    if row.mailchimp_id and not decision.create_mailchimp:
        return row.mailchimp_id
    return subscriber_hash(decision.mailchimp_email or row.email)


def _hubspot_action(row: ContactRow, decision: Decision, config: Config) -> str:
    if decision.create_hubspot:
        return "create"
    name = config.subscription.hubspot_property
    was_subscribed = as_bool((row.hs or {}).get(name, "")) is True
    if was_subscribed and decision.hubspot.get(name) == "false":
        return "unsubscribe"
    return "update"


def _mailchimp_action(decision: Decision) -> str:
    if decision.create_mailchimp:
        return "create"
    if decision.mailchimp_status == "unsubscribed":
        return "unsubscribe"
    if decision.mailchimp_status == "pending":
        return "resubscribe"
    return "update"


def _changes(decision: Decision, side: str) -> list[dict[str, str]]:
    return [_change_record(change) for change in decision.changes if change.side == side]


def _change_record(change: FieldChange) -> dict[str, str]:
    return {"side": change.side, "field": change.field, "old": change.old, "new": change.new}


def _pairs(agreed: Mapping[str, tuple[str, str]]) -> dict[str, list[str]]:
    return {key: list(pair) for key, pair in agreed.items()}


def changes_of(payload: Mapping[str, Any]) -> list[FieldChange]:
    return [FieldChange(**change) for change in payload.get("changes") or []]


def _same_value(name: str, sent: str, held: str) -> bool:
    """HubSpot keeps emails lower-cased (reference §12.7): an address sent in capitals landed."""
    if name == "email":
        return normalise_email(sent) == normalise_email(held)
    return sent == held
