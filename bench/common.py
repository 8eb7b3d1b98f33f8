"""What the benchmark drivers share: logging, loopback checks, child processes, infrastructure pids,
percentiles, recorded results."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import math
import os
import re
import signal
import subprocess
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from pymongo import AsyncMongoClient

from switchboard_platform.kafka_admin import delete_topics

ROOT = Path(__file__).resolve().parents[1]

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


class Run(NamedTuple):
    """One benchmark run on the shared infrastructure: its id, and its own topic namespace and log directory."""

    bootstrap: str
    mongodb_url: str
    id: str
    namespace: str
    logs: Path


def new_run(name: str) -> Run:
    """A run of benchmark ``name``: the loopback infrastructure (``infrastructure``), a fresh id, the topic
    namespace ``bench<id>.`` and the log directory ``.run/bench/<name>-<id>`` (created)."""
    bootstrap, mongodb_url = infrastructure()
    run_id = uuid.uuid4().hex[:10]
    logs = ROOT / ".run" / "bench" / f"{name}-{run_id}"
    logs.mkdir(parents=True, exist_ok=True)
    return Run(bootstrap, mongodb_url, run_id, f"bench{run_id}.", logs)


def _die_with_parent() -> None:
    """Children get SIGTERM if the driver dies, so no receiver or service outlives a killed run."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def spawn(
    args: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    stdout_pipe: bool = False,
    new_session: bool = False,
) -> asyncio.subprocess.Process:
    """``args`` as a child that dies with the driver; ``new_session`` makes it the leader of a process group of
    its own, so its CPU can be counted with its children's (``group_cpu_seconds``)."""
    log_file = log_path.open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE if stdout_pipe else log_file,
            stderr=log_file,
            preexec_fn=_die_with_parent,
            start_new_session=new_session,
        )
    finally:
        log_file.close()


async def stop(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM, grace_s: float = 30) -> None:
    if process.returncode is not None:
        return
    process.send_signal(sig)
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        process.kill()
        await process.wait()


async def ready_port(process: asyncio.subprocess.Process, log_path: Path, timeout_s: float = 30) -> int:
    """The port a spawned receiver (``stdout_pipe=True``) announces with its first line, ``READY <port>``."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
    if not line.startswith(b"READY "):
        raise RuntimeError(f"the receiver did not start; see {log_path}")
    return int(line.split()[1])


async def drop_run(bootstrap: str, mongodb_url: str, namespace: str, databases: Sequence[str]) -> None:
    """Removes what a run made: its topic namespace and its databases (best effort: a run that failed half-way
    may not have made them all)."""
    with contextlib.suppress(Exception):
        await delete_topics(bootstrap, namespace)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    try:
        for name in databases:
            with contextlib.suppress(Exception):
                await mongo.drop_database(name)
    finally:
        await mongo.close()


INFRA_PORTS = {"kafka": 9092, "ferretdb": 27017}
#: Where each one's address is configured (what ``deploy/local/infra.sh`` and the services read).
_INFRA_ADDRESSES = {"kafka": "SB_KAFKA_BOOTSTRAP", "ferretdb": "SB_MONGODB_URL"}


def infra_port(name: str) -> int:
    """The port the local Kafka or FerretDB listens on: the one in ``SB_KAFKA_BOOTSTRAP`` / ``SB_MONGODB_URL``
    when set (a benchmark run against infrastructure of its own), else the default."""
    match = re.search(r":(\d+)(?:/|$)", os.environ.get(_INFRA_ADDRESSES[name], ""))
    return int(match.group(1)) if match else INFRA_PORTS[name]


def infra_pid(name: str) -> int | None:
    """The pid of the local Kafka or FerretDB: the process listening on its configured port (``infra_port``),
    whichever checkout started it, else None. The port decides, so a run against infrastructure of its own
    never measures another's."""
    listing = subprocess.run(  # noqa: S603 - a fixed command, no user input
        ["ss", "-Hltnp", f"sport = :{infra_port(name)}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"pid=(\d+)", listing)
    return int(match.group(1)) if match else None


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
