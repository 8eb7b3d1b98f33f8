"""The ``switchboard`` CLI against the services as ``make up`` runs them: every command, its error lines, and
``switchboard listen`` receiving, verifying and forwarding real deliveries.

One stack serves the module (starting one takes most of a test's time). Commands run in-process through
Typer's CliRunner; ``listen`` and ``events send`` also run as real subprocesses of the installed script.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet
from pymongo import MongoClient
from typer.testing import CliRunner, Result

from switchboard_cli.inbox import signature_problem
from switchboard_cli.main import app
from switchboard_contracts import signing
from switchboard_platform.kafka_admin import delete_topics, ensure_topics
from switchboard_testing.infra import Infrastructure
from switchboard_testing.processes import free_port
from switchboard_testing.webhooks import Receiver

from .stack import Processes, Stack, infra_env, started_stack, wait_ready

ADMIN = "e2e-admin-token-c11"
EVENTS_TOKEN = "e2e-events-token-c11"
SCRIPT = Path(sys.executable).parent / "switchboard"
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    namespace = f"t{uuid.uuid4().hex[:10]}."
    asyncio.run(ensure_topics(infra.kafka_bootstrap, namespace))
    databases: list[str] = []
    try:
        with started_stack(
            tmp_path_factory.mktemp("cli") / "run",
            {
                **infra_env(infra, namespace),
                "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
                "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
                # Until development installations allow loopback by default (make up), the inbox needs these.
                "SB_REGISTRY_ALLOW_LOOPBACK_URLS": "true",
                "SB_DISPATCHER_ALLOW_LOOPBACK_URLS": "true",
            },
        ) as running:
            databases.extend(
                running.env[f"SB_{name}_MONGODB_DATABASE"]
                for name in ("REGISTRY", "DISPATCHER", "AI_RESPONDER")
            )
            yield running
    finally:
        asyncio.run(delete_topics(infra.kafka_bootstrap, namespace))
        with MongoClient[dict[str, Any]](infra.mongodb_url) as mongo:
            for database in databases:
                mongo.drop_database(database)


def environment(stack: Stack, key: str | None = None) -> dict[str, str | None]:
    """What a user exports: the stack's URLs and tokens; no profile file."""
    return {
        "SWITCHBOARD_URL": stack.urls["registry"],
        "SWITCHBOARD_INGRESS_URL": stack.urls["ingress"],
        "SWITCHBOARD_ADMIN_TOKEN": ADMIN,
        "SWITCHBOARD_EVENTS_TOKEN": EVENTS_TOKEN,
        "SWITCHBOARD_API_KEY": key,
        "SWITCHBOARD_PROFILE": None,
        "SWITCHBOARD_CONFIG": "/nonexistent/switchboard.toml",
    }


def cli(stack: Stack, *args: str, key: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=environment(stack, key))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def one_error_line(result: Result) -> str:
    """A failed command: exit 1, nothing on stdout, exactly one line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def eventually(probe: Callable[[], T | None], timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def tenant(stack: Stack) -> tuple[str, str]:
    """A development tenant and an API key, made with the CLI's --quiet output as the README does."""
    tenant_id = ok(cli(stack, "tenants", "create", "Acme", "--development", "-q"))
    key = ok(cli(stack, "keys", "create", "--tenant", tenant_id, "--name", "e2e", "-q"))
    assert key.startswith("sbk_")
    return tenant_id, key


# -- tenants, keys and webhooks ---------------------------------------------------------------------------------


def test_tenants_create_prints_the_tenant_as_json(stack: Stack) -> None:
    created = as_json(cli(stack, "tenants", "create", "Beta", "--output", "json"))
    assert created["name"] == "Beta"
    assert created["development_mode"] is False


def test_webhooks_create_list_show_rotate_test_and_delete(stack: Stack, tenant: tuple[str, str]) -> None:
    _, key = tenant
    url = f"http://127.0.0.1:{free_port()}/hooks"
    hook = as_json(
        cli(
            stack, "-o", "json", "webhooks", "create", "--url", url, "-e", "message.*,ticket.created", key=key
        )
    )
    assert hook["events"] == ["message.*", "ticket.created"]
    listed = as_json(cli(stack, "webhooks", "list", "-o", "json", key=key))
    assert hook["_id"] in [item["_id"] for item in listed]
    assert "hooks" in ok(cli(stack, "webhooks", "list", key=key))  # the table shows the URL
    assert (
        as_json(cli(stack, "webhooks", "show", hook["_id"], "-o", "json", key=key))["secret"]
        == hook["secret"]
    )
    rotated = ok(cli(stack, "webhooks", "rotate", hook["_id"], "-q", key=key))
    assert rotated.startswith("whsec_")
    assert rotated != hook["secret"]
    tested = as_json(cli(stack, "webhooks", "test", hook["_id"], "-o", "json", key=key))
    assert tested["event"] == "webhook.test"
    assert as_json(cli(stack, "webhooks", "delete", hook["_id"], "-o", "json", key=key))["deleted"] is True
    assert "404" in one_error_line(cli(stack, "webhooks", "show", hook["_id"], key=key))


def test_a_revoked_key_is_refused_with_a_401_line(stack: Stack, tenant: tuple[str, str]) -> None:
    tenant_id, _ = tenant
    issued = as_json(cli(stack, "keys", "create", "-t", tenant_id, "--scope", "webhooks:read", "-o", "json"))
    assert issued["scopes"] == ["webhooks:read"]
    ok(cli(stack, "webhooks", "list", key=issued["key"]))
    listed = as_json(cli(stack, "keys", "list", "-t", tenant_id, "-o", "json"))
    assert issued["id"] in [item["id"] for item in listed]
    assert as_json(cli(stack, "keys", "revoke", issued["id"], "-t", tenant_id, "-o", "json"))["revoked_at"]
    line = one_error_line(cli(stack, "webhooks", "list", key=issued["key"]))
    assert line.startswith("Error: registry: 401 unauthorized")
    assert "SWITCHBOARD_API_KEY" in line


# -- error lines ------------------------------------------------------------------------------------------------


def test_a_bad_key_is_one_401_line(stack: Stack) -> None:
    assert one_error_line(cli(stack, "webhooks", "list", key="sbk_not-a-key")) == (
        "Error: registry: 401 unauthorized: missing or invalid bearer token (check SWITCHBOARD_API_KEY)"
    )


def test_a_bad_admin_token_is_one_401_line(stack: Stack) -> None:
    result = CliRunner().invoke(
        app, ["tenants", "create", "X"], env={**environment(stack), "SWITCHBOARD_ADMIN_TOKEN": "wrong"}
    )
    assert "SWITCHBOARD_ADMIN_TOKEN" in one_error_line(result)


def test_unknown_ids_are_one_404_line(stack: Stack, tenant: tuple[str, str]) -> None:
    tenant_id, key = tenant
    unknown = "0" * 24
    assert one_error_line(cli(stack, "webhooks", "show", unknown, key=key)) == (
        "Error: registry: 404 not_found: webhook not found"
    )
    assert "404" in one_error_line(cli(stack, "deliveries", "list", unknown, key=key))
    assert "404" in one_error_line(cli(stack, "redeliver", unknown, "msg_0", key=key))
    assert "404" in one_error_line(cli(stack, "keys", "revoke", unknown, "-t", tenant_id))
    assert one_error_line(cli(stack, "keys", "create", "-t", unknown)) == (
        "Error: registry: 404 not_found: tenant not found"
    )


def test_an_unreachable_server_is_one_line_asking_for_make_up(stack: Stack, tenant: tuple[str, str]) -> None:
    port = free_port()  # nothing listens there
    result = cli(stack, "--url", f"http://127.0.0.1:{port}", "webhooks", "list", key=tenant[1])
    assert one_error_line(result) == (
        f"Error: cannot reach the registry at http://127.0.0.1:{port} (connection refused): is `make up` running?"
    )
    result = cli(
        stack, "--ingress-url", f"http://127.0.0.1:{port}", "events", "send", "message.created", "-t", "x"
    )
    assert "cannot reach the ingress" in one_error_line(result)


def test_a_missing_key_and_a_bad_events_token_are_named(stack: Stack) -> None:
    assert "SWITCHBOARD_API_KEY" in one_error_line(cli(stack, "webhooks", "list"))
    result = CliRunner().invoke(
        app,
        ["events", "send", "message.created", "-t", "x"],
        env={**environment(stack), "SWITCHBOARD_EVENTS_TOKEN": "wrong"},
    )
    assert one_error_line(result).startswith("Error: ingress: 401")


def test_an_invalid_field_is_the_registrys_422_line(stack: Stack, tenant: tuple[str, str]) -> None:
    result = cli(
        stack, "webhooks", "create", "--url", "http://127.0.0.1:9/", "-e", "no.such.event", key=tenant[1]
    )
    line = one_error_line(result)
    assert line.startswith("Error: registry: 422 validation_error: events")


# -- events, deliveries, redeliver, recover ---------------------------------------------------------------------


def test_deliveries_redeliver_and_recover_of_a_failing_webhook(stack: Stack, tenant: tuple[str, str]) -> None:
    tenant_id, key = tenant
    dead = f"http://127.0.0.1:{free_port()}/down"  # refuses connections: every attempt fails
    hook = ok(
        cli(
            stack,
            "webhooks",
            "create",
            "--url",
            dead,
            "-e",
            "ticket.*",
            "--retry-schedule",
            "",
            "-q",
            key=key,
        )
    )
    for n in (1, 2):
        event_id = ok(
            cli(stack, "events", "send", "ticket.created", "-t", tenant_id, "--data", f'{{"n": {n}}}', "-q")
        )
        assert len(event_id) == 32

    def failed() -> list[dict[str, Any]] | None:
        items = as_json(cli(stack, "deliveries", "list", hook, "--status", "failed", "-o", "json", key=key))
        return items if len(items) == 2 else None

    first, _ = eventually(failed)
    assert "ticket.created" in ok(cli(stack, "deliveries", "list", hook, key=key))
    detail = as_json(cli(stack, "deliveries", "show", hook, first["_id"], "-o", "json", key=key))
    assert [attempt["trigger"] for attempt in detail["attempts"]] == ["scheduled"]
    assert "attempts" in ok(cli(stack, "deliveries", "show", hook, first["_id"], key=key))

    queued = as_json(cli(stack, "redeliver", hook, first["_id"], "-o", "json", key=key))
    assert queued["attempt"] == 2

    def attempted_again() -> dict[str, Any] | None:
        shown = as_json(cli(stack, "deliveries", "show", hook, first["_id"], "-o", "json", key=key))
        return shown if len(shown["attempts"]) == 2 else None

    assert [attempt["trigger"] for attempt in eventually(attempted_again)["attempts"]] == [
        "scheduled",
        "manual",
    ]

    recovered = as_json(cli(stack, "recover", hook, "--since", "10m", "-o", "json", key=key))
    assert recovered["command"] == "switchboard.command.recover"
    assert (recovered["recovered"], recovered["candidates"]) == (2, 2)
    progress = cli(stack, "recover", hook, "--since", "10m", key=key)
    assert "recovering" in progress.stderr
    assert "2/2" in progress.stderr


def test_events_send_refuses_data_that_is_not_json(stack: Stack) -> None:
    result = cli(stack, "events", "send", "message.created", "-t", "x", "--data", "{not json")
    assert result.exit_code == 2
    assert "not JSON" in result.stderr


# -- listen -----------------------------------------------------------------------------------------------------


def subprocess_env(stack: Stack, key: str) -> dict[str, str]:
    values = {**os.environ, **environment(stack, key)}
    return {name: value for name, value in values.items() if value is not None}


async def start_listen(
    stack: Stack, key: str, tmp_path: Path, *args: str
) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """``switchboard listen`` as a subprocess; returns it and its ready file (webhook id and URL) once ready."""
    ready = tmp_path / f"ready-{uuid.uuid4().hex[:6]}"
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "listen",
        "--ready-file",
        str(ready),
        *args,
        env=subprocess_env(stack, key),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        while not ready.exists():
            if process.returncode is not None:
                _, err = await process.communicate()
                raise AssertionError(f"listen exited with {process.returncode}: {err.decode()}")
            await asyncio.sleep(0.1)
    info: dict[str, str] = json.loads(ready.read_text())
    return process, info


async def send(stack: Stack, key: str, tenant_id: str, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "events",
        "send",
        *args,
        "-t",
        tenant_id,
        env=subprocess_env(stack, key),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    async with asyncio.timeout(90):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def webhook_ids(stack: Stack, key: str) -> list[str]:
    return webhook_ids_at(stack.urls["registry"], key)


async def test_listen_prints_a_verified_delivery_and_removes_its_webhook(
    stack: Stack, tenant: tuple[str, str], tmp_path: Path
) -> None:
    tenant_id, key = tenant
    before = webhook_ids(stack, key)
    listener, _ = await start_listen(
        stack, key, tmp_path, "--count", "1", "--timeout", "90", "-e", "message.*"
    )
    assert len(webhook_ids(stack, key)) == len(before) + 1
    await send(stack, key, tenant_id, "message.created", "--data", '{"text": "hello"}')
    code, out, err = await finished(listener)
    assert code == 0, err
    (line,) = out.splitlines()
    assert "message.created  webhook-id msg_" in line
    assert "attempt 1  signature ok  latency " in line
    assert "Ready! Webhook" in err
    assert webhook_ids(stack, key) == before


async def test_listen_forwards_to_the_app_and_the_dispatcher_retries_its_500(
    stack: Stack, tenant: tuple[str, str], tmp_path: Path, receiver: Receiver
) -> None:
    tenant_id, key = tenant
    receiver.script("app", (500, {}, 0.0))  # the app fails the first delivery, then answers 200
    listener, _ = await start_listen(
        stack, key, tmp_path, "--json", "--count", "2", "--timeout", "90", "-e", "ticket.created",
        "--forward-to", receiver.url("app", host="127.0.0.1"), "--print-secret",
    )  # fmt: skip
    await send(stack, key, tenant_id, "ticket.created", "--data", '{"subject": "refund"}')
    code, out, err = await finished(listener)
    assert code == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert (first["attempt"], first["status"], first["forwarded"]["status"]) == (1, 500, 500)
    assert (second["attempt"], second["status"], second["forwarded"]["status"]) == (2, 200, 200)
    assert first["signature"] == second["signature"] == "ok"
    assert first["webhook_id"] == second["webhook_id"]
    assert second["payload"]["data"] == {"subject": "refund"}
    forwarded = receiver.requests["/app"]
    assert [request.headers["webhook-id"] for request in forwarded] == [first["webhook_id"]] * 2
    # The app can verify what it was forwarded (body and signature headers unchanged) with the printed secret.
    secret = err.split("signing secret ", 1)[1].split()[0]
    for request in forwarded:
        assert signature_problem([secret], request.headers, request.body) is None


async def test_listen_reports_a_tampered_signature_and_exits_non_zero(
    stack: Stack, tenant: tuple[str, str], tmp_path: Path
) -> None:
    _, key = tenant
    listener, ready = await start_listen(stack, key, tmp_path, "--count", "1", "--timeout", "90")
    url = ready["url"]
    body = json.dumps({"event": "message.created", "timestamp": "2026-01-01T00:00:00Z", "data": {}}).encode()
    headers = signing.standard_headers(
        [signing.generate_secret()], "msg_forged", body
    )  # not the webhook's secret
    async with httpx.AsyncClient() as http:
        answer = await http.post(url, content=body, headers={**headers, "X-Switchboard-Attempt": "1"})
    assert answer.status_code == 401
    code, out, err = await finished(listener)
    assert code == 1
    assert (
        "webhook-id msg_forged  attempt 1  signature failed (standard webhooks: no matching v1 signature)"
        in out
    )
    assert "1 of 1 deliveries failed signature verification" in err


async def test_listen_learns_a_rotated_secret_from_the_registry(
    stack: Stack, tenant: tuple[str, str], tmp_path: Path
) -> None:
    """After ``webhooks rotate`` the seed headers are signed with the new secret only; the inbox asks the
    registry again instead of reporting them as failed."""
    tenant_id, key = tenant
    listener, ready = await start_listen(
        stack, key, tmp_path, "--count", "1", "--timeout", "90", "-e", "ticket.*"
    )
    hook = ready["webhook"]
    assert ok(cli(stack, "webhooks", "rotate", hook, "-q", key=key)).startswith("whsec_")
    await send(stack, key, tenant_id, "ticket.updated")
    code, out, err = await finished(listener)
    assert code == 0, err
    assert "ticket.updated" in out
    assert "signature ok" in out


async def test_listen_on_an_existing_webhook_uses_its_port_and_keeps_it(
    stack: Stack, tenant: tuple[str, str], tmp_path: Path
) -> None:
    tenant_id, key = tenant
    port = free_port()
    created = await asyncio.to_thread(
        httpx.post,
        f"{stack.urls['registry']}/api/webhooks",
        headers={"Authorization": f"Bearer {key}"},
        json={"name": "mine", "url": f"http://127.0.0.1:{port}/in", "events": ["conversation.created"]},
    )
    hook = created.json()["data"]["_id"]
    listener, ready = await start_listen(
        stack, key, tmp_path, "--webhook", hook, "--count", "1", "--timeout", "90"
    )
    assert ready == {"webhook": hook, "url": f"http://127.0.0.1:{port}/"}
    await send(stack, key, tenant_id, "conversation.created", "--subject", "c-1")
    code, out, err = await finished(listener)
    assert code == 0, err
    assert "conversation.created" in out
    assert "signature ok" in out
    assert hook in webhook_ids(stack, key)


# -- production refuses loopback --------------------------------------------------------------------------------


async def test_listen_against_a_production_registry_prints_its_refusal(
    infra: Infrastructure, tmp_path: Path, processes: Processes
) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(infra.kafka_bootstrap, namespace)
    admin = uuid.uuid4().hex
    database = f"e2e_{namespace.strip('.')}_registry"
    port = free_port()
    env = {
        **os.environ,
        "SB_ENVIRONMENT": "production",
        **infra_env(infra, namespace),
        "SB_SECRETS_KEY": Fernet.generate_key().decode(),
        "SB_REGISTRY_ADMIN_TOKEN": admin,
        "SB_REGISTRY_MONGODB_DATABASE": database,
    }
    try:
        registry = processes.start("registry", port, env, tmp_path / "registry.log")
        await wait_ready(f"http://127.0.0.1:{port}", registry)
        cli_env = {
            **os.environ,
            "SWITCHBOARD_URL": f"http://127.0.0.1:{port}",
            "SWITCHBOARD_ADMIN_TOKEN": admin,
            "SWITCHBOARD_CONFIG": "/nonexistent/switchboard.toml",
        }

        def run(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
            extra = {"SWITCHBOARD_API_KEY": key} if key else {}
            # The installed script with fixed arguments: no shell, no user input.
            return subprocess.run(  # noqa: S603
                [str(SCRIPT), *args],
                env={**cli_env, **extra},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        tenant_id = (
            await asyncio.to_thread(run, "tenants", "create", "Prod", "--development", "-q")
        ).stdout.strip()
        key = (await asyncio.to_thread(run, "keys", "create", "-t", tenant_id, "-q")).stdout.strip()
        refused = await asyncio.to_thread(run, "listen", "--count", "1", "--timeout", "30", key=key)
        assert refused.returncode == 1
        assert refused.stdout == ""
        (line,) = refused.stderr.strip().splitlines()
        # The registry's own words (netsafety's), then the CLI's hint.
        assert line.startswith("Error: registry: 422 invalid_url: url: 127.0.0.1 "), line
        assert "loopback" in line
        assert line.endswith("(listen needs a development installation and a --development tenant)")
        assert webhook_ids_at(f"http://127.0.0.1:{port}", key) == []
    finally:
        processes.kill_all()
        await delete_topics(infra.kafka_bootstrap, namespace)
        with MongoClient[dict[str, Any]](infra.mongodb_url) as mongo:
            mongo.drop_database(database)


def webhook_ids_at(registry: str, key: str) -> list[str]:
    response = httpx.get(f"{registry}/api/webhooks", headers={"Authorization": f"Bearer {key}"})
    return [item["_id"] for item in response.json()["data"]]


# -- the README ---------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    """The README's walkthrough: its ```bash blocks between the markers, as CI extracts them."""
    section = (
        (ROOT / "README.md").read_text().split("<!-- walkthrough -->", 1)[1].split("<!-- /walkthrough -->")[0]
    )
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, re.DOTALL))


def test_the_readme_walkthrough_sees_a_verified_delivery(stack: Stack, tmp_path: Path) -> None:
    script = walkthrough()
    assert "switchboard listen" in script
    env = subprocess_env(stack, "")
    env.pop("SWITCHBOARD_API_KEY")
    env["PATH"] = f"{SCRIPT.parent}:{env['PATH']}"  # the walkthrough's .venv/bin, wherever this venv is
    # bash with the README's own text, as CI runs it: no user input.
    done = subprocess.run(  # noqa: S603
        ["/bin/bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"message\.created  webhook-id msg_\w+  attempt 1  signature ok  latency", done.stdout)
