"""The HTTP layer against a scripted loopback server: retries, bounds, counts, redaction."""

from __future__ import annotations

import io
import json
import time

import pytest

from syncer.connectors.http import ApiSession, RetryPolicy
from syncer.errors import AuthError, RemoteError, RetriableError
from syncer.operate.logs import configure_logging
from tests.support.scripted_server import Reply, ScriptedServer

TOKEN = "pat-na1-secret-token-value"
FAST = RetryPolicy(max_tries=4, max_time=10, base_delay=0.01, max_delay=0.05)


def session(url: str, policy: RetryPolicy = FAST, read_timeout: float = 2.0) -> ApiSession:
    return ApiSession(
        "hubspot",
        url,
        secrets=(TOKEN,),
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=(1.0, read_timeout),
        policy=policy,
    )


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging(1, stream)
    return stream


def test_retry_after_is_honoured() -> None:
    server = ScriptedServer(Reply(429, b'{"message": "slow down"}', {"Retry-After": "1"}), Reply())
    with server.running():
        api = session(server.url)
        response = api.request("GET", "/things/{id}", path={"id": "1"})
    assert response.status == 200
    gap = server.seen[1].at - server.seen[0].at
    assert 0.9 <= gap < 2.0
    assert api.calls == {"GET /things/{id}": 2}


def test_a_503_storm_gives_up_after_the_bound_with_one_clear_error() -> None:
    server = ScriptedServer(fallback=Reply(503, b'{"message": "unavailable"}'))
    with server.running():
        api = session(server.url)
        with pytest.raises(RetriableError) as raised:
            api.request("GET", "/things")
    assert len(server.seen) == FAST.max_tries
    assert api.calls["GET /things"] == FAST.max_tries
    message = str(raised.value)
    assert "GET /things answered 503" in message
    assert "gave up" in message


def test_time_bound_stops_retrying_before_the_try_bound() -> None:
    server = ScriptedServer(fallback=Reply(503, b"{}", {"Retry-After": "0.4"}))
    policy = RetryPolicy(max_tries=50, max_time=1.0, base_delay=0.01)
    with server.running():
        started = time.monotonic()
        with pytest.raises(RetriableError):
            session(server.url, policy).request("GET", "/things")
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert 2 <= len(server.seen) <= 5


def test_timeouts_are_retried() -> None:
    server = ScriptedServer(Reply(delay=1.0), Reply(body=b'{"ok": true}'))
    with server.running():
        api = session(server.url, read_timeout=0.3)
        assert api.request("GET", "/slow").data == {"ok": True}
    assert api.calls["GET /slow"] == 2


def test_dropped_connections_are_retried() -> None:
    server = ScriptedServer(Reply(drop=True), Reply(drop=True), Reply(body=b'{"ok": 1}'))
    with server.running():
        api = session(server.url)
        assert api.request("GET", "/flaky").data == {"ok": 1}
    assert len(server.seen) == 3


def test_garbled_success_body_is_retried() -> None:
    server = ScriptedServer(Reply(200, b'{"trunc'), Reply(200, b'{"ok": 2}'))
    with server.running():
        assert session(server.url).request("GET", "/x").data == {"ok": 2}


def test_call_counter_is_exact_per_endpoint_template() -> None:
    server = ScriptedServer(fallback=Reply(200, b"{}"))
    with server.running():
        api = session(server.url)
        for contact in ("1", "2", "3"):
            api.request("GET", "/contacts/{id}", path={"id": contact})
        api.request("POST", "/contacts/batch", json_body={}, retry_safe_because="test")
    assert api.calls == {"GET /contacts/{id}": 3, "POST /contacts/batch": 1}
    assert len(server.seen) == 4


def test_client_errors_are_not_retried_and_carry_title_and_detail() -> None:
    problem = {
        "title": "Invalid Resource",
        "detail": "Your merge fields were invalid.",
        "status": 400,
    }
    server = ScriptedServer(Reply(400, json.dumps(problem).encode()))
    with server.running(), pytest.raises(RemoteError) as raised:
        session(server.url).request("GET", "/x")
    assert not isinstance(raised.value, RetriableError)
    assert (raised.value.title, raised.value.detail) == ("Invalid Resource", problem["detail"])
    assert len(server.seen) == 1


def test_401_is_an_auth_error() -> None:
    server = ScriptedServer(Reply(401, b'{"message": "Authentication credentials not found."}'))
    with server.running(), pytest.raises(AuthError):
        session(server.url).request("GET", "/x")


def test_writes_must_say_why_a_retry_is_harmless() -> None:
    api = session("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="harmless"):
        api.request("POST", "/x", json_body={})


def test_token_never_appears_in_logs_or_errors(log_stream: io.StringIO) -> None:
    echoed = json.dumps({"message": f"bad token {TOKEN}"}).encode()
    server = ScriptedServer(Reply(503, echoed), fallback=Reply(401, echoed))
    with server.running():
        api = session(server.url)
        with pytest.raises(AuthError) as raised:
            api.request("GET", "/contacts/{id}", path={"id": "1"})
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(raised.value)
    assert TOKEN not in repr(raised.value.args)
    logged = log_stream.getvalue()
    assert "retrying" in logged
    assert TOKEN not in logged


def test_download_sends_no_credentials_and_names_a_label_not_the_url() -> None:
    server = ScriptedServer(Reply(503, b""), Reply(200, b"\x1f\x8bdata"))
    with server.running():
        api = session(server.url)
        with api.download(f"{server.url}/archive.tar.gz?Signature=abc", "batch archive") as got:
            assert got.read() == b"\x1f\x8bdata"
    assert "Authorization" not in server.seen[-1].headers
    assert api.calls == {"GET batch archive": 2}


def test_vendor_error_readers_are_redacted_too() -> None:
    """HubSpot's own 401 reading quotes the body's message: the token it echoes must go."""
    from syncer.connectors.hubspot.client import _read_error

    echoed = json.dumps({"message": f"token {TOKEN} is expired", "token": TOKEN}).encode()
    server = ScriptedServer(fallback=Reply(401, echoed))
    with server.running():
        api = ApiSession(
            "hubspot",
            server.url,
            secrets=(TOKEN,),
            headers={"Authorization": f"Bearer {TOKEN}"},
            policy=FAST,
            read_error=_read_error,
        )
        with pytest.raises(AuthError) as raised:
            api.request("GET", "/crm/v3/objects/contacts")
    error = raised.value
    texts = (str(error), error.message, error.hint, error.title, error.detail, repr(error.body))
    assert not [text for text in texts if TOKEN in text]
    assert "expired" in str(error)


def test_bodies_leaving_the_layer_are_redacted_success_and_failure() -> None:
    echoed = json.dumps({"title": "Invalid Resource", "detail": f"key {TOKEN}", "k": TOKEN})
    server = ScriptedServer(
        Reply(400, echoed.encode()), Reply(200, json.dumps({"echo": TOKEN}).encode())
    )
    with server.running():
        api = session(server.url)
        with pytest.raises(RemoteError) as raised:
            api.request("GET", "/x")
        answer = api.request("GET", "/y")
    assert TOKEN not in repr(raised.value.body) + raised.value.detail + str(raised.value)
    assert TOKEN not in json.dumps(answer.data)
