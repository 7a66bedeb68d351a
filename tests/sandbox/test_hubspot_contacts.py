"""Single-contact endpoints of the HubSpot simulator: values, identity, reads and listing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.hubspot_fixtures import CONTACTS, TOKEN, Hub

pytestmark = pytest.mark.timeout(30)

CUSTOM = [
    {"name": "score", "label": "Score", "type": "number", "fieldType": "number"},
    {"name": "newsletter", "label": "Newsletter", "type": "bool", "fieldType": "booleancheckbox"},
    {
        "name": "opted_in",
        "label": "Opted in",
        "type": "enumeration",
        "fieldType": "booleancheckbox",
        "options": ["true", "false"],
    },
    {
        "name": "tier",
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "select",
        "options": ["Gold", "Silver"],
    },
    {
        "name": "interests",
        "label": "Interests",
        "type": "enumeration",
        "fieldType": "checkbox",
        "options": ["a", "b", "c"],
    },
    {"name": "birthday", "label": "Birthday", "type": "date", "fieldType": "date"},
    {"name": "last_seen", "label": "Last seen", "type": "datetime", "fieldType": "date"},
]


@pytest.fixture
def hub(hubspot_server: Hub) -> Hub:
    hubspot_server.restored().seed(properties=CUSTOM)
    return hubspot_server


def patch(hub: Hub, contact_id: str, **properties: Any) -> Any:
    return hub.call("PATCH", f"{CONTACTS}/{contact_id}", {"properties": properties})


@pytest.mark.parametrize(
    ("name", "sent", "stored"),
    [
        ("score", "17", "17"),
        ("score", "-3.5", "-3.5"),
        ("score", 42, "42"),
        ("newsletter", "true", "true"),
        ("newsletter", False, "false"),
        ("opted_in", "false", "false"),
        ("tier", "Gold", "Gold"),
        ("lifecyclestage", "customer", "customer"),
        ("interests", "a;c", "a;c"),
        ("birthday", "2015-05-01", "2015-05-01"),
        ("birthday", "1430438400000", "2015-05-01"),
        ("last_seen", "2020-02-29T03:30:17.000Z", "2020-02-29T03:30:17.000Z"),
        ("last_seen", "1582947017123", "2020-02-29T03:30:17.123Z"),
        ("last_seen", "2020-02-29T04:30:17+01:00", "2020-02-29T03:30:17.000Z"),
        ("hs_additional_emails", "x@example.org;y@example.org", "x@example.org;y@example.org"),
        ("firstname", "", None),
    ],
    ids=[
        "integer",
        "negative-decimal",
        "json-number",
        "bool",
        "json-bool",
        "enumeration-checkbox-bool",
        "enumeration-option",
        "default-enumeration",
        "multi-checkbox",
        "date",
        "date-midnight-ms",
        "datetime-iso",
        "datetime-ms",
        "datetime-offset",
        "additional-emails",
        "empty-clears",
    ],
)
def test_valid_values_are_stored_as_hubspot_strings(
    hub: Hub, name: str, sent: Any, stored: str | None
) -> None:
    contact = hub.create(email="v@example.org", firstname="Val")
    response = patch(hub, contact["id"], **{name: sent})
    assert response.status_code == 200, response.text
    assert response.json()["properties"][name] == stored
    read = hub.ok("GET", f"{CONTACTS}/{contact['id']}", properties=name)
    assert read["properties"] == {name: stored}


@pytest.mark.parametrize(
    ("name", "sent", "code", "message"),
    [
        ("score", "12a", "INVALID_INTEGER", "12a was not a valid number."),
        ("score", 1e-14, "INVALID_INTEGER", "1e-14 was not a valid number."),
        ("newsletter", "yes", "INVALID_OPTION", "yes was not one of the allowed options: "),
        ("newsletter", "True", "INVALID_OPTION", "True was not one of the allowed options: "),
        ("tier", "gold", "INVALID_OPTION", "gold was not one of the allowed options: [Gold, "),
        ("lifecyclestage", "Lead", "INVALID_OPTION", "Lead was not one of the allowed options"),
        ("interests", "a;z", "INVALID_OPTION", "z was not one of the allowed options: [a, b, c]"),
        ("birthday", "1430438400001", "INVALID_DATE", "1430438400001 is at 00:00:00.001 UTC, "),
        ("birthday", "2015-05-01T10:00:00Z", "INVALID_DATE", "2015-05-01T10:00:00Z is at 10:00"),
        ("birthday", "May 1st", "INVALID_DATE", "May 1st is not a valid date."),
        ("last_seen", "yesterday", "INVALID_LONG", "yesterday was not a valid long."),
        ("email", "not-an-email", "INVALID_EMAIL", "Email address not-an-email is invalid"),
        ("createdate", "2020-01-01", "READ_ONLY_VALUE", '"createdate" is a read only property'),
        ("hs_object_id", "5", "READ_ONLY_VALUE", '"hs_object_id" is a read only property'),
        ("hs_email_optout", "true", "READ_ONLY_VALUE", '"hs_email_optout" is a read only'),
        ("favourite_fruit", "kiwi", "PROPERTY_DOESNT_EXIST", 'Property "favourite_fruit" does not'),
    ],
    ids=[
        "not-a-number",
        "exponent",
        "bool-word",
        "bool-capitalised",
        "option-case",
        "default-option-case",
        "multi-checkbox-unknown",
        "date-not-midnight",
        "date-iso-not-midnight",
        "date-garbage",
        "datetime-garbage",
        "email",
        "read-only-createdate",
        "read-only-id",
        "read-only-optout",
        "unknown-property",
    ],
)
def test_invalid_values_are_refused_like_hubspot(
    hub: Hub, name: str, sent: Any, code: str, message: str
) -> None:
    contact = hub.create(email="v@example.org", score="1")
    response = patch(hub, contact["id"], **{name: sent})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    (error,) = body["errors"]
    assert error["code"] == code
    assert error["context"] == {"propertyName": [name]}
    assert error["message"].startswith(message)
    embedded = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert (embedded[0]["error"], embedded[0]["name"], embedded[0]["isValid"]) == (
        code,
        name,
        False,
    )
    after = hub.ok("GET", f"{CONTACTS}/{contact['id']}", properties="score,email")
    assert after["properties"] == {"score": "1", "email": "v@example.org"}


def test_a_leading_semicolon_appends_to_a_multi_checkbox(hub: Hub) -> None:
    contact = hub.create(interests="a")
    assert patch(hub, contact["id"], interests=";c;a").json()["properties"]["interests"] == "a;c"
    assert patch(hub, contact["id"], interests="b").json()["properties"]["interests"] == "b"


def test_clearing_keeps_history_and_reads_back_null(hub: Hub) -> None:
    contact = hub.create(email="c@example.org", firstname="Cy")
    patch(hub, contact["id"], firstname="")
    read = hub.ok(
        "GET",
        f"{CONTACTS}/{contact['id']}",
        properties="firstname,nonexistent",
        propertiesWithHistory="firstname",
    )
    assert read["properties"] == {"firstname": None}
    assert [entry["value"] for entry in read["propertiesWithHistory"]["firstname"]] == ["", "Cy"]


def test_every_write_moves_lastmodifieddate_even_without_a_change(hub: Hub) -> None:
    contact = hub.create(email="m@example.org", firstname="Mo")
    before = contact["properties"]["lastmodifieddate"]
    hub.admin("POST", "clock", {"advance": 1.5})
    again = patch(hub, contact["id"], firstname="Mo").json()
    assert again["properties"]["lastmodifieddate"] > before
    assert again["updatedAt"] == again["properties"]["lastmodifieddate"]
    assert again["properties"]["hs_object_id"] == contact["id"]
    assert again["createdAt"] == contact["createdAt"]


def test_emails_are_unique_across_primary_and_additional_ignoring_case(hub: Hub) -> None:
    ann = hub.create(email="ann@example.org", hs_additional_emails="ann@work.example.org")
    bob = hub.create(email="bob@example.org")
    for email in ("ANN@example.org", "Ann@Work.example.org"):
        response = hub.call("POST", CONTACTS, {"properties": {"email": email}})
        assert response.status_code == 409
        assert response.json()["message"] == f"Contact already exists. Existing ID: {ann['id']}"
        assert response.json()["category"] == "CONFLICT"
    response = patch(hub, bob["id"], email="ann@work.example.org")
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert response.json()["message"].endswith(
        f"propertyName=email, value=ann@work.example.org}} on {bob['id']}. "
        f"{ann['id']} already has that value."
    )
    assert patch(hub, bob["id"], hs_additional_emails="ANN@example.org").status_code == 400
    assert patch(hub, ann["id"], email="Ann@Example.org").status_code == 200, "own email"
    assert patch(hub, ann["id"], email="ann2@example.org").status_code == 200
    assert hub.call("POST", CONTACTS, {"properties": {"email": "ann@example.org"}}).ok, "freed"


def test_reads_by_id_and_by_email_with_defaults_and_history(hub: Hub) -> None:
    contact = hub.create(email="r@example.org", firstname="Ro", lastname="Ra", city="Oslo")
    read = hub.ok("GET", f"{CONTACTS}/r@example.org", idProperty="email")
    assert read["id"] == contact["id"]
    assert sorted(read["properties"]) == sorted(
        ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"]
    )
    assert set(read) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    history = hub.ok(
        "GET",
        f"{CONTACTS}/{contact['id']}",
        properties=["city", "nope"],
        propertiesWithHistory=["city", "email"],
    )
    assert history["properties"] == {"city": "Oslo"}
    (entry,) = history["propertiesWithHistory"]["city"]
    assert entry["value"] == "Oslo"
    assert entry["sourceType"] == "API"
    assert entry["timestamp"] == contact["createdAt"]


def test_missing_contacts_answer_404_object_not_found(hub: Hub) -> None:
    for path, params in [
        (f"{CONTACTS}/999", None),
        (f"{CONTACTS}/x@y.org", {"idProperty": "email"}),
    ]:
        response = hub.call("GET", path, params=params)
        assert response.status_code == 404
        assert response.json()["category"] == "OBJECT_NOT_FOUND"
        assert response.json()["status"] == "error"
    assert hub.call("PATCH", f"{CONTACTS}/999", {"properties": {}}).status_code == 404


def test_archive_hides_a_contact_except_from_archived_reads(hub: Hub) -> None:
    contact = hub.create(email="gone@example.org")
    response = hub.call("DELETE", f"{CONTACTS}/{contact['id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert hub.call("GET", f"{CONTACTS}/{contact['id']}").status_code == 404
    read = hub.ok("GET", f"{CONTACTS}/{contact['id']}", archived="true")
    assert read["archived"] is True
    assert read["archivedAt"] >= read["updatedAt"]
    assert hub.ok("GET", CONTACTS)["results"] == []
    assert [c["id"] for c in hub.ok("GET", CONTACTS, archived="true")["results"]] == [contact["id"]]


def test_listing_pages_by_id_within_hubspot_limits(hub: Hub) -> None:
    ids = hub.seed(*({"properties": {"email": f"l{i}@example.org"}} for i in range(25)))
    assert all(i.isdigit() for i in ids)
    assert ids == sorted(ids, key=int)
    first = hub.ok("GET", CONTACTS)
    assert [c["id"] for c in first["results"]] == ids[:10]
    assert first["paging"]["next"]["after"] == ids[10]
    last = hub.ok("GET", CONTACTS, limit=100, after=ids[20], properties="email,lastname")
    assert [c["properties"] for c in last["results"]] == [
        {"email": f"l{i}@example.org", "lastname": None} for i in range(20, 25)
    ]
    assert "paging" not in last
    with_history = hub.ok("GET", CONTACTS, limit=50, propertiesWithHistory="email")
    assert len(with_history["results"]) == 25
    assert with_history["results"][0]["propertiesWithHistory"]["email"][0]["sourceType"] == "CRM_UI"
    for params in ({"limit": 101}, {"limit": 51, "propertiesWithHistory": "email"}, {"limit": 0}):
        response = hub.call("GET", CONTACTS, params=params)
        assert response.status_code == 400, params
        assert response.json()["category"] == "VALIDATION_ERROR"


def test_authentication_and_wire_conventions(hub: Hub) -> None:
    for token in (None, "pat-na1-wrong"):
        response = hub.call("GET", CONTACTS, token=token)
        assert response.status_code == 401
        body = response.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["status"] == "error"
        assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    response = hub.call("GET", CONTACTS, token=TOKEN)
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.headers["X-HubSpot-Correlation-Id"]
    created = hub.call("POST", CONTACTS, {"properties": {"email": "n@example.org"}})
    assert created.status_code == 201
