"""Nothing is left out without a trace (issue 13.8): contacts without an email, batch results for
no open operation, cleaned members without a contact, superseded and landed writes, and a person
renamed by a write to HubSpot."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cache.outbox import SUPERSEDED_REASON
from syncer.cache.store import Store
from syncer.cli import cli
from syncer.core.identity import subscriber_hash
from syncer.core.reconcile import CLEANED_UNLINKED
from syncer.core.records import ContactRow, NewOperation
from syncer.operate.service import open_clients
from syncer.run.context import RunContext
from syncer.run.decide import reconcile_contacts
from syncer.run.fetch import NO_EMAIL_REASON
from syncer.run.settle import LANDED_NOTE
from tests.support.people import email, iso_ago
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people, sql
from tests.test_settle import config_for


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def contact(name: str, newsletter: str = "true", **properties: str) -> dict[str, Any]:
    values = {"email": email(name, 0), "firstname": name, **properties}
    return {
        "properties": {**values, "newsletter": newsletter},
        "timestamps": dict.fromkeys(values, iso_ago(10)),
        "createdate": iso_ago(100),
    }


def member(name: str, status: str = "subscribed") -> dict[str, Any]:
    return {
        "email_address": email(name, 0),
        "status": status,
        "merge_fields": {"FNAME": name},
        "last_changed": iso_ago(5),
    }


def events_of(config: Path, address: str) -> list[dict[str, Any]]:
    shown = invoke(config, "show", address, "--json")
    assert shown.exit_code == 0, shown.output
    return list(json.loads(shown.stdout)["events"])


def test_a_contact_without_an_email_is_reported(sim: SandboxDriver, tmp_path: Path) -> None:
    """An unlinked contact with no address is logged and counted; a linked person whose
    contact loses its address is blocked with the reason, not silently frozen."""
    ids = sim.seed_hubspot([contact("kim"), {"properties": {"firstname": "Nobody"}}])
    sim.seed_mailchimp([member("kim")])
    config = sim.write_config(tmp_path)
    first = invoke(config, "run", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["counts"]["skipped_no_email"] == 1
    assert f"HubSpot contact {ids[1]} has no email address" in first.stderr
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"email": "", "newsletter": "false"})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    errors = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    assert [(e["email"], e["state"], e["reason"]) for e in errors] == [
        (email("kim", 0), "blocked", NO_EMAIL_REASON)
    ]
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"email": email("kim", 0)})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert json.loads(invoke(config, "errors", "--json").stdout)["groups"] == []
    assert sim.mailchimp_by_email()[email("kim", 0)]["status"] == "unsubscribed"


def test_a_batch_result_for_no_open_operation_is_logged(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_hubspot([contact(f"b{i}") for i in range(3)])
    config = sim.write_config(
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.2, "batch_poll_seconds": 0.05},
    )
    sim.configure("mailchimp", {"batch_paused": True})
    assert invoke(config, "run").exit_code == 0
    # The operation is no longer open (as if settled by an earlier, lost collection).
    sql(
        tmp_path,
        "UPDATE operations SET state = 'failed' WHERE id = (SELECT min(id) FROM operations)",
    )
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    done = invoke(config, "run", "--json")
    assert json.loads(done.stdout)["counts"]["unknown_results"] == 1
    assert "which is not open in this batch, is ignored" in done.stderr


def test_a_cleaned_member_without_a_contact_is_reported_once(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Both a cleaned member HubSpot never had, and the bounced old address of a person HubSpot
    gave a new one, are left out with a note in their own history."""
    ids = sim.seed_hubspot([contact("moved")])
    sim.seed_mailchimp([member("bounced", "cleaned"), member("moved", "cleaned")])
    config = sim.write_config(tmp_path)
    first = invoke(config, "run", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["counts"]["skipped"] == 1
    assert [(e["kind"], e["detail"]) for e in events_of(config, email("bounced", 0))] == [
        ("skipped", CLEANED_UNLINKED)
    ]
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"email": "moved-fixed@northwind-mail.com"})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert ("skipped", CLEANED_UNLINKED) in [
        (e["kind"], e["detail"]) for e in events_of(config, email("moved", 0))
    ]
    sim.advance(60)
    again = invoke(config, "run", "--json")
    assert json.loads(again.stdout)["counts"].get("skipped", 0) == 0


def test_show_finds_a_person_renamed_by_a_write_to_hubspot(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot([contact("ren")])
    sim.seed_mailchimp([member("ren")])
    config = sim.write_config(tmp_path)
    assert invoke(config, "run").exit_code == 0
    sim.advance(60)
    sim.mailchimp_edit(email("ren", 0), {"email_address": "ren-new@northwind-mail.com"})
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    assert sim.hubspot_by_email(["email"]).keys() == {"ren-new@northwind-mail.com"}
    sim.advance(60)
    assert invoke(config, "run").exit_code == 0
    shown = invoke(config, "show", "ren-new@northwind-mail.com", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["email"] == "ren-new@northwind-mail.com"


# -- the outbox's own history (a real cache, the engine's own decision path) --------------------

ANN = "ann@acme-mail.com"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "syncer.db")
    try:
        yield opened
    finally:
        opened.close()


def unsubscribe(row: ContactRow) -> NewOperation:
    change = {"side": "mailchimp", "field": "status", "old": "subscribed", "new": "unsubscribed"}
    payload = {
        "hash": subscriber_hash(ANN),
        "body": {"email_address": ANN, "status": "unsubscribed"},
        "changes": [change],
    }
    return NewOperation(
        "mailchimp", "unsubscribe", payload, {"@subscription": ["false", "unsubscribed"]}
    )


def person(store: Store, status: str) -> ContactRow:
    """Ann opted out in HubSpot; the cache holds her member as ``status`` was last fetched."""
    return store.insert_contact(
        ContactRow(
            id=0,
            email=ANN,
            hubspot_id="7",
            mailchimp_id=subscriber_hash(ANN),
            hs={"email": ANN, "newsletter": "false"},
            hs_modified="2026-01-01T10:00:00+00:00",
            mc={"email": ANN, "status": status, "fields": {}},
            mc_changed="2026-01-01T10:00:00+00:00",
            base={"@email": [ANN, ANN], "@subscription": ["true", "subscribed"]},
            state="todo",
        )
    )


@pytest.mark.parametrize(
    ("sent", "status", "state", "note"),
    [
        (True, "unsubscribed", "succeeded", LANDED_NOTE),
        (False, "unsubscribed", "superseded", SUPERSEDED_REASON),
        (True, "subscribed", "superseded", SUPERSEDED_REASON),
    ],
    ids=["sent-and-landed", "never-sent", "sent-not-landed"],
)
def test_a_queued_write_is_superseded_with_a_reason_or_recorded_as_landed(
    tmp_path: Path, store: Store, sent: bool, status: str, state: str, note: str
) -> None:
    row = person(store, status)
    store.queue_operations(row.id, [unsubscribe(row)], None)
    (operation,) = store.queued_operations("mailchimp")
    store.set_operation_state(
        operation.id, "queued", "sent, no answer: connection dropped" if sent else "429 (earlier)"
    )
    if not sent:
        store.db.execute("UPDATE operations SET attempts = 0 WHERE id = ?", [operation.id])
    config = config_for(tmp_path)
    with open_clients(config) as (hubspot, mailchimp):
        ctx = RunContext(config, store, hubspot, mailchimp, run_id=store.start_run("real"))
        reconcile_contacts(ctx, [store.contact(row.id) or row])
    connection = sqlite3.connect(tmp_path / "syncer.db")
    try:
        settled = connection.execute(
            "SELECT state, error FROM operations WHERE id = ?", [operation.id]
        ).fetchone()
    finally:
        connection.close()
    assert settled == (state, note)
    changes = store.contact_history(row.id)["changes"]
    assert [(c["field"], c["new"]) for c in changes] == (
        [("status", "unsubscribed")] if state == "succeeded" else []
    )
