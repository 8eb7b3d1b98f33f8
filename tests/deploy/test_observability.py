"""deploy/observability: the alert rules (promtool checks them and runs their unit tests), the generated files
(equal to what deploy/observability/generate.py writes), and the metrics the dashboard and the rules query, each of
which a service really exports.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from switchboard_ai_responder.metrics import ResponderMetrics
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_ingress.metrics import IngressMetrics
from switchboard_registry.metrics import RegistryMetrics

from .apps import ROOT

pytestmark = pytest.mark.deploy

OBSERVABILITY = ROOT / "deploy" / "observability"
RULES = OBSERVABILITY / "prometheus" / "rules.yml"
RULE_TESTS = OBSERVABILITY / "prometheus" / "rules.test.yml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "switchboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
#: Series Prometheus itself writes for every target; not a service's.
PROMETHEUS_SERIES = {"up"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate", OBSERVABILITY / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("no promtool: run `make tools` (apt-get install prometheus)")
    # S603: promtool from shutil.which on files of this repository; no shell, no outside input.
    return subprocess.run(  # noqa: S603
        [promtool, *args], capture_output=True, text=True, check=False, timeout=60, cwd=RULES.parent
    )


# ---------------------------------------------------------------------------------------------------------
# alert rules


def test_promtool_accepts_the_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_pass_their_unit_tests() -> None:
    result = _promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_rule_that_no_longer_fires_fails_its_unit_test(tmp_path: Path) -> None:
    # The unit tests can fail: with the delivery failure threshold raised past the test's 33 %, the case
    # that expects the alert fails.
    (tmp_path / "rules.yml").write_text(RULES.read_text().replace("> 0.25", "> 0.5"))
    (tmp_path / "rules.test.yml").write_text(RULE_TESTS.read_text())
    result = _promtool("test", "rules", str(tmp_path / "rules.test.yml"))
    assert result.returncode == 1
    assert "SwitchboardDeliveryFailureRate" in result.stdout + result.stderr


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _tested_alerts() -> set[str]:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    return {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}


def test_every_alert_has_unit_tests() -> None:
    assert {rule["alert"] for rule in _rules()} == _tested_alerts()


@pytest.mark.parametrize(
    "subject",
    [
        "DeliveryFailureRate",
        "ConsumerLagGrowing",
        "DeadLetters",
        "EndpointDisabled",
        "Ingress5xx",
        "KafkaUnreachable",
    ],
)
def test_the_issue_asks_for_each_alert(subject: str) -> None:
    assert f"Switchboard{subject}" in {rule["alert"] for rule in _rules()}


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_says_how_bad_it_is_and_where_its_runbook_is(rule: dict[str, Any]) -> None:
    anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["runbook_url"].startswith("docs/operations.md#")
    assert anchor in headings


# ---------------------------------------------------------------------------------------------------------
# generated files


def test_the_generated_files_are_what_the_generator_writes() -> None:
    stale = [str(path.relative_to(ROOT)) for path in _generator().stale()]
    assert stale == [], "run `make generate`"


def test_the_generator_notices_a_hand_edited_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = _generator()
    edited = tmp_path / "topics.yaml"
    edited.write_text(generator.kafka_topics().replace("partitions: 6", "partitions: 7", 1))
    monkeypatch.setattr(generator, "OUTPUTS", {edited: generator.kafka_topics})
    assert generator.stale() == [edited]


# ---------------------------------------------------------------------------------------------------------
# the metrics they query


def _exposed(registry: CollectorRegistry) -> set[str]:
    """Every series name a registry can expose, children or not (a labelled metric without children
    collects no samples, so the names come from each family's type)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    return {
        family.name + suffix for family in registry.collect() for suffix in suffixes.get(family.type, ("",))
    }


def service_series() -> set[str]:
    metrics = (IngressMetrics(), RegistryMetrics(), ResponderMetrics(), DispatcherMetrics())
    return set().union(*(_exposed(m.registry) for m in metrics))


KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless",
    "le", "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects: identifiers that are neither functions, keywords, label
    names (inside braces or by/without lists) nor template variables."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\$\w+", "", expr)  # Grafana variables such as $__rate_interval
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\s*(\()?", expr):
        name, call = match.groups()
        if call is None and name.lower() not in KEYWORDS:
            names.add(name)
    return names


def _dashboard_queries() -> Iterator[tuple[str, str]]:
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets") or []:
            yield panel["title"], target["expr"]


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, kind) (rate(dispatcher_delivery_latency_seconds_bucket{kind!="x"}'
        '[$__rate_interval]))) / on (job) group_left up and dependency_up{dependency="kafka"} == 0'
    )
    assert metric_names(expr) == {"dispatcher_delivery_latency_seconds_bucket", "up", "dependency_up"}


def test_every_metric_the_dashboard_queries_is_exported_by_a_service() -> None:
    exported = service_series() | PROMETHEUS_SERIES
    unknown = {
        (title, name)
        for title, expr in _dashboard_queries()
        for name in metric_names(expr)
        if name not in exported
    }
    assert unknown == set()


def test_every_metric_the_alerts_query_is_exported_by_a_service() -> None:
    exported = service_series() | PROMETHEUS_SERIES
    unknown = {
        (rule["alert"], name)
        for rule in _rules()
        for name in metric_names(rule["expr"])
        if name not in exported
    }
    assert unknown == set()


def test_a_metric_no_service_exports_is_noticed() -> None:
    assert "dispatcher_deliveries_totl" not in service_series()
    assert metric_names("sum(rate(dispatcher_deliveries_totl[5m]))") == {"dispatcher_deliveries_totl"}


@pytest.mark.parametrize(
    "series",
    [
        "http_requests_total",  # ingress rate and errors
        "dispatcher_consumer_lag",  # consumer lag per stage
        "dispatcher_deliveries_total",  # deliveries by outcome, dead letters
        "dispatcher_delivery_latency_seconds_bucket",  # latency p50/p95/p99
        "dispatcher_retries_pending",
        "dispatcher_endpoints_disabled_total",
        "ai_responder_answer_confidence_bucket",
        "ai_responder_actions_total",  # handoffs
    ],
)
def test_the_dashboard_shows_what_the_issue_asks_for(series: str) -> None:
    assert any(series in metric_names(expr) for _, expr in _dashboard_queries())
