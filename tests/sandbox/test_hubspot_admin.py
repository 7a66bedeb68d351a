"""The HubSpot simulator's ``/_sim/`` API: shapes other repositories' tests rely on."""

from __future__ import annotations

from datetime import datetime

import pytest

from syncer.sandbox.hubspot.simulator import HubSpotSimulator
from tests.sandbox.hubspot_fixtures import CONTACTS, Hub

pytestmark = pytest.mark.timeout(30)
PROPERTIES = "/crm/v3/properties/contacts"
NEWSLETTER = {
    "name": "newsletter",
    "label": "Newsletter",
    "type": "bool",
    "fieldType": "booleancheckbox",
}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_reset_empties_the_store_but_keeps_default_properties(hub: Hub) -> None:
    hub.seed({"properties": {"email": "a@example.org"}}, properties=[NEWSLETTER])
    hub.call("GET", CONTACTS)
    assert hub.admin("POST", "reset") == {"ok": True}
    assert hub.admin("GET", "requests") == {"total": 0, "counts": {}, "batch_operations": 0}
    assert hub.ok("GET", CONTACTS)["results"] == []
    names = {prop["name"] for prop in hub.ok("GET", PROPERTIES)["results"]}
    assert "newsletter" not in names
    assert {"email", "lifecyclestage", "hs_email_optout", "hs_merged_object_ids"} <= names
    assert hub.seed({"properties": {"email": "a@example.org"}}) == ["101"], "ids start over"


def test_seed_backdates_history_and_leaves_existing_definitions(hub: Hub) -> None:
    ids = hub.seed(
        {
            "properties": {"email": "ann@example.org", "firstname": "Ann", "newsletter": "true"},
            "timestamps": {"newsletter": "2024-02-03T04:05:06.789Z", "firstname": "2024-01-05"},
            "createdate": "2024-01-01T00:00:00Z",
        },
        {"properties": {"email": "bob@example.org"}, "createdate": "2023-05-01T08:00:00Z"},
        properties=[NEWSLETTER, {**NEWSLETTER, "name": "email", "label": "Changed"}],
    )
    assert len(ids) == 2
    read = hub.ok(
        "GET",
        f"{CONTACTS}/{ids[0]}",
        properties="createdate,lastmodifieddate",
        propertiesWithHistory="newsletter,email",
    )
    assert read["properties"] == {
        "createdate": "2024-01-01T00:00:00.000Z",
        "lastmodifieddate": "2024-02-03T04:05:06.789Z",
    }
    (newsletter,) = read["propertiesWithHistory"]["newsletter"]
    assert newsletter["timestamp"] == "2024-02-03T04:05:06.789Z"
    assert newsletter["sourceType"] == "CRM_UI"
    assert read["propertiesWithHistory"]["email"][0]["timestamp"] == "2024-01-01T00:00:00.000Z"
    bob = hub.ok("GET", f"{CONTACTS}/{ids[1]}")
    assert bob["updatedAt"] == bob["createdAt"] == "2023-05-01T08:00:00.000Z"
    assert hub.ok("GET", f"{PROPERTIES}/email")["label"] == "Email"
    assert hub.ok("GET", f"{PROPERTIES}/newsletter")["options"][0]["value"] == "true"


def test_seed_refuses_invalid_values_naming_the_contact(hub: Hub) -> None:
    contacts = [{"properties": {}}, {"properties": {"nope": "1"}}]
    answer = hub.admin_call("POST", "seed", {"contacts": contacts})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("contacts[1]: Property values were not valid")
    assert answer.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_clock_moves_createdate_forward(hub: Hub) -> None:
    before = moment(hub.create(email="a@example.org")["createdAt"])
    now = moment(hub.admin("POST", "clock", {"advance": 3600})["now"])
    after = moment(hub.create(email="b@example.org")["createdAt"])
    assert 3600 <= (after - before).total_seconds() < 3660
    assert 0 <= (after - now).total_seconds() < 60


def test_config_accepts_the_documented_keys_only(hub: Hub) -> None:
    settings = hub.configure(index_lag_ms=10, search_cap=500)
    assert settings == {**HubSpotSimulator.default_config, "index_lag_ms": 10, "search_cap": 500}
    assert set(settings) == {
        "latency_ms",
        "slow_s",
        "ten_second_limit",
        "search_per_second",
        "search_cap",
        "search_total_cap",
        "index_lag_ms",
        "daily_limit",
        "merged_ids_archived",
        "dates",
        "straggler_rate",
        "straggler_lag_ms",
        "straggler_seed",
        "unstable_ties",
    }


def test_request_counts_are_keyed_by_route_template(hub: Hub) -> None:
    contact = hub.create(email="a@example.org")
    hub.ok("GET", f"{CONTACTS}/{contact['id']}")
    hub.ok("GET", f"{CONTACTS}/a@example.org", idProperty="email")
    hub.ok("PATCH", f"{CONTACTS}/{contact['id']}", {"properties": {"firstname": "A"}})
    hub.ok("POST", f"{CONTACTS}/search", {})
    hub.ok("POST", f"{CONTACTS}/batch/read", {"properties": [], "inputs": [{"id": contact["id"]}]})
    hub.ok("GET", f"{PROPERTIES}/email")
    log = hub.admin("GET", "requests")
    assert log["counts"] == {
        "POST /crm/v3/objects/contacts": 1,
        "GET /crm/v3/objects/contacts/{contactId}": 2,
        "PATCH /crm/v3/objects/contacts/{contactId}": 1,
        "POST /crm/v3/objects/contacts/search": 1,
        "POST /crm/v3/objects/contacts/batch/read": 1,
        "GET /crm/v3/properties/contacts/{propertyName}": 1,
    }
    assert log["total"] == 7


def test_touch_gives_many_contacts_one_timestamp(hub: Hub) -> None:
    ids = hub.seed(*({"properties": {"email": f"t{i}@example.org"}} for i in range(5)))
    hub.admin("POST", "clock", {"advance": 2})
    by_ids = hub.admin("POST", "touch", {"ids": ids[:2]})
    assert by_ids["touched"] == 2
    hub.admin("POST", "clock", {"advance": 2})
    by_count = hub.admin("POST", "touch", {"count": 4})
    assert by_count["touched"] == 4
    read = hub.ok(
        "POST", f"{CONTACTS}/batch/read", {"properties": [], "inputs": [{"id": i} for i in ids]}
    )
    stamps = {r["id"]: r["properties"]["lastmodifieddate"] for r in read["results"]}
    assert [stamps[i] for i in ids[:4]] == [by_count["lastmodifieddate"]] * 4
    assert stamps[ids[4]] < by_ids["lastmodifieddate"] < by_count["lastmodifieddate"]


def test_edit_acts_as_a_person_in_the_ui(hub: Hub) -> None:
    (cid,) = hub.seed({"properties": {"email": "e@example.org"}})
    hub.configure(ten_second_limit=1)
    hub.call("GET", CONTACTS)
    assert hub.call("GET", CONTACTS).status_code == 429
    edited = hub.admin(
        "POST", "edit", {"id": cid, "properties": {"hs_email_optout": "true", "firstname": "Ed"}}
    )
    assert edited["properties"]["hs_email_optout"] == "true"
    hub.admin("POST", "reset")
    (cid,) = hub.seed({"properties": {"email": "e@example.org"}})
    hub.admin("POST", "edit", {"id": cid, "properties": {"firstname": "Ed"}})
    read = hub.ok("GET", f"{CONTACTS}/{cid}", propertiesWithHistory="firstname")
    (entry,) = read["propertiesWithHistory"]["firstname"]
    assert (entry["value"], entry["sourceType"]) == ("Ed", "CRM_UI")
    assert entry["updatedByUserId"] == 28604240
    refused = hub.admin_call("POST", "edit", {"id": cid, "properties": {"createdate": "2020"}})
    assert refused.status_code == 400


def test_writes_lists_api_writes_only(hub: Hub) -> None:
    (seeded,) = hub.seed({"properties": {"email": "s@example.org"}})
    hub.admin("POST", "edit", {"id": seeded, "properties": {"firstname": "UI"}})
    created = hub.create(email="w@example.org")
    hub.ok(
        "POST",
        f"{CONTACTS}/batch/update",
        {"inputs": [{"id": seeded, "properties": {"lastname": "Api", "firstname": ""}}]},
    )
    writes = hub.admin("GET", "writes")["writes"]
    assert [(w["id"], w["property"], w["value"], w["via"]) for w in writes] == [
        (created["id"], "email", "w@example.org", "POST /crm/v3/objects/contacts"),
        (seeded, "lastname", "Api", "POST /crm/v3/objects/contacts/batch/update"),
        (seeded, "firstname", "", "POST /crm/v3/objects/contacts/batch/update"),
    ]
    assert writes[0]["at"] == created["properties"]["lastmodifieddate"]
