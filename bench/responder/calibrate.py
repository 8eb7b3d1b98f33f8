"""Thresholds chosen on the paraphrase set's dev part only, by k-fold cross-validation.

    uv run python -m bench.responder.calibrate                  # lexical, and hybrid MiniLM when installed
    uv run python -m bench.responder.calibrate --cap 0.05       # the wrong-answer share allowed on dev (0.04)

Per configuration, every dev question is retrieved once and its best passage's confidence kept. A threshold
answers the questions at or above it; the chosen one is the highest top-1 whose wrong answers (answers citing
the wrong article, every answer to an unanswerable question) stay within ``--cap`` of the questions. To see
how much that choice is worth on questions it did not see, the same choice is made on k-1 folds of dev and
scored on the last, over several shuffles: the cross-validated figures are what to expect of new questions,
the full-dev figures are what tuning shows. The held-out part is never read here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.responder.paraphrase import CONFIGURATIONS, hybrid_minilm, lexical, load


@dataclass(frozen=True)
class Row:
    confidence: float
    #: The article the best passage is from (None: nothing retrieved), and the one that answers.
    top: str | None
    expected: str | None

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


def cross_validate(rows: Sequence[Row], cap: float, folds: int, repeats: int) -> tuple[float, float]:
    """Top-1 and wrong-answer share on held-back folds, thresholds chosen on the rest."""
    generator = random.Random(16)
    right = wrong = questions = answerable = 0
    for _ in range(repeats):
        order = list(range(len(rows)))
        generator.shuffle(order)
        for fold in range(folds):
            test = [rows[i] for n, i in enumerate(order) if n % folds == fold]
            train = [rows[i] for n, i in enumerate(order) if n % folds != fold]
            r, w = outcome(test, choose(train, cap))
            right, wrong = right + r, wrong + w
            questions += len(test)
            answerable += sum(row.expected is not None for row in test)
    return right / answerable, wrong / questions


async def measure(name: str, cap: float, folds: int, repeats: int) -> None:
    centers, questions = load()
    build = {"lexical": lexical, "hybrid-minilm": hybrid_minilm}[name]
    retrievers = {center: await build(articles) for center, articles in centers.items()}
    rows = []
    for question in questions:
        if question["set"] != "dev":
            continue
        passages, _ = await retrievers[question["center"]](question["question"])
        best = passages[0] if passages else None
        rows.append(
            Row(best.confidence if best else 0.0, best.article.id if best else None, question["article"])
        )
    threshold = choose(rows, cap)
    right, wrong = outcome(rows, threshold)
    answerable = sum(row.expected is not None for row in rows)
    cv_top1, cv_wrong = cross_validate(rows, cap, folds, repeats)
    print(
        f"{name:<14} threshold {threshold:.3f}: dev top-1 {right / answerable:.1%} wrong {wrong / len(rows):.1%}"
        f" | {folds}-fold cross-validated x{repeats}: top-1 {cv_top1:.1%} wrong {cv_wrong:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=0.04, help="wrong answers allowed on dev (share)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for name in ("lexical", "hybrid-minilm"):
        if CONFIGURATIONS[name].available():
            asyncio.run(measure(name, args.cap, args.folds, args.repeats))
        else:
            print(f"{name:<14} skipped: needs {CONFIGURATIONS[name].needs}")


if __name__ == "__main__":
    main()
