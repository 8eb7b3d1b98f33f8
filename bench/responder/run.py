"""Evaluate the knowledge-base provider: top-1 article accuracy and reply latency.

    uv run python -m bench.responder.run            # offline: retrieval + answer composition in process
    uv run python -m bench.responder.run --e2e      # also over real Kafka + FerretDB (SB_KAFKA_BOOTSTRAP, SB_MONGODB_URL)

Offline, every question goes through what the responder does for a user message (intent detection, BM25
retrieval, answer composition) and the first cited article is compared with the expected one. ``--e2e`` starts
the real service, seeds the articles through its API, publishes each question as ``message.received`` with
``ce_replyto`` (the way ingress's widget endpoint will) and times the synchronous answer on
``switchboard.replies``. Results go to ``bench/results/responder.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentiles
from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.intents import Intent, detect
from switchboard_ai_responder.domain.knowledge import Article, KnowledgeIndex
from switchboard_ai_responder.domain.tenants import TenantSettings

HERE = Path(__file__).parent
RESULTS = HERE.parent / "results" / "responder.json"
TENANT = "bench"


def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    articles = json.loads((HERE / "knowledge_base.json").read_text())["articles"]
    questions = json.loads((HERE / "questions.json").read_text())["questions"]
    return articles, questions


def cited(answer: answers.Answer) -> str | None:
    return answer.citations[0].article_id if answer.citations else None


def offline(articles: list[dict[str, Any]], questions: list[dict[str, Any]]) -> dict[str, Any]:
    now = datetime.now(UTC)
    index = KnowledgeIndex([Article(created_at=now, updated_at=now, **article) for article in articles])
    settings = TenantSettings()
    rows = []
    for question in questions:
        started = time.perf_counter()
        intent = detect(question["question"], settings.all_handoff_phrases())
        passages = index.search(question["question"], limit=3)
        answer = answers.from_knowledge_base(question["question"], passages, settings.min_confidence)
        elapsed = time.perf_counter() - started
        rows.append(
            {
                **question,
                "intent": intent.value,
                "retrieved": passages[0].article.id if passages else None,
                "confidence": passages[0].confidence if passages else 0.0,
                "coverage": passages[0].coverage if passages else 0.0,
                "cited": cited(answer),
                "latency_ms": elapsed * 1000,
            }
        )
    return summarize(rows)


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    for name in ("dev", "held-out", "out-of-scope"):
        subset = [row for row in rows if row["set"] == name]
        if not subset:
            continue
        if name == "out-of-scope":
            sets[name] = {"questions": len(subset), "declined": sum(row["cited"] is None for row in subset)}
        else:
            sets[name] = {
                "questions": len(subset),
                "top1_retrieved": sum(row["retrieved"] == row["article"] for row in subset),
                "top1_cited": sum(row["cited"] == row["article"] for row in subset),
            }
    answerable = [row for row in rows if row["article"] is not None]
    latencies = [row["latency_ms"] for row in rows]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "top1_retrieval_accuracy": sum(r["retrieved"] == r["article"] for r in answerable) / len(answerable),
        "top1_cited_accuracy": sum(r["cited"] == r["article"] for r in answerable) / len(answerable),
        "by_set": sets,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 3),
            "p95": round(percentiles(latencies, (95,))["p95"], 3),
            "max": round(max(latencies), 3),
        },
        "misses": [
            {key: row[key] for key in ("question", "article", "retrieved", "cited", "set")}
            | {"confidence": round(row["confidence"], 3)}
            for row in rows
            if row["cited"] != row["article"]
        ],
        "intents_not_question": [row["question"] for row in rows if row["intent"] != Intent.QUESTION.value],
    }


# -- end to end ---------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def service(namespace: str) -> AsyncIterator[Any]:
    from asgi_lifespan import LifespanManager

    from switchboard_ai_responder.main import create_app
    from switchboard_ai_responder.settings import AiResponderSettings
    from switchboard_platform.kafka_admin import delete_topics, ensure_topics
    from switchboard_platform.settings import Environment

    settings = AiResponderSettings(
        environment=Environment.TEST,
        topic_namespace=namespace,
        mongodb_database=f"bench_{namespace.strip('.')}",
    )
    await ensure_topics(settings.kafka_bootstrap, namespace)
    app = create_app(settings)
    try:
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            try:
                yield app
            finally:
                await app.state.runtime.mongo.drop_database(settings.mongodb_database)
    finally:
        await delete_topics(settings.kafka_bootstrap, namespace)


async def end_to_end(articles: list[dict[str, Any]], questions: list[dict[str, Any]]) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from switchboard_ai_responder.domain.knowledge import ArticleIn
    from switchboard_contracts.cloudevents import CloudEvent
    from switchboard_contracts.events import (
        CORRELATION_EXTENSION,
        REPLY_TO_EXTENSION,
        Author,
        MessageReceived,
    )
    from switchboard_contracts.topics import Topic

    namespace = f"bench{uuid.uuid4().hex[:8]}."
    async with service(namespace) as app:
        settings = app.state.settings
        for article in articles:
            fields = {key: article[key] for key in ("title", "body", "link", "tags")}
            await app.state.stores.articles.create(TENANT, ArticleIn(**fields), article_id=article["id"])
        waiting: dict[str, asyncio.Future[CloudEvent]] = {}
        consumer = AIOKafkaConsumer(
            settings.topic(Topic.REPLIES),
            bootstrap_servers=settings.kafka_bootstrap,
            auto_offset_reset="earliest",
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await consumer.start()
        await producer.start()

        async def listen() -> None:
            async for record in consumer:
                event = CloudEvent.from_kafka(record.value, record.headers)
                future = waiting.get(event.extensions.get(CORRELATION_EXTENSION, ""))
                if future is not None and not future.done():
                    future.set_result(event)

        listener = asyncio.create_task(listen())
        rows = []
        try:
            for number, question in enumerate(questions):
                correlation = uuid.uuid4().hex
                conversation = f"bench-{number}"
                message = MessageReceived(
                    tenant_id=TENANT,
                    provider="widget",
                    conversation_id=conversation,
                    message_id=f"m-{number}",
                    author=Author(id=f"visitor-{number}", type="user"),
                    text=question["question"],
                    sent_at=datetime.now(UTC),
                )
                event = CloudEvent(
                    source="//bench",
                    type="message.received",
                    tenant=TENANT,
                    partitionkey=conversation,
                    data=message,
                    extensions={REPLY_TO_EXTENSION: correlation},
                )
                waiting[correlation] = asyncio.get_running_loop().create_future()
                started = time.perf_counter()
                await producer.send_and_wait(
                    settings.topic(Topic.PLATFORM_EVENTS),
                    event.kafka_value(),
                    key=event.kafka_key(),
                    headers=event.kafka_header_list(),
                )
                reply = await asyncio.wait_for(waiting[correlation], timeout=30)
                elapsed = time.perf_counter() - started
                items = (reply.data.get("content_attributes") or {}).get("items") or []
                links = {article["link"]: article["id"] for article in articles}
                rows.append(
                    {
                        **question,
                        "cited": links.get(items[0].get("link"))
                        if items and reply.data.get("confidence")
                        else None,
                        "latency_ms": elapsed * 1000,
                    }
                )
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await producer.stop()
            await consumer.stop()
    latencies = [row["latency_ms"] for row in rows]
    answerable = [row for row in rows if row["article"] is not None]
    return {
        "questions": len(rows),
        "top1_cited_accuracy": sum(r["cited"] == r["article"] for r in answerable) / len(answerable),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p95": round(percentiles(latencies, (95,))["p95"], 2),
            "max": round(max(latencies), 2),
        },
        "measured": "publish of message.received (acks=all) to the correlated message.replied read from "
        "switchboard.replies; one question at a time, a new conversation each",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--e2e", action="store_true", help="also measure over real Kafka + FerretDB")
    parser.add_argument("--no-write", action="store_true", help="print without updating bench/results")
    args = parser.parse_args()
    articles, questions = load()
    result: dict[str, Any] = {
        "knowledge_base": {"articles": len(articles)},
        "provider": "knowledge-base",
        "min_confidence": TenantSettings().min_confidence,
        "offline": offline(articles, questions),
    }
    if args.e2e:
        result["end_to_end"] = asyncio.run(end_to_end(articles, questions))
    text = json.dumps(result, indent=2)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
