"""Reads are bounded: in time per call, by the run's own deadline, and in size.

``requests`` bounds each socket read, not the answer: a server dripping a byte at a time never
trips a read timeout, and one that keeps sending fills memory. These servers misbehave on purpose;
every test here would hang, or swell, on a layer that trusted them.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncer.cli import cli
from syncer.connectors.http import ApiSession, RetryPolicy
from syncer.connectors.mailchimp.batches import parse_archive
from syncer.errors import ArchiveError, ExitCode, OutOfTime, ResponseTooLarge, RetriableError
from tests.support.sandbox import SandboxDriver
from tests.support.scripted_server import Reply, ScriptedServer

TOKEN = "pat-na1-bounded-token"
FAST = RetryPolicy(max_tries=2, max_time=10, base_delay=0.01, max_delay=0.05)
#: A body of a megabyte sent a byte every 50 ms: fourteen hours, unless the reader gives up.
DRIP = Reply(200, b" " * 2**20, drip=0.05)

pytestmark = pytest.mark.timeout(30)


def session(
    url: str, *, read_timeout: float = 2.0, policy: RetryPolicy = FAST, max_body: int = 2**20
) -> ApiSession:
    return ApiSession(
        "hubspot",
        url,
        secrets=(TOKEN,),
        timeout=(1.0, read_timeout),
        policy=policy,
        max_body_bytes=max_body,
    )


def test_a_dripping_body_times_out_within_the_read_timeout_and_is_retried() -> None:
    server = ScriptedServer(DRIP, Reply(200, b'{"ok": true}'))
    with server.running():
        api = session(server.url, read_timeout=0.5)
        assert api.request("GET", "/slow").data == {"ok": True}
    assert api.calls["GET /slow"] == 2


def test_an_endless_drip_gives_up_at_the_calls_time_bound() -> None:
    server = ScriptedServer(fallback=DRIP)
    policy = RetryPolicy(max_tries=50, max_time=1.0, base_delay=0.01, max_delay=0.05)
    with server.running():
        api = session(server.url, read_timeout=30, policy=policy)
        with pytest.raises(RetriableError, match="timed out"):
            api.request("GET", "/slow")
    assert len(server.seen) == 1


def test_the_runs_cutoff_ends_a_call_in_flight() -> None:
    server = ScriptedServer(fallback=DRIP)
    policy = RetryPolicy(max_tries=50, max_time=300, base_delay=0.01, max_delay=0.05)
    with server.running():
        api = session(server.url, read_timeout=60, policy=policy)
        api.stop_calls_at(time.monotonic() + 0.5)
        with pytest.raises(OutOfTime):
            api.request("GET", "/slow")


def test_a_retry_wait_past_the_runs_cutoff_is_not_waited_for() -> None:
    server = ScriptedServer(fallback=Reply(503, b"{}", {"Retry-After": "100"}))
    with server.running():
        api = session(server.url, policy=RetryPolicy(max_tries=5, max_time=300))
        api.stop_calls_at(time.monotonic() + 1.0)
        with pytest.raises(OutOfTime):
            api.request("GET", "/busy")
    assert len(server.seen) == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["announced", "chunked"])
def test_an_answer_past_the_size_cap_is_refused_clearly_and_not_retried(chunked: bool) -> None:
    big = json.dumps({"results": ["x" * 1000] * 3000}).encode()
    server = ScriptedServer(fallback=Reply(200, big, chunked=chunked))
    with server.running():
        api = session(server.url, max_body=2**20)
        with pytest.raises(ResponseTooLarge) as raised:
            api.request("GET", "/big")
    assert "1 MB" in str(raised.value)
    assert "http.max_response_mb" in raised.value.hint
    assert len(server.seen) == 1


def test_a_compressed_answer_is_capped_by_its_decoded_size() -> None:
    bomb = gzip.compress(b"[" + b" " * (8 * 2**20) + b"]")
    server = ScriptedServer(fallback=Reply(200, bomb, {"Content-Encoding": "gzip"}))
    with server.running(), pytest.raises(ResponseTooLarge):
        session(server.url, max_body=2**20).request("GET", "/bomb")


def test_connections_are_still_kept_alive() -> None:
    server = ScriptedServer(fallback=Reply(200, b'{"ok": 1}'))
    with server.running():
        api = session(server.url)
        for _ in range(3):
            api.request("GET", "/x")
    assert len({seen.client for seen in server.seen}) == 1


def _archive_bomb(megabytes: int) -> bytes:
    """A results archive of ~0.4 MB holding one file of ``megabytes`` MB (gzip members join)."""
    header = io.BytesIO()
    with tarfile.open(fileobj=header, mode="w") as archive:
        info = tarfile.TarInfo("./results.json")
        info.size = megabytes * 2**20
        archive.addfile(info)  # the header alone; the content follows as gzip members
    head = header.getvalue()[:512]
    megabyte = gzip.compress(b" " * 2**20, compresslevel=9)
    end = gzip.compress(b"\0" * 1024)
    return gzip.compress(head) + megabyte * megabytes + end


def test_an_archive_unpacking_past_the_cap_is_refused_without_unpacking_it() -> None:
    bomb = _archive_bomb(400)
    assert len(bomb) < 600_000
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match="unpacks to more than"):
            parse_archive(io.BytesIO(bomb), max_unpacked=64 * 2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_a_download_is_streamed_to_a_file_not_held() -> None:
    content = b"\x1f\x8b" + b"a" * 300_000
    server = ScriptedServer(Reply(503, b""), Reply(200, content, chunked=True))
    with server.running():
        api = session(server.url)
        with api.download(f"{server.url}/archive.tar.gz?Signature=abc", "archive") as handle:
            assert handle.read() == content
    assert "Authorization" not in server.seen[-1].headers
    assert api.calls == {"GET archive": 2}


def test_a_download_past_the_cap_is_refused() -> None:
    server = ScriptedServer(fallback=Reply(200, b"a" * (3 * 2**20)))
    with server.running():
        api = session(server.url, max_body=2**20)
        with pytest.raises(ResponseTooLarge):
            api.download(f"{server.url}/a", "archive")


def test_max_time_ends_a_run_stuck_on_a_dripping_server(sim: SandboxDriver, tmp_path: Path) -> None:
    """Before, a run read a drip until it ended, holding the lock for every later cron run."""
    server = ScriptedServer(fallback=DRIP)
    with server.running():
        info = sim.sandbox.info
        config = sim.write_config(
            tmp_path,
            hubspot={"token": info.hubspot_token, "base_url": server.url},
            http={"max_tries": 3, "max_time": 600, "read_timeout": 600},
        )
        ran = CliRunner().invoke(cli, ["--config", str(config), "run", "--max-time", "1", "--json"])
        listed = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert ran.exit_code == ExitCode.OK, ran.output
    assert json.loads(ran.stdout)["counts"]["stopped_early"] == 1
    assert "cut" in ran.stderr
    (last, *_) = json.loads(listed.stdout)["runs"]
    assert last["outcome"] == "ok"
    assert json.loads(listed.stdout)["cursors"].get("hubspot") is None
