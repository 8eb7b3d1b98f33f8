"""Seed 001's delivery rules, declared once: what the registry stores for an endpoint that sets none, and what
the dispatcher falls back on for a record that carries none.

Seed 001: "3 retries with intervals 4s, 8s and 10s", 30 s per attempt, 10 deliveries in flight and 100 a minute
per endpoint.
"""

from __future__ import annotations

#: Seconds to wait before each retry (the dispatcher adds ±20 % jitter); its length is the number of retries.
RETRY_SCHEDULE: tuple[int, ...] = (4, 8, 10)
TIMEOUT_S: float = 30  # an int, so the registry's documents and OpenAPI default read 30 as before
MAX_IN_FLIGHT = 10
RATE_PER_MINUTE = 100
#: The wait before each retry past the schedule's end, for an endpoint that asks for more retries than it has.
LATER_RETRY_S = 10


def retry_schedule(retries: int) -> tuple[int, ...]:
    """The schedule of ``retries`` retries (an integration's ``retry_attempts``): seed 001's 4, 8 and 10 s,
    then every 10 s."""
    extra = max(retries - len(RETRY_SCHEDULE), 0)
    return (RETRY_SCHEDULE + (LATER_RETRY_S,) * extra)[: max(retries, 0)]
