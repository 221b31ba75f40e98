"""Fixtures for the object-store tests: moto's S3 server on loopback, file stores in tmp_path.

Imported by ``test_stores*.py`` and ``test_blob_tables.py``; it holds no tests itself.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import typedj as tj


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of an S3 protocol server (moto) on a free loopback port."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is a test dependency")
    port = _free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="key",
                        aws_secret_access_key="secret", region_name="us-east-1")


@pytest.fixture
def store_config(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``tj.config.stores`` for one test, with its cache and download folders in tmp_path."""
    saved = (dict(tj.config.stores), tj.config.cache_folder, tj.config.cache_size, tj.config.download_folder)
    tj.config.stores.clear()
    tj.config.cache_folder = str(tmp_path / "cache")
    tj.config.download_folder = str(tmp_path / "downloads")
    yield tj.config.stores
    tj.config.stores.clear()
    tj.config.stores.update(saved[0])
    tj.config.cache_folder, tj.config.cache_size, tj.config.download_folder = saved[1:]


def file_store(stores: dict[str, Any], root: Path, name: str = "raw", **options: Any) -> Path:
    """Configure a file store named ``name`` in folder ``root``; returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    stores[name] = {"protocol": "file", "location": str(root), **options}
    return root


def s3_store(stores: dict[str, Any], endpoint: str, name: str = "raw", **options: Any) -> str:
    """Configure an S3 store named ``name`` in a fresh bucket; returns the bucket."""
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    stores[name] = {
        "protocol": "s3", "endpoint": endpoint.removeprefix("http://"), "bucket": bucket,
        "location": "lab/data", "access_key": "key", "secret_key": "secret", "secure": False,
        **options,
    }
    return bucket


def fsspec_store(stores: dict[str, Any], url: str, name: str = "raw", **options: Any) -> str:
    """Configure a store named ``name`` on the fsspec filesystem of ``url``; returns the URL."""
    stores[name] = {"protocol": "fsspec", "location": url, **options}
    return url


def _fs(spec: dict[str, Any]) -> tuple[Any, str]:
    """The fsspec filesystem of an fsspec store's settings, and the store's root in it."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(spec["location"])
    return fs, root.rstrip("/")


@pytest.fixture(params=["file", "s3", "fsspec-memory", "fsspec-file"])
def any_store(request: pytest.FixtureRequest, store_config: dict[str, Any], tmp_path: Path) -> str:
    """A store named ``raw`` of each protocol (fsspec's memory and local filesystems too);
    returns the protocol."""
    if request.param == "file":
        file_store(store_config, tmp_path / "store")
    elif request.param == "s3":
        s3_store(store_config, request.getfixturevalue("s3_endpoint"))
    elif request.param == "fsspec-memory":
        fsspec_store(store_config, f"memory://{uuid.uuid4().hex}/lab")
    else:
        fsspec_store(store_config, (tmp_path / "store").as_uri())
    return str(request.param)


def object_bytes(stores: dict[str, Any], path: str, name: str = "raw") -> bytes:
    """The stored bytes at ``path``, read directly (not through typedj)."""
    spec = stores[name]
    if spec["protocol"] == "fsspec":
        fs, root = _fs(spec)
        return bytes(fs.cat_file(f"{root}/{path}"))
    if spec["protocol"] == "file":
        return (Path(spec["location"]) / path).read_bytes()
    endpoint = "http://" + spec["endpoint"]
    body = s3_client(endpoint).get_object(Bucket=spec["bucket"], Key=f"{spec['location']}/{path}")["Body"]
    return bytes(body.read())


def write_object(stores: dict[str, Any], path: str, data: bytes, name: str = "raw") -> None:
    """Write bytes at ``path`` directly, as another program would."""
    spec = stores[name]
    if spec["protocol"] == "fsspec":
        fs, root = _fs(spec)
        fs.makedirs(f"{root}/{path}".rpartition("/")[0], exist_ok=True)
        fs.pipe_file(f"{root}/{path}", data)
        return
    if spec["protocol"] == "file":
        target = Path(spec["location"]) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return
    s3_client("http://" + spec["endpoint"]).put_object(
        Bucket=spec["bucket"], Key=f"{spec['location']}/{path}", Body=data
    )


def object_paths(stores: dict[str, Any], prefix: str, name: str = "raw") -> list[str]:
    """Paths of the objects under ``prefix``, listed directly."""
    spec = stores[name]
    if spec["protocol"] == "fsspec":
        fs, root = _fs(spec)
        found = fs.find(f"{root}/{prefix}") if fs.exists(f"{root}/{prefix}") else []
        return sorted(p.removeprefix(root).lstrip("/") for p in found)
    if spec["protocol"] == "file":
        root = Path(spec["location"])
        return sorted(p.relative_to(root).as_posix() for p in (root / prefix).rglob("*") if p.is_file())
    client = s3_client("http://" + spec["endpoint"])
    listing = client.list_objects_v2(Bucket=spec["bucket"], Prefix=f"{spec['location']}/{prefix}")
    return sorted(o["Key"][len(spec["location"]) + 1 :] for o in listing.get("Contents", []))


def delete_object(stores: dict[str, Any], path: str, name: str = "raw") -> None:
    """Remove the object at ``path`` directly, as an outage or another program would."""
    spec = stores[name]
    if spec["protocol"] == "fsspec":
        fs, root = _fs(spec)
        fs.rm_file(f"{root}/{path}")
    elif spec["protocol"] == "file":
        (Path(spec["location"]) / path).unlink()
    else:
        s3_client("http://" + spec["endpoint"]).delete_object(Bucket=spec["bucket"],
                                                              Key=f"{spec['location']}/{path}")
