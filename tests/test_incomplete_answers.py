"""A 200 without what its endpoint always returns is a remote error, retried, never an empty page.

Without these checks a search answer with no ``results`` read as "nothing changed", the cursor
moved on, and every edit older than the overlap was lost for good (opt-outs included).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.config import Config, parse_config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.hubspot.parse import WriteInput
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.errors import ExitCode, RetriableError
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def config_for(url: str) -> Config:
    return parse_config(
        f"hubspot: {{token: pat-test-token, base_url: '{url}'}}\n"
        f"mailchimp: {{api_key: 0a-us1, list_id: l, base_url: '{url}'}}\n"
        "http: {max_tries: 3, max_time: 5}\n",
        {},
    )


def reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


def contact(i: int) -> dict[str, Any]:
    stamp = (SINCE + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
    return {
        "id": str(i),
        "properties": {"email": f"c{i}@northwind-mail.com", "lastmodifieddate": stamp},
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"total": 3}, id="no results"),
        pytest.param({"results": "none", "total": 0}, id="results not a list"),
        pytest.param(
            {"total": 450, "results": [contact(i) for i in range(200)]}, id="no paging where due"
        ),
    ],
)
def test_a_search_answer_without_its_payload_is_retried_then_fails(answer: Any) -> None:
    server = ScriptedServer(fallback=reply(answer))
    with server.running():
        api = HubSpotClient(config_for(server.url).hubspot, config_for(server.url).http)
        with pytest.raises(RetriableError, match="answered 200 without"):
            list(api.changed_contacts(SINCE, ["firstname"]))
    assert len(server.seen) == 3


def test_a_search_retried_past_a_bad_answer_reads_everything() -> None:
    good = {"total": 2, "results": [contact(1), contact(2)]}
    server = ScriptedServer(reply({"total": 2}), reply(good))
    with server.running():
        api = HubSpotClient(config_for(server.url).hubspot, config_for(server.url).http)
        ids = [c.id for page in api.changed_contacts(SINCE, ["firstname"]) for c in page]
    assert ids == ["1", "2"]


def test_a_batch_update_answered_without_results_is_not_a_vanished_contact() -> None:
    """Read as "absent from the answer", every input would have been relinked or detached."""
    server = ScriptedServer(fallback=reply({"status": "COMPLETE"}))
    with server.running():
        api = HubSpotClient(config_for(server.url).hubspot, config_for(server.url).http)
        with pytest.raises(RetriableError, match="without"):
            api.update([WriteInput("1", {"firstname": "A"}, "7")])


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"total_items": 5}, id="no members"),
        pytest.param({"members": {"a": 1}, "total_items": 1}, id="members not a list"),
    ],
)
def test_a_members_answer_without_its_payload_is_retried_then_fails(answer: Any) -> None:
    server = ScriptedServer(fallback=reply(answer))
    with server.running():
        config = config_for(server.url)
        api = MailchimpClient(config.mailchimp, config.http)
        with pytest.raises(RetriableError, match="answered 200 without"):
            list(api.changed_members(SINCE, ["FNAME"]))
    assert len(server.seen) == 3


@pytest.mark.parametrize("read", ["tags", "member_tags"])
def test_a_tag_listing_without_its_list_is_retried_then_fails(read: str) -> None:
    """An audience's tags read as none would untag nobody and tag everyone anew."""
    server = ScriptedServer(fallback=reply({"total_items": 4}))
    with server.running():
        config = config_for(server.url)
        api = MailchimpClient(config.mailchimp, config.http)
        with pytest.raises(RetriableError, match="answered 200 without"):
            api.tags() if read == "tags" else api.member_tags("0" * 32)
    assert len(server.seen) == 3


@pytest.mark.parametrize("side", ["hubspot", "mailchimp"])
def test_a_run_fed_empty_answers_exits_4_and_moves_no_cursor(
    sim: SandboxDriver, tmp_path: Path, side: str
) -> None:
    server = ScriptedServer(fallback=reply({}))
    with server.running():
        info = sim.sandbox.info
        sections: dict[str, Any] = {
            "hubspot": {"token": info.hubspot_token, "base_url": info.hubspot_url},
            "mailchimp": {
                "api_key": info.mailchimp_api_key,
                "list_id": info.list_id,
                "base_url": info.mailchimp_url,
            },
        }
        sections[side]["base_url"] = server.url
        config = sim.write_config(
            tmp_path, http={"max_tries": 2, "max_time": 5, "read_timeout": 5}, **sections
        )
        ran = CliRunner().invoke(cli, ["--config", str(config), "run"])
        reported = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert ran.exit_code == ExitCode.REMOTE, ran.output
    assert "without" in ran.stderr
    assert json.loads(reported.stdout)["cursors"].get(side) is None
