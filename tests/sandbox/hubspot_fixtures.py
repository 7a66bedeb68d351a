"""Helpers shared by the HubSpot simulator tests (kept out of conftest.py, which Mailchimp's share).

Each test module starts one simulator for the module (stopping a server costs half a second, so
one per test would dominate the run time) and hands every test a freshly restored one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import requests
from hubspot import HubSpot

from syncer.sandbox.hubspot.simulator import HubSpotSimulator
from syncer.sandbox.loopback import RunningServer

TOKEN = "pat-na1-11111111-2222-4333-8444-555555555555"
TIMEOUT = 30
CONTACTS = "/crm/v3/objects/contacts"


class Hub:
    """A running HubSpot simulator with a plain HTTP client for it.

    Every call opens its own connection: the shared server writes headers and body in two
    packets without TCP_NODELAY, so a kept-alive connection waits ~40 ms (delayed ACK) per call.
    """

    def __init__(self, server: RunningServer, simulator: HubSpotSimulator) -> None:
        self.url = server.url
        self.simulator = simulator

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        params: Any = None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(
            method, self.url + path, json=body, params=params, headers=headers, timeout=TIMEOUT
        )

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """An API call that must succeed; its JSON body (``None`` for a 204)."""
        response = self.call(method, path, body, params=params or None)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    def admin_call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.url}/_sim/{path}", json=body, timeout=TIMEOUT)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """An admin call that must succeed; its JSON body."""
        response = self.admin_call(method, path, body)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def configure(self, **settings: Any) -> Any:
        return self.admin("POST", "config", settings)

    def seed(self, *contacts: dict[str, Any], properties: list[Any] | None = None) -> list[str]:
        ids: list[str] = self.admin(
            "POST", "seed", {"contacts": list(contacts), "properties": properties or []}
        )["ids"]
        return ids

    def create(self, **properties: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.ok("POST", CONTACTS, {"properties": properties})
        return created

    def sdk(self) -> HubSpot:
        """The official client exactly as its README builds it; only the host moves to loopback."""
        return HubSpot(access_token=TOKEN, host=self.url)

    def restored(self) -> Hub:
        """Back to a fresh portal: empty store and request log, default settings (no index lag),
        no faults."""
        self.admin("POST", "reset")
        # Search shows writes at once here, unless a test asks for HubSpot's index lag itself:
        # these tests read back what they just wrote through search.
        self.configure(**{**HubSpotSimulator.default_config, "index_lag_ms": 0})
        self.admin("POST", "faults", {"rate": 0})
        return self


@contextlib.contextmanager
def running_hub() -> Iterator[Hub]:
    simulator = HubSpotSimulator(token=TOKEN)
    with RunningServer(simulator).running() as server:
        yield Hub(server, simulator)
