"""Batch consumption helpers: skipping other types on the header, and handling a batch per key in order."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_platform import kafka
from switchboard_platform.kafka import Consumed, batch_decoder_for, in_key_order


def _event(type_: str, key: str | None = None, id_: str = "e1") -> CloudEvent:
    return CloudEvent.model_validate(
        {"id": id_, "source": "test", "type": type_, "partitionkey": key, "data": {"n": 1}}
    )


def _record(event: CloudEvent, offset: int = 0) -> SimpleNamespace:
    headers = [(name, value.encode()) for name, value in event.kafka_headers().items()]
    return SimpleNamespace(value=event.kafka_value(), headers=headers, partition=0, offset=offset)


def _message(*records: Any) -> Any:
    return SimpleNamespace(raw_message=tuple(records))


async def test_records_of_other_types_are_skipped_without_parsing_their_value() -> None:
    wanted, other = _event("message.received", "c1"), _event("order.created", "c2", id_="e2")
    unparseable = SimpleNamespace(
        value=b"{not json", headers=[("ce_type", b"order.created")], partition=0, offset=2
    )
    decode = batch_decoder_for({"message.received"})

    batch = await decode(_message(_record(wanted), _record(other, 1), unparseable))

    assert [event.id if event else None for event in batch] == ["e1", None, None]


async def test_a_wanted_type_that_is_not_a_cloudevent_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = SimpleNamespace(
        value=b"{}",
        headers=[("ce_type", b"message.received"), ("ce_specversion", b"1.0")],
        partition=3,
        offset=9,
    )

    batch = await batch_decoder_for({"message.received"})(_message(broken))

    assert batch == [None]
    assert "not a CloudEvent" in caplog.text


async def test_structured_records_without_a_type_header_are_decoded_for_the_handler_to_filter() -> None:
    event = _event("order.created")
    structured = SimpleNamespace(
        value=event.model_dump_json().encode(),
        headers=[("content-type", b"application/cloudevents+json")],
        partition=0,
        offset=0,
    )

    (decoded,) = await batch_decoder_for({"message.received"})(_message(structured))

    assert decoded is not None
    assert decoded.type == "order.created"


def test_header_lookup_ignores_case() -> None:
    assert kafka.header([("CE_Type", b"x.y")], "ce_type") == "x.y"
    assert kafka.header([("ce_id", b"1")], "ce_type") is None


def _consumed(event: CloudEvent | None, offset: int, partition: int = 0) -> Consumed:
    return Consumed(event, "platform.events", partition, offset)


async def test_one_keys_events_run_in_order_while_other_keys_run_beside_them() -> None:
    handled: list[str] = []
    release = asyncio.Event()

    async def handle(event: CloudEvent) -> None:
        if event.id == "a1":
            await release.wait()  # a slow first event of key a: b's events must not wait for it
        handled.append(event.id)
        if event.id == "b2":
            release.set()

    batch = [
        _consumed(_event("t", "a", "a1"), 0),
        _consumed(_event("t", "b", "b1"), 1),
        _consumed(_event("t", "a", "a2"), 2),
        _consumed(None, 3),
        _consumed(_event("t", "b", "b2"), 4),
    ]
    await asyncio.wait_for(in_key_order(batch, handle, concurrency=4), 5)

    assert handled == ["b1", "b2", "a1", "a2"]


async def test_every_lane_runs_and_the_first_failure_is_raised_for_the_batch_to_come_again() -> None:
    handled: list[str] = []

    async def handle(event: CloudEvent) -> None:
        if event.id == "a1":
            raise RuntimeError("database down")
        handled.append(event.id)

    batch = [_consumed(_event("t", "a", "a1"), 0), _consumed(_event("t", "b", "b1"), 1)]
    with pytest.raises(RuntimeError, match="database down"):
        await in_key_order(batch, handle, concurrency=4)

    assert handled == ["b1"]


async def test_keyless_events_of_a_partition_keep_their_order_and_concurrency_is_bounded() -> None:
    running = peak = 0
    handled: list[str] = []

    async def handle(event: CloudEvent) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        handled.append(event.id)
        running -= 1

    keyless = [_consumed(_event("t", None, f"n{i}"), i) for i in range(5)]
    keyed = [_consumed(_event("t", f"k{i}", f"k{i}"), 10 + i, partition=1) for i in range(6)]
    await in_key_order(keyless + keyed, handle, concurrency=3)

    assert [name for name in handled if name.startswith("n")] == [f"n{i}" for i in range(5)]
    assert peak == 3
