from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from switchboard_dispatcher.domain.policy import (
    MAX_RETRY_AFTER,
    Verdict,
    judge_status,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.SUCCESS),
        (204, Verdict.SUCCESS),
        (301, Verdict.RETRY),
        (400, Verdict.FAIL),
        (401, Verdict.FAIL),
        (408, Verdict.RETRY),
        (410, Verdict.GONE),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
    ],
)
def test_webhook_status_verdicts(status: int, verdict: Verdict) -> None:
    assert judge_status(status, "webhook").verdict is verdict


def test_seed_001_callbacks_retry_every_non_2xx() -> None:
    assert judge_status(400, "callback").verdict is Verdict.RETRY
    assert judge_status(410, "callback").verdict is Verdict.GONE


def test_schedule_with_jitter_stays_within_20_percent() -> None:
    rng = random.Random(7)
    for attempt, base in enumerate([4, 8, 10], start=1):
        delays = [next_delay([4, 8, 10], attempt, rng=rng) for _ in range(200)]
        seconds = [d.total_seconds() for d in delays if d is not None]
        assert min(seconds) >= base * 0.8
        assert max(seconds) <= base * 1.2


def test_schedule_ends_after_its_last_retry() -> None:
    assert next_delay([4, 8, 10], 4) is None
    assert next_delay([], 1) is None


def test_retry_after_extends_but_is_capped() -> None:
    assert next_delay([1], 1, retry_after=timedelta(seconds=30), rng=random.Random(1)) == timedelta(
        seconds=30
    )
    assert next_delay([1], 1, retry_after=timedelta(days=3)) == timedelta(hours=1)


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Mon, 23 Nov 2026 12:01:00 GMT", NOW) == timedelta(seconds=60)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    "value",
    ["²", "٣", "1" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "-5", "1e9", ""],
    ids=[
        "superscript digit",
        "arabic-indic digit",
        "5000 digits",
        "year 9999",
        "year 1",
        "negative",
        "float",
        "empty",
    ],
)
def test_a_receivers_retry_after_never_raises_and_stays_within_the_cap(value: str) -> None:
    wait = parse_retry_after(value, NOW)
    assert wait is None or timedelta(0) <= wait <= MAX_RETRY_AFTER
