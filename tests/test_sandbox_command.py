"""`syncer sandbox`: one JSON line within two seconds, a clean exit on SIGTERM."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time

import requests


def test_prints_its_json_line_quickly_and_stops_on_sigterm() -> None:
    started = time.monotonic()
    with subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=2.0), "no line within two seconds"
        line = process.stdout.readline()
        elapsed = time.monotonic() - started
        info = json.loads(line)
        assert set(info) == {
            "mailchimp_url",
            "mailchimp_api_key",
            "list_id",
            "hubspot_url",
            "hubspot_token",
        }
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
    assert elapsed < 2.0
