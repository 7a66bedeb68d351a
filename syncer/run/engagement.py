"""Engagement in a run: read new campaign activity, record it for linked people, write HubSpot.

It runs after the contact sync (:func:`syncer.run.engine._sync`), at most every
``engagement.every_minutes`` (a 5-minute cron does not poll every campaign every 5 minutes),
for the campaigns sent in the last ``engagement.campaign_days``; ``syncer engagement
--backfill`` runs it for every campaign since a date.

Each campaign is read from its own cursor, Mailchimp's time when its last complete walk began
(less ``sync.overlap_seconds``: events are de-duplicated). A walk's pages are saved with the
walk's next offset in one transaction, so a stop or a SIGKILL resumes at the next page. Only
people linked to a HubSpot contact are recorded; activity of a member the cache does not know
at all is reported per member in `syncer errors`, and a campaign deleted meanwhile is reported
and left. Problems of engagement never stop the contact sync, which is done by then: a refused
write is a failure of the run (partial) with the person named; an outage of either API is one
failure of the run, and the next run carries on where this one stopped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from syncer.cache.base import utc_now
from syncer.cache.engagement import Member
from syncer.connectors.mailchimp.records import format_time
from syncer.connectors.mailchimp.reports import MailchimpReports, MemberActivity
from syncer.core import causes
from syncer.core.engagement import Campaign, Event
from syncer.core.identity import normalise_email
from syncer.errors import RemoteError
from syncer.run.context import Failure, RunContext
from syncer.run.engagement_write import write_engagement

log = logging.getLogger("syncer.run")

#: The local time of the last complete engagement pass, for ``every_minutes``.
CLOCK = "engagement_ran_at"


def engagement_due(ctx: RunContext) -> bool:
    """Whether ``every_minutes`` has passed since the last complete pass (local clock)."""
    config = ctx.config.engagement
    last = ctx.store.get_meta(CLOCK)
    if not config.enabled:
        return False
    if last is None or config.every_minutes <= 0:
        return True
    return datetime.now(UTC) >= datetime.fromisoformat(last) + timedelta(
        minutes=config.every_minutes
    )


def sync_engagement(ctx: RunContext, *, since: datetime | None = None) -> None:
    """One engagement pass: every campaign sent since ``since`` (default: the last
    ``campaign_days``), then the writes. A failing API ends the pass, never the run."""
    if since is None and not engagement_due(ctx):
        return
    try:
        _pass(ctx, since)
    except RemoteError as error:  # the contact sync is done: this run ends partial, not failed
        log.error("engagement stopped: %s; the next run carries on", error)
        ctx.failures.append(Failure(f"engagement: {error.message}"))
        ctx.counts["engagement_failed"] += 1


def _pass(ctx: RunContext, since: datetime | None) -> None:
    config = ctx.config.engagement
    window = since or datetime.now(UTC) - timedelta(days=config.campaign_days)
    reports = MailchimpReports(ctx.mailchimp.api, ctx.mailchimp.list_id, ctx.mailchimp.skipped)
    ctx.mailchimp.api.begin_walk()
    campaigns = reports.sent_campaigns(window)
    server_now = ctx.mailchimp.api.walk_started() or datetime.now(UTC)
    _note_vanished(ctx, campaigns, window)
    ctx.store.remember_campaigns(campaigns)
    ctx.counts["engagement_campaigns"] += len(campaigns)
    ctx.progress.phase(f"reading the activity of {len(campaigns)} campaigns", len(campaigns))
    for campaign in campaigns:
        if ctx.should_stop():
            return
        _read_campaign(ctx, reports, campaign)
        ctx.progress.advance()
    if ctx.should_stop():
        return
    write_engagement(ctx, server_now)
    if not ctx.should_stop() and not ctx.dry_run:
        ctx.store.set_meta(CLOCK, utc_now())


def _note_vanished(ctx: RunContext, listed: list[Campaign], window: datetime) -> None:
    """A campaign read before, sent within the window, that Mailchimp no longer lists was
    deleted there: it is reported once, and what was recorded of it stays."""
    ids = {campaign.id for campaign in listed}
    for row in ctx.store.campaign_rows():
        sent = datetime.fromisoformat(row["send_time"])
        if row["id"] not in ids and row["gone_at"] is None and sent > window:
            _campaign_gone(ctx, Campaign(row["id"], row["title"], row["send_time"]))


def _read_campaign(ctx: RunContext, reports: MailchimpReports, campaign: Campaign) -> None:
    """Read one campaign's new activity (resuming a walk under way) and record it."""
    record = ctx.config.engagement.record
    row = ctx.store.campaign_row(campaign.id) or {}
    cursor = row.get("activity_cursor")
    overlap = timedelta(seconds=ctx.config.sync.overlap_seconds)
    # A first read asks from the send on: Mailchimp then lists only recipients with activity,
    # not one item per recipient (most of whom did nothing).
    start = datetime.fromisoformat(cursor or campaign.send_time) - overlap
    fresh = format_time(start)
    since, offset = ctx.store.start_walk(campaign.id, fresh)
    try:
        if record & {"open", "click", "bounce"}:
            ctx.mailchimp.api.begin_walk()
            for page in reports.activity(campaign.id, since, offset):
                started = ctx.mailchimp.api.walk_started()
                _save(ctx, campaign, page.items, page.next_offset, started)
                if ctx.should_stop():
                    return
        listings = {
            "unsubscribe": reports.unsubscribes,
            "abuse": reports.abuse_reports,
        }
        if "send" in record and not row.get("sends_done"):
            listings["send"] = reports.recipients
        for action, listing in listings.items():
            if action not in record:
                continue
            for items in listing(campaign.id):
                _save(ctx, campaign, items, None, None)
                if ctx.should_stop():
                    return
            if action == "send":
                ctx.store.mark_sends_done(campaign.id)
    except RemoteError as error:
        if error.status != 404:
            raise
        _campaign_gone(ctx, campaign)
        return
    ctx.store.finish_walk(campaign.id)


def _save(
    ctx: RunContext,
    campaign: Campaign,
    items: list[MemberActivity],
    next_offset: int | None,
    started: datetime | None,
) -> None:
    """Record a page's events for the linked people among its members."""
    members = ctx.store.members(
        [item.email_id for item in items], [normalise_email(item.email) for item in items]
    )
    by_contact: dict[int, list[Event]] = defaultdict(list)
    unknown: list[MemberActivity] = []
    for item in items:
        member: Member | None = members.get(item.email_id) or members.get(
            normalise_email(item.email)
        )
        if member is None:
            unknown.append(item)
        elif not member.linked:
            ctx.counts["engagement_unlinked"] += 1
        else:
            by_contact[member.contact_id].extend(
                (action, at or campaign.send_time, detail) for action, at, detail in item.events
            )
    added = ctx.store.save_activity(
        campaign.id,
        by_contact,
        ctx.config.engagement.record,
        next_offset=next_offset,
        started=None if started is None else format_time(started),
    )
    ctx.counts["engagement_events"] += added
    for item in unknown:
        ctx.counts["engagement_unknown"] += 1
        ctx.store.report_engagement_issue(
            f"member:{item.email_id}",
            causes.ENGAGEMENT_UNKNOWN_MEMBER,
            f"activity in campaign '{campaign.title}' for a member syncer does not know "
            "(not in the audience it syncs); it is not recorded",
            email=normalise_email(item.email) or item.email_id,
            campaign_id=campaign.id,
        )


def _campaign_gone(ctx: RunContext, campaign: Campaign) -> None:
    log.warning(
        "campaign '%s' (%s) was deleted in Mailchimp; it is left", campaign.title, campaign.id
    )
    ctx.counts["engagement_campaigns_gone"] += 1
    ctx.store.campaign_gone(campaign.id)
    ctx.store.report_engagement_issue(
        f"campaign:{campaign.id}",
        causes.ENGAGEMENT_CAMPAIGN_GONE,
        f"campaign '{campaign.title}' ({campaign.id}) was deleted in Mailchimp; what was "
        "recorded of it stays in HubSpot",
        campaign_id=campaign.id,
    )
