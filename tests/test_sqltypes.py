"""Type strings are parsed once, into ``SQLType``: every spelling DataJoint or MySQL takes,
hostile ones included, and the same fields whether read from a class or from the server."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import typedj as tj
from typedj import Attr, Key, Manual
from typedj.declare import declare
from typedj.heading import Attribute
from typedj.sqltypes import SQLType, TypeSyntaxError, column_type, parse

# spelling -> the fields it parses to (fields not named keep their defaults)
SPELLINGS: list[tuple[str, dict[str, Any]]] = [
    # DataJoint core types
    ("int8", {"family": "int", "base": "tinyint", "core": "int8"}),
    ("int16", {"family": "int", "base": "smallint", "core": "int16"}),
    ("int32", {"family": "int", "base": "int", "core": "int32"}),
    ("int64", {"family": "int", "base": "bigint", "core": "int64"}),
    ("INT32", {"family": "int", "base": "int", "core": "int32"}),
    ("float32", {"family": "float", "base": "float", "core": "float32"}),
    ("float64", {"family": "float", "base": "double", "core": "float64"}),
    ("bool", {"family": "bool", "base": "tinyint", "core": "bool"}),
    ("uuid", {"family": "uuid", "base": "binary", "core": "uuid", "length": 16}),
    ("bytes", {"family": "bytes", "base": "longblob", "core": "bytes"}),
    ("json", {"family": "json", "base": "json", "core": "json"}),
    ("date", {"family": "date", "base": "date"}),
    ("datetime", {"family": "datetime", "base": "datetime"}),
    ("datetime(6)", {"family": "datetime", "base": "datetime", "precision": 6}),
    ("varchar(64)", {"family": "str", "base": "varchar", "length": 64}),
    ("char(8)", {"family": "str", "base": "char", "length": 8}),
    ("decimal(5,2)", {"family": "decimal", "base": "decimal", "precision": 5, "scale": 2}),
    ("enum('M','F','U')", {"family": "enum", "base": "enum", "members": ("M", "F", "U")}),
    # codecs and datajoint 0.14's stored types
    ("<blob>", {"family": "blob", "base": "", "codec": "blob"}),
    ("<blob@raw>", {"family": "external", "base": "", "codec": "blob", "store": "raw"}),
    ("<attach@>", {"family": "attach", "base": "", "codec": "attach", "store": ""}),
    ("<attach>", {"family": "attach", "base": "", "codec": "attach"}),
    ("<filepath@data>", {"family": "filepath", "base": "", "codec": "filepath", "store": "data"}),
    ("<object@zarr>", {"family": "object", "base": "", "codec": "object", "store": "zarr"}),
    ("<npy@arrays>", {"family": "npy", "base": "", "codec": "npy", "store": "arrays"}),
    ("<filepath@x'; DROP TABLE t; -->", {"family": "filepath", "base": "", "codec": "filepath",
                                         "store": "x'; DROP TABLE t; --"}),  # refused by the store config
    ("blob@external", {"family": "legacy_blob", "base": "", "codec": "blob", "store": "external"}),
    ("attach@files", {"family": "legacy_attach", "base": "", "codec": "attach", "store": "files"}),
    ("filepath@raw", {"family": "legacy_filepath", "base": "", "codec": "filepath", "store": "raw"}),
    ("attach", {"family": "attach", "base": "longblob", "codec": "attach"}),
    # MySQL's integers, as declared and as old catalogs report them
    ("tinyint", {"family": "int", "base": "tinyint"}),
    ("tinyint(1)", {"family": "int", "base": "tinyint", "length": 1}),
    ("smallint unsigned", {"family": "int", "base": "smallint", "unsigned": True}),
    ("mediumint", {"family": "int", "base": "mediumint"}),
    ("int(11) unsigned", {"family": "int", "base": "int", "length": 11, "unsigned": True}),
    ("int(10) unsigned zerofill", {"family": "int", "base": "int", "length": 10, "unsigned": True}),
    ("INTEGER", {"family": "int", "base": "int"}),
    ("  Int   UNSIGNED  ", {"family": "int", "base": "int", "unsigned": True}),
    ("bigint(20) unsigned", {"family": "int", "base": "bigint", "length": 20, "unsigned": True}),
    ("bigint signed", {"family": "int", "base": "bigint"}),
    ("serial", {"family": "int", "base": "serial"}),
    ("year", {"family": "int", "base": "year"}),
    ("year(4)", {"family": "int", "base": "year", "length": 4}),
    ("boolean", {"family": "bool", "base": "bool"}),
    # fractional numbers
    ("float", {"family": "float", "base": "float"}),
    ("float(7,4)", {"family": "float", "base": "float", "precision": 7, "scale": 4}),
    ("double", {"family": "float", "base": "double"}),
    ("DOUBLE PRECISION", {"family": "float", "base": "double"}),
    ("real", {"family": "float", "base": "double"}),
    ("double unsigned", {"family": "float", "base": "double", "unsigned": True}),
    ("decimal", {"family": "decimal", "base": "decimal"}),
    ("decimal(10)", {"family": "decimal", "base": "decimal", "precision": 10}),
    ("decimal(10, 2) unsigned", {"family": "decimal", "base": "decimal", "precision": 10, "scale": 2,
                                 "unsigned": True}),
    ("NUMERIC( 8 , 3 )", {"family": "decimal", "base": "decimal", "precision": 8, "scale": 3}),
    ("dec(4,1)", {"family": "decimal", "base": "decimal", "precision": 4, "scale": 1}),
    ("fixed(4,1)", {"family": "decimal", "base": "decimal", "precision": 4, "scale": 1}),
    # text
    ("VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
     {"family": "str", "base": "varchar", "length": 255, "charset": "utf8mb4", "collation": "utf8mb4_bin"}),
    ("varchar(16) charset=latin1", {"family": "str", "base": "varchar", "length": 16, "charset": "latin1"}),
    ("char(10) binary", {"family": "str", "base": "char", "length": 10}),
    ("national varchar(20)", {"family": "str", "base": "varchar", "length": 20}),
    ("character varying(12)", {"family": "str", "base": "varchar", "length": 12}),
    ("nchar(3)", {"family": "str", "base": "char", "length": 3}),
    ("tinytext", {"family": "str", "base": "tinytext"}),
    ("text", {"family": "str", "base": "text"}),
    ("text(100)", {"family": "str", "base": "text", "length": 100}),
    ("mediumtext", {"family": "str", "base": "mediumtext"}),
    ("longtext collate utf8mb4_unicode_ci", {"family": "str", "base": "longtext",
                                             "collation": "utf8mb4_unicode_ci"}),
    ("long varchar", {"family": "str", "base": "mediumtext"}),
    # enums and sets, with the quotes MySQL doubles or escapes
    ("enum('a','b''c')", {"family": "enum", "base": "enum", "members": ("a", "b'c")}),
    ("ENUM( 'x' , 'y z' )", {"family": "enum", "base": "enum", "members": ("x", "y z")}),
    ("enum('a\\\\b','(',')',',')", {"family": "enum", "base": "enum", "members": ("a\\b", "(", ")", ",")}),
    ("enum('') character set latin1",
     {"family": "enum", "base": "enum", "members": ("",), "charset": "latin1"}),
    ("set('r','w','x')", {"family": "str", "base": "set", "members": ("r", "w", "x")}),
    # time
    ("time", {"family": "time", "base": "time"}),
    ("time(3)", {"family": "time", "base": "time", "precision": 3}),
    ("timestamp", {"family": "datetime", "base": "timestamp"}),
    ("timestamp(6)", {"family": "datetime", "base": "timestamp", "precision": 6}),
    ("DATETIME(0)", {"family": "datetime", "base": "datetime", "precision": 0}),
    # bytes
    ("binary(16)", {"family": "bytes", "base": "binary", "length": 16}),
    ("varbinary(255)", {"family": "bytes", "base": "varbinary", "length": 255}),
    ("tinyblob", {"family": "bytes", "base": "tinyblob"}),
    ("blob", {"family": "bytes", "base": "blob"}),
    ("mediumblob", {"family": "bytes", "base": "mediumblob"}),
    ("longblob", {"family": "bytes", "base": "longblob"}),
    ("long varbinary", {"family": "bytes", "base": "mediumblob"}),
    # the rest MySQL and MariaDB know: read as text, as before
    ("bit(8)", {"family": "str", "base": "bit", "length": 8}),
    ("geometry", {"family": "str", "base": "geometry"}),
    ("point", {"family": "str", "base": "point"}),
    ("inet6", {"family": "str", "base": "inet6"}),
]


@pytest.mark.parametrize(("text", "fields"), SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_every_spelling_parses_to_its_fields(text: str, fields: dict[str, Any]) -> None:
    expected = SQLType(**{"sql": text, **fields})
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "does not start with a type name"),
        ("   ", "does not start with a type name"),
        ("strng", "'strng' is not a MySQL or DataJoint type"),
        ("uint8", "'uint8' is not a MySQL or DataJoint type"),
        ("varchar", "varchar needs a length"),
        ("varchar(", "unclosed '('"),
        ("varchar(10", "unclosed '('"),
        ("varchar(10))", "unexpected ')' after the type"),
        ("decimal(10,x)", "expected a number or a quoted string, got 'x'"),
        ("decimal(1,2,3)", "decimal takes at most 2 number(s)"),
        ("int(1,2)", "int takes at most 1 number(s)"),
        ("longtext(5)", "longtext takes no arguments"),
        ("json(1)", "json takes no arguments"),
        ("enum(a)", "expected a number or a quoted string, got 'a'"),
        ("enum()", "expected a number or a quoted string, got ')'"),
        ("enum(1,2)", "enum lists quoted strings"),
        ("enum('a)", "unexpected"),
        ("varchar('a')", "varchar takes no quoted arguments"),
        ("varchar(10) unsigned", "unexpected 'unsigned' after the type"),
        ("int character set utf8", "unexpected 'character' after the type"),
        ("varchar(5) character utf8", "expected CHARACTER SET name"),
        ("varchar(5) collate", "collate needs a name"),
        ("datetime(7)", "fractional seconds go up to 6 digits"),
        ("int; DROP TABLE x", "unexpected '; DROP TABLE x'"),
        ("int -- comment", "unexpected '-- comment'"),
        ("<blob", "is not a codec type"),
        ("blob>", "is not a codec type"),
        ("frob@store", "'frob@store'"),
    ],
)
def test_unparseable_spellings_say_why(text: str, problem: str) -> None:
    with pytest.raises(TypeSyntaxError) as info:
        parse(text)
    assert problem in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["varchar(", "decimal(10,x)", "strng", "int; DROP TABLE x"])
def test_declaring_an_unparseable_type_names_table_and_attribute(text: str) -> None:
    class Probe(Manual):
        probe_id: Key[int]
        label: str = Attr(sql_type=text)

    with pytest.raises(tj.DeclarationError) as info:
        declare(Probe, "s", lambda parent: None)
    assert info.value.table == "Probe"
    assert info.value.attribute == "label"
    assert str(info.value).startswith(f"Probe.label: {text!r}")
    assert isinstance(info.value.__cause__, TypeSyntaxError)


def test_ranges_sizes_and_canonical_spellings() -> None:
    assert parse("tinyint").int_range == (-128, 127)
    assert parse("tinyint unsigned").int_range == (0, 255)
    assert parse("mediumint(9) unsigned").int_range == (0, 2**24 - 1)
    assert parse("int32").int_range == (-(2**31), 2**31 - 1)
    assert parse("bigint unsigned").int_range == (0, 2**64 - 1)
    assert parse("float").int_range is None
    assert parse("varchar(64)").max_length == 64
    assert parse("binary(16)").max_length is None
    assert parse("bigint(20) unsigned").is_wide_unsigned
    assert not parse("bigint").is_wide_unsigned
    assert parse("int(11) unsigned").canonical == "int unsigned"
    assert parse("DECIMAL(10, 2)").canonical == "decimal(10,2)"
    assert parse("enum('a','b''c')").canonical == "enum('a','b''c')"
    assert parse("json").canonical == "longtext"
    assert parse("bool").canonical == "tinyint"
    assert parse("Integer").canonical == "int"
    assert parse("varchar(3) character set latin1").canonical == "varchar(3)"
    assert [parse(t).core_spelled for t in ("varchar(8)", "decimal(5,2)", "date", "datetime(3)",
                                             "enum('a')")] == [True] * 5
    assert [parse(t).core_spelled for t in ("decimal(5)", "int", "varchar(8) charset latin1",
                                             "decimal(5,2) unsigned", "time")] == [False] * 5
    storage = {t: (parse(t).is_integer, parse(t).is_real, parse(t).is_binary)
               for t in ("year", "decimal(4,1)", "varbinary(8)", "json")}
    assert storage == {"year": (True, False, False), "decimal(4,1)": (False, True, False),
                       "varbinary(8)": (False, False, True), "json": (False, False, False)}


def test_attribute_types_combine_the_declared_and_the_server_spelling() -> None:
    counter = Attribute("n", "int32", "int")
    assert (counter.type.family, counter.type.core, counter.type.base) == ("int", "int32", "int")
    blob = Attribute("b", "<blob@raw>", "json")
    assert (blob.kind, blob.store, blob.is_blob, blob.type.base) == ("external", "raw", True, "json")
    native = Attribute("j", "json", "longtext", core=False)  # MariaDB reports json as longtext
    assert (native.kind, native.type.core, native.type.base) == ("json", None, "longtext")
    old_blob = Attribute("o", "blob", "longblob", core=True)  # datajoint 0.12-0.14's ``:blob:``
    assert old_blob.kind == "blob"
    assert Attribute("o", "blob", "blob", core=False).kind == "bytes"
    renamed = counter.renamed("m")
    assert renamed.type is counter.type
    computed = Attribute("e", "expression", "")  # a computed attribute: the server decides
    assert (computed.kind, computed.type.base) == ("str", "")
    odd = Attribute("w", "weird thing(", "weird thing(", core=False)  # a catalog we cannot read
    assert (odd.kind, odd.type.base) == ("str", "weird thing(")
    assert column_type("weird thing(", "weird thing(", False) is odd.type
    assert pickle.loads(pickle.dumps(counter)).type == counter.type


NATIVE = {
    "small": "smallint unsigned",
    "medium": "mediumint",
    "wide": "bigint unsigned",
    "num": "decimal(10,2) unsigned",
    "ratio": "float",
    "precise": "double",
    "code": "char(3)",
    "label": "varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "body": "mediumtext",
    "mode": "enum('r','w''x','a\\\\b')",
    "at": "timestamp(3)",
    "span": "time",
    "raw": "varbinary(32)",
    "blobby": "mediumblob",
}


def test_catalog_types_parse_like_the_declaration(schema: tj.Schema) -> None:
    """The types read back from the server have the fields of the types declared."""
    schema(_natives())
    again = tj.Schema(schema.name, connection=schema.connection)
    heading = again.get_table("natives").heading
    for name, sql in NATIVE.items():
        declared, read = parse(sql), heading[name].type
        fields = ("family", "base", "length", "precision", "scale", "unsigned", "members")
        assert [getattr(read, f) for f in fields] == [getattr(declared, f) for f in fields], name
    assert heading["natives_id"].type.core == "int32"
    again(_natives())  # the same class binds to the table: its spellings match the catalog's
    assert again.diff() == []


def _natives() -> type[Manual]:
    namespace: dict[str, Any] = {"Key": Key, "Attr": Attr, "Manual": Manual, "__name__": __name__}
    body = "\n".join(f"    {name}: Any = Attr(sql_type={sql!r}, default=None)"
                     for name, sql in NATIVE.items())
    exec(f"from typing import Any\nclass Natives(Manual):\n    natives_id: Key[int]\n{body}\n", namespace)
    cls: type[Manual] = namespace["Natives"]
    return cls


@pytest.mark.parametrize(("reported", "kept"), [
    ("int(11)", "int"), ("tinyint(1)", "tinyint"), ("int(10) unsigned", "int unsigned"),
    ("bigint(20) unsigned zerofill", "bigint unsigned zerofill"), ("year(4)", "year(4)"),
    ("varchar(11)", "varchar(11)"), ("enum('int(1)','b')", "enum('int(1)','b')"), ("int", "int"),
])
def test_the_mysql_catalog_drops_only_an_integers_display_width(reported: str, kept: str) -> None:
    from typedj.backend.mysql.catalog import MySQLCatalog

    assert MySQLCatalog._attribute("a", reported, "NO", None, "", "", "").sql_type == kept


@pytest.mark.parametrize(("declared", "native", "sql_type"), [
    ("int32", "integer", "int"), ("uuid", "uuid", "binary(16)"), ("<blob>", "bytea", "longblob"),
    ("<attach>", "bytea", "longblob"), ("<blob@raw>", "jsonb", "json"), ("<npy@raw>", "jsonb", "json"),
    ("varchar(64)", "character varying(64)", "character varying(64)"),
])
def test_the_postgres_catalog_reads_a_declared_type_through_the_parser(declared: str, native: str,
                                                                        sql_type: str) -> None:
    from typedj.backend.postgres_types import core_sql_type

    assert core_sql_type(declared, native) == sql_type
