"""The tags mirror in a run: the HubSpot property's options kept in step with what is written.

Each person's mirror value is decided with the rest of their contact
(:func:`syncer.core.segments.mirror_tags`) and travels in their HubSpot batch update. HubSpot
refuses a multi-checkbox value that is not one of the property's options (``INVALID_OPTION``),
and an audience gains tags at any time, so before HubSpot's writes the run reads the property
(one call, only in a run that queued mirror values) and adds the options those values need (one
more, only when a tag is new). A run only ever adds options: removing one could strand values
contacts hold; ``syncer check`` reports options no tag uses any more.
"""

from __future__ import annotations

import logging

from syncer.connectors.hubspot.properties import ChoiceProperty, HubSpotProperties
from syncer.core.models import Decision
from syncer.core.records import ContactRow
from syncer.core.segments import checkbox_values
from syncer.errors import ConfigError
from syncer.run.context import RunContext

log = logging.getLogger("syncer.run")

FINGERPRINT = "mirror_fingerprint"


def redecide_on_change(ctx: RunContext) -> None:
    """When the mirror is switched on or its ``only`` changes, everyone linked is decided again
    (once): otherwise only people changed since would get the new value."""
    mirror = ctx.config.segments.mirror
    fingerprint = "" if mirror is None else f"{mirror.property}:{sorted(mirror.only or ['*'])}"
    if (ctx.store.get_meta(FINGERPRINT) or "") == fingerprint:
        return
    with ctx.store.transaction():
        marked = ctx.store.redecide_linked() if mirror is not None else 0
        ctx.store.set_meta(FINGERPRINT, fingerprint)
    if marked:
        log.info("the tags mirror's rules changed: deciding again for %d linked people", marked)


def missing_options(ctx: RunContext) -> list[str]:
    """The options the queued mirror values need and the property lacks; checks the property.

    A property that is missing, not a multi-checkbox or read-only stops the run before any write
    (exit 2): every mirror write would be refused.
    """
    mirror = ctx.config.segments.mirror
    if mirror is None:
        return []
    needed: set[str] = set()
    for value in ctx.store.queued_hubspot_values(mirror.property):
        needed |= checkbox_values(value)
    if not needed:
        return []
    known = ctx.mirror_property
    if known is None or not needed <= known.values:
        known = HubSpotProperties(ctx.hubspot.api).get(mirror.property)
        problem = _unusable(known)
        if known is None or problem is not None:
            raise ConfigError(
                [f"tags_to_hubspot.property: the HubSpot property {mirror.property} {problem}"],
                hint="`syncer check --fix` creates it as a multiple checkboxes property.",
            )
        ctx.mirror_property = known
    return sorted(needed - known.values)


def _unusable(prop: ChoiceProperty | None) -> str | None:
    """Why the mirror cannot write ``prop``, or ``None`` when it can."""
    if prop is None:
        return "does not exist"
    if prop.read_only:
        return "is read-only"
    if not prop.multi_checkbox:
        return f"is {prop.type}/{prop.field_type}, not a multiple checkboxes property"
    return None


def add_missing_options(ctx: RunContext) -> None:
    """Before HubSpot's writes: add the options the queued mirror values need."""
    missing = missing_options(ctx)
    if not missing or ctx.mirror_property is None:
        return
    prop = HubSpotProperties(ctx.hubspot.api).add_options(ctx.mirror_property, missing)
    ctx.mirror_property = prop
    ctx.counts["mirror_options_added"] += len(missing)
    log.info(
        "HubSpot property %s: added options for %d new Mailchimp tags (%s)",
        prop.name,
        len(missing),
        ", ".join(repr(tag) for tag in missing),
    )


def journal_mirror(ctx: RunContext, row: ContactRow, decision: Decision) -> None:
    """Say in the person's history why their mirror property is about to change."""
    mirror = ctx.config.segments.mirror
    if mirror is None or mirror.property not in decision.hubspot:
        return
    old = checkbox_values((row.hs or {}).get(mirror.property, ""))
    new = checkbox_values(decision.hubspot[mirror.property])
    parts = [
        f"{verb} {', '.join(map(repr, sorted(tags)))}"
        for verb, tags in (("adds", new - old), ("removes", old - new))
        if tags
    ]
    ctx.store.add_event(
        ctx.run_id,
        row.id,
        "tag",
        f"Mailchimp tags mirrored into HubSpot {mirror.property}: {'; '.join(parts)}",
        field=mirror.property,
    )
