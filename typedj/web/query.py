"""From a browse page's query string to a typedj query: filters, sort, keyset page.

Values from the browser are converted to their attribute's Python type first (a bad one is
reported against its field), and only then bound (equality) or spelled as SQL literals by
the dialect (ranges, substring, keyset): the browser never supplies SQL text. The same
restriction is shown as the typedj code that gives it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import typedj as tj
from typedj.codegen import class_path

from .model import Pipeline

PAGE_SIZE = 50
KEYSET_KINDS = {"int", "float", "decimal", "str", "enum", "date", "datetime", "time"}
RANGE_KINDS = {"int", "float", "decimal", "date", "datetime", "time"}
TEXT_KINDS = {"str"}


def convert(attr: tj.Attribute, text: str) -> Any:
    """``text`` as a value of ``attr``'s type; ``ValueError`` says what was expected."""
    kind = attr.kind
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "decimal":
            return Decimal(text)
        if kind == "bool":
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "time":
            return time.fromisoformat(text)
        if kind == "enum":
            if text not in attr.type.members:
                raise ValueError
            return text
    except (ValueError, InvalidOperation) as exc:
        raise ValueError(f"expected {attr.type_name}, got {text!r}") from exc
    if kind in {"str", "uuid"}:
        return text
    raise ValueError(f"{attr.name} ({attr.type_name}) cannot be filtered")


def encode_key(key: Mapping[str, Any]) -> str:
    """A key as URL-safe text (JSON of its values as strings)."""
    text = json.dumps({k: _plain(v) for k, v in key.items()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_key(heading: tj.Heading, text: str) -> dict[str, Any]:
    """The key ``encode_key`` wrote, each value converted back to its attribute's type."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError as exc:
        raise ValueError("the row key in the address is damaged") from exc
    if not isinstance(raw, dict) or set(raw) != set(heading.primary_key):
        raise ValueError("the row key in the address does not match the table's primary key")
    return {k: (None if v is None else convert(heading[k], str(v))) for k, v in raw.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


@dataclass
class View:
    """The rows a browse page shows: restriction, order, page position, and their code."""

    table: str
    filters: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    conditions: list[Any] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    sort: str = ""
    descending: bool = False
    after: str = ""
    page: int = 1


def read_view(pipeline: Pipeline, table: str, params: Mapping[str, str]) -> View:
    """Parse filters (``eq.a``, ``min.a``, ``max.a``, ``has.a``), ``sort``, ``desc``, ``after``, ``page``."""
    heading = pipeline.cls(table).heading
    view = View(table)
    q = pipeline.quote
    for name, value in params.items():
        op, _, attr_name = name.partition(".")
        if op not in {"eq", "min", "max", "has"} or not value.strip():
            continue
        if attr_name not in heading:
            view.errors[name] = f"no attribute {attr_name!r}"
            continue
        attr = heading[attr_name]
        view.filters.setdefault(attr_name, {})[op] = value
        try:
            typed = convert(attr, value.strip()) if op != "has" else value
        except ValueError as exc:
            view.errors[name] = str(exc)
            continue
        if op == "eq":
            view.conditions.append({attr_name: typed})
            view.code.append("{" + f"{attr_name!r}: {typed!r}" + "}")
        elif op in {"min", "max"} and attr.kind in RANGE_KINDS:
            sign = ">=" if op == "min" else "<="
            shown = str(typed) if attr.kind in {"int", "float", "decimal"} else f"'{typed}'"
            view.conditions.append(f"{q(attr_name)} {sign} {pipeline.literal(typed)}")
            view.code.append(repr(f"{attr_name} {sign} {shown}"))
        elif op == "has" and attr.kind in TEXT_KINDS:
            pattern = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            view.conditions.append(
                f"{q(attr_name)} LIKE {pipeline.literal(pattern)} ESCAPE {pipeline.literal(chr(92))}"
            )
            view.code.append(repr(f"{attr_name} LIKE '{pattern}'"))
        else:
            view.errors[name] = f"{attr_name} ({attr.type_name}) has no {op} filter"
    sort = params.get("sort", "")
    if sort and sort in heading and not heading[sort].is_blob:
        view.sort = sort
    view.descending = params.get("desc", "") == "1"
    view.after = params.get("after", "")
    try:
        view.page = max(1, int(params.get("page", "1")))
    except ValueError:
        view.page = 1
    return view


COUNT_CAP = 10_000


def count(query: Any, cap: int | None = COUNT_CAP) -> tuple[int, bool]:
    """Rows of ``query``, counted up to ``cap`` (a full count of a large table reads all of it
    on InnoDB); ``(n, True)`` when there are more than ``cap``."""
    if cap is None:
        return len(query), False
    n = len(query & tj.Top(cap + 1))
    return min(n, cap), n > cap


def restricted(pipeline: Pipeline, view: View) -> Any:
    query = pipeline.cls(view.table)
    for cond in view.conditions:
        query = query & cond
    return query


def code_text(pipeline: Pipeline, view: View) -> str:
    schema, name = view.table.split(".", 1)
    return " & ".join([f"{schema}.{class_path(name)}", *view.code])


def shown_attributes(heading: tj.Heading) -> list[str]:
    """Attributes read for a list of rows: blobs and stored objects only on the row's page."""
    return [a.name for a in heading if not a.is_blob and not a.is_hidden]


def keyset_ok(heading: tj.Heading) -> bool:
    return bool(heading.primary_key) and all(heading[k].kind in KEYSET_KINDS for k in heading.primary_key)


def page(pipeline: Pipeline, view: View, size: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows and the ``after`` of the next page (None on the last page).

    Ordered by the primary key, the page starts after the last key of the page before, so
    the server seeks in the key's index: page 10,000 costs what page 1 costs. Another sort
    order, or a key that cannot be compared (uuid, bytes), pages by offset.
    """
    cls = pipeline.cls(view.table)
    heading = cls.heading
    query = restricted(pipeline, view)
    names = shown_attributes(heading)
    query = query.proj(*[n for n in names if n not in heading.primary_key])
    key = heading.primary_key
    direction = " DESC" if view.descending else ""
    if not view.sort and keyset_ok(heading):
        if view.after:
            last = decode_key(heading, view.after)
            query = query & _after(pipeline, key, last, view.descending)
        rows = query.to_dicts(order_by=[k + direction for k in key], limit=size + 1)
        following = encode_key({k: rows[size - 1][k] for k in key}) if len(rows) > size else None
        return rows[:size], following
    order = ([view.sort + direction] if view.sort else []) + ([k + direction for k in key] if key else [])
    offset = (view.page - 1) * size
    rows = query.to_dicts(order_by=order or None, limit=size + 1, offset=offset)
    return rows[:size], ("offset" if len(rows) > size else None)


def _after(pipeline: Pipeline, key: list[str], last: Mapping[str, Any], descending: bool) -> str:
    """``key > last`` in the key's order, spelled so the server can seek on its index."""
    q, lit = pipeline.quote, pipeline.literal
    sign = "<" if descending else ">"
    ors = []
    for i, name in enumerate(key):
        equal = [f"{q(k)} = {lit(last[k])}" for k in key[:i]]
        ors.append("(" + " AND ".join([*equal, f"{q(name)} {sign} {lit(last[name])}"]) + ")")
    return f"{q(key[0])} {sign}= {lit(last[key[0]])} AND (" + " OR ".join(ors) + ")"


def export(pipeline: Pipeline, view: View, fmt: str) -> bytes:
    """The whole current view (every page) as CSV or Parquet."""
    import io

    import pyarrow.csv
    import pyarrow.parquet

    cls = pipeline.cls(view.table)
    heading = cls.heading
    names = shown_attributes(heading)
    query = restricted(pipeline, view).proj(*[n for n in names if n not in heading.primary_key])
    table = query.to_arrow(order_by="KEY" if heading.primary_key else None)
    sink = io.BytesIO()
    if fmt == "parquet":
        pyarrow.parquet.write_table(table, sink)
    else:
        pyarrow.csv.write_csv(table, sink)
    return sink.getvalue()
