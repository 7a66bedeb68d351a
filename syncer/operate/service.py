"""Wiring for the commands: open the cache and the clients, hold the lock, run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from syncer.cache.creation import creation_reason, earlier_traces
from syncer.cache.failures import cache_failure
from syncer.cache.lock import run_lock
from syncer.cache.store import Store
from syncer.config import Config
from syncer.connectors.hubspot.client import HubSpotClient
from syncer.connectors.mailchimp.client import MailchimpClient
from syncer.errors import StateError
from syncer.operate.alerts import alert_after_run
from syncer.run.context import Deadline, RunContext
from syncer.run.engine import RunOptions, RunReport, run_sync
from syncer.run.progress import Progress

log = logging.getLogger("syncer.run")


@contextmanager
def open_store(
    config: Config, *, create: bool = True, why: str = "created directly"
) -> Iterator[Store]:
    """The cache; ``create`` False for the commands that only read it (no cache: an error),
    ``why`` recorded in a new one."""
    store = Store(config.state_path, create=create, why=why)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def open_clients(config: Config) -> Iterator[tuple[HubSpotClient, MailchimpClient]]:
    hubspot = HubSpotClient(config.hubspot, config.http)
    mailchimp = MailchimpClient(config.mailchimp, config.http)
    try:
        yield hubspot, mailchimp
    finally:
        hubspot.close()
        mailchimp.close()


def last_run(config: Config) -> dict[str, Any] | None:
    """The newest run on record (None without a cache), for a failed run's ``--json``."""
    try:
        with open_store(config, create=False) as store:
            runs = store.runs(limit=1)
    except StateError:
        return None
    return runs[0] if runs else None


def sync_once(
    config: Config,
    options: RunOptions,
    *,
    deadline: Deadline | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """One `syncer run` (or `--dry-run`), under the run lock, until done or ``deadline``.

    A first sync never starts by accident (:mod:`syncer.cache.creation`), and a cache syncs
    only the audience it was made for."""
    traces = earlier_traces(config.state_path)  # before the lock, which leaves one itself
    with run_lock(config.state_path):
        why = creation_reason(config.state_path, full=options.full, traces=traces)
        # ``why`` is None only when a cache is there, which then records its own.
        with open_store(config, why=why or "") as store, open_clients(config) as clients:
            store.hold_to_audience(config.mailchimp.list_id)
            deadline = deadline or Deadline(None)
            for client in clients:
                client.api.stop_calls_at(deadline.cutoff)
            context = RunContext(
                config=config,
                store=store,
                hubspot=clients[0],
                mailchimp=clients[1],
                run_id=None,
                dry_run=options.dry_run,
                deadline=deadline,
                progress=progress or Progress(),
            )
            try:
                return run_sync(context, options)
            finally:
                context.progress.done()
                if not options.dry_run:
                    _alert(store, config)


def _alert(store: Store, config: Config) -> None:
    """Alert after a run; an alert that cannot be evaluated (a full disk) must never hide the
    run's own outcome, which is on its way to the operator."""
    try:
        alert_after_run(store, config)
    except Exception as error:  # noqa: BLE001 - see above
        log.warning("the alert could not be evaluated: %s", cache_failure(error, None) or error)
