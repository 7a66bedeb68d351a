"""HubSpot merges and permanent deletions, end to end (DESIGN §5, reference §12.2).

A merge makes a new record whose old ids still answer with it: syncer keeps one link to it,
never treats the merge as a deletion, never unsubscribes or archives a member because of it,
reports a second member it cannot keep, and then rests. A GDPR-deleted contact never shows in
the archive: the read or write that meets it detaches the person, and the delete rule applies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncer.cache.store import Store
from syncer.cli import cli
from syncer.errors import ExitCode
from syncer.run import engine
from syncer.run.deletions import CHECKED, LEFT_REASON, UNSUBSCRIBED_REASON
from tests.support.people import InitialWorld, email
from tests.support.sandbox import SandboxDriver
from tests.support.state import listed_people, sql

CONTACTS = "/crm/v3/objects/contacts"
PROPERTIES = ["email", "firstname", "lastname", "newsletter", "hs_merged_object_ids"]
#: Search shows nothing written within the hour: the merged record stays out of every fetch.
UNSEARCHABLE = {"index_lag_ms": 3_600_000}


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def synced(sim: SandboxDriver, tmp_path: Path, **overrides: Any) -> tuple[Path, list[str]]:
    ids = sim.seed_world(InitialWorld(shared=4, hubspot_only=2, mailchimp_only=0, conflicts=0))
    config = sim.write_config(tmp_path, **overrides)
    first = invoke(config, "run")
    assert first.exit_code == ExitCode.OK, first.output
    return config, ids


def merge(sim: SandboxDriver, primary: str, other: str) -> str:
    response = sim.http.post(
        f"{sim.hs_url}{CONTACTS}/merge",
        json={"primaryObjectId": primary, "objectIdToMerge": other},
        headers=sim.hs_headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def gdpr_delete(sim: SandboxDriver, contact_id: str) -> None:
    response = sim.http.post(
        f"{sim.hs_url}{CONTACTS}/gdpr-delete",
        json={"objectId": contact_id},
        headers=sim.hs_headers,
        timeout=10,
    )
    assert response.status_code == 204, response.text


def make_check_due(tmp_path: Path) -> None:
    day_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    sql(
        tmp_path,
        "INSERT OR REPLACE INTO cursors (source, value, updated_at) VALUES (?, ?, ?)",
        CHECKED,
        day_ago,
        day_ago,
    )


def problems(config: Path) -> dict[str, tuple[str, str, str]]:
    listed = listed_people(invoke(config, "errors", "--json", "--limit", "0").stdout)
    return {e["email"]: (e["state"], e["reason"], e["hint"]) for e in listed}


def linked_id(tmp_path: Path, address: str) -> str | None:
    store = Store(tmp_path / "state" / "syncer.db")
    try:
        row = store.contact_by_email(address)
        return None if row is None else row.hubspot_id
    finally:
        store.close()


def writes(sim: SandboxDriver) -> tuple[int, int]:
    return sim.writes("hubspot"), sim.writes("mailchimp")


def at_rest(sim: SandboxDriver, config: Path, tmp_path: Path) -> None:
    """Two more runs, the archive checked in each: no write to either side."""
    before = writes(sim)
    for _ in range(2):
        sim.advance(60)
        make_check_due(tmp_path)
        rested = invoke(config, "run")
        assert rested.exit_code == ExitCode.OK, rested.output
    assert writes(sim) == before


NOTICED = {
    # the merged record shows in the next search
    "by-search": {},
    # search lags: the deletion check finds the old ids in the archive, reads them, and
    # meets the merged record (the old model detached them as deleted: issue 13.6)
    "by-archive": UNSEARCHABLE,
}


@pytest.mark.parametrize("archived", [True, False], ids=["old-ids-archived", "old-ids-vanish"])
@pytest.mark.parametrize("delete_rule", ["leave", "unsubscribe"])
@pytest.mark.parametrize("noticed", list(NOTICED))
def test_two_linked_people_merged_keep_one_link_and_the_other_is_reported(
    sim: SandboxDriver, tmp_path: Path, archived: bool, delete_rule: str, noticed: str
) -> None:
    config, ids = synced(sim, tmp_path, subscription={"on_hubspot_delete": delete_rule})
    sim.configure("hubspot", {"merged_ids_archived": archived, **NOTICED[noticed]})
    merged = merge(sim, ids[0], ids[1])
    sim.mailchimp_edit(email("shared", 1), {"merge_fields": {"LNAME": "FromMailchimp"}})
    sim.advance(60)
    make_check_due(tmp_path)
    before = sim.mailchimp_by_email()

    result = invoke(config, "run")

    assert result.exit_code == ExitCode.OK, result.output
    after = sim.mailchimp_by_email()
    assert {address: m["status"] for address, m in after.items()} == {
        address: m["status"] for address, m in before.items()
    }, "a merge unsubscribes nobody and archives nobody"
    assert after[email("shared", 1)]["merge_fields"]["LNAME"] == "FromMailchimp"
    hubspot = {c["id"]: c["properties"] for c in sim.hubspot_contacts(PROPERTIES)}
    assert len(hubspot) == 5, "nobody is created again"
    if archived or noticed == "by-search":
        assert hubspot[merged]["lastname"] == "Last0", "the other member's values stay out"
    # else nothing shows the merge before the rename is written to the old id, which HubSpot
    # lands on the merged record: the write is how syncer learns of the merge (README limits)
    state, reason, hint = problems(config)[email("shared", 1)]
    assert (state, reason.split(",")[0]) == ("detached", f"merged in HubSpot into contact {merged}")
    assert "member" in hint
    assert set(problems(config)) == {email("shared", 1)}
    assert linked_id(tmp_path, email("shared", 0)) == merged
    at_rest(sim, config, tmp_path)


def test_a_merge_met_by_a_write_relinks_and_the_write_lands(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    config, ids = synced(sim, tmp_path)
    sim.configure("hubspot", UNSEARCHABLE)
    merged = merge(sim, ids[0], ids[5])
    sim.mailchimp_edit(email("shared", 0), {"merge_fields": {"FNAME": "Renamed"}})
    sim.advance(60)

    result = invoke(config, "run", "--json")

    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["failures"] == []
    assert linked_id(tmp_path, email("shared", 0)) == merged
    contacts = {c["id"]: c["properties"] for c in sim.hubspot_contacts(PROPERTIES)}
    assert contacts[merged]["firstname"] == "Renamed"
    assert problems(config) == {}, "a HubSpot-only person merged in is the same person"
    at_rest(sim, config, tmp_path)


def test_a_merge_never_turns_a_subscribed_member_off(sim: SandboxDriver, tmp_path: Path) -> None:
    """The merged record takes the primary's values: a primary that never wanted the newsletter
    must not unsubscribe the member of the person merged into it; HubSpot follows the member."""
    config, ids = synced(sim, tmp_path)
    assert sim.hubspot_by_email(PROPERTIES)[email("crm", 1)]["newsletter"] == "false"
    merged = merge(sim, ids[5], ids[2])
    sim.advance(60)

    assert invoke(config, "run").exit_code == ExitCode.OK

    assert sim.mailchimp_by_email()[email("shared", 2)]["status"] == "subscribed"
    contacts = {c["id"]: c["properties"] for c in sim.hubspot_contacts(PROPERTIES)}
    assert contacts[merged]["newsletter"] == "true"
    assert problems(config) == {}
    at_rest(sim, config, tmp_path)


@pytest.mark.parametrize(
    ("delete_rule", "status", "reason"),
    [("leave", "subscribed", LEFT_REASON), ("unsubscribe", "unsubscribed", UNSUBSCRIBED_REASON)],
)
def test_a_gdpr_deleted_contact_met_by_a_write_is_detached_by_the_delete_rule(
    sim: SandboxDriver, tmp_path: Path, delete_rule: str, status: str, reason: str
) -> None:
    config, ids = synced(sim, tmp_path, subscription={"on_hubspot_delete": delete_rule})
    gdpr_delete(sim, ids[3])
    sim.mailchimp_edit(email("shared", 3), {"merge_fields": {"FNAME": "Changed"}})
    sim.advance(60)
    make_check_due(tmp_path)

    result = invoke(config, "run", "--json")

    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["failures"] == []
    assert sim.mailchimp_by_email()[email("shared", 3)]["status"] == status
    assert problems(config)[email("shared", 3)][:2] == ("detached", reason)
    assert len(sim.hubspot_contacts(PROPERTIES)) == 5, "a deleted contact is never recreated"
    at_rest(sim, config, tmp_path)


def test_a_gdpr_deleted_contact_met_by_a_history_read_is_detached(
    sim: SandboxDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both sides renamed; the run that fetched them stopped before deciding; then the contact
    was deleted for good. The conflict needs history, and the history read finds nothing."""
    config, ids = synced(sim, tmp_path)
    sim.mailchimp_edit(email("shared", 1), {"merge_fields": {"FNAME": "FromMailchimp"}})
    sim.advance(60)
    sim.hubspot_edit(ids[1], {"firstname": "FromHubSpot"})
    sim.advance(60)
    monkeypatch.setattr(engine, "reconcile_dirty", lambda ctx, after_chunk: None)
    assert invoke(config, "run").exit_code == ExitCode.OK
    monkeypatch.undo()
    gdpr_delete(sim, ids[1])
    sim.advance(60)

    result = invoke(config, "run")

    assert result.exit_code == ExitCode.OK, result.output
    member = sim.mailchimp_by_email()[email("shared", 1)]
    assert (member["status"], member["merge_fields"]["FNAME"]) == ("subscribed", "FromMailchimp")
    assert problems(config)[email("shared", 1)][:2] == ("detached", LEFT_REASON)
    at_rest(sim, config, tmp_path)
