"""Writing rows: ``insert`` in phases (normalize -> validate -> group -> encode -> write),
``validate`` (the first two phases alone) and ``update1``.

A batch is all or nothing: every row is validated and encoded before the one transaction
that writes them; one error lists every problem of every row.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from operator import itemgetter
from typing import Any

from . import codecs
from .backend.connection import Connection, retrying
from .backend.dialect import Dialect
from .errors import (
    DuplicateError,
    IntegrityError,
    Problem,
    QueryError,
    TypedjError,
    UnknownAttributeError,
    ValidationError,
)
from .heading import Heading, TableDef
from .parents import missing_parents
from .query.expression import Query, TableNode
from .rows import Target, as_rows, finished, normalized, row_dict, row_source
from .validation import oversized

Group = dict[tuple[str, ...], list[dict[str, Any]]]
Statement = tuple[str, list[Any]]


def validate_rows(target: Target, rows: Iterable[Any], *, ignore_extra_fields: bool = False) -> list[Problem]:
    """Every problem ``insert`` would find in ``rows``, by row; nothing is written."""
    heading = target.heading
    problems: list[Problem] = []
    data: list[dict[str, Any]] = []
    positions: list[int] = []
    for i, r in enumerate(as_rows(rows)):
        try:
            data.append(row_dict(target, r, i, heading.names))
        except (QueryError, TypeError) as exc:
            problems.append(Problem(row=i, attribute=None, message=str(exc).split(": ", 1)[-1]))
            continue
        positions.append(i)
    try:
        target.validator.validate(finished(target, data, ignore_extra_fields=ignore_extra_fields))
    except ValidationError as exc:
        problems += [dataclasses.replace(p, row=positions[p.row]) for p in exc.problems]
    return sorted(problems, key=lambda p: (p.row, p.attribute or ""))


def insert(
    target: Target,
    rows: Iterable[Any],
    *,
    skip_duplicates: bool = False,
    ignore_extra_fields: bool = False,
    replace: bool = False,
    allow_direct_insert: bool | None = None,
    chunk_size: int | None = None,
) -> int:
    """Insert ``rows`` (see ``Table.insert``); ``chunk_size`` sends that many at a time."""
    options: dict[str, Any] = dict(skip_duplicates=skip_duplicates, ignore_extra_fields=ignore_extra_fields,
                                   replace=replace, allow_direct_insert=allow_direct_insert)
    if chunk_size is None:
        return _insert_batch(target, as_rows(rows), **options)
    if chunk_size < 1:
        raise ValueError("chunk_size is a positive number of rows")
    source = iter(row_source(rows))
    total = 0
    with target.connection.transaction():
        while chunk := list(islice(source, chunk_size)):
            try:
                total += _insert_batch(target, chunk, **options)
            except ValidationError as exc:
                shifted = [dataclasses.replace(p, row=p.row + total) for p in exc.problems]
                raise ValidationError(target.name, shifted) from exc
    return total


def _insert_batch(
    target: Target,
    rows: list[Any],
    *,
    skip_duplicates: bool,
    ignore_extra_fields: bool,
    replace: bool,
    allow_direct_insert: bool | None,
) -> int:
    if target.direct_insert_refused and not allow_direct_insert:
        raise TypedjError(
            f"{target.name} is auto-populated: rows are inserted by its make() through "
            "populate(); pass allow_direct_insert=True to insert directly",
            table=target.name,
        )
    data = normalized(target, rows, ignore_extra_fields=ignore_extra_fields)
    if not data:
        return 0
    valid = target.validator.validate(data)
    groups = grouped(valid, target.heading.names)
    statements = encoded(target, valid, groups, skip_duplicates=skip_duplicates, replace=replace)
    _write(target, valid, statements)
    return len(valid)


def grouped(valid: list[dict[str, Any]], names: list[str]) -> Group:
    """Rows by the attributes they give: rows that omit different defaults need different statements."""
    if set(map(len, valid)) == {len(names)}:  # every row gives every attribute: one statement
        return {tuple(names): valid}
    groups: Group = {}
    for row in valid:
        groups.setdefault(tuple(row), []).append(row)
    return groups


def encoded(
    target: Target, valid: list[dict[str, Any]], groups: Group, *, skip_duplicates: bool, replace: bool
) -> list[Statement]:
    """One INSERT and its encoded parameters per group; every oversized value is reported at once."""
    table_def, heading, conn = target.table_def, target.heading, target.connection
    ctx = codecs.Context(table_def.schema, table_def.name, conn)
    limit = conn.catalog.size_limit()
    too_big: list[Problem] = []
    statements = []
    for present, members in groups.items():
        columns = tuple(n for n in heading.all_names if n in present)
        params = _encoded_group(heading, ctx, columns, members)
        if limit is not None:
            positions = None if len(groups) == 1 else [_position(valid, m) for m in members]
            too_big += oversized(columns, params, limit, positions)
        sql = _insert_sql(conn.dialect, table_def.schema, table_def.name, columns, skip_duplicates, replace)
        statements.append((sql, params))
    if too_big:
        raise ValidationError(target.name, sorted(too_big, key=lambda p: p.row))
    return statements


@functools.lru_cache(maxsize=1024)
def _insert_sql(
    dialect: Dialect, schema: str, table: str, columns: tuple[str, ...], skip_duplicates: bool, replace: bool
) -> str:
    """The INSERT of these columns (a make inserts the same row shape for every key)."""
    return dialect.insert(schema, table, columns, skip_duplicates=skip_duplicates, replace=replace)


def _encoded_group(
    heading: Heading, ctx: codecs.Context, columns: tuple[str, ...], members: list[dict[str, Any]]
) -> list[Any]:
    """The parameter tuples of one group, each column through its codec (a column at a time)."""
    if any(heading[c].kind in codecs.KEYED for c in columns):
        ctx = dataclasses.replace(
            ctx, keys=tuple({k: m[k] for k in heading.primary_key if k in m} for m in members))
    encoders = [(i, codecs.encoder(heading[c], ctx)) for i, c in enumerate(columns)]
    if len(columns) > 1:
        params: list[Any] = list(map(itemgetter(*columns), members))
    else:  # one column, or none: every attribute takes its default
        params = [tuple(m[c] for c in columns) for m in members]
    if any(encode for _, encode in encoders):
        matrix = list(zip(*params, strict=True))
        for i, encode in encoders:
            if encode is not None:
                matrix[i] = tuple(encode(list(matrix[i])))
        params = list(zip(*matrix, strict=True))
    return params


def _write(target: Target, valid: list[dict[str, Any]], statements: list[Statement]) -> None:
    """Run the statements in one transaction; a failed reference or key names its rows."""
    conn = target.connection

    def write() -> None:
        with conn.transaction():
            for sql, params in statements:
                conn.executemany(sql, params)

    try:
        if conn.in_transaction:
            write()  # a deadlock rolled back the caller's whole transaction: theirs to repeat
        else:
            retrying(write)
    except IntegrityError as exc:
        table_def = target.table_def
        duplicate = isinstance(exc, DuplicateError)
        missing = [] if duplicate else _missing_parents(conn, table_def, valid, _column_encoder(target))
        if missing:
            raise IntegrityError(
                f"{target.name}: refers to missing parent rows:\n  " + "\n  ".join(missing),
                table=table_def.name, sql=exc.sql, server_message=exc.server_message, code=exc.code,
            ) from exc
        hint = "; pass skip_duplicates=True to skip rows already present" if duplicate else ""
        exc.args = (f"{target.name}: {exc}{hint}", *exc.args[1:])
        exc.table = exc.table or table_def.name
        raise


def _column_encoder(target: Target) -> Callable[[str, list[Any]], list[Any]]:
    heading = target.heading
    ctx = codecs.Context(target.table_def.schema, target.table_def.name, target.connection)

    def encode(name: str, values: list[Any]) -> list[Any]:
        fn = codecs.encoder(heading[name], ctx)
        return list(fn(values)) if fn is not None else values

    return encode


def _position(rows: list[dict[str, Any]], row: dict[str, Any]) -> int:
    return next(i for i, r in enumerate(rows) if r is row)


def update1(target: Target, values: Mapping[str, Any]) -> None:
    """Correct secondary attributes of one existing row, found by its primary key."""
    table_def, heading, name = target.table_def, target.heading, target.name
    if target.tier in ("Imported", "Computed", "Part"):
        raise TypedjError(
            f"{name}: update1 is for Manual and Lookup tables; delete and populate "
            "again to change computed results",
            table=table_def.name,
        )
    key, changes = _key_and_changes(target, values)
    conn = target.connection
    encode = _column_encoder(target)
    valid: dict[str, Any] = {}
    try:
        with conn.transaction():
            node = TableNode(table_def.schema, table_def.name, heading, conn)
            current = Query(node).restrict(key).to_dicts()
            if len(current) != 1:
                raise TypedjError(
                    f"{name}.update1: no row with key {key}; update1 changes an existing row",
                    table=table_def.name,
                )
            merged = {**current[0], **changes}
            merged = {k: v for k, v in merged.items() if not (v is None and heading[k].has_default)}
            valid = target.validator.validate([merged])[0]
            columns = list(changes)
            params = [encode(c, [valid.get(c)])[0] if valid.get(c) is not None else None for c in columns]
            key_params = [encode(k, [key[k]])[0] for k in heading.primary_key]
            conn.query(conn.dialect.update(table_def.schema, table_def.name, columns, heading.primary_key),
                       params + key_params)
    except IntegrityError as exc:  # asked after the rollback: PostgreSQL refuses more in a failed one
        missing = _missing_parents(conn, table_def, [valid], encode) if valid else []
        if not missing:
            raise
        raise IntegrityError(
            f"{name}.update1: refers to a missing parent row: " + missing[0].split(": ", 1)[1],
            table=table_def.name, sql=exc.sql, server_message=exc.server_message, code=exc.code,
        ) from exc


def _missing_parents(conn: Connection, table_def: TableDef, rows: list[dict[str, Any]],
                     encode: Callable[[str, list[Any]], list[Any]]) -> list[str]:
    """The rows' missing parents, or none found when the caller's transaction cannot ask
    (PostgreSQL aborts a transaction at its first error): the server's message stands."""
    try:
        return missing_parents(conn, table_def, rows, encode)
    except TypedjError:
        return []


def _key_and_changes(target: Target, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    heading, table, name = target.heading, target.table_def.name, target.name
    unknown = [k for k in values if k not in heading]
    if unknown:
        raise UnknownAttributeError(
            f"{name}.update1: {unknown} are not attributes; it has {heading.names}",
            table=table, attribute=unknown[0],
        )
    key = {k: values[k] for k in heading.primary_key if k in values}
    missing = [k for k in heading.primary_key if k not in values and not k.startswith("_")]
    if missing:
        raise TypedjError(f"{name}.update1: the row must give its primary key; missing {missing}",
                          table=table, attribute=missing[0])
    changes = {k: v for k, v in values.items() if k not in heading.primary_key}
    if not changes:
        raise TypedjError(f"{name}.update1: nothing to update", table=table)
    return key, changes
