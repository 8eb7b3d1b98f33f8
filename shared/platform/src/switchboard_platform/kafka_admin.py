"""Create the contract's topics on a broker: ``python -m switchboard_platform.kafka_admin ensure-topics``.

Used by ``make infra-up``, the docker-compose ``topics`` job and the test fixtures (with a per-test
namespace). Idempotent: existing topics are left as they are, and a topic with fewer partitions than the
contract declares is grown (Kafka cannot shrink a topic).

``python -m switchboard_platform.kafka_admin cluster-id FILE`` gives ``make infra-up`` the KRaft cluster id to
format a new broker's storage with, kept in FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import secrets
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import KafkaError

from switchboard_contracts.topics import TOPIC_SPECS, TopicSpec, topic_name


async def ensure_topics(
    bootstrap: str,
    namespace: str = "",
    specs: Iterable[TopicSpec] = TOPIC_SPECS,
    *,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> dict[str, str]:
    """Create missing topics and grow under-partitioned ones. Returns ``{name: created|grown|ok}``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    await admin.start()
    try:
        wanted = {topic_name(spec.topic, namespace): spec for spec in specs}
        # list_topics first: a metadata request naming a missing topic would auto-create it with the broker's
        # defaults (wrong partition count, no compaction) on brokers that allow auto-creation.
        present = set(await admin.list_topics()) & set(wanted)
        described = await admin.describe_topics(sorted(present)) if present else []
        existing = {
            meta["topic"]: len(meta["partitions"]) for meta in described if meta.get("error_code") == 0
        }
        result: dict[str, str] = {}
        missing = [
            NewTopic(name, spec.partitions, replication_factor, topic_configs=spec.broker_configs())
            for name, spec in wanted.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing, timeout_ms=int(timeout_s * 1000))
            for name, code, *_ in response.topic_errors:
                # 36 TOPIC_ALREADY_EXISTS: another process created it between describe and create.
                if code not in (0, 36):
                    raise KafkaError(f"creating topic {name} failed with Kafka error code {code}")
                result[name] = "created"
        grow = {
            name: NewPartitions(spec.partitions)
            for name, spec in wanted.items()
            if name in existing and existing[name] < spec.partitions
        }
        if grow:
            await admin.create_partitions(grow, timeout_ms=int(timeout_s * 1000))
            result.update(dict.fromkeys(grow, "grown"))
        for name in wanted:
            result.setdefault(name, "ok")
        return result
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, namespace: str, specs: Iterable[TopicSpec] = TOPIC_SPECS) -> None:
    """Delete a namespace's topics (test clean-up). Missing topics are ignored."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [topic_name(spec.topic, namespace) for spec in specs]
        present = set(await admin.list_topics())
        doomed = [name for name in names if name in present]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def valid_cluster_id(text: str) -> bool:
    """True for an id ``kafka-storage format -t`` takes: Kafka's Uuid text form (url-safe base64 of 16 bytes,
    unpadded, 22 characters) that does not start with ``-``, which the tool would read as an option."""
    if len(text) != 22 or text.startswith("-"):
        return False
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 16 and base64.urlsafe_b64encode(raw).decode().rstrip("=") == text


def new_cluster_id(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A random KRaft cluster id. One in 64 encodings of 16 random bytes starts with ``-``; like Kafka's own
    ``Uuid.randomUuid`` we draw again rather than hand the storage tool something it parses as an option."""
    while True:
        candidate = base64.urlsafe_b64encode(random_bytes(16)).decode().rstrip("=")
        if valid_cluster_id(candidate):
            return candidate


def stored_cluster_id(path: Path, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """The cluster id kept in ``path``, or a new one written there when the file is missing or holds an id the
    storage tool refuses (such as one starting with ``-`` from an older infra.sh, which failed every start)."""
    try:
        current = path.read_text().strip()
    except FileNotFoundError:
        current = ""
    if valid_cluster_id(current):
        return current
    fresh = new_cluster_id(random_bytes)
    path.write_text(fresh + "\n")
    return fresh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m switchboard_platform.kafka_admin")
    sub = parser.add_subparsers(dest="command", required=True)
    ensure = sub.add_parser("ensure-topics", help="create the contract's topics (idempotent)")
    ensure.add_argument("--bootstrap", default="127.0.0.1:9092")
    ensure.add_argument("--namespace", default="")
    ensure.add_argument("--replication-factor", type=int, default=1)
    cluster = sub.add_parser(
        "cluster-id", help="print the KRaft cluster id kept in FILE (created when needed)"
    )
    cluster.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "cluster-id":
        print(stored_cluster_id(args.file))  # noqa: T201
        return 0
    try:
        result = asyncio.run(
            ensure_topics(args.bootstrap, args.namespace, replication_factor=args.replication_factor)
        )
    except (KafkaError, OSError) as exc:
        print(f"ensure-topics against {args.bootstrap} failed: {exc!r}", file=sys.stderr)  # noqa: T201
        return 1
    for name, state in sorted(result.items()):
        print(f"{state:8} {name}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
