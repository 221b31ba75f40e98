"""Configuration: where the database is, and the object stores.

Sources, later ones winning: ``[tool.typedj]`` in the nearest ``pyproject.toml``,
DataJoint's ``DJ_HOST``/``DJ_USER``/``DJ_PASS``/``DJ_PORT``, ``TYPEDJ_DATABASE_URL``,
and assignments in code (``tj.config.database_url = "mysql://..."``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .errors import ConfigError


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``mysql://user:pass@host:port`` or ``sqlite:///path`` URL."""

    scheme: str
    host: str = "localhost"
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)
    path: str = ""
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        """Parses ``mysql://user:pass@host:port`` or ``sqlite:///path`` into its parts."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0].lower()
        if scheme in {"mysql", "mariadb"}:
            query = parse_qs(parts.query)
            tls = query.get("tls", query.get("ssl", ["false"]))[0].lower() in {"1", "true", "yes"}
            return cls(
                scheme="mysql",
                host=parts.hostname or "localhost",
                port=parts.port or 3306,
                user=unquote(parts.username or "root"),
                password=unquote(parts.password or ""),
                tls=tls,
            )
        if scheme == "sqlite":
            path = url.split("://", 1)[1]
            path = path[1:] if path.startswith("/") else path
            return cls(scheme="sqlite", host="", port=0, user="", path=path or ":memory:")
        raise ConfigError(f"unsupported database URL scheme {parts.scheme!r} (use mysql:// or sqlite:///)")

    def __str__(self) -> str:
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        secret = ":***" if self.password else ""
        tls = "?tls=true" if self.tls else ""
        return f"mysql://{quote(self.user)}{secret}@{self.host}:{self.port}{tls}"

    def with_password(self, password: str) -> DatabaseURL:
        """A copy of the URL with another password."""
        return replace(self, password=password)


def _find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _pyproject_settings(start: Path | None = None) -> dict[str, Any]:
    path = _find_pyproject(start or Path.cwd())
    if path is None:
        return {}
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    tool = data.get("tool", {}).get("typedj", {})
    return tool if isinstance(tool, dict) else {}


def _env_url(environ: dict[str, str]) -> DatabaseURL | None:
    if url := environ.get("TYPEDJ_DATABASE_URL"):
        return DatabaseURL.parse(url)
    if host := environ.get("DJ_HOST"):
        hostname, _, port = host.partition(":")
        return DatabaseURL(
            scheme="mysql",
            host=hostname,
            port=int(environ.get("DJ_PORT") or port or 3306),
            user=environ.get("DJ_USER", "root"),
            password=environ.get("DJ_PASS", ""),
            tls=environ.get("DJ_TLS", "").lower() in {"1", "true", "yes"},
        )
    return None


_STORE_OPTIONS = ("protocol", "location", "endpoint", "bucket", "access_key", "secret_key",
                  "secure", "hash", "hash_prefix", "schema_prefix", "filepath_prefix", "cache")


def _env_stores(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    """``TYPEDJ_STORE_<NAME>_<OPTION>`` variables (``TYPEDJ_STORE_RAW_SECRET_KEY``) by store,
    and ``TYPEDJ_STORE_DEFAULT`` naming the default store."""
    stores: dict[str, dict[str, str]] = {}
    for var, value in environ.items():
        if not var.startswith("TYPEDJ_STORE_"):
            continue
        rest = var[len("TYPEDJ_STORE_"):].lower()
        for option in _STORE_OPTIONS:
            if rest.endswith("_" + option) and len(rest) > len(option) + 1:
                stores.setdefault(rest[: -len(option) - 1], {})[option] = value
                break
    return stores


class Config:
    """The settings in force; ``tj.config`` is the process-wide instance."""

    def __init__(self) -> None:
        self._url: DatabaseURL | None = None
        self._explicit_url = False
        self.stores: dict[str, Any] = {}
        self.cache_folder: str | None = None
        self.cache_size: int = 1 << 30
        self.download_folder: str | None = None
        self.blob_limit: int = 1 << 30
        """The most bytes one blob may inflate to when read: a guard against zlib bombs."""
        self.blob_compression: bool | int | str = "auto"
        """How blobs are compressed: ``"auto"`` (the level chosen from the data), a zlib level
        0-9 (0: never), or a bool; a store's ``compression`` option overrides it for its blobs."""
        self.reload()

    def reload(self, environ: dict[str, str] | None = None, start: Path | None = None) -> None:
        """Read pyproject.toml and the environment again (code assignments are kept)."""
        env = dict(os.environ if environ is None else environ)
        tool = _pyproject_settings(start)
        url: DatabaseURL | None = None
        if isinstance(tool.get("database_url"), str):
            url = DatabaseURL.parse(tool["database_url"])
        url = _env_url(env) or url
        if not self._explicit_url:
            self._url = url
        stores = tool.get("stores", {})
        if isinstance(stores, dict):
            self.stores.update({k: dict(v) for k, v in stores.items() if isinstance(v, dict)})
            if isinstance(stores.get("default"), str):
                self.stores["default"] = stores["default"]
        for name, options in _env_stores(env).items():
            current = self.stores.get(name)
            self.stores[name] = {**(current if isinstance(current, dict) else {}), **options}
        if default_store := env.get("TYPEDJ_STORE_DEFAULT"):
            self.stores["default"] = default_store
        if isinstance(tool.get("download_folder"), str):
            self.download_folder = tool["download_folder"]
        self.download_folder = env.get("TYPEDJ_DOWNLOADS", self.download_folder)
        if isinstance(tool.get("blob_limit"), int):
            self.blob_limit = tool["blob_limit"]
        if limit := env.get("TYPEDJ_BLOB_LIMIT"):
            self.blob_limit = int(limit)
        if isinstance(tool.get("blob_compression"), str | int):
            self.blob_compression = tool["blob_compression"]
        if level := env.get("TYPEDJ_BLOB_COMPRESSION"):
            self.blob_compression = level
        if size := env.get("TYPEDJ_CACHE_SIZE"):
            self.cache_size = int(size)
        cache = tool.get("cache", {})
        if isinstance(cache, dict):
            self.cache_folder = cache.get("folder", self.cache_folder)
            self.cache_size = int(cache.get("size", self.cache_size))
        if folder := env.get("TYPEDJ_CACHE"):
            self.cache_folder = folder

    @property
    def database_url(self) -> DatabaseURL | None:
        return self._url

    @database_url.setter
    def database_url(self, value: str | DatabaseURL | None) -> None:
        self._url = DatabaseURL.parse(value) if isinstance(value, str) else value
        self._explicit_url = value is not None

    def __repr__(self) -> str:
        return f"Config(database_url={self._url}, stores={sorted(self.stores)})"


config = Config()
