"""The attribute names inside SQL text: ``"weight > 10"``, ``"max(sesion_date)"``.

Both the runtime (when a restriction or a computed attribute is written) and the mypy
plugin check them, so a misspelled name fails early and names the same attribute. The
scan is deliberately modest: it finds bare identifiers that are not SQL keywords, type
names or functions, and gives up (returns None, checking nothing) on text it does not
fully understand: subqueries, qualified names, variables, unbalanced quotes.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<quoted>`(?:[^`]|``)+`)
    | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<placeholder>%s|%\([A-Za-z_]\w*\)s|\?|:[A-Za-z_]\w*)
    | (?P<op><=>|<>|!=|<=|>=|\|\||&&|<<|>>|[-+*/%=<>!(),~^&|])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_WORDS = frozenset({
    "and", "or", "not", "xor", "is", "null", "true", "false", "unknown", "in", "like", "rlike",
    "regexp", "between", "escape", "exists", "case", "when", "then", "else", "end", "as",
    "collate", "binary", "distinct", "all", "any", "some", "div", "mod", "interval", "asc", "desc",
    "separator", "order", "by", "using", "with", "rollup", "over", "partition", "rows", "range",
    "preceding", "following", "current", "unbounded", "sounds", "match", "against", "boolean",
    "mode", "natural", "language", "expansion", "query", "current_date", "current_time",
    "current_timestamp", "current_user", "localtime", "localtimestamp", "utc_date", "utc_time",
    "utc_timestamp", "now", "microsecond", "second", "minute", "hour", "day", "week", "month",
    "quarter", "year", "second_microsecond", "minute_microsecond", "minute_second",
    "hour_microsecond", "hour_second", "hour_minute", "day_microsecond", "day_second",
    "day_minute", "day_hour", "year_month", "signed", "unsigned", "integer", "int", "char",
    "varchar", "date", "datetime", "time", "timestamp", "decimal", "double", "float", "real",
    "json", "nchar", "text", "blob",
})
"""Keywords, literals, interval units and type names that may appear bare in SQL text."""

_GIVE_UP = frozenset({"select", "from", "where", "join", "union", "group", "having", "limit"})


def identifiers(text: str) -> list[str] | None:
    """The attribute names ``text`` uses, in order; None when it cannot tell."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text)]
    tokens = [(kind, value) for kind, value in tokens if kind != "space"]
    if any(kind == "other" for kind, _ in tokens):
        return None  # a variable, a qualified name, an unbalanced quote: not ours to judge
    found: list[str] = []
    for i, (kind, value) in enumerate(tokens):
        if kind == "quoted":
            found.append(value[1:-1].replace("``", "`"))
            continue
        if kind != "name":
            continue
        word = value.lower()
        if word in _GIVE_UP:
            return None  # a subquery names other tables' attributes
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        previous = tokens[i - 1][1].lower() if i > 0 else ""
        if word in _WORDS or following == "(" or previous in ("collate", "separator"):
            continue
        found.append(value)
    return found


def unknown(text: str, names: Collection[str]) -> list[str]:
    """The identifiers of ``text`` that are not in ``names`` (none when it cannot tell)."""
    used = identifiers(text)
    if used is None:
        return []
    lowered = {n.lower() for n in names}
    return list(dict.fromkeys(n for n in used if n.lower() not in lowered))
