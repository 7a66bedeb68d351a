"""Which window a run wrote over a mid-run edit through (issue 11.7), read from the simulators'
timelines (``syncer.sandbox.timeline``: when each request arrived, ran and was answered).

A crossing edit the run wrote over (``soak_live``) is placed against the write that carried the
other side's value over it: the first write to that contact or member carried out after the
edit, and what syncer did around it. The labels:

HubSpot (the update, the check before it: the last batch read naming the contact):
  * ``HubSpot: update slowed inside HubSpot`` -- answered promptly enough, but HubSpot carried it
    out long after it arrived (the soak's ``slow`` fault), after the edit;
  * ``HubSpot: update re-sent`` -- a first attempt whose answer was lost, or an update sent
    again after the check;
  * ``HubSpot: update in flight when the run was killed``;
  * ``HubSpot: between the check and the update`` -- none of these: the moment between them;
  * ``HubSpot: the check came after the edit`` / ``HubSpot: no check before the update`` --
    should never happen (the check exists to see the edit).
Mailchimp (a direct write, or the operation of a batch and what syncer did about the batch):
  * ``Mailchimp: direct write after its read``;
  * ``Mailchimp: batch submitted after its check`` -- the edit between the listing before a
    round of batches and the submission;
  * ``Mailchimp: batch started between the last look and the DELETE``;
  * ``Mailchimp: batch seen changed at a look, not cancelled`` -- found started, or past the
    cancel cap;
  * ``Mailchimp: batch ran after its run ended`` -- the run stopped waiting (or was killed)
    with its batch still in the queue, so no look could see the edit;
  * ``Mailchimp: batch waiting after the look cap``;
  * ``Mailchimp: batch started between two looks`` -- the edit after one look, the batch
    started before the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syncer.core.identity import subscriber_hash
from tests.support.sandbox import SandboxDriver
from tests.support.soak_runs import RunRecord

Entry = dict[str, Any]
CONTACTS = "/crm/v3/objects/contacts/batch"
READ, UPDATE = f"POST {CONTACTS}/read", f"POST {CONTACTS}/update"
MEMBER = "/3.0/lists/{list_id}/members/{subscriber_hash}"
LISTING = "GET /3.0/lists/{list_id}/members"
SUBMIT, DELETE = "POST /3.0/batches", "DELETE /3.0/batches/{batch_id}"
#: An update that waited this long (seconds) inside HubSpot before running was slowed there.
SLOWED = 0.2
#: Looks a run makes at most while its batches wait unstarted (``syncer.run.cancel``).
MOST_LOOKS = 8
#: How far before an edit the timelines are read: the run's check may come well before it.
LOOKBACK = 300.0


@dataclass
class Timelines:
    """Both simulators' timelines from some moment on."""

    hubspot: list[Entry]
    mailchimp: list[Entry]

    @classmethod
    def read(cls, sim: SandboxDriver, since: float) -> Timelines:
        since -= LOOKBACK
        return cls(sim.timeline("hubspot", since), sim.timeline("mailchimp", since))


def window(
    side: str, subject: str, made: tuple[float, float], runs: Sequence[RunRecord], lines: Timelines
) -> str:
    """The window an edit made on ``side`` (``made``: the edit's request began and ended) was
    written over through; ``subject`` is the contact id or the member's address."""
    if side == "HubSpot":
        return _hubspot(subject, made, runs, lines.hubspot)
    return _mailchimp(subscriber_hash(subject), made, runs, lines.mailchimp)


def _hubspot(
    contact: str, made: tuple[float, float], runs: Sequence[RunRecord], entries: list[Entry]
) -> str:
    mine = [e for e in entries if contact in e["subjects"]]
    updates = [e for e in mine if e["key"] == UPDATE and e["ran"] is not None]
    later = [e for e in updates if e["ran"] >= made[0]]
    if not later:
        return "HubSpot: no update after the edit"
    update = later[0]
    checks = [e for e in mine if e["key"] == READ and e["done"] <= update["arrived"]]
    if not checks:
        return "HubSpot: no check before the update"
    check = checks[-1]
    if check["ran"] is not None and check["ran"] > made[1]:
        return "HubSpot: the check came after the edit"
    again = [e for e in updates if check["done"] <= e["arrived"] < update["arrived"]]
    if again or update["fault"] in ("drop", "malformed"):
        return "HubSpot: update re-sent"
    if update["ran"] - update["arrived"] >= SLOWED:
        return "HubSpot: update slowed inside HubSpot"
    run = _run_at(runs, update["arrived"])
    if run is not None and run.killed_in and run.ended < update["done"]:
        return "HubSpot: update in flight when the run was killed"
    return "HubSpot: between the check and the update"


def _mailchimp(
    hashed: str, made: tuple[float, float], runs: Sequence[RunRecord], entries: list[Entry]
) -> str:
    mine = [e for e in entries if hashed in e["subjects"]]
    writes = [e for e in mine if _member_write(e) and e["ran"] is not None]
    edits = [
        e
        for e in writes
        if not e["key"].startswith("batch ") and made[0] <= e["arrived"] and e["done"] <= made[1]
    ]
    edited = edits[-1]["ran"] if edits else made[1]
    later = [e for e in writes if e["ran"] > edited and e not in edits]
    if not later:
        return "Mailchimp: no write after the edit"
    write = later[0]
    if not write["key"].startswith("batch "):
        return "Mailchimp: direct write after its read"
    batch = write["subjects"][-1]
    submitted = next((e for e in entries if e["key"] == SUBMIT and batch in e["subjects"]), None)
    if submitted is not None and submitted["arrived"] > edited:
        return "Mailchimp: batch submitted after its check"
    if any(e["key"] == DELETE and batch in e["subjects"] for e in entries):
        return "Mailchimp: batch started between the last look and the DELETE"
    looks = [e for e in entries if _look(e) and edited < e["ran"] < write["ran"]]
    if looks:
        return "Mailchimp: batch seen changed at a look, not cancelled"
    run = _run_at(runs, submitted["arrived"]) if submitted is not None else None
    if run is None or run.ended < write["ran"]:
        return "Mailchimp: batch ran after its run ended"
    if run.counts.get("rechecks_while_waiting", 0) >= MOST_LOOKS:
        return "Mailchimp: batch waiting after the look cap"
    return "Mailchimp: batch started between two looks"


def _member_write(entry: Entry) -> bool:
    method = entry["key"].removeprefix("batch ").split(" ", 1)[0]
    return method in ("PUT", "PATCH") and entry["key"].endswith(MEMBER)


def _look(entry: Entry) -> bool:
    """A listing of the members changed since some moment: the check, a look, a fetch."""
    return entry["key"] == LISTING and "since_last_changed" in entry["query"] and entry["ran"]


def _run_at(runs: Sequence[RunRecord], moment: float) -> RunRecord | None:
    return next((run for run in runs if run.began <= moment <= run.ended), None)
