"""Driving the sandbox from tests: seeding, outside edits, reading both sides, configs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from syncer.config import Config, load_config
from syncer.sandbox.hubspot.simulator import HubSpotSimulator
from syncer.sandbox.mailchimp.simulator import MailchimpSimulator
from syncer.sandbox.runner import Sandbox
from syncer.sandbox.world import HUBSPOT_PROPERTIES, MERGE_FIELDS, config_document
from tests.support.people import InitialWorld

QUICK_HUBSPOT = {"ten_second_limit": 1000, "search_per_second": 100}
QUICK_MAILCHIMP = {"batch_delay_s": 0.02}


@dataclass
class SandboxDriver:
    """One sandbox, reset for each test, with helpers named by what a test means."""

    sandbox: Sandbox

    def __post_init__(self) -> None:
        self.http = requests.Session()
        info = self.sandbox.info
        self.hs_url = info.hubspot_url
        self.mc_root = info.mailchimp_url.removesuffix("/3.0")
        self.mc_url = info.mailchimp_url
        self.list_id = info.list_id
        self.mc_auth = ("test", info.mailchimp_api_key)
        self.hs_headers = {"Authorization": f"Bearer {info.hubspot_token}"}

    def close(self) -> None:
        self.http.close()

    # -- admin ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty both simulators and restore their settings, quick ones for tests."""
        for root, defaults in (
            (self.hs_url, {**HubSpotSimulator.default_config, **QUICK_HUBSPOT}),
            (self.mc_root, {**MailchimpSimulator.default_config, **QUICK_MAILCHIMP}),
        ):
            self._post(f"{root}/_sim/reset", {})
            self._post(f"{root}/_sim/faults", {"rate": 0})
            self._post(f"{root}/_sim/config", defaults)
        # Every sandbox world has the fields its mappings name (syncer.sandbox.world).
        self.seed_hubspot([])
        self.seed_mailchimp([])

    def seed_hubspot(
        self, contacts: list[dict[str, Any]], properties: list[dict[str, Any]] | None = None
    ) -> list[str]:
        payload = {
            "properties": [*HUBSPOT_PROPERTIES, *(properties or [])],
            "contacts": contacts,
        }
        return list(self._post(f"{self.hs_url}/_sim/seed", payload)["ids"])

    def seed_world(self, world: InitialWorld) -> list[str]:
        """Both sides of a sample world; returns the HubSpot ids in the world's order."""
        ids = self.seed_hubspot(world.hubspot_contacts())
        self.seed_mailchimp(world.mailchimp_members())
        return ids

    def seed_mailchimp(
        self, members: list[dict[str, Any]], merge_fields: list[dict[str, Any]] | None = None
    ) -> int:
        """Seed members; the merge fields are the sample world's unless given (with options)."""
        payload = {"merge_fields": merge_fields or MERGE_FIELDS, "members": members}
        return int(self._post(f"{self.mc_root}/_sim/seed", payload)["members"])

    def advance(self, seconds: float) -> None:
        self._post(f"{self.hs_url}/_sim/clock", {"advance": seconds})

    def faults(self, side: str, spec: dict[str, Any]) -> None:
        self._post(f"{self._root(side)}/_sim/faults", spec)

    def configure(self, side: str, settings: dict[str, Any]) -> None:
        self._post(f"{self._root(side)}/_sim/config", settings)

    def requests(self, side: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self._root(side)}/_sim/requests", timeout=10).json())

    def timeline(self, side: str, since: float = 0) -> list[dict[str, Any]]:
        """When each request since ``since`` (``time.time()``) arrived, ran and was answered."""
        url = f"{self._root(side)}/_sim/timeline"
        return list(self.http.get(url, params={"since": since}, timeout=30).json()["entries"])

    def writes(self, side: str) -> int:
        """Write requests (and batch operations) the simulator has answered since the reset."""
        return sum(n for key, n in self.requests(side)["counts"].items() if _is_write(key))

    def settle_batches(self, timeout: float = 20) -> None:
        """Wait (bounded) until Mailchimp has finished every batch it holds."""

        def finished() -> bool:
            batches = self.http.get(
                f"{self.mc_url}/batches", params={"count": 1000}, auth=self.mc_auth, timeout=10
            ).json()["batches"]
            return all(batch["status"] == "finished" for batch in batches)

        wait_until(finished, timeout, "Mailchimp batches did not finish in time")

    def wait_for_request(self, side: str, key: str, timeout: float = 30) -> None:
        """Wait (bounded) until the simulator has answered ``key``, e.g. ``POST /3.0/batches``.

        A test that must act at a given point of another process's run waits for the request
        that marks it, rather than sleeping for a time a slower machine may not keep to.
        """
        wait_until(
            lambda: self.requests(side)["counts"].get(key, 0) > 0,
            timeout,
            f"the {side} simulator was never asked {key}",
        )

    def trigger_after(
        self, side: str, endpoint: str, request: dict[str, Any], nth: int = 1
    ) -> None:
        """Make ``request`` in the simulator right after it answers the nth ``endpoint`` call
        from now: an outside edit at an exact point of a run (syncer.sandbox.triggers)."""
        trigger = {"after": endpoint, "nth": nth, **request}
        self._post(f"{self._root(side)}/_sim/triggers", {"triggers": [trigger]})

    def triggers_after(
        self, side: str, endpoint: str, requests: list[dict[str, Any]], nth: int = 1
    ) -> None:
        """Like :meth:`trigger_after`, with several requests made in turn at that moment."""
        triggers = [{"after": endpoint, "nth": nth, **request} for request in requests]
        self._post(f"{self._root(side)}/_sim/triggers", {"triggers": triggers})

    def plan_triggers(self, side: str, triggers: list[dict[str, Any]]) -> None:
        """Several triggers after different endpoints, each ``{"after", "nth", **request}``
        (setting triggers replaces the plan, so they go in one call)."""
        self._post(f"{self._root(side)}/_sim/triggers", {"triggers": triggers})

    def triggered(self, side: str) -> list[dict[str, Any]]:
        """The scripted requests made so far, each with the status it was answered."""
        answer = self.http.get(f"{self._root(side)}/_sim/triggers", timeout=10).json()
        return list(answer["fired"])

    def transitions(self) -> list[dict[str, Any]]:
        return list(
            self.http.get(f"{self.mc_root}/_sim/transitions", timeout=10).json()["transitions"]
        )

    def status_requests(self) -> list[dict[str, Any]]:
        """Every status a client asked Mailchimp for (``syncer.sandbox.mailchimp.requested``)."""
        response = self.http.get(f"{self.mc_root}/_sim/status-requests", timeout=30)
        return list(response.json()["requests"])

    def hubspot_edit(self, contact_id: str, properties: dict[str, str]) -> None:
        self._post(f"{self.hs_url}/_sim/edit", {"id": contact_id, "properties": properties})

    def hubspot_delete(self, email: str) -> None:
        """Delete (archive) the contact with this email, as a HubSpot user would."""
        (contact_id,) = [
            c["id"] for c in self.hubspot_contacts(["email"]) if c["properties"]["email"] == email
        ]
        response = self.http.delete(
            f"{self.hs_url}/crm/v3/objects/contacts/{contact_id}",
            headers=self.hs_headers,
            timeout=10,
        )
        assert response.status_code == 204, response.text

    def mailchimp_unsubscribe(self, email: str) -> None:
        self._post(f"{self.mc_root}/_sim/unsubscribe", {"email": email})

    def mailchimp_edit(self, email: str, body: dict[str, Any]) -> None:
        """An edit made in Mailchimp by someone else, through its API as an app would make it."""
        response = self.http.patch(
            f"{self.mc_url}/lists/{self.list_id}/members/{email}",
            json=body,
            auth=self.mc_auth,
            timeout=10,
        )
        assert response.status_code == 200, response.text

    # -- reading both sides through their APIs -------------------------------------------------

    def hubspot_contacts(self, properties: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = None
        for _ in range(10_000):
            params: dict[str, Any] = {"limit": 100, "properties": ",".join(properties)}
            if after:
                params["after"] = after
            data = self.http.get(
                f"{self.hs_url}/crm/v3/objects/contacts",
                params=params,
                headers=self.hs_headers,
                timeout=30,
            ).json()
            found.extend(data["results"])
            after = (data.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return found
        raise AssertionError("HubSpot listing did not end")

    def mailchimp_members(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for offset in range(0, 1_000_000, 1000):
            data = self.http.get(
                f"{self.mc_url}/lists/{self.list_id}/members",
                params={"count": 1000, "offset": offset},
                auth=self.mc_auth,
                timeout=30,
            ).json()
            found.extend(data["members"])
            if len(data["members"]) < 1000:
                return found
        raise AssertionError("Mailchimp listing did not end")

    def hubspot_by_email(self, properties: list[str]) -> dict[str, dict[str, Any]]:
        return {
            c["properties"]["email"].lower(): c["properties"]
            for c in self.hubspot_contacts(properties)
        }

    def mailchimp_by_email(self) -> dict[str, dict[str, Any]]:
        return {m["email_address"].lower(): m for m in self.mailchimp_members()}

    # -- config --------------------------------------------------------------------------------

    def write_config(self, folder: Path, **overrides: Any) -> Path:
        """A config for this sandbox with quick test timings; ``overrides`` replace sections."""
        document = config_document(
            self.sandbox.info,
            "state/syncer.db",
            sync={"batch_wait_seconds": 10, "batch_poll_seconds": 0.05, "overlap_seconds": 120},
            http={"max_tries": 4, "max_time": 20, "read_timeout": 10},
        )
        document["hubspot"]["search_per_second"] = 50
        document.update(overrides)
        path = folder / "syncer.yaml"
        path.write_text(yaml.safe_dump(document))
        return path

    def config(self, folder: Path, **overrides: Any) -> Config:
        return load_config(self.write_config(folder, **overrides))

    def _root(self, side: str) -> str:
        return self.hs_url if side == "hubspot" else self.mc_root

    def _post(self, url: str, payload: dict[str, Any]) -> Any:
        response = self.http.post(url, json=payload, timeout=60)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response.json()


def _is_write(key: str) -> bool:
    if key == "batch_operations":
        return True
    method, _, path = key.partition(" ")
    reads = path.endswith("/search") or path.endswith("/batch/read")
    return method in ("POST", "PUT", "PATCH", "DELETE") and not reads


def wait_until(condition: Callable[[], bool], timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(failure)
