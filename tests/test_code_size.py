"""No module in typedj/ over 600 lines, no function or method over 60 (issue 14.4).

A function is counted from its ``def`` line to the last line of its body, docstring
included (decorators are not). ``ALLOWED`` lists the offenders that are known and being
split, each with the helper who owns it; it only ever shrinks. An entry that no longer
offends is reported as a warning so that it is removed.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "typedj"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60

# "path" for a module, "path::Qualified.name" for a function; value: who owns the fix.
ALLOWED: dict[str, str] = {
}


def _functions(node: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """(qualified name, line count) of every function and method below ``node``."""
    found: list[tuple[str, int]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + child.name
            assert child.end_lineno is not None
            found.append((name, child.end_lineno - child.lineno + 1))
            found += _functions(child, name + ".")
        elif isinstance(child, ast.ClassDef):
            found += _functions(child, prefix + child.name + ".")
        else:
            found += _functions(child, prefix)
    return found


def offenders(package: Path = PACKAGE) -> dict[str, int]:
    """Every module over MAX_MODULE_LINES and function over MAX_FUNCTION_LINES, with its size."""
    found: dict[str, int] = {}
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found[relative] = lines
        for name, length in _functions(ast.parse(source, filename=str(path))):
            if length > MAX_FUNCTION_LINES:
                found[f"{relative}::{name}"] = length
    return found


def test_the_counter_measures_def_to_end_of_body(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "m.py").write_text(
        f"@decorator\ndef long():\n{body}\n\n"
        "class C:\n    def short(self):\n        '''doc'''\n        return 1\n\n"
        "    def outer(self):\n        def inner():\n" + "\n".join(
            f"            y{i} = {i}" for i in range(61)) + "\n",
        encoding="utf-8")
    assert offenders(tmp_path) == {"m.py::long": 61, "m.py::C.outer": 63,
                                   "m.py::C.outer.inner": 62}
    (tmp_path / "big.py").write_text("x = 1\n" * 601, encoding="utf-8")
    assert offenders(tmp_path)["big.py"] == 601


def test_no_long_modules_or_functions_beyond_the_allowlist() -> None:
    found = offenders()
    new = {name: size for name, size in found.items() if name not in ALLOWED}
    listing = "\n".join(f"  typedj/{name}: {size} lines" for name, size in sorted(new.items()))
    assert not new, (f"split these (limits: module {MAX_MODULE_LINES} lines, "
                     f"function {MAX_FUNCTION_LINES}):\n{listing}")
    fixed = sorted(set(ALLOWED) - set(found))
    if fixed:
        warnings.warn("no longer too long, remove from ALLOWED in tests/test_code_size.py: "
                      + ", ".join(fixed), stacklevel=1)
