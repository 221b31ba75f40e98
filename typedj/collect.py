"""Garbage collection: remove stored objects that no row references any more.

Deleting rows never deletes objects (another row may share one: objects are stored once
per schema). ``gc`` lists a schema's hash-addressed objects, then reads every reference
the schema's tables hold, and removes objects that are unreferenced *and* older than a
grace period: an insert in flight uploads (or refreshes) its objects before its row
lands, so its objects are young and survive. Files linked by ``<filepath@store>`` are
the user's and are never touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .backend.connection import connect
from .errors import StoreError
from .stores.backends import ObjectInfo
from .stores.spec import spec_of
from .stores.store import Store, get_store


@dataclass
class GCReport:
    """What a collection found and did; sizes in bytes."""

    dry_run: bool
    objects: int = 0
    bytes: int = 0
    referenced: int = 0
    referenced_bytes: int = 0
    unreferenced: int = 0
    unreferenced_bytes: int = 0
    young: int = 0
    young_bytes: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    missing: list[str] = field(default_factory=list)
    removable: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        action = "would delete" if self.dry_run else "deleted"
        done = len(self.removable) if self.dry_run else self.deleted
        done_bytes = (self.unreferenced_bytes - self.young_bytes) if self.dry_run else self.deleted_bytes
        text = (
            f"{self.objects} objects ({self.bytes} B): {self.referenced} referenced, "
            f"{self.unreferenced} unreferenced ({self.unreferenced_bytes} B), of which "
            f"{self.young} within the grace period; {action} {done} ({done_bytes} B)"
        )
        if self.missing:
            text += f"; {len(self.missing)} referenced objects are missing from their store"
        return text


def _schema_names(schemas: Any) -> list[str]:
    items = [schemas] if isinstance(schemas, str) or hasattr(schemas, "name") else list(schemas)
    return [s if isinstance(s, str) else str(s.name) for s in items]


def _connection(schemas: Any, connection: Any) -> Any:
    if connection is not None:
        return connection
    items = [schemas] if isinstance(schemas, str) or hasattr(schemas, "name") else list(schemas)
    for s in items:
        if hasattr(s, "connection"):
            return s.connection
    return connect()


def _columns(conn: Any, schema: str) -> list[tuple[str, str, str]]:
    """``(table, column, store)`` of every hash-addressed column in ``schema``."""
    out = []
    for table, table_def in conn.catalog.load_catalog(schema).items():
        for attr in table_def.heading:
            if attr.kind in {"external", "attach"} and attr.store is not None:
                out.append((str(table), attr.name, attr.store))
    return out


def _references(conn: Any, schema: str, column_store: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """``(store name, path)`` of every reference held in the schema's tables."""
    d = conn.dialect
    refs = []
    for table, column, declared_store in column_store:
        sql = f"SELECT {d.quote(column)} FROM {d.table(schema, table)} WHERE {d.quote(column)} IS NOT NULL"
        for (value,) in conn.query(sql).fetchall():
            try:
                ref = json.loads(value) if isinstance(value, str | bytes | bytearray) else value
                refs.append((ref.get("store") or declared_store, str(ref["path"])))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
    return refs


def gc(
    schemas: Any,
    *,
    store: str | None = None,
    grace: timedelta | float = timedelta(hours=24),
    dry_run: bool = True,
    connection: Any = None,
) -> GCReport:
    """Find, and unless ``dry_run``, delete unreferenced objects older than ``grace``.

    ``schemas``: a ``Schema``, a schema name, or several. ``store``: only this store
    (default: every store the schemas' tables use). ``grace``: a ``timedelta`` or
    seconds. Returns a ``GCReport`` with counts and bytes.
    """
    conn = _connection(schemas, connection)
    grace_s = grace.total_seconds() if isinstance(grace, timedelta) else float(grace)
    report = GCReport(dry_run=dry_run)
    for schema in _schema_names(schemas):
        columns = _columns(conn, schema)
        names = {s for _, _, s in columns}
        if store is not None:
            names = {n for n in names if spec_of(n).identity == spec_of(store).identity} or {store}
        places: dict[tuple[str, ...], Store] = {}
        for name in sorted(names):
            s = get_store(name)
            places.setdefault(s.spec.identity, s)
        for identity, place in places.items():
            _collect(conn, schema, place, identity, columns, grace_s, report)
    return report


def _collect(
    conn: Any,
    schema: str,
    place: Store,
    identity: tuple[str, ...],
    columns: list[tuple[str, str, str]],
    grace_s: float,
    report: GCReport,
) -> None:
    prefix = f"{place.spec.hash_prefix}/{schema}" if place.spec.hash_prefix else schema
    listed: dict[str, ObjectInfo] = {o.path: o for o in place.backend.listing(prefix)}
    referenced: set[str] = set()
    for store_name, path in _references(conn, schema, columns):
        try:
            same = get_store(store_name).spec.identity == identity
        except StoreError:
            same = False
        if same:
            referenced.add(path)
    now = time.time()
    report.objects += len(listed)
    report.bytes += sum(o.size for o in listed.values())
    report.missing += sorted(referenced - set(listed))
    candidates: list[ObjectInfo] = []
    for path, info in listed.items():
        if path in referenced:
            report.referenced += 1
            report.referenced_bytes += info.size
            continue
        report.unreferenced += 1
        report.unreferenced_bytes += info.size
        if now - info.modified < grace_s:
            report.young += 1
            report.young_bytes += info.size
        else:
            candidates.append(info)
    report.removable += [c.path for c in candidates]
    if report.dry_run or not candidates:
        return
    doomed = _still_old(place, candidates, grace_s)
    place.backend.delete([o.path for o in doomed])
    report.deleted += len(doomed)
    report.deleted_bytes += sum(o.size for o in doomed)


def _still_old(place: Store, candidates: Iterable[ObjectInfo], grace_s: float) -> list[ObjectInfo]:
    """Re-check each candidate just before deletion: an insert may have refreshed it since listing."""
    now = time.time()
    out = []
    for info in candidates:
        current = place.backend.stat(info.path)
        if current is not None and now - current.modified >= grace_s:
            out.append(current)
    return out
