"""The delivery log's layout: each endpoint's deliveries in creation order, ``CHUNK_SIZE`` to a document.

An endpoint's *n*-th delivery (its *ordinal*, from 0, in the order the log received the deliveries' first
attempts) lives in chunk ``n // CHUNK_SIZE`` at index ``n % CHUNK_SIZE``, with every one of its attempts. The
chunk still being filled is the endpoint's *head*; it carries the Kafka marks of the records folded in so far.
Chunks are full when sealed, so the ordinal alone locates a delivery, and a page of the listing — newest
first — is the head and at most two sealed chunks.

This module decides, in memory, what a batch of attempts does to one endpoint's log (``fold``); the adapter
(``adapters.deliveries``) reads and writes the documents. A batch's records past the head's marks are folded in
offset order, so the result depends only on the records, never on how Kafka cut them into batches: a replay
after a crash recomputes the same chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from switchboard_contracts.events import DeliveryAttempt, EndpointKind
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain.delivery_stats import MAX_WINDOW, mark_key

#: Redeliver/recover commands whose progress an endpoint's head keeps (the latest ones).
COMMANDS_KEPT = 20
#: Deliveries per chunk. A listing page (at most 100) then spans the head and at most two sealed chunks, and
#: a chunk stays far below MongoDB's 16 MB document limit (200 deliveries of ten 4 KB attempts each: ~9 MB).
CHUNK_SIZE = 200


class Position(Protocol):
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


def endpoint_key(tenant_id: str, kind: EndpointKind | str, endpoint_id: str) -> str:
    """The endpoint's part of every ``_id`` of its log (the tenant first: one tenant's log never holds
    another's deliveries, even if endpoint ids collided)."""
    return f"{tenant_id}:{kind}:{endpoint_id}"


def chunk_id(endpoint: str, number: int) -> str:
    return f"{endpoint}:{number}"


def locator_id(endpoint: str, delivery_id: str) -> str:
    return f"{endpoint}:{delivery_id}"


def stored_attempt(attempt: DeliveryAttempt, position: Position) -> dict[str, Any]:
    """An attempt as a chunk stores it, with the Kafka record it came from (``kafka``): a replay of that
    record finds itself stored (and is counted in the rollups), another copy of the attempt does not."""
    return {**rules.attempt_record(attempt), "kafka": [position.partition, position.offset]}


def identity(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "tenant_id": attempt.tenant_id,
        "endpoint_kind": attempt.endpoint_kind,
        "endpoint_id": attempt.endpoint_id,
    }


def new_entry(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "delivery_id": attempt.delivery_id,
        "event_id": attempt.event_id,
        "event_type": attempt.event_type,
        "attempts": {},
    }


@dataclass
class Head:
    """An endpoint's open chunk as the writer holds it: chunk ``number`` (full chunks before it), its entries in
    creation order, the per-partition offset of the last record folded in, and the stored ``version`` every
    write is conditional on (0: not stored yet)."""

    endpoint: str
    #: ``tenant_id``, ``endpoint_kind``, ``endpoint_id``: stored in the head and every chunk.
    identity: dict[str, Any]
    number: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    version: int = 0
    expires_at: datetime | None = None
    #: Per full chunk (by number), its ``summary``: what a filtered listing needs to skip it unread.
    summaries: list[dict[str, Any]] = field(default_factory=list)
    #: Per recent command (its id), how many deliveries it attempted again and their status by its attempts.
    commands: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The endpoint's stats rollup buckets still open, by bucket id (``delivery_stats.SEAL_AFTER``; ADR 0011).
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The latest attempt time counted in ``buckets``: what seals them.
    rolled_to: datetime | None = None
    #: Whether this head was read without open buckets (new, or stored before ADR 0011): buckets it opens may
    #: also have a part stored the old way, which reads must add. Cleared once the head is written.
    unrolled: bool = False

    @property
    def total(self) -> int:
        """How many deliveries the endpoint's log holds."""
        return self.number * CHUNK_SIZE + len(self.entries)


@dataclass
class Placed:
    """An attempt and where its delivery is: chunk number and index in it."""

    chunk: int
    index: int
    attempt: DeliveryAttempt
    position: Position


@dataclass
class Folded:
    """What a batch does to one endpoint's log, beyond the new head: the chunks it filled (to insert), the
    deliveries it created (locators to insert: id, ordinal, first attempt's time), the attempts of deliveries
    in older chunks (``late``: written into those), and the attempts it stored in the head or the chunks it
    filled (``stored``: counted in the rollups)."""

    sealed: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)
    created: list[tuple[str, int, datetime]] = field(default_factory=list)
    late: list[Placed] = field(default_factory=list)
    stored: list[Placed] = field(default_factory=list)


def past_marks(
    records: Iterable[tuple[DeliveryAttempt, Position]], marks: Mapping[str, int]
) -> list[tuple[DeliveryAttempt, Position]]:
    """The records not folded in yet: past the head's mark of their partition (a partition's records come in
    offset order, so those up to the mark are in the log already — a replay)."""
    return [
        (attempt, position)
        for attempt, position in records
        if position.offset > marks.get(mark_key(position.partition), -1)
    ]


def is_creation(attempt: DeliveryAttempt) -> bool:
    """The first attempt of the dispatcher's schedule: the one that creates a delivery."""
    return attempt.attempt == 1 and attempt.command_id is None


def fold(
    head: Head,
    records: Sequence[tuple[DeliveryAttempt, Position]],
    known: Mapping[str, int],
) -> Folded:
    """Fold ``records`` (this endpoint's, past the marks, in offset order) into ``head``, in place. ``known``:
    the ordinals of deliveries in full chunks that the records refer to (the adapter looks up those it does
    not hold). A delivery neither in the head nor known is created at the end of the log; the head is sealed
    and a new one opened when it is full."""
    folded = Folded()
    # Where each delivery of the head and of the chunks this fold filled is: ordinal and entry.
    placed = {
        entry["delivery_id"]: (head.number * CHUNK_SIZE + i, entry) for i, entry in enumerate(head.entries)
    }
    for attempt, position in records:
        mark = mark_key(position.partition)
        head.marks[mark] = max(position.offset, head.marks.get(mark, -1))
        expires = attempt.attempted_at + MAX_WINDOW
        # The head outlives every chunk of its endpoint (a TTL index never removes it before them).
        head.expires_at = expires if head.expires_at is None else max(head.expires_at, expires)
        found = placed.get(attempt.delivery_id)
        if found is None and attempt.delivery_id in known:
            ordinal = known[attempt.delivery_id]
            folded.late.append(Placed(ordinal // CHUNK_SIZE, ordinal % CHUNK_SIZE, attempt, position))
            continue
        if found is None:
            if len(head.entries) >= CHUNK_SIZE:
                folded.sealed.append((head.number, head.entries))
                head.summaries.extend([{}] * (head.number + 1 - len(head.summaries)))
                head.number += 1
                head.entries = []
            entry = new_entry(attempt)
            found = (head.total, entry)
            folded.created.append((attempt.delivery_id, head.total, attempt.attempted_at))
            head.entries.append(entry)
            placed[attempt.delivery_id] = found
        ordinal, entry = found
        key = rules.attempt_key(attempt)
        if key in entry["attempts"]:
            continue  # another copy of an attempt stored already: the first copy wins
        entry["attempts"][key] = stored_attempt(attempt, position)
        folded.stored.append(Placed(ordinal // CHUNK_SIZE, ordinal % CHUNK_SIZE, attempt, position))
    # Summarized once they are final: later attempts in this batch may have changed their deliveries.
    for number, entries in folded.sealed:
        head.summaries[number] = summary(entries)
    return folded


def status(entry: Mapping[str, Any]) -> str:
    status_: str = rules.summarize(entry["attempts"].values())["status"]
    return status_


def summary(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A full chunk's counts by status and by event type and the span of its deliveries' first attempts: a
    listing filtered by status or event type reads only the chunks holding its page, one filtered by time only
    the chunks that overlap."""
    counts = {"succeeded": 0, "pending": 0, "failed": 0}
    types: dict[str, int] = {}
    firsts = []
    for entry in entries:
        counts[status(entry)] += 1
        types[entry["event_type"]] = types.get(entry["event_type"], 0) + 1
        firsts.append(min(record["attempted_at"] for record in entry["attempts"].values()))
    return {**counts, "types": types, "first": min(firsts), "last": max(firsts)}


def restatus(head: Head, number: int, before: str, after: str) -> None:
    """A late attempt moved a delivery of full chunk ``number`` from status ``before`` to ``after``."""
    if before != after and number < len(head.summaries) and head.summaries[number]:
        head.summaries[number][before] -= 1
        head.summaries[number][after] += 1


def unknown(head: Head, records: Iterable[tuple[DeliveryAttempt, Position]]) -> tuple[set[str], set[str]]:
    """Deliveries the records refer to that are not in the head: older ones whose ordinal the adapter must
    find. Two sets: those whose records here are only their creation (attempt 1 of the schedule) — normally
    new, so looked up only in the writer's memory, not in the database — and the others. A first attempt re-emitted
    by the dispatcher after its delivery left the head and the writer's memory (a restart) is the one case
    this misses: that delivery is then listed twice (``get`` shows the first)."""
    present = {entry["delivery_id"] for entry in head.entries}
    creations: set[str] = set()
    others: set[str] = set()
    for attempt, _ in records:
        if attempt.delivery_id not in present:
            (creations if is_creation(attempt) else others).add(attempt.delivery_id)
    return creations - others, others


def delivery(endpoint: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """A stored entry as the API's delivery (``domain.deliveries.public``'s input): its identity, every
    attempt under its key and the derived summary."""
    attempts = {
        key: {name: record.get(name) for name in rules.RECORD_FIELDS}
        for key, record in entry["attempts"].items()
    }
    return {
        "tenant_id": endpoint["tenant_id"],
        "endpoint_kind": endpoint["endpoint_kind"],
        "endpoint_id": endpoint["endpoint_id"],
        "delivery_id": entry["delivery_id"],
        "event_id": entry["event_id"],
        "event_type": entry["event_type"],
        "attempts": attempts,
        **rules.summarize(attempts.values()),
    }


def page_ordinals(total: int, page: int, per_page: int) -> range:
    """The ordinals (0: the oldest) on ``page`` of a newest-first listing of ``total`` deliveries, newest
    first."""
    last = total - 1 - (page - 1) * per_page
    first = max(last - per_page + 1, 0)
    return range(last, first - 1, -1) if last >= 0 else range(0)


def command_status(attempts: Mapping[str, Mapping[str, Any]], command_id: str) -> str | None:
    """A delivery's status by the attempts of one command (its latest of them), None when it has none."""
    answering = [record for record in attempts.values() if record.get("command_id") == command_id]
    if not answering:
        return None
    status_: str = rules.summarize(answering)["status"]
    return status_


def no_progress() -> dict[str, int]:
    """A command's progress before its first attempt reached the log."""
    return {"attempted": 0, "succeeded": 0, "pending": 0, "failed": 0}


def tally(head: Head, entry: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Count in ``head.commands`` the attempts of ``entry``'s delivery stored under ``keys`` by this batch's
    records: the delivery's status by each command before them and after. A replay after a crash before the
    head was written finds them stored and counts them again — once, as the head never counted them."""
    attempts = entry["attempts"]
    ours: dict[str, set[str]] = {}
    for key in keys:
        command_id = attempts[key].get("command_id")
        if command_id:
            ours.setdefault(command_id, set()).add(key)
    for command_id, added in ours.items():
        before = command_status({k: v for k, v in attempts.items() if k not in added}, command_id)
        after = command_status(attempts, command_id)
        counts = head.commands.pop(command_id, None) or no_progress()
        head.commands[command_id] = counts  # the most recently counted last
        if before is None:
            counts["attempted"] += 1
        else:
            counts[before] -= 1
        if after is not None:
            counts[after] += 1
        while len(head.commands) > COMMANDS_KEPT:
            head.commands.pop(next(iter(head.commands)))
