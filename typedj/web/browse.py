"""Looking at the pipeline: the navigator and its diagram, a table's rows, a row, downloads."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, Response

import typedj as tj

from . import preview
from .pages import can_enter, render, row_of, table_name
from .query import (
    COUNT_CAP,
    PAGE_SIZE,
    code_text,
    count,
    encode_key,
    export,
    page,
    read_view,
    restricted,
)
from .session import Session


def navigator(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    tables = [t for t in pipeline.tables() if pipeline.tier(t) != "Part"]
    counts = {t: count(pipeline.cls(t)) for t in pipeline.tables()}
    return render(request, session, "navigator.html", pipeline=pipeline, tables=tables, counts=counts)


def diagram_svg(request: Request, session: Session) -> Response:
    dot = session.pipeline.diagram.to_dot()
    for name in session.pipeline.graph:
        dot.node(name, href="/table?" + urlencode({"t": name}), target="_top")
    svg = dot.pipe(format="svg")
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": "script-src 'none'"})


def table_page(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = table_name(request, session)
    cls = pipeline.cls(table)
    params = dict(request.query_params)
    view = read_view(pipeline, table, params)
    rows: list[dict[str, Any]] = []
    following = None
    if not view.errors:
        rows, following = page(pipeline, view)
    everything = request.query_params.get("count") == "all"
    total, more = (
        count(restricted(pipeline, view), None if everything else COUNT_CAP)
        if not view.errors
        else (0, False)
    )
    heading = cls.heading
    base = {k: v for k, v in params.items() if k not in {"after", "page"}}
    next_link = None
    if following == "offset":
        next_link = urlencode({**base, "page": view.page + 1})
    elif following:
        next_link = urlencode({**base, "after": following, "page": view.page + 1})
    return render(
        request,
        session,
        "table.html",
        pipeline=pipeline,
        table=table,
        cls=cls,
        heading=heading,
        definition=cls.describe(),
        comment=(cls.__doc__ or "").strip(),
        rows=rows,
        view=view,
        total=total,
        more=more,
        count_all=urlencode({**params, "count": "all"}),
        columns=[a for a in heading if not a.is_hidden],
        code=code_text(pipeline, view),
        next_link=next_link,
        first_link=urlencode(base),
        export_csv=urlencode({**base, "format": "csv"}),
        export_parquet=urlencode({**base, "format": "parquet"}),
        page_size=PAGE_SIZE,
        editable=can_enter(pipeline, table),
        parents=pipeline.parents(table),
        children=pipeline.children(table),
        parts=pipeline.parts(table),
        master=pipeline.master(table),
        tier=pipeline.tier(table),
        row_key=lambda r: encode_key({k: r[k] for k in heading.primary_key}),
        sort_link=lambda a, d: urlencode({**base, "sort": a, "desc": "1" if d else ""}),
    )


def row_page(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = row_of(request, session)
    heading = cls.heading
    key = {k: row[k] for k in heading.primary_key}
    parents = []
    for ref in pipeline.parents(table):
        if all(row.get(a) is not None for a in ref.attr_map):
            parent_key = {p: row[c] for c, p in ref.attr_map.items()}
            parents.append((ref.table, encode_key(parent_key), parent_key))
    children = []
    for ref in pipeline.children(table):
        restriction = {c: row[p] for c, p in ref.attr_map.items()}
        count = len(pipeline.cls(ref.table) & restriction)
        link = urlencode({"t": ref.table, **{f"eq.{c}": str(v) for c, v in restriction.items()}})
        new = ""
        if can_enter(pipeline, ref.table):
            mine = [r.table == table and r.attr_map == ref.attr_map for r in pipeline.parents(ref.table)]
            index = mine.index(True)
            new = urlencode({"t": ref.table, f"ref.{index}": encode_key(restriction)})
        children.append((ref.table, count, link, new))
    pictures = {a.name for a in heading if a.is_blob or a.kind == "bytes"}
    return render(
        request,
        session,
        "row.html",
        pipeline=pipeline,
        table=table,
        row=row,
        key=encode_key(key),
        columns=[a for a in heading if not a.is_hidden],
        parents=parents,
        children=children,
        pictures=pictures,
        has_picture={n: preview.picture(row[n]) is not None for n in pictures},
        editable=can_enter(pipeline, table),
    )


def blob(request: Request, session: Session) -> Response:
    table, cls, row = row_of(request, session)
    name = request.query_params.get("a", "")
    if name not in cls.heading:
        raise tj.UnknownAttributeError(f"{table} has no attribute {name!r}", attribute=name)
    value = row[name]
    pic = preview.picture(value)
    if request.query_params.get("download") != "1" and pic is not None:
        return Response(pic[1], media_type=pic[0], headers={"Content-Security-Policy": "script-src 'none'"})
    if isinstance(value, str | Path) and Path(value).is_file():
        return FileResponse(
            value, filename=Path(value).name, headers={"Content-Security-Policy": "script-src 'none'"}
        )
    if isinstance(value, bytes):
        return Response(
            value,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}.bin"'},
        )
    import numpy as np

    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return Response(
            buffer.getvalue(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}.npy"'},
        )
    raise tj.FetchError(f"{table}.{name} holds nothing to download")


def export_page(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = table_name(request, session)
    view = read_view(pipeline, table, dict(request.query_params))
    if view.errors:
        raise ValueError("fix the filters first: " + "; ".join(view.errors.values()))
    fmt = "parquet" if request.query_params.get("format") == "parquet" else "csv"
    data = export(pipeline, view, fmt)
    filename = "".join(c if c.isalnum() else "_" for c in table) + "." + fmt
    return Response(
        data,
        media_type="text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
