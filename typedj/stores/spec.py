"""Store settings: what ``tj.config.stores[name]`` says, checked and normalized.

The options are DataJoint's (``protocol``, ``location``, ``endpoint``, ``bucket``,
``access_key``, ``secret_key``, ``secure``, ``hash_prefix``; for ``gcs`` and ``azure``
also ``container``, ``project``, ``token``, ``account_name``, ``account_key``,
``connection_string``) plus ``hash`` (``blake3``, the default, or ``md5`` to write objects
exactly as datajoint-python does), ``cache`` (keep downloaded objects in the local cache;
on by default for remote stores) and ``storage_options`` (the keyword arguments of an
fsspec filesystem). Besides ``file`` and ``s3``, the protocol may be ``fsspec`` (with
``location`` an fsspec URL such as ``memory://lab`` or ``gs://bucket/prefix``) or any
fsspec protocol name (``sftp``, ``http``, ``memory``, ...), ``location`` then being the
path inside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..config import config
from ..errors import StoreError

HASHES = ("blake3", "md5")
_KNOWN = frozenset(
    {"protocol", "location", "endpoint", "bucket", "access_key", "secret_key", "secure",
     "hash", "hash_prefix", "schema_prefix", "filepath_prefix", "cache", "subfolding", "compression",
     "storage_options", "container", "project", "token", "account_name", "account_key", "connection_string",
     # DataJoint options about its other object kinds, accepted so one settings file serves both
     "partition_pattern", "token_length", "stage", "proxy_server"}
)


def _flag(name: str, option: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise StoreError(f"store {name!r}: {option} must be true or false, got {value!r}")


@dataclass(frozen=True)
class StoreSpec:
    """One store's settings, validated."""

    name: str
    protocol: str
    location: str = ""
    endpoint: str = ""
    bucket: str = ""
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    secure: bool = True
    hash: str = "blake3"
    hash_prefix: str = "_hash"
    schema_prefix: str = "_schema"
    filepath_prefix: str = ""
    cache: bool = False
    compression: bool | int | str | None = None
    """How ``<blob@store>`` values are compressed: None follows ``tj.config.blob_compression``;
    else ``"auto"``, a zlib level 0-9 or a bool (see ``docs/blobs.md``)."""
    storage_options: str = field(default="{}", repr=False)
    """The fsspec filesystem's keyword arguments as canonical JSON (a spec is hashable);
    they may hold credentials, so they are never shown."""

    @classmethod
    def parse(cls, name: str, options: Any) -> StoreSpec:
        """Check ``options`` (a mapping of DataJoint store settings) and build the spec."""
        if not isinstance(options, dict):
            raise StoreError(f"store {name!r}: settings must be a table of options, got {options!r}")
        unknown = sorted(set(options) - _KNOWN)
        if unknown:
            raise StoreError(f"store {name!r}: unknown options {unknown}; known: {sorted(_KNOWN)}")
        protocol = str(options.get("protocol", "")).lower()
        if not protocol.replace("-", "_").isidentifier():
            raise StoreError(f"store {name!r}: protocol must be 'file', 's3', 'gcs', 'azure', 'fsspec' "
                             f"or an fsspec protocol name, got {protocol!r}")
        if protocol == "fsspec" and "://" not in str(options.get("location", "")):
            raise StoreError(f"store {name!r}: an fsspec store's location is a URL (memory://lab, "
                             "gs://bucket/prefix, sftp://host/path)")
        missing = [o for o in _REQUIRED.get(protocol, ()) if not options.get(o)]
        if missing:
            raise StoreError(f"store {name!r}: a {protocol} store needs {', '.join(missing)}")
        algorithm = str(options.get("hash", "blake3")).lower()
        if algorithm not in HASHES:
            raise StoreError(f"store {name!r}: hash must be one of {HASHES}, got {algorithm!r}")
        if options.get("subfolding"):
            raise StoreError(f"store {name!r}: typedj does not write subfolded paths; remove subfolding")
        return cls(
            name=name,
            protocol=protocol,
            location=str(options.get("location", "")),
            endpoint=str(options.get("endpoint", "")),
            bucket=str(options.get("bucket") or options.get("container") or ""),
            access_key=options.get("access_key"),
            secret_key=options.get("secret_key"),
            secure=_flag(name, "secure", options.get("secure", True)),
            hash=algorithm,
            hash_prefix=str(options.get("hash_prefix", "_hash")).strip("/"),
            schema_prefix=str(options.get("schema_prefix", "_schema")).strip("/"),
            filepath_prefix=str(options.get("filepath_prefix") or "").strip("/"),
            cache=_flag(name, "cache", options.get("cache", _remote(protocol, options))),
            compression=_compression(name, options.get("compression")),
            storage_options=_storage_options(name, protocol, options),
        )

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint as a URL (``secure`` picks https when no scheme is given)."""
        if self.endpoint.startswith(("http://", "https://")):
            return self.endpoint
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    @property
    def identity(self) -> tuple[str, ...]:
        """Where the objects physically are: two store names may share one place."""
        if self.protocol == "file":
            return ("file", self.location.rstrip("/"))
        if self.protocol == "s3":
            return ("s3", self.endpoint_url.rstrip("/"), self.bucket, self.location.strip("/"))
        return ("fsspec", *self.filesystem[:2])

    @property
    def filesystem(self) -> tuple[str, str, dict[str, Any]]:
        """For a store that fsspec serves: its fsspec protocol, the root path of the store in
        that filesystem, and the filesystem's keyword arguments."""
        options: dict[str, Any] = json.loads(self.storage_options)
        if self.protocol == "fsspec":
            protocol, _, path = self.location.partition("://")
            return protocol.lower(), path.rstrip("/") or path, options
        if self.protocol in _DATAJOINT_CLOUD:
            root = "/".join(p for p in (self.bucket.strip("/"), self.location.strip("/")) if p)
            return _DATAJOINT_CLOUD[self.protocol], root, options
        return self.protocol, self.location.rstrip("/") or self.location, options


_REQUIRED = {"file": ("location",), "s3": ("endpoint", "bucket"), "gcs": ("bucket",),
             "azure": ("container",), "fsspec": ("location",)}
_LOCAL = frozenset({"file", "local", "memory"})
"""Protocols whose bytes are local already: not cached by default."""
_DATAJOINT_CLOUD = {"gcs": "gcs", "azure": "abfs"}
"""datajoint-python 2.x's cloud protocols and the fsspec filesystems that serve them."""
_DATAJOINT_CLOUD_OPTIONS = {"gcs": ("project", "token"),
                            "azure": ("account_name", "account_key", "connection_string")}


def _remote(protocol: str, options: dict[str, Any]) -> bool:
    """Whether a store's bytes are remote (cached locally by default)."""
    if protocol == "fsspec":
        protocol = str(options.get("location", "")).partition("://")[0].lower()
    return protocol not in _LOCAL


def _storage_options(name: str, protocol: str, options: dict[str, Any]) -> str:
    """The fsspec keyword arguments: ``storage_options`` (a table, or JSON text from an
    environment variable), with datajoint-python's gcs/azure options folded in."""
    value = options.get("storage_options") or {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise StoreError(f"store {name!r}: storage_options is not a JSON object") from None
    if not isinstance(value, dict):
        raise StoreError(f"store {name!r}: storage_options must be a table of options")
    if value and protocol in {"file", "s3"}:
        raise StoreError(f"store {name!r}: storage_options are for fsspec stores, not {protocol!r}")
    merged = {k: options[k] for k in _DATAJOINT_CLOUD_OPTIONS.get(protocol, ()) if options.get(k)}
    try:
        return json.dumps({**merged, **value}, sort_keys=True)
    except TypeError:
        raise StoreError(f"store {name!r}: storage_options must hold plain values") from None


def resolve_name(name: str | None) -> str:
    """The configured store a declared name means (``""``/None: ``stores["default"]``)."""
    stores = config.stores
    if not name:
        default = stores.get("default")
        if isinstance(default, str) and default:
            return default
        if isinstance(default, dict):
            return "default"
        raise StoreError(
            "no default store: set tj.config.stores['default'] to a store name, or name the "
            f"store in External('name'); configured stores: {configured()}"
        )
    return name


def configured() -> list[str]:
    return sorted(k for k, v in config.stores.items() if isinstance(v, dict))


def spec_of(name: str | None) -> StoreSpec:
    """The validated settings of store ``name`` from ``tj.config.stores``."""
    resolved = resolve_name(name)
    options = config.stores.get(resolved)
    if options is None:
        raise StoreError(
            f"store {resolved!r} is not configured; add it to tj.config.stores, "
            f"[tool.typedj.stores.{resolved}] in pyproject.toml or TYPEDJ_STORE_{resolved.upper()}_* "
            f"variables (configured: {configured()})"
        )
    return StoreSpec.parse(resolved, options)


def _compression(name: str, value: Any) -> bool | int | str | None:
    from ..codecs.blob import BlobError, compression_level

    if value is None:
        return None
    try:
        compression_level(value)
    except BlobError as exc:
        raise StoreError(f"store {name!r}: option 'compression': {exc}") from exc
    return value  # type: ignore[no-any-return]
