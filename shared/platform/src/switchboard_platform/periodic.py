"""A background task that runs an async callable on a fixed interval until the service stops.

The first run is one interval after ``start()`` (a service that needs one at start-up awaits it first); a run
that raises is logged and the next run goes ahead on time, so a passing outage (MongoDB, Kafka) only delays
the work. ``stop()`` cancels the task, also mid-run, and waits for it to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self,
        run: Callable[[], Awaitable[object]],
        interval_s: float,
        *,
        name: str,
        failure: str = "periodic task failed",
        logger: logging.Logger = log,
    ) -> None:
        """``name`` names the asyncio task; a failed run is logged with its traceback as ``failure`` on
        ``logger`` (the caller's module logger keeps the message where it always was)."""
        self.run = run
        self.interval_s = interval_s
        self.name = name
        self.failure = failure
        self.logger = logger
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the loop (async so it can be a start-up hook); a second call while running does nothing."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it; a no-op when it never started."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.run()
            except Exception:  # the next run tries again
                self.logger.exception(self.failure)
