"""The pipeline benchmark's own rules: finding processes and their CPU, and judging a run against its targets."""

from __future__ import annotations

import os
from typing import Any

from bench.dispatch.common import cpu_seconds
from bench.pipeline.run import cost, verdicts
from switchboard_testing.processes import group_cpu_seconds


def test_a_process_group_costs_at_least_its_member() -> None:
    mine = cpu_seconds(os.getpid())
    group = group_cpu_seconds(os.getpgrp())
    assert mine is not None
    assert group is not None
    assert group >= mine


def test_system_cost_is_the_services_and_infrastructure_not_the_receiver() -> None:
    before = {"ingress": 1.0, "kafka": 2.0, "receiver": 0.0, "_busy": 0.0}
    after = {"ingress": 1.5, "kafka": 3.0, "receiver": 1.0, "_busy": 9.0}
    per = cost(before, after, 1000)
    assert per == {"ingress": 500.0, "kafka": 1000.0, "receiver": 1000.0, "system": 1500.0}


def _result(lag_s: float | None, p99: float) -> dict[str, Any]:
    lag = {
        "event_log_s": lag_s,
        "delivery_log_s": lag_s,
        "cap_s": 300,
        "events": {"expected": 10, "reached": 10 if lag_s is not None else 3},
        "deliveries": {"expected": 40, "reached": 40 if lag_s is not None else 7},
    }
    return {
        "ceiling": {"req_per_s": 6500.0},
        "throughput": {"deliveries_per_s": 2000.0, "cpu_us_per_delivery": {"system": 900.0}},
        "projection_lag": lag,
        "rate": {"rate": 200, "latency_ms": {"p99": p99}},
    }


def test_each_target_is_judged_against_the_ceiling_of_the_same_run() -> None:
    met = verdicts(_result(lag_s=2.0, p99=20.0))
    assert [v["met"] for v in met] == [True, True, True, True]
    missed = verdicts(_result(lag_s=None, p99=80.0))
    assert [v["met"] for v in missed] == [True, True, False, False]
    assert missed[2]["measured"] == "not caught up after 300 s"
    slower_machine = _result(lag_s=2.0, p99=20.0)
    slower_machine["ceiling"]["req_per_s"] = 10_000.0  # a faster ceiling: 2,000/s is 0.20, 900 µs > 650
    assert [v["met"] for v in verdicts(slower_machine)] == [False, False, True, True]
