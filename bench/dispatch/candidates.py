"""Candidate dispatcher factories for ``bench.dispatch.run --app`` (A/B runs of a change before adopting it).

``create_app_reqwest`` runs the dispatcher with ``ReqwestSender`` (pyreqwest) in place of the aiohttp
``HttpSender``: ``--app bench.dispatch.candidates:create_app_reqwest``.
"""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_dispatcher import main
from switchboard_dispatcher.adapters.http import ReqwestSender


def create_app_reqwest() -> FastAPI:
    setattr(main, "HttpSender", ReqwestSender)  # noqa: B010 (the module attribute the factory reads)
    return main.create_app()
