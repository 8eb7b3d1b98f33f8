"""A private single-node Kafka for tests that stop the broker (the shared one on :9092 serves everyone else).

It runs the same Apache Kafka jars ``make infra-up`` downloaded (``$SB_CACHE_DIR/kafka-3.9.1/libs``), with the
repository's server.properties template, on two free loopback ports and a data directory of its own. ``stop``
and ``start`` keep the data directory, so topics and records survive a restart like a real outage.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from switchboard_platform.kafka_admin import new_cluster_id
from switchboard_testing.processes import free_port

ROOT = Path(__file__).resolve().parents[4]
TEMPLATE = ROOT / "deploy" / "local" / "kafka" / "server.properties"
LOG4J = ROOT / "deploy" / "local" / "kafka" / "log4j.properties"
KAFKA_VERSION = "3.9.1"


class KafkaJarsMissing(RuntimeError):
    pass


def cache_dir() -> Path:
    """Where ``make infra-up`` keeps downloads and builds (deploy/local/lib.sh's ``SB_CACHE_DIR``)."""
    configured = os.environ.get("SB_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "switchboard"


class PrivateKafka:
    def __init__(self, workdir: Path) -> None:
        self.libs = cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"
        java = shutil.which("java")
        if java is None or not self.libs.is_dir() or not any(self.libs.glob("kafka_*.jar")):
            raise KafkaJarsMissing(
                f"Kafka jars not found under {self.libs} (or no java): run `make infra-up` first"
            )
        self.java = java
        self.workdir = workdir
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.config = workdir / "server.properties"
        self.log = workdir / "kafka.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _java(self, *args: str) -> list[str]:
        return [
            self.java,
            "-Xms128m",
            "-Xmx384m",
            f"-Dlog4j.configuration=file:{LOG4J}",
            f"-Dkafka.logs.dir={self.workdir}",
            "-cp",
            f"{self.libs}/*",
            *args,
        ]

    def prepare(self) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        text = TEMPLATE.read_text()
        for placeholder, value in (
            ("@HOST@", "127.0.0.1"),
            ("@PORT@", str(self.port)),
            ("@CONTROLLER_PORT@", str(self.controller_port)),
            ("@DATA_DIR@", str(data)),
        ):
            text = text.replace(placeholder, value)
        self.config.write_text(text)
        # Never one starting with "-", which kafka-storage reads as an option (one random id in 64).
        cluster_id = new_cluster_id()
        subprocess.run(  # noqa: S603 - fixed arguments, our own jars
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config)),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout_s: float = 90.0) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603
                self._java("kafka.Kafka", str(self.config)), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"private Kafka exited with {self._process.returncode}; see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"private Kafka did not listen on {self.bootstrap} within {timeout_s} s")

    def stop(self, timeout_s: float = 60.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
