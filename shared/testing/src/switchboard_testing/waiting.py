"""Polling for effects that happen in another task, process or server (a consumer's MongoDB write)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout_s: float = 30.0, interval_s: float = 0.1
) -> T:
    """Call ``probe`` until it returns a truthy value and return it; TimeoutError after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = await probe()
            if result:
                return result
            await asyncio.sleep(interval_s)
