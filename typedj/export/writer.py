"""``export``: write a slice of a pipeline as a self-contained, verifiable dataset.

The steps, each recorded in ``.typedj-export.json`` when done so that a run that was
interrupted resumes where it stopped (rows are written with skip-duplicates and objects
under their final name only once complete, so redoing a step half done is harmless):

1. rows of the selected tables (``plan.py``), streamed from the server in batches;
2. upstream rows: for each table, children first, the parent keys that the exported
   rows reference and that are not exported yet, fetched by key in batches;
3. the stored objects those rows reference, copied concurrently and verified;
4. Parquet files, definitions (typedj source, DataJoint text), the diagram;
5. the manifest (``datapackage.json``) with a BLAKE3 checksum of every file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import graph as graphs
from ..backend.connection import Connection
from ..codegen import class_path
from ..errors import ConfigError, DatasetError, DeclarationError, IncompleteDatasetWarning, warn
from ..heading import TableDef
from ..query.expression import Query
from ..schema import Schema
from . import archive, database, definitions, manifest, objects, parquet, rows
from .plan import Plan, node, plan

log = logging.getLogger("typedj")

STATE = ".typedj-export.json"
KEYS_PER_BATCH = 500


@dataclass
class ExportReport:
    """What an export wrote: where, rows per table, the stored objects and their total bytes."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    bytes: int = 0
    resumed: bool = False

    def __str__(self) -> str:
        total = sum(self.rows.values())
        return (f"{self.path}: {total} rows in {len(self.rows)} tables, {self.objects} objects "
                f"({self.bytes / 2**20:.1f} MB){' (resumed)' if self.resumed else ''}")


def _remove_partials(root: Path) -> None:
    """Files a killed run was writing: never complete, and not in any manifest."""
    for stale in root.rglob(f"*{objects.PARTIAL}"):
        stale.unlink(missing_ok=True)


class _State:
    """The steps done so far, kept in the dataset folder until the export completes."""

    def __init__(self, root: Path, fingerprint: str, overwrite: bool):
        self.path = root / STATE
        self.done: set[str] = set()
        self.resumed = False
        if root.exists() and any(root.iterdir()):
            if self.path.is_file():
                saved = json.loads(self.path.read_text())
                if saved.get("fingerprint") == fingerprint and not overwrite:
                    self.done = set(saved.get("done", []))
                    self.resumed = True
                    _remove_partials(root)
                    log.info("resuming the export in %s (%d steps done)", root, len(self.done))
                elif not overwrite:
                    raise DatasetError(f"{root} holds an unfinished export of something else; "
                                       "pass overwrite=True to start again")
                else:
                    shutil.rmtree(root)
            elif overwrite:
                shutil.rmtree(root)
            else:
                raise DatasetError(f"{root} exists and is not an unfinished export; pass overwrite=True "
                                   "to replace it")
        root.mkdir(parents=True, exist_ok=True)
        self.fingerprint = fingerprint
        self._save()

    def __contains__(self, step: str) -> bool:
        return step in self.done

    def mark(self, step: str) -> None:
        self.done.add(step)
        self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".part")
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "done": sorted(self.done)}))
        os.replace(tmp, self.path)


def export(
    *restrictions: Any,
    to: str | os.PathLike[str],
    include: Iterable[Any] = (),
    title: str = "",
    creators: Sequence[str | dict[str, Any]] = (),
    license: str | None = None,
    description: str = "",
    doi: str | None = None,
    keywords: Sequence[str] = (),
    parquet_files: bool = True,
    workers: int = 8,
    progress: bool = True,
    overwrite: bool = False,
) -> ExportReport:
    """Write the rows of ``restrictions``, everything upstream they reference, the downstream
    tables in ``include`` (with their parts) and the stored objects of all those rows to
    the dataset ``to``: a folder, or an archive when ``to`` ends in .zip, .tar or .tar.gz.

    ``restrictions`` are table classes, restrictions of them (``Session & "paper = 3"``)
    or whole schemas (a backup). ``title``, ``creators`` (``"Name <email>"``), ``license``
    (an SPDX id such as ``CC-BY-4.0``), ``description``, ``doi`` and ``keywords`` go into
    the manifest. An interrupted export resumes when run again with the same arguments.
    """
    p = plan(restrictions, include)
    dest = Path(to)
    root = archive.staging(dest) if archive.is_archive(dest) else dest
    if archive.is_archive(dest) and dest.exists() and not overwrite:
        raise DatasetError(f"{dest} exists; pass overwrite=True to replace it")
    fingerprint = hashlib.sha256(json.dumps(
        [p.restriction, sorted(p.selected), str(p.connection.url), parquet_files], default=str
    ).encode()).hexdigest()
    state = _State(root, fingerprint, overwrite)
    report = ExportReport(dest, resumed=state.resumed)
    diagram = _write_contents(p, root, state, report, parquet_files=parquet_files, workers=workers,
                              progress=progress)
    descriptor = _descriptor(p, root, report, title=title, creators=creators, license=license,
                             description=description, doi=doi, keywords=keywords, diagram=diagram,
                             workers=workers)
    state.path.unlink()
    (root / manifest.DESCRIPTOR).write_text(json.dumps(descriptor, indent=2, default=str) + "\n")
    if root != dest:
        archive.pack(root, dest)
        shutil.rmtree(root)
    log.info("exported %s", report)
    return report


def _write_contents(
    p: Plan, root: Path, state: _State, report: ExportReport, *, parquet_files: bool, workers: int,
    progress: bool,
) -> str | None:
    """The dataset's database, objects, Parquet files, definitions and diagram; the
    diagram's file name (None when there is none). The database is closed on failure."""
    out = database.create(root / database.FILE)
    try:
        schemas = _declare(p, out)
        _copy_rows(p, out, schemas, state, progress)
        _copy_parents(p, out, schemas, state, progress)
        report.rows = _counts(out, p)
        if "objects" not in state:
            _copy_objects(p, out, schemas, root, workers, progress)
            state.mark("objects")
        if parquet_files:
            _write_parquet(p, out, schemas, root, state, progress)
        _write_definitions(p, out, schemas, root)
        diagram = _write_diagram(p, out, root)
    except BaseException:
        out.close()
        raise
    database.finish(out)
    return diagram


def _declare(p: Plan, out: Connection) -> dict[str, Schema]:
    """The exported tables in the dataset's database, exactly as declared on the source."""
    schemas: dict[str, Schema] = {}
    for name in p.tables:
        s, t = name.split(".", 1)
        target = schemas.get(s) or Schema(s, connection=out)
        schemas[s] = target
        if t not in target.tables:
            source = p.connection.schemas[s]
            target._create(p.table(name), source.lineage.get(t, {}))
    return schemas


def _bar(progress: bool, **options: Any) -> Any:
    return tqdm(disable=not progress, leave=False, dynamic_ncols=True, **options)


def _copy_rows(p: Plan, out: Connection, schemas: dict[str, Schema], state: _State, progress: bool) -> None:
    for name, query in p.selected.items():
        step = f"rows:{name}"
        if step in state:
            continue
        table = p.table(name)
        with _bar(progress, desc=f"rows {name}", unit="row", total=len(query)) as bar:
            for names, batch in rows.read(query):
                with out.transaction():
                    rows.write(out, table, names, batch)
                bar.update(len(batch))
        state.mark(step)


def _missing_keys_sql(out: Connection, child: TableDef, parent: TableDef, attr_map: dict[str, str]) -> str:
    q = out.dialect.quote
    local = list(attr_map)
    present = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in local)
    match = " AND ".join(f"p.{q(attr_map[c])} = c.{q(c)}" for c in local)
    return (f"SELECT DISTINCT {', '.join(f'c.{q(c)}' for c in local)} "
            f"FROM {out.dialect.table(child.schema, child.name)} AS c WHERE {present} AND NOT EXISTS "
            f"(SELECT 1 FROM {out.dialect.table(parent.schema, parent.name)} AS p WHERE {match}) "
            f"LIMIT {KEYS_PER_BATCH}")


def _copy_parents(p: Plan, out: Connection, schemas: dict[str, Schema], state: _State,
                  progress: bool) -> None:
    """Children first: each table receives the rows its exported children reference."""
    tables = p.tables
    for name in reversed(tables):
        step = f"parents:{name}"
        if step in state:
            continue
        parent = p.table(name)
        source: Query[Any] = Query(node(p.connection, name))
        out_heading = schemas[parent.schema].tables[parent.name].heading
        copied = 0
        for child_name, fk in graphs.children(p.graph, name):
            if child_name not in tables:
                continue
            sql = _missing_keys_sql(out, p.table(child_name), parent, dict(fk.attr_map))
            remote = [fk.attr_map[c] for c in fk.attr_map]
            while True:
                batch = out.query(sql).fetchall()
                if not batch:
                    break
                normalize = [(i, fn) for i, n in enumerate(remote)
                             if (fn := out.dialect.decoder(out_heading[n]))]
                keys = rows.python_keys(out, out_heading, remote, rows.normalized(batch, normalize))
                fetched = 0
                for names, found in rows.read(source & keys):
                    with out.transaction():
                        rows.write(out, parent, names, found)
                    fetched += len(found)
                if fetched < len(keys):
                    raise DatasetError(
                        f"{name}: {len(keys) - fetched} row(s) referenced by {child_name} are not on the "
                        "server any more (the pipeline changed during the export); run the export again",
                        table=name)
                copied += fetched
        if copied:
            log.info("%s: %d row(s) referenced by the exported rows", name, copied)
        state.mark(step)


def _counts(out: Connection, p: Plan) -> dict[str, int]:
    counts = {}
    for name in p.tables:
        s, t = name.split(".", 1)
        counts[name] = int(out.query(f"SELECT COUNT(*) FROM {out.dialect.table(s, t)}").fetchone()[0])
    return counts


def _out_query(schemas: dict[str, Schema], name: str) -> Query[Any]:
    s, t = name.split(".", 1)
    return Query(schemas[s].node(t))


def _copy_objects(p: Plan, out: Connection, schemas: dict[str, Schema], root: Path, workers: int,
                  progress: bool) -> None:
    seen: set[tuple[str, str]] = set()

    def unique() -> Iterable[objects.ObjectRef]:
        for name in p.tables:
            query = _out_query(schemas, name)
            if not objects.stored(query.heading):
                continue
            for names, batch in rows.read(query):
                for ref in objects.references(query.heading, names, batch):
                    if (ref.store, ref.path) not in seen:
                        seen.add((ref.store, ref.path))
                        yield ref

    with _bar(progress, desc="objects", unit="obj") as bar:
        objects.run(lambda r: objects.download(r, root), unique(), workers, bar)


def _parquet_path(name: str) -> str:
    s, t = name.split(".", 1)
    return f"tables/{s}/{class_path(t)}.parquet"


def _write_parquet(p: Plan, out: Connection, schemas: dict[str, Schema], root: Path, state: _State,
                   progress: bool) -> None:
    for name in _bar(progress, iterable=p.tables, desc="parquet", unit="table"):
        step = f"parquet:{name}"
        if step in state:
            continue
        query = _out_query(schemas, name)
        parquet.write(root / _parquet_path(name), name, query.heading, rows.read(query))
        state.mark(step)


def _write_definitions(p: Plan, out: Connection, schemas: dict[str, Schema], root: Path) -> None:
    folder = root / "definitions"
    folder.mkdir(exist_ok=True)
    for s, schema in schemas.items():
        schema.reload()
        tables = {t: d for t, d in schema.tables.items() if not t.startswith("~")}
        order = [n.split(".", 1)[1] for n in p.tables if n.split(".", 1)[0] == s]
        try:
            (folder / f"{s}.py").write_text(definitions.typedj_source(s, out))
        except DeclarationError as exc:  # a type code generation cannot spell yet
            warn(f"no typedj source for schema {s} in the dataset: {exc}", IncompleteDatasetWarning)
        (folder / f"{s}_datajoint.py").write_text(definitions.datajoint_source(s, tables, order))


def _write_diagram(p: Plan, out: Connection, root: Path) -> str | None:
    from ..diagram import Diagram

    try:
        svg = Diagram(list(p.tables), connection=out).make_svg()
    except ConfigError as exc:
        warn(f"no diagram in the dataset: {exc}", IncompleteDatasetWarning)
        return None
    (root / "diagram.svg").write_text(svg)
    return "diagram.svg"


def _descriptor(p: Plan, root: Path, report: ExportReport, *, title: str, creators: Sequence[Any],
                license: str | None, description: str, doi: str | None, keywords: Sequence[str],
                diagram: str | None, workers: int) -> dict[str, Any]:
    names = {n: manifest.resource_name(n) for n in p.tables}
    resources: list[dict[str, Any]] = [
        manifest.file_resource(root, database.FILE, "database", format="sqlite",
                               mediatype="application/vnd.sqlite3",
                               description="every table, readable by typedj (tj.Schema) and any SQLite tool"),
    ]
    for name in p.tables:
        rel = _parquet_path(name)
        if (root / rel).is_file():
            resources.append(manifest.file_resource(
                root, rel, names[name], type="table", format="parquet",
                mediatype="application/vnd.apache.parquet",
                schema=manifest.table_schema(p.table(name), names), **{"typedj:rows": report.rows[name]}))
    for rel in manifest.files_under(root, "definitions"):
        resources.append(manifest.file_resource(root, rel, manifest.resource_name(rel), format="python",
                                                mediatype="text/x-python"))
    if diagram:
        resources.append(manifest.file_resource(root, diagram, "diagram", format="svg",
                                                mediatype="image/svg+xml"))
    count, size = manifest.write_objects_list(root, workers)
    report.objects, report.bytes = count, size
    resources.append(manifest.file_resource(
        root, manifest.OBJECTS, "objects", type="table", format="csv", mediatype="text/csv",
        description="every stored object: its path in the dataset, size and BLAKE3 checksum",
        schema={"fields": [{"name": "path", "type": "string"}, {"name": "bytes", "type": "integer"},
                           {"name": "hash", "type": "string"}], "primaryKey": ["path"]},
        **{"typedj:rows": count}))
    from ..version import __version__

    descriptor: dict[str, Any] = {
        "$schema": manifest.PROFILE,
        "name": manifest.resource_name(title or "-".join(sorted({n.split('.')[0] for n in p.tables}))),
        "title": title,
        "description": description,
        "version": "1.0.0",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "contributors": manifest.creators(creators),
        "keywords": list(keywords),
    }
    if doi:
        descriptor["id"] = doi if doi.startswith("http") else f"https://doi.org/{doi}"
    if license:
        descriptor["licenses"] = [{"name": license}]
    if diagram:
        descriptor["image"] = diagram
    descriptor["resources"] = resources
    descriptor["typedj"] = {
        "version": __version__,
        "source": p.connection.dialect.name,
        "schemas": sorted({n.split(".", 1)[0] for n in p.tables}),
        "restriction": p.restriction,
        "tables": list(p.tables),
        "rows": report.rows,
        "objects": count,
    }
    return descriptor
