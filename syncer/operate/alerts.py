"""Alerts beyond exit codes: a webhook message when health turns bad, and when it recovers.

After every real run the health verdict is compared with the one last alerted (kept in the
cache), so a failing run gives one message, not one per cron tick, and the recovery gives one
more. The body is Slack's incoming-webhook shape (``{"text": ...}``) and carries reasons only:
messages are built from the health rules, which never include a credential or a URL.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

import requests

from syncer.cache.store import Store
from syncer.config import Config
from syncer.operate.health import Health, evaluate

log = logging.getLogger("syncer.alerts")

STATE_KEY = "alert_state"


def alert_after_run(store: Store, config: Config) -> None:
    """Send a message when health changed since the last alert; never fail the run over it."""
    url = config.alerts.webhook_url
    if url is None:
        return
    now = datetime.now(UTC)
    batches = [(b.id, datetime.fromisoformat(b.submitted_at)) for b in store.open_batches()]
    health = evaluate(store.runs(limit=10), batches, now, config.health)
    previous = store.get_meta(STATE_KEY) or "ok"
    current = "ok" if health.ok else "bad"
    if current == previous:
        return
    try:
        response = requests.post(url.reveal(), json=message(health, config), timeout=10)
        response.raise_for_status()
    except requests.RequestException as error:
        log.warning("the alert webhook could not be reached (%s)", type(error).__name__)
        return
    store.set_meta(STATE_KEY, current)
    log.info("alert sent: health is %s", "ok again" if health.ok else "bad")


def message(health: Health, config: Config) -> dict[str, str]:
    where = f"{socket.gethostname()}:{config.state_path.name}"
    if health.ok:
        return {"text": f"syncer on {where} recovered: the sync is healthy again."}
    reasons = "\n".join(f"• {reason}" for reason in health.reasons)
    return {"text": f"syncer on {where} is unhealthy:\n{reasons}\nRun `syncer status` for more."}
