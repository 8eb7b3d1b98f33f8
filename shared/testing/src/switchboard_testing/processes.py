"""For services and servers started as their own processes (e2e tests, benchmarks, a private Kafka): a free
loopback port, and environments naming the same Kafka, topic namespace and database as a test's settings."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from switchboard_platform.settings import ServiceSettings

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (from /proc), or None when it cannot be read."""
    fields = _stat_fields(Path(f"/proc/{pid}"))
    return None if fields is None else _cpu(fields)


def group_cpu_seconds(pgid: int) -> float | None:
    """User + system CPU of every live process in process group ``pgid`` (a service is ``uv run`` → uvicorn, a
    uvicorn with ``--workers`` a parent and its workers), or None when none is there."""
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        fields = _stat_fields(proc)
        if fields is not None and int(fields[2]) == pgid:  # field 5, pgrp
            total, found = total + _cpu(fields), True
    return total if found else None


def _stat_fields(proc: Path) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3 onwards), or None when it is gone."""
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
    return stat.rsplit(")", 1)[1].split()


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14 and 15: utime, stime


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dispatcher_env(settings: ServiceSettings, resolve: dict[str, str]) -> dict[str, str]:
    """A dispatcher process on ``settings``' Kafka, namespace and database, allowed to deliver to the loopback
    names in ``resolve`` (host → address)."""
    return {
        **os.environ,
        "SB_ENVIRONMENT": "test",
        "SB_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SB_MONGODB_URL": settings.mongodb_url.get_secret_value(),
        "SB_TOPIC_NAMESPACE": settings.topic_namespace,
        "SB_DISPATCHER_MONGODB_DATABASE": str(
            getattr(settings, "mongodb_database", "switchboard_dispatcher")
        ),
        "SB_DISPATCHER_ALLOW_LOOPBACK_URLS": "true",
        "SB_RESOLVE_OVERRIDES": json.dumps(resolve),
    }
