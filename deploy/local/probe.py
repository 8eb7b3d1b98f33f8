"""Readiness probes used by deploy/local/infra.sh (run with the workspace's Python: `uv run --no-sync`).

    probe.py kafka BOOTSTRAP [--timeout S] [--pid PID]   # ready when a metadata request (list topics) works
    probe.py mongo URL       [--timeout S] [--pid PID]   # ready when the server answers {"ping": 1}

Polls until ready or the timeout passes. With --pid, gives up at once when that process has exited.
Exit status: 0 ready, 1 timed out, 2 the watched process died. The last error goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time

POLL_INTERVAL_S = 0.25
_NO_ATTEMPT = "no attempt made"


class ProcessDiedError(Exception):
    pass


def _alive(pid: int | None) -> bool:
    """True while the process exists and is not a zombie (an exited child init has not reaped yet)."""
    if pid is None:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state not in ("Z", "X")


async def _kafka_once(bootstrap: str, timeout_s: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="switchboard-local-probe",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await admin.start()
        await admin.list_topics()
    finally:
        await admin.close()


async def _kafka(bootstrap: str, deadline: float, pid: int | None) -> str | None:
    last = _NO_ATTEMPT
    while True:
        if not _alive(pid):
            raise ProcessDiedError(last)
        try:
            await asyncio.wait_for(_kafka_once(bootstrap, 5.0), timeout=8.0)
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            return None
        if time.monotonic() >= deadline:
            return last
        await asyncio.sleep(POLL_INTERVAL_S)


def _mongo(url: str, deadline: float, pid: int | None) -> str | None:
    from pymongo import MongoClient

    last = _NO_ATTEMPT
    while True:
        if not _alive(pid):
            raise ProcessDiedError(last)
        client: MongoClient[dict[str, object]] = MongoClient(
            url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000, appname="switchboard-local-probe"
        )
        try:
            client.admin.command("ping")
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            return None
        finally:
            client.close()
        if time.monotonic() >= deadline:
            return last
        time.sleep(POLL_INTERVAL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["kafka", "mongo"])
    parser.add_argument("target", help="Kafka bootstrap servers or MongoDB URL")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--pid", type=int, default=None, help="give up when this process exits")
    args = parser.parse_args(argv)

    # aiokafka/pymongo log every refused connection while the server is still starting; keep quiet.
    logging.basicConfig(level=logging.CRITICAL)
    deadline = time.monotonic() + args.timeout
    try:
        if args.kind == "kafka":
            error = asyncio.run(_kafka(args.target, deadline, args.pid))
        else:
            error = _mongo(args.target, deadline, args.pid)
    except ProcessDiedError as died:
        detail = "" if str(died) == _NO_ATTEMPT else f" (last error: {died})"
        sys.stderr.write(f"process {args.pid} exited before {args.target} became ready{detail}\n")
        return 2
    if error is not None:
        sys.stderr.write(f"{args.target} not ready after {args.timeout:g} s (last error: {error})\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
