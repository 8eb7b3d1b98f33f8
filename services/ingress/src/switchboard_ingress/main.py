"""Ingress composition root: ``uvicorn --factory switchboard_ingress.main:create_app``.

Start-up order: MongoDB indexes (best effort: without MongoDB the ingress still starts — limits count per
replica, and routes that deduplicate answer 503 until MongoDB is back), the Kafka producer,
then the integrations view catches up with the whole config topic and the replies reader takes its positions;
only then does the app serve, so no request is judged against a half-loaded configuration (``/readyz`` reports
``config_view`` as well).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from aiokafka import ConsumerRecord
from fastapi import FastAPI
from pymongo.errors import PyMongoError

from switchboard_contracts.topics import Topic
from switchboard_ingress.adapters.agent_messages import AgentMessages
from switchboard_ingress.adapters.dedup import DedupStore, MongoDedupStore
from switchboard_ingress.adapters.ratelimit import MongoRateLimiter
from switchboard_ingress.adapters.replies import KafkaTail, PendingReplies, ReplyChannel
from switchboard_ingress.api.events import router as events_router
from switchboard_ingress.api.incoming import router as incoming_router
from switchboard_ingress.api.tickets import router as tickets_router
from switchboard_ingress.api.webhooks import build_router as webhook_routes
from switchboard_ingress.api.widget import router as widget_router
from switchboard_ingress.deps import Services
from switchboard_ingress.domain.directory import Directory
from switchboard_ingress.domain.ratelimit import RateLimiter
from switchboard_ingress.metrics import IngressMetrics
from switchboard_ingress.service import BatchedKafkaEventSink, EventSink, Gateway, KafkaEventSink
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.config_follower import ConfigFollower
from switchboard_platform.kafka import event_publisher, make_broker
from switchboard_platform.periodic import Periodic

SERVICE = "ingress"
log = logging.getLogger(__name__)


@dataclass
class Adapters:
    """The I/O behind the gateway; tests pass in-memory fakes for any of them."""

    dedup: DedupStore | None = None
    limiter: RateLimiter | None = None
    replies: ReplyChannel | None = None
    agent_messages: AgentMessages | None = None
    #: Publish through the FastStream publisher (what ``TestKafkaBroker`` captures) instead of the batching
    #: producer that serves production.
    publish_through_broker: bool = False


def create_app(settings: IngressSettings | None = None, adapters: Adapters | None = None) -> FastAPI:
    settings = settings or IngressSettings()
    registered = settings.partners()
    native = ", ".join(partner.title for partner in registered if partner.inbound is not None)
    adapters = adapters or Adapters()
    metrics = IngressMetrics()
    mongo = mongo_client(settings, SERVICE)
    database = mongo[settings.mongodb_database]
    runtime = Runtime(
        service=SERVICE,
        settings=settings,
        broker=make_broker(settings, SERVICE, request_timeout_ms=int(settings.publish_timeout_s * 1000)),
        mongo=mongo,
        metrics=metrics,
    )
    to_platform_events = event_publisher(
        runtime.broker,
        settings,
        Topic.PLATFORM_EVENTS,
        title="ingress.platform-events",
        description=f"Partner webhooks ({native}), seed 002 / 003 / 004 requests and "
        "POST /v1/events, verified and normalized: message.received (with a replyto extension when the caller "
        "waits for the answer), conversation.updated, ticket.*, form.submitted; keyed by conversation id.",
    )

    directory = Directory(settings.secrets_box())
    follower = ConfigFollower.for_service(settings, SERVICE, directory)
    mongo_dedup: MongoDedupStore | None = None
    mongo_limiter: MongoRateLimiter | None = None
    dedup = adapters.dedup
    if dedup is None:
        ttl = timedelta(seconds=settings.dedup_ttl_s)
        mongo_dedup = MongoDedupStore(
            database["dedup"], ttl=ttl, on_unavailable=metrics.degraded.labels("dedup").inc
        )
        dedup = mongo_dedup
    limiter = adapters.limiter
    if limiter is None:
        mongo_limiter = MongoRateLimiter(
            database["rate_limits"], on_fallback=metrics.degraded.labels("rate_limit").inc
        )
        limiter = mongo_limiter
    # The replies topic feeds the waiters of POST /chat and the agent messages of GET /chat/messages: one tail.
    readers: list[Callable[[ConsumerRecord[bytes, bytes]], None]] = []
    replies = adapters.replies
    if replies is None:
        pending_replies = PendingReplies()
        readers.append(pending_replies.take)
        replies = pending_replies
    agent_messages = adapters.agent_messages
    if agent_messages is None:
        agent_messages = AgentMessages()
        readers.append(agent_messages.take)
    replies_tail = (
        KafkaTail(
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic(Topic.REPLIES),
            client_id="switchboard-ingress-replies",
            readers=readers,
        )
        if readers
        else None
    )
    batched_sink: BatchedKafkaEventSink | None = None
    sink: EventSink
    if adapters.publish_through_broker:
        sink = KafkaEventSink(to_platform_events, settings.publish_timeout_s)
    else:
        batched_sink = BatchedKafkaEventSink(
            settings, settings.topic(Topic.PLATFORM_EVENTS), settings.publish_timeout_s
        )
        sink = batched_sink
    gateway = Gateway(sink, dedup, limiter, metrics)

    async def ensure_indexes() -> None:
        for store in (mongo_dedup, mongo_limiter):
            if store is None:
                continue
            try:
                await store.ensure_indexes()
            except PyMongoError as exc:
                log.warning(
                    "MongoDB indexes not ensured (dedup refuses, limits count per replica): %s",
                    type(exc).__name__,
                )

    def unswept() -> list[MongoDedupStore | MongoRateLimiter]:
        """The stores whose server refused a TTL index (known once ``ensure_indexes`` ran)."""
        return [store for store in (mongo_dedup, mongo_limiter) if store is not None and not store.ttl_index]

    async def sweep_expired() -> None:
        for store in unswept():
            try:
                await store.sweep()
            except PyMongoError as exc:
                log.warning("sweep of expired documents failed: %s", type(exc).__name__)

    sweeper = Periodic(sweep_expired, settings.sweep_interval_s, name="ingress-sweeper", logger=log)

    async def start_followers() -> None:
        if batched_sink is not None:
            await batched_sink.start()
        await follower.start()
        log.info("integrations view caught up", extra={"integrations": len(directory)})
        if replies_tail is not None:
            await replies_tail.start()
        if unswept():
            await sweeper.start()

    async def stop_followers() -> None:
        await sweeper.stop()
        if replies_tail is not None:
            await replies_tail.stop()
        await follower.stop()
        if mongo_dedup is not None:
            await mongo_dedup.flush()
        if batched_sink is not None:
            await batched_sink.stop()

    app = build_service_app(
        runtime,
        title="Switchboard ingress",
        description=f"The front door: partner webhooks ({native}), the seed 002 / 003 / "
        "004 endpoints and POST /v1/events — verified, normalized and published to Kafka.",
        routers=[webhook_routes(registered), incoming_router, tickets_router, widget_router, events_router],
        on_startup=[ensure_indexes],
        after_broker_start=[start_followers],
        on_shutdown=[stop_followers],
        extra_probes={"config_view": follower.ready},
        max_body_bytes=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.to_platform_events = to_platform_events
    app.state.directory = directory
    app.state.follower = follower
    app.state.gateway = gateway
    app.state.replies = replies
    app.state.agent_messages = agent_messages
    app.state.services = Services(settings, metrics, directory, gateway, replies)
    return app
