"""Merges and permanent (GDPR) deletions in the HubSpot simulator.

A merge makes a **new** record with a new id (HubSpot developer changelog, "Updated merge
functionality for contacts and companies"; reference §12.2): its current values are the
primary's, the secondary's values fill the primary's blanks, both histories are kept, and
``hs_merged_object_ids`` lists both old ids (with the ids they had absorbed before, so a chain
of merges stays traceable). "Both of the previous IDs will point to the resulting merged
record": a read or write of an old id reaches the merged record. The simulator's choices where
HubSpot is silent:

- ``createdate`` is the primary's (it is a property, and the primary's values win);
- the secondary's emails become additional emails (D-CON);
- with ``merged_ids_archived`` (default on; a third-party write-up says so, and HubSpot fires a
  deletion webhook for each merged-away record, amp-labs/connectors PR #3487) the old records
  stay in the archive (``archived=true`` listings and reads); off, they stop existing;
- a merge is HubSpot's own doing: it writes nothing to ``/_sim/writes``.

A GDPR delete (``POST /crm/v3/objects/contacts/gdpr-delete``, 204) removes the record for good:
it is in no listing, no archive and no search; reads of its id find nothing. Its address may be
created again through the API (HubSpot's blocklist stops the UI and imports only: knowledge base,
"Perform a permanent delete in HubSpot"); the simulator keeps no blocklist.
"""

from __future__ import annotations

from typing import Any

from syncer.sandbox.hubspot.errors import api_error
from syncer.sandbox.hubspot.identity import EMAIL_PROPERTIES, emails_of
from syncer.sandbox.hubspot.props import DEFAULT_NAMES, INTRINSIC, ms_iso
from syncer.sandbox.hubspot.store import Contact, ContactStore, Record, Version
from syncer.sandbox.hubspot.wire import render


def merge(store: ContactStore, primary: Contact, secondary: Contact, *, keep_old: bool) -> Contact:
    """Merge ``secondary`` into ``primary`` as a new record; both old ids point to it."""
    if primary is secondary:
        raise api_error(400, "VALIDATION_ERROR", "Cannot merge a contact with itself")
    at = store.now_ms()
    cid = store.allocate()
    kept, other = primary.state.values, secondary.state.values
    values = dict(kept)
    for name, value in other.items():
        if name not in values and name not in INTRINSIC and name not in EMAIL_PROPERTIES:
            values[name] = value
    absorbed = [*_ids(kept), str(primary.state.id), str(secondary.state.id), *_ids(other)]
    values["hs_merged_object_ids"] = ";".join(dict.fromkeys(absorbed))
    extra = _additional_emails(kept, other)
    if extra:
        values["hs_additional_emails"] = extra
    else:
        values.pop("hs_additional_emails", None)
    values.update(hs_object_id=str(cid), lastmodifieddate=ms_iso(at))
    history = _histories(primary, secondary)
    for name in ("hs_object_id", "lastmodifieddate", "hs_merged_object_ids"):
        history[name] = [Version(values[name], at, "CALCULATED", "")]
    if "hs_additional_emails" in values:
        history.setdefault("hs_additional_emails", []).insert(
            0, Version(values["hs_additional_emails"], at, "CALCULATED", "")
        )
    for old in (primary, secondary):
        store.redirects[old.state.id] = cid
        if keep_old:
            store.archive(old)
        else:
            store.forget(old)
    merged = Contact(Record(cid, primary.state.created, at, values), history)
    store.add(merged)
    return merged


def merge_request(store: ContactStore, body: dict[str, Any], *, keep_old: bool) -> dict[str, Any]:
    """``POST …/contacts/merge`` ``{"primaryObjectId", "objectIdToMerge"}``: the merged record."""
    primary = store.find(str(body.get("primaryObjectId")), None)
    other = store.find(str(body.get("objectIdToMerge")), None)
    if primary is None or other is None:
        raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
    merged = merge(store, primary, other, keep_old=keep_old)
    names = [*DEFAULT_NAMES, "hs_additional_emails", "hs_merged_object_ids"]
    return render(merged.state, names, store.properties, epoch_dates=store.epoch_dates)


def gdpr_delete(store: ContactStore, body: dict[str, Any]) -> None:
    """``POST …/contacts/gdpr-delete`` ``{"objectId", "idProperty"?}``: the record is gone from
    every view, its archive included. An unknown email is blocklisted by HubSpot (SDK docstring
    of ``purge``), which the simulator does not model: it answers 204 too."""
    key, id_property = str(body.get("objectId") or ""), body.get("idProperty")
    contact = store.find(key, id_property)
    if contact is None and id_property != "email":
        raise api_error(404, "OBJECT_NOT_FOUND", "resource not found")
    if contact is not None:
        store.forget(contact)


def _ids(values: dict[str, str]) -> list[str]:
    return [i for i in values.get("hs_merged_object_ids", "").split(";") if i]


def _additional_emails(kept: dict[str, str], other: dict[str, str]) -> str:
    """The primary's additional emails, then every email of the secondary but the primary's."""
    primary_email = kept.get("email", "").lower()
    extra: dict[str, str] = {}
    for email in emails_of({"hs_additional_emails": kept.get("hs_additional_emails", "")}):
        extra.setdefault(email.lower(), email)
    for email in emails_of(other):
        if email.lower() != primary_email:
            extra.setdefault(email.lower(), email)
    return ";".join(extra.values())


def _histories(primary: Contact, secondary: Contact) -> dict[str, list[Version]]:
    """Both records' histories, newest first ("property values from both objects will still be
    merged onto the new object"); the current values stay the primary's."""
    names = {*primary.history, *secondary.history} - INTRINSIC
    merged: dict[str, list[Version]] = {}
    for name in names:
        entries = [*primary.history.get(name, []), *secondary.history.get(name, [])]
        merged[name] = sorted(entries, key=lambda entry: entry.at, reverse=True)
    merged["createdate"] = list(primary.history.get("createdate", []))
    return merged
