"""The rate-limit floor: the least time and the fewest calls any client could need.

The floor is computed from the vendors' limits and page sizes and from the work the data demands;
it ignores local CPU (parsing, SQLite), which the limits do not govern. What is assumed:

Limits (the sandbox's defaults, which are HubSpot's and Mailchimp's documented ones):
  * HubSpot: at most ``W = 100`` calls in any rolling 10 s (``ten_second_limit``) for everything
    but search; search has its own ``s = 5`` calls per second and is exempt from that window.
  * Mailchimp: at most 10 simultaneous connections, no rate limit.

Page and batch sizes: HubSpot list 100 a page, search 200 a page, batch read/create/update 100
inputs a call (a read with history 50); Mailchimp 1,000 members a page, 1,000 operations a batch.

Fewest calls. A HubSpot read by search by ``hs_object_id`` windows needs no overlap and no 10,000
cap, so reading ``N_h`` contacts costs ``ceil(N_h / 200)``. Mailchimp lists archived members only
when asked (``status=archived``), and a sync must know about archives, so reading costs
``ceil(N_m / 1000) + ceil(max(A, 1) / 1000)`` with ``A`` archived members. The writes follow from
the data: ``ceil(C_h / 100) + ceil(U_h / 100)`` HubSpot creates and updates, ``ceil(H / 50)``
batch reads of property history for conflicts HubSpot's ``lastmodifieddate`` cannot decide,
``ceil(U_h / 100)`` batch reads of the contacts just before each update call (the re-read that
keeps an edit made since the read from being overwritten, issue 11 point 7: HubSpot has no
conditional update, so a sync that never loses an edit needs this look, which is a call in the
10-s window like the update itself), ``ceil(U_h / 50)`` batch reads with history of the updated
contacts once each update is answered (the check before it leaves the moment between its read
and HubSpot carrying the update out; the history shows an edit made then, which is written back:
``syncer.run.overwritten``), and for ``M`` Mailchimp upserts
``min(M, 3 * ceil(M / 1000))``: each batch is submitted, read once when finished (which gives
the result URL) and its archive downloaded; a handful of upserts are cheaper as direct calls,
one each. So

    calls_min = ceil(N_h/200) + ceil(N_m/1000) + ceil(max(A,1)/1000)
              + ceil(H/50) + ceil(C_h/100) + 2*ceil(U_h/100) + ceil(U_h/50)
              + min(M, 3*ceil(M/1000))

Least time. Only HubSpot's limits bind. A client may read by search (5/s, outside the window) and
by list (inside it) in parallel, and both windows start full, so in ``T`` seconds it can make at
most ``5T + 5`` searches and ``10T + 100`` other calls (a rolling window of 100 per 10 s admits
at most ``100 * (floor(T/10) + 1)``). The window calls are the list pages ``L``, the history reads,
the re-reads and the writes, ``B = ceil(H/50) + ceil(C_h/100) + 2*ceil(U_h/100) + ceil(U_h/50)``.
Reading all contacts needs ``200 S + 100 L >= N_h``. Taking every search and every spare window
call for reading:

    T_hubspot = max( (N_h - 200*5 - 100*100 + 100*B) / (200*5 + 100*10),  (B - 100) / 10,  0 )

and ``T_min = max(T_hubspot + 2 * latency, (ceil(P_m / 10) + 1) * latency)``: at least one read
and one dependent write must each wait a round trip, and Mailchimp's ``P_m`` pages are read ten
at a time (they fit inside HubSpot's time at any real size). Mailchimp's batches
run on Mailchimp's side after submission, and waiting for their results is not required of a
run (syncer collects them at the start of the next one), so it is not part of the floor. This is
the *relaxed* floor: a valid lower bound, but no client can reach it, for two reasons.

Achievable floor. (1) A Mailchimp-only member can be created in HubSpot only once *all* of HubSpot
has been read (until then a contact with that address may still turn up), so the ``ceil(C_h/100)``
creates come after the whole read, not mixed into it. (2) Windows are whole: a rolling window
admits at most 100 calls in *any* 10 s, so the creates need ``ceil(C_h/100)`` bursts at least 10 s
apart after the read, and the read's own list bursts are 10 s apart too; searches are 5 in each
second (the bucket starts full), a page sent at ``floor(k/5)`` s. ``achievable_seconds`` tries
every split: ``m`` list bursts of 100 (at 0, 10, ...) with search filling in the rest of the
contacts, the history reads, re-reads and updates placed in the spare room of the create bursts
first, then in the list bursts, and the first create burst at the later of the read's end and
``10 m``:

    T = max(read_done, 10 m) + 10 (ceil(C_h/100) - 1) + latency,   minimised over m

Guarded floor. A client with a blast-radius guard (syncer's DESIGN §7) cannot send a write the
guard counts (an unsubscribe) before the guard has seen the whole run, so those updates, with
their re-reads and history reads, come after the read with the creates. ``guarded_seconds`` is
the achievable floor with them there; the targets are judged against the achievable floor, and
this one is printed beside it, for what the guard itself costs.

History reads take at most 50 ids a call (reference §12.1), which both floors count. At the
benchmark's 100,000 a side the achievable floor is 70.0 s with the re-reads before updates and
the history reads after them (the same without the latter, which fit in room the list bursts
leave; 67.1 s without either, 65.1 s if history took 100 ids a call); the relaxed one 63.9 s
(60.3 s without the history reads after updates, 58.5 s without either).

Incremental minimum (the issue's definition): read only the pages holding the changes, write only
the changed records in full batches:

    calls_incremental = ceil(changed_h/200) + max(1, ceil(changed_m/1000)) + 1 (archived)
                      + 2*ceil(U_h/100) + ceil(U_h/50) + min(M, 3*ceil(M/1000))

(each update call after its re-read, its contacts read back with history), which is 3 calls
when nothing changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import ceil
from typing import Any

HUBSPOT_WINDOW = 100  # calls per rolling 10 s (ten_second_limit)
HUBSPOT_WINDOW_S = 10.0
SEARCH_PER_SECOND = 5  # search_per_second
LIST_PAGE = 100
SEARCH_PAGE = 200
HUBSPOT_BATCH = 100
HISTORY_BATCH = 50  # a batch read with propertiesWithHistory takes 50 ids (reference §12.1)
MAILCHIMP_PAGE = 1000
MAILCHIMP_BATCH = 1000
CALLS_PER_MAILCHIMP_BATCH = 3  # submit, one status read when finished, download
MAILCHIMP_CONNECTIONS = 10
#: Each HubSpot update call is preceded by a batch read of its contacts (module docstring).
REREADS_PER_UPDATE_CALL = 1
#: Each updated contact is read back with its history once the update is answered, 50 a call.
HISTORY_AFTER_UPDATE_BATCH = HISTORY_BATCH


@dataclass(frozen=True)
class Work:
    """What a sync must read and write, in records (not calls)."""

    hubspot_reads: int
    mailchimp_reads: int
    archived_reads: int
    history_contacts: int
    hubspot_creates: int
    hubspot_updates: int
    mailchimp_writes: int
    #: Of ``hubspot_updates``, those the blast-radius guard counts (unsubscribes).
    guarded_updates: int = 0


@dataclass(frozen=True)
class Floor:
    calls: int
    #: The relaxed floor: a valid bound that ignores the dependency and whole windows.
    seconds: float
    calls_by_part: dict[str, int]
    #: What a client can reach: creates after the whole read, windows in whole bursts.
    achievable_seconds: float = 0.0
    #: The same for a client with a blast-radius guard: its guarded updates after the read too.
    guarded_seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def mailchimp_write_calls(operations: int) -> int:
    if operations <= 0:
        return 0
    return min(operations, CALLS_PER_MAILCHIMP_BATCH * ceil(operations / MAILCHIMP_BATCH))


def update_calls(updates: int) -> int:
    """HubSpot update calls with the re-read before each and the history read after them."""
    return (1 + REREADS_PER_UPDATE_CALL) * ceil(updates / HUBSPOT_BATCH) + ceil(
        updates / HISTORY_AFTER_UPDATE_BATCH
    )


def window_calls(work: Work) -> int:
    """HubSpot calls that must go through the rolling 10-s window besides reading."""
    return (
        ceil(work.history_contacts / HISTORY_BATCH)
        + ceil(work.hubspot_creates / HUBSPOT_BATCH)
        + update_calls(work.hubspot_updates)
    )


def floor(work: Work, latency_s: float) -> Floor:
    """The fewest calls and the least time for a full read plus the writes the data demands."""
    parts = {
        "hubspot_search_pages": ceil(work.hubspot_reads / SEARCH_PAGE),
        "mailchimp_pages": ceil(work.mailchimp_reads / MAILCHIMP_PAGE),
        "mailchimp_archived_pages": ceil(max(work.archived_reads, 1) / MAILCHIMP_PAGE),
        "hubspot_history_reads": ceil(work.history_contacts / HISTORY_BATCH),
        "hubspot_creates": ceil(work.hubspot_creates / HUBSPOT_BATCH),
        "hubspot_updates": ceil(work.hubspot_updates / HUBSPOT_BATCH),
        "hubspot_rereads": REREADS_PER_UPDATE_CALL * ceil(work.hubspot_updates / HUBSPOT_BATCH),
        "hubspot_history_after_updates": ceil(work.hubspot_updates / HISTORY_AFTER_UPDATE_BATCH),
        "mailchimp_writes": mailchimp_write_calls(work.mailchimp_writes),
    }
    busy = window_calls(work)
    per_second = SEARCH_PAGE * SEARCH_PER_SECOND + LIST_PAGE * HUBSPOT_WINDOW / HUBSPOT_WINDOW_S
    head_start = SEARCH_PAGE * SEARCH_PER_SECOND + LIST_PAGE * HUBSPOT_WINDOW
    by_reading = (work.hubspot_reads - head_start + LIST_PAGE * busy) / per_second
    by_window = (busy - HUBSPOT_WINDOW) / (HUBSPOT_WINDOW / HUBSPOT_WINDOW_S)
    hubspot_s = max(by_reading, by_window, 0.0) + 2 * latency_s
    mailchimp_pages = parts["mailchimp_pages"] + parts["mailchimp_archived_pages"]
    mailchimp_s = (ceil(mailchimp_pages / MAILCHIMP_CONNECTIONS) + 1) * latency_s
    return Floor(
        calls=sum(parts.values()),
        seconds=max(hubspot_s, mailchimp_s),
        calls_by_part=parts,
        achievable_seconds=max(achievable_seconds(work, latency_s), mailchimp_s),
        guarded_seconds=max(achievable_seconds(work, latency_s, guarded=True), mailchimp_s),
    )


def achievable_seconds(work: Work, latency_s: float, *, guarded: bool = False) -> float:
    """The least time with the creates after the whole read and whole windows (the docstring's
    *achievable floor*), minimised over how many list bursts the read uses; ``guarded`` puts
    the guarded updates' calls after the read with the creates (the *guarded floor*)."""
    after_read = update_calls(work.guarded_updates) if guarded else 0
    creates = ceil(work.hubspot_creates / HUBSPOT_BATCH) + after_read
    others = window_calls(work) - creates  # history reads, re-reads, updates: any time once read
    tail = ceil(creates / HUBSPOT_WINDOW)  # bursts of creates, after the whole read
    in_tail = min(others, tail * HUBSPOT_WINDOW - creates)
    best = float("inf")
    for bursts in range(ceil(work.hubspot_reads / LIST_PAGE / HUBSPOT_WINDOW) + 2):
        listed = bursts * HUBSPOT_WINDOW - (others - in_tail)
        if listed < 0:
            continue
        listed = min(listed, ceil(work.hubspot_reads / LIST_PAGE))
        searches = ceil(max(0, work.hubspot_reads - LIST_PAGE * listed) / SEARCH_PAGE)
        read_done = max(
            (searches - 1) // SEARCH_PER_SECOND + latency_s if searches else 0.0,
            HUBSPOT_WINDOW_S * (bursts - 1) + latency_s if listed else 0.0,
        )
        if not tail:
            best = min(best, read_done)
            continue
        # The last list burst and the first (the partial) create burst share one window when
        # both fit in it; otherwise the creates wait for the list burst to leave the window.
        used = listed + others - in_tail
        last_read = used - HUBSPOT_WINDOW * (bursts - 1) if bursts else 0
        first_create = creates + in_tail - HUBSPOT_WINDOW * (tail - 1)
        shared = last_read + first_create <= HUBSPOT_WINDOW
        first = max(read_done, HUBSPOT_WINDOW_S * (bursts - 1 if shared and bursts else bursts))
        best = min(best, first + HUBSPOT_WINDOW_S * (tail - 1) + latency_s)
    return best


def incremental_minimum(
    changed_hubspot: int, changed_mailchimp: int, hubspot_updates: int, mailchimp_writes: int
) -> Floor:
    """Calls to read only the changed pages and write only the changed records."""
    parts = {
        "hubspot_search_pages": max(1, ceil(changed_hubspot / SEARCH_PAGE)),
        "mailchimp_pages": max(1, ceil(changed_mailchimp / MAILCHIMP_PAGE)),
        "mailchimp_archived_pages": 1,
        "hubspot_updates": ceil(hubspot_updates / HUBSPOT_BATCH),
        "hubspot_rereads": REREADS_PER_UPDATE_CALL * ceil(hubspot_updates / HUBSPOT_BATCH),
        "hubspot_history_after_updates": ceil(hubspot_updates / HISTORY_AFTER_UPDATE_BATCH),
        "mailchimp_writes": mailchimp_write_calls(mailchimp_writes),
    }
    return Floor(calls=sum(parts.values()), seconds=0.0, calls_by_part=parts)
