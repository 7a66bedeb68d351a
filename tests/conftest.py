"""Shared fixtures: one sandbox (both simulators) per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncer.sandbox.runner import Sandbox
from tests.support.sandbox import SandboxDriver


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sim(sandbox_session: Sandbox) -> Iterator[SandboxDriver]:
    driver = SandboxDriver(sandbox_session)
    driver.reset()
    try:
        yield driver
    finally:
        driver.close()


#: The soak's CI size, and its time limit at that size (about 40 s of work).
SOAK_PEOPLE, SOAK_ROUNDS, SOAK_TIMEOUT_S = 2000, 10, 120
#: CI's seeds: one soak each (12 once failed on a blank-over-blank "edit" of the model's).
SOAK_SEEDS = "20261123,12"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Sizes of the soak test (tests/test_soak.py): small in CI, large by flag."""
    group = parser.getgroup("soak", "the fault-and-crash soak test")
    group.addoption(
        "--soak-people", type=int, default=SOAK_PEOPLE, help=f"people to seed ({SOAK_PEOPLE})"
    )
    group.addoption(
        "--soak-rounds", type=int, default=SOAK_ROUNDS, help=f"rounds of edits ({SOAK_ROUNDS})"
    )
    group.addoption(
        "--soak-seeds",
        type=_seeds,
        default=SOAK_SEEDS,
        help="the scenarios' random seeds, one soak each: 7,12 or 1-10 (20261123,12)",
    )


def _seeds(text: str) -> list[int]:
    """``7,12`` or ``1-10`` (or both: ``1-3,12``)."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the soak a time limit in proportion to its size, so a large run is not cut off."""
    size = config.getoption("--soak-people") * config.getoption("--soak-rounds")
    limit = SOAK_TIMEOUT_S * max(1.0, size / (SOAK_PEOPLE * SOAK_ROUNDS))
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.timeout(limit))


@pytest.fixture
def soak_people(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--soak-people"))
