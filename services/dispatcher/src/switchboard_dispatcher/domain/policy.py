"""What an attempt's result means: success, retry (when), give up, or disable the endpoint.

- Success is a 2xx only. Redirects are never followed: a 3xx is a failure (Standard Webhooks, Svix).
- Retried: network errors, timeouts, 408, 425, 429 and 5xx — and for seed 001 callbacks, every non-2xx
  (that guide retries on "Non-2xx responses").
- ``410 Gone`` disables the endpoint (Standard Webhooks' rule, which none of Svix, Convoy or Outpost honours).
- Other 4xx fail without retry: the receiver rejected this payload and repeating it will not help.
- The wait before retry n is the endpoint's schedule[n-1] with ±20 % jitter; ``Retry-After`` (seconds or an
  HTTP date) on a 429/503 wins when it asks for longer, capped so a hostile header cannot park a delivery for
  days; timeouts and 429s wait at least the schedule's value.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from switchboard_contracts.events import EndpointKind, ErrorKind

JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=1)


class Verdict(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    FAIL = "fail"
    GONE = "gone"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    error_kind: ErrorKind | None = None
    error: str | None = None


_RETRYABLE_4XX = frozenset({408, 425, 429})


def judge_status(status: int, kind: EndpointKind) -> Outcome:
    if 200 <= status < 300:
        return Outcome(Verdict.SUCCESS)
    if status == 410:
        return Outcome(
            Verdict.GONE, "http_status", "410 Gone: the endpoint asked to stop receiving deliveries"
        )
    if 300 <= status < 400:
        return Outcome(Verdict.RETRY, "redirect", f"{status} redirect (redirects are not followed)")
    if status >= 500 or status in _RETRYABLE_4XX or kind == "callback":
        return Outcome(Verdict.RETRY, "http_status", f"HTTP {status}")
    return Outcome(
        Verdict.FAIL, "http_status", f"HTTP {status} (not retried: the receiver rejected the request)"
    )


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    """The wait a receiver asked for (RFC 9110: delay-seconds or an HTTP date), or None if it makes no sense.

    The header is the receiver's text: ``str.isdigit`` accepts "²" and ten thousand digits, and an HTTP date
    may be any year, so both forms are bounded here (the schedule caps the wait at ``MAX_RETRY_AFTER`` anyway).
    """
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Over nine digits is over 31 years: the cap, without turning the receiver's text into a huge int.
        if len(value) > 9:
            return MAX_RETRY_AFTER
        return min(timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


def next_delay(
    schedule: Sequence[int],
    failed_attempt: int,
    *,
    retry_after: timedelta | None = None,
    rng: random.Random | None = None,
) -> timedelta | None:
    """The wait before the attempt after ``failed_attempt`` (1-based), or None when the schedule is used up."""
    if failed_attempt > len(schedule):
        return None
    base = float(schedule[failed_attempt - 1])
    jitter = (rng or random).uniform(-JITTER, JITTER)
    delay = timedelta(seconds=base * (1 + jitter))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
