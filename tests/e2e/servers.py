"""Run ASGI apps under real uvicorn servers on loopback ports inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import uvicorn
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def serve(
    apps: Mapping[str, FastAPI], startup_timeout_s: float = 60.0
) -> AsyncIterator[dict[str, str]]:
    """Start every app (lifespan included) on 127.0.0.1 with an OS-chosen port; yields name → base URL."""
    servers: dict[str, uvicorn.Server] = {}
    tasks: list[asyncio.Task[None]] = []
    try:
        for name, app in apps.items():
            config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
            server = uvicorn.Server(config)
            servers[name] = server
            tasks.append(asyncio.create_task(server.serve(), name=f"uvicorn-{name}"))
        async with asyncio.timeout(startup_timeout_s):
            while not all(server.started for server in servers.values()):
                failed = [task for task in tasks if task.done()]
                if failed:
                    failed[0].result()  # raise the start-up error
                    raise RuntimeError(f"{failed[0].get_name()} exited during start-up")
                await asyncio.sleep(0.05)
        urls = {}
        for name, server in servers.items():
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            urls[name] = f"http://{host}:{port}"
        yield urls
    finally:
        for server in servers.values():
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
