"""Mailchimp batch results: reading the archive and classifying each operation's outcome.

The classifier is pure and exact. Titles are compared whole ("Member In Compliance State", never a
substring of it); Mailchimp gives several kinds of "Invalid Resource" one title, so those are told
apart by the phrases of their ``detail`` documented in the API reference, and anything unknown is a
plain failure, visible and retryable, rather than a guess.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, BinaryIO

from syncer.core import causes
from syncer.errors import ArchiveError


@dataclass(frozen=True)
class OperationResult:
    """One operation's answer from a batch (or a direct call): its status and decoded body."""

    operation_id: str
    status_code: int
    body: Any


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY_PENDING = "retry_pending"
    BLOCKED = "blocked"
    RETRY_LATER = "retry_later"
    FAILED = "failed"


@dataclass(frozen=True)
class Classified:
    outcome: Outcome
    reason: str = ""
    cause: str | None = None  # syncer.core.causes: what kind of refusal, for the hint


COMPLIANCE_TITLE = "Member In Compliance State"
#: The most a results archive may unpack to (``http.max_response_mb`` sets it for a run).
MAX_UNPACKED = 64 * 2**20
_INVALID_RESOURCE_BLOCKS = (  # the address itself refused; phrases from the API reference
    ("looks fake or invalid", "Mailchimp says the address looks fake or invalid"),
    ("valid email address", "Mailchimp says the email address is not valid"),
    ("domain portion of the email address is invalid", "the address's domain is not valid"),
)
_INVALID_RESOURCE_RETRIES = ("signed up to a lot of lists very recently",)


def classify(status_code: int, body: Any) -> Classified:
    """What an operation's answer means for the sync (DESIGN §7)."""
    if 200 <= status_code < 300:
        return Classified(Outcome.SUCCEEDED)
    title, detail = _title_detail(body)
    if status_code == 400 and title == COMPLIANCE_TITLE:
        return Classified(Outcome.RETRY_PENDING, f"{title}: {detail}", causes.MAILCHIMP_COMPLIANCE)
    if status_code == 400 and title == "Forgotten Email Not Subscribed":
        return Classified(
            Outcome.BLOCKED,
            "permanently deleted from Mailchimp; only the person can sign up again",
            causes.MAILCHIMP_FORGOTTEN,
        )
    if status_code == 400 and title == "Invalid Resource":
        for phrase, reason in _INVALID_RESOURCE_BLOCKS:
            if phrase in detail:
                return Classified(Outcome.BLOCKED, reason, causes.MAILCHIMP_INVALID_ADDRESS)
        if any(phrase in detail for phrase in _INVALID_RESOURCE_RETRIES):
            return Classified(Outcome.RETRY_LATER, detail)
    if status_code in (429, 423) or status_code >= 500:
        return Classified(Outcome.RETRY_LATER, f"{status_code} {title}".strip())
    return Classified(
        Outcome.FAILED, _failure_text(status_code, title, detail, body), _refusal_cause(body)
    )


def _refusal_cause(body: Any) -> str:
    """A refusal naming merge fields in its ``errors`` array is about their values."""
    errors = body.get("errors") if isinstance(body, dict) else None
    named = [e.get("field") for e in errors or [] if isinstance(e, dict)]
    if any(field and field != "email_address" for field in named):
        return causes.MAILCHIMP_FIELD
    if "email_address" in named:
        return causes.MAILCHIMP_INVALID_ADDRESS
    return causes.MAILCHIMP_REFUSED


def _title_detail(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("title") or ""), str(body.get("detail") or "")


def _failure_text(status_code: int, title: str, detail: str, body: Any) -> str:
    parts = [f"{status_code} {title}".strip()]
    if detail:
        parts.append(detail)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        parts.extend(
            f"{error.get('field', '?')}: {error.get('message', '')}"
            for error in errors
            if isinstance(error, dict)
        )
    return "; ".join(parts)


def parse_archive(source: BinaryIO, *, max_unpacked: int = MAX_UNPACKED) -> list[OperationResult]:
    """Every operation result in a batch's ``.tar.gz`` (a ``./`` entry, JSON arrays in files).

    The archive is read as a stream, one file at a time, and each file's size is checked
    against ``max_unpacked`` (for all files together) from its tar header before any of it is
    unpacked: a small archive can unpack to gigabytes. A truncated, corrupt or oversized
    archive raises :class:`ArchiveError` without yielding partial results, so a half-read
    archive is never half-applied.
    """
    results: list[OperationResult] = []
    unpacked = 0
    try:
        with (
            gzip.GzipFile(fileobj=source, mode="rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r|") as archive,
        ):
            for member in archive:
                if not member.isfile():
                    continue
                unpacked += member.size
                if unpacked > max_unpacked:
                    raise ArchiveError(
                        f"a batch results archive unpacks to more than {max_unpacked / 2**20:g} MB",
                        hint="Raise http.max_response_mb if batches this large are expected; "
                        "until then the batch stays open and is reported.",
                    )
                handle = archive.extractfile(member)
                content = handle.read() if handle is not None else b""
                results.extend(_parse_file(content, member.name))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as error:
        raise ArchiveError(
            f"a batch results archive is truncated or corrupt ({type(error).__name__})"
        ) from None
    return results


def _parse_file(content: bytes, name: str) -> list[OperationResult]:
    if not content.strip():
        return []
    try:
        entries = json.loads(content)
        if not isinstance(entries, list):
            raise TypeError("not a JSON array")
        return [_parse_entry(entry) for entry in entries]
    except (ValueError, TypeError, KeyError) as error:
        raise ArchiveError(f"a batch results file is not valid ({name}: {error})") from None


def _parse_entry(entry: Any) -> OperationResult:
    response = entry["response"]
    body: Any = None
    if isinstance(response, str) and response.strip():
        body = json.loads(response)
    elif isinstance(response, dict):
        body = response
    return OperationResult(
        operation_id=str(entry["operation_id"]), status_code=int(entry["status_code"]), body=body
    )
