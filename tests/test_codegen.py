"""Code generation and virtual modules: typed classes for existing schemas, round-tripped."""

from __future__ import annotations

import importlib.util
import sys
import types
import uuid
import warnings
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from typedj import Attr, Key, Link, Manual, Part, Ref
from typedj.codegen import class_path, generate, literal, tier_of
from typedj.codegen.render import _attribute_line
from typedj.heading import Attribute

from .lab import declare_lab
from .test_stores_rig import store_config as store_config


def _import(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _reopen(conn: tj.Connection, source: str, path: Path, *names: str) -> types.ModuleType:
    """Write ``source`` and import it as a program starting afresh would."""
    for name in names:
        conn.schemas.pop(name, None)
    path.write_text(source)
    return _import(path, f"generated_{abs(hash(path))}")


def _table_count(conn: tj.Connection, schema: str) -> int:
    return len(conn.catalog.load_catalog(schema))


def test_names_from_table_names() -> None:
    assert tier_of("#species") == ("Lookup", None)
    assert tier_of("__spike_sort") == ("Computed", None)
    assert tier_of("_recording") == ("Imported", None)
    assert tier_of("session") == ("Manual", None)
    assert tier_of("__spike_sort__unit") == ("Part", "__spike_sort")
    assert tier_of("#method__param") == ("Part", "#method")
    assert class_path("__spike_sort__unit") == "SpikeSort.Unit"
    assert class_path("two_photon_scan") == "TwoPhotonScan"


def test_literals_are_python_source() -> None:
    values = [None, True, 3, 2.5, "it's", b"\x00", Decimal("1.50"), date(2024, 1, 2),
              datetime(2024, 1, 2, 3, 4, 5, 600), uuid.UUID(int=7), {"a": [1, 2.0]}, (1,)]
    namespace = {"Decimal": Decimal, "date": date, "datetime": datetime, "UUID": uuid.UUID}
    for value in values:
        assert eval(literal(value), namespace) == value
    assert literal(float("nan")) == "float('nan')"
    with pytest.raises(TypeError, match="no Python literal"):
        literal(object())


def test_attribute_lines_for_codecs_and_native_types() -> None:
    def line(type_name: str, sql: str, core: bool = True, **kw: Any) -> str:
        return _attribute_line(Attribute(name="x", type_name=type_name, sql_type=sql, core=core, **kw), "t.x")

    assert line("<blob@raw>", "json") == "x: Blob[Any] = External('raw')"
    assert line("<blob@>", "json", nullable=True, default=None, comment="c") == \
        "x: Blob[Any] | None = External('', default=None, comment='c')"
    assert line("<attach@files>", "json") == "x: tj.Attach = External('files')"
    assert line("<filepath@data>", "json") == "x: tj.Filepath = External('data')"
    assert line("<attach>", "longblob") == "x: tj.Attach"
    assert line("int unsigned", "int unsigned", core=False) == "x: tj.uint32"
    assert line("smallint", "smallint", core=False, default="3") == \
        "x: int = Attr(default=3, sql_type='smallint')"
    assert line("char(2)", "char(2)", in_key=True) == "x: Key[str] = Attr(max_length=2, fixed_length=True)"
    assert line("time", "time", core=False) == "x: time = Attr(sql_type='time')"
    assert line("<object@s>", "json") == "x: tj.Object = External('s')"
    assert line("<npy@s>", "json") == "x: tj.Npy = External('s')"
    assert line("<object@Raw>", "json") == "x: tj.Object = External('Raw')"
    assert line("<npy@s>", "json", nullable=True, default=None) == \
        "x: tj.Npy | None = External('s', default=None)"
    with pytest.raises(tj.DeclarationError, match="codec type <other@s> has no typedj spelling"):
        line("<other@s>", "json")


def test_typedj_schema_round_trip(schema: tj.Schema, conn: tj.Connection, tmp_path: Path) -> None:
    lab = declare_lab(schema)
    lab.Subject.insert1(subject_id=1, species="mouse", sex="F", date_of_birth=date(2024, 5, 1))
    lab.Session.insert1(subject_id=1, session_id=2, session_date=date(2024, 6, 1))
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 2, "depth": 1.5}])
    lab.Synapse.insert1(pre_cell=1, post_cell=2, weight=0.5)
    before = {t: _table_count(conn, schema.name) for t in ("all",)}
    rows = {c.__name__: sorted(map(repr, c.to_dicts())) for c in (lab.Subject, lab.Session, lab.Synapse)}

    source = generate(schema.name, connection=conn, contents=True)
    expected_lines = [
        f"schema = tj.Schema({schema.name!r})",
        "class Species(Lookup):",
        "    species: Key[str] = Attr(max_length=32)",
        "        {'species': 'mouse'},",
        "    subject_id: Key[int] = Attr(comment='subject id')",
        "    species: str = Link(Species)",
        "    sex: Literal['M', 'F', 'U'] = 'U'",
        "    date_of_birth: date | None = None",
        "    weight: Decimal = Attr(default=Decimal('20.00'), precision=5, scale=2)",
        "    notes: str = Attr(default='', max_length=1024, comment='free text')",
        "    indexes = [tj.Index('sex', 'weight')]",
        "    session_id: Key[tj.int16]",
        "    started: datetime = Attr(default=tj.CURRENT_TIMESTAMP, precision=3)",
        "    depth: tj.float32 = 0.0",
        "    pre_cell: Key[int] = Link(Cell, 'cell_id')",
        "    subject_id: Key[int] = Link(Session)",
        "    session_id: Key[int] = Link(Session)",
        "    device_id: Key[tj.uint8]",
        "    settings: Any | None = Attr(default=None, sql_type='json')",
        "    subject_id: int | None = Link(Subject, nullable=True)",
        "class Spikes(Computed):",
        "    class Unit(Part):",
        "        waveform: Blob[Any] | None = None",
        "    config_id: Key[int] = Attr(auto_increment=True)",
        "    indexes = [tj.Index('name', unique=True)]",
    ]
    lines = source.splitlines()
    for line in expected_lines:
        assert line in lines, line
    assert lines.index("class Subject(Manual):") < lines.index("class Session(Manual):")
    compile(source, "lab.py", "exec")

    module = _reopen(conn, source, tmp_path / "lab_generated.py", schema.name)
    assert module.schema.diff() == []
    assert _table_count(conn, schema.name) == before["all"]
    assert issubclass(module.Spikes, tj.Computed) and issubclass(module.Spikes.Unit, tj.Part)
    assert module.Spikes.Unit.table_name == "__spikes__unit"
    for name, expected in rows.items():
        assert sorted(map(repr, getattr(module, name).to_dicts())) == expected
    subject = (module.Subject & {"subject_id": 1}).fetch1()
    assert subject.sex == "F" and subject.date_of_birth == date(2024, 5, 1)
    module.Subject.insert1(subject_id=2, species="rat")
    assert len(lab.Subject) == 2
    with pytest.raises(tj.ValidationError, match="sex"):
        module.Subject.insert1(subject_id=3, species="rat", sex="X")
    assert len(lab.Subject) == 2


def test_virtual_module(schema: tj.Schema, conn: tj.Connection) -> None:
    lab = declare_lab(schema)
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 2}])
    lab.Synapse.insert1(pre_cell=1, post_cell=2, weight=0.25)
    tables = _table_count(conn, schema.name)

    v = tj.virtual_module("lab", schema.name, connection=conn)
    assert v.__name__ == "lab"
    assert v.__source__ == generate(schema.name, connection=conn)
    assert v.schema.diff() == []
    assert _table_count(conn, schema.name) == tables
    assert [r.weight for r in v.Synapse.fetch()] == [0.25]
    assert v.Synapse.primary_key == ["pre_cell", "post_cell"]
    assert v.Spikes.Unit.heading.primary_key == ["subject_id", "session_id", "unit_id"]
    assert set(v.Species.fetch("species")) == {"mouse", "rat"}
    joined = (v.Cell * v.Synapse.proj(cell_id="pre_cell")).to_dicts()
    assert [r["cell_id"] for r in joined] == [1]


def test_cross_schema_references_and_part_forward_references(
    schema: tj.Schema, conn: tj.Connection, schema_name: str, tmp_path: Path
) -> None:
    upstream = schema
    downstream = tj.Schema(f"{schema_name}_down", connection=conn)

    @upstream
    class Animal(Manual):
        animal_id: Key[int]

    @downstream
    class Recording(Manual):
        """recordings of animals"""

        animal: Key[Ref[Animal]]
        rec: Key[int]
        reviewer: Ref[Animal] | None = Link(rename={"animal_id": "reviewer_id"}, nullable=True)

        class Channel(Part):
            channel: Key[int]

        class Pair(Part):
            first: Key[Ref[Recording.Channel]] = Link(rename={"channel": "first_channel"})
            second: Key[Ref[Recording.Channel]] = Link(rename={"channel": "second_channel"})

    Animal.insert1(animal_id=7)
    Recording.insert1(animal_id=7, rec=1, reviewer_id=7)
    source = generate(downstream.name, connection=conn, links=False)
    var = schema_name
    assert f"{var} = tj.virtual_module({var!r}, {var!r})" in source
    assert f"    animal: Key[Ref[{var}.Animal]]" in source
    assert (f"    reviewer: Ref[{var}.Animal] | None = Link(rename={{'animal_id': 'reviewer_id'}}, "
            "nullable=True)") in source
    first = "        first: Key[Ref['Recording.Channel']] = Link(rename={'channel': 'first_channel'})"
    second = "        second: Key[Ref['Recording.Channel']] = Link(rename={'channel': 'second_channel'})"
    assert source.index(first) < source.index(second)

    module = _reopen(conn, source, tmp_path / "rec.py", downstream.name, upstream.name)
    assert module.schema.diff() == []
    assert module.Recording.fetch1("reviewer_id") == 7
    assert module.Recording.Pair.primary_key == ["animal_id", "rec", "first_channel", "second_channel"]

    linked = generate(downstream.name, connection=conn)  # inherited columns as Link columns
    assert f"    animal_id: Key[int] = Link({var}.Animal)" in linked
    assert f"    reviewer_id: int | None = Link({var}.Animal, 'animal_id', nullable=True)" in linked
    assert first in linked  # a part's reference to its master's part: the class is not made yet
    module = _reopen(conn, linked, tmp_path / "rec_linked.py", downstream.name, upstream.name)
    assert module.schema.diff() == []
    assert module.Recording.fetch1("reviewer_id") == 7


def test_table_classes_named_like_the_vocabulary(
    schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    @schema
    class Link(Manual):  # a table called "link" takes the name of tj.Link
        link_id: Key[int]

    @schema
    class Usage(Manual):
        link: Key[Ref[Link]]
        note: str = Attr(max_length=10, comment="c")

    source = generate(schema.name, connection=conn)
    assert "from typedj import" not in source
    assert "class Link(tj.Manual):" in source and "    link_id: tj.Key[int] = tj.Link(Link)" in source
    assert "    link: tj.Key[tj.Ref[Link]]" in generate(schema.name, connection=conn, links=False)
    assert "    note: str = tj.Attr(max_length=10, comment='c')" in source
    module = _reopen(conn, source, tmp_path / "vocabulary.py", schema.name)
    assert module.schema.diff() == []
    assert module.Usage.heading.primary_key == ["link_id"]


@pytest.mark.requires("mysql_server", reason="creates a table with MySQL DDL")
def test_tables_without_class_names_are_refused(schema: tj.Schema, conn: tj.Connection) -> None:
    conn.query(f"CREATE TABLE `{schema.name}`.`odd_1` (x int PRIMARY KEY)")
    with pytest.raises(tj.DeclarationError, match=r"\['odd_1'\].*no DataJoint class gives"):
        generate(schema.name, connection=conn)


@pytest.mark.requires("datajoint_peer", reason="datajoint-python runs on MySQL")
def test_datajoint_schema_round_trip(schema_name: str, conn: tj.Connection, mysql_url: str,
                                     tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj = pytest.importorskip("datajoint", reason="datajoint-python (optional peer) is not installed")
    from .test_interop_datajoint import declare_datajoint

    url = tj.DatabaseURL.parse(mysql_url)
    dj.config["database.host"], dj.config["database.port"] = url.host, url.port
    dj.config["database.user"], dj.config["database.password"] = url.user, url.password
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj_schema = dj.Schema(schema_name, connection=dj.conn(reset=True))
        classes: dict[str, Any] = declare_datajoint(dj_schema)
    classes["Subject"].insert1({"subject_id": 1, "species": "mouse", "weight": Decimal("12.5"),
                                "uid": uuid.UUID(int=1), "meta": {"k": [1]}})
    classes["Cell"].insert1({"subject_id": 1, "cell_id": 3, "alt_species": "rat"})

    source = generate(schema_name, connection=conn, contents=True)
    assert "    latin: str = Attr(default='', max_length=64)" in source
    assert "    alt_species: str | None = Link(Species, 'species', nullable=True)" in source
    assert "    pre: Key[Ref[Cell]] = Link(rename={'cell_id': 'pre'})" in source  # shares subject_id: a Ref
    assert "    scan_time: datetime = tj.CURRENT_TIMESTAMP" in source
    assert "    uid: UUID" in source
    module = _reopen(conn, source, tmp_path / "djlab.py", schema_name)
    assert module.schema.diff() == []
    subject = module.Subject.fetch1()
    assert (subject.weight, subject.uid, subject.meta, subject.alive) == (
        Decimal("12.50"), uuid.UUID(int=1), {"k": [1]}, True)
    assert module.Cell.fetch1("alt_species") == "rat"
    assert module.Species.contents == [{"species": "mouse", "latin": "Mus musculus"},
                                       {"species": "rat", "latin": "Rattus norvegicus"}]


@pytest.mark.requires("mysql_server", reason="creates tables with MySQL DDL")
def test_legacy_tables_without_type_comments(
    schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    """Tables of older DataJoint versions carry no ``:type:`` comments: native types throughout."""
    conn.query(f"""CREATE TABLE `{schema.name}`.`#kind` (
      `kind` varchar(16) NOT NULL COMMENT 'kind of thing', `rank` tinyint unsigned NOT NULL DEFAULT 1,
      PRIMARY KEY (`kind`)) COMMENT='kinds'""")
    conn.query(f"""CREATE TABLE `{schema.name}`.`thing` (
      `thing_id` int NOT NULL, `kind` varchar(16) NOT NULL COMMENT 'kind of thing',
      `made` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, `shape` enum('round','square') NOT NULL,
      `data` longblob DEFAULT NULL, `size` double DEFAULT NULL,
      PRIMARY KEY (`thing_id`),
      FOREIGN KEY (`kind`) REFERENCES `{schema.name}`.`#kind` (`kind`)
        ON UPDATE CASCADE ON DELETE RESTRICT)""")
    conn.query(f"INSERT INTO `{schema.name}`.`#kind` VALUES ('box', 2)")
    conn.query(f"INSERT INTO `{schema.name}`.`thing` (thing_id, kind, shape, data) "
               "VALUES (1, 'box', 'round', 'ab')")
    source = generate(schema.name, connection=conn)
    assert "    rank: tj.uint8 = 1" in source
    assert "    thing_id: Key[int] = Attr(sql_type='int')" in source
    assert "    shape: str = Attr(sql_type=\"enum('round','square')\")" in source
    assert "    data: bytes | None = Attr(default=None, sql_type='longblob')" in source
    module = _reopen(conn, source, tmp_path / "legacy.py", schema.name)
    assert module.schema.diff() == []
    thing = module.Thing.fetch1()
    assert (thing.kind, thing.shape, thing.data, thing.size) == ("box", "round", b"ab", None)


PARTS = '''
import typedj as tj
from typedj import Attr, Key, Manual, Part, Ref

schema = tj.Schema({name!r})


@schema
class Organization(Manual):
    org: Key[str] = Attr(max_length=8)


@schema
class Lab(Manual):
    lab: Key[str] = Attr(max_length=8)

    class Organization(Part):
        organization: Key[Ref[Organization]]


@schema
class Motion(Manual):
    motion_id: Key[int]

    class NonRigid(Part):
        grid: int

    class Block(Part):
        non_rigid: Key[Ref["Motion.NonRigid"]]
        block_id: Key[int]
'''


def test_sibling_part_references_and_future_annotations(
    schema_name: str, conn: tj.Connection, tmp_path: Path
) -> None:
    """A part keyed by a sibling part (DataJoint's ``-> master.Sibling``) gets no reference
    to the master; string annotations find module tables before the master's parts."""
    future = "from __future__ import annotations\n" + PARTS.format(name=schema_name)
    module = _reopen(conn, future, tmp_path / "parts.py", schema_name)
    block, org = module.Motion.Block, module.Lab.Organization
    assert [fk.parent_table for fk in block._def.foreign_keys] == ["motion__non_rigid"]
    assert block.primary_key == ["motion_id", "block_id"]
    assert [(fk.parent_table, dict(fk.attr_map)) for fk in org._def.foreign_keys] == [
        ("lab", {"lab": "lab"}), ("organization", {"org": "org"})]
    module.Organization.insert1(org="o")
    module.Lab.insert1(lab="l")
    module.Lab.Organization.insert1(lab="l", org="o")
    module.Motion.insert1(motion_id=1)
    module.Motion.NonRigid.insert1(motion_id=1, grid=4)
    block.insert1(motion_id=1, block_id=2)

    source = generate(schema_name, connection=conn)
    assert "        non_rigid: Key[Ref['Motion.NonRigid']]" in source
    assert "        org: Key[str] = Link(Organization)" in source  # a module table, not the part
    for text in (source, "from __future__ import annotations\n" + source):
        again = _reopen(conn, text, tmp_path / f"parts_{len(text)}.py", schema_name)
        assert again.schema.diff() == []
        assert again.Motion.Block.fetch1("block_id") == 2
    virtual = tj.virtual_module("parts", schema_name, connection=conn)
    assert virtual.schema.diff() == []
    assert [fk.parent_table for fk in virtual.Motion.Block._def.foreign_keys] == ["motion__non_rigid"]


def test_package_of_schemas_that_import_each_other(
    schema: tj.Schema, conn: tj.Connection, schema_name: str, tmp_path: Path
) -> None:
    """``generate_package``: one module per schema (the upstream ones added), real imports."""
    from typedj.codegen import generate_package, module_name

    downstream = tj.Schema(f"{schema_name}_down", connection=conn)

    @schema
    class Animal(Manual):
        animal_id: Key[int]

    @downstream
    class Recording(Manual):
        animal: Key[Ref[Animal]]
        rec: Key[int]
        reviewer: Ref[Animal] | None = Link(rename={"animal_id": "reviewer_id"}, nullable=True)

    Animal.insert1(animal_id=7)
    Recording.insert1(animal_id=7, rec=1, reviewer_id=7)
    files = generate_package([downstream.name], connection=conn)
    up, down = module_name(schema.name), module_name(downstream.name)
    assert sorted(files) == sorted(["__init__.py", f"{up}.py", f"{down}.py"])
    assert f"\nfrom . import {up}\n" in files[f"{down}.py"]
    assert f"    animal_id: Key[int] = Link({up}.Animal)" in files[f"{down}.py"]
    assert "virtual_module" not in files[f"{down}.py"]
    init = files["__init__.py"]
    assert init.index(f"from . import {up}\n") < init.index(f"from . import {down}\n")

    folder = tmp_path / "pkg_generated"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    conn.schemas.pop(schema.name)
    conn.schemas.pop(downstream.name)
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module("pkg_generated")
        recording = getattr(package, down).Recording
        assert getattr(package, down).schema.diff() == [] and getattr(package, up).schema.diff() == []
        assert recording.fetch1("reviewer_id") == 7
        assert recording.heading.primary_key == ["animal_id", "rec"]
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "pkg_generated" or n.startswith("pkg_generated.")]:
            del sys.modules[name]


def test_object_and_npy_columns_round_trip(
    store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    """``<object@store>`` and ``<npy@store>`` (datajoint 2.x object storage) are written again."""
    import numpy as np

    from .test_stores_rig import file_store

    file_store(store_config, tmp_path / "store")

    @schema
    class Scan(Manual):
        scan_id: Key[int]
        raw: tj.Object = tj.External("raw")
        trace: tj.Npy | None = tj.External("raw", default=None)

    Scan.insert1(scan_id=1, raw=(".bin", b"raw bytes"), trace=np.arange(4))
    source = generate(schema.name, connection=conn)
    assert "    raw: tj.Object = External('raw')" in source
    assert "    trace: tj.Npy | None = External('raw', default=None)" in source
    module = _reopen(conn, source, tmp_path / "objects.py", schema.name)
    assert module.schema.diff() == []
    row = module.Scan.fetch1()
    assert row.raw.read() == b"raw bytes" and row.trace.shape == (4,)
    virtual = tj.virtual_module("objects", schema.name, connection=conn)
    assert virtual.schema.diff() == []
    np.testing.assert_array_equal(virtual.Scan.fetch1().trace.load(), np.arange(4))
