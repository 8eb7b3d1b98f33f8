"""Log lines: JSON with extras, passwords in URLs hidden, repeated warnings collapsed."""

from __future__ import annotations

import json
import logging

from switchboard_platform.logs import JsonFormatter, RepeatFilter, redact


def record(message: str, level: int = logging.ERROR, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


def test_identical_warnings_pass_once_per_window_and_then_say_how_many_were_dropped() -> None:
    now = [100.0]
    repeats = RepeatFilter(window_s=10, clock=lambda: now[0])
    first = record("Unable connect to node with id 1: [Errno 111] Connection refused")
    assert repeats.filter(first)
    dropped = [record(first.msg) for _ in range(500)]
    assert not any(repeats.filter(item) for item in dropped)
    # A different message, or a different logger, is not a repeat.
    assert repeats.filter(record("Unable to update metadata from [1]"))
    assert repeats.filter(record(first.msg, name="aiokafka.consumer"))
    # Information is never collapsed.
    assert all(repeats.filter(record("delivered", logging.INFO)) for _ in range(3))

    now[0] += 10
    later = record(first.msg)
    assert repeats.filter(later)
    assert later.suppressed == 500  # type: ignore[attr-defined]
    formatted = json.loads(JsonFormatter("dispatcher").format(later))
    assert formatted["suppressed"] == 500
    assert formatted["logger"] == "aiokafka"


def test_passwords_in_urls_are_hidden() -> None:
    assert redact("mongodb://app:s3cret@db:27017/x") == "mongodb://app:***@db:27017/x"
    line = json.loads(JsonFormatter("registry").format(record("cannot reach mongodb://app:s3cret@db/x")))
    assert "s3cret" not in line["message"]
