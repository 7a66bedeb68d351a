"""Fetching both sides into the cache, page by page and side by side, and moving the cursors.

The two APIs are read at the same time, each by its own thread, since neither's rate limit is
spent by the other; one thread (the caller's) writes every page to the cache, so SQLite is only
ever touched from one place.

A cursor is a server's own timestamp: the newest modification seen, or the server's clock when
the walk began, whichever is later (everything changed before that moment was there to be read).
The second matters after a sync: its own writes are the newest changes, and a cursor left at them
would make every quiet run re-read the whole write burst inside the overlap. A cursor moves only
once the whole walk below it is committed, so a run stopped half-way (``--max-time``, a signal, a
crash) fetches the same window again; the cache de-duplicates what it already holds.

HubSpot's search indexes most changes within seconds, which ``sync.overlap_seconds`` covers, but
some only after minutes (reference §12.4): a change indexed later than the run interval plus the
overlap would fall behind the cursor for good. So every ``sync.reread_every_minutes`` (measured
on HubSpot's own cursor) one run also re-reads an older slice of time: the changes stamped from
the window less the period before the last re-read's cursor up to as far before this one's
(``sync.reread_window_minutes`` less ``sync.reread_every_minutes``). The slices follow each
other without a gap or an overlap, so every change is re-read exactly once (a burst of 10,000
edits costs its search calls once, not once per re-read whose window holds it), and when it is
re-read it is at least the window less the period old: any change indexed up to that late is
caught. After a pause longer than a period, a re-read reads no further back than the window
and a period.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.cache.contacts import PageStats
from syncer.connectors.http import ApiSession
from syncer.core import causes
from syncer.core.models import MailchimpMember, parse_time
from syncer.run.context import RunContext
from syncer.run.pipeline import Pipeline
from syncer.run.properties import load_property_kinds
from syncer.run.recheck import note_waiting

log = logging.getLogger("syncer.run")

#: The HubSpot cursor at the last wider re-read (see the module docstring), in the cache's meta.
REREAD = "hubspot_reread"
#: Pages waiting to be saved; a full queue holds the readers back (memory stays bounded).
QUEUE_PAGES = 4
#: Seconds between looks at the pipeline's calls while no page comes.
POLL_SECONDS = 0.05
#: Seconds a reader keeps offering its end after a stop, while the saving thread drains.
HAND_OVER_AFTER_STOP = 10.0
#: Seconds of fetched pages saved in one transaction.
COMMIT_SECONDS = 15.0


@dataclass
class _Walk:
    """One side's reading: where pages come from, how they are saved and dated."""

    source: str
    api: ApiSession
    pages: Iterable[Sequence[Any]]
    save: Callable[[Sequence[Any]], PageStats]
    stamp: Callable[[Any], datetime]
    newest: datetime | None = None
    finished: bool = False
    #: For a wider re-read: the cursor it started from (``*``: a full read), recorded once the
    #: walk is complete.
    reread_from: str | None = None


class _Done:
    """Put on the queue by a reader when its walk has ended."""


def fetch(ctx: RunContext, full: bool, pipeline: Pipeline | None = None) -> None:
    """Read both sides' changes (everything with ``full`` or before a first cursor); with a
    ``pipeline``, people are decided as their pages are saved (``pipeline``; the caller
    finishes and closes it)."""
    load_property_kinds(ctx)
    walks = [_hubspot_walk(ctx, full), _mailchimp_walk(ctx, full)]
    everything = full or any(ctx.store.cursor(walk.source) is None for walk in walks)
    ctx.progress.phase(
        f"fetching {'all' if everything else 'changed'} HubSpot contacts and Mailchimp members"
    )
    pages: queue.Queue[tuple[_Walk, object]] = queue.Queue(maxsize=QUEUE_PAGES)
    stop = threading.Event()
    for walk in walks:
        threading.Thread(
            target=_read, args=(walk, pages, stop), name=f"fetch-{walk.source}", daemon=True
        ).start()
    try:
        with ctx.store.reading_cache():
            _save_pages(ctx, pages, stop, len(walks), pipeline)
    finally:
        stop.set()
    for walk in walks:
        started = walk.api.walk_started()
        reached = max((m for m in (walk.newest, started) if m is not None), default=None)
        if not walk.finished or reached is None:
            continue
        ctx.store.advance_cursor(walk.source, reached.astimezone(UTC).isoformat())
        if walk.reread_from == "*":
            # A full read covers every late change too: the next wider re-read is a period on.
            ctx.store.set_meta(REREAD, reached.astimezone(UTC).isoformat())
        elif walk.reread_from is not None:
            ctx.store.set_meta(REREAD, walk.reread_from)
            ctx.counts["hubspot_rereads"] += 1


def _save_pages(
    ctx: RunContext,
    pages: queue.Queue[tuple[_Walk, object]],
    stop: threading.Event,
    readers: int,
    pipeline: Pipeline | None,
) -> None:
    """Save pages as they arrive, a few seconds' worth to a transaction.

    A transaction per page writes its people's rows, and the pages of the random-order indexes
    they touch, once per page, most of them again with the next page; a transaction of many
    pages writes each once. Committing less often risks nothing: the cursors move only after
    the whole walk is committed, so pages lost with a killed run are fetched again.
    """
    while readers:
        with ctx.store.transaction():
            readers = _save_for_a_while(ctx, pages, stop, readers, pipeline)


def _save_for_a_while(
    ctx: RunContext,
    pages: queue.Queue[tuple[_Walk, object]],
    stop: threading.Event,
    readers: int,
    pipeline: Pipeline | None,
) -> int:
    """Save pages for up to ``COMMIT_SECONDS``; returns the readers still reading."""
    until = time.monotonic() + COMMIT_SECONDS
    while readers and time.monotonic() < until:
        walk, item = _next_page(pages, pipeline)
        if isinstance(item, _Done):
            readers -= 1
            walk.finished = not stop.is_set()
            if walk.finished and pipeline is not None:
                pipeline.walk_finished(walk.source)
            continue
        if isinstance(item, BaseException):
            raise item
        page: Sequence[Any] = item  # type: ignore[assignment]
        stats = walk.save(page)
        ctx.counts[f"fetched_{walk.source}"] += stats.fetched
        ctx.counts[f"changed_{walk.source}"] += stats.changed
        ctx.counts["duplicates"] += stats.duplicates
        for contact_id in stats.no_email:
            _report_no_email(ctx, contact_id)
        ctx.progress.advance(stats.fetched)
        if pipeline is not None:
            pipeline.page_saved(walk.source, stats)
        if page:
            newest = max(walk.stamp(record) for record in page)
            walk.newest = newest if walk.newest is None else max(walk.newest, newest)
        if not stop.is_set() and ctx.should_stop():
            stop.set()
            log.warning("stopped fetching early; the next run resumes")
    return readers


def _next_page(
    pages: queue.Queue[tuple[_Walk, object]], pipeline: Pipeline | None
) -> tuple[_Walk, object]:
    """The next page; while none comes, the pipeline's calls are looked after."""
    while pipeline is not None:
        try:
            return pages.get(timeout=POLL_SECONDS)
        except queue.Empty:
            pipeline.poll()
    return pages.get()


NO_EMAIL_REASON = "the HubSpot contact has no email address: nothing about it is synced"


def _report_no_email(ctx: RunContext, contact_id: str) -> None:
    """A contact without an email cannot be joined to anyone: it is left out, never silently.

    A linked person whose contact lost its address is blocked with the reason (their changes
    stop syncing until it has one); an unlinked contact is logged and recorded as an event.
    """
    ctx.counts["skipped_no_email"] += 1
    log.warning("HubSpot contact %s has no email address; it is left out of the sync", contact_id)
    with ctx.store.transaction():
        row = ctx.store.contact_by_hubspot_id(contact_id)
        if row is None:
            detail = f"HubSpot contact {contact_id}: {NO_EMAIL_REASON}"
            ctx.store.add_event(ctx.run_id, None, "skipped", detail)
        elif row.reason != NO_EMAIL_REASON:
            ctx.store.add_event(ctx.run_id, row.id, "blocked", NO_EMAIL_REASON)
            row.state, row.reason, row.cause = "blocked", NO_EMAIL_REASON, causes.NO_EMAIL
            ctx.store.save_contact(row)


def _read(walk: _Walk, pages: queue.Queue[tuple[_Walk, object]], stop: threading.Event) -> None:
    """A reader thread: hand over every page, then a :class:`_Done` (or the error)."""
    walk.api.begin_walk()
    try:
        for page in walk.pages:
            if not _hand_over(pages, (walk, page), stop):
                break
    except BaseException as error:  # noqa: BLE001 - any failure belongs to the saving thread
        _hand_over(pages, (walk, error), stop, even_when_stopped=True)
        return
    _hand_over(pages, (walk, _Done()), stop, even_when_stopped=True)


def _hand_over(
    pages: queue.Queue[tuple[_Walk, object]],
    item: tuple[_Walk, object],
    stop: threading.Event,
    *,
    even_when_stopped: bool = False,
) -> bool:
    """Queue ``item`` unless the saving side has stopped; its last word (an end or an error)
    is still delivered after a stop, for a while: the saving thread drains the queue until every
    reader has ended, unless it has itself failed and gone."""
    patience = HAND_OVER_AFTER_STOP
    while even_when_stopped or not stop.is_set():
        try:
            pages.put(item, timeout=0.2)
        except queue.Full:
            if stop.is_set():
                patience -= 0.2
                if patience <= 0:
                    return False
            continue
        return True
    return False


def _hubspot_walk(ctx: RunContext, full: bool) -> _Walk:
    cursor = parse_time(ctx.store.cursor("hubspot"))
    client = ctx.hubspot
    reread_from = None
    if full or cursor is None:
        pages: Iterable[Sequence[Any]] = client.all_contacts(ctx.hubspot_properties)
        reread_from = "*"
    else:
        since = cursor - timedelta(seconds=ctx.config.sync.overlap_seconds)
        pages = client.changed_contacts(since, ctx.hubspot_properties)
        if _reread_due(ctx, cursor):
            lower, upper = _reread_slice(ctx, cursor, since)
            older = client.changed_contacts(lower, ctx.hubspot_properties, until=upper)
            pages, reread_from = itertools.chain(older, pages), cursor.isoformat()
    return _Walk(
        "hubspot",
        client.api,
        pages,
        lambda page: ctx.store.save_hubspot_page(
            page, ctx.run_id, subscription=ctx.config.subscription.hubspot_property
        ),
        lambda contact: contact.modified,
        reread_from=reread_from,
    )


def _reread_due(ctx: RunContext, cursor: datetime) -> bool:
    """Whether this run reads HubSpot from ``sync.reread_window_minutes`` back (the cursors
    compared are both HubSpot's own timestamps)."""
    every = ctx.config.sync.reread_every_minutes
    last = parse_time(ctx.store.get_meta(REREAD))
    return bool(every) and (last is None or cursor - last >= timedelta(minutes=every))


def _reread_slice(ctx: RunContext, cursor: datetime, since: datetime) -> tuple[datetime, datetime]:
    """The slice of time a wider re-read reads (module docstring): from where the last one
    stopped, up to the window less the period before ``cursor``, never into the run's own
    read (from ``since``). A re-read is due a period after the last one, found by the first
    run after that: it reads from where the last stopped even a period late, and after a
    longer pause from a period more than the window back, no further."""
    window = timedelta(minutes=ctx.config.sync.reread_window_minutes)
    every = timedelta(minutes=ctx.config.sync.reread_every_minutes)
    lag = max(window - every, timedelta(0))
    last = parse_time(ctx.store.get_meta(REREAD))
    upper = min(cursor - lag, since)
    lower = cursor - window if last is None else max(last - lag, cursor - window - every)
    return min(lower, upper), upper


def _save_members(ctx: RunContext, page: Sequence[MailchimpMember]) -> PageStats:
    """A page of members saved; first, what it shows that a write out in a batch would go
    over is noted on that write (``recheck.note_waiting``): the fetch is a look too."""
    note_waiting(ctx, page)
    return ctx.store.save_mailchimp_page(page)


def _mailchimp_walk(ctx: RunContext, full: bool) -> _Walk:
    cursor = parse_time(ctx.store.cursor("mailchimp"))
    since = None
    if not full and cursor is not None:
        since = cursor - timedelta(seconds=ctx.config.sync.overlap_seconds)
    return _Walk(
        "mailchimp",
        ctx.mailchimp.api,
        ctx.mailchimp.changed_members(
            since, ctx.merge_tags, preferences=ctx.config.preferences.active
        ),
        lambda page: _save_members(ctx, page),
        lambda member: member.last_changed,
    )
