"""Rate limits and injected faults of the HubSpot simulator, with HubSpot's headers and bodies."""

from __future__ import annotations

import time

import pytest

from tests.sandbox.hubspot_fixtures import CONTACTS, Hub

pytestmark = pytest.mark.timeout(30)
SEARCH = f"{CONTACTS}/search"
LIMIT_HEADERS = {
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
}


def test_the_ten_second_window_refuses_the_request_after_the_limit(hub: Hub) -> None:
    hub.configure(ten_second_limit=5)
    remaining = []
    for _ in range(5):
        response = hub.call("GET", CONTACTS)
        assert response.status_code == 200
        assert set(response.headers) >= LIMIT_HEADERS
        assert response.headers["X-HubSpot-RateLimit-Max"] == "5"
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        remaining.append(int(response.headers["X-HubSpot-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = hub.call("GET", CONTACTS)
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {
        "status",
        "message",
        "errorType",
        "correlationId",
        "policyName",
        "groupName",
    }
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["groupName"].startswith("publicapi:private_app-api-calls-ten-secondly:")
    assert refused.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_a_refused_request_takes_nothing_from_the_quota(hub: Hub) -> None:
    hub.configure(ten_second_limit=2)
    for _ in range(2):
        last = hub.call("GET", CONTACTS)
    daily = last.headers["X-HubSpot-RateLimit-Daily-Remaining"]
    for _ in range(3):
        refused = hub.call("GET", CONTACTS)
        assert refused.status_code == 429
        assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == daily
    unauthenticated = hub.call("GET", CONTACTS, token=None)
    assert unauthenticated.status_code == 401, "auth is checked before the rate limit"


def test_the_hubspot_default_is_100_per_ten_seconds(hub: Hub) -> None:
    statuses = [hub.call("GET", CONTACTS).status_code for _ in range(101)]
    assert statuses == [200] * 100 + [429]


def test_search_has_its_own_per_second_limit(hub: Hub) -> None:
    hub.configure(search_per_second=2, ten_second_limit=3)
    for _ in range(3):
        hub.call("GET", CONTACTS)
    assert hub.call("GET", CONTACTS).status_code == 429, "the ten-second window is full"
    answers = [hub.call("POST", SEARCH, {}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429], "search is exempt from it"
    assert "X-HubSpot-RateLimit-Max" not in answers[0].headers
    body = answers[2].json()
    assert body["message"] == "You have reached your secondly limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "SECONDLY")
    time.sleep(1.05)
    assert hub.call("POST", SEARCH, {}).status_code == 200


def test_searches_leave_the_ten_second_window_alone(hub: Hub) -> None:
    hub.configure(search_per_second=100)
    for _ in range(20):
        hub.call("POST", SEARCH, {})
    response = hub.call("GET", CONTACTS)
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(250_000 - 21)


def test_the_daily_quota_resets_with_the_simulated_day(hub: Hub) -> None:
    hub.configure(daily_limit=3)
    assert [hub.call("GET", CONTACTS).status_code for _ in range(3)] == [200] * 3
    refused = hub.call("GET", CONTACTS)
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."
    hub.admin("POST", "clock", {"advance": 86_400})
    assert hub.call("GET", CONTACTS).status_code == 200


def test_reset_empties_the_windows(hub: Hub) -> None:
    hub.configure(ten_second_limit=1)
    hub.call("GET", CONTACTS)
    assert hub.call("GET", CONTACTS).status_code == 429
    hub.admin("POST", "reset")
    assert hub.call("GET", CONTACTS).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "key", "value"),
    [
        ("500", 500, "category", "INTERNAL_ERROR"),
        ("502", 502, "category", "INTERNAL_ERROR"),
        ("503", 503, "category", "INTERNAL_ERROR"),
        ("504", 504, "category", "INTERNAL_ERROR"),
        ("423", 423, "category", "LOCKED"),
        ("429", 429, "policyName", "TEN_SECONDLY_ROLLING"),
    ],
    ids=["500", "502", "503", "504", "423", "429"],
)
def test_faults_answer_in_hubspot_shapes(
    hub: Hub, kind: str, status: int, key: str, value: str
) -> None:
    hub.admin("POST", "faults", {"rate": 1, "kinds": [kind]})
    response = hub.call("GET", CONTACTS)
    assert response.status_code == status
    assert response.json()[key] == value
    assert response.json()["status"] == "error"
    assert response.headers["X-HubSpot-Correlation-Id"] == response.json()["correlationId"]
    hub.admin("POST", "faults", {"rate": 0})
    assert hub.call("GET", CONTACTS).status_code == 200
