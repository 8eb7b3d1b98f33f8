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
    # Piped output has no width to fit: rows stay whole, so ids and URLs can be copied and grepped.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 100_000)


def _table(*columns: str, title: str | None = None, show_header: bool = True) -> Table:
    table = Table(title=title, title_justify="left", show_header=show_header)
    for column in columns:
        table.add_column(column, overflow="fold")  # a narrow terminal wraps a value, never cuts it
    return table


def show(data: Any, output: Output, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """``data`` (an object or a list of objects) as JSON, or as a table of ``columns`` (all keys when None)."""
    if output is Output.JSON:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    console = _console()
    if isinstance(data, list):
        keys = list(columns or (data[0].keys() if data else []))
        table = _table(*keys, title=title)
        for item in data:
            table.add_row(*(_cell(item.get(key)) for key in keys))
        if not data:
            console.print(f"{title}: none" if title else "none")
            return
        console.print(table)
        return
    table = _table("field", "value", title=title, show_header=False)
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
