"""What an editor offers: completions from pyright's language server (Pylance's engine).

The server is driven over its JSON-RPC protocol, as VS Code drives it, on a pipeline
module (tests/completion/pipeline.py) and asked to complete ``Session.``, ``row.`` and
``made.``: a table class offers its columns and the query surface, a row its columns and
the insert methods ``make`` uses, and neither offers typedj's private machinery.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = Path(__file__).parent / "completion" / "pipeline.py"


class LanguageServer:
    """A pyright language server on stdio, answering one request at a time."""

    def __init__(self, folder: Path):
        exe = shutil.which("pyright-langserver") or shutil.which("pyright-python-langserver")
        if exe is None:
            pytest.skip("pyright's language server is not installed (pip install pyright)")
        self.process = subprocess.Popen([exe, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.next_id = 0
        root = folder.as_uri()
        self.request("initialize", {"processId": os.getpid(), "rootUri": root, "capabilities": {},
                                    "workspaceFolders": [{"uri": root, "name": "pipeline"}]})
        self.notify("initialized", {})

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        length = 0
        while (line := self.process.stdout.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        message: dict[str, Any] = json.loads(self.process.stdout.read(length))
        return message

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self._receive()
            if "method" in message and "id" in message:  # the server asks the editor
                items = message.get("params", {}).get("items", [])
                self._send({"id": message["id"], "result": [{}] * len(items) if items else None})
            elif message.get("id") == self.next_id:
                return message.get("result")

    def complete(self, path: Path, text: str, line: int, column: int) -> set[str]:
        uri = path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                              "version": 1, "text": text}})
        result = self.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                          "position": {"line": line, "character": column}})
        items = result["items"] if isinstance(result, dict) else result
        return {item["label"] for item in items}

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def completions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Completions after ``Session.``, ``row.`` and ``made.``, in a project that imports
    typedj as a regular install does (a plain path entry, not an import hook)."""
    folder = tmp_path_factory.mktemp("editor")
    (folder / "pyrightconfig.json").write_text(json.dumps({
        "extraPaths": [str(ROOT)], "pythonVersion": "3.11",
        "venvPath": str(Path(sys.prefix).parent), "venv": Path(sys.prefix).name,
    }))
    source = PIPELINE.read_text()
    path = folder / "pipeline.py"
    path.write_text(source)
    server = LanguageServer(folder)
    try:
        found = {}
        for name in ("Session", "row", "made"):
            text = f"{source}\n{name}."
            found[name] = server.complete(path, text, text.count("\n"), len(name) + 1)
        return found
    finally:
        server.close()


def _private(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_a_table_class_offers_its_columns_and_the_query_surface(completions: dict[str, set[str]]) -> None:
    names = completions["Session"]
    assert {"subject_id", "session_idx", "note"} <= names
    assert {"fetch", "fetch1", "proj", "aggr", "to_dicts", "insert", "insert1", "delete", "describe",
            "heading", "primary_key", "parents", "join", "restrict"} <= names


def test_a_row_offers_its_columns_and_nothing_private(completions: dict[str, set[str]]) -> None:
    for name in ("row", "made"):
        names = completions[name]
        assert {"subject_id", "session_idx"} <= names
        assert _private(names) == set(), name
        assert not {"fetch", "proj", "heading"} & names  # the query surface is the class's
    assert "note" in completions["row"] and "total" in completions["made"]



def test_a_table_class_offers_no_private_machinery(completions: dict[str, set[str]]) -> None:
    assert _private(completions["Session"]) == set()
