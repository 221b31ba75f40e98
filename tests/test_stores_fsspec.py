"""Stores on fsspec filesystems: settings, the backend's contract, garbage collection, secrets.

The shared store tests (``any_store``) run on fsspec's ``memory://`` and ``file://`` too;
these cover what is particular to fsspec stores.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

import typedj as tj
from typedj import Blob, External, Key, Manual
from typedj.config import Config
from typedj.stores.spec import StoreSpec
from typedj.stores.store import get_store

from . import test_stores_rig as rig

store_config = rig.store_config
s3_endpoint = rig.s3_endpoint


def _memory_url() -> str:
    return f"memory://{uuid.uuid4().hex}/lab"


def _table(schema: tj.Schema) -> type[Manual]:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        samples: Blob[np.ndarray] = External("raw")

    return Trace


@pytest.mark.parametrize("form", ["fsspec URL", "protocol name"])
def test_a_memory_filesystem_holds_a_tables_blobs(schema: tj.Schema, store_config: dict[str, Any],
                                                  form: str) -> None:
    root = uuid.uuid4().hex
    if form == "fsspec URL":
        store_config["raw"] = {"protocol": "fsspec", "location": f"memory://{root}/lab"}
    else:
        store_config["raw"] = {"protocol": "memory", "location": f"/{root}/lab"}
    Trace = _table(schema)
    Trace.insert([{"trace_id": i, "samples": np.arange(i + 3.0)} for i in range(4)])
    assert [t.samples.tolist() for t in Trace.fetch(order_by="trace_id")][1] == [0.0, 1.0, 2.0, 3.0]
    stored = fsspec.filesystem("memory").find(f"/{root}/lab/_hash/{schema.name}")
    assert len(stored) == 4
    assert get_store("raw").spec.identity[:2] == ("fsspec", "memory")


def test_a_file_url_store_writes_atomically_and_is_read_in_place(
    schema: tj.Schema, store_config: dict[str, Any], tmp_path: Path
) -> None:
    rig.fsspec_store(store_config, (tmp_path / "store").as_uri())
    Trace = _table(schema)
    Trace.insert1({"trace_id": 1, "samples": np.ones(5)})
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert [p.parent.name for p in files] == [schema.name]
    assert not any(".typedj-tmp-" in p.name for p in files)
    store = get_store("raw")
    [info] = store.backend.listing("_hash")
    assert store.backend.local_path(info.path) == files[0]
    assert store.cache is None  # local bytes are not cached again
    assert Trace.fetch1().samples.tolist() == [1.0] * 5


def test_an_existing_object_is_refreshed_and_a_damaged_one_replaced(store_config: dict[str, Any]) -> None:
    rig.fsspec_store(store_config, _memory_url())
    store = get_store("raw")
    [ref] = store.put_many("lab", [b"payload"], "raw")
    first = store.stat(ref["path"])
    assert first is not None
    time.sleep(0.02)
    store.put_many("lab", [b"payload"], "raw")  # memory has no touch: the same bytes are written again
    again = store.stat(ref["path"])
    assert again is not None and again.modified > first.modified
    rig.write_object(store_config, ref["path"], b"paylaod")  # same size, other bytes
    store.put_many("lab", [b"payload"], "raw")
    assert rig.object_bytes(store_config, ref["path"]) == b"payload"
    rig.delete_object(store_config, ref["path"])
    with pytest.raises(tj.MissingObjectError, match="is missing"):
        store.backend.get(ref["path"])


def test_gc_removes_unreferenced_objects_of_an_fsspec_store(schema: tj.Schema,
                                                            store_config: dict[str, Any]) -> None:
    rig.fsspec_store(store_config, _memory_url())
    Trace = _table(schema)
    Trace.insert([{"trace_id": i, "samples": np.full(3, float(i))} for i in range(3)])
    (Trace & {"trace_id": 0}).delete_quick()
    young = tj.gc(schema, dry_run=False)
    assert (young.objects, young.unreferenced, young.deleted) == (3, 1, 0)  # within the grace period
    done = tj.gc(schema, grace=0, dry_run=False)
    assert (done.objects, done.deleted) == (3, 1)
    assert len(rig.object_paths(store_config, f"_hash/{schema.name}")) == 2
    assert [t.samples.tolist() for t in Trace.fetch(order_by="trace_id")] == [[1.0] * 3, [2.0] * 3]


def test_datajoint_gcs_and_azure_settings_map_to_their_filesystems() -> None:
    gcs = StoreSpec.parse("g", {"protocol": "gcs", "bucket": "lab-data", "location": "/pipeline/",
                                "project": "neuro", "token": "/keys/sa.json"})
    assert gcs.filesystem == ("gcs", "lab-data/pipeline", {"project": "neuro", "token": "/keys/sa.json"})
    azure = StoreSpec.parse("a", {"protocol": "azure", "container": "lab", "location": "raw",
                                  "account_name": "labacct", "account_key": "K3y=="})
    assert azure.filesystem == ("abfs", "lab/raw", {"account_name": "labacct", "account_key": "K3y=="})
    assert (gcs.cache, azure.cache) == (True, True)
    assert "K3y" not in repr(azure) and "sa.json" not in repr(gcs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"protocol": "fsspec", "location": "/data/store"}, "an fsspec store's location is a URL"),
        ({"protocol": "gcs", "location": "x"}, "a gcs store needs bucket"),
        ({"protocol": "azure"}, "an? azure store needs container"),
        ({"protocol": "s3", "endpoint": "h", "bucket": "b", "storage_options": {"anon": True}},
         "storage_options are for fsspec stores"),
        ({"protocol": "fsspec", "location": "memory://x", "storage_options": "{not json"},
         "storage_options is not a JSON object"),
        ({"protocol": "f t p", "location": "/x"}, "protocol must be 'file', 's3', 'gcs', 'azure', 'fsspec'"),
    ],
)
def test_bad_fsspec_settings_are_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(tj.StoreError, match=message) as info:
        StoreSpec.parse("raw", options)
    assert "store 'raw'" in str(info.value)


def test_an_unknown_filesystem_or_a_missing_package_is_a_store_error(store_config: dict[str, Any]) -> None:
    store_config["raw"] = {"protocol": "nosuchfs", "location": "/x"}
    with pytest.raises(tj.StoreError, match="store 'raw': fsspec knows no protocol 'nosuchfs'"):
        get_store("raw")
    store_config["g"] = {"protocol": "gcs", "bucket": "b", "token": "s3cret-token"}
    with pytest.raises(tj.StoreError, match="store 'g': the gcs filesystem needs a package") as info:
        get_store("g")
    assert "s3cret" not in str(info.value)


def test_storage_options_from_the_environment_are_json_and_never_shown() -> None:
    config = Config()
    config.reload(environ={"TYPEDJ_STORE_FAR_PROTOCOL": "sftp",
                           "TYPEDJ_STORE_FAR_LOCATION": "/srv/lab",
                           "TYPEDJ_STORE_FAR_STORAGE_OPTIONS": '{"host": "nas", "password": "pa55word"}'})
    spec = StoreSpec.parse("far", config.stores["far"])
    assert spec.filesystem == ("sftp", "/srv/lab", {"host": "nas", "password": "pa55word"})
    shown = repr(config.stores) + repr(config.stores["far"]) + repr(spec) + str(config)
    assert "pa55word" not in shown and "nas" not in shown
    assert "'storage_options': '***'" in repr(config.stores["far"])


def test_an_fsspec_store_gives_a_zarr_style_mapping(store_config: dict[str, Any]) -> None:
    url = rig.fsspec_store(store_config, _memory_url())
    fsmap = get_store("raw").backend.mapper("objects/run1")  # type: ignore[attr-defined]
    fsmap["chunk/0.0"] = b"\x01\x02"
    fs, root = fsspec.core.url_to_fs(url)
    assert fs.cat_file(f"{root}/objects/run1/chunk/0.0") == b"\x01\x02"


def test_s3_through_s3fs_on_the_moto_server(schema: tj.Schema, store_config: dict[str, Any],
                                           s3_endpoint: str) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not a test dependency (it pins botocore below boto3's)")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    rig.s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    store_config["raw"] = {"protocol": "fsspec", "location": f"s3://{bucket}/lab",
                           "storage_options": {"key": "key", "secret": "secret",
                                               "client_kwargs": {"endpoint_url": s3_endpoint}}}
    Trace = _table(schema)
    Trace.insert([{"trace_id": i, "samples": np.arange(float(i + 1))} for i in range(3)])
    keys = rig.s3_client(s3_endpoint).list_objects_v2(Bucket=bucket, Prefix=f"lab/_hash/{schema.name}/")
    assert len(keys.get("Contents", [])) == 3
    assert [t.samples.tolist() for t in Trace.fetch(order_by="trace_id")][2] == [0.0, 1.0, 2.0]
