"""Updating a property's options in the HubSpot simulator, through the official SDK.

The rules and their sources are in sandbox/hubspot/properties_api.py: a ``PATCH`` replaces the
options whole; a value that is not an option is refused with HubSpot's recorded
``INVALID_OPTION`` answer.
"""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import ApiException, SimplePublicObjectInputForCreate
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyUpdate

from tests.sandbox.hubspot_fixtures import Hub

pytestmark = pytest.mark.timeout(30)


def options(*values: str) -> list[OptionInput]:
    return [
        OptionInput(label=value, value=value, display_order=i, hidden=False)
        for i, value in enumerate(values)
    ]


def tags_property(*values: str) -> PropertyCreate:
    return PropertyCreate(
        name="mailchimp_tags",
        label="Mailchimp tags",
        type="enumeration",
        field_type="checkbox",
        group_name="contactinformation",
        options=options(*values),
    )


def test_a_patch_replaces_the_options_whole(hub: Hub) -> None:
    properties = hub.sdk().crm.properties.core_api
    properties.create("contacts", tags_property("MQL", "VIP"))
    updated = properties.update(
        "contacts", "mailchimp_tags", PropertyUpdate(options=options("New"))
    )
    assert [option.value for option in updated.options] == ["New"], "no append: a replacement"
    assert (updated.type, updated.field_type, updated.label) == (
        "enumeration",
        "checkbox",
        "Mailchimp tags",
    ), "fields not given are kept"
    read = properties.get_by_name("contacts", "mailchimp_tags")
    assert [option.value for option in read.options] == ["New"]
    relabelled = properties.update("contacts", "mailchimp_tags", PropertyUpdate(label="Tags"))
    assert [option.value for option in relabelled.options] == ["New"]


def test_a_value_that_is_not_an_option_is_refused_as_hubspot_does(hub: Hub) -> None:
    """HubSpot's answer, as recorded (gregorspan/csc-frodx #21): a 400 whose message embeds
    "<value> was not one of the allowed options: [<options>]" with ``INVALID_OPTION``."""
    hub.sdk().crm.properties.core_api.create("contacts", tags_property("MQL", "VIP"))
    basic = hub.sdk().crm.contacts.basic_api
    created = basic.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "a@example.org", "mailchimp_tags": "VIP;MQL"}
        )
    )
    assert created.properties["mailchimp_tags"] == "VIP;MQL"
    with pytest.raises(ApiException) as refused:
        basic.create(
            SimplePublicObjectInputForCreate(
                properties={"email": "b@example.org", "mailchimp_tags": "MQL;Customer"}
            )
        )
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    (embedded,) = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert embedded["error"] == "INVALID_OPTION"
    assert embedded["name"] == "mailchimp_tags"
    assert embedded["message"] == "Customer was not one of the allowed options: [MQL, VIP]"


def test_a_missing_or_hubspot_defined_property_cannot_be_updated(hub: Hub) -> None:
    properties = hub.sdk().crm.properties.core_api
    with pytest.raises(PropertiesApiException) as missing:
        properties.update("contacts", "nothing_here", PropertyUpdate(options=options("A")))
    assert missing.value.status == 404
    with pytest.raises(PropertiesApiException) as defined:
        properties.update("contacts", "lifecyclestage", PropertyUpdate(options=options("A")))
    assert defined.value.status == 400
    properties.create("contacts", tags_property("MQL"))
    with pytest.raises(PropertiesApiException) as wrong:
        properties.update("contacts", "mailchimp_tags", PropertyUpdate(field_type="number"))
    assert wrong.value.status == 400
    assert "not valid for type enumeration" in json.loads(wrong.value.body)["message"]
