"""Event-loop lag: how late the event loop wakes a task that asked to sleep, exported in ``/metrics``.

Every service runs its HTTP handlers, Kafka consumers and delivery lanes on one event loop, so anything that
blocks it (a long synchronous computation, a garbage collection, a CPU-starved machine) delays all of them at
once. A probe sleeps ``interval_s`` and records by how much it overslept:

- ``event_loop_lag_seconds`` (histogram): every probe's lag, for rates and quantiles over any window;
- ``event_loop_lag_max_seconds`` (gauge): the largest lag of the probes in the last ``window_s`` seconds, so a
  scraper polling at least that often sees every stall (the soak in bench/soak samples it once a second).

The probe is one wake-up every quarter second and allocates nothing per tick beyond a tuple.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, Histogram

from switchboard_platform.periodic import Periodic

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class EventLoopLag:
    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        interval_s: float = 0.25,
        window_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = interval_s
        self.window_s = window_s
        self.clock = clock
        self.histogram = Histogram(
            "event_loop_lag_seconds",
            "How much later than asked the event loop woke a sleeping probe",
            registry=registry,
            buckets=BUCKETS,
        )
        gauge = Gauge(
            "event_loop_lag_max_seconds",
            f"Largest event-loop lag of the probes in the last {window_s:g} s",
            registry=registry,
        )
        gauge.set_function(self.recent_max)
        self._recent: deque[tuple[float, float]] = deque()
        self._last: float | None = None
        self._probe = Periodic(
            self.tick, interval_s, name="event-loop-lag", failure="event-loop lag probe failed"
        )

    async def start(self) -> None:
        """Start probing (a service's lifespan does, once it started); a no-op when already running."""
        if not self._probe.running:
            self._last = self.clock()
            await self._probe.start()

    async def stop(self) -> None:
        await self._probe.stop()

    async def tick(self) -> None:
        """One probe: called ``interval_s`` after the previous one ended, if the loop is on time."""
        now = self.clock()
        if self._last is not None:
            lag = max(now - self._last - self.interval_s, 0.0)
            self.histogram.observe(lag)
            self._recent.append((now, lag))
        self._last = now

    def recent_max(self) -> float:
        horizon = self.clock() - self.window_s
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()
        return max((lag for _, lag in self._recent), default=0.0)
