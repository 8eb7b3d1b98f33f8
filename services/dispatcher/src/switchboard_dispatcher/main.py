"""Dispatcher composition root: ``uvicorn --factory switchboard_dispatcher.main:create_app``.

Start-up order matters: the config view catches up with the whole config topic before the fan-out and
delivery stages start, so no event is matched against a half-loaded configuration.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from faststream import AckPolicy

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_dispatcher import commands
from switchboard_dispatcher.adapters.health import EndpointHealth
from switchboard_dispatcher.adapters.http import HttpSender, policy_from
from switchboard_dispatcher.adapters.producer import HotPathProducer
from switchboard_dispatcher.adapters.schedule import Schedule
from switchboard_dispatcher.engine import DeliveryEngine
from switchboard_dispatcher.fanout import FanOut, tasks_for
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_dispatcher.view import ConfigView
from switchboard_platform.app import Runtime, build_service_app, mongo_client
from switchboard_platform.config_follower import ConfigFollower
from switchboard_platform.consumers import KafkaTopicConsumer
from switchboard_platform.kafka import decode_or_skip, event_publisher, make_broker, publish_event
from switchboard_platform.netsafety import overriding_resolver

SERVICE = "dispatcher"


def stage_consumer(settings: DispatcherSettings, topic: Topic, stage: str) -> KafkaTopicConsumer:
    """The consumer group member of one of the pipeline's stages: it commits what the stage settled."""
    return KafkaTopicConsumer(
        bootstrap=settings.kafka_bootstrap,
        topic=settings.topic(topic),
        group_id=settings.group_id(SERVICE, stage),
        client_id=f"switchboard-{SERVICE}-{stage}",
        max_poll_records=500,
    )


def create_app(settings: DispatcherSettings | None = None) -> FastAPI:
    settings = settings or DispatcherSettings()
    settings.partners()  # registers SB_EXTRA_PARTNERS before anything reads the partner registry
    metrics = DispatcherMetrics()
    mongo = mongo_client(settings, SERVICE)
    database = mongo[settings.mongodb_database]
    broker = make_broker(settings, SERVICE, linger_ms=2)
    runtime = Runtime(service=SERVICE, settings=settings, broker=broker, mongo=mongo, metrics=metrics)

    # Declared for the AsyncAPI document; HotPathProducer writes these records.
    broker.publisher(
        settings.topic(Topic.DELIVERIES),
        title="dispatcher.deliveries",
        description="Delivery tasks keyed <kind>:<endpoint id> (internal).",
    )
    # Declared for the AsyncAPI document; HotPathProducer writes these records.
    broker.publisher(
        settings.topic(Topic.DELIVERY_DEAD_LETTER),
        title="dispatcher.dead-letters",
        description="Tasks that were not delivered (exhausted, failed, skipped), keyed by endpoint id.",
    )
    # Declared for the AsyncAPI document; HotPathProducer writes these records.
    event_publisher(
        broker,
        settings,
        Topic.DELIVERY_ATTEMPTS,
        title="dispatcher.attempts",
        description="One delivery.succeeded|failed|retry_scheduled|exhausted event per attempt.",
    )
    to_platform_events = event_publisher(
        broker,
        settings,
        Topic.PLATFORM_EVENTS,
        title="dispatcher.platform-events",
        description="webhook.disabled when an endpoint answers 410 Gone or fails for too long.",
    )

    view = ConfigView(settings.secrets_box())
    follower = ConfigFollower.for_service(settings, SERVICE, view)
    sender = HttpSender(
        policy_from(settings.allow_loopback_urls, settings.allow_private_urls),
        overriding_resolver(settings.resolve_overrides),
        max_connections=settings.max_connections,
    )
    schedule = Schedule(
        database["schedule"],
        lease_s=settings.schedule_lease_s,
        poll_interval_s=settings.schedule_poll_interval_s,
    )
    health = EndpointHealth(database["endpoint_health"], timedelta(seconds=settings.disable_after_failing_s))

    async def count_pending_retries() -> None:
        metrics.retries_pending.set(await schedule.pending())

    metrics.before_scrape.append(count_pending_retries)

    hot = HotPathProducer(settings)

    async def publish_platform_event(event: CloudEvent) -> None:
        await publish_event(to_platform_events, event)

    async def fan_out_attempt(event: CloudEvent) -> None:
        # delivery.* events go to the webhooks that asked for them by name (ConfigView.targets_for says who).
        tasks = tasks_for(view, event)
        if tasks:
            await hot.tasks(tasks)
            for task in tasks:
                metrics.child(metrics.tasks_created, task.endpoint_kind).inc()

    engine = DeliveryEngine(
        consumer=stage_consumer(settings, Topic.DELIVERIES, "deliveries"),
        view=view,
        sender=sender,
        schedule=schedule,
        health=health,
        metrics=metrics,
        publish_attempt=hot.attempt,
        publish_platform_event=publish_platform_event,
        publish_dead_letter=hot.dead_letter,
        fan_out_attempt=fan_out_attempt,
        max_unsettled_per_partition=settings.max_unsettled_per_partition,
        commit_interval_s=settings.commit_interval_s,
    )
    fanout = FanOut(
        consumer=stage_consumer(settings, Topic.PLATFORM_EVENTS, "fanout"),
        view=view,
        publish=hot.tasks,
        metrics=metrics,
        commit_interval_s=settings.commit_interval_s,
    )

    dead_letters = commands.dead_letter_reader(
        settings.kafka_bootstrap, settings.topic(Topic.DELIVERY_DEAD_LETTER)
    )

    @broker.subscriber(
        settings.topic(Topic.DISPATCH_COMMANDS),
        group_id=settings.group_id(SERVICE, "commands"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decode_or_skip,
        title="dispatcher.commands",
        description="Send a test event, redeliver a delivery, recover an endpoint.",
    )
    async def on_command(command: CloudEvent | None) -> None:
        if command is None:
            return
        await commands.handle(command, hot.tasks, dead_letters)

    async def start_pipeline() -> None:
        await follower.start()
        await hot.start()
        await sender.start()
        schedule.start(hot.tasks)
        await engine.start()
        await fanout.start()

    async def stop_pipeline() -> None:
        await fanout.stop()
        await engine.stop()
        await schedule.stop()
        await sender.close()
        await hot.stop()
        await follower.stop()

    app = build_service_app(
        runtime,
        title="Switchboard dispatcher",
        description="Fans events out to subscribed endpoints, signs them, retries durably and records every attempt.",
        on_startup=[schedule.ensure_indexes],
        after_broker_start=[start_pipeline],
        on_shutdown=[stop_pipeline],
        extra_probes={"config_view": follower.ready},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.view = view
    app.state.engine = engine
    app.state.schedule = schedule
    app.state.sender = sender
    return app
