"""How a decision with group and permission values becomes member writes (pure, core/plan.py):
apart from a status or merge fields, together for a create or a rename."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.core.identity import subscriber_hash
from syncer.core.models import Decision, FieldChange
from syncer.core.plan import landed, operations_for, without_preferences
from syncer.core.records import ContactRow, Operation
from tests.test_reconcile_preferences import EMAIL, EVENTS, NEWS, OFFERS, make

GRANT = {f"@permission:{EMAIL}": "true"}
ROW = ContactRow(id=1, email="ann@real.org", mailchimp_id="h1", mc={"email": "ann@real.org"})


def decision(**kwargs: Any) -> Decision:
    fields = kwargs.pop("fields", {})
    changes = tuple(FieldChange("mailchimp", name, "", value) for name, value in fields.items())
    agreed = {
        ("gdpr_email" if name.startswith("@permission") else "firstname"): ("x", "x")
        for name in fields
    }
    return Decision(
        mailchimp_fields=fields, changes=changes, agreed_after_mailchimp=agreed, **kwargs
    )


def bodies(d: Decision, row: ContactRow = ROW) -> list[tuple[str, dict[str, Any]]]:
    return [(op.action, op.payload["body"]) for op in operations_for(row, d, make())]


def test_preferences_alone_are_one_write_with_mailchimps_shapes() -> None:
    ((action, body),) = bodies(decision(fields={**GRANT, f"@interest:{EVENTS}": "false"}))
    assert action == "update"
    assert body == {
        "email_address": "ann@real.org",
        "interests": {EVENTS: False},
        "marketing_permissions": [{"marketing_permission_id": EMAIL, "enabled": True}],
    }


def test_a_whole_group_is_written_as_every_one_of_its_interests() -> None:
    ((_, body),) = bodies(decision(fields={"@category:c3": "Offers"}))
    assert body["interests"] == {NEWS: False, OFFERS: True}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"mailchimp_status": "unsubscribed"}, id="with-an-unsubscribe"),
        pytest.param({"fields": {"FNAME": "Ann", **GRANT}}, id="with-a-merge-field"),
    ],
)
def test_beside_a_status_or_a_merge_field_they_go_apart(extra: dict[str, Any]) -> None:
    fields = extra.pop("fields", GRANT)
    operations = operations_for(ROW, decision(fields=fields, **extra), make())
    assert [op.action for op in operations][1] == "preferences"
    main, preferences = (op.payload for op in operations)
    assert "marketing_permissions" not in main["body"]
    assert set(preferences["body"]) == {"email_address", "marketing_permissions"}
    assert [c["field"] for c in preferences["changes"]] == [f"@permission:{EMAIL}"]
    assert [c["field"] for c in main["changes"]] == [k for k in fields if k == "FNAME"]
    assert set(operations[1].agreed) == {"gdpr_email"}
    assert "gdpr_email" not in operations[0].agreed


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"create_mailchimp": True, "mailchimp_status": "subscribed"}, id="create"),
        pytest.param(
            {"mailchimp_email": "new@real.org", "mailchimp_status": "unsubscribed"}, id="rename"
        ),
    ],
)
def test_a_create_or_a_rename_keeps_them_in_its_one_write(extra: dict[str, Any]) -> None:
    ((operation),) = operations_for(ROW, decision(fields=GRANT, **extra), make())
    body = operation.payload["body"]
    assert body["marketing_permissions"] == [{"marketing_permission_id": EMAIL, "enabled": True}]
    alone = without_preferences(operation.payload)
    assert alone is not None, "refused, it goes again without them"
    assert "marketing_permissions" not in alone["body"]
    assert alone["body"]["email_address"] == body["email_address"]
    assert alone["body"].get("status", alone["body"].get("status_if_new"))
    assert not alone["changes"]


def test_a_refused_write_of_preferences_alone_is_not_sent_again() -> None:
    row = ContactRow(1, "ann@real.org", mailchimp_id=subscriber_hash("ann@real.org"), mc=ROW.mc)
    ((operation),) = operations_for(row, decision(fields=GRANT), make())
    assert without_preferences(operation.payload) is None


def test_a_write_whose_answer_was_lost_has_landed_only_if_the_member_holds_its_values() -> None:
    ((_, body),) = bodies(decision(fields=GRANT))
    payload = {"hash": "h1", "body": body}
    operation = Operation(7, 1, "mailchimp", "update", payload, {}, "submitted")
    held = {"email": "ann@real.org", "status": "subscribed"}
    assert not landed(operation, ContactRow(1, "ann@real.org", mc={**held, "fields": {}}))
    fields = {f"@permission:{EMAIL}": "true"}
    assert landed(operation, ContactRow(1, "ann@real.org", mc={**held, "fields": fields}))
