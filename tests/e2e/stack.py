"""The four services started exactly as ``make up`` starts them (deploy/local/services.sh), isolated.

Each stack gets free loopback ports, its own run directory, topic namespace and databases, so it never
collides with a developer's own ``make up`` or with other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from switchboard_testing.infra import Infrastructure
from switchboard_testing.processes import free_port
from switchboard_testing.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ingress", "registry", "ai-responder", "dispatcher")


@dataclass(frozen=True)
class Stack:
    urls: dict[str, str]
    env: dict[str, str]
    run_dir: Path
    #: The MongoDB databases this stack's services were given (its own and the caller's), to drop afterwards.
    databases: tuple[str, ...] = ()

    def log(self, service: str) -> str:
        path = self.run_dir / "logs" / f"{service}.log"
        return path.read_text() if path.exists() else ""


def infra_env(infra: Infrastructure, namespace: str) -> dict[str, str]:
    """What ``started_stack`` needs to put a stack on the test infrastructure, in a topic namespace of its own."""
    return {
        "SB_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "SB_MONGODB_URL": infra.mongodb_url,
        "SB_TOPIC_NAMESPACE": namespace,
    }


@contextmanager
def started_stack(run_dir: Path, extra_env: dict[str, str]) -> Iterator[Stack]:
    ports = {name: free_port() for name in SERVICES}
    suffix = uuid.uuid4().hex[:8]
    databases = {
        "SB_REGISTRY_MONGODB_DATABASE": f"e2e_{suffix}_registry",
        "SB_DISPATCHER_MONGODB_DATABASE": f"e2e_{suffix}_dispatcher",
        "SB_AI_RESPONDER_MONGODB_DATABASE": f"e2e_{suffix}_responder",
        **{name: value for name, value in extra_env.items() if name.endswith("_MONGODB_DATABASE")},
    }
    env = {
        **os.environ,
        "SB_RUN_DIR": str(run_dir),
        "SB_ENVIRONMENT": "development",
        **databases,
        **{f"SB_{name.upper().replace('-', '_')}_PORT": str(port) for name, port in ports.items()},
        **extra_env,
    }
    script = str(ROOT / "deploy" / "local" / "services.sh")
    # The script is the project's own, run with a fixed argument list: no shell, no user input.
    up = subprocess.run(  # noqa: S603
        [script, "up"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    try:
        if up.returncode != 0:
            raise RuntimeError(f"services.sh up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        yield Stack(urls, env, run_dir, tuple(databases.values()))
    finally:
        subprocess.run([script, "down"], env=env, cwd=ROOT, capture_output=True, timeout=60, check=False)  # noqa: S603


def start_service(service: str, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """One service as its own process group (so SIGKILL reaches uvicorn, not just the ``uv`` wrapper)."""
    package = "switchboard_" + service.replace("-", "_")
    command = [
        "uv",
        "run",
        "--no-sync",
        "uvicorn",
        "--factory",
        f"{package}.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log_file = log_path.open("ab")
    # A fixed command of the project's own entry point: no shell, no user input.
    return subprocess.Popen(  # noqa: S603
        command,
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


class Processes:
    """Services a test started with ``start_service``; ``kill_all`` ends those still running."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, service: str, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
        process = start_service(service, port, env, log_path)
        self._started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self._started:
            if process.poll() is None:
                kill_group(process)


async def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 90) -> None:
    """Until the service at ``url`` answers /readyz with 200; fails at once if ``process`` (the service) exits."""
    async with httpx.AsyncClient() as http, asyncio.timeout(timeout_s):
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"the service for {url} exited with {process.returncode} before it was ready"
                )
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def until(predicate: Callable[[], bool], timeout_s: float) -> None:
    """Until ``predicate()`` holds (polled every 50 ms); TimeoutError otherwise."""

    async def holds() -> bool:
        return predicate()

    await eventually(holds, timeout_s=timeout_s, interval_s=0.05)
