"""Unit tests of the pure parts: paging, search windows, throttling, transforms."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncer.config import FieldMapping
from syncer.connectors.hubspot.full import all_contact_pages
from syncer.connectors.hubspot.search import changed_contact_pages, to_ms
from syncer.connectors.paging import next_offset
from syncer.connectors.ratelimit import HubSpotThrottle, RollingWindow
from syncer.core.transforms import as_date, conversion, normalise
from syncer.run.write_mailchimp import FIRST_POLL, poll_pauses

ROOT = Path(__file__).resolve().parent.parent
# -- paging ---------------------------------------------------------------------------------


def test_next_offset_overlaps_pages() -> None:
    assert next_offset(0, ["a", "b", "c"], 3, 1, set()).offset == 2
    assert next_offset(2, ["c", "d", "e"], 3, 1, {"a", "b", "c"}).offset == 4
    assert next_offset(4, ["e"], 3, 1, {"a", "b", "c", "d", "e"}).offset is None


def test_next_offset_steps_back_when_the_set_shifted_past_the_overlap() -> None:
    step = next_offset(4, ["x", "y", "z"], 3, 1, {"a", "b", "c", "d", "e"})
    assert step.stepped_back
    assert step.offset == 3


def _contact(contact_id: int, modified: datetime) -> dict[str, Any]:
    stamp = modified.isoformat().replace("+00:00", "Z")
    return {"id": str(contact_id), "properties": {"lastmodifieddate": stamp}}


class FakeSearch:
    """HubSpot's search semantics over an in-memory list, with its result window."""

    def __init__(self, contacts: list[dict[str, Any]], cap: int) -> None:
        self.contacts = contacts
        self.cap = cap
        self.calls = 0

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        filters = body["filterGroups"][0]["filters"]
        rows = [c for c in self.contacts if all(self._matches(c, f) for f in filters)]
        key = body["sorts"][0]["propertyName"]
        rows.sort(key=lambda c: (self._value(c, key), int(c["id"])))
        offset, limit = int(body["after"]), body["limit"]
        assert offset + limit <= self.cap, "the client paged past the result window"
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        return {
            "total": len(rows),
            "results": page,
            **({"paging": {"next": {"after": str(offset + limit)}}} if more else {}),
        }

    @staticmethod
    def _value(contact: dict[str, Any], name: str) -> int:
        if name == "hs_object_id":
            return int(contact["id"])
        moment = datetime.fromisoformat(
            contact["properties"]["lastmodifieddate"].replace("Z", "+00:00")
        )
        return to_ms(moment)

    def _matches(self, contact: dict[str, Any], rule: dict[str, str]) -> bool:
        value, target = self._value(contact, rule["propertyName"]), int(rule["value"])
        return {"GTE": value >= target, "GT": value > target, "EQ": value == target}[
            rule["operator"]
        ]


def test_search_rewindows_past_the_cap_and_reads_each_contact_once() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    contacts = [_contact(i, start + timedelta(seconds=i // 7)) for i in range(2500)]
    search = FakeSearch(contacts, cap=400)
    pages = list(changed_contact_pages(search, start, limit=100, cap=400, overlap=5))
    ids = [c["id"] for page in pages for c in page]
    assert sorted(ids, key=int) == [str(i) for i in range(2500)]
    assert len(ids) == len(set(ids))


def test_one_timestamp_larger_than_the_cap_is_paged_by_id_and_ends() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    contacts = [_contact(i, moment) for i in range(1000)] + [
        _contact(1000 + i, moment + timedelta(seconds=1)) for i in range(50)
    ]
    search = FakeSearch(contacts, cap=300)
    ids = [
        c["id"] for page in changed_contact_pages(search, moment, limit=100, cap=300) for c in page
    ]
    assert sorted(ids, key=int) == [str(i) for i in range(1050)]
    assert len(ids) == len(set(ids))
    assert search.calls < 40


# -- throttling -----------------------------------------------------------------------------


def test_rolling_window_delays_the_request_that_does_not_fit() -> None:
    window = RollingWindow(limit=3, window=10)
    for moment in (0.0, 1.0, 2.0):
        assert window.delay(moment) == 0
        window.record(moment)
    assert window.delay(3.0) == pytest.approx(7.0)
    assert window.delay(10.5) == 0


def test_throttle_keeps_a_margin_and_honours_the_remaining_header() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    throttle = HubSpotThrottle(12, 5, margin=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        throttle.before_request("POST /crm/v3/objects/contacts/batch/update")
    assert slept == []
    throttle.before_request("POST /crm/v3/objects/contacts/batch/update")
    assert slept == [pytest.approx(10.0)]
    throttle.after_response(
        "x",
        {
            "X-HubSpot-RateLimit-Remaining": "1",
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": "50000",
        },
    )
    throttle.before_request("POST /crm/v3/objects/contacts/batch/update")
    assert len(slept) == 2
    assert throttle.usage.daily_used_share == pytest.approx(0.8)


def test_search_has_its_own_per_second_bucket() -> None:
    now = [0.0]
    slept: list[float] = []
    throttle = HubSpotThrottle(
        100, 2, clock=lambda: now[0], sleep=lambda s: slept.append(s) or None
    )
    throttle.before_request("POST /crm/v3/objects/contacts/search")
    throttle.before_request("POST /crm/v3/objects/contacts/search")
    assert slept == []
    now[0] = 0.5
    throttle.before_request("POST /crm/v3/objects/contacts/batch/read")
    assert slept == []


def test_searches_are_counted_from_their_answers_so_none_arrives_early() -> None:
    # HubSpot counts searches as they arrive, which lies between sending and the answer. Five
    # sent at 0 and answered at 0.1 may have arrived as late as 0.1: the sixth waits for 1.1,
    # not 1.0 (a send-time count would let it arrive less than a second after the first).
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    search = "POST /crm/v3/objects/contacts/search"
    throttle = HubSpotThrottle(100, 5, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        throttle.before_request(search)
    now[0] = 0.1
    for _ in range(5):
        throttle.after_response(search, {})
    throttle.before_request(search)
    assert now[0] == pytest.approx(1.1)
    assert slept == [pytest.approx(1.0)]


def test_a_search_in_flight_holds_its_place_until_it_ends() -> None:
    now = [0.0]
    throttle = HubSpotThrottle(100, 1, clock=lambda: now[0], sleep=lambda s: None)
    throttle.before_request("POST /crm/v3/objects/contacts/search")
    assert throttle._search.delay(5.0) > 0  # never answered yet: still taking the place
    throttle.after_response("POST /crm/v3/objects/contacts/search", {})  # failed: no headers
    assert throttle._search.delay(1.0) == 0


# -- transforms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-04", "2026-03-04"),
        ("2026-03-04T23:30:00.000Z", "2026-03-04"),
        ("2026-03-04T23:30:00-05:00", "2026-03-05"),
        ("1772582400000", "2026-03-04"),
        ("soon", "soon"),
    ],
    ids=["date", "iso-z", "iso-offset", "epoch-ms", "garbage"],
)
def test_dates(value: str, expected: str) -> None:
    assert as_date(value) == expected


def test_value_maps_and_booleans_go_both_ways() -> None:
    stages = conversion(
        FieldMapping("lifecyclestage", "STAGE", values={"salesqualifiedlead": "SQL"})
    )
    assert stages.to_mailchimp("salesqualifiedlead") == "SQL"
    assert stages.to_hubspot("SQL") == "salesqualifiedlead"
    assert stages.to_mailchimp("lead") == "lead"
    flag = conversion(FieldMapping("vip", "VIP", transform="boolean"))
    assert (flag.to_mailchimp("true"), flag.to_hubspot("No"), flag.to_mailchimp("")) == (
        "Yes",
        "false",
        "",
    )
    assert not stages.plain
    assert not flag.plain


def test_only_an_untransformed_mapping_is_plain() -> None:
    plain = conversion(FieldMapping("firstname", "FNAME"))
    dated = conversion(FieldMapping("last_contacted", "LASTCONT", transform="date"))
    assert plain.plain
    assert (plain.to_mailchimp("Ada"), plain.to_hubspot("")) == ("Ada", "")
    assert not dated.plain
    assert (dated.to_mailchimp("1772582400000"), dated.to_hubspot("")) == ("2026-03-04", "")


def test_normalise() -> None:
    assert [normalise(v) for v in (None, 5.0, 5.5, True, " x ")] == ["", "5", "5.5", "true", "x"]


def test_a_full_read_from_both_ends_meets_in_the_middle_without_gaps() -> None:
    ids = list(range(1, 2_001))

    def list_page(after: str | None) -> dict[str, Any]:
        start = int(after or 0)
        page = [{"id": str(i)} for i in ids if i > start][:100]
        more = page and int(page[-1]["id"]) < ids[-1]
        return {
            "results": page,
            **({"paging": {"next": {"after": page[-1]["id"]}}} if more else {}),
        }

    def search_page(below: int | None) -> dict[str, Any]:
        time.sleep(0.001)  # let both readers make progress
        top = below if below is not None else ids[-1] + 1
        return {"results": [{"id": str(i)} for i in reversed(ids) if i < top][:200]}

    read = [int(raw["id"]) for page in all_contact_pages(list_page, search_page) for raw in page]
    assert set(read) == set(ids)
    assert len(read) - len(ids) <= 300, "the readers overlapped more than a page each"


def test_a_full_read_finds_the_newest_contacts_search_does_not_show_yet() -> None:
    """Search lags (reference §12.4): contacts created moments ago are listed, not searched."""
    ids = list(range(1, 1_001))
    indexed = ids[:-30]

    def list_page(after: str | None) -> dict[str, Any]:
        time.sleep(0.005)  # search gets ahead, as it does against HubSpot
        start = int(after or 0)  # HubSpot's ``after`` is the id the page starts at
        page = [{"id": str(i)} for i in ids if i >= start][:100]
        more = page and int(page[-1]["id"]) < ids[-1]
        following = str(int(page[-1]["id"]) + 1) if more else None
        return {"results": page, **({"paging": {"next": {"after": following}}} if more else {})}

    def search_page(below: int | None) -> dict[str, Any]:
        top = below if below is not None else ids[-1] + 1
        return {"results": [{"id": str(i)} for i in reversed(indexed) if i < top][:200]}

    read = [int(raw["id"]) for page in all_contact_pages(list_page, search_page) for raw in page]
    assert set(read) == set(ids)


def test_a_full_read_of_one_list_page_costs_one_list_call_whoever_is_first() -> None:
    """The list's last page ends its walk: meeting search there is no reason for another call.

    Search answers first here (the list is slower), which is the order that used to cost a
    second list call for the ids above search's top, although the list had no next page.
    """
    ids = list(range(1, 11))
    searched = threading.Event()
    list_calls = 0

    def list_page(after: str | None) -> dict[str, Any]:
        nonlocal list_calls
        list_calls += 1
        searched.wait(5)
        start = int(after or 0)
        return {"results": [{"id": str(i)} for i in ids if i >= start][:100]}

    def search_page(below: int | None) -> dict[str, Any]:
        top = below if below is not None else ids[-1] + 1
        answer = {"results": [{"id": str(i)} for i in reversed(ids) if i < top][:200]}
        searched.set()
        return answer

    read = [int(raw["id"]) for page in all_contact_pages(list_page, search_page) for raw in page]
    assert set(read) == set(ids)
    assert list_calls == 1


def test_batch_polls_start_soon_and_back_off_to_the_configured_interval() -> None:
    # A batch done in a second is seen after a second, not after a whole poll interval.
    pauses = poll_pauses(2.0)
    assert [next(pauses) for _ in range(6)] == [FIRST_POLL, 0.5, 1.0, 2.0, 2.0, 2.0]
    shorter = poll_pauses(0.1)
    assert [next(shorter) for _ in range(3)] == [0.1, 0.1, 0.1]
