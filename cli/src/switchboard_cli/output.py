"""What a command prints: JSON for scripts, a table for people, or one bare value with ``--quiet``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _console() -> Console:
    # Soft wrap off and no width limit when piped: ids and URLs must stay copyable.
    return Console(soft_wrap=not sys.stdout.isatty(), highlight=False)


def show(data: Any, output: Output, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """``data`` (an object or a list of objects) as JSON, or as a table of ``columns`` (all keys when None)."""
    if output is Output.JSON:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    console = _console()
    if isinstance(data, list):
        keys = list(columns or (data[0].keys() if data else []))
        table = Table(*keys, title=title, title_justify="left")
        for item in data:
            table.add_row(*(_cell(item.get(key)) for key in keys))
        if not data:
            console.print(f"{title}: none" if title else "none")
            return
        console.print(table)
        return
    table = Table("field", "value", show_header=False, title=title, title_justify="left")
    for key, value in data.items():
        if columns is None or key in columns:
            table.add_row(key, _cell(value))
    console.print(table)


def bare(value: Any) -> None:
    """One value alone on a line (``--quiet``), for ``$(…)`` in shell scripts."""
    sys.stdout.write(f"{value}\n")


def note(message: str) -> None:
    """A remark for the person at the terminal, on stderr so it never mixes with the data on stdout."""
    sys.stderr.write(message + "\n")
