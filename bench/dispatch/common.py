"""What the dispatcher benchmark's processes share: the event payload and CPU sampling (``cpu_seconds`` is
``switchboard_testing``'s, which the registry's perf tools use too)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from switchboard_testing.processes import cpu_seconds

__all__ = ["EVENT_TYPE", "cpu_seconds", "event_data", "machine_busy_seconds", "structured_event"]

EVENT_TYPE = "message.received"


def event_data(seq: int, phase: str, published_at: float, body_bytes: int) -> dict[str, Any]:
    """The event's data: a message whose webhook body (``{event, timestamp, data}``) is about ``body_bytes``.

    ``published_at`` (``time.time()`` when the event is handed to the producer) is what the receiver subtracts
    from its receive time to get the publish → receive latency.
    """
    data: dict[str, Any] = {
        "conversation_id": f"conv-{seq % 64}",
        "message_id": f"{phase}-{seq}",
        "phase": phase,
        "seq": seq,
        "published_at": published_at,
        "text": "",
    }
    envelope = {"event": EVENT_TYPE, "timestamp": "2000-01-01T00:00:00Z", "data": data}
    overhead = len(json.dumps(envelope, separators=(",", ":")).encode())
    data["text"] = "x" * max(body_bytes - overhead, 0)
    return data


def structured_event(kind: str, tenant: str, phase: str, seq: int, body_bytes: int) -> dict[str, Any]:
    """The structured CloudEvent the whole-system benchmarks post to ``POST /v1/events`` (a distinct id each),
    its data ``event_data``'s, stamped now."""
    data = event_data(seq, phase, time.time(), body_bytes)
    return {
        "specversion": "1.0",
        "id": f"{phase}-{seq}-{uuid.uuid4().hex[:8]}",
        "source": "//bench",
        "type": kind,
        "tenant": tenant,
        "partitionkey": data["conversation_id"],
        "data": data,
    }


_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(value) / _TICKS for value in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])
    return total - idle, total
