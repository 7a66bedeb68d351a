"""Both simulators side by side on loopback, sharing one clock: what `syncer sandbox` serves."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import TracebackType

from syncer.sandbox.clock import SimClock
from syncer.sandbox.hubspot.simulator import HubSpotSimulator
from syncer.sandbox.loopback import RunningServer
from syncer.sandbox.mailchimp.simulator import MailchimpSimulator

SANDBOX_MAILCHIMP_KEY = "5a4db0c0ffee5a4db0c0ffee5a4db0c0-us21"
SANDBOX_LIST_ID = "5a4db0c0de"
SANDBOX_HUBSPOT_TOKEN = "pat-na1-5a4db0c0-0000-4000-8000-5a4db0c0ffee"  # noqa: S105 - the sandbox's public fake


@dataclass(frozen=True)
class SandboxInfo:
    """What a client needs to reach the sandbox; printed by `syncer sandbox` as one JSON line."""

    mailchimp_url: str
    mailchimp_api_key: str
    list_id: str
    hubspot_url: str
    hubspot_token: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class Sandbox:
    """Start both simulators; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, mailchimp_port: int = 0, hubspot_port: int = 0) -> None:
        self.clock = SimClock()
        self.mailchimp = MailchimpSimulator(
            self.clock, api_key=SANDBOX_MAILCHIMP_KEY, list_id=SANDBOX_LIST_ID
        )
        self.hubspot = HubSpotSimulator(self.clock, token=SANDBOX_HUBSPOT_TOKEN)
        self._servers = (
            RunningServer(self.mailchimp, mailchimp_port),
            RunningServer(self.hubspot, hubspot_port),
        )

    @property
    def info(self) -> SandboxInfo:
        mailchimp, hubspot = self._servers
        return SandboxInfo(
            mailchimp_url=f"{mailchimp.url}/3.0",
            mailchimp_api_key=SANDBOX_MAILCHIMP_KEY,
            list_id=SANDBOX_LIST_ID,
            hubspot_url=hubspot.url,
            hubspot_token=SANDBOX_HUBSPOT_TOKEN,
        )

    def start(self) -> Sandbox:
        for server in self._servers:
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
