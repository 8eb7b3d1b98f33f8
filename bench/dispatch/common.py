"""What the benchmark's processes share: the event payload, loopback checks, percentiles and CPU sampling."""

from __future__ import annotations

import ipaddress
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Webhook URLs use this name; the dispatcher and the sender baseline resolve it to 127.0.0.1 through
#: ``resolve_overrides``, so no request can leave the machine even if a URL were mistyped.
BENCH_HOST = "bench.test"
EVENT_TYPE = "message.received"
LOOPBACK_NAMES = frozenset({"localhost", BENCH_HOST})


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(what: str, host_port: str) -> None:
    """Refuse to benchmark against anything but this machine (the load is real). Accepts ``host:port``
    lists (Kafka bootstrap) and URLs (MongoDB)."""
    hosts = host_port.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    for item in hosts.split(","):
        host = item.rsplit(":", 1)[0] if item.count(":") == 1 or item.startswith("[") else item
        if not is_loopback(host):
            raise SystemExit(f"{what} must be on loopback (127.0.0.1, localhost or [::1]); got {host_port!r}")


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


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles (plus min/max/mean) of ``values``; empty input gives an empty dict."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {f"p{q:g}": ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)] for q in qs}
    result["min"] = ordered[0]
    result["max"] = ordered[-1]
    result["mean"] = sum(ordered) / len(ordered)
    return result


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (from /proc), or None when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(value) / _TICKS for value in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values[:8])
    return total - idle, total
