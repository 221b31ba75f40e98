"""Column types parsed once: what a type string says, asked of one frozen object.

A column has two spellings: the type as DataJoint declares it (``int32``, ``<blob@raw>``,
``varchar(64)``, or a native MySQL type) and the SQL type on the server (``int``,
``json``, ``int unsigned``). ``column_type`` reads both into a ``SQLType``; everything
that needs a size, a range, enum members or the value family asks that object instead
of the strings. The strings themselves stay as written: they are what goes on the server.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

CORE_SQL: dict[str, str] = {
    "int8": "tinyint", "int16": "smallint", "int32": "int", "int64": "bigint",
    "float32": "float", "float64": "double", "bool": "tinyint", "uuid": "binary(16)",
    "bytes": "longblob", "json": "json",
}
"""DataJoint's core type names spelled without arguments, and the MySQL type of each."""

CORE_SPELLED = frozenset({"char", "varchar", "decimal", "date", "datetime", "enum"})
"""SQL types that are also DataJoint core types when spelled as MySQL spells them."""

_INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}

_FAMILY = {
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "bigint", "serial", "year"), "int"),
    **dict.fromkeys(("float", "double"), "float"),
    "decimal": "decimal",
    "bool": "bool",
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"), "str"),
    "enum": "enum",
    "date": "date",
    **dict.fromkeys(("datetime", "timestamp"), "datetime"),
    "time": "time",
    **dict.fromkeys(("json", "jsonb"), "json"),
    **dict.fromkeys(("tinyblob", "blob", "mediumblob", "longblob", "binary", "varbinary"), "bytes"),
    # known to MySQL/MariaDB, values read as text (as before this module): kept as "str"
    **dict.fromkeys(("bit", "set", "uuid", "inet4", "inet6", "geometry", "point", "linestring",
                     "polygon", "multipoint", "multilinestring", "multipolygon",
                     "geometrycollection", "vector"), "str"),
}

_ALIASES = {
    "integer": "int", "int1": "tinyint", "int2": "smallint", "int3": "mediumint", "int4": "int",
    "middleint": "mediumint", "dec": "decimal", "numeric": "decimal", "fixed": "decimal",
    "real": "double", "double precision": "double", "float4": "float", "float8": "double",
    "boolean": "bool", "character": "char", "nchar": "char", "national char": "char",
    "national character": "char", "nvarchar": "varchar", "national varchar": "varchar",
    "char varying": "varchar", "character varying": "varchar", "national char varying": "varchar",
    "national character varying": "varchar", "long varbinary": "mediumblob",
    "long varchar": "mediumtext", "long": "mediumtext", "long byte": "mediumblob",
    "nchar varchar": "varchar", "nchar varying": "varchar", "geomcollection": "geometrycollection",
}
"""MySQL's synonyms, each to the base type its catalog reports."""

_SIZED = frozenset({"char", "varchar", "binary", "varbinary", "bit"})
_NEEDS_SIZE = frozenset({"varchar", "varbinary"})
_TEXT_OPTIONS = frozenset({"binary", "ascii", "unicode", "byte"})
_STORED = frozenset({"blob", "external", "attach", "filepath", "object", "npy", "legacy_blob",
                     "legacy_attach", "legacy_filepath"})
_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|(?P<num>\d+)|(?P<str>'(?:[^'\\]|''|\\.)*')"
    r"|(?P<punct>[(),=]))",
    re.DOTALL,
)
_CODEC = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(?:@(.*))?>", re.DOTALL)
"""``<codec>`` or ``<codec@store>``: the store is any text (the store configuration judges it)."""
_LEGACY = re.compile(r"(blob|attach|filepath)@(.+)", re.IGNORECASE | re.DOTALL)


class TypeSyntaxError(ValueError):
    """A type string that is no type DataJoint or MySQL knows (callers add table and attribute)."""


@dataclass(frozen=True, slots=True)
class SQLType:
    """A column's type, parsed: its value family, its SQL base type and what sizes it.

    ``family`` is the value family that picks the codec and the Python type (``int``,
    ``float``, ``decimal``, ``bool``, ``str``, ``enum``, ``date``, ``datetime``, ``time``,
    ``uuid``, ``json``, ``bytes``, a codec such as ``blob``/``external``/``attach``, or a
    datajoint 0.14 ``legacy_*`` type). ``base`` is the MySQL base type, lower case, synonyms
    resolved (``integer`` -> ``int``). ``core`` is the DataJoint core type name when the
    declaration used one (``int32``, ``uuid``, ``varchar``), ``codec``/``store`` the parts
    of ``<codec@store>``. ``length`` is the ``(n)`` of ``char``/``binary``/``bit`` types
    (an integer's display width for ``int(11)``); ``precision`` the digits of a
    ``decimal``/``float`` or the fractional seconds of ``datetime(6)``.
    """

    family: str
    base: str
    sql: str = ""
    core: str | None = None
    codec: str | None = None
    store: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    unsigned: bool = False
    members: tuple[str, ...] = ()
    charset: str | None = None
    collation: str | None = None

    @property
    def int_range(self) -> tuple[int, int] | None:
        """The values an integer column holds (MySQL's limits), or None for other types."""
        bits = _INT_BITS.get(self.base)
        if bits is None:
            return None
        if self.unsigned:
            return 0, 2**bits - 1
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    @property
    def max_length(self) -> int | None:
        """The most characters a ``char``/``varchar`` holds."""
        return self.length if self.base in {"char", "varchar"} else None

    @property
    def is_blob(self) -> bool:
        """Whether values are serialized objects (blobs, stored objects, attachments, file paths)."""
        return self.family in _STORED

    @property
    def is_integer(self) -> bool:
        """Whether the server stores whole numbers (booleans and years too)."""
        return self.base in _INT_BITS or self.base in {"serial", "year", "bool"}

    @property
    def is_real(self) -> bool:
        """Whether the server stores a fractional number (``float``, ``double``, ``decimal``)."""
        return self.base in {"float", "double", "decimal"}

    @property
    def is_binary(self) -> bool:
        """Whether the server stores bytes (``*blob``, ``binary``, ``varbinary``)."""
        return self.base in {"tinyblob", "blob", "mediumblob", "longblob", "binary", "varbinary"}

    @property
    def is_wide_unsigned(self) -> bool:
        """A ``bigint unsigned``: its values may pass what a signed 64-bit integer holds."""
        return self.base == "bigint" and self.unsigned

    @property
    def core_spelled(self) -> bool:
        """Whether this MySQL spelling is also a DataJoint core type (``varchar(n)``,
        ``decimal(p,s)``, ``date``, ``datetime(n)``, ``enum(...)``), recorded as such."""
        if self.base not in CORE_SPELLED or self.unsigned or self.charset or self.collation:
            return False
        if self.base in {"char", "varchar"}:
            return self.length is not None
        if self.base == "decimal":
            return self.scale is not None
        return self.base != "date" or self.precision is None

    @property
    def canonical(self) -> str:
        """The SQL type in one spelling, to compare a class's type with the catalog's.

        Synonyms resolved, an integer's display width dropped, and ``json`` as MariaDB
        reports it (``longtext``); character set and collation are left out.
        """
        if self.base == "":
            return ""
        if self.base in {"json", "bool"}:
            return {"json": "longtext", "bool": "tinyint"}[self.base]
        args: list[str] = []
        if self.members:
            args = ["'" + m.replace("\\", "\\\\").replace("'", "''") + "'" for m in self.members]
        elif self.length is not None and self.base not in _INT_BITS:
            args = [str(self.length)]
        elif self.precision is not None:
            args = [str(self.precision)] + ([str(self.scale)] if self.scale is not None else [])
        text = self.base + (f"({','.join(args)})" if args else "")
        return text + " unsigned" if self.unsigned else text


def parse(text: str) -> SQLType:
    """One type string, in DataJoint's spelling or MySQL's, parsed strictly.

    Raises ``TypeSyntaxError`` for anything else: an unknown word, unbalanced
    parentheses, a size where none belongs or none where one must be.
    """
    stripped = text.strip()
    codec = _CODEC.fullmatch(stripped)
    if codec:
        name = codec.group(1).lower()
        store = codec.group(2)
        family = ("external" if store is not None else "blob") if name == "blob" else name
        return SQLType(family=family, base="", sql=text, codec=name, store=store)
    if stripped.startswith("<") or stripped.endswith(">"):
        raise TypeSyntaxError(f"{text!r} is not a codec type (<codec> or <codec@store>)")
    legacy = _LEGACY.fullmatch(stripped)
    if legacy:
        name = legacy.group(1).lower()
        return SQLType(family="legacy_" + name, base="", sql=text, codec=name, store=legacy.group(2))
    if stripped.lower() == "attach":  # datajoint 0.14's in-table attachment
        return SQLType(family="attach", base="longblob", sql=text, codec="attach")
    core = stripped.lower()
    if core in CORE_SQL:
        server = _parse_sql(CORE_SQL[core])
        family = {"uuid": "uuid", "bool": "bool", "bytes": "bytes"}.get(core, server.family)
        return dataclasses.replace(server, family=family, core=core, sql=text)
    return _parse_sql(text)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise TypeSyntaxError(f"{text!r}: unexpected {text[pos:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _parse_sql(text: str) -> SQLType:
    tokens = _tokens(text)
    words: list[str] = []
    while tokens and tokens[0][0] == "word" and (not words or " ".join([*words, tokens[0][1].lower()])
                                                  in _ALIASES or _continues(words, tokens[0][1])):
        words.append(tokens.pop(0)[1].lower())
    if not words:
        raise TypeSyntaxError(f"{text!r} does not start with a type name")
    name = " ".join(words)
    base = _ALIASES.get(name, name)
    if base not in _FAMILY:
        raise TypeSyntaxError(f"{text!r}: {name!r} is not a MySQL or DataJoint type")
    args: list[tuple[str, str]] = []
    if tokens and tokens[0] == ("punct", "("):
        args = _arguments(text, tokens)
    fields = _sizes(text, base, args)
    fields.update(_options(text, base, tokens))
    return SQLType(family=_FAMILY[base], base=base, sql=text, **fields)  # type: ignore[arg-type]


def _continues(words: list[str], word: str) -> bool:
    """Whether ``word`` extends a multi-word type name (``national char varying``)."""
    prefix = " ".join([*words, word.lower()])
    return any(alias.startswith(prefix + " ") for alias in _ALIASES)


def _arguments(text: str, tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    tokens.pop(0)
    args: list[tuple[str, str]] = []
    while True:
        if not tokens:
            raise TypeSyntaxError(f"{text!r}: unclosed '('")
        kind, value = tokens.pop(0)
        if kind not in {"num", "str"}:
            raise TypeSyntaxError(f"{text!r}: expected a number or a quoted string, got {value!r}")
        args.append((kind, value))
        if not tokens:
            raise TypeSyntaxError(f"{text!r}: unclosed '('")
        kind, value = tokens.pop(0)
        if value == ")":
            return args
        if value != ",":
            raise TypeSyntaxError(f"{text!r}: expected ',' or ')', got {value!r}")


def _sizes(text: str, base: str, args: list[tuple[str, str]]) -> dict[str, object]:
    """The arguments of ``base(...)`` as the fields they are."""
    strings = [unescape_string(v[1:-1]) for k, v in args if k == "str"]
    numbers = [int(v) for k, v in args if k == "num"]
    if base in {"enum", "set"}:
        if not strings or numbers:
            raise TypeSyntaxError(f"{text!r}: {base} lists quoted strings: {base}('a','b')")
        return {"members": tuple(strings)}
    if strings:
        raise TypeSyntaxError(f"{text!r}: {base} takes no quoted arguments")
    most = 2 if base in {"decimal", "float", "double"} else 1
    if len(numbers) > most or (base in _UNSIZED and numbers):
        allowed = "no arguments" if base in _UNSIZED else f"at most {most} number(s)"
        raise TypeSyntaxError(f"{text!r}: {base} takes {allowed} in parentheses")
    if base in _NEEDS_SIZE and not numbers:
        raise TypeSyntaxError(f"{text!r}: {base} needs a length: {base}(n)")
    if not numbers:
        return {}
    if base in _SIZED or base in _INT_BITS or base in {"text", "blob", "year"}:
        return {"length": numbers[0]}
    if base in {"datetime", "timestamp", "time"} and numbers[0] > 6:
        raise TypeSyntaxError(f"{text!r}: fractional seconds go up to 6 digits")
    return {"precision": numbers[0], "scale": numbers[1] if len(numbers) > 1 else None}


_UNSIZED = frozenset({"json", "jsonb", "date", "bool", "tinytext", "mediumtext", "longtext", "tinyblob",
                      "mediumblob", "longblob"})


def _options(text: str, base: str, tokens: list[tuple[str, str]]) -> dict[str, object]:
    """What follows the type: ``unsigned``, ``zerofill``, a character set, a collation."""
    out: dict[str, object] = {}
    numeric = base in _INT_BITS or base in {"decimal", "float", "double"}
    textual = _FAMILY[base] in {"str", "enum"}
    while tokens:
        kind, value = tokens.pop(0)
        word = value.lower()
        if kind == "word" and numeric and word in {"unsigned", "signed", "zerofill"}:
            out["unsigned"] = out.get("unsigned", False) or word in {"unsigned", "zerofill"}
        elif kind == "word" and textual and word in _TEXT_OPTIONS:
            continue
        elif kind == "word" and textual and word in {"charset", "character", "collate"}:
            if word == "character" and (not tokens or tokens.pop(0)[1].lower() != "set"):
                raise TypeSyntaxError(f"{text!r}: expected CHARACTER SET name")
            if tokens and tokens[0] == ("punct", "="):
                tokens.pop(0)
            if not tokens or tokens[0][0] not in {"word", "str"}:
                raise TypeSyntaxError(f"{text!r}: {value} needs a name")
            name = tokens.pop(0)[1].strip("'").lower()
            out["collation" if word == "collate" else "charset"] = name
        else:
            raise TypeSyntaxError(f"{text!r}: unexpected {value!r} after the type")
    return out


@functools.lru_cache(maxsize=4096)
def column_type(type_name: str, sql_type: str, commented: bool = True) -> SQLType:
    """The type of a column declared ``type_name``, ``sql_type`` on the server.

    Never raises: a type this module cannot read (a catalog may hold what no
    declaration here makes) is a ``str`` of the first word, with nothing sized.
    ``commented``: the type is recorded in the column comment, which makes a bare
    ``blob`` datajoint 0.12-0.14's serialized blob rather than bytes.
    """
    if commented and type_name.strip().lower() == "blob":
        declared = SQLType(family="blob", base="longblob", sql=type_name, codec="blob")
    else:
        declared = _lenient(type_name)
        if not commented and declared.core is not None:
            declared = dataclasses.replace(declared, core=None)
    if sql_type == type_name:
        return declared
    server = _lenient(sql_type)
    return dataclasses.replace(server, family=declared.family, core=declared.core, codec=declared.codec,
                    store=declared.store, sql=sql_type)


def _lenient(text: str) -> SQLType:
    try:
        return parse(text)
    except TypeSyntaxError:
        return SQLType(family="str", base=" ".join(text.lower().split()), sql=text)


def enum_type(values: Iterable[str]) -> str:
    """``enum(...)`` of ``values``, escaped as MySQL shows it (so the catalog reads back the same)."""
    return "enum(" + ",".join("'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in values) + ")"


_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}


def unescape_string(inner: str) -> str:
    """The text of a MySQL string literal without its quotes (``it''s``, ``a\\\\b``, ``\\n``)."""

    def one(match: re.Match[str]) -> str:
        char = match.group(1)
        return "'" if char is None else _ESCAPES.get(char, char)

    return re.sub(r"''|\\(.)", one, inner, flags=re.DOTALL)
