"""The same-run baseline: a bare ASGI app that reads the body and answers 202 with a small JSON body — no
FastAPI, no verification, no Kafka, no MongoDB — served by the same uvicorn (uvloop + httptools) as ingress.

    uvicorn --factory bench.ingress.baseline:create_app
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
BODY = b'{"success":true,"status":"accepted","message_id":"0123456789abcdef0123456789abcdef","response":null}'


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        status = 200 if scope["path"] == "/readyz" else 202
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    return app
