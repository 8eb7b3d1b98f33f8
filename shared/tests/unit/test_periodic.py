"""Periodic: runs on its interval, survives a failing run (logged), and stops (also mid-run) when told."""

from __future__ import annotations

import asyncio
import logging

import pytest

from switchboard_platform.periodic import Periodic


async def test_runs_every_interval_from_one_interval_after_start() -> None:
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def run() -> None:
        runs.append(loop.time())

    periodic = Periodic(run, 0.02, name="test-periodic")
    started = loop.time()
    await periodic.start()
    await asyncio.sleep(0)
    assert runs == []  # not at once: the first run waits one interval
    await asyncio.sleep(0.15)
    await periodic.stop()
    assert not periodic.running
    assert len(runs) >= 3
    assert runs[0] - started >= 0.02
    count = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == count  # stopped means stopped


async def test_a_failing_run_is_logged_and_the_next_one_goes_ahead(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    third = asyncio.Event()

    async def run() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            third.set()
        if calls == 1:
            raise RuntimeError("store unavailable")

    logger = logging.getLogger("test.periodic")
    periodic = Periodic(run, 0.01, name="test-periodic", failure="sweep failed", logger=logger)
    with caplog.at_level(logging.ERROR, logger="test.periodic"):
        await periodic.start()
        await asyncio.wait_for(third.wait(), 5)
        await periodic.stop()
    failures = [record for record in caplog.records if record.name == "test.periodic"]
    assert [record.getMessage() for record in failures] == ["sweep failed"]
    assert failures[0].exc_info is not None  # with its traceback


async def test_stop_cancels_a_run_in_progress_and_is_a_no_op_when_never_started() -> None:
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def run() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await Periodic(run, 0.01, name="never-started").stop()
    periodic = Periodic(run, 0.01, name="test-periodic")
    await periodic.start()
    await periodic.start()  # already running: still one task
    await asyncio.wait_for(entered.wait(), 5)
    await asyncio.wait_for(periodic.stop(), 5)
    assert cancelled.is_set()
    assert not periodic.running
