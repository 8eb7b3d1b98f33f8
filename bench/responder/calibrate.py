"""Thresholds chosen on the paraphrase set's tuning parts only (dev and dev-2), by k-fold cross-validation.

    uv run python -m bench.responder.calibrate                  # lexical, and hybrid MiniLM when installed
    uv run python -m bench.responder.calibrate --cap 0.05       # the wrong-answer share allowed (0.03)

Every dev question is retrieved twice, and its best passage's confidence kept each time: with the built-in
support vocabulary (the synonym table), and without it. The second run stands for the questions the table
was not written from: the table grew out of the dev questions, so with it nearly every dev question's slang
is known, which is not true of the next customer's (the first held-out measurement showed it: 3 % wrong
answers on dev, 15 % held-out). A threshold answers the questions at or above it; the chosen one is the
highest top-1 whose wrong answers (citing the wrong article, every answer to an unanswerable question) stay
within ``--cap`` of the questions in both runs together. To see what that choice is worth on questions it
did not see, it is also made on k-1 folds of the dev questions and scored on the last, over several
shuffles. "Dev" here is both tuning parts (``paraphrase.TUNING``); the held-out parts are never read here.

Below the threshold the bot hands over, and offers the articles it found closest when the best one's confidence
reaches a lower floor. The floor chosen is the lowest at which at most ``--offered-unanswerable`` of the
unanswerable questions handed over (both runs) are offered articles: none of those answers them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bench.responder.paraphrase import CONFIGURATIONS, TUNING, Retriever, hybrid_minilm, lexical, load
from switchboard_ai_responder.domain.knowledge import Article
from switchboard_ai_responder.domain.text import Synonyms

#: No synonym groups at all: the questions' own words only.
NO_VOCABULARY = Synonyms([])
RETRIEVERS: dict[str, Callable[[Sequence[Article], Synonyms | None], Awaitable[Retriever]]] = {
    "lexical": lexical,
    "hybrid-minilm": hybrid_minilm,
}


@dataclass(frozen=True)
class Row:
    #: The dev question's position (both runs of one question fall in the same fold).
    question: int
    confidence: float
    #: The article the best passage is from (None: nothing retrieved), and the one that answers.
    top: str | None
    expected: str | None
    #: The articles of every passage retrieved (what a fallback offers).
    offered: tuple[str, ...] = ()

    @property
    def right(self) -> bool:
        return self.top is not None and self.top == self.expected


def outcome(rows: Sequence[Row], threshold: float) -> tuple[int, int]:
    answered = [row for row in rows if row.top is not None and row.confidence >= threshold]
    right = sum(row.right for row in answered)
    return right, len(answered) - right


def choose(rows: Sequence[Row], cap: float) -> float:
    """The threshold with the most right answers whose wrong ones stay within ``cap`` (the higher on ties),
    halfway between the lowest confidence it answers and the next one below."""
    candidates = sorted({row.confidence for row in rows} | {1.01}, reverse=True)
    best = (-1, 0)
    for position, threshold in enumerate(candidates):
        right, wrong = outcome(rows, threshold)
        if wrong <= cap * len(rows) and right > best[0]:
            best = (right, position)
    position = best[1]
    below = candidates[position + 1] if position + 1 < len(candidates) else 0.0
    return round((candidates[position] + below) / 2, 3)


def rates(rows: Sequence[Row], threshold: float) -> str:
    right, wrong = outcome(rows, threshold)
    answerable = sum(row.expected is not None for row in rows)
    return f"top-1 {right / answerable:.1%} wrong {wrong / len(rows):.1%}"


def cross_validate(rows: Sequence[Row], cap: float, folds: int, repeats: int) -> str:
    """Top-1 and wrong-answer share on held-back folds of questions, thresholds chosen on the rest."""
    generator = random.Random(16)
    questions = sorted({row.question for row in rows})
    tested: list[tuple[Row, float]] = []
    for _ in range(repeats):
        order = questions[:]
        generator.shuffle(order)
        for fold in range(folds):
            held = set(order[fold::folds])
            threshold = choose([row for row in rows if row.question not in held], cap)
            tested.extend((row, threshold) for row in rows if row.question in held)
    right = sum(row.right for row, threshold in tested if row.confidence >= threshold)
    wrong = sum(not row.right for row, threshold in tested if row.top and row.confidence >= threshold)
    answerable = sum(row.expected is not None for row, _ in tested)
    return f"top-1 {right / answerable:.1%} wrong {wrong / len(tested):.1%}"


def suggestion_floor(rows: Sequence[Row], threshold: float, share: float) -> tuple[float, str]:
    """The lowest confidence below ``threshold`` at which at most ``share`` of the unanswerable questions
    handed over are offered articles (none of which answers them), and what it does on ``rows``."""
    handed = [row for row in rows if row.offered and row.confidence < threshold]
    unanswerable = sorted(row.confidence for row in handed if row.expected is None)
    # Offered from the floor up: at most ``share`` of them may sit at or above it.
    allowed = int(share * len(unanswerable))
    floor = unanswerable[len(unanswerable) - allowed - 1] if allowed < len(unanswerable) else 0.0
    above = [value for value in (row.confidence for row in handed) if value > floor]
    floor = min(above, default=threshold)
    shown = [row for row in handed if row.confidence >= floor]
    found = sum(row.expected in row.offered for row in shown)
    answerable = sum(row.expected is not None for row in handed)
    return round(floor, 3), (
        f"shown for {len(shown)} of {len(handed)} handoffs, the right article among them for {found} of"
        f" {answerable} answerable ones ({found / max(len(shown), 1):.0%} of the lists), shown for"
        f" {sum(row.expected is None for row in shown)} of {len(unanswerable)} unanswerable"
    )


async def dev_rows(name: str, synonyms: Synonyms | None) -> list[Row]:
    centers, questions = load()
    retrievers = {center: await RETRIEVERS[name](articles, synonyms) for center, articles in centers.items()}
    rows = []
    for number, question in enumerate(questions):
        if question["set"] not in TUNING:
            continue
        passages = (await retrievers[question["center"]](question["question"])).passages
        best = passages[0] if passages else None
        confidence = best.confidence if best else 0.0
        offered = tuple(passage.article.id for passage in passages)
        rows.append(Row(number, confidence, best.article.id if best else None, question["article"], offered))
    return rows


async def measure(name: str, cap: float, folds: int, repeats: int, offered: float) -> None:
    known = await dev_rows(name, None)
    unknown = await dev_rows(name, NO_VOCABULARY)
    both = known + unknown
    threshold = choose(both, cap)
    print(
        f"{name:<14} threshold {threshold:.3f}: with the vocabulary {rates(known, threshold)}, without it"
        f" {rates(unknown, threshold)} | {folds}-fold cross-validated x{repeats}:"
        f" {cross_validate(both, cap, folds, repeats)}"
    )
    alone = choose(known, cap)
    print(
        f"{'':<14} (chosen with the vocabulary only: {alone:.3f}, {rates(known, alone)}; without it"
        f" {rates(unknown, alone)}; cross-validated {cross_validate(known, cap, folds, repeats)})"
    )
    floor, effect = suggestion_floor(both, threshold, offered)
    print(f"{'':<14} suggestions from {floor:.3f}: {effect}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=0.03, help="wrong answers allowed on dev (share)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--offered-unanswerable",
        type=float,
        default=0.5,
        help="unanswerable questions handed over that may be offered articles all the same (share)",
    )
    args = parser.parse_args()
    for name in RETRIEVERS:
        if CONFIGURATIONS[name].available():
            asyncio.run(measure(name, args.cap, args.folds, args.repeats, args.offered_unanswerable))
        else:
            print(f"{name:<14} skipped: needs {CONFIGURATIONS[name].needs}")


if __name__ == "__main__":
    main()
