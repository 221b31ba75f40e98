"""``import_dataset``: load a dataset into a server or an embedded database.

Tables are created parents first (an existing table must have the same definition);
objects go into the target's stores; then every row, in dependency order, in one
transaction: a row already present with the same content is skipped, a row whose key
exists with different content stops the import (``ConflictError``) and nothing is
written. Tables the import created are dropped again when it fails.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import graph as graphs
from ..backend.connection import Connection, connect
from ..declare import compare
from ..errors import ConflictError, DeclarationError, VerificationError
from ..heading import Attribute, TableDef
from ..query.expression import Query
from ..schema import Schema
from ..stores import hashing
from ..stores.store import get_store
from . import archive, database, manifest, objects, rows

log = logging.getLogger("typedj")


@dataclass
class ImportReport:
    """What an import did: rows inserted and skipped (already there) per table, objects stored."""

    inserted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{sum(self.inserted.values())} rows inserted, {sum(self.skipped.values())} already "
                f"present, {self.objects} objects, {len(self.created)} tables created")


class _Renamer:
    """Schema names of the dataset as the target calls them, in definitions, lineage and references."""

    def __init__(self, mapping: Mapping[str, str]):
        self.mapping = dict(mapping)

    def __call__(self, schema: str) -> str:
        return self.mapping.get(schema, schema)

    def table(self, t: TableDef) -> TableDef:
        fks = tuple(replace(fk, parent_schema=self(fk.parent_schema)) for fk in t.foreign_keys)
        return replace(t, schema=self(t.schema), foreign_keys=fks)

    def lineage(self, lineage: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for attr, origin in lineage.items():
            schema, dot, rest = origin.partition(".")
            out[attr] = f"{self(schema)}{dot}{rest}" if dot else origin
        return out

    def reference(self, attr: Attribute, text: Any, schema: str) -> Any:
        """A stored object's reference as the target schema holds it: its path names the
        schema (``_hash/<schema>/<hash>``, ``_schema/<schema>/<table>/...``)."""
        if text is None or attr.kind == "filepath" or self(schema) == schema:
            return text
        ref = json.loads(text)
        spec = get_store(ref.get("store") or attr.store).spec
        if attr.kind in objects.SCHEMA_ADDRESSED:
            prefix = f"{spec.schema_prefix}/" if spec.schema_prefix else ""
            old = f"{prefix}{schema}/"
            if str(ref["path"]).startswith(old):
                ref["path"] = f"{prefix}{self(schema)}/" + str(ref["path"])[len(old):]
            return json.dumps(ref, separators=(", ", ": "))
        if ref.get("schema") is None:
            return text
        ref["schema"] = self(ref["schema"])
        ref["path"] = hashing.object_path(spec.hash_prefix, ref["schema"], ref["hash"])
        return json.dumps(ref, separators=(", ", ": "))


def import_dataset(
    source: str | os.PathLike[str],
    *,
    connection: Connection | None = None,
    schemas: Mapping[str, str] | None = None,
    verify: bool = True,
    workers: int = 8,
    progress: bool = True,
) -> ImportReport:
    """Load the dataset ``source`` (folder or archive) into ``connection`` (default: the
    configured database); ``schemas`` renames schemas (``{"lab": "lab_copy"}``).

    The dataset is verified against its manifest first (``verify=False`` skips it). All
    rows go in one transaction: rows already present with the same content are skipped;
    a row with an existing key and different content raises ``ConflictError`` naming
    the table and the key, and nothing is written.
    """
    target = connection or connect()
    rename = _Renamer(schemas or {})
    with archive.opened(source) as root:
        if verify:
            checked = manifest.check(root, str(source), workers)
            if not checked.ok:
                raise VerificationError(str(source), checked.problems)
        descriptor = manifest.read_descriptor(root)
        src = database.read_only(root / database.FILE)
        try:
            return _load(src, target, root, descriptor, rename, workers, progress)
        finally:
            src.close()


def _load(src: Connection, target: Connection, root: Path, descriptor: dict[str, Any], rename: _Renamer,
          workers: int, progress: bool) -> ImportReport:
    names = list(descriptor.get("typedj", {}).get("schemas", []))
    sources = {s: Schema(s, connection=src, create_schema=False, create_tables=False) for s in names}
    graph = graphs.build(t for s in sources.values() for t in s.tables.values() if not t.name.startswith("~"))
    order = graphs.ordered(graph)
    report = ImportReport()
    created_schemas, targets = _declare(sources, target, order, rename, report)
    try:
        report.objects = _store_objects(sources, root, order, rename, workers, progress)
        with target.transaction():
            for name in order:
                _load_rows(sources, targets, name, rename, report, progress)
    except BaseException:
        _undo(target, report.created, created_schemas)
        raise
    graphs.invalidate(target)
    log.info("imported: %s", report)
    return report


def _declare(sources: dict[str, Schema], target: Connection, order: list[str], rename: _Renamer,
             report: ImportReport) -> tuple[list[str], dict[str, Schema]]:
    created_schemas = []
    targets: dict[str, Schema] = {}
    for name in order:
        s, t = name.split(".", 1)
        ts = rename(s)
        if ts not in targets:
            if not target.catalog.schema_exists(ts):
                created_schemas.append(ts)
            targets[ts] = Schema(ts, connection=target)
        schema = targets[ts]
        wanted = rename.table(sources[s].tables[t])
        existing = schema.tables.get(t)
        if existing is not None:
            problems = compare(wanted, existing)
            if problems:
                raise DeclarationError(f"{ts}.{t} exists with a different definition than the dataset's:\n  "
                                       + "\n  ".join(problems), table=t)
            continue
        try:
            schema._create(wanted, rename.lineage(sources[s].lineage.get(t, {})))
        except BaseException:
            _undo(target, report.created, created_schemas)
            raise
        report.created.append(f"{ts}.{t}")
    return created_schemas, targets


def _undo(target: Connection, tables: list[str], schemas: list[str]) -> None:
    """Drop what a failed import created, children first."""
    for full in reversed(tables):
        s, t = full.split(".", 1)
        target.query(target.dialect.drop_table(s, t))
    for s in schemas:
        target.catalog.drop_database(s)
        target.schemas.pop(s, None)
    graphs.invalidate(target)


def _store_objects(sources: dict[str, Schema], root: Path, order: list[str], rename: _Renamer, workers: int,
                   progress: bool) -> int:
    seen: set[tuple[str, str]] = set()

    def wanted() -> Iterable[tuple[str, str, Path]]:
        for name in order:
            s, t = name.split(".", 1)
            query: Query[Any] = Query(sources[s].node(t))
            attrs = {a.name: a for a in objects.stored(query.heading)}
            if not attrs:
                continue
            for names, batch in rows.read(query):
                for row in batch:
                    for i, n in enumerate(names):
                        attr = attrs.get(n)
                        if attr is None or row[i] is None:
                            continue
                        ref = objects.ObjectRef.of(attr, row[i])
                        dest = objects.ObjectRef.of(attr, rename.reference(attr, row[i], s)).path
                        if (ref.store, dest) in seen:
                            continue
                        seen.add((ref.store, dest))
                        for file, suffix in objects.files_of(ref, root):
                            yield ref.store, dest + suffix, file

    def put(item: tuple[str, str, Path]) -> int:
        store, path, file = item
        return objects.upload(get_store(store), file, path)

    with tqdm(disable=not progress, leave=False, desc="objects", unit="file") as bar:
        objects.run(put, wanted(), workers, bar)
    return len(seen)


def _load_rows(sources: dict[str, Schema], targets: dict[str, Schema], name: str, rename: _Renamer,
               report: ImportReport, progress: bool) -> None:
    s, t = name.split(".", 1)
    source: Query[Any] = Query(sources[s].node(t))
    schema = targets[rename(s)]
    table = schema.tables[t]
    heading = table.heading
    existing: Query[Any] = Query(schema.node(t))
    key = heading.primary_key
    stored = {a.name: a for a in objects.stored(heading)}
    conn = schema.connection
    inserted = skipped = 0
    with tqdm(disable=not progress, leave=False, desc=f"rows {rename(s)}.{t}", unit="row") as bar:
        for names, batch in rows.read(source):
            if stored:
                batch = [tuple(rename.reference(stored[n], v, s) if n in stored else v
                               for n, v in zip(names, r, strict=True)) for r in batch]
            positions = [names.index(k) for k in key]
            keys = rows.python_keys(conn, heading, key, [tuple(r[i] for i in positions) for r in batch])
            present = _present(existing & keys, key) if keys else {}
            new = []
            for row, k in zip(batch, keys, strict=True):
                found = present.get(_key_of(heading, key, [row[i] for i in positions]))
                if found is None:
                    new.append(row)
                    continue
                differs = [n for n, v in zip(names, row, strict=True)
                           if rows.comparable(heading[n], v) != rows.comparable(heading[n], found[n])]
                if differs:
                    raise ConflictError(
                        f"{rename(s)}.{t}: the row with key {k} exists with different content "
                        f"(attributes {differs}); nothing was imported", table=t, key=k)
                skipped += 1
            rows.write(conn, table, names, new, skip_duplicates=False)
            inserted += len(new)
            bar.update(len(batch))
    report.inserted[f"{rename(s)}.{t}"] = inserted
    report.skipped[f"{rename(s)}.{t}"] = skipped


def _key_of(heading: Any, key: list[str], values: list[Any]) -> tuple[Any, ...]:
    return tuple(rows.comparable(heading[k], v) for k, v in zip(key, values, strict=True))


def _present(query: Query[Any], key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    heading = query.heading
    for names, batch in rows.read(query):
        for r in batch:
            row = dict(zip(names, r, strict=True))
            found[_key_of(heading, key, [row[k] for k in key])] = row
    return found
