"""HTTP ceilings: a minimal client loop POSTing pre-signed ~1 KB webhook requests to the benchmark receiver,
with no Kafka — what the dispatcher's HTTP side could reach at best on this machine.

One process per run (``python -m bench.dispatch.baselines --client aiohttp --concurrency 32 ...``), printing
one JSON object; by default on the event loop the dispatcher runs on under uvicorn (uvloop), ``--loop asyncio``
for the standard library's loop. Clients:

- ``aiohttp``: ``aiohttp.ClientSession`` directly (the ceiling the ratios are taken against);
- ``httpx``: plain ``httpx.AsyncClient`` (its own httpcore transport);
- ``httpx-aiohttp``: ``httpx.AsyncClient`` over ``httpx_aiohttp.AiohttpTransport`` (the transport the dispatcher used before it moved to aiohttp);
- ``sender``: the dispatcher's own ``HttpSender`` (aiohttp plus its SSRF-checking resolver, timeout and
  bounded response read), isolating the dispatcher's HTTP cost from its Kafka pipeline;
- ``sender-reqwest``: the candidate evaluated for issue #15 and not adopted (``bench/dispatch/reqwest_sender.py``:
  the same contract over pyreqwest, each host pinned to its checked address);
- Rust-backed clients from PyPI, evaluated as candidates for the sender (issue #15): ``pyreqwest`` (reqwest
  on its own Tokio runtime thread, awaited from asyncio), ``pyreqwest-pinned`` (the same, the way an
  SSRF-keeping sender would have to use it: the benchmark host mapped to the checked address with the
  client builder's static ``resolve``, no redirects, a per-request timeout and a bounded streamed read),
  ``rnet`` (reqwest fork, native async) and ``httpr`` (reqwest, blocking calls in a thread pool).

The requests are built by the dispatcher's own ``build_request`` (same body shape, same headers, signed once
up front), so the receiver does exactly the work a dispatcher delivery costs it. Every run stops after
``--seconds`` or ``--max-requests``, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import uvloop
from httpx_aiohttp import AiohttpTransport

from bench.common import BENCH_HOST, percentiles, require_loopback
from bench.dispatch.common import EVENT_TYPE, event_data
from bench.dispatch.reqwest_sender import ReqwestSender
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.adapters.http import RESPONSE_BODY_LIMIT, HttpSender, policy_from
from switchboard_dispatcher.domain.payloads import build_request
from switchboard_dispatcher.domain.targets import Target
from switchboard_platform.netsafety import overriding_resolver

CLIENTS = (
    "aiohttp",
    "httpx-aiohttp",
    "httpx",
    "sender",
    "sender-reqwest",
    "pyreqwest",
    "pyreqwest-pinned",
    "rnet",
    "httpr",
)
Post = Callable[[bytes, dict[str, str]], Awaitable[int]]


def presigned(url: str, secret: str, body_bytes: int, count: int = 64) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` distinct requests (distinct webhook-ids), signed now; the run cycles through them."""
    target = Target(kind="webhook", id="baseline", tenant_id="bench", url=url, secrets=(secret,))
    requests = []
    for seq in range(count):
        event = CloudEvent(
            source="//bench",
            type=EVENT_TYPE,
            tenant="bench",
            data=event_data(seq, "baseline", time.time(), body_bytes),
        )
        requests.append(build_request(target, event, f"msg_baseline{seq:06d}", 1))
    return requests


async def make_post(client: str, url: str, concurrency: int, stack: AsyncExitStack) -> Post:
    if client == "aiohttp":
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
        )

        async def post_aiohttp(body: bytes, headers: dict[str, str]) -> int:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

        return post_aiohttp
    if client in ("httpx", "httpx-aiohttp"):
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        transport = (
            AiohttpTransport(
                client=lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
            )
            if client == "httpx-aiohttp"
            else None
        )
        http = await stack.enter_async_context(
            httpx.AsyncClient(limits=limits, transport=transport, trust_env=False)
        )

        async def post_httpx(body: bytes, headers: dict[str, str]) -> int:
            response = await http.post(url, content=body, headers=headers)
            return response.status_code

        return post_httpx
    if client in ("sender", "sender-reqwest"):
        sender = (HttpSender if client == "sender" else ReqwestSender)(
            policy_from(allow_loopback=True, allow_private=False),
            overriding_resolver({BENCH_HOST: "127.0.0.1"}),
            max_connections=concurrency,
            max_per_host=concurrency,
        )
        await sender.start()
        stack.push_async_callback(sender.close)

        async def post_sender(body: bytes, headers: dict[str, str]) -> int:
            return (await sender.send(url, body, headers, 30.0)).status

        return post_sender
    if client in ("pyreqwest", "pyreqwest-pinned", "rnet", "httpr"):
        return await make_rust_post(client, url, concurrency, stack)
    raise ValueError(f"unknown client {client!r}; choose from {', '.join(CLIENTS)}")


async def make_rust_post(client: str, url: str, concurrency: int, stack: AsyncExitStack) -> Post:
    """The Rust-backed candidates, each configured as a sender would be: no redirects, no cookie store."""
    if client.startswith("pyreqwest"):
        from pyreqwest.client import ClientBuilder

        builder = ClientBuilder().follow_redirects(False).max_connections(concurrency)
        pinned = client == "pyreqwest-pinned"
        if pinned:
            # What a sender keeping the SSRF guarantee needs: the name mapped to the address just checked.
            parts = urlsplit(url)
            builder = builder.resolve(parts.hostname or "", "127.0.0.1", parts.port or 80)
        reqwest = await stack.enter_async_context(builder.build())
        timeout = timedelta(seconds=30)

        async def post_pyreqwest(body: bytes, headers: dict[str, str]) -> int:
            request = reqwest.post(url).headers(headers).body_bytes(body)
            if not pinned:
                response = await request.build().send()
                return response.status
            async with request.timeout(timeout).build_streamed() as streamed:
                await streamed.body_reader.read(RESPONSE_BODY_LIMIT)
                return streamed.status

        return post_pyreqwest
    if client == "rnet":
        import rnet

        rnet_client = rnet.Client(allow_redirects=False, cookie_store=False, pool_max_size=concurrency)

        async def post_rnet(body: bytes, headers: dict[str, str]) -> int:
            response = await rnet_client.post(url, body=body, headers=headers, timeout=30)
            await response.bytes()
            status: int = response.status_code.as_int()
            await response.close()
            return status

        return post_rnet
    import httpr

    httpr_client = httpr.AsyncClient(
        follow_redirects=False, cookie_store=False, timeout=30, max_concurrency=concurrency
    )
    stack.push_async_callback(httpr_client.aclose)

    async def post_httpr(body: bytes, headers: dict[str, str]) -> int:
        response = await httpr_client.post(url, content=body, headers=headers)
        return response.status_code

    return post_httpr


async def drive(
    post: Post,
    requests: list[tuple[bytes, dict[str, str]]],
    concurrency: int,
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    """``concurrency`` workers POST back to back until the deadline or the request budget is spent."""
    issued = ok = failed = errors = 0
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal issued, ok, failed, errors
        while issued < max_requests and time.perf_counter() < deadline:
            body, headers = requests[issued % len(requests)]
            issued += 1
            sent = time.perf_counter()
            try:
                status = await post(body, headers)
            except Exception:  # a failed request is counted, never retried; the loop stays bounded
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)
            if status == 200:
                ok += 1
            else:
                failed += 1

    cpu_started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": issued,
        "ok": ok,
        "non_200": failed,
        "errors": errors,
        "seconds": elapsed,
        "req_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "client_cpu_s": time.process_time() - cpu_started,
        "client_cpu_us_per_request": (time.process_time() - cpu_started) / max(ok, 1) * 1e6,
        "latency_ms": {k: v * 1000 for k, v in percentiles(latencies).items()},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    requests = presigned(args.url, args.secret, args.body_bytes)
    async with AsyncExitStack() as stack:
        post = await make_post(args.client, args.url, args.concurrency, stack)
        # Warm-up (connections opened, code paths imported) is not measured.
        await drive(post, requests, args.concurrency, args.warmup_seconds, args.concurrency * 20)
        result = await drive(post, requests, args.concurrency, args.seconds, args.max_requests)
    return {
        "client": args.client,
        "concurrency": args.concurrency,
        "body_bytes": len(requests[0][0]),
        "loop": args.loop,
        **result,
        # The whole process (imports and warm-up too), so the driver can account for every core used.
        "process_cpu_s": time.process_time(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch.baselines", description=__doc__)
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument("--url", required=True, help="the receiver's baseline URL (loopback only)")
    parser.add_argument("--secret", required=True, help="the whsec_ secret the receiver holds for the URL")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured duration cap")
    parser.add_argument("--max-requests", type=int, default=60_000, help="measured request cap")
    parser.add_argument("--warmup-seconds", type=float, default=0.5)
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    require_loopback("--url", args.url)
    result = uvloop.run(run(args)) if args.loop == "uvloop" else asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
