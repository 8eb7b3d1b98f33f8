"""Charts drawn on the server as inline SVG: no script, no CDN, readable by screen readers (a title and a
table-like description), scaling to any width (``viewBox`` with ``preserveAspectRatio="none"`` for the plot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup

WIDTH = 600
HEIGHT = 140
PAD_LEFT = 44
PAD_BOTTOM = 20
PAD_TOP = 8


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float | None


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} {unit}"


def line_chart(points: Sequence[Point], *, title: str, unit: str, y_max: float | None = None) -> Markup:
    """A line over time; gaps (None: no traffic in that slice) break the line rather than read as zero."""
    values = [point.value for point in points if point.value is not None]
    top = y_max if y_max is not None else max(values, default=0.0) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(points) - 1, 1)

    def xy(index: int, value: float) -> str:
        return f"{PAD_LEFT + index * step:.1f},{PAD_TOP + plot_h - min(value, top) / top * plot_h:.1f}"

    runs: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(xy(index, point.value))
    lines = "".join(
        f'<polyline class="line" points="{" ".join(run)}"/>'
        if len(run) > 1
        else f'<circle class="dot" cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}" r="3"/>'
        for run in runs
        if run
    )
    first, last = (points[0].at, points[-1].at) if points else (None, None)
    summary = (
        f"{title}: no traffic in this window"
        if not values
        else f"{title}: from {_fmt(min(values), unit)} to {_fmt(max(values), unit)}, latest "
        f"{_fmt(values[-1], unit)}"
    )
    axis = (
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH}" y2="{PAD_TOP + plot_h}"/>'
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end">{escape(_fmt(top, unit))}</text>'
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">{escape(_fmt(0, unit))}</text>'
    )
    if first is not None and last is not None:
        axis += (
            f'<text x="{PAD_LEFT}" y="{HEIGHT - 4}">{first:%H:%M}</text>'
            f'<text x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">{last:%H:%M} UTC</text>'
        )
    return Markup(  # noqa: S704 - every interpolated text is escaped above; the rest are numbers
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(summary)}">'
        f"<title>{escape(summary)}</title>{axis}{lines}</svg>"
    )
