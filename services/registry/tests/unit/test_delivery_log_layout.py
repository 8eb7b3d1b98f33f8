"""The delivery log's layout rules, in memory: where a batch puts each delivery and attempt, when a chunk
fills, what a replay and another copy of an attempt change, and which ordinals a page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from switchboard_contracts.events import DeliveryAttempt
from switchboard_registry.domain import delivery_log as layout
from switchboard_registry.domain.deliveries import attempt_key
from switchboard_registry.domain.delivery_log import CHUNK_SIZE, Head
from switchboard_testing.builders import delivery_attempt

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class At:
    partition: int
    offset: int


def _head() -> Head:
    return Head("t1:webhook:w1", {"tenant_id": "t1", "endpoint_kind": "webhook", "endpoint_id": "w1"})


def _records(count: int, first_offset: int = 0) -> list[tuple[DeliveryAttempt, At]]:
    return [
        (delivery_attempt("t1", "w1", attempted_at=T0 + timedelta(seconds=i)), At(0, first_offset + i))
        for i in range(count)
    ]


def test_deliveries_fill_the_head_in_arrival_order_and_a_full_head_becomes_a_chunk() -> None:
    head = _head()
    records = _records(CHUNK_SIZE + 3)

    folded = layout.fold(head, records, {})

    assert [number for number, _ in folded.sealed] == [0]
    assert [entry["delivery_id"] for entry in folded.sealed[0][1]] == [
        attempt.delivery_id for attempt, _ in records[:CHUNK_SIZE]
    ]
    assert (head.number, len(head.entries), head.total) == (1, 3, CHUNK_SIZE + 3)
    assert [ordinal for _, ordinal, _ in folded.created] == list(range(CHUNK_SIZE + 3))
    assert head.marks == {"p0": CHUNK_SIZE + 2}
    assert len(folded.stored) == CHUNK_SIZE + 3


def test_a_later_attempt_joins_its_delivery_in_the_head_and_another_copy_is_dropped() -> None:
    head = _head()
    (first, at), *_ = _records(1)
    retry = first.model_copy(update={"attempt": 2, "attempted_at": T0 + timedelta(minutes=1)})

    folded = layout.fold(head, [(first, at), (retry, At(0, 1)), (first, At(0, 2))], {})

    assert len(head.entries) == 1
    assert sorted(head.entries[0]["attempts"]) == ["scheduled:1", "scheduled:2"]
    assert head.entries[0]["attempts"]["scheduled:1"]["kafka"] == [0, 0]  # the first copy wins
    assert [placed.attempt.attempt for placed in folded.stored] == [1, 2]
    assert head.marks == {"p0": 2}


def test_an_attempt_of_a_delivery_in_a_full_chunk_is_late_at_its_ordinal() -> None:
    head = _head()
    layout.fold(head, _records(CHUNK_SIZE + 1), {})
    retry = delivery_attempt("t1", "w1", delivery_id="msg_old", attempt=3, attempted_at=T0)

    folded = layout.fold(head, [(retry, At(0, 500))], {"msg_old": 7})

    assert [(late.chunk, late.index, late.attempt.delivery_id) for late in folded.late] == [(0, 7, "msg_old")]
    assert folded.stored == []
    assert head.total == CHUNK_SIZE + 1


def test_records_up_to_the_marks_are_a_replay() -> None:
    records = _records(5)

    fresh = layout.past_marks([*records, (records[0][0], At(1, 0))], {"p0": 2})

    assert [position for _, position in fresh] == [At(0, 3), At(0, 4), At(1, 0)]


def test_a_replay_cut_into_other_batches_builds_the_same_chunks() -> None:
    records = _records(CHUNK_SIZE + 50)
    whole, cut = _head(), _head()

    sealed_whole = layout.fold(whole, records, {}).sealed
    sealed_cut = []
    for first, last in ((0, 120), (120, 230), (230, len(records))):
        sealed_cut += layout.fold(cut, layout.past_marks(records[first:last], cut.marks), {}).sealed

    assert sealed_cut == sealed_whole
    assert (cut.number, cut.entries, cut.marks) == (whole.number, whole.entries, whole.marks)


def test_only_deliveries_without_their_first_attempt_here_are_looked_up() -> None:
    head = _head()
    (in_head, at), (new, _) = _records(2)
    layout.fold(head, [(in_head, at)], {})
    retry_of_old = delivery_attempt("t1", "w1", delivery_id="msg_old", attempt=2)
    redelivery_of_new = new.model_copy(update={"command_id": "cmd", "attempt": 2})

    creations, others = layout.unknown(
        head, [(in_head, at), (new, at), (redelivery_of_new, at), (retry_of_old, at)]
    )

    assert creations == set()
    assert others == {new.delivery_id, "msg_old"}
    assert layout.unknown(head, [(new, at)]) == ({new.delivery_id}, set())


def test_a_page_lists_ordinals_newest_first() -> None:
    assert list(layout.page_ordinals(45, 1, 20)) == list(range(44, 24, -1))
    assert list(layout.page_ordinals(45, 3, 20)) == [4, 3, 2, 1, 0]
    assert list(layout.page_ordinals(45, 4, 20)) == []
    assert list(layout.page_ordinals(0, 1, 20)) == []


def test_a_delivery_is_derived_from_its_entry() -> None:
    head = _head()
    (first, at), *_ = _records(1)
    failed = first.model_copy(update={"outcome": "retry_scheduled", "status_code": 503})
    later = first.model_copy(update={"attempt": 2, "attempted_at": T0 + timedelta(seconds=4)})
    layout.fold(head, [(later, At(0, 1)), (failed, at)], {})

    delivery = layout.delivery(head.identity, head.entries[0])

    assert (delivery["status"], delivery["attempt_count"], delivery["created_at"]) == ("succeeded", 2, T0)
    assert (delivery["endpoint_id"], delivery["event_id"]) == ("w1", first.event_id)
    assert "kafka" not in delivery["attempts"]["scheduled:1"]


def test_a_full_chunk_is_summarized_once_its_batch_is_folded() -> None:
    head = _head()
    records = _records(CHUNK_SIZE + 1)
    failing, _ = records[3]
    records[3] = (failing.model_copy(update={"outcome": "retry_scheduled"}), records[3][1])
    gave_up = failing.model_copy(update={"attempt": 2, "outcome": "exhausted"})

    layout.fold(head, [*records, (gave_up, At(0, 999))], {})
    layout.restatus(head, 0, "succeeded", "pending")

    assert head.summaries == [
        {
            "succeeded": CHUNK_SIZE - 2,
            "pending": 1,
            "failed": 1,
            "types": {"message.created": CHUNK_SIZE},
            "first": T0,
            "last": T0 + timedelta(seconds=CHUNK_SIZE - 1),
        }
    ]


def test_a_commands_progress_counts_each_delivery_once_by_its_latest_attempt() -> None:
    head = _head()
    (first, at), (second, at_2) = _records(2)

    def manual(record: DeliveryAttempt, number: int, outcome: str) -> DeliveryAttempt:
        return record.model_copy(update={"attempt": number, "command_id": "cmd", "outcome": outcome})

    layout.fold(head, [(first, at), (second, at_2)], {})
    first_retry, first_done = manual(first, 2, "retry_scheduled"), manual(first, 3, "succeeded")
    for attempt in (first_retry, first_done, manual(second, 2, "exhausted")):
        entry = next(e for e in head.entries if e["delivery_id"] == attempt.delivery_id)
        entry["attempts"][attempt_key(attempt)] = layout.stored_attempt(attempt, At(0, 9))
        layout.tally(head, entry, {attempt_key(attempt)})

    assert head.commands == {"cmd": {"attempted": 2, "succeeded": 1, "pending": 0, "failed": 1}}


def test_a_replayed_tally_counts_what_the_head_never_did() -> None:
    head = _head()
    (first, at), *_ = _records(1)
    layout.fold(head, [(first, at)], {})
    done = first.model_copy(update={"attempt": 2, "command_id": "cmd"})
    entry = head.entries[0]
    # Stored by the crashed run, whose head was never written: the replay counts it from scratch.
    entry["attempts"][attempt_key(done)] = layout.stored_attempt(done, At(0, 9))

    layout.tally(head, entry, {attempt_key(done)})

    assert head.commands["cmd"] == {"attempted": 1, "succeeded": 1, "pending": 0, "failed": 0}


def test_only_the_latest_commands_are_kept() -> None:
    head = _head()
    (first, at), *_ = _records(1)
    layout.fold(head, [(first, at)], {})
    entry = head.entries[0]
    for n in range(layout.COMMANDS_KEPT + 5):
        manual = first.model_copy(update={"attempt": 2 + n, "command_id": f"cmd{n}"})
        entry["attempts"][attempt_key(manual)] = layout.stored_attempt(manual, At(0, 10 + n))
        layout.tally(head, entry, {attempt_key(manual)})

    assert list(head.commands) == [f"cmd{n}" for n in range(5, layout.COMMANDS_KEPT + 5)]
