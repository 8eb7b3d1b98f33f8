"""The soak's receiver: the endpoints the dispatcher delivers to, as their own process on 127.0.0.1.

Each path plays one kind of endpoint, configured by a JSON file (``--config``):
``{path: {"secret": whsec_… | null, "bearer": token | null, "fail_pct": 0..100 | "always"}}``.

- Every request is authenticated first: the Standard Webhooks signature with ``secret``, or the
  ``Authorization: Bearer`` the dispatcher sends an integration's outgoing webhook. A failure is a 401 and is
  counted (the soak fails on any).
- ``fail_pct``: the first attempt of about that share of deliveries gets a 503, and of those about the same
  share fail their second attempt too; the third attempt always succeeds. Which ones is decided by a hash of
  the ``webhook-id``, so the dispatcher's retries are exercised and every delivery still arrives.
  ``"always"`` answers 500 to everything (an endpoint whose deliveries end in the dead-letter topic).
- What is kept per path: the ``webhook-id`` of every 2xx answer with how many times it came (duplicates), and
  counters. ``GET /_soak/stats`` returns the counters, ``GET /_soak/delivered`` the ids.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from bench.dispatch.receiver import serve_app
from switchboard_contracts.signing import SignatureError, verify_standard


class Endpoints:
    def __init__(self, config: dict[str, dict[str, Any]]) -> None:
        self.config = config
        #: path -> webhook-id -> 2xx answers
        self.delivered: dict[str, Counter[str]] = defaultdict(Counter)
        #: path -> webhook-id -> requests so far (to script which attempt fails)
        self.attempts: dict[str, Counter[str]] = defaultdict(Counter)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)

    def _authentic(self, endpoint: dict[str, Any], request: web.Request, body: bytes) -> bool:
        if endpoint.get("secret"):
            try:
                verify_standard([endpoint["secret"]], request.headers, body)
            except SignatureError:
                return False
            return True
        expected = f"Bearer {endpoint.get('bearer') or ''}".encode()
        return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected)

    @staticmethod
    def _fails(webhook_id: str, attempt: int, fail_pct: int) -> bool:
        if attempt > 2:
            return False
        digest = hashlib.sha256(f"{webhook_id}|{attempt}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 100 < fail_pct

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        counts = self.counts[path]
        counts["requests"] += 1
        endpoint = self.config.get(path)
        if endpoint is None or not self._authentic(endpoint, request, body):
            counts["unauthenticated"] += 1
            return web.Response(status=401, text="bad signature")
        webhook_id = request.headers.get("webhook-id", "")
        self.attempts[path][webhook_id] += 1
        attempt = self.attempts[path][webhook_id]
        fail = endpoint.get("fail_pct", 0)
        if fail == "always" or (fail and self._fails(webhook_id, attempt, int(fail))):
            counts["failed"] += 1
            return web.Response(status=500 if fail == "always" else 503, text="try again")
        counts["ok"] += 1
        self.delivered[path][webhook_id] += 1
        return web.Response(text="ok")

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response({path: dict(counter) for path, counter in self.counts.items()})

    async def delivered_ids(self, _: web.Request) -> web.Response:
        return web.json_response({path: dict(counter) for path, counter in self.delivered.items()})


def build_app(endpoints: Endpoints) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/_soak/stats", endpoints.stats)
    app.router.add_get("/_soak/delivered", endpoints.delivered_ids)
    app.router.add_post("/{path:.*}", endpoints.hook)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak.receiver", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="JSON file: {path: endpoint}")
    parser.add_argument("--max-seconds", type=float, default=3 * 3600, help="stop by itself after this long")
    args = parser.parse_args(argv)
    config: dict[str, dict[str, Any]] = json.loads(args.config.read_text())
    uvloop.run(serve_app(build_app(Endpoints(config)), args.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
