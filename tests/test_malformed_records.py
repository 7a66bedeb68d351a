"""A malformed record in an answer is skipped and reported; it never stops the sync.

Before, a search result without an ``id`` failed every run (exit 4, for good), and one with its
``properties`` (or a member with its ``merge_fields``) as a string, or an unreadable timestamp,
crashed it with a traceback. A ``Date`` header ending ``-0000`` (or sent twice) crashed the fetch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from syncer.cli import cli
from syncer.config import Config, parse_config
from syncer.connectors.http import ApiSession
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.errors import ExitCode
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def config_for(url: str) -> Config:
    return parse_config(
        f"hubspot: {{token: pat-test-token, base_url: '{url}'}}\n"
        f"mailchimp: {{api_key: 0a-us1, list_id: l, base_url: '{url}'}}\n"
        "http: {max_tries: 2, max_time: 5}\n",
        {},
    )


def contact(i: int, **changes: Any) -> dict[str, Any]:
    stamp = (SINCE + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
    raw: dict[str, Any] = {
        "id": str(i),
        "properties": {
            "email": f"c{i}@northwind-mail.com",
            "lastmodifieddate": stamp,
            "newsletter": "false",
        },
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }
    raw.update(changes)
    return raw


BAD_CONTACTS = [
    {"properties": {"email": "noid@northwind-mail.com"}},
    contact(901, properties="email=c901@northwind-mail.com"),
    contact(902, properties={"email": "c902@northwind-mail.com", "lastmodifieddate": "soon"}),
    contact(903, id=True),
    "not even an object",
]


def test_malformed_contacts_are_skipped_and_noted_and_paging_goes_on() -> None:
    first = [contact(i) for i in range(195)] + BAD_CONTACTS
    second = [contact(i) for i in range(195, 260)]
    pages = [
        {"total": 265, "results": first, "paging": {"next": {"after": "190"}}},
        {"total": 265, "results": first[190:] + second},
    ]
    server = ScriptedServer(*(Reply(200, json.dumps(page).encode()) for page in pages))
    with server.running():
        config = config_for(server.url)
        api = HubSpotClient(config.hubspot, config.http)
        ids = [c.id for page in api.changed_contacts(SINCE, ["newsletter"]) for c in page]
    assert sorted(ids, key=int) == [str(i) for i in range(260)]
    noted = api.skipped.take()
    assert len(noted) == 5, noted
    assert any("no usable id (None, email noid@" in note for note in noted)
    assert any("901" in note and "properties" in note for note in noted)
    assert any("902" in note and "lastmodifieddate" in note for note in noted)


def member(i: int, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": f"hash{i}",
        "email_address": f"m{i}@northwind-mail.com",
        "unique_email_id": f"u{i}",
        "status": "subscribed",
        "merge_fields": {"FNAME": f"M{i}"},
        "last_changed": "2026-01-02T10:00:00+00:00",
    }
    raw.update(changes)
    return raw


def test_malformed_members_are_skipped_and_noted() -> None:
    members = [
        member(1),
        member(2, merge_fields="FNAME=Two"),
        {"id": "x", "status": "subscribed"},
        member(4, last_changed="yesterday"),
        member(5, status=["subscribed"]),
        member(6),
    ]
    page = {"members": members, "total_items": len(members)}
    server = ScriptedServer(fallback=Reply(200, json.dumps(page).encode()))
    with server.running():
        config = config_for(server.url)
        api = MailchimpClient(config.mailchimp, config.http)
        emails = {m.email for page in api.changed_members(SINCE, ["FNAME"]) for m in page}
    assert emails == {"m1@northwind-mail.com", "m6@northwind-mail.com"}
    noted = set(api.skipped.take())
    assert len(noted) == 4, noted
    assert any("merge_fields" in note and "m2@" in note for note in noted)


def test_odd_date_headers_are_read_or_ignored_never_fatal() -> None:
    """``-0000`` means UTC with no zone known (RFC 5322); a header sent twice is joined."""
    replies = [
        Reply(200, b'{"a": 1}', {"Date": "Tue, 01 Dec 2026 10:00:00 -0000"}),
        Reply(200, b'{"a": 2}', {"Date": "Tue, 01 Dec 2026 09:00:00 GMT"}),
        Reply(200, b'{"a": 3}', {"Date": "yesterday-ish"}),
    ]
    server = ScriptedServer(*replies)
    with server.running():
        api = ApiSession("test", server.url, secrets=())
        api.begin_walk()
        for _ in replies:
            api.request("GET", "/x")
    started = api.walk_started()
    assert started is not None
    assert started.tzinfo is not None


def test_a_run_skips_malformed_contacts_reports_them_and_syncs_the_rest(
    sim: SandboxDriver, tmp_path: Path
) -> None:
    good = [
        contact(i, properties={**contact(i)["properties"], "newsletter": "true"}) for i in (1, 2)
    ]
    answer = {"total": 7, "results": good + BAD_CONTACTS}
    # The run's first call checks the mapped properties exist (run/preflight.py): answer it
    # with them; every later call gets the same search answer.
    properties = {"results": [_property(name) for name in MAPPED]}
    hubspot = ScriptedServer(
        Reply(200, json.dumps(properties).encode()),
        fallback=Reply(200, json.dumps(answer).encode()),
    )
    with hubspot.running():
        info = sim.sandbox.info
        config = sim.write_config(
            tmp_path, hubspot={"token": info.hubspot_token, "base_url": hubspot.url}
        )
        ran = CliRunner().invoke(cli, ["--config", str(config), "run", "--json"])
    assert ran.exit_code == ExitCode.PARTIAL, ran.output
    report = json.loads(ran.stdout)
    assert report["counts"]["malformed"] == 5, "the five malformed contacts"
    skipped = [f for f in report["failures"] if f["reason"].startswith("skipped: hubspot: ")]
    assert len(skipped) == 5
    assert set(sim.mailchimp_by_email()) == {"c1@northwind-mail.com", "c2@northwind-mail.com"}


MAPPED = ("newsletter", "firstname", "lastname", "lifecyclestage", "notes_last_contacted")


def _property(name: str) -> dict[str, Any]:
    """A property definition as HubSpot lists it, of the type the sandbox world maps."""
    kind, field_type = {
        "newsletter": ("bool", "booleancheckbox"),
        "notes_last_contacted": ("datetime", "date"),
    }.get(name, ("string", "text"))
    return {"name": name, "label": name.title(), "type": kind, "fieldType": field_type}
