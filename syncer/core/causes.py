"""What kind of problem a person's reason describes: a short code stored beside the reason.

Hints are chosen by these codes, which are set where the error's structure is known (which API,
which refusal, which rule), never by reading the words of a message afterwards.
"""

from __future__ import annotations

from syncer.core.reconcile import INVALID_EMAIL_REASON
from syncer.core.subscription import (
    CLEANED_REASON,
    NEVER_REASON,
    TRANSACTIONAL_NEVER_REASON,
    unknown_status_reason,
)

MAILCHIMP_COMPLIANCE = "mailchimp:compliance"
MAILCHIMP_FORGOTTEN = "mailchimp:forgotten"
MAILCHIMP_INVALID_ADDRESS = "mailchimp:invalid_address"
MAILCHIMP_FIELD = "mailchimp:merge_field"
MAILCHIMP_VALUE = "mailchimp:refused_value"
MAILCHIMP_REFUSED = "mailchimp:refused"
HUBSPOT_MISSING_PROPERTY = "hubspot:missing_property"
HUBSPOT_INVALID_VALUE = "hubspot:invalid_value"
HUBSPOT_REFUSED = "hubspot:refused"
HUBSPOT_EMAIL_CONFLICT = "hubspot:email_conflict"
HUBSPOT_ADDRESS_TAKEN = "hubspot:address_taken"
MAILCHIMP_ADDRESS_TAKEN = "mailchimp:address_taken"
HUBSPOT_DELETED = "hubspot:deleted"
HUBSPOT_DELETED_UNSUBSCRIBED = "hubspot:deleted_unsubscribed"
HUBSPOT_MERGED = "hubspot:merged"
HUBSPOT_DUPLICATE = "hubspot:duplicate"
HUBSPOT_INVALID_ADDRESS = "hubspot:invalid_address"
MAILCHIMP_COMPLIANCE_EDIT = "mailchimp:compliance_edit"
UNKNOWN_STATUS = "consent:unknown_status"
TRANSACTIONAL_NEVER = "consent:transactional_never"
NO_EMAIL = "identity:no_email"
CLEANED = "consent:cleaned"
RESUBSCRIBE_NEVER = "consent:resubscribe_never"
INVALID_EMAIL = "identity:invalid_email"
PREFERENCE_UNKNOWN_CHOICE = "preferences:unknown_choice"
ENGAGEMENT_UNKNOWN_MEMBER = "engagement:unknown_member"
ENGAGEMENT_CAMPAIGN_GONE = "engagement:campaign_gone"
ENGAGEMENT_NOTE_REFUSED = "engagement:note_refused"
ENGAGEMENT_CONTACT_GONE = "engagement:contact_deleted"
ENGAGEMENT_REFUSED = "engagement:properties_refused"

#: The reconciler's blocking rules, each named by its own reason constant.
_RULES = {
    CLEANED_REASON: CLEANED,
    NEVER_REASON: RESUBSCRIBE_NEVER,
    INVALID_EMAIL_REASON: INVALID_EMAIL,
    TRANSACTIONAL_NEVER_REASON: TRANSACTIONAL_NEVER,
}


def of_block(reason: str, member_status: str) -> str | None:
    """The cause of a reconciler block: which of its rules made it (``None``: a rule added
    since, which then gets the general hint for its state)."""
    if reason == unknown_status_reason(member_status):
        return UNKNOWN_STATUS
    return _RULES.get(reason)
