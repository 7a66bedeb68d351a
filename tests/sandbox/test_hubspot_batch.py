"""Batch endpoints and merges of the HubSpot simulator: envelopes, partial failures, identity."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.hubspot_fixtures import CONTACTS, Hub

pytestmark = pytest.mark.timeout(30)
BATCH = f"{CONTACTS}/batch"
SCORE = {"name": "score", "label": "Score", "type": "number", "fieldType": "number"}


@pytest.fixture
def hub(hubspot_server: Hub) -> Hub:
    hubspot_server.restored().seed(properties=[SCORE])
    return hubspot_server


def people(hub: Hub, count: int) -> list[str]:
    return hub.seed(*({"properties": {"email": f"p{i}@example.org"}} for i in range(count)))


def emails(hub: Hub) -> list[str]:
    listed = hub.ok("GET", CONTACTS, limit=100, properties="email")["results"]
    return [contact["properties"]["email"] for contact in listed]


def test_update_of_100_with_3_bad_inputs_updates_97_and_reports_3(hub: Hub) -> None:
    ids = people(hub, 99)
    inputs: list[dict[str, Any]] = [
        {"id": cid, "properties": {"score": str(n)}, "objectWriteTraceId": f"op-{n}"}
        for n, cid in enumerate(ids)
    ]
    inputs[10]["properties"] = {"score": "ten"}
    inputs[20]["properties"] = {"favourite_fruit": "kiwi"}
    inputs.append({"id": "999999", "properties": {"score": "1"}, "objectWriteTraceId": "op-x"})
    response = hub.call("POST", f"{BATCH}/update", {"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert {"requestedAt", "startedAt", "completedAt"} <= set(body)
    assert len(body["results"]) == 97
    assert body["numErrors"] == 3
    by_code = {error["category"]: error for error in body["errors"]}
    missing = by_code["OBJECT_NOT_FOUND"]
    assert missing["context"] == {"ids": ["999999"], "objectWriteTraceId": ["op-x"]}
    assert missing["message"].startswith("Could not get some CONTACT objects")
    invalid = sorted(
        (e for e in body["errors"] if e["category"] == "VALIDATION_ERROR"),
        key=lambda e: e["context"]["objectWriteTraceId"],
    )
    assert [e["context"] for e in invalid] == [
        {"ids": [ids[10]], "objectWriteTraceId": ["op-10"]},
        {"ids": [ids[20]], "objectWriteTraceId": ["op-20"]},
    ]
    assert invalid[0]["errors"][0]["code"] == "INVALID_INTEGER"
    assert invalid[0]["message"].startswith("Property values were not valid: ")
    assert invalid[1]["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    result = next(r for r in body["results"] if r["id"] == ids[5])
    assert result["objectWriteTraceId"] == "op-5"
    assert set(result["properties"]) == {"score", "hs_object_id", "lastmodifieddate"}
    assert result["updatedAt"] == result["properties"]["lastmodifieddate"]
    scores = hub.ok("POST", f"{BATCH}/read", {"properties": ["score"], "inputs": inputs[:21]})
    by_id = {r["id"]: r["properties"]["score"] for r in scores["results"]}
    assert (by_id[ids[5]], by_id[ids[10]], by_id[ids[20]]) == ("5", None, None)


def test_without_trace_ids_one_bad_value_fails_the_whole_update(hub: Hub) -> None:
    ids = people(hub, 3)
    inputs = [{"id": cid, "properties": {"score": "1"}} for cid in ids]
    inputs[2]["properties"] = {"score": "x"}
    response = hub.call("POST", f"{BATCH}/update", {"inputs": inputs})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert response.json()["errors"][0]["code"] == "INVALID_INTEGER"
    read = hub.ok("POST", f"{BATCH}/read", {"properties": ["score"], "inputs": inputs})
    assert [r["properties"]["score"] for r in read["results"]] == [None, None, None]


def test_create_with_trace_ids_fails_per_input(hub: Hub) -> None:
    (existing,) = people(hub, 1)
    inputs = [
        {"properties": {"email": "p0@example.org"}, "objectWriteTraceId": "a"},
        {"properties": {"email": "new1@example.org", "score": "NaN"}, "objectWriteTraceId": "b"},
        {"properties": {"email": "new2@example.org"}, "objectWriteTraceId": "c"},
        {"properties": {"email": "NEW2@example.org"}, "objectWriteTraceId": "d"},
    ]
    response = hub.call("POST", f"{BATCH}/create", {"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["c"]
    assert set(body["results"][0]["properties"]) >= {"createdate", "hs_object_id", "email"}
    errors = {tuple(e["context"]["objectWriteTraceId"]): e for e in body["errors"]}
    assert errors[("a",)]["category"] == "CONFLICT"
    assert errors[("a",)]["message"] == "Contact already exists"
    assert errors[("a",)]["context"]["existingId"] == [existing], "the id is in the context"
    assert "ids" not in errors[("a",)]["context"]
    assert errors[("b",)]["category"] == "VALIDATION_ERROR"
    assert errors[("d",)]["category"] == "CONFLICT"
    assert emails(hub) == ["p0@example.org", "new2@example.org"]


def creates(*emails: str, trace: str | None = None) -> list[dict[str, Any]]:
    """Create inputs; ``"score=..."`` stands for an input with that (bad) score instead."""
    return [
        {
            "properties": {"score": email[6:]} if email.startswith("score=") else {"email": email},
            **({"objectWriteTraceId": trace} if trace else {}),
        }
        for email in emails
    ]


@pytest.mark.parametrize(
    ("inputs", "status", "message"),
    [
        (
            creates("ok@example.org", "p1@example.org", "p0@example.org"),
            409,
            "Contact already exists. Existing ID: {1}",
        ),
        (creates("ok@example.org", "score=many"), 400, "Property values were not valid: "),
        (
            creates("ok@example.org", "p0@example.org", trace="same"),
            409,
            "Contact already exists. Existing ID: {0}",
        ),
        (
            creates("twin@example.org", "Twin@example.org"),
            409,
            "Duplicate email in batch input: twin@example.org",
        ),
    ],
    ids=["existing-email", "bad-value", "trace-ids-not-unique", "same-email-twice"],
)
def test_create_without_trace_ids_fails_whole_and_creates_nothing(
    hub: Hub, inputs: list[dict[str, Any]], status: int, message: str
) -> None:
    ids = people(hub, 2)
    response = hub.call("POST", f"{BATCH}/create", {"inputs": inputs})
    assert response.status_code == status
    assert response.json()["message"].startswith(message.format(*ids))
    assert emails(hub) == ["p0@example.org", "p1@example.org"]


def test_batch_limits_and_duplicate_ids(hub: Hub) -> None:
    ids = people(hub, 2)
    too_many = {"inputs": [{"properties": {}} for _ in range(101)]}
    for endpoint in ("create", "update", "read", "upsert", "archive"):
        response = hub.call("POST", f"{BATCH}/{endpoint}", too_many)
        assert response.status_code == 400, endpoint
        assert response.json()["category"] == "VALIDATION_ERROR"
    twice = {"inputs": [{"id": ids[0], "properties": {}}, {"id": ids[0], "properties": {}}]}
    for endpoint in ("update", "read"):
        response = hub.call("POST", f"{BATCH}/{endpoint}", twice)
        assert response.status_code == 400
        assert response.json()["message"] == (
            f"Duplicate IDs found in batch input: [{ids[0]}]. IDs must be unique"
        )
        assert response.json()["context"] == {"ids": [ids[0]]}


def test_batch_update_email_collisions_and_merged_ids(hub: Hub) -> None:
    ann, bob, cat = people(hub, 3)
    merged = hub.ok("POST", f"{CONTACTS}/merge", {"primaryObjectId": ann, "objectIdToMerge": cat})
    response = hub.call(
        "POST",
        f"{BATCH}/update",
        {
            "inputs": [
                {"id": bob, "properties": {"email": "P0@example.org"}, "objectWriteTraceId": "1"},
                {"id": cat, "properties": {"score": "3"}, "objectWriteTraceId": "2"},
                {"id": ann, "properties": {"lastname": "Ann"}, "objectWriteTraceId": "3"},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert body["results"] == [], "updates of old ids land but are left out of the results"
    (error,) = body["errors"]
    assert error["context"] == {"ids": [bob], "objectWriteTraceId": ["1"]}
    assert error["message"].endswith(f"on {bob}. {merged['id']} already has that value.")
    now = hub.ok("GET", f"{CONTACTS}/{merged['id']}", properties="score,lastname")
    assert now["properties"] == {"score": "3", "lastname": "Ann"}


def test_batch_read_by_email_with_history_and_archived(hub: Hub) -> None:
    first, second = people(hub, 2)
    read = hub.ok(
        "POST",
        f"{BATCH}/read",
        {
            "idProperty": "email",
            "properties": ["email", "unknown"],
            "propertiesWithHistory": ["email"],
            "inputs": [{"id": "P1@example.org"}],
        },
    )
    (result,) = read["results"]
    assert (result["id"], result["properties"]) == (second, {"email": "p1@example.org"})
    assert result["propertiesWithHistory"]["email"][0]["value"] == "p1@example.org"
    assert hub.call("POST", f"{BATCH}/archive", {"inputs": [{"id": first}]}).status_code == 204
    gone = hub.call("POST", f"{BATCH}/read", {"properties": [], "inputs": [{"id": first}]})
    assert gone.status_code == 207
    archived = hub.call(
        "POST", f"{BATCH}/read?archived=true", {"properties": [], "inputs": [{"id": first}]}
    )
    assert archived.status_code == 200
    assert archived.json()["results"][0]["archived"] is True


def test_upsert_by_email_creates_or_updates_and_never_partially(hub: Hub) -> None:
    (existing,) = people(hub, 1)
    inputs = [
        {"id": "p0@example.org", "idProperty": "email", "properties": {"score": "1"}},
        {"id": "fresh@example.org", "idProperty": "email", "properties": {"score": "2"}},
    ]
    body = hub.ok("POST", f"{BATCH}/upsert", {"inputs": inputs})
    new = {r["id"]: r["new"] for r in body["results"]}
    assert new.pop(existing) is False
    assert list(new.values()) == [True]
    assert emails(hub) == ["p0@example.org", "fresh@example.org"]
    traced = [
        {**item, "objectWriteTraceId": str(n), "properties": {"score": "bad" if n else "5"}}
        for n, item in enumerate(inputs)
    ]
    assert hub.call("POST", f"{BATCH}/upsert", {"inputs": traced}).status_code == 400
    read = hub.ok("POST", f"{BATCH}/read", {"properties": ["score"], "inputs": [{"id": existing}]})
    assert read["results"][0]["properties"]["score"] == "1"


def merge(hub: Hub, primary: str, other: str) -> dict[str, Any]:
    merged: dict[str, Any] = hub.ok(
        "POST", f"{CONTACTS}/merge", {"primaryObjectId": primary, "objectIdToMerge": other}
    )
    return merged


def test_a_merge_makes_a_new_record_that_both_old_ids_reach(hub: Hub) -> None:
    """HubSpot's merge model since its changelog "Updated merge functionality" (§12.2)."""
    keep, lose = hub.seed(
        {"properties": {"email": "keep@example.org", "firstname": "Kim"}},
        {"properties": {"email": "lose@example.org", "firstname": "Lee", "lastname": "Lo"}},
    )
    merged = merge(hub, keep, lose)
    new = merged["id"]
    assert new not in (keep, lose)
    assert merged["properties"]["hs_merged_object_ids"] == f"{keep};{lose}"
    assert merged["properties"]["firstname"] == "Kim", "the primary's values win"
    assert merged["properties"]["lastname"] == "Lo", "the other's fill the primary's blanks"
    assert merged["properties"]["hs_additional_emails"] == "lose@example.org"
    for old in (keep, lose):
        assert hub.ok("GET", f"{CONTACTS}/{old}")["id"] == new
    read = hub.ok(
        "POST", f"{BATCH}/read", {"properties": [], "inputs": [{"id": keep}, {"id": lose}]}
    )
    assert [r["id"] for r in read["results"]] == [new], "one merged record answers both"
    patched = hub.ok("PATCH", f"{CONTACTS}/{lose}", {"properties": {"lastname": "Li"}})
    assert (patched["id"], patched["properties"]["lastname"]) == (new, "Li")
    conflict = hub.call("POST", CONTACTS, {"properties": {"email": "lose@example.org"}})
    assert conflict.json()["message"] == f"Contact already exists. Existing ID: {new}"
    assert hub.ok("GET", f"{CONTACTS}/lose@example.org", idProperty="email")["id"] == new
    search = hub.ok("POST", f"{CONTACTS}/search", {"properties": ["hs_merged_object_ids"]})
    assert [r["id"] for r in search["results"]] == [new]
    assert merge_status(hub, new, new) == 400
    assert merge_status(hub, new, "9") == 404


def merge_status(hub: Hub, primary: str, other: str) -> int:
    body = {"primaryObjectId": primary, "objectIdToMerge": other}
    return hub.call("POST", f"{CONTACTS}/merge", body).status_code


@pytest.mark.parametrize("archived", [True, False], ids=["old-ids-archived", "old-ids-vanish"])
def test_whether_merged_away_ids_show_in_the_archive_is_a_setting(hub: Hub, archived: bool) -> None:
    hub.configure(merged_ids_archived=archived)
    keep, lose, bystander = people(hub, 3)
    new = merge(hub, keep, lose)["id"]
    listed = hub.ok("GET", CONTACTS, archived="true", limit="100")["results"]
    assert sorted(r["id"] for r in listed) == (sorted([keep, lose]) if archived else [])
    assert hub.ok("GET", f"{CONTACTS}/{keep}")["id"] == new, "either way the old id reads on"
    assert bystander in [r["id"] for r in hub.ok("GET", CONTACTS, limit="100")["results"]]


def test_a_chain_of_merges_is_followed_and_listed(hub: Hub) -> None:
    first, second, third = people(hub, 3)
    middle = merge(hub, first, second)["id"]
    last = merge(hub, third, middle)
    assert last["properties"]["hs_merged_object_ids"] == f"{third};{middle};{first};{second}"
    assert hub.ok("GET", f"{CONTACTS}/{first}")["id"] == last["id"]


def test_a_gdpr_delete_leaves_nothing_behind(hub: Hub) -> None:
    gone, second = people(hub, 2)
    deleted = hub.call("POST", f"{CONTACTS}/gdpr-delete", {"objectId": gone})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert hub.call("GET", f"{CONTACTS}/{gone}").status_code == 404
    assert hub.call("GET", f"{CONTACTS}/{gone}", params={"archived": "true"}).status_code == 404
    assert hub.ok("GET", CONTACTS, archived="true")["results"] == []
    read = hub.call("POST", f"{BATCH}/read", {"properties": [], "inputs": [{"id": gone}]})
    assert read.status_code == 207
    assert read.json()["errors"][0]["context"] == {"ids": [gone]}
    by_email = {"objectId": "p1@example.org", "idProperty": "email"}
    assert hub.call("POST", f"{CONTACTS}/gdpr-delete", by_email).status_code == 204
    assert hub.call("GET", f"{CONTACTS}/{second}").status_code == 404
    unknown = hub.call("POST", f"{CONTACTS}/gdpr-delete", {"objectId": "999"})
    assert unknown.status_code == 404
    again = hub.call("POST", CONTACTS, {"properties": {"email": "p0@example.org"}})
    assert again.status_code == 201, "an API create may add the address again"
