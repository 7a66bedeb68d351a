"""Notes batches with trace ids, and v4 association batch reads between contacts and notes."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)

from tests.sandbox.hubspot_fixtures import Hub
from tests.sandbox.test_hubspot_notes import NOTES, create, note

pytestmark = pytest.mark.timeout(30)
READ = "/crm/v4/associations/contacts/notes/batch/read"


def traced(item: dict[str, Any], trace: str) -> dict[str, Any]:
    return {**item, "objectWriteTraceId": trace}


def test_with_trace_ids_only_the_bad_inputs_fail(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    answer = create(
        hub,
        traced(note(ann, "good"), "t-1"),
        traced(note("999999"), "t-2"),
        traced({"properties": {"hs_note_body": "no time"}}, "t-3"),
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [
        (r["objectWriteTraceId"], r["properties"]["hs_note_body"]) for r in body["results"]
    ] == [("t-1", "good")]
    traces = sorted(t for error in body["errors"] for t in error["context"]["objectWriteTraceId"])
    assert traces == ["t-2", "t-3"]
    assert body["numErrors"] == 2
    assert all(error["category"] == "VALIDATION_ERROR" for error in body["errors"])
    assert len(hub.admin("GET", "notes")["notes"]) == 1


def test_repeated_trace_ids_fail_the_whole_batch(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    answer = create(hub, traced(note(ann), "same"), traced(note("999999"), "same"))
    assert answer.status_code == 400
    assert hub.admin("GET", "notes")["notes"] == []


def test_an_update_with_trace_ids_names_missing_and_bad_inputs(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    note_id = create(hub, note(ann, "v1")).json()["results"][0]["id"]
    inputs = [
        {"id": note_id, "properties": {"hs_note_body": "v2"}, "objectWriteTraceId": "a"},
        {"id": "1", "properties": {"hs_note_body": "x"}, "objectWriteTraceId": "b"},
        {"id": note_id + "0", "properties": {"nope": "x"}, "objectWriteTraceId": "c"},
    ]
    answer = hub.call("POST", f"{NOTES}/batch/update", {"inputs": inputs})
    assert answer.status_code == 207
    body = answer.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["a"]
    by_category = {e["category"]: e["context"] for e in body["errors"]}
    assert by_category["OBJECT_NOT_FOUND"] == {"ids": ["1"], "objectWriteTraceId": ["b"]}
    assert by_category["VALIDATION_ERROR"]["objectWriteTraceId"] == ["c"]


def test_a_v4_batch_read_lists_each_contacts_notes_and_pages_them(hub: Hub) -> None:
    ann, bob, cat = hub.seed(
        {"email": "ann@real.org"}, {"email": "bob@real.org"}, {"email": "c@x.org"}
    )
    made = create(hub, note(ann, "1"), note(ann, "2"), note(bob, "3")).json()["results"]
    ids = [row["id"] for row in made]
    answer = hub.call("POST", READ, {"inputs": [{"id": ann}, {"id": bob}, {"id": cat}]})
    assert answer.status_code == 207
    body = answer.json()
    found = {r["from"]["id"]: [t["toObjectId"] for t in r["to"]] for r in body["results"]}
    assert found == {ann: [int(ids[0]), int(ids[1])], bob: [int(ids[2])]}
    assert body["results"][0]["to"][0]["associationTypes"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": 201, "label": None}
    ]
    assert body["errors"][0]["context"] == {"ids": [cat]}
    back = hub.ok(
        "POST", "/crm/v4/associations/notes/contacts/batch/read", {"inputs": [{"id": ids[2]}]}
    )
    assert back["results"][0]["to"][0]["toObjectId"] == int(bob)
    assert back["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 202


def test_a_contact_with_more_than_500_notes_is_paged(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    for _ in range(6):
        create(hub, *(note(ann) for _ in range(100)))
    first = hub.ok("POST", READ, {"inputs": [{"id": ann}]})["results"][0]
    assert len(first["to"]) == 500
    after = first["paging"]["next"]["after"]
    second = hub.ok("POST", READ, {"inputs": [{"id": ann, "after": after}]})["results"][0]
    assert len(second["to"]) == 100
    assert "paging" not in second
    seen = {t["toObjectId"] for t in first["to"]} | {t["toObjectId"] for t in second["to"]}
    assert len(seen) == 600


def test_the_sdk_reads_associations_in_batch(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    note_id = create(hub, note(ann)).json()["results"][0]["id"]
    page = hub.sdk().crm.associations.v4.batch_api.get_page(
        "contacts",
        "notes",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=ann)]
        ),
    )
    assert [str(row.to_object_id) for row in page.results[0].to] == [note_id]
