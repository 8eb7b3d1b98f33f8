from __future__ import annotations

import pytest

from switchboard_contracts.delivery_defaults import RETRY_SCHEDULE, retry_schedule


@pytest.mark.parametrize(
    ("retries", "schedule"),
    [
        (0, ()),
        (1, (4,)),
        (3, RETRY_SCHEDULE),
        (5, (4, 8, 10, 10, 10)),
        (10, (4, 8, 10) + (10,) * 7),
    ],
)
def test_n_retries_follow_seed_001_then_every_10_seconds(retries: int, schedule: tuple[int, ...]) -> None:
    assert retry_schedule(retries) == schedule


def test_seed_001_schedule_is_4_8_10() -> None:
    assert RETRY_SCHEDULE == (4, 8, 10)
