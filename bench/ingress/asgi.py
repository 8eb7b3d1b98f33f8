"""CPU per ``POST /v1/events`` inside ingress's ASGI app: no sockets, no uvicorn, no Kafka.

The real app from ``create_app`` (every middleware, route and dependency), called directly with the scope,
``receive`` and ``send`` uvicorn would pass, the ≈1 KB structured CloudEvent bench/pipeline posts by 32
concurrent clients, and uvicorn's ``ProxyHeadersMiddleware`` around it as uvicorn adds it. Events go through
ingress's own ``BatchedKafkaEventSink`` and ``BatchingProducer`` (records into aiokafka's batch builder, one
batch per linger) to a producer that acknowledges each batch at once: what is measured is ingress's own CPU
per request — routing, middleware, auth, parsing, batching, the 202, the metrics — without uvicorn's HTTP
parsing or aiokafka's network I/O.

It prints CPU µs per request (process time, best and median of ``--rounds`` rounds); ``--profile`` adds a
cProfile of one round with call counts per request. Alternate runs of two checkouts (A/B/A/B) to compare them:
the machine is shared and noisy.

    uv run python -m bench.ingress.asgi --requests 20000 --rounds 5
    uv run python -m bench.ingress.asgi --profile 25
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import statistics
import time
from typing import Any

import uvloop
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bench.dispatch.common import structured_event
from switchboard_contracts.topics import Topic
from switchboard_ingress.main import create_app
from switchboard_ingress.service import BatchedKafkaEventSink
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.app import settle_garbage_collector
from switchboard_platform.kafka_batching import BatchingProducer
from switchboard_platform.settings import Environment

BEARER = "bench-events-token-0123456789abcdef"


class AcknowledgingProducer:
    """What ``BatchingProducer`` asks of aiokafka's producer, with every batch acknowledged at once: aiokafka's
    own batch builder (never started, so it connects nowhere), no network."""

    def __init__(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9", acks="all", enable_idempotence=True)
        self.batches = 0

    def create_batch(self) -> Any:
        return self.producer.create_batch()

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def send_batch(self, builder: Any, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.batches += 1
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


def batching_sink(settings: IngressSettings) -> BatchedKafkaEventSink:
    """Ingress's own sink (``BatchedKafkaEventSink`` and its ``BatchingProducer``) over that producer."""
    sink = BatchedKafkaEventSink(settings, settings.topic(Topic.PLATFORM_EVENTS), settings.publish_timeout_s)
    sink._batching = BatchingProducer(AcknowledgingProducer(), linger_s=sink.linger_s)
    return sink


def bodies(count: int, body_bytes: int) -> list[bytes]:
    """Distinct ≈1 KB events, as bench/pipeline's ``Publisher`` posts them."""
    return [
        json.dumps(structured_event("message.created", "bench", "asgi", seq, body_bytes)).encode()
        for seq in range(count)
    ]


def scope_for(body: bytes) -> dict[str, Any]:
    """The scope uvicorn (httptools) builds for an aiohttp client's POST."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8001),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": "/v1/events",
        "raw_path": b"/v1/events",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8001"),
            (b"authorization", f"Bearer {BEARER}".encode()),
            (b"content-type", b"application/json"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"user-agent", b"Python/3.11 aiohttp/3.12"),
            (b"content-length", str(len(body)).encode()),
        ],
        "state": {},
    }


async def one_request(app: Any, body: bytes) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # uvicorn's receive blocks until the client disconnects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope_for(body), receive, send)
    return status


async def measure(args: argparse.Namespace) -> None:
    settings = IngressSettings(environment=Environment.TEST, events_token=SecretStr(BEARER))
    fastapi_app = create_app(settings)
    fastapi_app.state.gateway.sink = batching_sink(settings)
    app = ProxyHeadersMiddleware(fastapi_app, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    payloads = bodies(1000, args.body_bytes)
    for body in payloads[:200]:  # warm-up: the middleware stack is built on the first request
        assert await one_request(app, body) == 202
    settle_garbage_collector()  # as the lifespan does once the service has started

    async def client(first: int, count: int) -> None:
        for i in range(first, first + count):
            status = await one_request(app, payloads[i % len(payloads)])
            if status != 202:
                raise SystemExit(f"POST /v1/events answered {status}")

    async def round_(count: int) -> float:
        clients: int = args.clients
        each = count // clients
        started = time.process_time()
        await asyncio.gather(*(client(n * each, each) for n in range(clients)))
        return (time.process_time() - started) / (each * clients) * 1e6

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await round_(args.requests)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(args.profile)
        print(f"(call counts are for {args.requests} requests)")
        return
    results = [await round_(args.requests) for _ in range(args.rounds)]
    print(
        f"POST /v1/events in-process: {statistics.median(results):.1f} µs CPU per request median, "
        f"{min(results):.1f} best, rounds {' '.join(f'{r:.1f}' for r in results)} "
        f"({args.requests} requests per round by {args.clients} concurrent clients, {args.body_bytes} B bodies)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (report best and median)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (bench/pipeline's count)")
    parser.add_argument("--body-bytes", type=int, default=1000, help="approximate event data size")
    parser.add_argument(
        "--profile", type=int, default=0, help="print a cProfile of one round: this many rows"
    )
    parser.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative, ncalls)")
    args = parser.parse_args()
    gc.collect()
    uvloop.run(measure(args))  # as uvicorn runs it


if __name__ == "__main__":
    main()
