"""`syncer sandbox`: one JSON line once it listens, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys

import pytest
import requests


def test_prints_its_json_line_and_stops_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=30.0), "no line within thirty seconds"
        line = process.stdout.readline()
        info = json.loads(line)
        assert set(info) == {
            "mailchimp_url",
            "mailchimp_api_key",
            "list_id",
            "hubspot_url",
            "hubspot_token",
            "seeded",
        }
        assert info["seeded"] == 0
        ping = requests.get(
            f"{info['mailchimp_url']}/ping", auth=("any", info["mailchimp_api_key"]), timeout=5
        )
        assert ping.json() == {"health_status": "Everything's Chimpy!"}
        contacts = requests.get(
            f"{info['hubspot_url']}/crm/v3/objects/contacts",
            headers={"Authorization": f"Bearer {info['hubspot_token']}"},
            timeout=5,
        )
        assert contacts.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(("spec", "at_least"), [("40", 40), ("demo", 370)])
def test_seed_fills_both_simulators_with_sample_people(spec: str, at_least: int) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox", "--seed", spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        try:
            assert info["seeded"] >= at_least
            contacts = requests.get(
                f"{info['hubspot_url']}/crm/v3/objects/contacts",
                params={"limit": 100},
                headers={"Authorization": f"Bearer {info['hubspot_token']}"},
                timeout=5,
            ).json()["results"]
            members = requests.get(
                f"{info['mailchimp_url']}/lists/{info['list_id']}/members",
                auth=("any", info["mailchimp_api_key"]),
                timeout=5,
            ).json()["total_items"]
            assert contacts
            assert members > 0
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)


def test_seed_takes_demo_or_a_count() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "sandbox", "--seed", "lots"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "give `demo` or a number of people" in done.stderr
