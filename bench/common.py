"""What the benchmark drivers share: logging, loopback checks, free ports, percentiles, recorded results."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

#: Webhook URLs use this name; the dispatcher and the sender baseline resolve it to 127.0.0.1 through
#: ``resolve_overrides``, so no request can leave the machine even if a URL were mistyped.
BENCH_HOST = "bench.test"
LOOPBACK_NAMES = frozenset({"localhost", BENCH_HOST})


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


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


def infrastructure() -> tuple[str, str]:
    """The Kafka bootstrap and MongoDB URL the run uses (``SB_KAFKA_BOOTSTRAP``, ``SB_MONGODB_URL``), both
    required to be on loopback."""
    bootstrap = os.environ.get("SB_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    mongodb_url = os.environ.get("SB_MONGODB_URL", "mongodb://127.0.0.1:27017/")
    require_loopback("SB_KAFKA_BOOTSTRAP", bootstrap)
    require_loopback("SB_MONGODB_URL", mongodb_url)
    return bootstrap, mongodb_url


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


def replace_between_markers(path: Path, start: str, end: str, text: str) -> None:
    """Put ``text`` between the ``start`` and ``end`` markers of ``path`` (a README's recorded results);
    nothing happens when the file or a marker is missing."""
    if not path.exists():
        return
    content = path.read_text()
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        path.write_text(f"{head}{start}\n{text}{end}{tail}")


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` on this machine (from /proc), or None when none can be seen —
    how a benchmark finds Kafka and FerretDB when they were started from another checkout."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None
