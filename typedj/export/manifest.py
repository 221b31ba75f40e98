"""The manifest: a Frictionless Data Package descriptor (``datapackage.json``) with a
BLAKE3 checksum of every file, and the check of a dataset against it.

Frictionless rather than RO-Crate: a dataset is tables, and a Data Package describes
each table's fields with types, its primary key and its foreign keys in plain JSON that
pandas, R (``frictionless``), DuckDB users and validators read without JSON-LD; the
citation fields (title, contributors, licenses, ``id`` for the DOI) are part of it.
Object files are listed in ``objects.csv`` (path, bytes, BLAKE3), itself a checksummed
resource, so the descriptor stays small however many objects there are.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3

from ..errors import DatasetError
from ..heading import Attribute, TableDef

DESCRIPTOR = "datapackage.json"
OBJECTS = "objects.csv"
PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"

_FIELD_TYPES = {"int": "integer", "float": "number", "decimal": "number", "bool": "boolean",
                "date": "date", "datetime": "datetime", "time": "time", "json": "object"}


CHUNK = 8 << 20


def checksum(path: Path) -> str:
    """``blake3:<hex>`` of a file, as ``b3sum`` prints it; read in chunks (not mapped), so
    the memory used stays the same whatever the file's size."""
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buffer):
            h.update(view[:n])
    return f"blake3:{h.hexdigest()}"


def files_under(root: Path, folder: str) -> Iterator[str]:
    """Relative paths of the files under ``root/folder``, in a stable order."""
    base = root / folder
    if not base.exists():
        return
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".typedj-partial"):
                yield (Path(dirpath) / name).relative_to(root).as_posix()


def resource_name(full_name: str) -> str:
    """A resource name Frictionless accepts (lowercase letters, digits, ``._-``)."""
    return re.sub(r"[^a-z0-9._-]+", "-", full_name.lower()).strip("-")


def table_schema(table: TableDef, names: dict[str, str]) -> dict[str, Any]:
    """A Frictionless Table Schema: typed fields, primary key, foreign keys."""
    def field_of(a: Attribute) -> dict[str, Any]:
        kind = a.kind
        out: dict[str, Any] = {"name": a.name, "type": _FIELD_TYPES.get(kind, "string"),
                               "typedj:type": a.type_name}
        if kind == "enum":
            out["constraints"] = {"enum": list(a.type.members)}
        if kind in {"bytes", "blob"} or (kind == "attach" and a.store is None):
            out["format"] = "binary"
        if kind == "uuid":
            out["format"] = "uuid"
        if a.comment:
            out["description"] = a.comment
        if a.in_key or not a.nullable:
            out["constraints"] = {**out.get("constraints", {}), "required": True}
        return out

    schema: dict[str, Any] = {"fields": [field_of(a) for a in table.heading],
                              "primaryKey": table.heading.primary_key}
    fks = []
    for fk in table.foreign_keys:
        parent = names.get(f"{fk.parent_schema}.{fk.parent_table}")
        if parent is not None:
            fks.append({"fields": list(fk.attr_map), "reference": {"resource": parent,
                                                                   "fields": list(fk.attr_map.values())}})
    if fks:
        schema["foreignKeys"] = fks
    return schema


def write_objects_list(root: Path, workers: int) -> tuple[int, int]:
    """Write ``objects.csv``: every object file with its size and BLAKE3; their number and bytes."""
    paths = files_under(root, "objects")
    tmp = root / f".{OBJECTS}.part"
    count = size = 0
    with tmp.open("w", newline="") as f, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        out = csv.writer(f)
        out.writerow(["path", "bytes", "hash"])
        batch: list[str] = []

        def flush() -> None:
            nonlocal size
            for rel, digest in zip(batch, pool.map(lambda p: checksum(root / p), batch), strict=True):
                n = (root / rel).stat().st_size
                out.writerow([rel, n, digest])
                size += n
            batch.clear()

        for rel in paths:
            batch.append(rel)
            count += 1
            if len(batch) >= 256:
                flush()
        flush()
    tmp.replace(root / OBJECTS)
    return count, size


def file_resource(root: Path, rel: str, name: str, **extra: Any) -> dict[str, Any]:
    path = root / rel
    return {"name": name, "path": rel, **extra, "bytes": path.stat().st_size, "hash": checksum(path)}


@dataclass
class VerifyReport:
    """What ``verify`` found: files and bytes checked, and every problem (empty: it matches)."""

    path: str
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every file matched the manifest."""
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"{self.path}: {self.files} files ({self.bytes} bytes) match the manifest"
        return f"{self.path}: {len(self.problems)} problem(s):\n  " + "\n  ".join(self.problems[:50])


def read_descriptor(root: Path) -> dict[str, Any]:
    path = root / DESCRIPTOR
    if not path.is_file():
        raise DatasetError(f"{root}: not a dataset (no {DESCRIPTOR})")
    try:
        descriptor: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc}") from exc
    return descriptor


def check(root: Path, shown: str, workers: int = 4) -> VerifyReport:
    """Compare every file of the dataset folder ``root`` with the manifest."""
    report = VerifyReport(shown)
    descriptor = read_descriptor(root)
    listed: dict[str, tuple[int, str]] = {}
    for resource in descriptor.get("resources", []):
        listed[str(resource["path"])] = (int(resource["bytes"]), str(resource["hash"]))
    objects_ok = _check_files(root, listed, report, workers)
    known = set(listed)
    if OBJECTS in listed and objects_ok.get(OBJECTS):
        with (root / OBJECTS).open(newline="") as f:
            rows = csv.reader(f)
            next(rows, None)
            batch: dict[str, tuple[int, str]] = {}
            for path, size, digest in rows:
                batch[path] = (int(size), digest)
                if len(batch) >= 256:
                    _check_files(root, batch, report, workers)
                    known.update(batch)
                    batch = {}
            _check_files(root, batch, report, workers)
            known.update(batch)
    for rel in _all_files(root):
        if rel.endswith("-wal") and (root / rel).stat().st_size and rel[:-4] in known:
            report.problems.append(f"{rel}: changes written to the database after the export")
        elif rel.endswith(("-shm", "-wal")) and rel[:-4] in known:
            continue  # SQLite's lock files, left by a program that opened the database
        elif rel != DESCRIPTOR and rel not in known:
            report.problems.append(f"{rel}: not in the manifest")
    return report


def _all_files(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield (Path(dirpath) / name).relative_to(root).as_posix()


def _check_files(root: Path, listed: dict[str, tuple[int, str]], report: VerifyReport,
                 workers: int) -> dict[str, bool]:
    def one(item: tuple[str, tuple[int, str]]) -> tuple[str, str | None]:
        rel, (size, digest) = item
        path = root / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            return rel, "a path outside the dataset"
        if not path.is_file():
            return rel, "missing"
        actual = path.stat().st_size
        if actual != size:
            return rel, f"{actual} bytes, the manifest says {size}"
        if checksum(path) != digest:
            return rel, f"checksum differs from the manifest ({digest})"
        return rel, None

    results: dict[str, bool] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for rel, problem in pool.map(one, list(listed.items())):
            results[rel] = problem is None
            if problem is None:
                report.files += 1
                report.bytes += listed[rel][0]
            else:
                report.problems.append(f"{rel}: {problem}")
    return results


def creators(values: Sequence[Any]) -> list[dict[str, Any]]:
    """``"Ana Lima <ana@lab.org>"`` or ``{"title": ..., ...}`` as Frictionless contributors."""
    out = []
    for v in values:
        if isinstance(v, dict):
            out.append({"roles": ["creator"], **v})
            continue
        m = re.match(r"^\s*(.*?)\s*<([^>]+)>\s*$", str(v))
        out.append({"title": m.group(1), "email": m.group(2), "roles": ["creator"]} if m
                   else {"title": str(v).strip(), "roles": ["creator"]})
    return out
