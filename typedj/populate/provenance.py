"""Provenance of computed rows: which code made each key, where, when and how long it took.

Every key a ``make()`` completes gets a row in the schema's hidden ``~provenance`` table,
written in the make's own transaction, so a key's rows and its record exist together or
not at all. datajoint-python ignores ``~`` tables, so the record costs the shared pipeline
nothing. Where the table carries datajoint-python's job metadata columns
(``_job_start_time``, ``_job_duration``, ``_job_version``, declared when its
``jobs.add_job_metadata`` is on), they are filled too, as datajoint-python fills them.

The code version is the git commit of the work tree holding the table's module (dirty
when that tree has uncommitted changes to tracked files, or the module itself is not
tracked), else the version of the installed distribution that provides the module.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from .. import codecs
from ..errors import TypedjError
from ..heading import Attribute, Heading, TableDef

TABLE = "~provenance"
JOB_METADATA = ("_job_start_time", "_job_duration", "_job_version")


class UncommittedCodeError(TypedjError):
    """``populate(require_clean=True)`` found the table's code uncommitted or of unknown version."""


@dataclass(frozen=True)
class CodeVersion:
    """Where a table's code comes from: a git commit, or an installed distribution's version."""

    version: str
    """The full commit hash, or the distribution's version; ``""`` when unknown."""
    dirty: bool
    """Uncommitted changes (git), or no version could be found."""
    origin: str
    """``"git"``, ``"dist:<name>"``, or ``""``."""

    @property
    def label(self) -> str:
        """A short form for 64-character columns: ``3f2a9c1d0b7e`` or ``3f2a9c1d0b7e+dirty``."""
        short = self.version[:12] if self.origin == "git" else self.version
        return f"{short}+dirty" if self.dirty and short else short


def code_version(cls: type) -> CodeVersion:
    """The code version of the module that defines ``cls``."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    return _version_of(str(Path(file).resolve()) if file else None, cls.__module__.partition(".")[0])


def _version_of(file: str | None, package: str) -> CodeVersion:
    if file is not None:
        found = _git_version(Path(file))
        if found is not None:
            return found
    for dist in _distributions().get(package, []):
        try:
            return CodeVersion(importlib.metadata.version(dist), False, f"dist:{dist}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return CodeVersion("", True, "")


@cache
def _distributions() -> Mapping[str, list[str]]:
    """Which installed distributions provide each top-level package: reading every
    distribution's file list takes most of a second, and installs do not change under a
    running populate."""
    return importlib.metadata.packages_distributions()


def _git_version(file: Path) -> CodeVersion | None:
    """The commit of the work tree holding ``file``; the three git commands run at once
    (populate asks once per call, and each command is mostly process start-up), without
    git's optional locks: a status killed at the deadline leaves no ``index.lock``."""
    commands = (["rev-parse", "HEAD"], ["status", "--porcelain", "--untracked-files=no"],
                ["ls-files", "--error-unmatch", file.name])
    running: list[subprocess.Popen[str]] = []
    try:
        for args in commands:
            running.append(subprocess.Popen(["git", "--no-optional-locks", "-C", str(file.parent), *args],
                                            stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, text=True))
        deadline = time.monotonic() + 10
        outputs = [(proc.communicate(timeout=max(0.0, deadline - time.monotonic()))[0], proc.returncode)
                   for proc in running]
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        for proc in running:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    (head, head_status), (changed, changed_status), (_, tracked_status) = outputs
    if head_status != 0:
        return None
    dirty = bool(changed.strip()) or changed_status != 0 or tracked_status != 0
    return CodeVersion(head.strip(), dirty, "git")


def definition(schema: str) -> TableDef:
    """The ``~provenance`` table: one row per made key of each auto-populated table."""

    def column(name: str, type_name: str, sql_type: str, **options: Any) -> Attribute:
        return Attribute(name=name, type_name=type_name, sql_type=sql_type, **options)

    return TableDef(
        schema=schema,
        name=TABLE,
        heading=Heading.of([
            column("table_name", "varchar(64)", "varchar(64)", in_key=True),
            column("key_hash", "char(32)", "char(32)", in_key=True),
            column("key", "json", "json"),
            column("code_version", "varchar(64)", "varchar(64)", default=""),
            column("code_dirty", "bool", "tinyint"),
            column("code_origin", "varchar(255)", "varchar(255)", default=""),
            column("typedj_version", "varchar(32)", "varchar(32)", default=""),
            column("host", "varchar(255)", "varchar(255)", default=""),
            column("pid", "int32", "int", default=0),
            column("user", "varchar(255)", "varchar(255)", default=""),
            column("started", "datetime(3)", "datetime(3)"),
            column("duration", "float64", "double"),
        ]),
        comment="provenance of the rows made by populate (typedj)",
    )


_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""One encoder for every key: ``json.dumps`` with options builds a new one per call."""
_AS_IS = frozenset({int, str, float, bool, type(None)})


def key_text(key: Mapping[str, Any]) -> tuple[str, str]:
    """A key as canonical JSON, and the MD5 of that text (the record's key)."""
    text = _CANONICAL.encode({k: v if type(v) in _AS_IS else _plain(v) for k, v in key.items()})
    return text, hashlib.md5(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, (UUID, date, datetime)):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


class Recorder:
    """Writes the provenance of each key one table's ``make()`` completes."""

    def __init__(self, cls: Any):
        from ..version import __version__

        self.cls = cls
        self.conn = cls._schema.connection
        self.code = code_version(cls)
        table_def: TableDef = cls._def
        d = self.conn.dialect
        self._insert = d.insert(table_def.schema, TABLE, list(definition("").heading.all_names), replace=True)
        self._fixed = (self.code.version, self.code.dirty, self.code.origin, __version__, platform.node(),
                       os.getpid())
        self._user: str | None = None
        on_server = cls._schema.tables.get(table_def.name, table_def)  # declared classes omit _job_*
        names = on_server.heading.all_names
        self._metadata: str | None = None
        self._key_names = table_def.heading.primary_key
        ctx = codecs.Context(table_def.schema, table_def.name, self.conn)
        self._key_encoders = [codecs.encoder(table_def.heading[n], ctx) for n in self._key_names]
        if all(n in names for n in JOB_METADATA):
            where = " AND ".join(f"{d.quote(n)} = {d.placeholder}" for n in self._key_names)
            sets = ", ".join(f"{d.quote(n)} = {d.placeholder}" for n in JOB_METADATA)
            self._metadata = f"UPDATE {d.table(table_def.schema, table_def.name)} SET {sets} WHERE {where}"
        ensure_table(cls._schema)

    def record(self, key: Mapping[str, Any], started: float, duration: float) -> None:
        """Record ``key`` as made now; call inside the make's transaction."""
        if self._user is None:
            self._user = str(self.conn.catalog.session_user())
        text, digest = key_text(key)
        start = datetime.fromtimestamp(started)
        self.conn.query(self._insert, (self.cls._def.name, digest, text, *self._fixed, self._user, start,
                                       duration))
        if self._metadata is not None:
            params = [key[n] if enc is None else enc([key[n]])[0]
                      for n, enc in zip(self._key_names, self._key_encoders, strict=True)]
            self.conn.query(self._metadata, (start, duration, self.code.label[:64], *params))


def ensure_table(schema: Any) -> None:
    """Create the schema's ``~provenance`` table unless it exists."""
    if TABLE in schema.tables:
        return
    schema.reload()  # another worker may have made it
    if TABLE not in schema.tables:
        schema._create_hidden(definition(schema.name))


def read(cls: Any, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The provenance records of ``keys`` of ``cls``, in that order (keys never made by
    populate, such as rows inserted before provenance was on, have none)."""
    schema = cls._schema
    if TABLE not in schema.tables:
        schema.reload()
        if TABLE not in schema.tables:
            return []
    conn = schema.connection
    d = conn.dialect
    hashes = {key_text(k)[1]: k for k in keys}
    names = [n for n in definition("").heading.all_names if n not in ("table_name", "key_hash", "key")]
    found: dict[str, dict[str, Any]] = {}
    digests = list(hashes)
    for i in range(0, len(digests), 500):
        chunk = digests[i : i + 500]
        rows = conn.query(
            f"SELECT {d.quote('key_hash')}, {', '.join(d.quote(n) for n in names)} "
            f"FROM {d.table(schema.name, TABLE)} WHERE {d.quote('table_name')} = {d.placeholder} "
            f"AND {d.quote('key_hash')} IN ({', '.join([d.placeholder] * len(chunk))})",
            (cls._def.name, *chunk),
        ).fetchall()
        for digest, *values in rows:
            record = dict(zip(names, values, strict=True))
            record["code_dirty"] = bool(record["code_dirty"])
            if isinstance(record["started"], str):
                record["started"] = datetime.fromisoformat(record["started"])
            found[digest] = {**hashes[digest], **record}
    return [found[h] for h in digests if h in found]


def summary(cls: Any) -> list[str]:
    """What made a table's rows, as comment lines for ``describe()`` (DataJoint's parser
    skips them): one line per code version and typedj version, the most recent first."""
    schema = cls._schema
    if TABLE not in schema.tables:
        return []
    conn = schema.connection
    d = conn.dialect
    group = ", ".join(d.quote(n) for n in ("code_version", "code_dirty", "code_origin", "typedj_version"))
    rows = conn.query(
        f"SELECT {group}, COUNT(*), MIN({d.quote('started')}), MAX({d.quote('started')}), "
        f"SUM({d.quote('duration')}) FROM {d.table(schema.name, TABLE)} "
        f"WHERE {d.quote('table_name')} = {d.placeholder} GROUP BY {group} "
        f"ORDER BY MAX({d.quote('started')}) DESC",
        (cls._def.name,),
    ).fetchall()
    if not rows:
        return []
    total = sum(int(r[4]) for r in rows)
    lines = [f"# provenance: {_count(total)} made by populate"]
    for version, dirty, origin, typedj_version, n, first, last, seconds in rows:
        code = CodeVersion(str(version), bool(dirty), str(origin))
        source = origin.partition(":")[0] if origin else "no version"
        lines.append(
            f"#   code {code.label or 'unknown'} ({source}), typedj {typedj_version}: {_count(int(n))}, "
            f"{_when(first)} to {_when(last)}, {float(seconds or 0):.3f} s in make"
        )
    return lines


def _count(n: int) -> str:
    return f"{n} key" if n == 1 else f"{n} keys"


def _when(value: Any) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment:%Y-%m-%d %H:%M:%S}"
