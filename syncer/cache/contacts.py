"""The contacts table: reading rows to reconcile, saving them and fetched Mailchimp pages.

HubSpot pages are saved by ``identity``, which applies the identity rules (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from syncer.cache.base import StoreBase, dumps, loads, utc_now
from syncer.core.identity import normalise_email
from syncer.core.models import HubSpotContact, MailchimpMember, parse_time
from syncer.core.records import ContactRow

_JSON_COLUMNS = ("hs", "hs_times", "mc", "base")
_COLUMNS = (
    "email",
    "hubspot_id",
    "hubspot_created",
    "mailchimp_id",
    "unique_email_id",
    "hs",
    "hs_modified",
    "hs_times",
    "mc",
    "mc_changed",
    "base",
    "state",
    "reason",
    "dirty",
    "cause",
)

#: What deciding about a person changes; the fetched sides stay as the fetch saved them.
_DECISION_COLUMNS = ("hs_times", "base", "state", "reason", "dirty", "cause")
#: The columns an index holds (schema.py). Setting one rewrites its index entry even when the
#: value is the same, and these keys are in random order: the entry's page is one more page
#: written per person. So an update sets only those that changed since the row was read.
_INDEXED = ("email", "hubspot_id", "mailchimp_id", "unique_email_id", "state", "dirty")


@cache
def _update_of(columns: tuple[str, ...]) -> str:
    return "UPDATE contacts SET {} WHERE id = :id".format(  # noqa: S608 - fixed column names
        ", ".join(f"{name} = :{name}" for name in (*columns, "updated_at"))
    )


@cache
def _repair_of(columns: tuple[str, ...]) -> str:
    """Set ``columns`` where the stored row differs after all (another statement changed it
    since the row was read): the row as saved is then exactly the row in memory, as ever."""
    return "UPDATE contacts SET {} WHERE id = :id AND NOT ({})".format(  # noqa: S608 - fixed names
        ", ".join(f"{name} = :{name}" for name in columns),
        " AND ".join(f"{name} IS :{name}" for name in columns),
    )


_INSERT = "INSERT INTO contacts ({}) VALUES ({})".format(  # noqa: S608 - fixed column names
    ", ".join((*_COLUMNS, "updated_at")),
    ", ".join(f":{name}" for name in (*_COLUMNS, "updated_at")),
)


@dataclass
class PageStats:
    """What saving one fetched page did."""

    fetched: int = 0
    changed: int = 0
    skipped: int = 0
    duplicates: int = 0
    merged: int = 0
    #: HubSpot contacts left out because they have no email address (their ids), to report.
    no_email: list[str] = field(default_factory=list)
    #: The people whose HubSpot contact this page saved (cache ids), to decide for.
    saved: list[int] = field(default_factory=list)
    #: People whose link moved to an older HubSpot contact with their email (cache ids).
    relinked: list[int] = field(default_factory=list)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def member_record(member: MailchimpMember) -> dict[str, Any]:
    record: dict[str, Any] = {
        "email": member.email,
        "status": member.status,
        "fields": dict(member.merge_fields),
        "id": member.id,
        "unique_email_id": member.unique_email_id,
        "tags": sorted(member.tags),
    }
    if member.tags_partial:
        record["tags_partial"] = True  # the run reads the rest before deciding (run.segments)
    return record


class ContactStore(StoreBase):
    # -- reading -------------------------------------------------------------------------------

    def contact(self, contact_id: int) -> ContactRow | None:
        return self._one("SELECT * FROM contacts WHERE id = ?", [contact_id])

    def contact_by_email(self, email: str) -> ContactRow | None:
        return self._one(
            "SELECT * FROM contacts WHERE email = ? AND state != 'duplicate' ORDER BY id LIMIT 1",
            [normalise_email(email)],
        )

    def contact_by_hubspot_id(self, hubspot_id: str) -> ContactRow | None:
        return self._one("SELECT * FROM contacts WHERE hubspot_id = ?", [hubspot_id])

    def dirty_contacts(self, after_id: int, limit: int) -> list[ContactRow]:
        """Contacts fetched since their last reconcile, except those waiting on a batch."""
        return self._rows(
            """SELECT * FROM contacts WHERE dirty = 1 AND id > ?
               AND state NOT IN ('pending', 'duplicate', 'detached') ORDER BY id LIMIT ?""",
            [after_id, limit],
        )

    def contacts_of(self, contact_ids: Sequence[int]) -> dict[int, ContactRow]:
        """These people by id, in one query (those that exist)."""
        rows = self._rows(
            "SELECT * FROM contacts WHERE id IN (SELECT value FROM json_each(?))",
            [dumps(list(contact_ids))],
        )
        return {row.id: row for row in rows}

    def dirty_among(self, contact_ids: Sequence[int]) -> list[ContactRow]:
        """Those of these people with a HubSpot contact who wait for a decision, by id (as
        :meth:`dirty_contacts` has them)."""
        return self._rows(
            """SELECT * FROM contacts WHERE id IN (SELECT value FROM json_each(?))
               AND dirty = 1 AND hubspot_id IS NOT NULL
               AND state NOT IN ('pending', 'duplicate', 'detached') ORDER BY id""",
            [dumps(list(contact_ids))],
        )

    def linked_count(self) -> int:
        """People present on both sides: the audience the blast-radius guard protects."""
        row = self.db.execute(
            "SELECT count(*) FROM contacts WHERE hs IS NOT NULL AND mc IS NOT NULL"
        ).fetchone()
        return int(row[0])

    def _one(self, sql: str, params: list[Any]) -> ContactRow | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _rows(self, sql: str, params: list[Any]) -> list[ContactRow]:
        return [contact_row(raw) for raw in self.select(sql, params)]

    # -- writing -------------------------------------------------------------------------------

    def save_contact(self, row: ContactRow) -> None:
        self._update(row, _COLUMNS)

    def save_decision(self, row: ContactRow) -> None:
        """Store what deciding changes (base, history timestamps, state), not the fetched sides.

        Reconciling saves every fetched person once; rewriting both cached records as well
        would serialise them again for nothing.
        """
        self._update(row, _DECISION_COLUMNS)

    def _update(self, row: ContactRow, columns: tuple[str, ...]) -> None:
        values = {**_to_columns(row, columns), "updated_at": utc_now(), "id": row.id}
        stored = row.stored or {}
        same = tuple(c for c in columns if c in _INDEXED and c in stored and stored[c] == values[c])
        self.db.execute(_update_of(tuple(c for c in columns if c not in same)), values)
        if same:
            self.db.execute(_repair_of(same), values)
        row.stored = {**stored, **{c: values[c] for c in columns if c in _INDEXED}}

    def insert_contact(self, row: ContactRow) -> ContactRow:
        values = {**_to_columns(row), "updated_at": utc_now()}
        cursor = self.db.execute(_INSERT, values)
        row.id = int(cursor.lastrowid or 0)
        row.stored = {c: values[c] for c in _INDEXED}
        return row

    def save_mailchimp_page(self, members: Sequence[MailchimpMember]) -> PageStats:
        stats = PageStats()
        with self.joined():
            known = self.member_rows(members)
            for member in members:
                stats.fetched += 1
                row = known.get(member.id)
                if row is not None and _same_member(row, member):
                    continue
                if row is None:
                    row = ContactRow(id=0, email=normalise_email(member.email))
                    apply_member(row, member)
                    self.insert_contact(row)
                else:
                    apply_member(row, member)
                    self.save_contact(row)
                stats.changed += 1
        return stats

    def member_rows(self, members: Sequence[MailchimpMember]) -> dict[str, ContactRow]:
        """The cached person of each member on a page, looked up in three queries, not three
        per member: by ``unique_email_id``, else by subscriber hash, else by an unlinked email.
        """
        by_uid = self._rows_where("unique_email_id", [m.unique_email_id for m in members])
        by_hash = self._rows_where("mailchimp_id", [m.id for m in members])
        by_email = self._rows_where(
            "email", [normalise_email(m.email) for m in members], "mc IS NULL"
        )
        found: dict[str, ContactRow] = {}
        for member in members:
            row = (
                by_uid.get(member.unique_email_id)
                or by_hash.get(member.id)
                or by_email.get(normalise_email(member.email))
            )
            if row is not None:
                found[member.id] = row
        return found

    def _rows_where(
        self, column: str, values: list[str], extra: str = "1"
    ) -> dict[str, ContactRow]:
        """Rows whose ``column`` is one of ``values`` (first by id on ties), keyed by it."""
        rows = self._rows(
            f"SELECT * FROM contacts WHERE {column} IN (SELECT value FROM json_each(?)) "  # noqa: S608 - fixed names
            f"AND state != 'duplicate' AND {extra} ORDER BY id DESC",
            [dumps([value for value in values if value])],
        )
        return {getattr(row, column): row for row in rows}


def same_hubspot(row: ContactRow, contact: HubSpotContact) -> bool:
    """Unchanged since cached; an empty property and an absent one are the same value."""
    if row.hs is None or row.hs_modified != iso(contact.modified):
        return False
    return _filled(row.hs) == _filled(contact.properties)


def stale_hubspot(row: ContactRow, contact: HubSpotContact) -> bool:
    """Older than what the cache holds: HubSpot's search answers a contact's previous version
    while its index lags a write (syncer's own above all, whose answer the cache holds), and
    that version must not undo what is known to be newer."""
    held = parse_time(row.hs_modified) if row.hs is not None else None
    return held is not None and contact.modified < held


def _filled(values: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}


def _same_member(row: ContactRow, member: MailchimpMember) -> bool:
    if row.mc is None or row.mc_changed != iso(member.last_changed):
        return False
    return {k: v for k, v in row.mc.items() if k != "since"} == member_record(member)


def apply_hubspot(row: ContactRow, contact: HubSpotContact, email: str) -> None:
    row.hubspot_id = contact.id
    row.hubspot_created = iso(contact.created) if contact.created else row.hubspot_created
    row.hs = dict(contact.properties)
    row.hs_modified = iso(contact.modified)
    row.email = email
    row.dirty = 1


def apply_member(row: ContactRow, member: MailchimpMember) -> None:
    record = member_record(member)
    row.mc = {**record, "since": _since(row.mc, record, iso(member.last_changed))}
    row.mc_changed = iso(member.last_changed)
    row.mailchimp_id = member.id
    row.unique_email_id = member.unique_email_id or row.unique_email_id
    if row.hs is None:
        row.email = normalise_email(member.email)
    row.dirty = 1


def _since(old: dict[str, Any] | None, new: dict[str, Any], changed: str) -> dict[str, str]:
    """When each value was first seen as it is: kept from before when the value is unchanged.

    A member's ``last_changed`` moves on every edit, syncer's own included; a value that did not
    change keeps the older, tighter bound on when it was set.
    """
    before = _member_values(old) if old else {}
    earlier = (old or {}).get("since", {})
    return {
        key: earlier.get(key, changed) if before.get(key) == value else changed
        for key, value in _member_values(new).items()
    }


def _member_values(record: dict[str, Any]) -> dict[str, str]:
    return {"status": record["status"], "email_address": record["email"], **record["fields"]}


def _to_columns(row: ContactRow, columns: Sequence[str] = _COLUMNS) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in columns}
    if row.reason is None:
        values["cause"] = None  # a cause describes a reason; none is left without one
    for name in _JSON_COLUMNS:
        if values.get(name) is not None:
            values[name] = dumps(values[name])
    return values


def contact_row(raw: dict[str, Any]) -> ContactRow:
    values = {name: raw[name] for name in ("id", *_COLUMNS)}
    for name in _JSON_COLUMNS:
        values[name] = loads(values[name])
    values["base"] = values["base"] or {}
    return ContactRow(**values, stored={name: raw[name] for name in _INDEXED})
