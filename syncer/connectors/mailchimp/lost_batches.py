"""The batch a submission whose answer was lost made, found in Mailchimp's list of batches.

A ``POST /batches`` whose connection dropped, or whose answer came garbled, may have made its
batch all the same. Sent again, a second copy would run that syncer knows nothing of: no look at
waiting batches sees it (``run.cancel``), so it would run over an edit made meanwhile. The
reference suggests ``GET /batches`` to find batches submitted but not recorded; syncer sends one
batch at a time, so the one batch of the same size submitted since the first attempt is it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.connectors.answers import has_list, server_time
from syncer.connectors.http import ApiResponse, ApiSession
from syncer.core.models import parse_time

log = logging.getLogger("syncer.http")

#: What a listed batch is read with: what ``parse_batch`` needs, and when it was submitted.
BATCH_FIELDS = (
    "id",
    "status",
    "total_operations",
    "finished_operations",
    "errored_operations",
    "submitted_at",
    "response_body_url",
)
PAGE = 1000
#: ``submitted_at`` and ``Date`` are whole seconds: a batch is looked for this much earlier.
SLACK_SECONDS = 2.0


def submitted_since(api: ApiSession, total: int, seconds: float) -> ApiResponse | None:
    """The batch of ``total`` operations submitted in the last ``seconds`` (by the server's
    clock), as ``POST /batches`` would have answered it; ``None`` for none or several (the
    submission is then sent again). Batches are listed in an order the reference leaves open,
    so past a page of 1,000 the last page is read too."""
    fields = ",".join([*(f"batches.{name}" for name in BATCH_FIELDS), "total_items"])
    params: dict[str, Any] = {"count": PAGE, "fields": fields}
    first = api.request("GET", "/batches", params=params, expect=has_list("batches"))
    pages = [first]
    listed = first.data.get("total_items")
    if isinstance(listed, int) and listed > PAGE:
        params["offset"] = listed - PAGE
        pages.append(api.request("GET", "/batches", params=params, expect=has_list("batches")))
    now = server_time(first.headers.get("Date")) or datetime.now(UTC)
    since = now - timedelta(seconds=seconds + SLACK_SECONDS)
    found = {
        str(raw["id"]): raw
        for page in pages
        for raw in page.data["batches"]
        if isinstance(raw, dict)
        and "id" in raw
        and raw.get("total_operations") == total
        and (submitted := _submitted_at(raw)) is not None
        and submitted >= since
    }
    if len(found) != 1:
        return None
    (raw,) = found.values()
    log.info("mailchimp: batch %s was made by a submission whose answer was lost", raw["id"])
    return ApiResponse(200, raw, first.headers)


def _submitted_at(raw: dict[str, Any]) -> datetime | None:
    text = raw.get("submitted_at")
    try:
        return parse_time(text) if isinstance(text, str) else None
    except ValueError:
        return None
