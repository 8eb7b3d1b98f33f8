from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from switchboard_contracts.timestamps import utc_z


def test_times_are_written_in_utc_with_a_z_to_the_asked_precision() -> None:
    paris = datetime(2024, 3, 21, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert utc_z(paris, "seconds") == "2024-03-21T10:00:00Z"
    assert utc_z(paris, "milliseconds") == "2024-03-21T10:00:00.123Z"
    assert utc_z(paris) == "2024-03-21T10:00:00.123456Z"
    assert utc_z(datetime(2024, 3, 21, 10, tzinfo=UTC)) == "2024-03-21T10:00:00Z"
