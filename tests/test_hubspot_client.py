"""syncer's HubSpot client against the simulator: the search window, throttling, 207s."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.config import parse_config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.parse import WriteInput, match_results
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer


def client(
    sim: SandboxDriver, tmp_path: Path, cap: int = 10_000, **hubspot: object
) -> HubSpotClient:
    info = sim.sandbox.info
    config = sim.config(
        tmp_path,
        hubspot={
            "token": info.hubspot_token,
            "base_url": info.hubspot_url,
            "search_per_second": 50,
            **hubspot,
        },
    )
    return HubSpotClient(config.hubspot, config.http, search_cap=cap)


def contacts(count: int, minutes_apart: float = 0.01) -> list[dict[str, object]]:
    start = datetime.now(UTC) - timedelta(days=2)
    return [
        {
            "properties": {"email": f"c{i:06d}@northwind-mail.com", "firstname": f"F{i}"},
            "timestamps": {"firstname": (start + timedelta(minutes=i * minutes_apart)).isoformat()},
        }
        for i in range(count)
    ]


def test_incremental_reading_crosses_the_search_window_exactly_once(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot(contacts(25_000))
    sim.configure("hubspot", {"search_cap": 2_000})
    api = client(sim, tmp_path, cap=2_000)
    since = datetime.now(UTC) - timedelta(days=3)
    ids = [c.id for page in api.changed_contacts(since, ["firstname"]) for c in page]
    assert len(ids) == len(set(ids)) == 25_000
    assert api.api.calls["POST /crm/v3/objects/contacts/search"] < 25_000 / 190 + 20


def test_a_25000_change_window_is_read_whole_while_total_says_10000(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """HubSpot's ``total`` stops at 10,000 (reference §12.3): the walk must not stop with it."""
    sim.seed_hubspot(contacts(25_000))
    api = client(sim, tmp_path)
    since = datetime.now(UTC) - timedelta(days=3)
    probe = sim.http.post(
        f"{sim.hs_url}/crm/v3/objects/contacts/search",
        json={"limit": 1},
        headers=sim.hs_headers,
        timeout=30,
    ).json()
    assert probe["total"] == 10_000
    ids = [c.id for page in api.changed_contacts(since, ["firstname"]) for c in page]
    assert len(ids) == len(set(ids)) == 25_000


def test_a_total_capped_below_the_window_never_ends_the_walk(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    """The same rule where a stop at ``seen >= total`` would bite: a total capped at 1,000."""
    sim.seed_hubspot(contacts(5_000))
    sim.configure("hubspot", {"search_total_cap": 1_000})
    api = client(sim, tmp_path)
    since = datetime.now(UTC) - timedelta(days=3)
    ids = [c.id for page in api.changed_contacts(since, ["firstname"]) for c in page]
    assert len(ids) == len(set(ids)) == 5_000


def test_more_contacts_than_the_window_with_one_timestamp(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot(contacts(3_000))
    sim.configure("hubspot", {"search_cap": 1_000})
    touched = sim._post(f"{sim.hs_url}/_sim/touch", {"count": 2_500})
    assert touched["touched"] == 2_500
    api = client(sim, tmp_path, cap=1_000)
    since = datetime.now(UTC) - timedelta(days=3)
    started = time.monotonic()
    ids = [c.id for page in api.changed_contacts(since, ["firstname"]) for c in page]
    assert len(ids) == len(set(ids)) == 3_000
    assert time.monotonic() - started < 60


def test_a_throttled_batch_update_never_shows_a_429(sim: SandboxDriver, tmp_path: Path) -> None:
    ids = sim.seed_hubspot(contacts(2_000))
    sim.configure("hubspot", {"ten_second_limit": 12})
    api = client(sim, tmp_path, requests_per_10s=12)
    inputs = [
        WriteInput(str(n), {"lastname": f"L{n}"}, contact_id) for n, contact_id in enumerate(ids)
    ]
    results = api.update(inputs)
    assert [r.outcome for r in results] == ["ok"] * 2_000
    counts = sim.requests("hubspot")["counts"]
    assert counts["POST /crm/v3/objects/contacts/batch/update"] == 20


def test_partial_failure_updates_the_good_and_reports_the_bad(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    ids = sim.seed_hubspot(contacts(100))
    api = client(sim, tmp_path)
    bad = {
        7: {"lifecyclestage": "not-a-stage"},
        42: {"no_such_property": "x"},
        77: {"lifecyclestage": "Lead"},
    }
    inputs = [
        WriteInput(str(n), bad.get(n, {"lastname": "Updated"}), contact_id)
        for n, contact_id in enumerate(ids)
    ]
    results = {r.trace_id: r for r in api.update(inputs)}
    failed = {int(trace) for trace, r in results.items() if r.outcome != "ok"}
    assert failed == set(bad)
    assert all(results[str(n)].message for n in bad)
    assert "no_such_property" in results["42"].message
    updated = sim.hubspot_contacts(["lastname"])
    assert sum(c["properties"]["lastname"] == "Updated" for c in updated) == 97


def test_a_create_whose_email_exists_reports_the_existing_contact(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    (existing,) = sim.seed_hubspot(contacts(1))
    api = client(sim, tmp_path)
    results = api.create(
        [
            WriteInput("1", {"email": "c000000@northwind-mail.com", "firstname": "Again"}),
            WriteInput("2", {"email": "brand-new@northwind-mail.com", "firstname": "New"}),
        ]
    )
    by_trace = {r.trace_id: r for r in results}
    assert (by_trace["1"].outcome, by_trace["1"].existing_id) == ("conflict", existing)
    assert by_trace["2"].outcome == "ok"
    assert by_trace["2"].contact is not None


@pytest.mark.parametrize("rate", [0.05, 0.3], ids=["five-percent", "thirty-percent"])
def test_reading_survives_faults(sim: SandboxDriver, tmp_path: Path, rate: float) -> None:
    sim.seed_hubspot(contacts(1_500))
    sim.configure("hubspot", {"slow_s": 1.5})
    sim.faults(
        "hubspot",
        {"rate": rate, "kinds": ["429", "500", "503", "slow", "drop", "malformed"], "seed": 3},
    )
    api = client(sim, tmp_path)
    api.api.policy = api.api.policy.__class__(max_tries=10, max_time=60, base_delay=0.01)
    since = datetime.now(UTC) - timedelta(days=3)
    ids = [c.id for page in api.changed_contacts(since, ["firstname"]) for c in page]
    assert len(ids) == len(set(ids)) == 1_500


def test_a_batch_repeating_one_new_email_is_reported_not_retried_forever(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    api = client(sim, tmp_path)
    results = api.create(
        [
            WriteInput("1", {"email": "same@northwind-mail.com", "firstname": "One"}),
            WriteInput("2", {"email": "same@northwind-mail.com", "firstname": "Two"}),
        ]
    )
    # a conflict naming no contact: the writer looks the address up, nothing is sent again
    assert sorted((r.outcome, r.existing_id) for r in results) == [("conflict", None), ("ok", None)]
    assert sim.requests("hubspot")["counts"]["POST /crm/v3/objects/contacts/batch/create"] == 1


def _contact_json(contact_id: str, address: str) -> dict[str, object]:
    stamp = "2026-01-01T00:00:00.000Z"
    return {
        "id": contact_id,
        "properties": {"email": address, "lastmodifieddate": stamp},
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


@pytest.mark.parametrize(
    "message",
    ["Contact already exists. Existing ID: 7", "Contact already exists"],
    ids=["naming-one", "bare"],
)
def test_a_whole_batch_409_is_resolved_by_looking_the_emails_up(
    tmp_path: Path, message: str
) -> None:
    """HubSpot has been seen to refuse a whole create batch for one existing email, naming it
    or not (reference §12.6): every email is looked up either way."""
    conflict = {"status": "error", "category": "CONFLICT", "message": message}
    server = ScriptedServer(
        Reply(409, json.dumps(conflict).encode()),
        Reply(
            200,
            json.dumps(
                {"status": "COMPLETE", "results": [_contact_json("7", "old@northwind-mail.com")]}
            ).encode(),
        ),
        Reply(
            201,
            json.dumps(
                {"status": "COMPLETE", "results": [_contact_json("8", "new@northwind-mail.com")]}
            ).encode(),
        ),
    )
    with server.running():
        config = parse_config(
            f"hubspot: {{token: t, base_url: '{server.url}'}}\n"
            "mailchimp: {api_key: 0a-us1, list_id: l}\n",
            {},
        )
        api = HubSpotClient(config.hubspot, config.http)
        results = api.create(
            [
                WriteInput("1", {"email": "old@northwind-mail.com"}),
                WriteInput("2", {"email": "new@northwind-mail.com"}),
            ]
        )
    by_trace = {r.trace_id: r for r in results}
    assert (by_trace["1"].outcome, by_trace["1"].existing_id) == ("conflict", "7")
    assert (by_trace["2"].outcome, by_trace["2"].contact.id if by_trace["2"].contact else "") == (
        "ok",
        "8",
    )
    assert [seen.path for seen in server.seen] == [
        "/crm/v3/objects/contacts/batch/create",
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v3/objects/contacts/batch/create",
    ]


def test_the_archive_is_read_page_by_page_and_holds_only_archived_contacts(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    sim.seed_hubspot(contacts(260))
    ids = sorted(int(c["id"]) for c in sim.hubspot_contacts(["email"]))
    archived = {str(i) for i in ids[5:215]}
    listed = sorted(archived, key=int)
    for start in range(0, len(listed), 100):
        inputs = [{"id": i} for i in listed[start : start + 100]]
        response = sim.http.post(
            f"{sim.hs_url}/crm/v3/objects/contacts/batch/archive",
            json={"inputs": inputs},
            headers=sim.hs_headers,
            timeout=10,
        )
        assert response.status_code == 204, response.text
    api = client(sim, tmp_path)
    pages = list(api.archived_contacts())
    assert [len(page) for page in pages] == [100, 100, 10]
    assert {c.id for page in pages for c in page} == archived
    assert all(c.archived and c.properties["email"] for page in pages for c in page)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [(["71", "72"], {"1": "71", "2": "72"}), (["71"], {"1": None, "2": None})],
    ids=["one-per-input", "ambiguous"],
)
def test_a_grouped_create_conflict_names_each_existing_contact_from_its_context(
    existing: list[str], expected: dict[str, str | None]
) -> None:
    inputs = [WriteInput(str(n), {"email": f"p{n}@northwind-mail.com"}) for n in (1, 2)]
    answer = {
        "status": "COMPLETE",
        "results": [],
        "errors": [
            {
                "status": "error",
                "category": "CONFLICT",
                "message": "Contact already exists",
                "context": {"objectWriteTraceId": ["1", "2"], "existingId": existing},
            }
        ],
    }
    results = match_results(inputs, answer, by_id=False)
    assert {r.trace_id: (r.outcome, r.existing_id) for r in results} == {
        trace: ("conflict", named) for trace, named in expected.items()
    }
