"""A private FerretDB for tests that stop MongoDB (the shared one on :27017 serves everyone else).

It runs the binary ``make infra-up`` built (``$SB_CACHE_DIR/ferretdb-v1.24.2-<patches>/ferretdb``) with the flags
deploy/local/infra.sh uses, on a free loopback port and a SQLite data directory of its own. ``stop`` and
``start`` keep the data directory, so databases survive a restart like a real outage; ``stop`` is a SIGKILL by
default, as a crashed or partitioned server looks to its clients.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from switchboard_testing.private_kafka import ROOT
from switchboard_testing.processes import free_port

INFRA = ROOT / "deploy" / "local" / "infra.sh"


def binary_path() -> Path:
    """Where ``make infra-up`` keeps the FerretDB it built (a directory named for the release and its patches),
    as infra.sh itself says."""
    answer = subprocess.run(  # noqa: S603 - this repository's own script, fixed arguments
        [str(INFRA), "ferretdb-binary"], capture_output=True, text=True, check=True, timeout=30
    )
    return Path(answer.stdout.strip())


class FerretDBMissing(RuntimeError):
    pass


class PrivateFerretDB:
    def __init__(self, workdir: Path) -> None:
        self.binary = binary_path()
        if not self.binary.is_file():
            raise FerretDBMissing(f"FerretDB binary not found at {self.binary}: run `make infra-up` first")
        self.workdir = workdir
        self.data = workdir / "ferretdb-data"
        self.port = free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/"
        self.log = workdir / "ferretdb.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (for its CPU time in ``/proc``)."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 30.0) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.data}/",
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--state-dir={self.workdir}",
            "--telemetry=disable",
            "--debug-addr=-",
            "--log-level=error",
        ]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"private FerretDB exited with {self._process.returncode}; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"private FerretDB did not listen on 127.0.0.1:{self.port} within {timeout_s} s")

    def stop(self, sig: int = signal.SIGKILL, timeout_s: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    @classmethod
    @contextmanager
    def temporary(cls, prefix: str) -> Iterator[PrivateFerretDB]:
        """A started server in a temporary directory, stopped and removed afterwards (measurement tools)."""
        with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
            server = cls(Path(workdir))
            server.start()
            try:
                yield server
            finally:
                server.stop()
