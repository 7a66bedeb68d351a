"""Scrubbing credentials from what leaves the HTTP layer: messages, and bodies once parsed.

A vendor may echo the token it refused (a HubSpot 401 has been seen quoting it); the body is then
scrubbed after parsing, keys and values, rather than as bytes, so a credential that happens to
contain JSON syntax can never corrupt an answer.
"""

from __future__ import annotations

from typing import Any

#: Bodies are searched for credentials at least this long: no vendor issues shorter ones, and a
#: test's one-letter token would otherwise be "redacted" out of every key of every answer.
MIN_SECRET = 8


class Redactor:
    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._secrets = tuple(secret for secret in secrets if secret)
        self._in_bodies = tuple(
            secret.encode() for secret in self._secrets if len(secret) >= MIN_SECRET
        )

    def text(self, text: str) -> str:
        """``text`` with every credential replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def body(self, content: bytes, parsed: Any) -> Any:
        """``parsed`` (decoded from ``content``) without any credential; walked only when the
        raw body holds one, which a well-behaved API never does."""
        if not any(secret in content for secret in self._in_bodies):
            return parsed
        return self._walk(parsed)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self._walk(v) for k, v in value.items()}
        return value
