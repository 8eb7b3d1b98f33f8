"""AI responder composition root: ``uvicorn --factory switchboard_ai_responder.main:create_app``.

Everything is built here and nothing connects before the app starts: the broker (one consumer of
``platform.events``, publishers to ``platform.events`` and ``switchboard.replies``), the MongoDB stores, one
httpx client for LLM APIs, the responder service and the management API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from switchboard_ai_responder import handlers
from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.adapters.conversations import ConversationStore
from switchboard_ai_responder.adapters.feedback import FeedbackStore
from switchboard_ai_responder.adapters.outcomes import OutcomeStore
from switchboard_ai_responder.adapters.publisher import KafkaPublisher
from switchboard_ai_responder.adapters.reviews import ReviewStore
from switchboard_ai_responder.adapters.tenants import TenantSettingsStore
from switchboard_ai_responder.api import articles, conversations, feedback, reviews
from switchboard_ai_responder.api import settings as settings_api
from switchboard_ai_responder.deps import Services
from switchboard_ai_responder.metrics import ResponderMetrics
from switchboard_ai_responder.providers.embeddings import EmbedderFactory
from switchboard_ai_responder.retrieval import Retrieval
from switchboard_ai_responder.service import Operations, ProviderFactory, Responder, Stores
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.topics import Topic
from switchboard_platform.api_keys import ApiKeyView
from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.config_follower import ConfigFollower
from switchboard_platform.kafka import event_publisher, make_broker
from switchboard_platform.netsafety import overriding_resolver
from switchboard_platform.periodic import Periodic

SERVICE = handlers.SERVICE
log = logging.getLogger(__name__)

OPENAPI_TAGS = [
    {
        "name": "settings",
        "description": "Per-tenant provider, review threshold, handoff rules, rich responses.",
    },
    {
        "name": "knowledge base",
        "description": "Articles the offline provider answers from (and LLMs get as context).",
    },
    {
        "name": "conversations",
        "description": "Conversation memory; seed 002 live chat: agent messages, closing.",
    },
    {"name": "reviews", "description": "seed 003: answers held below the confidence threshold."},
    {"name": "feedback", "description": "seed 003: feedback.received."},
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics."},
]


def create_app(settings: AiResponderSettings | None = None) -> FastAPI:
    settings = settings or AiResponderSettings()
    settings.partners()  # registers SB_EXTRA_PARTNERS before anything reads the partner registry
    metrics = ResponderMetrics()
    mongo = mongo_client(settings, SERVICE)
    database = mongo[settings.mongodb_database]
    broker = make_broker(settings, SERVICE)
    runtime = Runtime(service=SERVICE, settings=settings, broker=broker, mongo=mongo, metrics=metrics)

    publisher = KafkaPublisher(
        event_publisher(
            broker,
            settings,
            Topic.PLATFORM_EVENTS,
            title="ai-responder.outbound",
            description="message.replied (AI answers, released reviews, live-agent messages), "
            "ai.response.generated|requires_review|approved|rejected, handoff.requested (seed 002 live-chat "
            "fields), handoff.closed, feedback.received. Key and partitionkey: the conversation id.",
        ),
        event_publisher(
            broker,
            settings,
            Topic.REPLIES,
            title="ai-responder.replies",
            description="Synchronous answers: one message.replied per message.received that carried "
            "ce_replyto, with ce_correlationid = that value and ce_replystatus = answered|handoff|held|silent; "
            "and a copy of each live agent's message.replied in a widget conversation (no correlation id), "
            "which ingress keeps for the widget's poll. Key: the conversation id.",
        ),
    )
    stores = Stores(
        conversations=ConversationStore(database["conversations"], settings.max_history),
        outcomes=OutcomeStore(database["outcomes"]),
        reviews=ReviewStore(database["reviews"]),
        articles=ArticleStore(database),
        tenants=TenantSettingsStore(database["tenant_settings"], settings.secrets_box()),
        feedback=FeedbackStore(database["feedback"]),
    )
    http = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=100))
    providers = ProviderFactory(http, settings.llm_timeout_s)
    retrieval = Retrieval(stores.articles, EmbedderFactory(http, settings.llm_timeout_s))
    responder = Responder(
        stores, publisher, providers, metrics, retrieval, default_idle_s=settings.session_idle_s
    )
    subscriber = handlers.register(broker, settings, responder)

    async def report_lag() -> None:
        await metrics.report_lag(subscriber.consumer)

    metrics.before_scrape.append(report_lag)
    operations = Operations(stores, publisher)

    async def sweep_conversations() -> None:
        # Idle conversations, where the server cannot delete them (no TTL indexes on FerretDB); a failed sweep
        # is retried next interval, and readers treat expired documents as gone meanwhile.
        deleted = await stores.conversations.sweep(datetime.now(UTC))
        if deleted:
            log.info("expired conversations deleted", extra={"count": deleted})

    sweeper = Periodic(
        sweep_conversations,
        settings.expiry_sweep_interval_s,
        name="conversation-expiry",
        failure="expiry sweep failed",
        logger=log,
    )

    async def start_sweeper() -> None:
        if not stores.conversations.ttl_index:
            await sweeper.start()

    api_keys = ApiKeyView()
    follower = ConfigFollower.for_service(settings, SERVICE, api_keys)

    async def start_follower() -> None:
        # The registry's API keys (digest, tenant, scopes) authenticate the management API.
        await follower.start()
        log.info("API keys view caught up", extra={"keys": len(api_keys)})

    async def ensure_indexes() -> None:
        await stores.conversations.ensure_indexes()
        await stores.reviews.ensure_indexes()
        await stores.articles.ensure_indexes()
        await stores.feedback.ensure_indexes()

    app = build_service_app(
        runtime,
        title="Switchboard ai-responder",
        description="Conversation memory, AI replies, live-agent handoff and review of AI answers.",
        routers=[settings_api.router, articles.router, conversations.router, reviews.router, feedback.router],
        on_startup=[ensure_indexes],
        after_broker_start=[start_follower, start_sweeper],
        on_shutdown=[sweeper.stop, follower.stop, http.aclose],
        openapi_tags=OPENAPI_TAGS,
        max_body_bytes=settings.max_body_bytes,
        extra_probes={"api_keys": follower.ready},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.stores = stores
    app.state.responder = responder
    app.state.services = Services(
        settings=settings,
        stores=stores,
        operations=operations,
        retrieval=retrieval,
        resolver=overriding_resolver(settings.resolve_overrides),
        api_keys=api_keys,
    )
    return app
