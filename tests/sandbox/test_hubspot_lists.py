"""The simulated Lists v3 API, through the official SDK (``crm.lists``) and raw HTTP.

The SDK's models refuse answers lacking required fields, so each SDK call that returns is also a
check of the response shapes (sandbox/hubspot/lists.py cites the sources for each rule).
"""

from __future__ import annotations

import pytest
from hubspot.crm.lists import ApiException, ListCreateRequest, ListSearchRequest

from tests.sandbox.hubspot_fixtures import Hub

pytestmark = pytest.mark.timeout(30)

LISTS = "/crm/v3/lists"


def dynamic_branch(prop: str, value: str) -> dict[str, object]:
    return {
        "filterBranchType": "OR",
        "filterBranches": [
            {
                "filterBranchType": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": prop,
                        "operation": {
                            "operationType": "MULTISTRING",
                            "operator": "IS_EQUAL_TO",
                            "values": [value],
                        },
                    }
                ],
            }
        ],
        "filters": [],
    }


def people(hub: Hub, count: int, **properties: str) -> list[str]:
    return hub.seed(
        *({"properties": {"email": f"p{i}@example.com", **properties}} for i in range(count))
    )


def test_a_manual_list_is_created_found_by_name_and_filled_through_the_sdk(hub: Hub) -> None:
    ids = people(hub, 3)
    lists = hub.sdk().crm.lists
    created = lists.lists_api.create(
        ListCreateRequest(object_type_id="0-1", processing_type="MANUAL", name="MQLs")
    ).list
    assert (created.name, created.processing_type, created.size) == ("MQLs", "MANUAL", 0)
    answer = lists.memberships_api.add(created.list_id, [*ids[:2], "999999"])
    assert answer.records_ids_added == ids[:2]
    assert answer.record_ids_missing == ["999999"]
    by_name = lists.lists_api.get_by_name("mqls", "0-1").list
    assert (by_name.list_id, by_name.size) == (created.list_id, 2)
    found = lists.lists_api.do_search(ListSearchRequest(query="mq")).lists
    assert [item.list_id for item in found] == [created.list_id]
    page = lists.memberships_api.get_page(created.list_id, limit=250)
    assert [item.record_id for item in page.results] == ids[:2]
    record = lists.memberships_api.get_lists("0-1", ids[0])
    assert [item.list_id for item in record.results] == [created.list_id]


def test_memberships_page_by_record_id_at_most_250(hub: Hub) -> None:
    ids = people(hub, 7)
    list_id = hub.admin(
        "POST", "lists", {"name": "All", "processingType": "MANUAL", "members": ids}
    )["listId"]
    assert (
        hub.call("GET", f"{LISTS}/{list_id}/memberships", params={"limit": 251}).status_code == 400
    )
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = hub.sdk().crm.lists.memberships_api.get_page(list_id, after=after, limit=3)
        seen += [item.record_id for item in page.results]
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    assert seen == sorted(ids, key=int)


def test_a_dynamic_list_follows_its_filter_and_refuses_manual_changes(hub: Hub) -> None:
    ids = people(hub, 2, lifecyclestage="lead")
    lists = hub.sdk().crm.lists
    created = lists.lists_api.create(
        ListCreateRequest(
            object_type_id="0-1",
            processing_type="DYNAMIC",
            name="Customers",
            filter_branch=dynamic_branch("lifecyclestage", "customer"),
        )
    ).list
    assert lists.memberships_api.get_page(created.list_id).results == []
    hub.ok(
        "PATCH",
        f"/crm/v3/objects/contacts/{ids[1]}",
        {"properties": {"lifecyclestage": "customer"}},
    )
    members = lists.memberships_api.get_page(created.list_id).results
    assert [item.record_id for item in members] == [ids[1]]
    with pytest.raises(ApiException) as refused:
        lists.memberships_api.add(created.list_id, [ids[0]])
    assert refused.value.status == 400
    hub.ok(
        "PATCH", f"/crm/v3/objects/contacts/{ids[1]}", {"properties": {"lifecyclestage": "lead"}}
    )
    assert lists.memberships_api.get_page(created.list_id).results == []


def test_unknown_lists_are_404_and_archived_contacts_leave_every_list(hub: Hub) -> None:
    ids = people(hub, 2)
    list_id = hub.admin("POST", "lists", {"name": "A", "processingType": "MANUAL", "members": ids})[
        "listId"
    ]
    assert hub.call("GET", f"{LISTS}/424242").status_code == 404
    missing = hub.call("GET", f"{LISTS}/object-type-id/0-1/name/Nope")
    assert (missing.status_code, missing.json()["category"]) == (404, "OBJECT_NOT_FOUND")
    hub.ok("DELETE", f"/crm/v3/objects/contacts/{ids[0]}")
    page = hub.ok("GET", f"{LISTS}/{list_id}/memberships")
    assert [item["recordId"] for item in page["results"]] == [ids[1]]


def test_a_person_changing_a_manual_list_in_the_ui_is_an_admin_call(hub: Hub) -> None:
    ids = people(hub, 2)
    list_id = hub.admin("POST", "lists", {"name": "Canary", "processingType": "MANUAL"})["listId"]
    hub.admin("POST", "lists/members", {"listId": list_id, "add": ids})
    hub.admin("POST", "lists/members", {"listId": list_id, "remove": [ids[0]]})
    page = hub.ok("GET", f"{LISTS}/{list_id}/memberships")
    assert [item["recordId"] for item in page["results"]] == [ids[1]]
    assert hub.ok("GET", f"{LISTS}/{list_id}")["list"]["size"] == 1
