"""Object stores without a database: settings, backends, addressing, cache, concurrency."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from typedj.config import Config, default_cache_folder
from typedj.stores import hashing
from typedj.stores.cache import LocalCache
from typedj.stores.spec import StoreSpec, spec_of
from typedj.stores.store import get_store, run_all

from . import test_stores_rig as rig
from .test_stores_rig import file_store, object_paths, write_object

any_store = rig.any_store
s3_endpoint = rig.s3_endpoint
store_config = rig.store_config

# -- settings --------------------------------------------------------------------------


def test_store_settings_from_pyproject_env_and_code(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.typedj]\ndownload_folder = 'dl'\n"
        "[tool.typedj.stores]\ndefault = 'raw'\n"
        "[tool.typedj.stores.raw]\nprotocol = 's3'\nendpoint = 'minio:9000'\nbucket = 'lab'\n"
        "location = 'pipeline'\nsecure = false\n"
    )
    cfg = Config()
    cfg.reload(
        environ={"TYPEDJ_STORE_RAW_SECRET_KEY": "s3cret", "TYPEDJ_STORE_RAW_ACCESS_KEY": "me",
                 "TYPEDJ_STORE_MY_ARCHIVE_PROTOCOL": "file", "TYPEDJ_STORE_MY_ARCHIVE_LOCATION": "/a",
                 "TYPEDJ_STORE_MY_ARCHIVE_HASH": "md5", "TYPEDJ_CACHE_SIZE": "1000"},
        start=tmp_path,
    )
    assert cfg.stores["default"] == "raw"
    assert cfg.stores["raw"] == {"protocol": "s3", "endpoint": "minio:9000", "bucket": "lab",
                                 "location": "pipeline", "secure": False,
                                 "secret_key": "s3cret", "access_key": "me"}
    assert cfg.stores["my_archive"] == {"protocol": "file", "location": "/a", "hash": "md5"}
    assert cfg.download_folder == "dl"
    assert cfg.cache_size == 1000
    spec = StoreSpec.parse("raw", cfg.stores["raw"])
    assert (spec.endpoint_url, spec.secure, spec.hash, spec.cache) == (
        "http://minio:9000", False, "blake3", True)
    assert "s3cret" not in repr(spec)
    assert StoreSpec.parse("a", cfg.stores["my_archive"]).hash == "md5"


def test_store_settings_in_code_and_default(store_config: dict[str, Any], tmp_path: Path) -> None:
    file_store(store_config, tmp_path / "s", name="main")
    with pytest.raises(tj.StoreError, match="no default store"):
        spec_of("")
    store_config["default"] = "main"
    assert spec_of("").name == "main"
    assert spec_of(None).location == str(tmp_path / "s")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"location": "/x"}, "protocol must be 'file', 's3'"),
        ({"protocol": "file"}, "a file store needs location"),
        ({"protocol": "s3", "endpoint": "h:1"}, "an? s3 store needs bucket"),
        ({"protocol": "file", "location": "/x", "hash": "sha1"}, "hash must be one of"),
        ({"protocol": "file", "location": "/x", "locaton": "/y"}, r"unknown options \['locaton'\]"),
        ({"protocol": "s3", "endpoint": "h", "bucket": "b", "secure": "maybe"},
         "secure must be true or false"),
    ],
)
def test_bad_store_settings_are_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(tj.StoreError, match=message) as info:
        StoreSpec.parse("raw", options)
    assert "store 'raw'" in str(info.value)


def test_unconfigured_store_names_the_ways_to_configure_it(store_config: dict[str, Any]) -> None:
    with pytest.raises(tj.StoreError, match=r"store 'nowhere' is not configured.*TYPEDJ_STORE_NOWHERE_"):
        get_store("nowhere")


# -- addressing ------------------------------------------------------------------------


def test_addresses_are_lowercase_base32() -> None:
    data = b"spikes" * 1000
    md5 = hashing.digest(data, "md5")
    assert len(md5) == 26 and md5 == md5.lower()
    import base64

    assert md5 == base64.b32encode(hashlib.md5(data).digest()).decode().rstrip("=").lower()
    b3 = hashing.digest(data, "blake3")
    assert len(b3) == 52 and b3.isalnum() and b3 == b3.lower()
    big = os.urandom(3 << 20)
    assert hashing.digest(big, "blake3") == hashing.digest_chunks([big[:1000], big[1000:]], "blake3")
    assert hashing.object_path("_hash", "lab", md5) == f"_hash/lab/{md5}"


def test_digest_file_matches_digest_of_bytes(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    data = os.urandom(100_000)
    f.write_bytes(data)
    for algorithm in ("blake3", "md5"):
        assert hashing.digest_file(f, algorithm) == hashing.digest(data, algorithm)
    assert hashing.digest_file(f, "blake3", prefix=b"x.bin\0") == hashing.digest(b"x.bin\0" + data, "blake3")


# -- backends and the store ------------------------------------------------------------


def test_backend_operations(any_store: str, store_config: dict[str, Any]) -> None:
    backend = get_store("raw").backend
    backend.put("a/b/one", b"1" * 10)
    backend.put("a/two", b"22")
    assert backend.get("a/b/one") == b"1" * 10
    info = backend.stat("a/two")
    assert info is not None and info.size == 2 and abs(info.modified - time.time()) < 120
    assert backend.stat("a/none") is None
    assert sorted((o.path, o.size) for o in backend.listing("a")) == [("a/b/one", 10), ("a/two", 2)]
    assert b"".join(backend.chunks("a/b/one")) == b"1" * 10
    backend.delete(["a/two"])
    assert backend.stat("a/two") is None
    with pytest.raises(tj.MissingObjectError, match="'a/two' is missing"):
        backend.get("a/two")
    assert object_paths(store_config, "a") == ["a/b/one"]  # no temporary files left behind


def test_put_many_stores_each_content_once_and_skips_present_objects(
    any_store: str, store_config: dict[str, Any]
) -> None:
    store = get_store("raw")
    payloads = [b"alpha" * 100, b"beta" * 100, b"alpha" * 100]
    refs = store.put_many("lab", payloads, "raw")
    assert refs[0] == refs[2] != refs[1]
    assert refs[0]["path"] == f"_hash/lab/{refs[0]['hash']}"
    first = refs[0]
    assert (first["algorithm"], first["size"], first["schema"], first["store"]) == (
        "blake3", 500, "lab", "raw")
    assert object_paths(store_config, "_hash") == sorted({r["path"] for r in refs})
    # a second upload of present content writes nothing, it only refreshes the object's age
    write_object(store_config, refs[1]["path"], b"beta" * 100)
    before = store.backend.stat(refs[1]["path"])
    assert before is not None
    if any_store == "file":
        os.utime(Path(store_config["raw"]["location"]) / refs[1]["path"], (1, 1))
    store.put_many("lab", [b"beta" * 100], "raw")
    after = store.backend.stat(refs[1]["path"])
    assert after is not None and after.modified >= before.modified
    assert store.get_many(refs) == payloads


def test_get_verifies_the_hash(any_store: str, store_config: dict[str, Any]) -> None:
    store = get_store("raw")
    (ref,) = store.put_many("lab", [b"original"], "raw")
    write_object(store_config, ref["path"], b"tampered")
    (result,) = store.get_many([ref])
    assert isinstance(result, tj.CorruptObjectError)
    assert ref["path"] in str(result) and "corrupt" in str(result)


def test_md5_store_writes_the_reference_layout(store_config: dict[str, Any], tmp_path: Path) -> None:
    file_store(store_config, tmp_path / "s", hash="md5")
    (ref,) = get_store("raw").put_many("lab", [b"payload"], "raw")
    address = hashing.digest(b"payload", "md5")
    assert ref == {"hash": address, "path": f"_hash/lab/{address}", "schema": "lab", "store": "raw",
                   "size": 7}
    assert (tmp_path / "s" / "_hash" / "lab" / address).read_bytes() == b"payload"


def test_cache_serves_repeated_reads(s3_endpoint: str, store_config: dict[str, Any], tmp_path: Path) -> None:
    rig.s3_store(store_config, s3_endpoint)
    store = get_store("raw")
    assert store.cache is not None and store.cache.folder == tmp_path / "cache"
    refs = store.put_many("lab", [b"x" * 1000, b"y" * 1000], "raw")
    assert store.get_many(refs) == [b"x" * 1000, b"y" * 1000]
    store.backend.delete([r["path"] for r in refs])  # now only the cache has them
    assert store.get_many(refs) == [b"x" * 1000, b"y" * 1000]
    # a corrupt cache entry is dropped and the object fetched again
    store.put_many("lab", [b"x" * 1000], "raw")
    entry = next((tmp_path / "cache").rglob(f"blake3-{refs[0]['hash']}"))
    entry.write_bytes(b"z" * 1000)
    assert store.get(refs[0]) == b"x" * 1000
    assert entry.read_bytes() == b"x" * 1000


def test_file_stores_do_not_cache_unless_asked(store_config: dict[str, Any], tmp_path: Path) -> None:
    file_store(store_config, tmp_path / "a")
    file_store(store_config, tmp_path / "b", name="cached", cache=True)
    assert get_store("raw").cache is None
    assert get_store("cached").cache is not None


def test_without_a_cache_folder_the_platforms_user_cache_is_used(
    store_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tj.config.cache_folder = None
    assert default_cache_folder() == tmp_path / "xdg" / "typedj" / "objects"
    file_store(store_config, tmp_path / "s", cache=True)
    store = get_store("raw")
    [ref] = store.put_many("lab", [b"cached bytes"], "raw")
    assert store.get(ref) == b"cached bytes"
    [entry] = (tmp_path / "xdg" / "typedj" / "objects").rglob(f"blake3-{ref['hash']}")
    assert entry.read_bytes() == b"cached bytes"


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "c", size=3000)
    for i, name in enumerate(["a1", "b2", "c3"]):
        cache.put("blake3", name, bytes([i]) * 900)
        os.utime(next((tmp_path / "c").rglob(f"*-{name}")), (1000 + i, 1000 + i))
    assert cache.get("blake3", "a1") == b"\0" * 900  # a use: a1 becomes the most recent
    cache.put("blake3", "d4", b"d" * 900)  # 3600 bytes > 3000: evict the oldest (b2) down to 2700
    assert cache.get("blake3", "b2") is None
    assert cache.get("blake3", "a1") is not None and cache.get("blake3", "d4") is not None
    assert cache.used <= 2700
    cache.put("blake3", "huge", b"h" * 5000)  # larger than the whole cache: not kept
    assert cache.get("blake3", "huge") is None


def test_transfers_run_concurrently() -> None:
    barrier = threading.Barrier(4, timeout=10)

    def meet(i: int) -> int:
        barrier.wait()  # only returns if four calls are in flight at once
        return i * 2

    assert run_all(meet, list(range(8))) == [0, 2, 4, 6, 8, 10, 12, 14]
