"""One simulator per test module, restored to a fresh state for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.hubspot_fixtures import Hub, running_hub
from tests.sandbox.test_mailchimp_support import Mailchimp, fresh, running


@pytest.fixture(scope="module")
def mailchimp_server() -> Iterator[Mailchimp]:
    with running() as sim:
        yield sim


@pytest.fixture
def mc(mailchimp_server: Mailchimp) -> Mailchimp:
    return fresh(mailchimp_server, batch_delay_s=0.01)


@pytest.fixture(scope="module")
def hubspot_server() -> Iterator[Hub]:
    with running_hub() as hub:
        yield hub


@pytest.fixture
def hub(hubspot_server: Hub) -> Hub:
    return hubspot_server.restored()
