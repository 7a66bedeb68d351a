"""What the Mailchimp simulator accepts: addresses, statuses, merge-field definitions and values.

Every refusal here is a ``400 Invalid Resource`` with the title, detail and ``errors[]`` wording of
the reference (§5, §7), because the sync classifies failures by those strings: a client that reads
``detail`` substrings must meet the same substrings here as in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from syncer.sandbox.clock import parse_iso
from syncer.sandbox.mailchimp.dates import check_date
from syncer.sandbox.server import SimError

WRITE_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
PATCH_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending")
ALL_STATUSES = (*WRITE_STATUSES, "archived")
MERGE_TYPES = (
    "text",
    "number",
    "address",
    "phone",
    "date",
    "url",
    "imageurl",
    "radio",
    "dropdown",
    "birthday",
    "zip",
)
ERRORS_DETAIL = (
    "The resource submitted could not be validated. "
    "For field-specific details, see the 'errors' array."
)
MERGE_DETAIL = "Your merge fields were invalid."
_EMAIL = re.compile(
    r"^[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
_TAG = re.compile(r"^[A-Z0-9_]{1,10}$")
#: Text merge values longer than this are refused: the limit commonly cited for Mailchimp
#: (reference §12.3). Mailchimp's own wording for this refusal is not public (no recorded
#: answer was found); the shape is the observed one for a refused value (``Invalid Resource``,
#: "Your merge fields were invalid.", ``errors[]`` naming the field), and syncer reads only
#: ``errors[].field``, never the message.
TEXT_LIMIT = 255
TEXT_LIMIT_MESSAGE = f"Please enter a value of {TEXT_LIMIT} characters or fewer"
_ADDRESS_PARTS = ("addr1", "addr2", "city", "state", "zip", "country")
_ADDRESS_NEEDED = ("addr1", "city", "state", "zip")


def invalid(detail: str = ERRORS_DETAIL, errors: list[dict[str, str]] | None = None) -> SimError:
    """The ``Invalid Resource`` problem; ``errors`` only when a field is to blame, as observed."""
    extra = {"errors": errors} if errors else {}
    return SimError(400, "Invalid Resource", detail, **extra)


def field_error(name: str, message: str) -> SimError:
    return invalid(ERRORS_DETAIL, [{"field": name, "message": message}])


def check_email(address: Any, fake_domains: Iterable[str]) -> str:
    """Return the address trimmed (case kept), or refuse it the way Mailchimp does."""
    text = address.strip() if isinstance(address, str) else ""
    if not _EMAIL.match(text):
        raise invalid("Please provide a valid email address.")
    domain = text.rsplit("@", 1)[1].lower()
    if domain in {fake.lower() for fake in fake_domains}:
        raise invalid(f"{text} looks fake or invalid, please enter a real email address.")
    return text


def check_status(value: Any, name: str, allowed: tuple[str, ...] = WRITE_STATUSES) -> str:
    if value not in allowed:
        raise field_error(name, f"Value must be one of: {', '.join(allowed)}")
    return str(value)


def parse_bool(value: str | None) -> bool:
    """Query booleans arrive as ``true``/``false`` (the SDK sends Python's ``True``)."""
    return (value or "").strip().lower() in {"true", "1", "yes"}


@dataclass
class MergeField:
    """One audience merge field; members store values by ``merge_id`` so a tag can be renamed."""

    merge_id: int
    tag: str
    name: str
    type: str
    required: bool = False
    default_value: str = ""
    public: bool = True
    display_order: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    help_text: str = ""

    def check_value(self, value: Any) -> tuple[Any, str | None]:
        """Return ``(stored value, None)`` or ``(None, message)``; ``""`` or null clears."""
        if value is None or value == "":
            return "", None
        if self.type == "number":
            return _number(value)
        if self.type == "address":
            return _address(value)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return None, "Please enter a text value"
        text = str(value)
        if self.type in ("date", "birthday"):
            message = check_date(self.type, text, self.options)
            return (None, message) if message else (text, None)
        if self.type == "text" and len(text) > TEXT_LIMIT:
            return None, TEXT_LIMIT_MESSAGE
        if self.type in {"dropdown", "radio"} and text not in self.options.get("choices", []):
            return None, "Please choose one of the available options"
        return text, None


def _number(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value, None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text), None
        except ValueError:
            pass
        try:
            return float(text), None
        except ValueError:
            pass
    return None, "Please enter a number"


def _address(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, dict) and all(
        str(value.get(part) or "").strip() for part in _ADDRESS_NEEDED
    ):
        return {part: str(value.get(part) or "") for part in _ADDRESS_PARTS}, None
    return None, "Please enter a complete address"


def check_merge_values(values: Any, fields: Mapping[str, MergeField]) -> dict[int, Any]:
    """Validate a member's ``merge_fields`` against the definitions, keyed by merge id."""
    if not isinstance(values, dict):
        raise field_error("merge_fields", "Schema describes object, other type found instead")
    cleaned: dict[int, Any] = {}
    errors: list[dict[str, str]] = []
    for tag, value in values.items():
        definition = fields.get(tag)
        if definition is None:
            errors.append({"field": tag, "message": "This merge field does not exist."})
            continue
        stored, message = definition.check_value(value)
        if message is not None:
            errors.append({"field": tag, "message": message})
        else:
            cleaned[definition.merge_id] = stored
    if errors:
        raise invalid(MERGE_DETAIL, errors)
    return cleaned


def check_required(values: Mapping[int, Any], fields: Iterable[MergeField]) -> None:
    """Required fields must hold a value in the member as it would be after the write."""
    errors = [
        {"field": definition.tag, "message": "Please enter a value"}
        for definition in fields
        if definition.required and values.get(definition.merge_id, "") == ""
    ]
    if errors:
        raise invalid(MERGE_DETAIL, errors)


def merge_field_from_body(body: Any, merge_id: int, taken: Iterable[str]) -> MergeField:
    """A new definition from ``POST …/merge-fields``; the tag defaults to ``MMERGE<merge_id>``."""
    if not isinstance(body, dict):
        raise field_error("", "Schema describes object, other type found instead")
    errors = []
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        errors.append({"field": "name", "message": "This value should not be blank."})
    if body.get("type") not in MERGE_TYPES:
        errors.append(
            {"field": "type", "message": f"Value must be one of: {', '.join(MERGE_TYPES)}"}
        )
    if errors:
        raise invalid(ERRORS_DETAIL, errors)
    definition = MergeField(merge_id, "", body["name"], body["type"], display_order=merge_id)
    apply_merge_field_patch(
        definition, {**body, "tag": body.get("tag") or f"MMERGE{merge_id}"}, taken
    )
    return definition


def apply_merge_field_patch(definition: MergeField, body: Any, taken: Iterable[str]) -> None:
    """Apply the editable settings of ``body``; the type of an existing field cannot change."""
    if not isinstance(body, dict):
        raise field_error("", "Schema describes object, other type found instead")
    tag = body.get("tag")
    if tag is not None:
        tag = str(tag).strip().upper()
        if not _TAG.match(tag):
            raise field_error("tag", "Merge tags use up to 10 letters, digits or underscores.")
        if tag != definition.tag and tag in set(taken):
            raise field_error(
                "tag", f'A Merge Field with the tag "{tag}" already exists for this list.'
            )
        definition.tag = tag
    if isinstance(body.get("name"), str) and body["name"].strip():
        definition.name = body["name"]
    for key in ("required", "public"):
        if key in body:
            setattr(definition, key, bool(body[key]))
    for key in ("default_value", "help_text"):
        if key in body:
            setattr(definition, key, str(body[key] or ""))
    if isinstance(body.get("display_order"), int):
        definition.display_order = body["display_order"]
    if isinstance(body.get("options"), dict):
        definition.options = {**definition.options, **body["options"]}


@dataclass
class MemberWrite:
    """A member write body (POST, PUT or PATCH), checked for shape; ``None`` means "not sent"."""

    #: Settings copied onto the member as they are (``interests`` merged id by id).
    PROFILE: ClassVar[tuple[str, ...]] = (
        "interests",
        "permissions",
        "email_type",
        "language",
        "vip",
        "ip_signup",
        "ip_opt",
        "timestamp_signup",
        "timestamp_opt",
    )

    email: str | None = None
    status: str | None = None
    status_if_new: str | None = None
    merge_fields: dict[str, Any] | None = None
    interests: dict[str, bool] | None = None
    #: ``marketing_permissions`` as ``{marketing_permission_id: enabled}``.
    permissions: dict[str, bool] | None = None
    email_type: str | None = None
    language: str | None = None
    vip: bool | None = None
    ip_signup: str | None = None
    ip_opt: str | None = None
    timestamp_signup: int | None = None
    timestamp_opt: int | None = None
    tags: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, body: Any, mode: str) -> MemberWrite:
        if not isinstance(body, dict):
            found = "array" if isinstance(body, list) else "other type"
            raise field_error("", f"Schema describes object, {found} found instead")
        allowed = PATCH_STATUSES if mode == "patch" else WRITE_STATUSES
        change = cls()
        if mode == "post":
            for required in ("email_address", "status"):
                if body.get(required) in (None, ""):
                    raise field_error(required, "This value should not be blank.")
        if body.get("email_address") is not None:
            change.email = _text(body, "email_address")
        if body.get("status") is not None:
            change.status = check_status(body["status"], "status", allowed)
        if body.get("status_if_new") is not None and mode == "put":
            change.status_if_new = check_status(body["status_if_new"], "status_if_new")
        if body.get("merge_fields") is not None:
            change.merge_fields = body["merge_fields"]
        if body.get("interests") is not None:
            interests = body["interests"]
            if not isinstance(interests, dict):
                # An array is refused so (drewm/mailchimp-api #98).
                found = "array" if isinstance(interests, list) else "other type"
                raise field_error("interests", f"Schema describes object, {found} found instead")
            if not all(isinstance(value, bool) for value in interests.values()):
                raise field_error("interests", "Schema describes boolean, other type found instead")
            change.interests = {str(key): value for key, value in interests.items()}
        change.permissions = parse_permissions(body)
        if body.get("email_type") is not None:
            change.email_type = check_status(body["email_type"], "email_type", ("html", "text"))
        if body.get("vip") is not None:
            if not isinstance(body["vip"], bool):
                raise field_error("vip", "Schema describes boolean, other type found instead")
            change.vip = body["vip"]
        for name in ("language", "ip_signup", "ip_opt"):
            if body.get(name) is not None:
                setattr(change, name, _text(body, name))
        for name in ("timestamp_signup", "timestamp_opt"):
            if body.get(name):
                setattr(change, name, _timestamp(body, name))
        if mode == "post" and body.get("tags") is not None:
            tags = body["tags"]
            if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
                raise field_error("tags", "Tags are a list of tag names.")
            change.tags = tags
        return change


def _text(body: Mapping[str, Any], name: str) -> str:
    if not isinstance(body[name], str):
        raise field_error(name, "Schema describes string, other type found instead")
    return str(body[name])


def _timestamp(body: Mapping[str, Any], name: str) -> int:
    try:
        return int(parse_iso(_text(body, name)).timestamp())
    except ValueError:
        raise field_error(name, "Please provide a date in ISO 8601 format.") from None


def parse_permissions(body: Mapping[str, Any]) -> dict[str, bool] | None:
    """A write's ``marketing_permissions`` as ``{id: enabled}``; ``None`` when not sent.

    An object instead of an array is refused as drewm/mailchimp-api #264 recorded.
    """
    raw = body.get("marketing_permissions")
    if raw is None:
        return None
    if not isinstance(raw, list):
        found = "object" if isinstance(raw, dict) else "other type"
        raise field_error("marketing_permissions", f"Schema describes array, {found} found instead")
    chosen: dict[str, bool] = {}
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("marketing_permission_id"), str)
            or not isinstance(item.get("enabled"), bool)
        ):
            raise field_error(
                "marketing_permissions",
                "Each marketing permission needs a marketing_permission_id and enabled.",
            )
        chosen[item["marketing_permission_id"]] = item["enabled"]
    return chosen
