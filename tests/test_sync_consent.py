"""Consent end to end: opt-outs win when newer, nobody is resubscribed without confirming."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from tests.support.people import email, iso_ago
from tests.support.sandbox import SandboxDriver


def run(config: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), "run", *args])
    assert result.exit_code == code, result.output
    return result


def person(name: str, newsletter: str, hours: float) -> dict[str, Any]:
    return {
        "properties": {"email": email(name, 0), "firstname": name, "newsletter": newsletter},
        "timestamps": {
            "newsletter": iso_ago(hours),
            "email": iso_ago(hours),
            "firstname": iso_ago(hours),
        },
        "createdate": iso_ago(100),
    }


def member(name: str, status: str, hours: float) -> dict[str, Any]:
    return {
        "email_address": email(name, 0),
        "status": status,
        "merge_fields": {"FNAME": name},
        "last_changed": iso_ago(hours),
    }


def subscribed_transitions(sim: SandboxDriver, address: str) -> list[dict[str, Any]]:
    return [
        t for t in sim.transitions() if t["email"].lower() == address and t["to"] == "subscribed"
    ]


def test_first_link_newer_side_wins_the_subscription(sim: SandboxDriver, tmp_path: Path) -> None:
    sim.seed_hubspot(
        [
            person("hsnewer", "false", 1),  # HubSpot opted out after the member last changed
            person("mcnewer", "true", 10),  # Mailchimp opted out more recently
            person("tie", "true", 3),
        ]
    )
    sim.seed_mailchimp(
        [
            member("hsnewer", "subscribed", 5),
            member("mcnewer", "unsubscribed", 2),
            member("tie", "subscribed", 3),
        ]
    )
    run(sim.write_config(tmp_path))
    hubspot = sim.hubspot_by_email(["email", "newsletter"])
    mailchimp = sim.mailchimp_by_email()
    assert mailchimp[email("hsnewer", 0)]["status"] == "unsubscribed"
    assert hubspot[email("mcnewer", 0)]["newsletter"] == "false"
    assert mailchimp[email("mcnewer", 0)]["status"] == "unsubscribed"
    assert mailchimp[email("tie", 0)]["status"] == "subscribed"


def test_hubspot_wanting_back_an_unsubscribed_member_asks_for_pending(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = sim.seed_hubspot([person("back", "false", 10)])
    sim.seed_mailchimp([member("back", "unsubscribed", 10)])
    config = sim.write_config(tmp_path)
    run(config)
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"newsletter": "true"})
    sim.advance(60)
    run(config)
    address = email("back", 0)
    assert sim.mailchimp_by_email()[address]["status"] == "pending"
    assert subscribed_transitions(sim, address) == []


def test_resubscribe_never_leaves_the_member_alone_and_reports(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = sim.seed_hubspot([person("never", "false", 10)])
    sim.seed_mailchimp([member("never", "unsubscribed", 10)])
    config = sim.write_config(tmp_path, subscription={"resubscribe": "never"})
    run(config)
    sim.advance(60)
    sim.hubspot_edit(ids[0], {"newsletter": "true"})
    sim.advance(60)
    before = sim.writes("mailchimp")
    run(config)
    assert sim.writes("mailchimp") == before
    assert sim.mailchimp_by_email()[email("never", 0)]["status"] == "unsubscribed"
    state, reason = _state(tmp_path, email("never", 0))
    assert state == "blocked"
    assert "`never`" in reason


def test_a_cleaned_member_is_never_resubscribed_and_is_blocked(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot([person("bounced", "true", 1)])
    sim.seed_mailchimp([member("bounced", "cleaned", 5)])
    config = sim.write_config(tmp_path)
    run(config)
    address = email("bounced", 0)
    assert sim.mailchimp_by_email()[address]["status"] == "cleaned"
    assert subscribed_transitions(sim, address) == []
    state, reason = _state(tmp_path, address)
    assert state == "blocked"
    assert "cleaned" in reason


def test_a_create_meeting_an_unknown_opted_out_member_asks_once_for_pending(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """Two people opt out at Mailchimp while syncer's batch adding them waits to run.

    The batch's creates carry `status_if_new` only, so Mailchimp leaves those two members as
    they are and answers with them; the next run decides their subscription on its own (HubSpot's
    wish is newer) and asks once for `pending`, never for `subscribed`.
    """
    sim.seed_hubspot([person(f"new{i}", "true", 5) for i in range(12)])
    config = sim.write_config(
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.3, "batch_poll_seconds": 0.05},
    )
    sim.configure("mailchimp", {"batch_paused": True})
    first = json.loads(run(config, "--json").stdout)
    assert first["counts"]["batches_open"] == 1
    # they opted out before HubSpot's wish (5 h ago), so HubSpot's newer wish stands
    sim.seed_mailchimp([member("new0", "unsubscribed", 20), member("new1", "unsubscribed", 20)])
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    sim.advance(60)
    run(config)
    sim.advance(60)
    run(config)

    mailchimp = sim.mailchimp_by_email()
    transitions = sim.transitions()
    for i in (0, 1):
        address = email(f"new{i}", 0)
        assert mailchimp[address]["status"] == "pending"
        assert [t["to"] for t in transitions if t["email"].lower() == address] == [
            "unsubscribed",
            "pending",
        ]
    assert all(mailchimp[email(f"new{i}", 0)]["status"] == "subscribed" for i in range(2, 12))
    assert sim.requests("mailchimp")["counts"]["batch_operations"] == 12 + 2


def test_a_create_never_forces_a_status_on_a_member_the_cache_did_not_know(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """An admin unsubscribes a member (Mailchimp lets the API resubscribe those) after syncer
    read the audience and before its batch adding that address runs.

    A create sending `status: subscribed` beside `status_if_new` would resubscribe them without
    their consent; with `status_if_new` alone they stay unsubscribed, and their opt-out (newer
    than HubSpot's wish) reaches HubSpot.
    """
    sim.configure("mailchimp", {"api_unsubscribe_locks": False})
    sim.seed_hubspot([person("admin", "true", 5)])
    config = sim.write_config(
        tmp_path,
        sync={"direct_threshold": 0, "batch_wait_seconds": 0.3, "batch_poll_seconds": 0.05},
    )
    sim.configure("mailchimp", {"batch_paused": True})
    run(config)
    address = email("admin", 0)
    sim.seed_mailchimp([member("admin", "subscribed", 30)])
    sim.mailchimp_edit(address, {"status": "unsubscribed"})
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    sim.advance(60)
    run(config)
    sim.advance(60)
    run(config)

    assert sim.mailchimp_by_email()[address]["status"] == "unsubscribed"
    assert [t["to"] for t in sim.transitions() if t["email"].lower() == address] == [
        "subscribed",
        "unsubscribed",
    ]
    assert sim.hubspot_by_email(["email", "newsletter"])[address]["newsletter"] == "false"


def _state(tmp_path: Path, address: str) -> tuple[str, str]:
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        row = store.contact_by_email(address)
        assert row is not None
        return row.state, row.reason or ""
    finally:
        store.close()


def test_an_opt_out_made_while_a_name_write_waits_in_a_batch_reaches_hubspot(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The person unsubscribes at Mailchimp after syncer read them and before its batch writing
    a HubSpot name edit to their member runs (found by the soak's mid-run edits).

    The batch's answer carries the member as it now stands, unsubscribed: that status is no
    value syncer wrote, so it must not become the agreed base; the opt-out is the person's,
    newer than anything HubSpot says, and reaches HubSpot.
    """
    (ann,) = sim.seed_hubspot([person("ann", "true", 50)])
    sim.seed_mailchimp([member("ann", "subscribed", 50)])
    sync = {"direct_threshold": 0, "batch_wait_seconds": 0.3, "batch_poll_seconds": 0.05}
    config = sim.write_config(tmp_path, sync=sync)
    run(config)
    sim.advance(60)
    sim.hubspot_edit(ann, {"firstname": "Annie"})
    sim.advance(60)
    sim.configure("mailchimp", {"batch_paused": True})
    assert json.loads(run(config, "--json").stdout)["counts"]["batches_open"] == 1
    sim.advance(5)
    sim.mailchimp_unsubscribe(email("ann", 0))
    sim.configure("mailchimp", {"batch_paused": False})
    sim.settle_batches()
    for _ in range(2):
        sim.advance(60)
        run(config)

    member_now = sim.mailchimp_by_email()[email("ann", 0)]
    assert (member_now["status"], member_now["merge_fields"]["FNAME"]) == ("unsubscribed", "Annie")
    assert sim.hubspot_by_email(["email", "newsletter"])[email("ann", 0)]["newsletter"] == "false"
