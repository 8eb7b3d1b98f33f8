"""Text normalisation for matching: phrase matching (handoff, intents) and retrieval tokens.

``normalize`` makes matching case- and punctuation-insensitive ("Human, please!" → "human please").
``tokens`` is what BM25 indexes and queries: normalised words minus stop words, through a light English
stemmer (plural, -ing, -ed, -ly suffixes) so "resetting passwords" meets "reset password". The stemmer is
deliberately small and deterministic: both sides of the comparison go through it, which is all BM25 needs.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

#: English function words plus chat filler ("please", "hi", "help") that says nothing about the topic.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can cannot could did do does doing don down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just let me more most my
    myself no nor not now of off on once only or other ought our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves im ive id youre dont doesnt cant wont isnt arent didnt hi hello hey please thanks
    thank help need want like know tell get got also anyone someone something way ok okay us s t
    """.split()
)


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; punctuation and accents do not matter."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_ish = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NON_WORD.sub(" ", ascii_ish.replace("'", "").lower()).split())


def contains_phrase(normalized_text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``normalized_text`` as whole words ("live chat" is in "a live chat please",
    not in "deliver chats")."""
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalized_text} "


def stem(word: str) -> str:
    stemmed = _strip_suffix(word)
    # "cancelled"/"cancel", "installing"/"install": one l for both spellings; "charged"/"charge", "updating"/
    # "update": no final e. Short words ("bill", "free") keep theirs.
    if len(stemmed) > 4 and (stemmed.endswith("ll") or stemmed.endswith("e")):
        return stemmed[:-1]
    return stemmed


def _strip_suffix(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement, minimum in (
        ("ational", "ate", 8),
        ("ization", "ize", 8),
        ("iness", "y", 6),
        ("fulness", "ful", 8),
        ("ments", "ment", 6),
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "", 6),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= minimum:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "sses", "zes")):
                return word[:-1]
            base = word[: len(word) - len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(base) >= 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # running → run, cancelled → cancel (but billing → bill)
            return base
    return word


def tokens(text: str) -> list[str]:
    return [stem(word) for word in normalize(text).split() if word not in STOP_WORDS and len(word) > 1]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.split(text) if part.strip()]


#: Generic customer-support vocabulary: a word users type and the words help articles use for the same thing.
#: Both directions are added; matching happens on stems. Expansion widens recall without touching coverage
#: weights (a synonym counts as the word it stands for).
_SYNONYM_GROUPS = (
    ("change", "update", "edit", "modify", "switch"),
    ("delete", "remove", "erase"),
    ("cancel", "stop", "terminate"),
    ("refund", "reimburse", "reimbursement"),
    ("member", "colleague", "teammate", "coworker", "people", "user"),
    ("invite", "add"),
    ("login", "log", "sign", "signin"),
    ("declined", "failed", "rejected", "bounced"),
    ("price", "pricing", "cost", "costs"),
    ("upgrade", "bigger", "larger"),
    ("downgrade", "smaller", "cheaper"),
    ("email", "mail", "inbox"),
    ("phone", "mobile", "device", "smartphone"),
    ("admin", "administrator"),
    ("invoice", "receipt", "bill"),
    ("card", "payment"),
    ("display", "screen", "monitor"),
    ("parcel", "package", "shipment", "delivery"),
    ("offline", "internet", "connection"),
    ("export", "download", "backup"),
    ("import", "migrate", "upload"),
    ("token", "key"),
    ("encrypted", "encryption", "secure"),
    ("summary", "digest"),
)


def _synonym_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for group in _SYNONYM_GROUPS:
        stems = {stem(word) for word in group}
        for member in stems:
            table.setdefault(member, set()).update(stems - {member})
    return {word: tuple(sorted(alternatives)) for word, alternatives in table.items()}


SYNONYMS = _synonym_table()


def synonyms(term: str) -> tuple[str, ...]:
    return SYNONYMS.get(term, ())
