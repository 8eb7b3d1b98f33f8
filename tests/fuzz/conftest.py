"""One running Switchboard for the whole fuzz session, and the callers that attack it.

The four services run as ``make up`` runs them (``tests/e2e/stack.py``) on free loopback ports, with their own
topic namespace and databases; a tenant, its API key and a generic integration (the bearer token the ingress's
seed 002/003 routes and the widget's ``?integration=`` need) are created through the registry's admin API, as
an operator would. ``SB_FUZZ_EXAMPLES`` sets how many generated cases each operation gets (``make fuzz``).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from switchboard_platform.kafka_admin import delete_topics, ensure_topics
from switchboard_testing.infra import Infrastructure

from ..e2e.stack import Stack, infra_env, started_stack

ADMIN_TOKEN = "fuzz-operator-token-6c1e"
EVENTS_TOKEN = "fuzz-events-token-2b9d"
INTEGRATION_BEARER = "fuzz-integration-bearer-8a4f"
SERVICES = ("registry", "ingress", "ai-responder", "dispatcher")
ROLES = ("tenant", "operator")
#: Stands in for an id the fuzz session never created: well-formed, owned by nobody.
UNKNOWN_ID = "000000000000000000000000"


@dataclass
class World:
    """The running stack and what was created in it."""

    stack: Stack
    tenant_id: str
    api_key: str
    integration_id: str

    def url(self, service: str) -> str:
        return self.stack.urls[service]

    def operator_token(self, service: str) -> str:
        """The operator's credential at ``service``: the admin token, or at the ingress the internal producers'
        token for ``/v1/events``."""
        return EVENTS_TOKEN if service == "ingress" else ADMIN_TOKEN

    def token(self, service: str, role: str) -> str:
        return self.api_key if role == "tenant" else self.operator_token(service)

    def path_values(self) -> dict[str, str]:
        """Path parameters that lead past "not found" to the handlers' own validation."""
        return {"tenant_id": self.tenant_id, "integration_id": self.integration_id}


@dataclass
class Tally:
    """What the schemathesis run did, per ``service as role``: operations, cases sent, failing cases."""

    operations: dict[str, set[str]] = field(default_factory=dict)
    cases: Counter[str] = field(default_factory=Counter)
    failures: dict[str, set[str]] = field(default_factory=dict)
    failing_cases: Counter[str] = field(default_factory=Counter)

    def sent(self, run: str, operation: str) -> None:
        self.operations.setdefault(run, set()).add(operation)
        self.cases[run] += 1

    def failed(self, run: str, operation: str) -> None:
        self.failures.setdefault(run, set()).add(operation)
        self.failing_cases[run] += 1

    def summary(self) -> dict[str, Any]:
        runs: dict[str, dict[str, Any]] = {
            run: {
                "operations": len(operations),
                "cases": self.cases[run],
                "failing_operations": sorted(self.failures.get(run, set())),
                "failing_cases": self.failing_cases[run],
            }
            for run, operations in sorted(self.operations.items())
        }
        return {
            "examples_per_operation": fuzz_examples(),
            "phases": sorted(fuzz_phases()),
            "operations": sum(run["operations"] for run in runs.values()),
            "cases": sum(run["cases"] for run in runs.values()),
            "failing_operations": sum(len(run["failing_operations"]) for run in runs.values()),
            "failing_cases": sum(run["failing_cases"] for run in runs.values()),
            "runs": runs,
        }


_TALLY = Tally()


def fuzz_examples() -> int:
    """Generated cases per operation and phase: a few in ``make test``, more in ``make fuzz``."""
    return int(os.environ.get("SB_FUZZ_EXAMPLES", "5"))


def fuzz_phases() -> set[str]:
    """schemathesis phases: explicit examples and random generation in ``make test``; ``make fuzz`` adds the
    coverage phase (every boundary and type mutation of every parameter, deterministic, ~10x the cases)."""
    return set(os.environ.get("SB_FUZZ_PHASES", "examples,fuzzing").split(","))


@pytest.fixture(scope="session")
def tally() -> Tally:
    return _TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TALLY.operations:
        return
    summary = _TALLY.summary()
    terminalreporter.section("schemathesis")
    for run, counts in summary["runs"].items():
        terminalreporter.write_line(
            f"{run:26} {counts['operations']:3} operations {counts['cases']:6} cases "
            f"{len(counts['failing_operations'])} failing operations"
        )
    terminalreporter.write_line(
        f"total: {summary['operations']} operations, {summary['cases']} cases, "
        f"{summary['failing_operations']} failing operations ({summary['failing_cases']} failing cases) "
        f"with {summary['examples_per_operation']} examples per operation"
    )
    report = os.environ.get("SB_FUZZ_REPORT")
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(summary, indent=2) + "\n")
        terminalreporter.write_line(f"written to {report}")


@pytest.fixture(scope="session")
async def fuzz_namespace(infra: Infrastructure) -> AsyncIterator[str]:
    namespace = f"fz{uuid.uuid4().hex[:8]}."
    await ensure_topics(infra.kafka_bootstrap, namespace)
    yield namespace
    await delete_topics(infra.kafka_bootstrap, namespace)


@pytest.fixture(scope="session")
def fuzz_stack(
    infra: Infrastructure, fuzz_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with started_stack(
        tmp_path_factory.mktemp("fuzz") / "run",
        {
            **infra_env(infra, fuzz_namespace),
            "SB_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
            "SB_AI_RESPONDER_ADMIN_TOKEN": ADMIN_TOKEN,
            "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
            # Generated URLs name arbitrary hosts: every name resolves to a documentation address (refused as
            # reserved, before any connection) and no DNS query leaves the machine.
            "SB_RESOLVE_OVERRIDES": json.dumps({"*": "192.0.2.1"}),
        },
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
async def world(fuzz_stack: Stack, infra: Infrastructure) -> AsyncIterator[World]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=fuzz_stack.urls["registry"], timeout=10) as registry:
        tenant = await registry.post("/api/admin/tenants", headers=admin, json={"name": "fuzz"})
        tenant_id = tenant.json()["data"]["id"]
        key = await registry.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "fuzz"}
        )
        api_key = key.json()["data"]["key"]
        integration = await registry.post(
            "/api/webhook/config",
            headers={"Authorization": f"Bearer {api_key}"},
            json={
                "name": "fuzz",
                "provider": "generic",
                "verification": {"bearer_token": INTEGRATION_BEARER},
            },
        )
        assert integration.status_code == 201, integration.text
        integration_id = integration.json()["data"]["id"]
    world = World(fuzz_stack, tenant_id, api_key, integration_id)
    await _until_known(world)
    yield world
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    for name in fuzz_stack.databases:
        await mongo.drop_database(name)
    await mongo.close()


async def _until_known(world: World, timeout_s: float = 60) -> None:
    """Until the ingress (widget) and the ai-responder (API keys) have the new records from the config topic."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            widget = await http.get(
                f"{world.url('ingress')}/chat/csrf-token", params={"integration": world.integration_id}
            )
            responder = await http.get(
                f"{world.url('ai-responder')}/api/tenants/{world.tenant_id}/settings",
                headers={"Authorization": f"Bearer {world.api_key}"},
            )
            if widget.status_code == 200 and responder.status_code == 200:
                return
            assert time.monotonic() < deadline, (widget.status_code, responder.status_code)
            await asyncio.sleep(0.2)
