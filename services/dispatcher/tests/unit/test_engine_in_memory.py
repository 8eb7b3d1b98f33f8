"""The delivery engine's logic over an in-memory deliveries topic: what it sends, records and commits.

The same behaviours over real Kafka, MongoDB and HTTP are in ``tests/integration`` (test_policy, test_delivery,
test_mongodb_outage) and across processes in ``tests/e2e`` (a SIGKILLed dispatcher loses nothing).
"""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from switchboard_contracts.events import DeliveryAttempt
from switchboard_dispatcher.adapters.http import SendError
from switchboard_dispatcher.domain.decisions import FAILING_TOO_LONG
from switchboard_testing.memory_kafka import MemoryConsumer, MemoryTopic
from switchboard_testing.waiting import eventually

from ..stages import FakeHealth, FakeSchedule, ScriptedSender, engine_run, holds, task_for, webhook

P0 = TopicPartition("deliveries", 0)


def attempt_of(event_data: object) -> DeliveryAttempt:
    return DeliveryAttempt.model_validate(event_data)


async def test_a_delivered_task_is_recorded_then_committed() -> None:
    target = webhook()
    async with engine_run(target) as run:
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.succeeded"]
        assert [sent.url for sent in run.sender.sent] == [target.url]
        assert run.dead_letters == []


async def test_a_failed_attempt_is_deferred_with_its_next_attempt_then_committed() -> None:
    target = webhook()
    sender = ScriptedSender({target.url: [500]})
    async with engine_run(target, sender=sender) as run:
        task = task_for(target)
        run.add(task)

        await eventually(lambda: holds(run.consumer.committed() == 1))

        ((retry, due),) = run.schedule.deferred
        assert (retry.delivery_id, retry.attempt, retry.reason) == (task.delivery_id, 2, "retry")
        (event,) = run.attempts
        recorded = attempt_of(event.data)
        assert (recorded.outcome, recorded.status_code, recorded.next_attempt_at) == (
            "retry_scheduled",
            500,
            due,
        )
        assert 3.2 <= (due - recorded.attempted_at).total_seconds() <= 4.8
        assert retry.first_attempted_at == recorded.attempted_at


async def test_410_dead_letters_the_task_and_disables_the_endpoint() -> None:
    target = webhook()
    async with engine_run(target, sender=ScriptedSender({target.url: [410]})) as run:
        task = task_for(target)
        run.add(task)

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.failed"]
        assert [dead.delivery_id for dead in run.dead_letters] == [task.delivery_id]
        assert run.view.disabled == [("webhook", target.id)]
        (disabled,) = run.platform_events
        assert disabled.type == "webhook.disabled"
        assert isinstance(disabled.data, dict)
        assert disabled.data["endpoint_id"] == target.id


async def test_an_exhausted_task_is_dead_lettered() -> None:
    target = webhook(retry_schedule=(4,))
    async with engine_run(target, sender=ScriptedSender(default=503)) as run:
        run.add(task_for(target, attempt=2))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.exhausted"]
        assert len(run.dead_letters) == 1
        assert run.schedule.deferred == []


async def test_a_webhook_failing_too_long_is_disabled_and_its_retry_still_scheduled() -> None:
    target = webhook()
    health = FakeHealth(failing_too_long=True)
    async with engine_run(target, sender=ScriptedSender(default=500), health=health) as run:
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.retry_scheduled"]
        assert len(run.schedule.deferred) == 1
        (disabled,) = run.platform_events
        assert isinstance(disabled.data, dict)
        assert disabled.data["reason"] == FAILING_TOO_LONG


async def test_a_blocked_address_fails_without_retry() -> None:
    target = webhook()
    blocked = SendError("ssrf_blocked", "private address", 0.1)
    async with engine_run(target, sender=ScriptedSender({target.url: [blocked]})) as run:
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.failed"]
        assert attempt_of(run.attempts[0].data).error_kind == "ssrf_blocked"


async def test_a_retry_waits_in_memory_unsettled_while_the_schedule_is_down() -> None:
    target = webhook(retry_schedule=(1,))
    sender = ScriptedSender({target.url: [500]})
    async with engine_run(target, sender=sender, schedule=FakeSchedule(unavailable=True)) as run:
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.outcomes() == ["delivery.retry_scheduled", "delivery.succeeded"]
        assert run.consumer.commits == [{P0: 1}]  # nothing committed before the retry succeeded
        assert len(run.sender.sent) == 2


async def test_offsets_are_committed_only_up_to_the_first_unsettled_one() -> None:
    slow, fast = webhook("slow"), webhook("fast")
    release = asyncio.Event()
    sender = ScriptedSender({slow.url: [release]})
    async with engine_run(slow, fast, sender=sender) as run:
        run.add(task_for(slow))  # offset 0 hangs
        run.add(task_for(fast))  # offset 1 succeeds at once

        await eventually(lambda: holds(run.outcomes() == ["delivery.succeeded"]))
        fetches = run.consumer.fetches
        await eventually(lambda: holds(run.consumer.fetches >= fetches + 2))  # the loop went round: no commit
        assert run.consumer.commits == []

        release.set()
        await eventually(lambda: holds(run.consumer.committed() == 2))
        assert run.consumer.commits[0] == {P0: 2}


async def test_a_partition_with_too_many_unsettled_tasks_is_paused_then_resumed() -> None:
    target = webhook(max_in_flight=10)
    release = asyncio.Event()
    sender = ScriptedSender({target.url: [release] * 4})
    async with engine_run(target, sender=sender, max_unsettled=4) as run:
        for _ in range(4):
            run.add(task_for(target))
        await eventually(lambda: holds(P0 in run.consumer.paused))

        run.add(task_for(target))
        fetches = run.consumer.fetches
        await eventually(lambda: holds(run.consumer.fetches >= fetches + 2))
        assert await run.consumer.position(P0) == 4  # paused: the fifth task is not read

        release.set()
        await eventually(lambda: holds(run.consumer.committed() == 5))
        assert P0 not in run.consumer.paused
        assert run.outcomes() == ["delivery.succeeded"] * 5


async def test_an_attempt_cut_short_by_a_crash_is_delivered_again_after_restart() -> None:
    target = webhook()
    topic = MemoryTopic("deliveries")
    hang = asyncio.Event()
    sender = ScriptedSender({target.url: [hang]})
    task = task_for(target)
    try:
        async with engine_run(target, topic=topic, sender=sender, stop_grace_s=0) as run:
            run.add(task)
            await eventually(lambda: holds(len(sender.sent) == 1))
        # Stopped without the attempt settling: the offset stays uncommitted, as after a SIGKILL.
        assert MemoryConsumer(topic, group_id="deliveries").committed() is None

        async with engine_run(target, topic=topic, sender=sender) as again:
            await eventually(lambda: holds(again.consumer.committed() == 1))
            assert again.outcomes() == ["delivery.succeeded"]
    finally:
        hang.set()

    first, second = sender.sent
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == task.delivery_id


async def test_an_unreadable_task_is_skipped_and_committed() -> None:
    target = webhook()
    async with engine_run(target) as run:
        run.topic.append(b"{not json", key=b"webhook:w1")
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 2))

        assert run.outcomes() == ["delivery.succeeded"]


async def test_a_task_for_a_deleted_endpoint_is_dead_lettered_unattempted() -> None:
    target = webhook()
    async with engine_run() as run:
        run.add(task_for(target))

        await eventually(lambda: holds(run.consumer.committed() == 1))

        assert run.sender.sent == []
        assert len(run.dead_letters) == 1
        assert run.dead_letters[0].endpoint_id == target.id
