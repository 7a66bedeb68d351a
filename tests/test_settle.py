"""Settling Mailchimp answers into a real cache: which refusals earn the `pending` retry.

Mailchimp answers "Member In Compliance State" to writes for a member under an opt-out, a bounce
or a compliance review. Only a refused *subscription* is asked again as `pending` (DESIGN §6);
a refused name edit or unsubscribe is a failure with its reason, and the status is left alone.
The answers here are the ones Mailchimp gives (reference §7); the cache is a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer.cache.store import Store
from syncer.config import Config, parse_config
from syncer.connectors.mailchimp.batches import OperationResult
from syncer.core import causes
from syncer.core.identity import subscriber_hash
from syncer.core.plan import earns_pending_retry
from syncer.core.records import ContactRow, NewOperation
from syncer.core.subscription import (
    CLEANED_REASON,
    NEVER_REASON,
    TRANSACTIONAL_NEVER_REASON,
    unknown_status_reason,
)
from syncer.operate.service import open_clients
from syncer.operate.status import hint_for
from syncer.run.context import RunContext
from syncer.run.settle import COMPLIANCE_BLOCK, settle_mailchimp

ADDRESS = "ann@acme-mail.com"
COMPLIANCE = {
    "type": "https://mailchimp.com/developer/marketing/docs/errors/",
    "title": "Member In Compliance State",
    "status": 400,
    "detail": f"{ADDRESS} is in a compliance state due to unsubscribe, bounce, or compliance "
    "review and cannot be subscribed.",
    "instance": "5d1e4a9c-0000-4000-8000-000000000000",
}


def config_for(tmp_path: Path, resubscribe: str = "pending") -> Config:
    text = f"""
hubspot: {{token: t, base_url: "http://127.0.0.1:9"}}
mailchimp: {{api_key: 0a-us1, list_id: l, base_url: "http://127.0.0.1:9/3.0"}}
state_path: {tmp_path / "syncer.db"}
subscription: {{resubscribe: {resubscribe}}}
"""
    return parse_config(text, {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "syncer.db")
    try:
        yield opened
    finally:
        opened.close()


def settle_refusal(store: Store, config: Config, action: str, body: dict[str, Any]) -> ContactRow:
    """Queue one write for a subscribed member, answer it with a compliance refusal."""
    row = store.insert_contact(
        ContactRow(
            id=0,
            email=ADDRESS,
            hubspot_id="101",
            mailchimp_id=subscriber_hash(ADDRESS),
            hs={"email": ADDRESS, "newsletter": "true", "firstname": "Ann"},
            mc={"email": ADDRESS, "status": "subscribed", "fields": {"FNAME": "An"}},
            state="todo",
        )
    )
    payload = {"hash": subscriber_hash(ADDRESS), "body": {"email_address": ADDRESS, **body}}
    store.queue_operations(row.id, [NewOperation("mailchimp", action, payload, {})], None)
    (operation,) = store.queued_operations("mailchimp")
    with open_clients(config) as (hubspot, mailchimp):
        ctx = RunContext(config, store, hubspot, mailchimp, run_id=store.start_run("real"))
        with store.transaction():
            settle_mailchimp(ctx, operation, OperationResult(str(operation.id), 400, COMPLIANCE))
    settled = store.contact(row.id)
    assert settled is not None
    return settled


REFUSALS = {
    # id: (action, body, resubscribe, person's state, reason (a part), pending asked)
    "name-edit-is-a-failure": (
        "update", {"merge_fields": {"FNAME": "Ann"}}, "pending", "failed", "Compliance", None,
    ),
    "unsubscribe-is-a-failure": (
        "unsubscribe", {"status": "unsubscribed"}, "pending", "failed", "Compliance", None,
    ),
    "create-asks-pending-once": (
        "create", {"status_if_new": "subscribed"}, "pending", "todo", None, "status_if_new",
    ),
    "subscribe-asks-pending-once": (
        "update", {"status": "subscribed"}, "pending", "todo", None, "status",
    ),
    "subscribe-with-never-is-blocked": (
        "update", {"status": "subscribed"}, "never", "blocked", "`resubscribe: never`", None,
    ),
    "pending-refused-is-blocked": (
        "resubscribe", {"status": "pending"}, "pending", "blocked", COMPLIANCE_BLOCK, None,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("action", "body", "resubscribe", "state", "reason", "retried"),
    REFUSALS.values(),
    ids=REFUSALS.keys(),
)
def test_only_a_refused_subscription_is_asked_again_as_pending(
    tmp_path: Path,
    store: Store,
    action: str,
    body: dict[str, Any],
    resubscribe: str,
    state: str,
    reason: str | None,
    retried: str | None,
) -> None:
    row = settle_refusal(store, config_for(tmp_path, resubscribe), action, body)
    assert row.state == state
    if reason is None:
        assert row.reason is None
    else:
        assert reason in (row.reason or "")
    queued = store.queued_operations("mailchimp")
    if retried is None:
        assert queued == []
    else:
        (retry,) = queued
        assert retry.payload["body"][retried] == "pending"
        assert retry.payload["pending_retry"] is True
    assert row.mc is not None
    assert row.mc["status"] == "subscribed"  # the cached member is as it was


@pytest.mark.parametrize(
    ("payload", "earns"),
    [
        ({"body": {"status": "subscribed"}}, True),
        ({"body": {"status_if_new": "subscribed"}}, True),
        ({"body": {"status": "subscribed"}, "pending_retry": True}, False),
        ({"body": {"status": "pending"}}, False),
        ({"body": {"status": "unsubscribed"}}, False),
        ({"body": {"merge_fields": {"FNAME": "Ann"}}}, False),
    ],
    ids=["subscribe", "create", "already-retried", "pending", "unsubscribe", "name-edit"],
)
def test_earns_pending_retry(payload: dict[str, Any], earns: bool) -> None:
    assert earns_pending_retry(payload) is earns


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (causes.MAILCHIMP_COMPLIANCE_EDIT, "status is untouched"),
        (causes.MAILCHIMP_COMPLIANCE, "sign up again"),
        (causes.of_block(unknown_status_reason("nonsubscribed"), "nonsubscribed"), "does not know"),
        (causes.of_block(TRANSACTIONAL_NEVER_REASON, "transactional"), "never asked to subscribe"),
        (causes.of_block(NEVER_REASON, "unsubscribed"), "opted out in Mailchimp"),
        (causes.of_block(CLEANED_REASON, "cleaned"), "fix the address in HubSpot"),
        (causes.NO_EMAIL, "give the contact an email address"),
        (causes.MAILCHIMP_VALUE, "the rest was synced"),
    ],
    ids=[
        "failed-edit",
        "pending-refused",
        "unknown",
        "transactional",
        "never",
        "cleaned",
        "no-email",
        "refused-value",
    ],
)
def test_each_consent_reason_gets_its_own_hint(cause: str | None, words: str) -> None:
    """Hints follow the cause recorded where the refusal or the rule was met."""
    assert cause is not None
    assert words in hint_for("blocked", cause)
