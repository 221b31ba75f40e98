"""Blobs in tables end to end: typed in-table blobs, stored blobs, attachments, file paths,
and the safety rules (upload before insert, no deletes on row delete, gc with a grace period).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import Attach, Blob, External, Filepath, Key, Manual
from typedj.codecs.blob import pack

from . import test_stores_rig as rig
from .test_stores_rig import file_store, object_bytes, object_paths, write_object

any_store = rig.any_store
s3_endpoint = rig.s3_endpoint
store_config = rig.store_config


def _count(conn: tj.Connection, schema: tj.Schema, table: str) -> int:
    return int(conn.query(f"SELECT COUNT(*) FROM {conn.dialect.table(schema.name, table)}").fetchone()[0])


# -- in-table blobs --------------------------------------------------------------------


def test_in_table_blob_round_trip_and_declared_type(schema: tj.Schema) -> None:
    @schema
    class Scan(Manual):
        scan_id: Key[int]
        image: Blob[np.ndarray]
        meta: Blob[dict[str, Any]]
        gain: Blob[float] | None = None

    image = np.arange(12, dtype=np.int16).reshape(3, 4)
    Scan.insert1(scan_id=1, image=image, meta={"a": [1, 2], "b": "x"}, gain=2.5)
    Scan.insert1(scan_id=2, image=image[:, ::2], meta={})
    rows = Scan.fetch(order_by="scan_id")
    assert isinstance(rows[0].image, np.ndarray) and rows[0].image.dtype == np.int16
    np.testing.assert_array_equal(rows[0].image, image)
    np.testing.assert_array_equal(rows[1].image, image[:, ::2])
    assert rows[0].meta == {"a": [1, 2], "b": "x"}
    assert rows[0].gain == 2.5 and rows[1].gain is None


def test_in_table_blob_rejects_the_wrong_type(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Scan(Manual):
        scan_id: Key[int]
        image: Blob[np.ndarray]

    with pytest.raises(tj.ValidationError) as info:
        Scan.insert([{"scan_id": 1, "image": np.zeros(2)}, {"scan_id": 2, "image": {"not": "an array"}}])
    message = str(info.value)
    assert "Scan" in message and "row 1" in message and "'image'" in message and "ndarray" in message
    assert info.value.problems[0].attribute == "image"
    assert _count(conn, schema, "scan") == 0


@pytest.mark.requires("mysql_server", reason="writes blobs with raw MySQL")
def test_declared_type_drives_the_fetched_type(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Value(Manual):
        value_id: Key[int]
        gain: Blob[float]
        trace: Blob[np.ndarray]
        names: Blob[list[str]]

    # as datajoint-matlab writes them: a 1x1 double, a plain list, a cell-like array
    sql = f"INSERT INTO {conn.dialect.table(schema.name, 'value')} VALUES ({conn.dialect.params(4)})"
    conn.query(sql, (1, pack(np.array([[2.5]])), pack([1.0, 2.0]), pack(np.array(["a", "b"], dtype=object))))
    row = Value.fetch1()
    assert type(row.gain) is float and row.gain == 2.5
    assert isinstance(row.trace, np.ndarray) and row.trace.tolist() == [1.0, 2.0]
    assert row.names == ["a", "b"]

    @schema
    class Strict(Manual):
        strict_id: Key[int]
        table: Blob[dict[str, Any]]

    strict = conn.dialect.table(schema.name, "strict")
    conn.query(f"INSERT INTO {strict} VALUES (7, {conn.dialect.placeholder})", (pack(np.zeros(3)),))
    with pytest.raises(tj.FetchError, match=r"'table' of the row with key \{'strict_id': 7\}.*declares dict"):
        Strict.fetch()


@pytest.mark.requires("mysql_server", reason="corrupts rows with raw MySQL")
@pytest.mark.parametrize("damage", ["SUBSTRING(image, 1, 30)", "x'6D596D00FF00'", "x'5A4C31323300'"])
def test_corrupt_in_table_blob_names_table_key_and_attribute(
    schema: tj.Schema, conn: tj.Connection, damage: str
) -> None:
    @schema
    class Scan(Manual):
        scan_id: Key[int]
        image: Blob[np.ndarray]

    Scan.insert([{"scan_id": 1, "image": np.random.default_rng(0).random((50, 50))},
                 {"scan_id": 2, "image": np.ones(3)}])
    conn.query(f"UPDATE `{schema.name}`.`scan` SET image = {damage} WHERE scan_id = 1")
    with pytest.raises(tj.FetchError) as info:
        Scan.fetch()
    message = str(info.value)
    assert f"{schema.name}.scan" in message and "{'scan_id': 1}" in message and "'image'" in message
    assert info.value.attribute == "image"
    with pytest.raises(tj.FetchError, match=r"of the row with key \{'scan_id': 1\}"):
        (Scan & {"scan_id": 1}).fetch1("image")  # the key is named even when not fetched
    with pytest.raises(tj.FetchError, match=r"of the row with key \{'scan_id': 1\}"):
        Scan.fetch("image")
    np.testing.assert_array_equal((Scan & {"scan_id": 2}).fetch1("image"), np.ones(3))


# -- stored blobs ----------------------------------------------------------------------


def test_stored_blobs_round_trip_once_per_schema(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")
        extra: Blob[list[int]] | None = External("raw", default=None)

    shared = np.random.default_rng(1).random((100, 100))
    rows = [{"trace_id": i, "trace": shared if i % 2 else np.full(10, float(i))} for i in range(6)]
    rows[0]["extra"] = [1, 2, 3]
    Trace.insert(rows)
    traces = conn.dialect.table(schema.name, "trace")
    stored = conn.query(f"SELECT trace_id, trace FROM {traces} ORDER BY trace_id").fetchall()
    refs = [json.loads(value) for _, value in stored]
    assert refs[1] == refs[3] == refs[5]
    ref = refs[1]
    assert set(ref) == {"hash", "path", "schema", "store", "size", "algorithm"}
    assert (ref["algorithm"], ref["schema"], ref["store"]) == ("blake3", schema.name, "raw")
    assert ref["path"] == f"_hash/{schema.name}/{ref['hash']}" and len(ref["hash"]) == 52
    assert len(object_paths(store_config, f"_hash/{schema.name}")) == 5  # 3 + 1 shared + extra
    fetched = Trace.fetch(order_by="trace_id")
    for row, original in zip(fetched, rows, strict=True):
        np.testing.assert_array_equal(row.trace, original["trace"])
    assert fetched[0].extra == [1, 2, 3] and fetched[1].extra is None


def test_stored_blob_type_is_enforced_before_any_upload(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    with pytest.raises(tj.ValidationError, match=r"row 0, attribute 'trace'"):
        Trace.insert1(trace_id=1, trace={"a": 1})
    assert _count(conn, schema, "trace") == 0
    assert object_paths(store_config, "_hash") == []


def test_stored_blob_is_verified_on_read(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    Trace.insert1(trace_id=3, trace=np.arange(1000.0))
    (path,) = object_paths(store_config, "_hash")
    damaged = bytearray(object_bytes(store_config, path))
    damaged[-1] ^= 0xFF
    write_object(store_config, path, bytes(damaged))
    with pytest.raises(tj.FetchError) as info:
        Trace.fetch()
    message = str(info.value)
    assert "{'trace_id': 3}" in message and "'trace'" in message and "corrupt" in message


def test_repeated_fetches_come_from_the_cache(
    s3_endpoint: str, store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path
) -> None:
    bucket = rig.s3_store(store_config, s3_endpoint)

    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    Trace.insert([{"trace_id": i, "trace": np.full(500, float(i))} for i in range(20)])
    first = Trace.fetch("trace", order_by="trace_id")
    client = rig.s3_client(s3_endpoint)
    for item in client.list_objects_v2(Bucket=bucket)["Contents"]:
        client.delete_object(Bucket=bucket, Key=item["Key"])
    second = Trace.fetch("trace", order_by="trace_id")  # the bucket is empty now
    assert [a.tolist() for a in second] == [a.tolist() for a in first]
    assert len(list((tmp_path / "cache").rglob("blake3-*"))) == 20


def test_md5_store_objects_are_laid_out_as_datajoint_does(
    store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    import base64
    import hashlib

    file_store(store_config, tmp_path / "store", hash="md5")

    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    Trace.insert1(trace_id=1, trace=np.arange(10.0))
    (value,) = conn.query(f"SELECT trace FROM {conn.dialect.table(schema.name, 'trace')}").fetchone()
    ref = json.loads(value)
    data = (tmp_path / "store" / ref["path"]).read_bytes()
    address = base64.b32encode(hashlib.md5(data).digest()).decode().rstrip("=").lower()
    assert ref == {"hash": address, "path": f"_hash/{schema.name}/{address}", "schema": schema.name,
                   "store": "raw", "size": len(data)}
    np.testing.assert_array_equal(Trace.fetch1("trace"), np.arange(10.0))


# -- attachments -----------------------------------------------------------------------


def test_attachments_come_back_as_local_files(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path
) -> None:
    @schema
    class Report(Manual):
        report_id: Key[int]
        stored: Attach = External("raw")
        inline: Attach | None = None

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "notes.txt", tmp_path / "b" / "notes.txt"
    first.write_text("first version")
    second.write_text("second")
    Report.insert([{"report_id": 1, "stored": first, "inline": str(second)},
                   {"report_id": 2, "stored": second}])
    one, two = Report.fetch(order_by="report_id")
    assert isinstance(one.stored, Path) and one.stored.name == "notes.txt"
    assert one.stored.read_text() == "first version" and two.stored.read_text() == "second"
    assert one.stored != two.stored  # same name, different content: both kept
    assert one.stored.is_relative_to(tmp_path / "downloads")
    assert one.inline.read_text() == "second" and two.inline is None
    assert Report.fetch("stored", order_by="report_id")[0] == one.stored  # a repeated fetch reuses it


def test_missing_attachment_file_is_refused(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    @schema
    class Report(Manual):
        report_id: Key[int]
        stored: Attach = External("raw")

    with pytest.raises(tj.ValidationError, match=r"row 0, attribute 'stored'.*file"):
        Report.insert1(report_id=1, stored=tmp_path / "absent.txt")
    assert _count(conn, schema, "report") == 0


# -- file paths ------------------------------------------------------------------------


def test_filepaths_link_files_and_check_their_checksum(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection
) -> None:
    @schema
    class Recording(Manual):
        recording_id: Key[int]
        raw: Filepath = External("raw")

    data = os.urandom(5000)
    write_object(store_config, "subject1/session1/raw.bin", data)
    Recording.insert1(recording_id=1, raw="subject1/session1/raw.bin")
    (value,) = conn.query(f"SELECT raw FROM {conn.dialect.table(schema.name, 'recording')}").fetchone()
    ref = json.loads(value)
    assert (ref["path"], ref["store"], ref["size"], ref["is_dir"], ref["algorithm"]) == (
        "subject1/session1/raw.bin", "raw", 5000, False, "blake3")
    local = Recording.fetch1("raw")
    assert isinstance(local, Path) and local.read_bytes() == data
    if any_store == "file":
        assert local == Path(store_config["raw"]["location"]) / "subject1/session1/raw.bin"
    write_object(store_config, "subject1/session1/raw.bin", os.urandom(5000))
    with pytest.raises(tj.FetchError) as info:
        Recording.fetch1()
    message = str(info.value)
    assert "{'recording_id': 1}" in message and "'raw'" in message
    assert "changed since it was inserted" in message


@pytest.mark.parametrize(
    ("path", "message"),
    [("subject1/absent.bin", "is not in store 'raw'"), ("_hash/x/y", "section the store manages"),
     ("../outside", "a path within the store")],
)
def test_bad_filepaths_are_refused(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection,
    path: str, message: str,
) -> None:
    @schema
    class Recording(Manual):
        recording_id: Key[int]
        raw: Filepath = External("raw")

    with pytest.raises(tj.ValidationError, match=message) as info:
        Recording.insert1(recording_id=1, raw=path)
    assert info.value.problems[0].attribute == "raw"
    assert _count(conn, schema, "recording") == 0


def test_filepath_needs_a_store(schema: tj.Schema) -> None:
    class Recording(Manual):
        recording_id: Key[int]
        raw: Filepath

    with pytest.raises(tj.DeclarationError, match=r"Recording.raw: a Filepath names its store"):
        schema(Recording)


@pytest.mark.requires("mysql_server", reason="compares MySQL column definitions")
def test_declared_columns_are_datajoints(
    store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    file_store(store_config, tmp_path / "s")

    @schema
    class Item(Manual):
        item_id: Key[int]
        a: Blob[np.ndarray] = External("raw")
        b: Attach = External("raw")
        c: Filepath = External("raw")
        d: Attach

    columns = conn.query(
        "SELECT column_name, column_type, column_comment FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'item' ORDER BY ordinal_position", (schema.name,)
    ).fetchall()
    assert [tuple(c) for c in columns[1:]] == [
        ("a", "longtext", ":<blob@raw>:"), ("b", "longtext", ":<attach@raw>:"),
        ("c", "longtext", ":<filepath@raw>:"), ("d", "longblob", ":<attach>:"),
    ]


# -- safety: uploads first, deletes never, gc with a grace period -----------------------


def _declare_traces(schema: tj.Schema) -> type[Manual]:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    return Trace


def test_failed_insert_leaves_only_an_unreferenced_object(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection
) -> None:
    Trace = _declare_traces(schema)
    Trace.insert1(trace_id=1, trace=np.zeros(10))
    with pytest.raises(tj.DuplicateError):
        Trace.insert1(trace_id=1, trace=np.ones(10))
    np.testing.assert_array_equal(Trace.fetch1("trace"), np.zeros(10))
    report = tj.gc(schema, grace=0)
    assert (report.dry_run, report.objects, report.referenced, report.unreferenced) == (True, 2, 1, 1)
    assert len(object_paths(store_config, "_hash")) == 2  # a dry run deletes nothing


def test_deleting_rows_keeps_objects_until_gc(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema
) -> None:
    Trace = _declare_traces(schema)
    Trace.insert([{"trace_id": 1, "trace": np.zeros(100)}, {"trace_id": 2, "trace": np.ones(100)},
                  {"trace_id": 3, "trace": np.ones(100)}])
    (Trace & {"trace_id": 1}).delete()
    (Trace & {"trace_id": 2}).delete()  # its object is still used by row 3
    assert len(object_paths(store_config, "_hash")) == 2
    kept = tj.gc(schema, grace=timedelta(hours=1), dry_run=False)
    assert (kept.unreferenced, kept.young, kept.deleted) == (1, 1, 0)
    report = tj.gc(schema, grace=0, dry_run=False)
    assert (report.objects, report.referenced, report.unreferenced, report.deleted) == (2, 1, 1, 1)
    assert report.deleted_bytes == report.unreferenced_bytes > 0
    assert "deleted 1" in str(report)
    np.testing.assert_array_equal(Trace.fetch1("trace"), np.ones(100))
    assert len(object_paths(store_config, "_hash")) == 1


def test_an_insert_in_flight_refreshes_an_old_unreferenced_object(
    store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path
) -> None:
    root = file_store(store_config, tmp_path / "store")
    Trace = _declare_traces(schema)
    Trace.insert1(trace_id=1, trace=np.arange(50.0))
    (Trace & {"trace_id": 1}).delete()
    (path,) = object_paths(store_config, "_hash")
    os.utime(root / path, (time.time() - 7200, time.time() - 7200))  # unreferenced for two hours
    assert tj.gc(schema, grace=timedelta(hours=1)).removable == [path]
    Trace.insert1(trace_id=2, trace=np.arange(50.0))  # same content: not uploaded, but refreshed
    (Trace & {"trace_id": 2}).delete()
    report = tj.gc(schema, grace=timedelta(hours=1), dry_run=False)
    assert (report.young, report.deleted) == (1, 0)
    assert (root / path).exists()


_INSERTER = """
import sys
import numpy as np
import typedj as tj
from typedj import Blob, External, Key, Manual

url, location, name = sys.argv[1:4]
tj.config.database_url = url
tj.config.stores["raw"] = {"protocol": "file", "location": location}
schema = tj.Schema(name)

@schema
class Trace(Manual):
    trace_id: Key[int]
    trace: Blob[np.ndarray] = External("raw")

Trace.insert1(trace_id=2, trace=np.full(1000, 7.0))
print("inserted", flush=True)
"""


@pytest.mark.requires("supports_row_locks", "mysql_server", reason="blocks an insert on an InnoDB row lock")
def test_insert_killed_between_upload_and_row_leaves_an_object_gc_reclaims_after_grace(
    store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection, mysql_url: str, tmp_path: Path
) -> None:
    root = file_store(store_config, tmp_path / "store")
    Trace = _declare_traces(schema)
    Trace.insert1(trace_id=1, trace=np.zeros(1000))
    known = set(object_paths(store_config, "_hash"))
    script = tmp_path / "inserter.py"
    script.write_text(_INSERTER)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), conn.transaction():
        # hold the lock of key 2 so the other process's INSERT waits after its upload
        Trace.insert1(trace_id=2, trace=np.zeros(1000))
        proc = subprocess.Popen([sys.executable, str(script), mysql_url, str(root), schema.name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while set(object_paths(store_config, "_hash")) == known and time.time() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # the upload is done (renamed into place); the INSERT is waiting
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        raise Rollback

    (orphan,) = set(object_paths(store_config, "_hash")) - known
    assert proc.returncode == -signal.SIGKILL
    assert _count(conn, schema, "trace") == 1  # no row points at nothing
    young = tj.gc(schema, grace=timedelta(minutes=10), dry_run=False)
    assert (young.unreferenced, young.young, young.deleted) == (1, 1, 0)
    assert (root / orphan).exists()
    os.utime(root / orphan, (time.time() - 3600, time.time() - 3600))  # the grace period passes
    dry = tj.gc(schema, grace=timedelta(minutes=10))
    assert dry.removable == [orphan] and (root / orphan).exists()
    done = tj.gc(schema, grace=timedelta(minutes=10), dry_run=False)
    assert (done.deleted, done.referenced) == (1, 1)
    assert not (root / orphan).exists()
    np.testing.assert_array_equal(Trace.fetch1("trace"), np.zeros(1000))


def test_the_stores_page_example_runs(
    store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re
    import types

    page = (Path(__file__).parent.parent / "docs" / "stores.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    store = tmp_path / "lab-store"
    (store / "subject1" / "session1").mkdir(parents=True)
    (store / "subject1" / "session1" / "raw.bin").write_bytes(b"\1\2\3")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "protocol.pdf").write_bytes(b"%PDF-1.4 protocol")
    module = types.ModuleType("stores_page")  # annotations resolve in the class's module
    module.schema = schema  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stores_page", module)
    exec(compile(code.replace("/data/lab-store", str(store)), "docs/stores.md", "exec"), module.__dict__)
    row = module.row  # type: ignore[attr-defined]
    assert row.trace.shape == (100, 100) and row.notes is None
    assert row.protocol.read_bytes() == b"%PDF-1.4 protocol"
    assert row.raw == store / "subject1/session1/raw.bin"


def test_an_unusable_store_fails_the_insert_before_any_row(
    s3_endpoint: str, store_config: dict[str, Any], schema: tj.Schema, conn: tj.Connection
) -> None:
    rig.s3_store(store_config, s3_endpoint)
    store_config["raw"]["bucket"] = "no-such-bucket"
    Trace = _declare_traces(schema)
    with pytest.raises(tj.StoreError, match=r"store 'raw': cannot upload '_hash/.*NoSuchBucket"):
        Trace.insert1(trace_id=1, trace=np.zeros(3))
    assert _count(conn, schema, "trace") == 0


def test_a_value_the_blob_format_cannot_hold_is_refused(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Anything(Manual):
        anything_id: Key[int]
        value: Blob[Any]

    refused = r"(?s)anything: .*row 1, attribute 'value': cannot serialize"
    with pytest.raises(tj.ValidationError, match=refused):
        Anything.insert([{"anything_id": 1, "value": [1, 2]}, {"anything_id": 2, "value": object()}])
    assert _count(conn, schema, "anything") == 0
