"""A person waits (``pending``) while a write of theirs is out, and never once none is.

Found by the soak (seed 20261123, about one run in four) after batch results began to be
collected while HubSpot is written: a person with a Mailchimp write in a batch and a HubSpot
update queued had the batch settle first (one write still open: they kept waiting), then the
HubSpot update held back because HubSpot changed the field meanwhile. Nothing took them out of
waiting, so no later run decided them again, and the edit never reached Mailchimp.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.cache.store import Store
from syncer.config import Config, parse_config
from syncer.core.identity import subscriber_hash
from syncer.core.models import HubSpotContact
from syncer.core.records import ContactRow, NewOperation
from syncer.operate.service import open_clients
from syncer.run.context import RunContext
from syncer.run.recheck import hold_for_contacts
from tests.support.people import InitialWorld
from tests.support.sandbox import SandboxDriver
from tests.test_sync_backlog import run_json

ADDRESS = "ann@acme-mail.com"


def config_for(tmp_path: Path) -> Config:
    text = f"""
hubspot: {{token: t, base_url: "http://127.0.0.1:9"}}
mailchimp: {{api_key: 0a-us1, list_id: l, base_url: "http://127.0.0.1:9/3.0"}}
state_path: {tmp_path / "syncer.db"}
"""
    return parse_config(text, {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "syncer.db")
    try:
        yield opened
    finally:
        opened.close()


def waiting_person(store: Store) -> ContactRow:
    """Ann, decided: an update to HubSpot (queued) and one to Mailchimp (in a batch), waiting."""
    row = store.insert_contact(
        ContactRow(
            id=0,
            email=ADDRESS,
            hubspot_id="101",
            mailchimp_id=subscriber_hash(ADDRESS),
            hs={"email": ADDRESS, "newsletter": "true", "firstname": "Ann", "lastname": "Lee"},
            mc={"email": ADDRESS, "status": "subscribed", "fields": {"FNAME": "Annie"}},
            state="todo",
        )
    )
    to_hubspot = NewOperation("hubspot", "update", {"properties": {"firstname": "Annie"}}, {})
    to_mailchimp = NewOperation(
        "mailchimp",
        "update",
        {"hash": row.mailchimp_id, "body": {"merge_fields": {"LNAME": "Lee"}}},
        {},
    )
    store.queue_operations(row.id, [to_hubspot, to_mailchimp], None)
    (member_write,) = store.queued_operations("mailchimp")
    store.record_batch("b1", "pending", [member_write.id], None)
    store.mark_pending([row.id])
    return row


def test_a_write_held_after_the_persons_batch_settled_leaves_them_to_be_decided_again(
    store: Store, tmp_path: Path
) -> None:
    row = waiting_person(store)
    config = config_for(tmp_path)
    (member_write,) = store.submitted_writes_of(row.id)
    (contact_write,) = store.queued_operations("hubspot")
    with open_clients(config) as (hubspot, mailchimp):
        ctx = RunContext(config, store, hubspot, mailchimp, run_id=store.start_run("real"))
        # The batch settles first: the HubSpot update is still open, so Ann keeps waiting.
        store.set_operation_state(member_write.id, "succeeded")
        assert store.contact(row.id).state == "pending"
        # Then the check before the HubSpot write finds her first name changed in HubSpot.
        edited = HubSpotContact(
            id="101",
            properties={**row.hs, "firstname": "Ann-Marie"},
            modified=datetime.now(UTC),
        )
        with store.transaction():
            held = hold_for_contacts(ctx, [(contact_write, row)], {"101": edited})
    assert held == {contact_write.id}
    assert [person.id for person in store.dirty_contacts(0, 10)] == [row.id], (
        "the person is left waiting for writes that are no longer out"
    )


def test_a_run_decides_again_a_person_an_earlier_run_left_waiting_for_nothing(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """A cache in the state the bug left: Ann waits, with no write of hers out. Her next HubSpot
    edit still reaches Mailchimp, and the run says it released her."""
    (ann_id, *_) = sim.seed_world(InitialWorld(shared=3, hubspot_only=0, mailchimp_only=0))
    config = sim.write_config(tmp_path)
    assert run_json(config)[0].exit_code == 0
    with closing(Store(tmp_path / "state" / "syncer.db")) as store:
        ann = store.contact_by_hubspot_id(ann_id)
        assert ann is not None
        store.db.execute("UPDATE contacts SET state = 'pending' WHERE id = ?", [ann.id])
    sim.hubspot_edit(ann_id, {"firstname": "Ann-Marie"})
    sim.advance(60)  # past the search index lag

    result, report = run_json(config)

    assert result.exit_code == 0, result.output
    assert report["counts"]["released_stranded"] == 1
    (member,) = [m for m in sim.mailchimp_members() if m["email_address"] == ann.email]
    assert member["merge_fields"]["FNAME"] == "Ann-Marie"


def test_the_check_compares_with_what_the_write_was_decided_from_not_the_cache(
    store: Store, tmp_path: Path
) -> None:
    """A queued update decided from Ann's first name 'Ann' goes out only after a fetch has
    already cached her HubSpot edit (a person waiting for a batch is not decided again; a write
    a killed run left queued goes out in the next run). The check must still see the edit: the
    cache holds it too, so comparing with the cache would let the write go over it."""
    row = waiting_person(store)
    config = config_for(tmp_path)
    change = {"field": "firstname", "old": "Ann", "new": "Annie", "side": "hubspot"}
    decided = NewOperation(
        "hubspot", "update", {"properties": {"firstname": "Annie"}, "changes": [change]}, {}
    )
    store.queue_operations(row.id, [decided], None)
    contact_write = store.queued_operations("hubspot")[-1]
    edited = {**(row.hs or {}), "firstname": "Ann-Marie"}
    store.db.execute("UPDATE contacts SET hs = ? WHERE id = ?", [json.dumps(edited), row.id])
    cached = store.contact(row.id)
    assert cached is not None
    now = HubSpotContact(id="101", properties=edited, modified=datetime.now(UTC))
    with open_clients(config) as (hubspot, mailchimp):
        ctx = RunContext(config, store, hubspot, mailchimp, run_id=store.start_run("real"))
        with store.transaction():
            held = hold_for_contacts(ctx, [(contact_write, cached)], {"101": now})
    assert held == {contact_write.id}, "the write would go over the edit the cache already had"
