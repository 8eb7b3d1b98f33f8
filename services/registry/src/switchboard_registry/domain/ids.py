"""Identifiers. Resources use 24-hex ObjectId strings, the shape the seed guides show (``60d21b46…``)."""

from __future__ import annotations

from bson import ObjectId


def new_id() -> str:
    return str(ObjectId())


def is_id(value: str) -> bool:
    return ObjectId.is_valid(value) and len(value) == 24
