"""The expiry helpers on the real server: a TTL index where it has them, a plain one (or none) where it has not
(FerretDB 1.x), and the sweep that deletes expired documents there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from switchboard_platform.mongo import DUPLICATE_KEY, ensure_expiry_index, insert_new, sweep_expired


async def test_the_expiry_index_is_a_ttl_index_or_else_a_plain_one(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    collection = mongo[f"{db_prefix}_shared"]["expiring"]
    ttl = await ensure_expiry_index(collection)
    index = (await collection.index_information())["expires_at_1"]
    assert index["key"] == [("expires_at", 1)]
    assert ("expireAfterSeconds" in index) is ttl
    assert await ensure_expiry_index(collection) is ttl  # idempotent: every replica runs it at start-up


async def test_without_a_plain_index_a_server_lacking_ttl_gets_no_index(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    collection = mongo[f"{db_prefix}_shared"]["unswept"]
    await collection.insert_one({"_id": "x"})  # the collection exists, so index_information answers
    ttl = await ensure_expiry_index(collection, "valid_until", plain_index=False)
    assert ("valid_until_1" in await collection.index_information()) is ttl


async def test_the_sweep_deletes_only_expired_documents(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    collection = mongo[f"{db_prefix}_shared"]["swept"]
    await ensure_expiry_index(collection)
    now = datetime.now(UTC)
    await collection.insert_many(
        [
            {"_id": "old", "expires_at": now - timedelta(minutes=1)},
            {"_id": "new", "expires_at": now + timedelta(hours=1)},
        ]
    )
    assert await sweep_expired(collection) == 1
    assert [document["_id"] async for document in collection.find({})] == ["new"]
    # A given "now": a caller's clock (the responder sweeps with the time it judges expiry by).
    assert await sweep_expired(collection, now=now + timedelta(hours=2)) == 1
    assert await collection.count_documents({}) == 0


async def test_insert_new_stores_each_document_once_and_names_the_refused_ones(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    # The idempotency the append-only projections rely on, checked on the real server (FerretDB v1 too):
    # an unordered insert_many goes on past duplicate keys, of _id and of another unique index.
    collection = mongo[f"{db_prefix}_shared"]["appended"]
    await collection.create_index("key", unique=True)
    await collection.insert_one({"_id": "a", "key": 1})

    refused = await insert_new(
        collection,
        [
            {"_id": "a", "key": 10},  # stored already
            {"_id": "b", "key": 2},
            {"_id": "b", "key": 20},  # twice in the same batch
            {"_id": "c", "key": 1},  # another unique index
            {"_id": "d", "key": 4},
        ],
    )

    assert refused == {0, 2, 3}
    assert {doc["_id"]: doc["key"] async for doc in collection.find()} == {"a": 1, "b": 2, "d": 4}


async def test_insert_new_raises_on_an_error_that_is_not_a_duplicate(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    collection = mongo[f"{db_prefix}_shared"]["refusing"]
    await collection.insert_one({"_id": "a"})

    # A field name starting with "$" is refused by the server (not a duplicate): the batch must not count as
    # stored, so the consumer does not commit it.
    with pytest.raises(BulkWriteError) as raised:
        await insert_new(collection, [{"_id": "a"}, {"_id": "b", "$bad": 1}])

    assert {error["code"] for error in raised.value.details["writeErrors"]} - {DUPLICATE_KEY}


async def test_lookups_and_guarded_updates_by_id_use_the_id_index_on_ferretdb(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    """deploy/local builds FerretDB v1 with ferretdb/patches/sqlite-id-index.patch: a filter on ``_id`` (alone,
    or with other conditions like the delivery log's version guard) is answered through the unique index on
    ``_id`` ("SEARCH ... USING INDEX" in SQLite's plan), not by scanning the table, which the release does. On
    MongoDB this holds without any patch; the plan's shape differs, so the test is FerretDB's."""
    info = await mongo.admin.command("buildInfo")
    if "ferretdbVersion" not in info:
        pytest.skip("not FerretDB: MongoDB answers _id lookups from its _id index")
    collection = mongo[f"{db_prefix}_shared"]["by_id"]
    await collection.insert_many([{"_id": f"d{n}", "version": 1} for n in range(50)])

    for filter_ in ({"_id": "d7"}, {"_id": "d7", "version": 1}):
        explained = await collection.database.command("explain", {"find": "by_id", "filter": filter_})
        plan = " ".join(explained["queryPlanner"]["Plan"])
        assert "USING INDEX" in plan, (filter_, plan)
        assert explained["filterPushdown"] is True

    # The guard still guards: the pushdown only narrows what is read, the whole filter decides.
    assert (await collection.update_one({"_id": "d7", "version": 2}, {"$set": {"x": 1}})).matched_count == 0
    assert (
        await collection.update_one({"_id": "d7", "version": 1}, {"$set": {"version": 2}})
    ).matched_count == 1
    assert await collection.find_one({"_id": "d7", "version": 1}) is None
    assert (await collection.find_one({"_id": "d7", "version": 2})) == {"_id": "d7", "version": 2}
    assert (await collection.delete_one({"_id": "d8", "version": 5})).deleted_count == 0
    assert await collection.count_documents({}) == 50
