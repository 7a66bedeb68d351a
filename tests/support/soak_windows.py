"""Which window a run wrote over a mid-run edit through (issue 11.7), read from the simulators'
timelines (``syncer.sandbox.timeline``: when each request arrived, ran and was answered).

A crossing edit the run wrote over (``soak_live``) is placed against the write that carried the
other side's value over it: the first write to that contact or member carried out after the
edit, and what syncer did around it. The labels:

HubSpot (the update, the check before it: the last batch read naming the contact), each a
failure: every update is read back with its history and what it went over put back:
  * ``HubSpot: update slowed inside HubSpot`` -- answered promptly enough, but HubSpot carried it
    out long after it arrived (the soak's ``slow`` fault), after the edit;
  * ``HubSpot: update re-sent`` -- a first attempt whose answer was lost, or an update sent
    again after the check;
  * ``HubSpot: update in flight when the run was killed``;
  * ``HubSpot: between the check and the update`` -- none of these: the moment between them;
  * ``HubSpot: the check came after the edit`` / ``HubSpot: no check before the update`` --
    should never happen (the check exists to see the edit).
Mailchimp (a direct write, or the operation of a batch): the residual, which the soak counts
and lets pass (README, "An edit made while a run is under way"), is an edit made after syncer's
last look at that member -- a listing of the members changed, or a read of the member -- and
before Mailchimp ran the write:
  * ``Mailchimp residual: ... (a direct write)`` -- between its read and its write;
  * ``... (between two looks)`` -- the batch started before the next look;
  * ``... (its run had stopped waiting)`` -- the batch ran after its run ended or was killed.
Anything a look saw before the write ran must have been kept (held, cancelled) or put back:
  * ``Mailchimp: batch started between a look and its DELETE, not put back``;
  * ``Mailchimp: seen at a look, not kept or put back``.
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
#: The one window the soak lets lose an edit (module docstring).
RESIDUAL = "Mailchimp residual: edited after the last look, before the write ran"
#: An update that waited this long (seconds) inside HubSpot before running was slowed there.
SLOWED = 0.2
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
    looks = [e for e in entries if _look(e, hashed) and edited < e["ran"] < write["ran"]]
    if not write["key"].startswith("batch "):
        return (
            "Mailchimp: seen at a look, not kept or put back"
            if looks
            else f"{RESIDUAL} (a direct write)"
        )
    batch = write["subjects"][-1]
    if looks:
        if any(e["key"] == DELETE and batch in e["subjects"] for e in entries):
            return "Mailchimp: batch started between a look and its DELETE, not put back"
        return "Mailchimp: seen at a look, not kept or put back"
    submitted = next((e for e in entries if e["key"] == SUBMIT and batch in e["subjects"]), None)
    run = _run_at(runs, submitted["arrived"]) if submitted is not None else None
    if run is None or run.ended < write["ran"]:
        return f"{RESIDUAL} (its run had stopped waiting)"
    return f"{RESIDUAL} (between two looks)"


def _member_write(entry: Entry) -> bool:
    method = entry["key"].removeprefix("batch ").split(" ", 1)[0]
    return method in ("PUT", "PATCH") and entry["key"].endswith(MEMBER)


def _look(entry: Entry, hashed: str) -> bool:
    """A look that showed syncer the member: a listing of the members changed since some
    moment (the check, a look at waiting batches, a fetch) whose page held it, or a read of it.
    A listing that ran after the edit but did not answer the member (its ``since`` was later,
    or the member sat on a page read before) could not have shown it."""
    if entry["ran"] is None or hashed not in entry["subjects"]:
        return False
    return entry["key"] in (LISTING, f"GET {MEMBER}")


def _run_at(runs: Sequence[RunRecord], moment: float) -> RunRecord | None:
    return next((run for run in runs if run.began <= moment <= run.ended), None)


def trail(side: str, subject: str, made: tuple[float, float], lines: Timelines) -> str:
    """The requests naming that contact or member around the edit, for the journal of a
    clobber outside the residual: key, and arrived/ran/done in ms from the edit's request."""
    named = subject if side == "HubSpot" else subscriber_hash(subject)
    entries = lines.hubspot if side == "HubSpot" else lines.mailchimp
    shown = []
    for entry in entries:
        if named not in entry["subjects"] or not -60 < entry["arrived"] - made[0] < 60:
            continue
        times = [entry["arrived"], entry["ran"], entry["done"]]
        at = "/".join("-" if t is None else f"{(t - made[0]) * 1000:.0f}" for t in times)
        shown.append(f"{entry['key'].split(' /')[0]} {entry['key'].rsplit('/', 1)[-1]} {at}")
    return "; ".join(shown[-12:])
