"""Settling outbox operations: what a remote answer does to the cache.

A success stores the value the vendor returned (not the one sent, should the vendor normalise it)
on its side and in the base, so the write is recognised when it comes back on the next fetch and
causes nothing further. Failures are kept with their reason; the one compliance refusal becomes a
``pending`` request, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from syncer.cache.contacts import apply_member, iso
from syncer.connectors.hubspot.client import ALWAYS
from syncer.connectors.hubspot.parse import WriteResult
from syncer.connectors.mailchimp.batches import OperationResult, Outcome, classify
from syncer.connectors.mailchimp.records import parse_member
from syncer.core import causes
from syncer.core.fields import field_rules
from syncer.core.identity import normalise_email
from syncer.core.models import EMAIL_KEY, SUBSCRIBED_STATUSES, SUBSCRIPTION_KEY, HubSpotContact
from syncer.core.plan import (
    changes_of,
    earns_pending_retry,
    landed,
    pending_retry,
    refused_values,
    requested_status,
    without_preferences,
    without_values,
)
from syncer.core.records import ContactRow, NewOperation, Operation
from syncer.core.segments import SEGMENT_ACTIONS, mirror_differs, settled
from syncer.errors import MalformedRecord
from syncer.run.context import Failure, RunContext

log = logging.getLogger("syncer.run")

#: HubSpot takes only addresses with a real top-level domain and no quotes (reference §12.7).
HUBSPOT_INVALID_EMAIL = "HubSpot refuses the address as invalid (INVALID_EMAIL)"
COMPLIANCE_BLOCK = "Mailchimp refused the subscription even as `pending` (compliance state)"


def settle_hubspot_success(ctx: RunContext, operation: Operation, contact: HubSpotContact) -> None:
    row = _row(ctx, operation)
    sent: dict[str, str] = operation.payload["properties"]
    # Keep exactly what a fetch returns, so the write's echo compares equal and costs nothing.
    fetched = {*(row.hs or {}), *sent, *ctx.hubspot_properties, *ALWAYS}
    returned = {k: v for k, v in contact.properties.items() if k in fetched}
    row.hs = {**(row.hs or {}), **sent, **returned}
    row.hs_modified = iso(contact.modified)
    # The person is known by HubSpot's address: a rename written there renames them here too
    # (the echo compares equal and is skipped, so no fetch would do it).
    row.email = normalise_email(row.hs.get("email", "")) or row.email
    if operation.action == "create":
        row.hubspot_id = contact.id
        row.hubspot_created = iso(contact.created) if contact.created else iso(contact.modified)
    for key, (_, mailchimp_value) in operation.agreed.items():
        row.base[key] = [row.hs.get(ctx.hubspot_name(key), ""), mailchimp_value]
    _succeeded(ctx, operation, row)


def settle_hubspot_failure(ctx: RunContext, operation: Operation, result: WriteResult) -> None:
    """A refused address needs someone to fix it (blocked); anything else is worth a retry."""
    if result.code == "INVALID_EMAIL":
        mark_failed(
            ctx, operation, "blocked", HUBSPOT_INVALID_EMAIL, causes.HUBSPOT_INVALID_ADDRESS
        )
        return
    mark_failed(ctx, operation, "failed", f"HubSpot: {result.message}", result.cause)


def settle_mailchimp(ctx: RunContext, operation: Operation, result: OperationResult) -> None:
    """Apply one Mailchimp answer (from a batch archive or a direct call) to the cache."""
    verdict = classify(result.status_code, result.body)
    if verdict.outcome is Outcome.SUCCEEDED:
        _mailchimp_success(ctx, operation, result.body)
    elif verdict.outcome is Outcome.RETRY_PENDING:
        _compliance_refusal(ctx, operation, verdict.reason)
    elif verdict.outcome is Outcome.RETRY_LATER:
        ctx.store.set_operation_state(operation.id, "queued", verdict.reason)
        ctx.counts["retry_later"] += 1
    elif verdict.outcome is Outcome.BLOCKED:
        mark_failed(ctx, operation, "blocked", verdict.reason, verdict.cause)
    elif refused := refused_values(operation.payload, result.body):
        _refused_values(ctx, operation, refused)
    elif (alone := without_preferences(operation.payload)) is not None:
        mark_failed(ctx, operation, "failed", f"Mailchimp: {verdict.reason}", verdict.cause)
        _resend(ctx, operation, alone, lambda key: key not in ctx.config.preferences.properties)
    else:
        mark_failed(ctx, operation, "failed", f"Mailchimp: {verdict.reason}", verdict.cause)


def _refused_values(ctx: RunContext, operation: Operation, refused: dict[str, str]) -> None:
    """Mailchimp refused the write for some of its values (too long, not in a date field's
    format, not a number...): each is reported on its own, and the rest of the write, the
    status above all, is sent again without them, so an opt-out is never lost to a name."""
    row = _row(ctx, operation)
    reason = "; ".join(
        f"Mailchimp refused the value of {name}: {message}"
        for name, message in sorted(refused.items())
    )
    mark_failed(ctx, operation, "failed", reason, causes.MAILCHIMP_VALUE)
    payload = without_values(
        operation.payload, refused, str((row.mc or {}).get("email") or row.email)
    )
    if payload is None:
        return
    _resend(ctx, operation, payload, lambda key: _sent_as(ctx, key) not in refused)


def _resend(
    ctx: RunContext, operation: Operation, payload: dict[str, Any], keeps: Callable[[str], bool]
) -> None:
    """Queue what is left of a refused write, agreeing only on the base keys it ``keeps``."""
    agreed = {key: pair for key, pair in operation.agreed.items() if keeps(key)}
    retry = NewOperation("mailchimp", operation.action, payload, agreed)
    ctx.store.queue_operations(operation.contact_id, [retry], ctx.run_id, supersede=False)
    ctx.counts["resent_without_refused"] += 1
    log.info(
        "contact %d: Mailchimp refused a write; the rest of it is sent again on its own",
        operation.contact_id,
    )


def _sent_as(ctx: RunContext, key: str) -> str | None:
    """The name a base key's value has in a member write (a merge tag, or the address)."""
    return "email_address" if key == EMAIL_KEY else ctx.mailchimp_name(key)


def _mailchimp_success(ctx: RunContext, operation: Operation, body: Any) -> None:
    row = _row(ctx, operation)
    dirty = row.dirty
    if isinstance(body, dict) and "email_address" in body:
        before = dict(row.mc or {})
        try:
            apply_member(row, parse_member(body))
        except MalformedRecord as error:  # the write landed; the next fetch reads the member
            log.warning("%s (a write's answer); the member is read again next run", error)
        changed = _changed_elsewhere(before, row.mc or {}, operation.payload)
        row.dirty = dirty or int(changed or _mirror_stale(ctx, row))
    if operation.action in SEGMENT_ACTIONS:
        settled(row, operation.action, operation.payload)
        # The member's tags changed: the tags mirror decides again, whether or not Mailchimp's
        # last_changed moved with them.
        row.dirty = row.dirty or int(ctx.config.segments.mirror is not None)
    mc = row.mc or {}
    for key, (hubspot_value, intended) in operation.agreed.items():
        actual = _member_value(ctx, mc, key, intended)
        if key == SUBSCRIPTION_KEY and (actual in SUBSCRIBED_STATUSES) != (
            intended in SUBSCRIBED_STATUSES
        ):
            # A create met a member the cache did not know (``status_if_new`` left its status
            # as it was): its subscription is a decision of its own, made again.
            row.dirty = 1
            ctx.counts["found_existing_members"] += 1
            continue
        row.base[key] = [hubspot_value, actual]
    _succeeded(ctx, operation, row)


def _changed_elsewhere(
    before: dict[str, Any], after: dict[str, Any], payload: dict[str, Any]
) -> bool:
    """The answer shows a value this write did not set changed since the cache last read the
    member: someone changed it meanwhile (an opt-out while the write waited in a batch). The
    answer moves the member's ``last_changed`` past that change, so no fetch would see it: the
    person is decided again, against the base as it was."""
    if not before:
        return False
    body = payload.get("body") or {}
    if "status" not in body and after.get("status") != before.get("status"):
        return True
    sent = body.get("merge_fields") or {}
    fields_before, fields_after = before.get("fields") or {}, after.get("fields") or {}
    return any(
        fields_after.get(tag) != value for tag, value in fields_before.items() if tag not in sent
    )


def _mirror_stale(ctx: RunContext, row: ContactRow) -> bool:
    """The contact's tags mirror shows other tags than the member this answer describes: a new
    member (a create, one after a cleaned member was let go) or one met at the address. Nothing
    else would decide the mirror again: the answer is what the next fetch reads, so it causes
    nothing, and HubSpot would keep the tags of the member the person was linked to before."""
    if row.hs is None or row.mc is None:
        return False
    return mirror_differs(row.hs, row.mc.get("tags") or (), ctx.config)


def _member_value(ctx: RunContext, mc: dict[str, Any], key: str, intended: str) -> str:
    """The member's value for a base key, as the merge reads it next time: a group or a
    permission is no merge tag (it was once taken for the address, so a HubSpot value cleared
    before the next decision looked like a Mailchimp change and was written over)."""
    if key == SUBSCRIPTION_KEY:
        return str(mc.get("status", intended))
    if key == EMAIL_KEY:
        return str(mc.get("email", intended))
    fields = mc.get("fields", {})
    rule = next((r for r in field_rules(ctx.config) if r.key == key), None)
    if rule is not None and rule.read_mailchimp is not None:
        return rule.read_mailchimp(fields)
    tag = rule.mailchimp_name if rule is not None else ctx.mailchimp_name(key)
    return str(fields.get(tag, intended)) if tag else intended


def _compliance_refusal(ctx: RunContext, operation: Operation, reason: str) -> None:
    """Mailchimp refused a write because of a past opt-out, a bounce or a compliance review.

    Only a refused subscription is asked again, once, as ``pending``. Any other write refused so
    (a name edit, an unsubscribe) is a failure with its reason: the member's status is left as
    it is, never turned into a confirmation email nobody asked for.
    """
    requested = requested_status(operation.payload)
    if requested not in ("subscribed", "pending"):
        reason = f"Mailchimp: {reason}"
        mark_failed(ctx, operation, "failed", reason, causes.MAILCHIMP_COMPLIANCE_EDIT)
        return
    if not earns_pending_retry(operation.payload):
        mark_failed(ctx, operation, "blocked", COMPLIANCE_BLOCK, causes.MAILCHIMP_COMPLIANCE)
        return
    if ctx.config.subscription.resubscribe == "never":
        reason = f"{reason} (`resubscribe: never`)"
        mark_failed(ctx, operation, "blocked", reason, causes.RESUBSCRIBE_NEVER)
        return
    agreed = dict(operation.agreed)
    if SUBSCRIPTION_KEY in agreed:
        agreed[SUBSCRIPTION_KEY] = [agreed[SUBSCRIPTION_KEY][0], "pending"]
    retry = NewOperation("mailchimp", "resubscribe", pending_retry(operation.payload), agreed)
    ctx.store.set_operation_state(operation.id, "superseded", "Member In Compliance State")
    ctx.store.queue_operations(operation.contact_id, [retry], ctx.run_id, supersede=False)
    row = _row(ctx, operation)
    row.state = "todo"
    ctx.store.save_contact(row)
    ctx.counts["pending_retries"] += 1
    log.info(
        "contact %d: subscription refused (compliance state); asking for pending",
        operation.contact_id,
    )


LANDED_NOTE = "landed: its answer was lost, and the next fetch showed its values"


def settle_landed(ctx: RunContext, row: ContactRow) -> None:
    """Before a person is decided again: their queued writes that were sent (the answer lost, a
    run killed while it waited) and whose values the fetch now shows did land. They are recorded
    as such, with their changes journaled, so history never says an unsubscribe was not sent when
    it was; and the base they agreed on holds, so the decision that follows never takes syncer's
    own values for someone's change (a pending signup's ``false`` for an opt-out)."""
    for operation in ctx.store.queued_writes_of(row.id):
        if operation.attempts and landed(operation, row):
            record_landed(ctx, operation, row)


def record_landed(ctx: RunContext, operation: Operation, row: ContactRow) -> None:
    """A write whose values ``row`` shows landed, though its answer was lost: done, journaled,
    and the base it agreed on holds (the caller saves ``row``)."""
    ctx.store.set_operation_state(operation.id, "succeeded", LANDED_NOTE)
    ctx.store.add_changes(ctx.run_id, row.id, changes_of(operation.payload))
    row.base.update(operation.agreed)
    ctx.counts["landed_unanswered"] += 1


def _succeeded(ctx: RunContext, operation: Operation, row: ContactRow) -> None:
    ctx.store.set_operation_state(operation.id, "succeeded")
    ctx.store.add_changes(ctx.run_id, row.id, changes_of(operation.payload))
    if ctx.store.open_operation_count(row.id) == 0 and row.state in ("todo", "pending"):
        row.state, row.reason = "ok", None
    ctx.store.save_contact(row)
    ctx.counts[f"written_{operation.target}"] += 1


def mark_failed(
    ctx: RunContext, operation: Operation, state: str, reason: str, cause: str | None
) -> None:
    """Settle an operation that did not succeed; ``state`` is what the person becomes, ``cause``
    the kind of problem (``syncer.core.causes``) that picks its hint.

    ``failed`` is worth retrying as it is; ``blocked`` needs a fix first; ``detached`` means the
    HubSpot contact is gone (merged or archived), so the person is left out of the sync until
    `syncer retry`.
    """
    row = _row(ctx, operation)
    ctx.store.set_operation_state(
        operation.id, "failed" if state == "failed" else "blocked", reason
    )
    row.state, row.reason, row.cause = state, reason, cause
    ctx.store.save_contact(row)
    ctx.store.add_event(ctx.run_id, row.id, state, reason)
    ctx.counts[state] += 1
    if state == "failed":
        ctx.failures.append(Failure(reason, row.email))


def _row(ctx: RunContext, operation: Operation) -> ContactRow:
    row = ctx.store.contact(operation.contact_id)
    if row is None:
        raise LookupError(f"operation {operation.id} names a contact that is not in the cache")
    return row
