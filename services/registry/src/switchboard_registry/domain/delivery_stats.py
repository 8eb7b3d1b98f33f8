"""Delivery metrics (seed 001): what one attempt adds to an endpoint's rollups, and the statistics read back.

Why rollups and not a query over the attempts: seed 001 asks for success rate, average response time, retry
counts and error rates by kind over a window. Computing them from raw attempts costs O(attempts in the window)
per request — at 100k attempts a day that is 100k documents for a 24 h view. FerretDB v1 (local and CI) scans
whole collections even for ``_id`` lookups and lacks ``$max`` in ``$group``, ``$percentile`` and ``$facet``:
measured on this machine kind, reading 100k attempts took 9-14 s and a ``$group`` 7 s. So each attempt is
folded, once, into two rollup documents of its endpoint — its minute and its hour — and a stats request reads
at most 2 x 59 minute buckets for the window's ragged edges plus one bucket per whole hour (<= 720 for the
30-day maximum), whatever the traffic.

A bucket holds counters only, so merging buckets is addition (``merge``). Everything is exact except
percentiles: latencies go into a DDSketch-style log histogram (Masson et al., VLDB 2019) with relative accuracy
``ALPHA`` = 1 %, whose bins merge by addition too, so p50/p95/p99 are within 1 % of the exact nearest-rank
value (and clamped to the exact min/max). ``distribution`` uses fixed boundaries counted exactly.

Definitions (documented in the API too):
- an attempt is *final* when its outcome is succeeded, failed or exhausted; a delivery *completes* with its
  final attempt, so ``deliveries.successRate`` = succeeded / completed deliveries in the window;
- response times are over attempts that got an HTTP response (``status_code`` set); a timeout has none and
  counts under ``errors.byKind.timeout`` instead;
- retries are attempts numbered 2 or more; ``attemptsPerDelivery`` is the attempt number of final attempts.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from switchboard_contracts.events import DeliveryAttempt

#: Relative accuracy of the latency percentiles.
ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
#: Latencies at or below this many milliseconds share the zero bin (reported as 0).
MIN_LATENCY_MS = 0.001
ZERO_BIN = "z"
#: Upper bounds (inclusive, milliseconds) of the fixed response-time distribution; the last bucket is open.
DISTRIBUTION_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
FINAL_OUTCOMES = frozenset({"succeeded", "failed", "exhausted"})
OUTCOMES = ("succeeded", "failed", "retry_scheduled", "exhausted")

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
#: How far back stats reach: the delivery log keeps 30 days (the dead-letter topic's retention too).
MAX_WINDOW = timedelta(days=30)
DEFAULT_WINDOW = timedelta(hours=24)

BucketSize = Literal["m", "h"]
STEPS: dict[BucketSize, timedelta] = {"m": MINUTE, "h": HOUR}
_WINDOW = re.compile(r"^(\d{1,5})([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


# -- the latency sketch ------------------------------------------------------------------------------------------


def bin_key(latency_ms: float) -> str:
    """The sketch bin of a latency: ``b<i>`` covers (GAMMA**(i-1), GAMMA**i] milliseconds."""
    if latency_ms <= MIN_LATENCY_MS:
        return ZERO_BIN
    return f"b{math.ceil(math.log(latency_ms) / _LOG_GAMMA)}"


def bin_value(key: str) -> float:
    """The bin's representative value, within ``ALPHA`` of every latency the bin holds."""
    if key == ZERO_BIN:
        return 0.0
    index = int(key[1:])
    return 2 * GAMMA**index / (GAMMA + 1)


def _bin_order(key: str) -> float:
    return -math.inf if key == ZERO_BIN else int(key[1:])


def percentile(
    bins: Mapping[str, int], q: float, lowest: float | None = None, highest: float | None = None
) -> float | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of the latencies in ``bins``; None when there are none."""
    total = sum(bins.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    # The extremes are known exactly: use them when the rank is the first or the last sample.
    if rank >= total and highest is not None:
        return highest
    if rank == 1 and lowest is not None:
        return lowest
    seen = 0
    value = 0.0
    for key in sorted(bins, key=_bin_order):
        seen += bins[key]
        if seen >= rank:
            value = bin_value(key)
            break
    if lowest is not None:
        value = max(value, lowest)
    if highest is not None:
        value = min(value, highest)
    return value


def distribution_key(latency_ms: float) -> str:
    for bound in DISTRIBUTION_MS:
        if latency_ms <= bound:
            return f"le{bound}"
    return "inf"


# -- folding one attempt into a bucket ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    """What one attempt adds to a bucket: ``$inc`` counters and ``$min``/``$max`` latency bounds, and when the
    attempt was made (the bucket's ``first``/``last``, see ``covers``)."""

    inc: dict[str, int | float]
    minimum: dict[str, float]
    maximum: dict[str, float]
    at: datetime


def error_kind(attempt: DeliveryAttempt) -> str:
    return attempt.error_kind or ("http_status" if attempt.status_code is not None else "other")


def contribution(attempt: DeliveryAttempt) -> Contribution:
    inc: dict[str, int | float] = {"n": 1, f"outcome.{attempt.outcome}": 1}
    if attempt.outcome in FINAL_OUTCOMES:
        inc[f"final.a{attempt.attempt}"] = 1
    if attempt.attempt > 1:
        inc["retries"] = 1
    if attempt.outcome != "succeeded":
        inc[f"errors.{error_kind(attempt)}"] = 1
        if attempt.status_code is not None:
            inc[f"codes.s{attempt.status_code}"] = 1
    minimum: dict[str, float] = {}
    maximum: dict[str, float] = {}
    if attempt.status_code is not None and attempt.latency_ms is not None:
        latency = max(0.0, float(attempt.latency_ms))
        inc["lat.n"] = 1
        inc["lat.sum"] = latency
        inc[f"lat.bins.{bin_key(latency)}"] = 1
        inc[f"lat.dist.{distribution_key(latency)}"] = 1
        minimum["lat.min"] = latency
        maximum["lat.max"] = latency
    return Contribution(inc, minimum, maximum, attempt.attempted_at)


@dataclass
class BucketDelta:
    """What a batch adds to one rollup bucket: its attempts' contributions summed (one write, not one each),
    and the earliest and latest of their attempt times."""

    inc: dict[str, int | float]
    minimum: dict[str, float]
    maximum: dict[str, float]
    first: datetime | None = None
    last: datetime | None = None


def fold(parts: Iterable[Contribution]) -> BucketDelta:
    delta = BucketDelta({}, {}, {})
    for part in parts:
        delta.first = part.at if delta.first is None else min(delta.first, part.at)
        delta.last = part.at if delta.last is None else max(delta.last, part.at)
        for key, value in part.inc.items():
            delta.inc[key] = delta.inc.get(key, 0) + value
        for key, low in part.minimum.items():
            delta.minimum[key] = min(low, delta.minimum.get(key, low))
        for key, high in part.maximum.items():
            delta.maximum[key] = max(high, delta.maximum.get(key, high))
    return delta


#: A bucket stays open — counted in its endpoint's delivery-log head, written with it — until the latest attempt
#: counted there is this far past the bucket's end; then it is sealed: stored once in the rollups collection. An
#: attempt of a bucket sealed already (the dispatcher's attempts finish out of order by up to a request timeout
#: and its retry delays are in the schedule, so it is rare) goes to the stored bucket as an update.
SEAL_AFTER = timedelta(minutes=5)


def sealed(start: datetime, size: BucketSize, latest: datetime | None) -> bool:
    """Whether the ``size`` bucket starting at ``start`` is sealed once ``latest`` is the latest attempt time
    counted: decided by attempt times, not the clock, so a replay of the same records seals the same buckets."""
    return latest is not None and start + STEPS[size] + SEAL_AFTER <= latest


def add_to(bucket: dict[str, Any], delta: BucketDelta) -> None:
    """Add ``delta`` to ``bucket`` held in memory: what ``$inc``/``$min``/``$max`` on its dotted keys and on
    ``first``/``last`` do to a stored one."""
    for key, value in delta.inc.items():
        node, leaf = _node(bucket, key)
        node[leaf] = node.get(leaf, 0) + value
    for key, low in delta.minimum.items():
        node, leaf = _node(bucket, key)
        node[leaf] = min(low, node.get(leaf, low))
    for key, high in delta.maximum.items():
        node, leaf = _node(bucket, key)
        node[leaf] = max(high, node.get(leaf, high))
    for key, moment, pick in (("first", delta.first, min), ("last", delta.last, max)):
        if moment is not None:
            held = bucket.get(key)
            bucket[key] = moment if held is None else pick(_as_utc(held), moment)


def _node(bucket: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *path, leaf = dotted.split(".")
    node = bucket
    for name in path:
        node = node.setdefault(name, {})
    return node, leaf


def delta_of(bucket: Mapping[str, Any]) -> BucketDelta:
    """A bucket held in memory as the update that adds it to a stored copy of the same bucket (dotted keys)."""
    delta = BucketDelta({}, {}, {}, bucket.get("first"), bucket.get("last"))

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, Mapping):
                walk(value, f"{dotted}.")
            elif dotted == "lat.min":
                delta.minimum[dotted] = value
            elif dotted == "lat.max":
                delta.maximum[dotted] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                delta.inc[dotted] = value

    walk({key: bucket[key] for key in COUNTER_FIELDS if key in bucket}, "")
    return delta


def combine(stored: Mapping[str, Any] | None, opened: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's counters from its stored copy (if any) and the part still open in its endpoint's head: both
    exist only for a bucket stored before the open part began (an installation that counted it the old way)."""
    total = copy.deepcopy({key: opened[key] for key in (*COUNTER_FIELDS, *SPAN_FIELDS) if key in opened})
    if stored is None:
        return total
    merge(total, {key: value for key, value in stored.items() if key in COUNTER_FIELDS})
    for key, pick in zip(SPAN_FIELDS, (min, max), strict=True):
        moments = [
            _as_utc(moment) for moment in (stored.get(key), opened.get(key)) if isinstance(moment, datetime)
        ]
        if moments:
            total[key] = pick(moments)
    return total


#: The counters of a bucket (what ``merge`` adds up); a bucket also holds its identity, ``first``/``last`` and
#: its replay marks.
COUNTER_FIELDS = ("n", "outcome", "final", "retries", "errors", "codes", "lat")
#: The earliest and latest attempt time a bucket keeps (``covers``).
SPAN_FIELDS = ("first", "last")


def mark_key(partition: int) -> str:
    """The field of a bucket's ``hw`` that holds the last offset of ``partition`` folded into it."""
    return f"p{partition}"


def past_marks(
    parts: Mapping[int, Sequence[tuple[int, Contribution]]], marks: Mapping[str, int]
) -> dict[int, list[tuple[int, Contribution]]]:
    """Per partition, the (offset, contribution) records past the bucket's mark for that partition — those up
    to it are counted already (a replay). Partitions left with nothing are dropped."""
    fresh = {}
    for partition, records in parts.items():
        folded = int(marks.get(mark_key(partition), -1))
        kept = [(offset, part) for offset, part in records if offset > folded]
        if kept:
            fresh[partition] = kept
    return fresh


def merge(total: dict[str, Any], bucket: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``bucket``'s counters into ``total`` (in place; also returned). ``min``/``max`` keep the extreme."""
    for key, value in bucket.items():
        if isinstance(value, Mapping):
            merge(total.setdefault(key, {}), value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if key not in total:
                total[key] = value
            elif key == "min":
                total[key] = min(total[key], value)
            elif key == "max":
                total[key] = max(total[key], value)
            else:
                total[key] += value
    return total


# -- windows -----------------------------------------------------------------------------------------------------


class InvalidWindow(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def floor_to(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // step) * step


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    floored = floor_to(moment, step)
    return floored if floored == moment else floored + step


def parse_window(text: str) -> timedelta:
    match = _WINDOW.match(text.strip())
    if match is None:
        raise InvalidWindow("window", "expected a number and a unit m, h or d, e.g. 15m, 24h or 7d")
    span = int(match.group(1)) * _UNITS[match.group(2)]
    if span < MINUTE or span > MAX_WINDOW:
        raise InvalidWindow("window", "must be between 1m and 30d")
    return span


def _aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidWindow(field, "must include a timezone, e.g. 2026-01-01T00:00:00Z")
    return value.astimezone(UTC)


def resolve_window(
    window: str | None, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The stats window ``[since, until)`` aligned to whole minutes: ``window`` back from now (24 h when
    nothing is given) or explicit ``since``/``until`` (until defaults to now), never both."""
    if window is not None and (since is not None or until is not None):
        raise InvalidWindow("window", "give either window or since/until, not both")
    end = _aware("until", until) if until is not None else now
    if since is not None:
        start = _aware("since", since)
    else:
        start = end - (parse_window(window) if window is not None else DEFAULT_WINDOW)
    if start >= end:
        raise InvalidWindow("since", "must be before until")
    if start < now - MAX_WINDOW - MINUTE:
        raise InvalidWindow("since", "must be within the last 30 days (the delivery log keeps 30 days)")
    return floor_to(start, MINUTE), ceil_to(end, MINUTE)


@dataclass(frozen=True)
class Span:
    size: BucketSize
    start: datetime
    end: datetime


def plan(since: datetime, until: datetime) -> list[Span]:
    """Cover the minute-aligned ``[since, until)`` with minute buckets at the ragged edges and hour buckets
    in between, so each attempt in the window is counted exactly once."""
    first_hour, last_hour = ceil_to(since, HOUR), floor_to(until, HOUR)
    if first_hour >= last_hour:
        return [Span("m", since, until)]
    spans = [Span("m", since, first_hour), Span("h", first_hour, last_hour), Span("m", last_hour, until)]
    return [span for span in spans if span.start < span.end]


def starts(span: Span) -> list[datetime]:
    """The starts of the buckets of ``span.size`` that make up ``span``."""
    step = STEPS[span.size]
    return [span.start + step * index for index in range((span.end - span.start) // step)]


def within_hours(span: Span) -> list[Span]:
    """``span`` cut at hour boundaries: pieces that each lie inside one hour bucket."""
    pieces = []
    start = span.start
    while start < span.end:
        end = min(floor_to(start, HOUR) + HOUR, span.end)
        pieces.append(Span(span.size, start, end))
        start = end
    return pieces


def covers(bucket: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """Whether every attempt counted in ``bucket`` was made in ``[start, end)``, from the earliest and latest
    attempt time it keeps (``first``/``last``; a bucket written before they were kept says nothing: False).
    Then an hour bucket can stand for the minutes of a window's ragged edge — one read instead of up to 59."""
    first, last = bucket.get("first"), bucket.get("last")
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        return False
    return _as_utc(first) >= start and _as_utc(last) < end


def _as_utc(moment: datetime) -> datetime:
    # The driver hands back naive UTC datetimes unless the client is tz-aware.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# -- the public shape --------------------------------------------------------------------------------------------


def _rate(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _stripped(counts: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {key.removeprefix(prefix): int(value) for key, value in counts.items()}


def summarize(counters: Mapping[str, Any]) -> dict[str, Any]:
    """Seed 001's delivery metrics from merged bucket counters (see the module docstring for definitions)."""
    total = int(counters.get("n", 0))
    outcomes = {name: int(counters.get("outcome", {}).get(name, 0)) for name in OUTCOMES}
    succeeded = outcomes["succeeded"]
    failed_deliveries = outcomes["failed"] + outcomes["exhausted"]
    completed = succeeded + failed_deliveries
    errors = {kind: int(count) for kind, count in sorted(counters.get("errors", {}).items())}
    error_total = sum(errors.values())
    latency = counters.get("lat", {})
    samples = int(latency.get("n", 0))
    lowest, highest = latency.get("min"), latency.get("max")
    bins = {key: int(count) for key, count in latency.get("bins", {}).items()}
    dist = latency.get("dist", {})
    bounds: list[int | None] = [*DISTRIBUTION_MS, None]
    distribution = []
    previous = 0
    for bound in bounds:
        key = "inf" if bound is None else f"le{bound}"
        distribution.append({"fromMs": previous, "toMs": bound, "count": int(dist.get(key, 0))})
        previous = bound or previous
    per_delivery = _stripped(counters.get("final", {}), "a")
    return {
        "successRate": _rate(succeeded, completed),
        "deliveries": {
            "completed": completed,
            "succeeded": succeeded,
            "failed": failed_deliveries,
            "successRate": _rate(succeeded, completed),
        },
        "attempts": {
            "total": total,
            "succeeded": succeeded,
            "failed": total - succeeded,
            "successRate": _rate(succeeded, total),
            "byOutcome": outcomes,
        },
        "responseTime": {
            "samples": samples,
            "averageMs": _ms(latency.get("sum", 0) / samples) if samples else None,
            "p50Ms": _ms(percentile(bins, 0.50, lowest, highest)),
            "p95Ms": _ms(percentile(bins, 0.95, lowest, highest)),
            "p99Ms": _ms(percentile(bins, 0.99, lowest, highest)),
            "minMs": _ms(lowest),
            "maxMs": _ms(highest),
            "distribution": distribution,
        },
        "retries": {
            "total": int(counters.get("retries", 0)),
            "scheduled": outcomes["retry_scheduled"],
            "exhausted": outcomes["exhausted"],
            "attemptsPerDelivery": dict(sorted(per_delivery.items(), key=lambda item: int(item[0]))),
        },
        "errors": {
            "total": error_total,
            "rate": _rate(error_total, total),
            "byKind": {kind: {"count": count, "rate": _rate(count, total)} for kind, count in errors.items()},
            "byStatusCode": dict(sorted(_stripped(counters.get("codes", {}), "s").items())),
        },
    }
