"""Structured JSON logs: one object per line with the service, level, logger and any ``extra`` fields.

Every service's lines carry the same correlation fields when they are known: ``tenant``, ``event_id`` and
``delivery_id`` of the unit of work being handled (bound by ``switchboard_platform.telemetry``'s scopes, so a
line logged anywhere below a consumer or a delivery attempt has them), and ``trace_id`` / ``span_id`` of the
current span when tracing is on. Callers may pass more (or the same, which wins) through ``extra=``.

Secrets are never logged, and ``redact`` exists for the rare message that must mention a credential-bearing
value (a URL with a password).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from switchboard_platform import telemetry

#: Record attributes that are not fields of the line (uvicorn's ``color_message`` repeats the message in ANSI).
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<password>[^@/\s]+)@", re.I
)


def redact(text: str) -> str:
    """Hide passwords in URLs (``mongodb://user:pw@host`` → ``mongodb://user:***@host``)."""
    return _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **telemetry.log_fields(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RepeatFilter(logging.Filter):
    """Let a warning or error through once per ``window_s``; identical ones in between are counted, and the next
    one to pass says how many were dropped (``suppressed``).

    Why: while Kafka is unreachable, aiokafka retries connecting without a pause whenever the connection is
    refused (aio-libs/aiokafka#496) and logs two errors per try — ~7,000 lines a second from one dispatcher
    in the Kafka-restart test. One line per message per window says the same thing.
    """

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window_s:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        if len(self._seen) >= 1000:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            record.suppressed = seen[1]
        return True


#: Libraries that install plain-text handlers of their own (uvicorn's start-up lines, FastStream's subscriber
#: lines): their records go to the root's JSON handler instead, so every line of a service is one JSON object.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "faststream", "faststream.access")
#: uvicorn's access log names the request's raw path and query, where secrets can travel (Chatwoot's webhook
#: path token); the request metrics and spans record the route template, status and latency instead.
_ACCESS_LOG = "uvicorn.access"


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON. Idempotent; safe to call from every app factory (uvicorn has
    configured its loggers by then: ``--factory`` builds the app after)."""
    for name in _OWN_HANDLERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    access = logging.getLogger(_ACCESS_LOG)
    access.handlers.clear()
    access.propagate = False
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_switchboard", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler._switchboard = True  # type: ignore[attr-defined]
        handler.addFilter(RepeatFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(service))
    root.setLevel(level.upper())
