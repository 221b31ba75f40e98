"""docs/queries.md's code blocks run, in order, against the test server."""

from __future__ import annotations

import re
from pathlib import Path

import typedj as tj

DOCS = Path(__file__).parent.parent / "docs"


def test_queries_page_runs(schema_name: str, conn: tj.Connection) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "queries.md").read_text(), re.S)
    code = "\n".join(blocks).replace('"queries"', repr(schema_name))
    namespace: dict[str, object] = {"__name__": "queries_doc"}
    exec(compile(code, "docs/queries.md", "exec", dont_inherit=True), namespace)
    assert not conn.catalog.schema_exists(schema_name)
