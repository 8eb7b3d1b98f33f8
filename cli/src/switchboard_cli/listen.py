"""``switchboard listen``: a webhook inbox on loopback, in the manner of ``stripe listen``.

It registers a webhook for the API key's tenant pointing at itself (or uses ``--webhook ID``), learns the
signing secret from the registry, and prints one line per delivery with its signature checked. With
``--forward-to`` each delivery is also passed on, headers and body unchanged, to the developer's own app, and
the app's answer goes back to the dispatcher (so a 500 there is retried by the dispatcher, or by hand with
``switchboard redeliver``). The webhook it registered is deleted when it exits.

"Ready" means the dispatcher can reach the inbox: a new webhook becomes known to the dispatcher through the
config topic, a moment after the registry answers. Until a test event (``/test``) has arrived the inbox is not
ready; such probe deliveries are neither printed nor counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from switchboard_cli.client import Api, ApiError, CliError
from switchboard_cli.inbox import Delivery, Forwarded, request_fields, signature_problem
from switchboard_cli.output import note
from switchboard_contracts.events import EventType

LOOPBACK = "127.0.0.1"
#: Headers that describe one HTTP hop, not the delivery: never forwarded or relayed.
_HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"}
)
#: The dispatcher waits up to 30 s per attempt (a webhook's default ``timeout_seconds``).
FORWARD_TIMEOUT_S = 30.0
#: How long one probe is awaited before another is sent.
PROBE_WAIT_S = 1.0
PROBE_DEADLINE_S = 60.0


@dataclass(frozen=True)
class ListenOptions:
    events: list[str]
    webhook_id: str | None = None
    forward_to: str | None = None
    count: int | None = None
    timeout_s: float | None = None
    port: int = 0
    json_lines: bool = False
    ready_file: Path | None = None
    print_secret: bool = False


class Inbox:
    """The HTTP handler: verify, forward, answer, report."""

    def __init__(self, secrets: list[str], options: ListenOptions, api: Api, webhook_id: str) -> None:
        self.secrets = secrets
        self.options = options
        self.api = api
        self.webhook_id = webhook_id
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.deliveries: list[Delivery] = []
        #: Probes sent before this time (whole seconds, as the registry stamps ``sentAt``) are not reported.
        self.probes_until: str | None = None
        self._forward = httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S)

    async def close(self) -> None:
        await self._forward.aclose()

    def _is_probe(self, fields: dict[str, Any]) -> bool:
        payload = fields["payload"]
        if fields["event"] != EventType.WEBHOOK_TEST or not isinstance(payload, dict):
            return False
        data = payload.get("data")
        sent_at = data.get("sentAt") if isinstance(data, dict) else None
        if not self.ready.is_set():
            return True
        return self.probes_until is not None and isinstance(sent_at, str) and sent_at <= self.probes_until

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        received_at = datetime.now(UTC)
        body = await request.read()
        headers = dict(request.headers)
        fields = request_fields(headers, body)
        if self._is_probe(fields):
            self.ready.set()
            return web.Response(status=200, text="ok")
        problem = await self._verify(headers, body)
        forwarded: Forwarded | None = None
        if self.options.forward_to:
            forwarded, response = await self._pass_on(request, headers, body)
        else:
            response = web.json_response(
                {"received": True} if problem is None else {"error": "signature verification failed"},
                status=200 if problem is None else 401,
            )
        delivery = Delivery(
            received_at=received_at,
            problem=problem,
            latency_ms=(time.monotonic() - started) * 1000,
            status=response.status,
            forwarded=forwarded,
            **fields,
        )
        self._report(delivery)
        return response

    async def _verify(self, headers: dict[str, str], body: bytes) -> str | None:
        problem = signature_problem(self.secrets, headers, body)
        if problem is None:
            return None
        # The secret may have been rotated since start (switchboard webhooks rotate): ask once more.
        with contextlib.suppress(CliError):
            webhook = await asyncio.to_thread(self.api.data, "GET", f"/api/webhooks/{self.webhook_id}")
            if webhook["secret"] not in self.secrets:
                self.secrets = [webhook["secret"], *self.secrets]
                return signature_problem(self.secrets, headers, body)
        return problem

    async def _pass_on(
        self, request: web.Request, headers: dict[str, str], body: bytes
    ) -> tuple[Forwarded, web.Response]:
        url = str(self.options.forward_to)
        sent = {name: value for name, value in headers.items() if name.lower() not in _HOP_HEADERS}
        try:
            answer = await self._forward.request(request.method, url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            reason = (
                "timed out"
                if isinstance(exc, httpx.TimeoutException)
                else f"cannot connect ({type(exc).__name__})"
            )
            return Forwarded(url, None, reason), web.json_response(
                {"error": f"forward failed: {reason}"}, status=502
            )
        relayed = {name: value for name, value in answer.headers.items() if name.lower() not in _HOP_HEADERS}
        relayed.pop("content-encoding", None)  # httpx already decoded the body
        return Forwarded(url, answer.status_code), web.Response(
            status=answer.status_code, body=answer.content, headers=relayed
        )

    def _report(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        line = (
            json.dumps(delivery.record(), ensure_ascii=False) if self.options.json_lines else delivery.line()
        )
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if self.options.count is not None and len(self.deliveries) >= self.options.count:
            self.done.set()


def _loopback_port(url: str) -> int:
    parsed = httpx.URL(url)
    if parsed.host not in (LOOPBACK, "localhost", "::1") or parsed.scheme != "http":
        raise CliError(
            f"the webhook delivers to {url}, not to this machine: point it at http://{LOOPBACK}:PORT/"
        )
    return parsed.port or 80


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}") from None
    return sock


async def _wait(event: asyncio.Event, timeout_s: float | None) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


class Listener:
    """One run of ``switchboard listen``: set up, wait for deliveries, clean up. ``run`` returns the exit code."""

    def __init__(self, api: Api, options: ListenOptions) -> None:
        self.api = api
        self.options = options
        self.deadline = None if options.timeout_s is None else time.monotonic() + options.timeout_s
        self.created: str | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.api.data, method, path, **kwargs)

    async def run(self) -> int:
        options = self.options
        port = options.port
        existing = None
        if options.webhook_id:
            existing = await self.call("GET", f"/api/webhooks/{options.webhook_id}")
            port = port or _loopback_port(existing["url"])
        sock = _bind(port)
        url = f"http://{LOOPBACK}:{sock.getsockname()[1]}/"
        runner: web.AppRunner | None = None
        inbox: Inbox | None = None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            webhook = existing or await self.register(url)
            inbox = Inbox([webhook["secret"]], options, self.api, webhook["_id"])
            app = web.Application()
            app.router.add_route("*", "/{path:.*}", inbox.handle)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            if existing is None:
                await self.probe(inbox, webhook["_id"], stop)
            else:
                inbox.ready.set()
            if stop.is_set():
                return 0
            self.announce(webhook, url)
            return await self.serve(inbox, stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            if options.ready_file is not None:
                options.ready_file.unlink(missing_ok=True)
            if runner is not None:
                await runner.cleanup()
            else:
                sock.close()
            if inbox is not None:
                await inbox.close()
            await self.unregister()

    async def register(self, url: str) -> dict[str, Any]:
        body = {
            "name": f"switchboard listen on {socket.gethostname()} (pid {os.getpid()})",
            "url": url,
            "description": "Created by `switchboard listen`; deleted when it exits",
            "events": self.options.events,
        }
        try:
            webhook: dict[str, Any] = await self.call("POST", "/api/webhooks", json=body)
        except ApiError as exc:
            if "invalid_url" not in str(exc):
                raise
            raise CliError(
                f"{exc} (listen needs a development installation and a --development tenant)"
            ) from None
        self.created = webhook["_id"]
        return webhook

    async def unregister(self) -> None:
        if self.created is None:
            return
        try:
            await self.call("DELETE", f"/api/webhooks/{self.created}")
            note(f"Deleted webhook {self.created}.")
        except CliError as exc:
            note(
                f"warning: could not delete webhook {self.created} ({exc}); `switchboard webhooks delete {self.created}`"
            )

    async def probe(self, inbox: Inbox, webhook_id: str, stop: asyncio.Event) -> None:
        """Send test events until one arrives (the dispatcher knows the webhook and can reach the inbox)."""
        remaining = self.remaining()
        deadline = time.monotonic() + (
            PROBE_DEADLINE_S if remaining is None else min(remaining, PROBE_DEADLINE_S)
        )
        while not stop.is_set():
            await self.call("POST", f"/api/webhooks/{webhook_id}/test")
            inbox.probes_until = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if await _wait(inbox.ready, min(PROBE_WAIT_S, max(0.0, deadline - time.monotonic()))):
                return
            if time.monotonic() >= deadline:
                raise CliError(await self.why_unreached(webhook_id))

    async def why_unreached(self, webhook_id: str) -> str:
        message = "the dispatcher did not reach the inbox with a test event"
        with contextlib.suppress(CliError, KeyError, IndexError, TypeError):
            latest = (
                await self.call(
                    "GET",
                    f"/api/webhooks/{webhook_id}/deliveries",
                    params={"event_type": EventType.WEBHOOK_TEST},
                )
            )[0]
            if latest.get("lastError"):
                return f"{message}: {latest['lastError']}"
        return f"{message} (is the dispatcher running, and does it allow loopback URLs?)"

    def announce(self, webhook: dict[str, Any], url: str) -> None:
        events = ",".join(webhook["events"])
        line = f"Ready! Webhook {webhook['_id']} delivers {events} to {url}"
        if self.options.forward_to:
            line += f", forwarded to {self.options.forward_to}"
        if self.options.print_secret:
            line += f"; signing secret {webhook['secret']}"
        note(line + " (Ctrl-C to quit)")
        if self.options.ready_file is not None:
            self.options.ready_file.write_text(json.dumps({"webhook": webhook["_id"], "url": url}) + "\n")

    async def serve(self, inbox: Inbox, stop: asyncio.Event) -> int:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(inbox.done.wait())]
        try:
            await asyncio.wait(waiters, timeout=self.remaining(), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        failed = sum(not delivery.verified for delivery in inbox.deliveries)
        received = len(inbox.deliveries)
        if self.options.count is not None and received < self.options.count and not stop.is_set():
            raise CliError(
                f"timed out after {self.options.timeout_s:g} s: {received} of {self.options.count} deliveries arrived"
            )
        if failed:
            note(f"{failed} of {received} deliveries failed signature verification")
            return 1
        return 0


def listen(api: Api, options: ListenOptions) -> int:
    return asyncio.run(Listener(api, options).run())
