"""A service's in-memory view of the registry's configuration, fed by a ``ConfigFollower``.

Every service that follows the config topic keeps the same rules, written here once:

- the highest ``version`` per key wins: the registry may publish a change twice (two replicas, a retried
  relay), and an older version arriving late is ignored;
- a tombstone (or a record this service cannot read) removes the entity;
- secrets arrive as ``SecretsBox`` ciphertext and are revealed by ``reveal``, with one Fernet decryption per
  ciphertext until the next change.

A service's view is a ``ConfigView`` with one ``Table`` per entity it follows; the table's ``on_change``
callback keeps the service's own indexes (by tenant, by token digest…) in step, typed with the entity's
record model. Lookups are dictionary reads; nothing is parsed or validated after a record is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from switchboard_contracts.config_records import ConfigRecord, Entity, config_key
from switchboard_platform.secrets_box import SecretsBox, SecretsBoxError

R = TypeVar("R", bound=ConfigRecord)

SEALED_MARK = "enc:"

#: (entity id, the record before the change or None, the record after it or None for a deletion)
OnChange = Callable[[str, R | None, R | None], object]


class Table(Generic[R]):
    """One entity's live records, by entity id."""

    def __init__(self, model: type[R], on_change: OnChange[R] | None = None) -> None:
        self.model = model
        self._entity: Entity = model.entity
        self.records: dict[str, R] = {}
        self._on_change = on_change

    @property
    def entity(self) -> Entity:
        return self._entity

    def get(self, entity_id: str) -> R | None:
        return self.records.get(entity_id)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[R]:
        return iter(self.records.values())

    def put(self, entity_id: str, record: ConfigRecord | None) -> None:
        """Replace ``entity_id``'s record (None removes it) and tell ``on_change``."""
        if record is not None and not isinstance(record, self.model):
            raise TypeError(f"{type(record).__name__} is not a {self.model.__name__}")
        old = self.records.pop(entity_id, None)
        if record is not None:
            self.records[entity_id] = record
        if self._on_change is not None and (old is not None or record is not None):
            self._on_change(entity_id, old, record)


class EntityTable(Protocol):
    """A ``Table`` of any entity, as the view applies records to it."""

    @property
    def entity(self) -> Entity: ...

    def put(self, entity_id: str, record: ConfigRecord | None) -> None: ...


class ConfigView:
    """The records of the entities in ``tables``, at their highest version."""

    def __init__(self, *tables: EntityTable, box: SecretsBox | None = None) -> None:
        self.box = box
        self.tables: dict[Entity, EntityTable] = {table.entity: table for table in tables}
        #: The entities this view follows: a follower skips every other record without parsing it.
        self.entities: frozenset[Entity] = frozenset(self.tables)
        self.versions: dict[str, int] = {}
        #: ciphertext → plaintext, so a lookup does not pay for Fernet decryption; cleared on every change.
        self._plain: dict[str, str] = {}

    def apply(self, entity: Entity, entity_id: str, version: int | None, record: ConfigRecord | None) -> bool:
        """Apply one record (None: a deletion, or a record this service could not read). Returns False when it
        changed nothing: an entity this view does not follow, or an older version than the one held."""
        table = self.tables.get(entity)
        if table is None:
            return False
        key = config_key(entity, entity_id)
        if version is not None:
            if version < self.versions.get(key, 0):
                return False
            self.versions[key] = version
        self._plain.clear()
        table.put(entity_id, record)
        return True

    def reveal(self, value: str, *, sealed: bool = False) -> str:
        """The plaintext of a sealed value (``enc:…``), and any other value as it is unless ``sealed`` says it
        must be ciphertext. ``SecretsBoxError`` when it does not decrypt with this service's keys."""
        # "enc:" rather than the full "enc:v1:" prefix: a value that looks sealed but is not must fail, not
        # pass as plaintext (the registry refuses plaintext values starting with "enc:").
        if not sealed and not value.startswith(SEALED_MARK):
            return value
        plain = self._plain.get(value)
        if plain is None:
            if self.box is None:
                raise SecretsBoxError("this view has no SecretsBox to reveal secrets with")
            plain = self._plain[value] = self.box.decrypt(value)
        return plain
