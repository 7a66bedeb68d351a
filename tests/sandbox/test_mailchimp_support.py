"""Helpers shared by the Mailchimp simulator tests (kept out of conftest.py, which HubSpot's share).

Each test module serves one simulator for all its tests (:func:`running`, module scope: stopping a
server takes half a second) and hands every test a :func:`fresh` one; nothing here is a test.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from syncer.sandbox.loopback import RunningServer
from syncer.sandbox.mailchimp.simulator import MailchimpSimulator

API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST_ID = "5a4db0c0de"
AUTH = ("anyone", API_KEY)
TIMEOUT = 10


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


@dataclass
class Mailchimp:
    """A running simulator and calls to it, each on a new connection as the SDK makes them.

    (A kept-alive connection costs ~40 ms a response here: the shared server writes headers and
    body separately without TCP_NODELAY, and the client delays its ACK.)
    """

    url: str
    simulator: MailchimpSimulator

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """An API call; ``path`` is relative to ``/3.0`` like Mailchimp's docs."""
        url = f"{self.url}/3.0{path}"
        return requests.request(method, url, auth=AUTH, timeout=TIMEOUT, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.ok, (response.status_code, response.text)
        return response.json() if response.content else None

    def member_path(self, email: str) -> str:
        return f"/lists/{LIST_ID}/members/{md5(email)}"

    def put(self, email: str, **body: Any) -> requests.Response:
        return self.call("PUT", self.member_path(email), json={"email_address": email, **body})

    def admin(self, method: str, path: str, payload: Any = None) -> Any:
        response = requests.request(
            method, f"{self.url}/_sim/{path}", json=payload, timeout=TIMEOUT
        )
        assert response.ok, (response.status_code, response.text)
        return response.json()

    def configure(self, **settings: Any) -> Any:
        return self.admin("POST", "config", settings)

    def seed(self, *members: dict[str, Any], **extra: Any) -> Any:
        return self.admin("POST", "seed", {"members": list(members), **extra})

    def status_of(self, email: str) -> str:
        return str(self.ok("GET", self.member_path(email))["status"])

    def wait_for_batch(self, batch_id: str, seconds: float = 10) -> dict[str, Any]:
        return wait_until(lambda: self._finished(batch_id), seconds)

    def _finished(self, batch_id: str) -> dict[str, Any] | None:
        batch = self.ok("GET", f"/batches/{batch_id}")
        return dict(batch) if batch["status"] == "finished" else None


def wait_until(probe: Callable[[], Any], seconds: float) -> Any:
    """Poll ``probe`` until it returns something truthy; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"gave up after {seconds} s")


@contextlib.contextmanager
def running() -> Iterator[Mailchimp]:
    """A simulator on an ephemeral loopback port, stopped afterwards."""
    simulator = MailchimpSimulator(api_key=API_KEY, list_id=LIST_ID)
    with RunningServer(simulator).running() as server:
        yield Mailchimp(server.url, simulator)


def fresh(sim: Mailchimp, **settings: Any) -> Mailchimp:
    """Through the admin API: an empty store, no faults, default config plus ``settings``."""
    sim.admin("POST", "reset")
    sim.admin("POST", "faults", {"rate": 0})
    sim.configure(**{**MailchimpSimulator.default_config, **settings})
    return sim
