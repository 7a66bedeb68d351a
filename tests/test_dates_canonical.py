"""One spelling for HubSpot's date and datetime values, whichever it answered (§12.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.core.transforms import canonical

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INSTANTS = st.integers(min_value=0, max_value=7_258_118_400_000).map(
    lambda ms: EPOCH + timedelta(milliseconds=ms)
)


@given(INSTANTS)
def test_a_datetime_reads_alike_as_epoch_ms_or_iso(moment: datetime) -> None:
    epoch = str((moment - EPOCH) // timedelta(milliseconds=1))
    iso = moment.isoformat().replace("+00:00", "Z")
    assert canonical("datetime", epoch) == canonical("datetime", iso)
    assert canonical("datetime", canonical("datetime", epoch)) == canonical("datetime", epoch)


@given(INSTANTS)
def test_a_date_reads_alike_as_epoch_ms_at_midnight_or_as_a_day(moment: datetime) -> None:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    epoch = str((midnight - EPOCH) // timedelta(milliseconds=1))
    assert canonical("date", epoch) == canonical("date", midnight.date().isoformat())


@pytest.mark.parametrize(
    ("kind", "value"),
    [("string", "1430438400000"), ("number", "17"), ("datetime", ""), ("datetime", "soon")],
)
def test_other_values_pass_through(kind: str, value: str) -> None:
    assert canonical(kind, value) == value
