"""The benchmark's webhook receiver: an aiohttp server on 127.0.0.1 that verifies every request's Standard
Webhooks signature and records (phase, path, webhook-id, receive time, publish time).

It runs as its own process (``python -m bench.dispatch.receiver``) so its CPU is not in the driver's or the
dispatcher's event loop, and it serves every phase: the HTTP ceilings and the dispatcher runs hit the same code.
Control routes under ``/_bench/`` report and reset what was recorded. It prints ``READY <port>`` once it
listens, and stops on SIGTERM/SIGINT or by itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from switchboard_contracts.signing import SignatureError, verify_standard

#: Bounds the receiver's memory whatever a run sends; past it requests are still verified and counted.
MAX_RECORDS = 2_000_000

Record = tuple[str, str, str, float, float | None]


class Recorder:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.records: list[Record] = []
        self.requests = 0
        self.rejected = 0
        self.unparsed = 0
        self.span_exports = 0
        self.span_bytes = 0

    def reset(self) -> None:
        self.records = []
        self.requests = self.rejected = self.unparsed = self.span_exports = self.span_bytes = 0

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        received = time.time()
        self.requests += 1
        secret = self.secrets.get(request.path)
        try:
            if secret is None:
                raise SignatureError("no secret for this path")
            verify_standard([secret], request.headers, body)
        except SignatureError:
            self.rejected += 1
            return web.Response(status=401, text="bad signature")
        try:
            data = json.loads(body)["data"]
            phase, published = str(data["phase"]), float(data["published_at"])
        except (ValueError, KeyError, TypeError):
            self.unparsed += 1
            phase, published = "", None
        if len(self.records) < MAX_RECORDS:
            self.records.append((phase, request.path, request.headers["webhook-id"], received, published))
        return web.Response(text="ok")

    async def stats(self, request: web.Request) -> web.Response:
        phase = request.query.get("phase")
        selected = [r for r in self.records if r[0] == phase] if phase is not None else self.records
        return web.json_response(
            {
                "requests": self.requests,
                "rejected": self.rejected,
                "unparsed": self.unparsed,
                "recorded": len(selected),
                "unique": len({r[2] for r in selected}),
                "span_exports": self.span_exports,
                "span_bytes": self.span_bytes,
            }
        )

    async def records_of(self, request: web.Request) -> web.Response:
        phase = request.query.get("phase")
        selected = [r for r in self.records if phase is None or r[0] == phase]
        return web.json_response([[path, wid, at, pub] for _, path, wid, at, pub in selected])

    async def spans(self, request: web.Request) -> web.Response:
        """An OTLP/HTTP trace endpoint for the traced throughput phase: takes every export, keeps nothing."""
        self.span_exports += 1
        self.span_bytes += len(await request.read())
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def reset_route(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


def build_app(recorder: Recorder) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/_bench/stats", recorder.stats)
    app.router.add_get("/_bench/records", recorder.records_of)
    app.router.add_post("/_bench/reset", recorder.reset_route)
    # Before the catch-all: routes match in the order they were added.
    app.router.add_post("/v1/traces", recorder.spans)
    app.router.add_post("/{path:.*}", recorder.hook)
    return app


async def serve(secrets: dict[str, str], max_seconds: float) -> None:
    await serve_app(build_app(Recorder(secrets)), max_seconds)


async def serve_app(app: web.Application, max_seconds: float) -> None:
    """Serve ``app`` on a free 127.0.0.1 port, print ``READY <port>``, stop on SIGTERM/SIGINT or after
    ``max_seconds`` (also the soak's receiver, bench/soak/receiver.py)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock, backlog=1024)
    await site.start()
    print(f"READY {sock.getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except TimeoutError:
        print(f"receiver: stopping after --max-seconds {max_seconds:g}", file=sys.stderr)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch.receiver", description=__doc__)
    parser.add_argument("--secrets", type=Path, required=True, help="JSON file: {path: whsec_ secret}")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop by itself after this long")
    args = parser.parse_args(argv)
    secrets: dict[str, Any] = json.loads(args.secrets.read_text())
    uvloop.run(serve({str(k): str(v) for k, v in secrets.items()}, args.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
