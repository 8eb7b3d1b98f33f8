"""Delivery metrics: the latency sketch, folding attempts into buckets, windows and the seed 001 numbers."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts.events import DeliveryAttempt
from switchboard_registry.domain import delivery_stats as stats

NOW = datetime(2026, 11, 23, 12, 34, 56, tzinfo=UTC)


def _attempt(**overrides: Any) -> DeliveryAttempt:
    fields: dict[str, Any] = {
        "delivery_id": "msg_1",
        "event_id": "e1",
        "event_type": "message.created",
        "tenant_id": "t1",
        "endpoint_id": "w1",
        "endpoint_kind": "webhook",
        "url": "https://hooks.example.com/h",
        "attempt": 1,
        "outcome": "succeeded",
        "status_code": 200,
        "latency_ms": 100.0,
        "attempted_at": NOW,
    }
    fields.update(overrides)
    return DeliveryAttempt(**fields)


def _fold(*attempts: DeliveryAttempt) -> dict[str, Any]:
    """What the rollups would hold for these attempts (``$inc``/``$min``/``$max`` done in Python)."""
    bucket: dict[str, Any] = {}
    for attempt in attempts:
        part = stats.contribution(attempt)
        flat: dict[str, Any] = {}
        for key, value in part.inc.items():
            _put(flat, key, value)
        for key, value in {**part.minimum, **part.maximum}.items():
            _put(flat, key, value)
        stats.merge(bucket, flat)
    return bucket


def _put(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *path, leaf = dotted.split(".")
    for part in path:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_sketch_percentiles_are_within_one_percent_of_the_exact_nearest_rank(q: float) -> None:
    rng = random.Random(7)
    latencies = [rng.lognormvariate(5, 1.2) for _ in range(5000)]
    bins: dict[str, int] = {}
    for latency in latencies:
        key = stats.bin_key(latency)
        bins[key] = bins.get(key, 0) + 1

    estimate = stats.percentile(bins, q)

    exact = _exact_percentile(latencies, q)
    assert estimate is not None
    assert abs(estimate - exact) <= stats.ALPHA * exact


def test_percentile_is_clamped_to_the_exact_extremes_and_none_without_samples() -> None:
    bins = {stats.bin_key(100.0): 3}
    assert stats.percentile(bins, 0.95, lowest=100.0, highest=100.0) == 100.0
    assert stats.percentile({}, 0.95) is None
    assert stats.percentile({stats.ZERO_BIN: 2}, 0.5) == 0.0


def test_the_distribution_upper_bounds_are_inclusive() -> None:
    assert stats.distribution_key(50.0) == "le50"
    assert stats.distribution_key(50.01) == "le100"
    assert stats.distribution_key(30_000.5) == "inf"


def test_a_failed_attempt_counts_its_error_kind_and_status_code_but_no_response_time_without_a_response() -> (
    None
):
    timeout = stats.contribution(
        _attempt(outcome="retry_scheduled", status_code=None, latency_ms=30_000.0, error_kind="timeout")
    )
    server_error = stats.contribution(
        _attempt(attempt=2, outcome="exhausted", status_code=503, error_kind=None)
    )

    assert timeout.inc == {"n": 1, "outcome.retry_scheduled": 1, "errors.timeout": 1}
    assert timeout.maximum == {}
    assert server_error.inc["errors.http_status"] == 1
    assert server_error.inc["codes.s503"] == 1
    assert server_error.inc["final.a2"] == 1
    assert server_error.inc["retries"] == 1
    assert server_error.inc["lat.n"] == 1


def test_merge_adds_counters_and_keeps_the_extremes() -> None:
    total = stats.merge({}, {"n": 2, "lat": {"sum": 30.0, "min": 10.0, "max": 20.0}, "tenant_id": "t1"})
    stats.merge(total, {"n": 1, "lat": {"sum": 5.0, "min": 5.0, "max": 5.0}, "outcome": {"failed": 1}})

    assert total == {"n": 3, "lat": {"sum": 35.0, "min": 5.0, "max": 20.0}, "outcome": {"failed": 1}}


def test_seed_001_metrics_from_a_known_set_of_attempts() -> None:
    succeeded = [_attempt(delivery_id=f"d{i}", latency_ms=10.0 * i) for i in range(1, 9)]  # 10..80 ms
    retried = [
        _attempt(delivery_id="r", outcome="retry_scheduled", status_code=500, latency_ms=200.0),
        _attempt(delivery_id="r", attempt=2, outcome="succeeded", latency_ms=100.0),
    ]
    exhausted = [
        _attempt(
            delivery_id="x",
            outcome="retry_scheduled",
            status_code=None,
            latency_ms=None,
            error_kind="timeout",
        ),
        _attempt(delivery_id="x", attempt=2, outcome="exhausted", status_code=502, latency_ms=40.0),
    ]

    summary = stats.summarize(_fold(*succeeded, *retried, *exhausted))

    assert summary["deliveries"] == {"completed": 10, "succeeded": 9, "failed": 1, "successRate": 0.9}
    assert summary["successRate"] == 0.9
    assert summary["attempts"]["total"] == 12
    assert summary["attempts"]["successRate"] == 0.75
    assert summary["retries"] == {
        "total": 2,
        "scheduled": 2,
        "exhausted": 1,
        "attemptsPerDelivery": {"1": 8, "2": 2},
    }
    assert summary["errors"]["total"] == 3
    assert summary["errors"]["rate"] == 0.25
    assert summary["errors"]["byKind"] == {
        "http_status": {"count": 2, "rate": 0.1667},
        "timeout": {"count": 1, "rate": 0.0833},
    }
    assert summary["errors"]["byStatusCode"] == {"500": 1, "502": 1}
    latency = summary["responseTime"]
    samples = [10.0 * i for i in range(1, 9)] + [200.0, 100.0, 40.0]
    assert latency["samples"] == 11
    assert latency["averageMs"] == round(sum(samples) / 11, 2)
    assert latency["maxMs"] == 200.0
    assert latency["minMs"] == 10.0
    assert abs(latency["p95Ms"] - _exact_percentile(samples, 0.95)) <= stats.ALPHA * 200
    assert sum(bucket["count"] for bucket in latency["distribution"]) == 11
    assert latency["distribution"][0] == {"fromMs": 0, "toMs": 50, "count": 6}  # 10..50 and 40


def test_rates_are_null_without_traffic() -> None:
    summary = stats.summarize({})
    assert summary["successRate"] is None
    assert summary["responseTime"]["p95Ms"] is None
    assert summary["errors"]["rate"] is None


def test_a_window_within_one_hour_reads_minute_buckets_only() -> None:
    since, until = datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 1, 10, 50, tzinfo=UTC)
    assert stats.plan(since, until) == [stats.Span("m", since, until)]


def test_a_long_window_reads_hours_between_minute_edges_without_overlap() -> None:
    since, until = datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 2, 9, 30, tzinfo=UTC)

    spans = stats.plan(since, until)

    assert [span.size for span in spans] == ["m", "h", "m"]
    assert spans[0].start == since
    assert spans[-1].end == until
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    assert spans[1].start == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert spans[1].end == datetime(2026, 1, 2, 9, tzinfo=UTC)


def test_an_hour_aligned_window_is_read_from_hour_buckets_only() -> None:
    since, until = datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 1, 1, 14, tzinfo=UTC)
    assert stats.plan(since, until) == [stats.Span("h", since, until)]


def test_a_span_is_read_as_its_buckets_starts() -> None:
    span = stats.Span("m", datetime(2026, 1, 1, 10, 57, tzinfo=UTC), datetime(2026, 1, 1, 11, 0, tzinfo=UTC))
    assert stats.starts(span) == [datetime(2026, 1, 1, 10, minute, tzinfo=UTC) for minute in (57, 58, 59)]


def test_a_minute_span_across_an_hour_is_cut_into_pieces_inside_one_hour_each() -> None:
    since, until = datetime(2026, 1, 1, 10, 50, tzinfo=UTC), datetime(2026, 1, 1, 11, 10, tzinfo=UTC)
    eleven = datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert stats.within_hours(stats.Span("m", since, until)) == [
        stats.Span("m", since, eleven),
        stats.Span("m", eleven, until),
    ]


@pytest.mark.parametrize(
    ("first_minute", "last_minute", "covered"),
    [(0, 36, True), (0, 37, False), (5, 20, True)],
    ids=["inside", "an attempt at the end", "a sparse hour"],
)
def test_an_hour_bucket_stands_for_an_edge_only_when_all_its_attempts_are_inside(
    first_minute: int, last_minute: int, covered: bool
) -> None:
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    # Stored without a timezone, as the driver returns them.
    bucket = {
        "first": (hour + timedelta(minutes=first_minute)).replace(tzinfo=None),
        "last": (hour + timedelta(minutes=last_minute, seconds=59)).replace(tzinfo=None),
    }
    assert stats.covers(bucket, hour, hour + timedelta(minutes=37)) is covered


def test_a_bucket_without_its_attempt_times_never_stands_for_an_edge() -> None:
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert not stats.covers({"n": 3}, hour, hour + stats.HOUR)


def test_a_batch_keeps_its_earliest_and_latest_attempt_time() -> None:
    times = [NOW, NOW - timedelta(seconds=20), NOW + timedelta(seconds=3)]

    delta = stats.fold(stats.contribution(_attempt(attempted_at=at)) for at in times)

    assert (delta.first, delta.last) == (min(times), max(times))


def test_the_default_window_is_the_last_24_hours_in_whole_minutes() -> None:
    since, until = stats.resolve_window(None, None, None, NOW)
    assert until == datetime(2026, 11, 23, 12, 35, tzinfo=UTC)
    assert since == datetime(2026, 11, 22, 12, 34, tzinfo=UTC)


def test_window_and_since_until_forms() -> None:
    assert stats.resolve_window("15m", None, None, NOW)[0] == datetime(2026, 11, 23, 12, 19, tzinfo=UTC)
    since = NOW - timedelta(days=3)
    assert stats.resolve_window(None, since, NOW - timedelta(days=1), NOW) == (
        datetime(2026, 11, 20, 12, 34, tzinfo=UTC),
        datetime(2026, 11, 22, 12, 35, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("window", "since", "until", "field"),
    [
        ("24x", None, None, "window"),
        ("0m", None, None, "window"),
        ("31d", None, None, "window"),
        ("1h", NOW - timedelta(hours=2), None, "window"),
        (None, datetime(2026, 11, 23, 10, 0), None, "since"),  # noqa: DTZ001 - the naive time under test
        (None, NOW, NOW - timedelta(hours=1), "since"),
        (None, NOW - timedelta(days=31), None, "since"),
    ],
)
def test_invalid_windows_name_the_field(
    window: str | None, since: datetime | None, until: datetime | None, field: str
) -> None:
    with pytest.raises(stats.InvalidWindow) as caught:
        stats.resolve_window(window, since, until, NOW)
    assert caught.value.field == field


def _as_bucket(delta: stats.BucketDelta) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in {**delta.inc, **delta.minimum, **delta.maximum}.items():
        _put(flat, key, value)
    return flat


def test_a_batch_folds_into_one_write_per_bucket_equal_to_one_per_attempt() -> None:
    attempts = [
        _attempt(latency_ms=30.0),
        _attempt(outcome="retry_scheduled", status_code=503, latency_ms=900.0, error_kind="http_status"),
        _attempt(attempt=2, outcome="exhausted", status_code=None, latency_ms=None, error_kind="timeout"),
        _attempt(latency_ms=5.0),
    ]

    delta = stats.fold(stats.contribution(a) for a in attempts)

    assert _as_bucket(delta) == _fold(*attempts)


def test_records_up_to_the_bucket_mark_of_their_partition_are_left_out_of_a_replay() -> None:
    part = stats.contribution(_attempt())
    parts = {0: [(100, part), (101, part), (102, part)], 3: [(7, part), (8, part)], 5: [(1, part)]}

    fresh = stats.past_marks(parts, {"p0": 100, "p3": 8})

    assert {partition: [offset for offset, _ in records] for partition, records in fresh.items()} == {
        0: [101, 102],
        5: [1],
    }
    assert stats.past_marks(parts, {"p0": 102, "p3": 8, "p5": 1}) == {}


def test_a_bucket_counted_in_memory_over_batches_adds_to_a_stored_one_as_fold_gives() -> None:
    attempts = [
        _attempt(
            attempted_at=NOW + timedelta(seconds=index),
            latency_ms=float(10 * index + 1),
            attempt=1 + index % 2,
        )
        for index in range(5)
    ]
    attempts.append(_attempt(outcome="failed", status_code=503, attempted_at=NOW - timedelta(seconds=1)))
    parts = [stats.contribution(attempt) for attempt in attempts]
    bucket: dict[str, Any] = {}
    stats.add_to(bucket, stats.fold(parts[:2]))
    stats.add_to(bucket, stats.fold(parts[2:]))  # a second batch into the same bucket

    delta, folded = stats.delta_of(bucket), stats.fold(parts)

    assert (delta.inc, delta.minimum, delta.maximum) == (folded.inc, folded.minimum, folded.maximum)
    assert (delta.first, delta.last) == (folded.first, folded.last)


def test_a_stored_bucket_and_its_open_part_combine_by_addition_and_span() -> None:
    stored = {"n": 2, "lat": {"n": 2, "sum": 30.0, "min": 10.0, "max": 20.0}, "first": NOW, "hw": {"p0": 1}}
    opened = {"n": 1, "lat": {"n": 1, "sum": 5.0, "min": 5.0, "max": 5.0}, "last": NOW + timedelta(minutes=1)}
    opened["first"] = NOW + timedelta(seconds=30)

    combined = stats.combine(stored, opened)

    assert combined == {
        "n": 3,
        "lat": {"n": 3, "sum": 35.0, "min": 5.0, "max": 20.0},
        "first": NOW,
        "last": NOW + timedelta(minutes=1),
    }
