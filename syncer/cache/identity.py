"""Saving fetched HubSpot contacts under the identity rules (DESIGN §5): links, duplicates, merges.

A contact id seen for the first time joins the person with its email. Two contacts with one email
keep the oldest linked and park the other as a duplicate. A record HubSpot made by merging
(``hs_merged_object_ids`` naming ids syncer links; reference §12.2 gives merged records a new id)
takes over one of those people and keeps their history; a second person with their own
Mailchimp member is let go of and reported, their member untouched: a merge is never a deletion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from syncer.cache.base import dumps
from syncer.cache.contacts import (
    ContactStore,
    PageStats,
    apply_hubspot,
    iso,
    same_hubspot,
    stale_hubspot,
)
from syncer.core.causes import HUBSPOT_DUPLICATE, HUBSPOT_MERGED
from syncer.core.identity import base_after_merge, merge_survivor, normalise_email
from syncer.core.models import HubSpotContact
from syncer.core.records import ContactRow
from syncer.core.segments import SEGMENT_ACTIONS

RELINKED_REASON = "the older HubSpot contact {} with this email is linked instead"
MERGED_REASON = (
    "merged in HubSpot into contact {}, which is synced with another Mailchimp member; "
    "this member is left as it is"
)


class IdentityStore(ContactStore):
    def save_hubspot_page(
        self, contacts: Iterable[HubSpotContact], run_id: int | None, *, subscription: str
    ) -> PageStats:
        """Store one page of fetched contacts, linking each to its person (DESIGN §5).

        ``subscription`` is the subscription property, which a merge must not turn against the
        member (see :func:`~syncer.core.identity.base_after_merge`).
        """
        stats = PageStats()
        with self.joined():
            for contact in contacts:
                stats.fetched += 1
                email = normalise_email(contact.email)
                if not email:
                    stats.skipped += 1
                    stats.no_email.append(contact.id)
                    continue
                row = self.contact_by_hubspot_id(contact.id)
                absorbed = self._linked_to(contact.merged_ids)
                if absorbed:
                    everyone = [*absorbed, *([row] if row else [])]
                    row = self._absorb_merge(contact, email, everyone, run_id)
                    self._rebase_after_merge(row, contact, subscription, email, run_id)
                    stats.merged += 1
                elif row is None:
                    row = self._link_hubspot(contact, email, run_id, stats)
                elif same_hubspot(row, contact) or stale_hubspot(row, contact):
                    continue
                apply_hubspot(row, contact, email)
                if row.state == "duplicate" and self._still_duplicate(row):
                    row.dirty = 0
                elif row.state == "duplicate":
                    row.state = "todo"
                if row.id:
                    self.save_contact(row)
                else:
                    self.insert_contact(row)  # a new person, written once with their values
                stats.changed += 1
                stats.saved.append(row.id)
        return stats

    def _link_hubspot(
        self, contact: HubSpotContact, email: str, run_id: int | None, stats: PageStats
    ) -> ContactRow:
        """A contact id not seen before: join it to the person with its email, or start one
        (not yet inserted: its id is 0).

        When another HubSpot contact already holds that email, the oldest by ``createdate``
        keeps the link and the other is parked as a duplicate and reported.
        """
        row = self.contact_by_email(email)
        if row is None:
            return ContactRow(id=0, email=email)  # inserted by the caller, values and all
        if row.hubspot_id is None:
            return row
        stats.duplicates += 1
        newer_is_older = bool(
            contact.created and row.hubspot_created and iso(contact.created) < row.hubspot_created
        )
        if not newer_is_older:
            return self._park(ContactRow(id=0, email=email), contact.id, row.hubspot_id, run_id)
        parked = ContactRow(
            id=0,
            email=email,
            hubspot_id=row.hubspot_id,
            hubspot_created=row.hubspot_created,
            hs=row.hs,
            hs_modified=row.hs_modified,
        )
        row.hubspot_id = None
        self.save_contact(row)
        self._park(parked, parked.hubspot_id, contact.id, run_id)
        # Writes decided with the newer contact must not reach the older one: the person is
        # decided again with it.
        self.db.execute(
            "UPDATE operations SET state = 'superseded', error = ? "
            "WHERE contact_id = ? AND state = 'queued' AND action NOT IN (?, ?, ?)",
            [RELINKED_REASON.format(contact.id), row.id, *SEGMENT_ACTIONS],
        )
        stats.relinked.append(row.id)
        return row

    def _park(
        self, row: ContactRow, duplicate: str | None, older: str | None, run_id: int | None
    ) -> ContactRow:
        """Keep a duplicate HubSpot contact out of the sync, with the reason on record."""
        reason = f"HubSpot contact {duplicate} has the same email as the older contact {older}"
        row.state, row.reason, row.dirty = "duplicate", reason, 0
        row.cause = HUBSPOT_DUPLICATE
        row = self.insert_contact(row)
        self.add_event(run_id, row.id, "duplicate", reason)
        return row

    def adopt_hubspot_contact(self, row: ContactRow, contact: HubSpotContact) -> int | None:
        """Link ``row``'s person to ``contact`` (found after a conflict or a merge).

        When another row already holds that contact, the two rows are the same person: the
        Mailchimp side moves over and ``row`` is dropped. Returns the id of the row kept, or
        ``None`` when both rows have a member (HubSpot merged two people Mailchimp keeps apart).
        """
        email = normalise_email(contact.email) or row.email
        other = self.contact_by_hubspot_id(contact.id)
        keep = row if other is None or other.id == row.id else other
        if keep is not row and keep.mc is not None and row.mc is not None:
            return None
        if keep is not row:
            if keep.mc is None and row.mc is not None:
                keep.mc, keep.mc_changed = row.mc, row.mc_changed
                keep.mailchimp_id, keep.unique_email_id = row.mailchimp_id, row.unique_email_id
            self._fold_into(row.id, keep.id)
        apply_hubspot(keep, contact, email)
        if keep.state == "duplicate":
            keep.state = "todo"
        self.save_contact(keep)
        return keep.id

    def detach_member(self, row: ContactRow, run_id: int | None) -> None:
        """Let ``row`` go of its member, which stays on record as a Mailchimp-only person."""
        member = ContactRow(
            id=0,
            email=normalise_email(str((row.mc or {}).get("email", ""))),
            mailchimp_id=row.mailchimp_id,
            unique_email_id=row.unique_email_id,
            mc=row.mc,
            mc_changed=row.mc_changed,
            state="ok",
            dirty=1,  # decided on its own, so the bounced address is reported where it lives
        )
        row.mc = row.mc_changed = row.mailchimp_id = row.unique_email_id = None
        row.base = {}
        self.save_contact(row)
        member = self.insert_contact(member)
        detail = f"the address changed in HubSpot; the cleaned member {member.email} is let go"
        self.add_event(run_id, row.id, "detached", detail)

    def _fold_into(self, drop: int, keep: int) -> None:
        for table in ("operations", "changes", "events"):
            self.db.execute(
                f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?",  # noqa: S608 - fixed names
                [keep, drop],
            )
        self.db.execute(
            "UPDATE operations SET state = 'superseded' WHERE contact_id = ? AND state = 'queued'",
            [keep],
        )
        self.db.execute("DELETE FROM contacts WHERE id = ?", [drop])

    def _linked_to(self, hubspot_ids: Sequence[str]) -> list[ContactRow]:
        """The people linked to any of these HubSpot ids, oldest first."""
        if not hubspot_ids:
            return []
        return self._rows(
            "SELECT * FROM contacts WHERE hubspot_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY id",
            [dumps(list(hubspot_ids))],
        )

    def _absorb_merge(
        self, contact: HubSpotContact, email: str, rows: list[ContactRow], run_id: int | None
    ) -> ContactRow:
        """One person keeps the link to the merged record; the others step aside.

        A person with no member is the same person on HubSpot's side only: folded into the one
        kept. A person with a member of their own is detached and reported (MERGED_REASON):
        writing one member's values over the other, or unsubscribing either, would be a guess.
        """
        keep, _ = merge_survivor(rows, email)
        for other in rows:
            if other.id == keep.id:
                continue
            if other.mc is None:
                self._fold_into(other.id, keep.id)
                continue
            other.hubspot_id = other.hubspot_created = other.hs = other.hs_modified = None
            other.hs_times, other.base, other.dirty = None, {}, 0
            other.state, other.reason = "detached", MERGED_REASON.format(contact.id)
            other.cause = HUBSPOT_MERGED
            self.save_contact(other)
            self.add_event(run_id, other.id, "detached", other.reason)
        return keep

    def _rebase_after_merge(
        self,
        row: ContactRow,
        contact: HubSpotContact,
        subscription: str,
        email: str,
        run_id: int | None,
    ) -> None:
        _, same_person = merge_survivor([row], email)
        status = (row.mc or {}).get("status")
        row.base = base_after_merge(
            row.base, contact.properties, status, subscription, same_person=same_person
        )
        if row.state in ("detached", "duplicate"):
            row.state, row.reason = "todo", None
        merged = ", ".join(contact.merged_ids)
        self.add_event(run_id, row.id, "merged", f"HubSpot merged {merged} into {contact.id}")

    def _still_duplicate(self, row: ContactRow) -> bool:
        other = self.contact_by_email(row.email)
        return other is not None and other.id != row.id and other.hubspot_id is not None
