"""Store settings: what ``tj.config.stores[name]`` says, checked and normalized.

The options are DataJoint's (``protocol``, ``location``, ``endpoint``, ``bucket``,
``access_key``, ``secret_key``, ``secure``, ``hash_prefix``) plus ``hash`` (``blake3``,
the default, or ``md5`` to write objects exactly as datajoint-python does) and
``cache`` (keep downloaded objects in the local cache; on by default for S3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import config
from .errors import StoreError

HASHES = ("blake3", "md5")
_KNOWN = frozenset(
    {"protocol", "location", "endpoint", "bucket", "access_key", "secret_key", "secure",
     "hash", "hash_prefix", "schema_prefix", "filepath_prefix", "cache", "subfolding", "compression",
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

    @classmethod
    def parse(cls, name: str, options: Any) -> StoreSpec:
        """Check ``options`` (a mapping of DataJoint store settings) and build the spec."""
        if not isinstance(options, dict):
            raise StoreError(f"store {name!r}: settings must be a table of options, got {options!r}")
        unknown = sorted(set(options) - _KNOWN)
        if unknown:
            raise StoreError(f"store {name!r}: unknown options {unknown}; known: {sorted(_KNOWN)}")
        protocol = str(options.get("protocol", "")).lower()
        if protocol not in {"file", "s3"}:
            raise StoreError(f"store {name!r}: protocol must be 'file' or 's3', got {protocol!r}")
        required = ("location",) if protocol == "file" else ("endpoint", "bucket")
        missing = [o for o in required if not options.get(o)]
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
            bucket=str(options.get("bucket", "")),
            access_key=options.get("access_key"),
            secret_key=options.get("secret_key"),
            secure=_flag(name, "secure", options.get("secure", True)),
            hash=algorithm,
            hash_prefix=str(options.get("hash_prefix", "_hash")).strip("/"),
            schema_prefix=str(options.get("schema_prefix", "_schema")).strip("/"),
            filepath_prefix=str(options.get("filepath_prefix") or "").strip("/"),
            cache=_flag(name, "cache", options.get("cache", protocol == "s3")),
            compression=_compression(name, options.get("compression")),
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
        return ("s3", self.endpoint_url.rstrip("/"), self.bucket, self.location.strip("/"))


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
