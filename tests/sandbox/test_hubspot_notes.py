"""HubSpot notes associated with contacts, and contact property groups (issue 16's HubSpot side)."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.objects.notes import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicAssociationsForObject,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.objects.notes.models import AssociationSpec, PublicObjectId
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from tests.sandbox.hubspot_fixtures import Hub

pytestmark = pytest.mark.timeout(30)
NOTES = "/crm/v3/objects/notes"
GROUPS = "/crm/v3/properties/contacts/groups"
AT = "2026-11-03T10:00:00Z"


def to_contact(contact_id: str, type_id: int = 202) -> dict[str, Any]:
    return {
        "to": {"id": contact_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def note(contact_id: str | None, body: str = "Opened 'November'", **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"properties": {"hs_note_body": body, "hs_timestamp": AT, **extra}}
    if contact_id is not None:
        item["associations"] = [to_contact(contact_id)]
    return item


def create(hub: Hub, *items: dict[str, Any]) -> Any:
    return hub.call("POST", f"{NOTES}/batch/create", {"inputs": list(items)})


# -- notes -----------------------------------------------------------------------------------------


def test_a_batch_creates_notes_associated_with_their_contacts(hub: Hub) -> None:
    ann, bob = hub.seed({"email": "ann@real.org"}, {"email": "bob@real.org"})
    answer = create(hub, note(ann, "first"), note(bob, "second", hs_timestamp=1793611200000))
    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "COMPLETE"
    first, second = body["results"]
    assert first["properties"]["hs_note_body"] == "first"
    assert first["properties"]["hs_timestamp"] == "2026-11-03T10:00:00.000Z"
    assert second["properties"]["hs_timestamp"] == "2026-11-02T09:20:00.000Z"
    assert first["properties"]["hs_object_id"] == first["id"]
    assert first["id"] != ann
    v4 = hub.ok("GET", f"/crm/v4/objects/notes/{first['id']}/associations/contacts")
    assert v4 == {
        "results": [
            {
                "toObjectId": int(ann),
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 202, "label": None}],
            }
        ]
    }
    v3 = hub.ok(
        "GET", f"{NOTES}/{second['id']}", associations="contacts", properties="hs_note_body"
    )
    assert v3["associations"] == {"contacts": {"results": [{"id": bob, "type": "note_to_contact"}]}}
    assert v3["properties"]["hs_note_body"] == "second"
    back = hub.ok("GET", f"/crm/v4/objects/contacts/{bob}/associations/notes")
    assert [row["toObjectId"] for row in back["results"]] == [int(second["id"])]
    assert back["results"][0]["associationTypes"][0]["typeId"] == 201


def test_hs_timestamp_is_required_and_nothing_is_created_without_it(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    bare = {"properties": {"hs_note_body": "no time"}, "associations": [to_contact(ann)]}
    answer = create(hub, note(ann), bare)
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["category"] == "VALIDATION_ERROR"
    assert problem["message"] == "Error creating NOTE.  Some required properties were not set."
    assert problem["context"] == {"properties": ["hs_timestamp"]}
    assert hub.admin("GET", "notes")["notes"] == []


@pytest.mark.parametrize(
    ("association", "fragment"),
    [
        (to_contact("999999"), "999999"),
        (to_contact("ANN", type_id=1), "not valid from NOTE to CONTACT"),
    ],
    ids=["missing-contact", "wrong-type"],
)
def test_a_bad_association_refuses_the_whole_batch(
    hub: Hub, association: dict[str, Any], fragment: str
) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    association["to"]["id"] = association["to"]["id"].replace("ANN", ann)
    bad = {"properties": {"hs_timestamp": AT}, "associations": [association]}
    answer = create(hub, note(ann), bad)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert fragment in answer.json()["message"]
    assert hub.admin("GET", "notes")["notes"] == []


def test_an_archived_contact_takes_no_note_and_loses_its_associations(hub: Hub) -> None:
    ann, bob = hub.seed({"email": "ann@real.org"}, {"email": "bob@real.org"})
    first = create(hub, note(ann)).json()["results"][0]
    hub.ok("DELETE", f"/crm/v3/objects/contacts/{ann}")
    assert create(hub, note(ann)).status_code == 400
    assert hub.ok("GET", f"/crm/v4/objects/notes/{first['id']}/associations/contacts") == {
        "results": []
    }
    assert hub.admin("GET", "notes")["notes"][0]["contacts"] == []
    assert create(hub, note(bob)).status_code == 201


def test_batch_update_read_and_archive(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    made = create(hub, note(ann, "v1"), note(ann, "other")).json()["results"]
    first, second = made[0]["id"], made[1]["id"]
    updated = hub.call(
        "POST",
        f"{NOTES}/batch/update",
        {
            "inputs": [
                {"id": first, "properties": {"hs_note_body": "v2"}},
                {"id": "1", "properties": {}},
            ]
        },
    )
    assert updated.status_code == 207
    body = updated.json()
    assert [row["properties"]["hs_note_body"] for row in body["results"]] == ["v2"]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["1"]}
    read = hub.ok(
        "POST",
        f"{NOTES}/batch/read",
        {"inputs": [{"id": first}, {"id": second}], "properties": ["hs_note_body", "hs_timestamp"]},
    )
    assert {row["id"]: row["properties"]["hs_note_body"] for row in read["results"]} == {
        first: "v2",
        second: "other",
    }
    archived = hub.call("POST", f"{NOTES}/batch/archive", {"inputs": [{"id": second}]})
    assert archived.status_code == 204
    assert hub.call("GET", f"{NOTES}/{second}").status_code == 404
    assert hub.ok("GET", f"{NOTES}/{second}", archived="true")["archived"] is True
    listed = hub.ok("GET", NOTES, limit="10")
    assert [row["id"] for row in listed["results"]] == [first]
    assert hub.ok("GET", f"/crm/v4/objects/contacts/{ann}/associations/notes")["results"][0][
        "toObjectId"
    ] == int(first)


@pytest.mark.parametrize("path", ["create", "update", "read", "archive"])
def test_notes_batches_take_at_most_100_inputs(hub: Hub, path: str) -> None:
    inputs = [{"id": str(n), "properties": {"hs_timestamp": AT}} for n in range(101)]
    answer = hub.call("POST", f"{NOTES}/batch/{path}", {"inputs": inputs})
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        "Too many inputs: 101. A batch may contain at most 100 inputs."
    )


def test_bad_note_values_are_refused_like_contact_values(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    for extra, code in (
        ({"hs_timestamp": "yesterday"}, "INVALID_LONG"),
        ({"no_such": "x"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_note_body": "x" * 65537}, "MAX_LENGTH_EXCEEDED"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
    ):
        answer = create(hub, note(ann, **extra))
        assert answer.status_code == 400, extra
        assert answer.json()["errors"][0]["code"] == code
    assert hub.admin("GET", "notes")["notes"] == []


# -- property groups -------------------------------------------------------------------------------


def test_groups_are_listed_created_once_and_required_by_properties(hub: Hub) -> None:
    names = [group["name"] for group in hub.ok("GET", GROUPS)["results"]]
    assert "contactinformation" in names
    group = {"name": "mailchimp_engagement", "label": "Mailchimp engagement", "displayOrder": 5}
    created = hub.call("POST", GROUPS, group)
    assert created.status_code == 201
    assert created.json() == {**group, "archived": False}
    again = hub.call("POST", GROUPS, group)
    assert again.status_code == 409
    assert again.json()["category"] == "CONFLICT"
    assert hub.ok("GET", f"{GROUPS}/mailchimp_engagement")["label"] == "Mailchimp engagement"
    assert hub.call("GET", f"{GROUPS}/nowhere").status_code == 404
    prop = {
        "name": "mailchimp_last_open",
        "label": "Last open",
        "type": "datetime",
        "fieldType": "date",
        "groupName": "nowhere",
    }
    refused = hub.call("POST", "/crm/v3/properties/contacts", prop)
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    placed = hub.call(
        "POST", "/crm/v3/properties/contacts", {**prop, "groupName": "mailchimp_engagement"}
    )
    assert placed.status_code == 201
    assert placed.json()["groupName"] == "mailchimp_engagement"
    moved = hub.call("PATCH", "/crm/v3/properties/contacts/mailchimp_last_open", {"groupName": "x"})
    assert moved.status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"label": "No name"}, {"name": "nolabel"}, {"name": "Bad Name", "label": "x"}],
    ids=["no-name", "no-label", "bad-name"],
)
def test_a_bad_group_is_a_400(hub: Hub, body: dict[str, Any]) -> None:
    assert hub.call("POST", GROUPS, body).status_code == 400


def test_reset_drops_notes_and_groups(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    create(hub, note(ann))
    hub.ok("POST", GROUPS, {"name": "mine", "label": "Mine"})
    hub.admin("POST", "reset")
    assert hub.admin("GET", "notes")["notes"] == []
    assert "mine" not in [group["name"] for group in hub.ok("GET", GROUPS)["results"]]


# -- the official SDK ------------------------------------------------------------------------------


def test_the_sdk_creates_updates_reads_and_archives_notes(hub: Hub) -> None:
    (ann,) = hub.seed({"email": "ann@real.org"})
    client = hub.sdk()
    association = PublicAssociationsForObject(
        to=PublicObjectId(id=ann),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)],
    )
    created = client.crm.objects.notes.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"hs_note_body": "Opened", "hs_timestamp": AT},
                    associations=[association],
                )
            ]
        )
    )
    note_id = created.results[0].id
    client.crm.objects.notes.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=note_id, properties={"hs_note_body": "Clicked"})
            ]
        )
    )
    read = client.crm.objects.notes.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=note_id)],
            properties=["hs_note_body"],
            properties_with_history=[],
        )
    )
    assert read.results[0].properties["hs_note_body"] == "Clicked"
    one = client.crm.objects.notes.basic_api.get_by_id(note_id, associations=["contacts"])
    assert [row.id for row in one.associations["contacts"].results] == [ann]
    page = client.crm.associations.v4.basic_api.get_page("notes", note_id, "contacts")
    assert [str(row.to_object_id) for row in page.results] == [ann]  # the model says string
    client.crm.objects.notes.batch_api.archive(
        BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=note_id)])
    )
    with pytest.raises(ApiException) as gone:
        client.crm.objects.notes.basic_api.get_by_id(note_id)
    assert gone.value.status == 404


def test_the_sdk_manages_property_groups(hub: Hub) -> None:
    client = hub.sdk()
    made = client.crm.properties.groups_api.create(
        "contacts", PropertyGroupCreate(name="mailchimp", label="Mailchimp", display_order=3)
    )
    assert (made.name, made.label, made.display_order, made.archived) == (
        "mailchimp",
        "Mailchimp",
        3,
        False,
    )
    names = [group.name for group in client.crm.properties.groups_api.get_all("contacts").results]
    assert "mailchimp" in names
    assert (
        client.crm.properties.groups_api.get_by_name("contacts", "mailchimp").label == "Mailchimp"
    )
    with pytest.raises(PropertiesApiException) as twice:
        client.crm.properties.groups_api.create(
            "contacts", PropertyGroupCreate(name="mailchimp", label="Mailchimp")
        )
    assert twice.value.status == 409
    prop = client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="mailchimp_last_click",
            label="Last click",
            type="datetime",
            field_type="date",
            group_name="mailchimp",
        ),
    )
    assert prop.group_name == "mailchimp"
