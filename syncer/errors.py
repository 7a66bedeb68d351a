"""The error tree and the exit codes, side by side because one decides the other.

Errors are grouped by what the caller does next: fix the config, wait for the other run, check the
remote service or its credentials. Each carries one sentence saying what happened and a hint saying
what to do; the CLI prints both and exits with the error's code.
"""

from __future__ import annotations

import traceback
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes; the README's table is tested against this enum."""

    OK = 0
    PARTIAL = 1
    CONFIG = 2
    LOCKED = 3
    REMOTE = 4
    GUARD = 5
    UNEXPECTED = 6
    INTERRUPTED = 130


EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success (for `status --check`: healthy)",
    ExitCode.PARTIAL: "partial failure: some contacts failed (for `status --check`: unhealthy)",
    ExitCode.CONFIG: (
        "configuration or usage error, or a cache that cannot be used "
        "(missing or empty where syncer ran before, another audience's)"
    ),
    ExitCode.LOCKED: "another run holds the lock",
    ExitCode.REMOTE: "remote or authentication failure",
    ExitCode.GUARD: "stopped by the blast-radius guard before writing (`--force` overrides)",
    ExitCode.UNEXPECTED: "unexpected error, a bug in syncer: the run is recorded as failed and "
    "alerted; `--debug` shows the traceback",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, SIGTERM or SIGHUP)",
}


class SyncerError(Exception):
    """Root of every error syncer raises on purpose."""

    exit_code = ExitCode.REMOTE
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncerError):
    """The configuration cannot be used; ``problems`` lists every issue, each with its key path."""

    exit_code = ExitCode.CONFIG
    default_hint = "Fix the configuration file, then run `syncer check`."

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        self.problems = problems
        count = len(problems)
        summary = problems[0] if count == 1 else f"{count} problems in the configuration"
        super().__init__(summary, hint)


class LockHeld(SyncerError):
    """Another run owns the state file's lock."""

    exit_code = ExitCode.LOCKED
    default_hint = "Another `syncer run` is in progress; this one will run at the next schedule."


class UnexpectedError(SyncerError):
    """An exception syncer did not expect: a bug. It is recorded like any failed run."""

    exit_code = ExitCode.UNEXPECTED
    default_hint = (
        "This is a bug in syncer; nothing written is lost. Run again with --debug for the "
        "traceback, and report it with that output."
    )

    @classmethod
    def of(cls, error: BaseException) -> UnexpectedError:
        """One line for any exception: its type, its message and the line of syncer it left."""
        where = ""
        package = Path(__file__).resolve().parent
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            path = Path(frame.filename)
            if path.is_relative_to(package):
                where = f" (at syncer/{path.relative_to(package)}:{frame.lineno})"
                break
        text = str(error).strip().splitlines()
        detail = f": {text[0]}" if text else ""
        return cls(f"unexpected error: {type(error).__name__}{detail}{where}")


class StateError(SyncerError):
    """The local cache cannot be opened or is from a newer syncer."""

    exit_code = ExitCode.CONFIG
    default_hint = "Check `state_path` in the configuration and the file's permissions."


class AccidentalFirstSync(StateError):
    """The cache is missing or empty where an earlier run left traces: a first sync now would
    start by accident (a deleted or truncated file, a state_path changed by mistake)."""

    default_hint = (
        "Restore the cache file, or correct state_path; to start a new first sync on purpose, "
        "run `syncer run --full`."
    )


class CacheOfAnotherAudience(StateError):
    """The cache holds the sync of another Mailchimp audience than the configured one."""

    default_hint = (
        "Give each audience its own state_path (a new file starts that audience's first sync), "
        "or put mailchimp.list_id back."
    )


class RemoteError(SyncerError):
    """A remote API failed in a way retries did not fix."""

    exit_code = ExitCode.REMOTE
    default_hint = (
        "Check the service's status page and run again; `syncer status` shows what is left."
    )

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        title: str = "",
        detail: str = "",
        body: object = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body


class RetriableError(RemoteError):
    """A failure worth trying again (429, 5xx, timeouts, dropped connections, garbled bodies)."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        title: str = "",
        detail: str = "",
        body: object = None,
    ) -> None:
        super().__init__(message, hint, status=status, title=title, detail=detail, body=body)
        self.retry_after = retry_after


class AuthError(RemoteError):
    """Credentials were refused: nothing will work until the config changes."""

    default_hint = "Check the token or API key in the configuration (and the HubSpot app's scopes)."


class AudienceMissing(RemoteError):
    """Mailchimp has no audience with the configured ``list_id`` for this API key."""

    exit_code = ExitCode.CONFIG
    default_hint = "Check mailchimp.list_id (Audience > Settings > Audience name and defaults)."


class RateLimitExhausted(RemoteError):
    """A quota that does not refill within this run (HubSpot's daily limit) is used up."""

    default_hint = (
        "HubSpot's daily API limit is reached; the next run after midnight will continue."
    )


class GuardTripped(SyncerError):
    """The blast-radius guard refused a run that would change too much of the audience."""

    exit_code = ExitCode.GUARD
    default_hint = (
        "Check the field mappings and the source data; run with `--force` if it is intended."
    )


class Interrupted(SyncerError):
    """A signal (Ctrl-C, SIGTERM) asked the run to stop, and it stopped at a safe point."""

    exit_code = ExitCode.INTERRUPTED
    default_hint = "Nothing is lost: the next run carries on where this one stopped."


class ArchiveError(RemoteError):
    """A Mailchimp batch results archive is truncated or corrupt."""

    default_hint = "The batch will be downloaded again on the next run."


class ResponseTooLarge(RemoteError):
    """An answer (or a batch results archive) is larger than ``http.max_response_mb`` allows."""

    default_hint = (
        "An answer this large is not one the API sends; if it is expected, raise "
        "http.max_response_mb in the configuration."
    )


class OutOfTime(SyncerError):
    """The run's time (``--max-time`` and its grace) ran out while a call was still going.

    The call is cut; the run ends as a stopped run does, and the next one carries on.
    """

    exit_code = ExitCode.INTERRUPTED
    default_hint = "Nothing is lost: the next run carries on where this one stopped."


class MalformedRecord(RemoteError):
    """One record in an answer lacks its id or holds a field of the wrong type.

    Clients skip such a record and note it; the run reports it. It never stops the sync of
    everyone else (and, retried, it would only come back the same).
    """

    default_hint = "The record is left out of this run; if it keeps coming, report it."
