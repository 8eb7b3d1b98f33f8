"""The soak's report: the summary and verdicts computed from a run's series, the JSON written to
``bench/results/``, and the chart.

    uv run python -m bench.soak.report bench/results/soak-<date>.json    # draw the chart of a recorded run again
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import percentiles, replace_between_markers
from tests.e2e.stack import SERVICES

README = Path(__file__).resolve().parents[1] / "README.md"
MARK_START = "<!-- soak-results:start -->"
MARK_END = "<!-- soak-results:end -->"

if TYPE_CHECKING:
    from bench.soak.run import Ledger, Load


# -- summary and verdicts ------------------------------------------------------------------------------------------------------


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two distinct x)."""
    if len(points) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def growth(rows: list[dict[str, Any]], key: str, name: str, load_s: float) -> dict[str, Any]:
    """The fit over the second half of the load, projected over the whole load phase."""
    half = [(r["t"], r[key][name]) for r in rows if r["phase"] == "load" and r["t"] >= load_s / 2]
    half = [(t, v) for t, v in half if v is not None]
    if not half:
        return {}
    per_s = slope(half)
    return {
        "median": round(statistics.median(v for _, v in half), 2),
        "slope_per_hour": round(per_s * 3600, 2),
        "projected_growth": round(per_s * load_s, 2),
    }


def lag_summary(rows: list[dict[str, Any]], load_s: float) -> dict[str, dict[str, Any]]:
    """Per consumer group: the largest lag, the trend over the second half of the load, the lag at the end."""
    load_rows = [r for r in rows if r["phase"] == "load"]
    groups = sorted({g for r in rows for g in r.get("consumer_lag", {})})
    return {
        g: {
            "max": max(r.get("consumer_lag", {}).get(g, 0) for r in rows),
            "end": rows[-1].get("consumer_lag", {}).get(g),
            # Records a minute by which the group fell further behind over the second half of the load: near 0
            # when it keeps up, the shortfall when it does not (informative; the verdict is the end value).
            "trend_per_min": round(
                60
                * slope(
                    [
                        (r["t"], r["consumer_lag"][g])
                        for r in load_rows
                        if r["t"] >= load_s / 2 and g in r.get("consumer_lag", {})
                    ]
                ),
                1,
            ),
        }
        for g in groups
    }


def summarize(
    rows: list[dict[str, Any]],
    load_s: float,
    load: Load,
    ledger: Ledger,
    delivered: dict[str, dict[str, int]],
    stats: dict[str, dict[str, int]],
) -> dict[str, Any]:
    load_rows = [r for r in rows if r["phase"] == "load"]
    services: dict[str, Any] = {}
    for name in (*SERVICES, "kafka", "ferretdb", "receiver", "driver"):
        series = [r["rss_mib"][name] for r in rows if name in r["rss_mib"]]
        if not series:
            continue
        memory = growth(rows, "rss_mib", name, load_s)
        fds = growth(rows, "fds", name, load_s)
        entry: dict[str, Any] = {
            "rss_mib_start": series[0],
            "rss_mib_end_of_load": load_rows[-1]["rss_mib"].get(name) if load_rows else None,
            "rss_mib_end": series[-1],
            "rss_mib_max": max(series),
            "rss_fit": memory,
            "fds_start": rows[0]["fds"].get(name),
            "fds_end": rows[-1]["fds"].get(name),
            "fds_max": max(r["fds"].get(name, 0) for r in rows),
            "fds_fit": fds,
            "cpu_cores_mean": round(
                statistics.fmean(r["cpu_cores"].get(name, 0.0) for r in load_rows[1:])
                if load_rows[1:]
                else 0,
                3,
            ),
        }
        if name in SERVICES:
            lags = [r["loop_lag_ms"][name] for r in rows if r["loop_lag_ms"].get(name) is not None]
            entry["loop_lag_ms"] = {k: round(v, 1) for k, v in percentiles(lags, (50, 99)).items()}
            rss_limit = max(16.0, 0.10 * memory.get("median", 0))
            fds_limit = max(16.0, 0.10 * fds.get("median", 0))
            entry["memory_bounded"] = memory.get("projected_growth", 0) <= rss_limit
            entry["fds_bounded"] = fds.get("projected_growth", 0) <= fds_limit
            entry["limits"] = {"rss_mib": round(rss_limit, 1), "fds": round(fds_limit, 1)}
        services[name] = entry

    consumer_lag = lag_summary(rows, load_s)

    endpoints = {}
    lost_total = 0
    duplicates_total = 0
    for path, expected in sorted(ledger.expected.items()):
        got = delivered.get(path, {})
        if path == "/dead":
            arrived = expected & ledger.dead_letters
            missing = expected - ledger.dead_letters
        else:
            arrived = expected & set(got)
            missing = expected - set(got)
        duplicates = sum(count - 1 for wid, count in got.items() if count > 1)
        lost_total += len(missing)
        duplicates_total += duplicates
        endpoints[path] = {
            "expected": len(expected),
            "arrived": len(arrived),
            "lost": len(missing),
            "lost_sample": sorted(missing)[:5],
            "duplicates": duplicates,
            "requests": stats.get(path, {}).get("requests", 0),
            "failed_on_purpose": stats.get(path, {}).get("failed", 0),
            # Deliveries of the warm-up's events (published before the ledger starts).
            "not_in_ledger": len(set(got) - expected),
        }
        if path == "/dead":
            endpoints[path]["outcome"] = "dead-lettered"
    unauthenticated = sum(v.get("unauthenticated", 0) for v in stats.values())
    v1_missing = len(load.accepted_v1 - ledger.v1_ids)
    message_gaps = sum(
        max(count - ledger.messages_per_conversation.get(conv, 0), 0)
        for conv, count in load.accepted_messages.items()
    )
    unanswered = ledger.unanswered()
    accepted_total = len(load.accepted_v1) + sum(load.accepted_messages.values())

    def mean_cores(name: str) -> float:
        values = [r["cpu_cores"][name] for r in load_rows if name in r["cpu_cores"]]
        return round(statistics.fmean(values), 3) if values else 0.0

    return {
        "load_seconds": round(load_s, 1),
        "machine_cores_mean": mean_cores("machine"),
        "other_processes_cores_mean": mean_cores("other_processes"),
        "drain_seconds": round(rows[-1]["t"] - load_s, 1) if rows else 0,
        "requests": {
            "sent": dict(load.sent),
            "skipped_at_max_in_flight": load.skipped,
            "statuses": dict(load.statuses),
            "accepted": accepted_total,
            "latency_ms": {
                kind: {k: round(v, 1) for k, v in percentiles(values, (50, 99)).items()}
                for kind, values in load.latencies.items()
            },
        },
        "events_on_platform_events": dict(ledger.events),
        "events_in": accepted_total,
        "events_out": sum(ledger.events.values()),
        "deliveries": {
            "expected": sum(e["expected"] for e in endpoints.values()),
            "arrived": sum(e["arrived"] for e in endpoints.values()),
            "duplicates": duplicates_total,
            "lost": lost_total,
            "by_endpoint": endpoints,
            "unauthenticated_requests": unauthenticated,
        },
        "ingress_lost": {"v1_events": v1_missing, "user_messages": message_gaps},
        "responder": {
            "user_messages": len(ledger.user_messages),
            "answered_or_held": len(ledger.answered & set(ledger.user_messages)),
            "handed_off_conversations": len(ledger.handed_off),
            "unanswered": unanswered,
        },
        "services": services,
        "consumer_lag": consumer_lag,
        "lost": lost_total + v1_missing + message_gaps + unanswered,
    }


def verdicts(summary: dict[str, Any]) -> dict[str, bool]:
    services = {k: v for k, v in summary["services"].items() if "memory_bounded" in v}
    return {
        "memory_bounded": all(v["memory_bounded"] for v in services.values()),
        "fds_bounded": all(v["fds_bounded"] for v in services.values()),
        "lag_returned_to_zero": bool(summary["consumer_lag"])
        and all(v["end"] == 0 for v in summary["consumer_lag"].values()),
        "nothing_lost": summary["lost"] == 0,
        "all_authenticated": summary["deliveries"]["unauthenticated_requests"] == 0,
    }


# -- chart ---------------------------------------------------------------------------------------------------------


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["series"]
    t = [r["t"] / 60 for r in rows]
    load_end = result["summary"]["load_seconds"] / 60
    fig, axes = plt.subplots(7, 1, figsize=(12, 23), sharex=True)
    summary = result["summary"]
    title = (
        f"Switchboard soak {result['started_at'][:16].replace('T', ' ')} UTC: {result['parameters']['rate']:g} "
        f"requests/s for {result['parameters']['minutes']:g} min, {summary['events_out']:,} events, "
        f"{summary['deliveries']['arrived']:,} deliveries, lost {summary['lost']}\n"
        + ", ".join(f"{k}: {'ok' if v else 'FAILED'}" for k, v in result["verdicts"].items())
    )
    fig.suptitle(title, fontsize=11)

    def lines(ax: Any, key: str, names: Iterable[str], ylabel: str, scale: float = 1.0) -> None:
        for name in names:
            ax.plot(t, [(r[key].get(name) or 0) * scale for r in rows], label=name, linewidth=1)
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left", fontsize=8, ncol=4)
        ax.grid(alpha=0.3)

    lines(axes[0], "rss_mib", SERVICES, "service RSS (MiB)")
    lines(axes[1], "rss_mib", ("kafka", "ferretdb", "receiver", "driver"), "other RSS (MiB)")
    lines(axes[2], "fds", (*SERVICES, "receiver"), "open fds")
    groups = sorted({g for r in rows for g in r.get("consumer_lag", {})})
    for g in groups:
        axes[3].plot(t, [r.get("consumer_lag", {}).get(g, 0) for r in rows], label=g, linewidth=1)
    axes[3].set_ylabel("consumer lag (records)")
    axes[3].legend(loc="upper left", fontsize=7, ncol=3)
    axes[3].grid(alpha=0.3)
    lines(axes[4], "loop_lag_ms", SERVICES, "event-loop lag, max/2 s (ms)")
    axes[4].set_yscale("symlog", linthresh=10)

    def rate(key: str, window: int = 10) -> list[float]:
        """Per second over the last ``window`` samples (the load's rotation makes single seconds bursty)."""
        values = [(r["t"], r.get(key, 0)) for r in rows]
        out = []
        for i, (now, count) in enumerate(values):
            then, before = values[max(i - window, 0)]
            out.append((count - before) / (now - then) if now > then else 0.0)
        return out

    axes[5].plot(t, rate("accepted"), label="requests accepted/s", linewidth=1)
    axes[5].plot(t, rate("delivered_ok"), label="deliveries (2xx)/s", linewidth=1)
    axes[5].plot(t, rate("endpoint_failures"), label="failed on purpose (503/500)/s", linewidth=1)
    axes[5].set_ylabel("per second (10 s average)")
    axes[5].legend(loc="upper left", fontsize=8, ncol=3)
    axes[5].grid(alpha=0.3)
    lines(axes[6], "cpu_cores", (*SERVICES, "kafka", "ferretdb", "other_processes"), "CPU (cores)")
    axes[6].set_xlabel("minutes (drain after the dashed line)")
    for ax in axes:
        ax.axvline(load_end, color="grey", linestyle="--", linewidth=0.8)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _signed(value: float) -> str:
    return "0" if abs(value) < 0.05 else f"{value:+.1f}"


def table(result: dict[str, Any], name: str) -> str:
    """The recorded run as Markdown, for bench/README.md."""
    summary, parameters = result["summary"], result["parameters"]
    machine = result["machine"]
    lines = [
        f"Recorded {result['started_at'][:16].replace('T', ' ')} UTC on {machine['nproc']} cores "
        f"({machine['cpu_model'] or 'unknown CPU'}), shared: other work used "
        f"{summary['other_processes_cores_mean']:.2f} cores on average. {parameters['rate']:g} requests/s for "
        f"{parameters['minutes']:g} min, then {summary['drain_seconds']:.0f} s of drain; results in "
        f"[`results/{name}.json`](results/{name}.json), chart [`results/{name}.png`](results/{name}.png).",
        "",
        "| process | RSS start → end of load → end (MiB) | RSS fit: growth over the load (limit) | open fds start → end | "
        "event-loop lag p50 / p99 / max (ms) | CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for process, entry in summary["services"].items():
        fit = entry["rss_fit"]
        limit = entry.get("limits", {}).get("rss_mib")
        lag = entry.get("loop_lag_ms") or {}
        lines.append(
            f"| {process} | {entry['rss_mib_start']:.1f} → {entry['rss_mib_end_of_load']:.1f} → "
            f"{entry['rss_mib_end']:.1f} | {fit.get('projected_growth', 0):+.1f}"
            + (f" ({limit:g})" if limit is not None else "")
            + f" | {entry['fds_start']} → {entry['fds_end']} | "
            + (f"{lag['p50']:.1f} / {lag['p99']:.1f} / {lag['max']:.1f}" if lag else "-")
            + f" | {entry['cpu_cores_mean']:.2f} |"
        )
    deliveries = summary["deliveries"]
    lines += [
        "",
        "| consumer group | max lag | trend over the second half (records/min) | lag at the end |",
        "|---|---:|---:|---:|",
        *(
            f"| {group} | {lag['max']:,} | {_signed(lag.get('trend_per_min', 0.0))} | {lag['end']:,} |"
            for group, lag in summary["consumer_lag"].items()
        ),
        "",
        "| endpoint | expected | arrived | duplicates | lost | requests (failed on purpose) |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| `{path}` | {e['expected']:,} | {e['arrived']:,}"
            + (" dead-lettered" if path == "/dead" else "")
            + f" | {e['duplicates']} | {e['lost']} | {e['requests']:,} ({e['failed_on_purpose']:,}) |"
            for path, e in deliveries["by_endpoint"].items()
        ),
        "",
        f"Events in (requests accepted): {summary['events_in']:,}; events on `platform.events`: "
        f"{summary['events_out']:,} ({', '.join(f'{k} {v:,}' for k, v in summary['events_on_platform_events'].items())}); "
        f"deliveries {deliveries['arrived']:,} of {deliveries['expected']:,}, {deliveries['duplicates']} duplicates, "
        f"**lost {summary['lost']}**.",
        "",
        "Verdicts: "
        + ", ".join(f"{k} **{'ok' if v else 'FAILED'}**" for k, v in result["verdicts"].items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def update_readme(result: dict[str, Any], name: str) -> None:
    replace_between_markers(README, MARK_START, MARK_END, table(result, name))


def write(result: dict[str, Any], path: Path) -> None:
    """The result as JSON, one series row per line (a 30-minute run is ~2,000 rows)."""
    head = {k: v for k, v in result.items() if k != "series"}
    text = json.dumps(head, indent=1)[:-2]
    rows = ",\n".join(json.dumps(row, separators=(",", ":")) for row in result["series"])
    path.write_text(f'{text},\n "series": [\n{rows}\n ]\n}}\n')


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak.report", description="Redraw a soak's chart.")
    parser.add_argument("result", type=Path, help="a soak-*.json from bench/results")
    parser.add_argument("--readme", action="store_true", help="also put its tables in bench/README.md")
    args = parser.parse_args(list(argv) if argv is not None else None)
    result = json.loads(args.result.read_text())
    # Derived from the series alone, so a run recorded before the trend existed gets it too.
    result["summary"]["consumer_lag"] = lag_summary(result["series"], result["summary"]["load_seconds"])
    chart(result, args.result.with_suffix(".png"))
    print(f"wrote {args.result.with_suffix('.png')}")
    if args.readme:
        update_readme(result, args.result.stem)
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
