"""The tutorial's code blocks run, in order, against the test server."""

from __future__ import annotations

import re
from pathlib import Path

import typedj as tj

DOCS = Path(__file__).parent.parent / "docs"


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


def test_tutorial_runs(schema_name: str, conn: tj.Connection) -> None:
    code = "\n".join(python_blocks("tutorial.md")).replace('"tutorial"', repr(schema_name))
    code = code.replace("'tutorial.", f"'{schema_name}.")
    namespace: dict[str, object] = {"__name__": "tutorial"}
    exec(compile(code, "docs/tutorial.md", "exec", dont_inherit=True), namespace)
    assert not conn.catalog.schema_exists(schema_name)


def test_readme_example_runs(schema_name: str, conn: tj.Connection) -> None:
    readme = (DOCS.parent / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", readme, re.S)[0].replace('"lab"', repr(schema_name))
    code = code.replace('tj.Schema(', "tj.Schema(connection=__conn__, name=", 1)
    namespace: dict[str, object] = {"__name__": "readme", "__conn__": conn}
    exec(compile(code, "README.md", "exec", dont_inherit=True), namespace)
    activity = namespace["Activity"]
    assert activity.fetch1("mean") == 4.5  # type: ignore[attr-defined]
    assert len(activity.Peak) == 3  # type: ignore[attr-defined]
