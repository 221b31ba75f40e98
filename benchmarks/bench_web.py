"""typedj web: render time of the first and the 10,000th page of a 1M-row table.

Run: ``python3 benchmarks/bench_web.py [--rows 1000000] [--backends mysql,sqlite]``.

Each page is a full request through the ASGI app (Starlette's test client): session,
row count (capped at 10,000), query, Jinja rendering of 50 rows. Pages follow the primary key (keyset paging), so
page 10,000 seeks to its first key instead of reading past 499,950 rows; for comparison the
same page sorted by a non-key attribute, which the app pages by offset. The 1M rows are
inserted once per server: with ``TYPEDJ_BENCH_DATABASE_URL`` (or the same SQLite file,
``--sqlite-file``) a second run reuses them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from _common import bench_server, timed
from tqdm import tqdm

import typedj as tj
from typedj import Attr, Key, Manual

SCHEMA = "bench_web"
PAGE = 10_000


def table(conn: tj.Connection, rows: int) -> Any:
    schema = tj.Schema(SCHEMA, connection=conn)

    @schema
    class Reading(Manual):
        reading_id: Key[tj.int32]
        value: float
        label: str = Attr(max_length=16)

    have = len(Reading)
    if have != rows:
        Reading.delete()
        batch = 50_000
        for start in tqdm(range(0, rows, batch), desc=f"inserting {rows:,} rows", unit="batch"):
            Reading.insert(
                {"reading_id": i, "value": (i * 7919) % 1000 / 10, "label": f"r{i:09d}"}
                for i in range(start, min(rows, start + batch))
            )
    return Reading


def measure(url: str, rows: int, repeats: int, page: int = PAGE) -> list[tuple[str, float, float]]:
    from starlette.testclient import TestClient

    from typedj.web import create_app
    from typedj.web.query import PAGE_SIZE, encode_key

    conn = tj.connect(url)
    table(conn, rows)
    last_key_before = (page - 1) * PAGE_SIZE - 1
    target = f"{SCHEMA}.reading"
    requests = {
        "page 1 (keyset)": {"t": target},
        f"page {page:,} (keyset)": {
            "t": target,
            "after": encode_key({"reading_id": last_key_before}),
            "page": str(page),
        },
        "page 1 sorted by value (offset)": {"t": target, "sort": "value"},
        f"page {page:,} sorted by value (offset)": {"t": target, "sort": "value", "page": str(page)},
    }
    out = []
    with TestClient(create_app(url, schemas=[SCHEMA])) as client:
        if url.startswith("mysql"):
            parsed = tj.DatabaseURL.parse(url)
            login = client.get("/login").text
            token = login.split('name="token" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"token": token, "user": parsed.user, "password": parsed.password})
        for name, params in requests.items():
            response = client.get("/table", params=params)
            assert response.status_code == 200 and response.text.count("<tr>") >= PAGE_SIZE, name
            t = timed(lambda p=params: client.get("/table", params=p), repeats=repeats)  # type: ignore[misc]
            out.append((name, t.best, t.median))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="mysql,sqlite")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--page", type=int, default=PAGE, help="the deep page to time")
    parser.add_argument("--sqlite-file", default=str(Path(tempfile.gettempdir()) / "typedj-bench-web.db"))
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, float]]] = {}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            results["sqlite"] = measure(f"sqlite:///{args.sqlite_file}", args.rows, args.repeats, args.page)
        else:
            with bench_server() as url:
                results["mysql"] = measure(url, args.rows, args.repeats, args.page)
    load = os.getloadavg()[0]
    print(f"\npage render time, {args.rows:,} rows, 50 rows a page (load average {load:.1f})")
    print(f"{'backend':8} {'page':40} {'best':>10} {'median':>10}")
    for backend, rows in results.items():
        for name, best, median in rows:
            print(f"{backend:8} {name:40} {best * 1000:8.1f}ms {median * 1000:8.1f}ms")


if __name__ == "__main__":
    main()
