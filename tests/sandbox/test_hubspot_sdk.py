"""The official ``hubspot-api-client`` SDK, unchanged, against the simulator over loopback.

The SDK's models refuse responses that lack required fields, so every call here that returns
without an exception is also a check of the simulator's response shapes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicGdprDeleteInput,
    PublicMergeInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import OptionInput, PropertyCreate

from tests.sandbox.hubspot_fixtures import Hub

pytestmark = pytest.mark.timeout(30)


def newsletter() -> PropertyCreate:
    return PropertyCreate(
        name="newsletter",
        label="Newsletter",
        type="bool",
        field_type="booleancheckbox",
        group_name="contactinformation",
        options=[
            OptionInput(label=label, value=value, display_order=order, hidden=False)
            for order, (label, value) in enumerate([("Yes", "true"), ("No", "false")])
        ],
    )


def test_a_custom_property_is_created_listed_and_read(hub: Hub) -> None:
    properties = hub.sdk().crm.properties.core_api
    created = properties.create("contacts", newsletter())
    assert (created.name, created.type, created.field_type) == (
        "newsletter",
        "bool",
        "booleancheckbox",
    )
    assert created.modification_metadata.read_only_value is False
    listed = {prop.name: prop for prop in properties.get_all("contacts").results}
    assert "newsletter" in listed
    assert listed["hs_object_id"].modification_metadata.read_only_value is True
    assert listed["lifecyclestage"].options[0].value == "subscriber"
    assert properties.get_by_name("contacts", "newsletter").label == "Newsletter"
    with pytest.raises(PropertiesApiException) as raised:
        properties.create("contacts", newsletter())
    assert raised.value.status == 409
    assert json.loads(raised.value.body)["category"] == "CONFLICT"


def test_a_contact_is_created_read_updated_and_archived(hub: Hub) -> None:
    client = hub.sdk()
    client.crm.properties.core_api.create("contacts", newsletter())
    basic = client.crm.contacts.basic_api
    created = basic.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "ann@example.org", "firstname": "Ann", "newsletter": "true"}
        )
    )
    assert created.properties["hs_object_id"] == created.id
    # Two writes in one millisecond carry the same timestamp (raced on a loaded CI machine).
    hub.admin("POST", "clock", {"advance": 1})
    updated = basic.update(created.id, SimplePublicObjectInput(properties={"lastname": "Lee"}))
    assert updated.updated_at > created.created_at
    read = basic.get_by_id(
        created.id, properties=["email", "lastname"], properties_with_history=["newsletter"]
    )
    assert read.properties == {"email": "ann@example.org", "lastname": "Lee"}
    (entry,) = read.properties_with_history["newsletter"]
    assert (entry.value, entry.source_type) == ("true", "API")
    assert basic.get_by_id("ann@example.org", id_property="email").id == created.id
    basic.archive(created.id)
    with pytest.raises(ApiException) as raised:
        basic.get_by_id(created.id)
    assert raised.value.status == 404
    archived = basic.get_page(archived=True)
    assert [contact.id for contact in archived.results] == [created.id]
    assert archived.results[0].archived_at is not None


def test_get_all_pages_through_the_list_endpoint(hub: Hub) -> None:
    ids = hub.seed(*({"properties": {"email": f"p{i}@example.org"}} for i in range(23)))
    everyone = hub.sdk().crm.contacts.get_all()
    assert [contact.id for contact in everyone] == ids


def test_batch_create_read_update_and_upsert(hub: Hub) -> None:
    batch = hub.sdk().crm.contacts.batch_api
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": f"b{i}@example.org"}, object_write_trace_id=f"op-{i}"
                )
                for i in range(3)
            ]
        )
    )
    assert created.status == "COMPLETE"
    by_trace = {result.object_write_trace_id: result.id for result in created.results}
    assert sorted(by_trace) == ["op-0", "op-1", "op-2"]
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"],
            properties_with_history=["email"],
            inputs=[SimplePublicObjectId(id=by_trace["op-0"]), SimplePublicObjectId(id="999")],
        )
    )
    assert [result.properties["email"] for result in read.results] == ["b0@example.org"]
    assert read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["999"]}
    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=by_trace["op-1"], properties={"firstname": "Bo"})
            ]
        )
    )
    assert updated.results[0].properties["firstname"] == "Bo"
    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=email, id_property="email", properties={"lastname": "Up"}
                )
                for email in ("b2@example.org", "new@example.org")
            ]
        )
    )
    new = {result.id: result.new for result in upserted.results}
    assert new.pop(by_trace["op-2"]) is False
    assert list(new.values()) == [True]


def test_a_history_read_takes_50_ids_and_refuses_51(hub: Hub) -> None:
    """HubSpot's limit for ``propertiesWithHistory`` (reference §12.1), with its own message."""
    ids = hub.seed(*({"properties": {"email": f"h{i}@example.org"}} for i in range(51)))
    batch = hub.sdk().crm.contacts.batch_api

    def read(count: int, history: list[str]) -> Any:
        return batch.read(
            BatchReadInputSimplePublicObjectId(
                properties=["email"],
                properties_with_history=history,
                inputs=[SimplePublicObjectId(id=contact_id) for contact_id in ids[:count]],
            )
        )

    assert len(read(50, ["email"]).results) == 50
    assert len(read(51, []).results) == 51, "without history the batch limit is 100"
    with pytest.raises(ApiException) as refused:
        read(51, ["email"])
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == (
        "The maximum number of inputs supported in a batch request for property histories "
        "is 50. Please reduce the number of items and try again"
    )


def test_search_by_lastmodifieddate_pages_to_the_end(hub: Hub) -> None:
    hub.seed(
        *(
            {
                "properties": {"email": f"s{i}@example.org"},
                "timestamps": {"email": f"2024-03-01T10:{i:02d}:00Z"},
            }
            for i in range(25)
        )
    )
    search = hub.sdk().crm.contacts.search_api
    since = "1709287500000"  # 2024-03-01T10:05:00Z
    seen: list[str] = []
    after: str | None = "0"
    while after is not None:
        page = search.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(
                        filters=[
                            Filter(property_name="lastmodifieddate", operator="GTE", value=since)
                        ]
                    )
                ],
                sorts=["lastmodifieddate"],
                properties=["email", "lastmodifieddate"],
                limit=8,
                after=after,
            )
        )
        assert page.total == 20
        seen += [result.properties["email"] for result in page.results]
        after = page.paging.next.after if page.paging else None
    assert seen == [f"s{i}@example.org" for i in range(5, 25)]


def test_merge_through_the_sdk_makes_a_new_record(hub: Hub) -> None:
    keep, lose = hub.seed(
        {"properties": {"email": "keep@example.org"}}, {"properties": {"email": "lose@example.org"}}
    )
    contacts = hub.sdk().crm.contacts
    merged = contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=keep, object_id_to_merge=lose)
    )
    assert merged.id not in (keep, lose)
    assert merged.properties["hs_merged_object_ids"] == f"{keep};{lose}"
    assert merged.properties["hs_additional_emails"] == "lose@example.org"
    assert contacts.basic_api.get_by_id(lose).id == merged.id
    read = contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email", "hs_merged_object_ids"],
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=keep)],
        )
    )
    assert [(r.id, r.properties["email"]) for r in read.results] == [
        (merged.id, "keep@example.org")
    ]


def test_gdpr_delete_through_the_sdk(hub: Hub) -> None:
    (gone,) = hub.seed({"properties": {"email": "gone@example.org"}})
    basic = hub.sdk().crm.contacts.basic_api
    assert basic.purge(PublicGdprDeleteInput(object_id=gone)) is None
    with pytest.raises(ApiException) as missing:
        basic.get_by_id(gone, archived=True)
    assert missing.value.status == 404


def test_conflict_and_validation_errors_raise_api_exceptions(hub: Hub) -> None:
    basic = hub.sdk().crm.contacts.basic_api
    existing = basic.create(SimplePublicObjectInputForCreate(properties={"email": "a@example.org"}))
    with pytest.raises(ApiException) as conflict:
        basic.create(SimplePublicObjectInputForCreate(properties={"email": "A@Example.org"}))
    assert conflict.value.status == 409
    body = json.loads(conflict.value.body)
    assert body["message"] == f"Contact already exists. Existing ID: {existing.id}"
    assert body["category"] == "CONFLICT"
    assert conflict.value.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    with pytest.raises(ApiException) as invalid:
        basic.create(
            SimplePublicObjectInputForCreate(
                properties={"email": "b@example.org", "favourite_fruit": "kiwi"}
            )
        )
    assert invalid.value.status == 400
    body = json.loads(invalid.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {
            "message": 'Property "favourite_fruit" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["favourite_fruit"]},
        }
    ]
    embedded = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert embedded[0]["error"] == "PROPERTY_DOESNT_EXIST"
    assert embedded[0]["name"] == "favourite_fruit"


@pytest.mark.parametrize(
    "address",
    ["bcooper@example.con", "jane@example", '"jane"@example.org', "a@b@example.org"],
    ids=["no-such-tld", "no-tld", "quoted", "two-ats"],
)
def test_an_address_without_a_real_tld_or_with_quotes_is_refused(hub: Hub, address: str) -> None:
    """HubSpot's INVALID_EMAIL, as recorded for ``bcooper@example.con`` (reference §12.7)."""
    basic = hub.sdk().crm.contacts.basic_api
    with pytest.raises(ApiException) as refused:
        basic.create(SimplePublicObjectInputForCreate(properties={"email": address}))
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    (result,) = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert (result["error"], result["name"]) == ("INVALID_EMAIL", "email")
    assert result["message"] == f"Email address {address} is invalid"


def test_addresses_are_stored_lower_cased(hub: Hub) -> None:
    basic = hub.sdk().crm.contacts.basic_api
    created = basic.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "Ann.Lee@Example.ORG", "hs_additional_emails": "ANN@Work.dev"}
        )
    )
    read = basic.get_by_id(created.id, properties=["email", "hs_additional_emails"])
    assert read.properties["email"] == "ann.lee@example.org"
    assert read.properties["hs_additional_emails"] == "ann@work.dev"
    assert basic.get_by_id("ANN.LEE@example.org", id_property="email").id == created.id


def test_dates_can_be_answered_as_epoch_milliseconds(hub: Hub) -> None:
    """Setting ``dates: epoch_ms`` (reference §12.5); the SDK's own timestamps stay ISO."""
    (cid,) = hub.seed(
        {"properties": {"email": "d@example.org", "renewal": "2015-05-01"}},
        properties=[{"name": "renewal", "type": "date", "fieldType": "date"}],
    )
    hub.configure(dates="epoch_ms")
    read = hub.sdk().crm.contacts.basic_api.get_by_id(
        cid, properties=["renewal", "createdate"], properties_with_history=["renewal"]
    )
    assert read.properties["renewal"] == "1430438400000"
    assert read.properties["createdate"].isdigit()
    assert read.properties_with_history["renewal"][0].value == "1430438400000"
    assert read.created_at.year >= 2024
    hub.configure(dates="iso")
    assert hub.sdk().crm.contacts.basic_api.get_by_id(cid, properties=["renewal"]).properties == {
        "renewal": "2015-05-01"
    }
