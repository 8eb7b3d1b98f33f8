"""issue 13's promise for operators: one Freshchat message is one trace — the webhook at ingress, the Kafka hop,
the responder's answer, the dispatcher's fan-out and the reply's HTTP call to Freshchat — on the four services
as ``make up`` runs them, exported over OTLP/HTTP as configured by the standard ``OTEL_*`` variables. Each
service's JSON log lines carry the same trace id, and no secret the run used appears in any log or span."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .otlp import ExportedSpan, OtlpReceiver
from .stack import Stack, infra_env, started_stack

ADMIN = "e2e-admin-token-trace-3f8a1c"
RESPONDER_ADMIN = "e2e-responder-admin-trace-9b2e"
EVENTS_TOKEN = "e2e-events-token-trace-51d7"
SECRETS_KEY = Fernet.generate_key().decode()
FRESHCHAT_TOKEN = "fc-api-token-trace-0c4e77"
FRESHCHAT_HOST = "api.freshchat.test"
HOOKS_HOST = "hooks.test"
ARTICLE = {
    "title": "Reset your password",
    "body": "Forgot your password? Open Settings, choose Security and click Reset password.",
    "link": "https://help.acme.test/account/password-reset",
    "tags": ["account", "password"],
}


@pytest.fixture
async def otlp() -> AsyncIterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def stack(
    infra: Infrastructure, make_settings: SettingsFactory, tmp_path: Path, otlp: OtlpReceiver
) -> Iterator[Stack]:
    with started_stack(
        tmp_path / "run",
        {
            **infra_env(infra, make_settings.namespace),
            "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
            "SB_AI_RESPONDER_ADMIN_TOKEN": RESPONDER_ADMIN,
            "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
            "SB_SECRETS_KEY": SECRETS_KEY,
            "SB_RESOLVE_OVERRIDES": json.dumps({FRESHCHAT_HOST: "127.0.0.1", HOOKS_HOST: "127.0.0.1"}),
            # Debug lines too: every service then logs inside the spans of this one conversation.
            "SB_LOG_LEVEL": "DEBUG",
            # Tracing, configured exactly as an operator would (nothing Switchboard-specific).
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "NO_PROXY": "127.0.0.1,localhost",
        },
    ) as running:
        yield running


def _freshchat_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _freshchat_webhook(key: rsa.RSAPrivateKey, text: str) -> tuple[bytes, dict[str, str]]:
    """A user's ``message_create`` as Freshchat sends it (platforms.md §1), signed with ``key``."""
    message = {
        "message_parts": [{"text": {"content": text}}],
        "actor_id": "user-trace-1",
        "actor_type": "user",
        "id": f"fc-msg-{uuid.uuid4().hex[:8]}",
        "conversation_id": "fc-conv-trace",
        "message_type": "normal",
        "created_time": "2026-12-05T10:00:00.000Z",
    }
    body = json.dumps(
        {
            "actor": {"actor_type": "user", "actor_id": "user-trace-1"},
            "action": "message_create",
            "action_time": "2026-12-05T10:00:00.000Z",
            "data": {"message": message},
        }
    ).encode()
    signature = base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()
    return body, {"Content-Type": "application/json", "X-Freshchat-Signature": signature}


def _one(spans: list[ExportedSpan], description: str) -> ExportedSpan:
    assert len(spans) == 1, f"expected one {description}, got {spans}"
    return spans[0]


@pytest.mark.timeout(300)  # four services start as processes
@pytest.mark.usefixtures("drop_stack_databases")
async def test_one_freshchat_message_is_one_trace_across_every_service_and_its_logs(
    stack: Stack, receiver: Receiver, otlp: OtlpReceiver
) -> None:
    key = _freshchat_key()
    async with (
        httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as registry,
        httpx.AsyncClient(base_url=stack.urls["ingress"], timeout=10) as ingress,
        httpx.AsyncClient(base_url=stack.urls["ai-responder"], timeout=10) as responder,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        tenant = await registry.post(
            "/api/admin/tenants",
            headers=admin,
            json={"name": f"trace {uuid.uuid4().hex[:6]}", "development_mode": True},
        )
        tenant_id = tenant.json()["data"]["id"]
        created_key = await registry.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "e2e"}
        )
        api_key = created_key.json()["data"]["key"]
        auth = {"Authorization": f"Bearer {api_key}"}

        async def article_added() -> bool:
            answer = await responder.post(f"/api/tenants/{tenant_id}/articles", headers=auth, json=ARTICLE)
            return answer.status_code == 201

        await eventually(article_added, timeout_s=30)
        integration = await registry.post(
            "/api/webhook/config",
            headers=auth,
            json={
                "name": "Freshchat",
                "provider": "freshchat",
                "verification": {"public_key": _public_pem(key)},
                "reply": {"api_url": receiver.url("v2", host=FRESHCHAT_HOST), "api_token": FRESHCHAT_TOKEN},
            },
        )
        assert integration.status_code == 201, integration.text
        integration_id = integration.json()["data"]["id"]
        # A subscriber too, so the fan-out has two targets and the run has a webhook signing secret to look for.
        hook = await registry.post(
            "/api/webhooks",
            headers=auth,
            json={
                "name": "trace",
                "url": receiver.url("hook", host=HOOKS_HOST),
                "events": ["message.received"],
            },
        )
        assert hook.status_code in (200, 201), hook.text
        webhook_secret = hook.json()["data"]["secret"]

        body, headers = _freshchat_webhook(key, "I forgot my password, how do I reset it?")

        async def accepted() -> bool:
            answer = await ingress.post(
                f"/webhooks/freshchat/{integration_id}", content=body, headers=headers
            )
            # 404 until ingress's view of the config topic has the new integration.
            assert answer.status_code in (200, 404), answer.text
            return answer.status_code == 200 and answer.json()["status"] == "accepted"

        await eventually(accepted, timeout_s=30)
        (reply,) = await receiver.wait_for("v2/conversations/fc-conv-trace/messages", 1, timeout_s=60)
        assert ARTICLE["link"] in reply.json()["message_parts"][0]["text"]["content"]
        await receiver.wait_for("hook", 1, timeout_s=60)
        # Internal producers' door, with the events token (its secret is grepped for below).
        sent = await ingress.post(
            "/v1/events",
            headers={
                "Authorization": f"Bearer {EVENTS_TOKEN}",
                "Content-Type": "application/cloudevents+json",
            },
            json={
                "specversion": "1.0",
                "id": uuid.uuid4().hex,
                "source": "/e2e",
                "type": "message.created",
                "tenant": tenant_id,
                "data": {"text": "hi"},
            },
        )
        assert sent.status_code == 202, sent.text

    # The webhook's span at ingress starts the trace.
    async def webhook_spans() -> list[ExportedSpan]:
        return [
            span
            for span in otlp.of("switchboard-ingress")
            if span.kind == "SPAN_KIND_SERVER"
            and span.attributes.get("http.response.status_code") == 200
            and span.name == "POST /webhooks/{provider}/{integration_id}"
        ]

    (ingress_span,) = await eventually(webhook_spans, timeout_s=30)
    trace = ingress_span.trace_id

    def in_trace(service: str, kind: str | None = None) -> list[ExportedSpan]:
        return [
            span
            for span in otlp.of(service)
            if span.trace_id == trace and (kind is None or span.kind == kind)
        ]

    def reply_call() -> list[ExportedSpan]:
        return [
            span
            for span in in_trace("switchboard-dispatcher", "SPAN_KIND_CLIENT")
            if span.attributes.get("server.address") == FRESHCHAT_HOST
        ]

    async def whole_trace() -> bool:
        registry_linked = any(
            span.trace_id == trace or any(link[0] == trace for link in span.links)
            for span in otlp.of("switchboard-registry")
        )
        names = {(span.service, span.name) for span in otlp.spans if span.trace_id == trace}
        # A parent span ends (and is exported) after its children: wait for the outermost of each service.
        return (
            registry_linked
            and {
                ("switchboard-ai-responder", "ai-responder message.received"),
                ("switchboard-dispatcher", "deliver partner"),
            }
            <= names
        )

    await eventually(whole_trace, timeout_s=30)

    # The Kafka hop: ingress's publish span is the parent of the responder's consumer span.
    published = _one(in_trace("switchboard-ingress", "SPAN_KIND_PRODUCER"), "ingress publish")
    assert published.parent_span_id == ingress_span.span_id
    handled = _one(
        [
            span
            for span in in_trace("switchboard-ai-responder", "SPAN_KIND_CONSUMER")
            if span.name == "ai-responder message.received"
        ],
        "responder handling",
    )
    assert handled.parent_span_id == published.span_id
    assert handled.attributes["switchboard.outcome"] == "answer"
    # The answer, published by the responder, fanned out by the dispatcher, delivered through Freshchat's API.
    answers = in_trace("switchboard-ai-responder", "SPAN_KIND_PRODUCER")
    assert all(span.parent_span_id == handled.span_id for span in answers)
    fan_outs = in_trace("switchboard-dispatcher", "SPAN_KIND_CONSUMER")
    assert {span.parent_span_id for span in fan_outs} >= {published.span_id} | {
        span.span_id for span in answers
    }
    call = _one(reply_call(), "reply API call")
    assert call.attributes["http.response.status_code"] == 200
    attempt = _one(
        [span for span in in_trace("switchboard-dispatcher") if span.span_id == call.parent_span_id],
        "attempt",
    )
    assert attempt.name == "deliver partner"
    assert attempt.parent_span_id in {span.span_id for span in fan_outs}

    # Every line of every service is one JSON object (uvicorn's and FastStream's included) ...
    for service in ("ingress", "registry", "ai-responder", "dispatcher"):
        not_json = [line for line in stack.log(service).splitlines() if not line.startswith("{")]
        assert not not_json, f"{service} wrote lines that are not JSON: {not_json[:3]}"
    # ... and each service's lines of this conversation carry its trace id, next to the same correlation fields.
    for service in ("ingress", "ai-responder", "dispatcher"):
        lines = [json.loads(line) for line in stack.log(service).splitlines() if line.startswith("{")]
        traced = [line for line in lines if line.get("trace_id") == trace]
        assert traced, f"no {service} log line carries trace {trace}"
        assert all(line["service"] == service and line.get("span_id") for line in traced)
    dispatcher_lines = [
        json.loads(line) for line in stack.log("dispatcher").splitlines() if line.startswith("{")
    ]
    assert any(
        line.get("trace_id") == trace and line.get("delivery_id") and line.get("tenant") == tenant_id
        for line in dispatcher_lines
    )

    # No secret of the run in any log line or span.
    secrets = {
        "admin token": ADMIN,
        "responder admin token": RESPONDER_ADMIN,
        "events token": EVENTS_TOKEN,
        "secrets key": SECRETS_KEY,
        "API key": api_key,
        "webhook secret": webhook_secret,
        "Freshchat API token": FRESHCHAT_TOKEN,
    }
    logs = {service: stack.log(service) for service in ("ingress", "registry", "ai-responder", "dispatcher")}
    spans = json.dumps([(span.name, span.attributes) for span in otlp.spans], default=str)
    for what, secret in secrets.items():
        for service, text in logs.items():
            assert secret not in text, f"the {what} is in {service}'s log"
        assert secret not in spans, f"the {what} is in a span"
