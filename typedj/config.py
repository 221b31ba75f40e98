"""Configuration: where the database is, and the object stores.

Sources, later ones winning: ``[tool.typedj]`` in the nearest ``pyproject.toml``,
DataJoint's ``DJ_HOST``/``DJ_USER``/``DJ_PASS``/``DJ_PORT``, ``TYPEDJ_DATABASE_URL``,
and assignments in code (``tj.config.database_url = "mysql://..."``).
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import platformdirs

from .errors import ConfigError, ConfigWarning, warn

_ENCODE_HINT = ("percent-encode special characters of the user and password "
                "(# as %23, / as %2F, ? as %3F, @ as %40, : as %3A, % as %25)")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URL_OPTIONS = {"tls", "ssl"}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``mysql://user:pass@host:port``, ``postgresql://user:pass@host:port/dbname``
    (the database name in ``path``) or ``sqlite:///path`` URL; the password never appears
    in its ``repr`` or ``str``."""

    scheme: str
    host: str = "localhost"
    port: int = 3306
    user: str = "root"
    password: str = field(default="", repr=False)
    path: str = ""
    tls: bool = False

    @classmethod
    def parse(cls, url: str, source: str = "code") -> DatabaseURL:
        """Parse ``url``, which came from ``source`` (named in a ``ConfigError``, whose
        message never quotes the URL: it may hold a password)."""

        def malformed(reason: str) -> ConfigError:
            return ConfigError(f"{source}: malformed database URL: {reason}")

        try:
            parts = urlsplit(url.strip())
        except ValueError:
            raise malformed(f"it cannot be read as a URL; {_ENCODE_HINT}") from None
        scheme = parts.scheme.split("+")[0].lower()
        postgres = scheme in {"postgresql", "postgres"}
        if scheme in {"mysql", "mariadb"} or postgres:
            if "@" in parts.path + parts.query + parts.fragment or parts.fragment or "#" in url:
                raise malformed(f"a '#', '/' or '?' is where the user and password are; {_ENCODE_HINT}")
            dbname = unquote(parts.path.lstrip("/"))
            if dbname and not postgres:
                raise malformed("it has a path after host:port; the URL names a server, not a schema")
            if "/" in dbname:
                raise malformed("the path after host:port is one database name")
            query = parse_qs(parts.query, keep_blank_values=True)
            unknown = sorted(set(query) - _URL_OPTIONS)
            if unknown:
                raise malformed(f"unknown options {unknown} (known: tls)")
            tls = query.get("tls", query.get("ssl", ["false"]))[0].lower() in {"1", "true", "yes"}
            netloc = parts.netloc.rpartition("@")
            credentials = netloc[0]
            if _BAD_ESCAPE.search(credentials):
                raise malformed(f"a '%' in the user or password is not followed by two hex digits; "
                                f"{_ENCODE_HINT}")
            host = netloc[2]
            if host.count(":") > 1 and not host.startswith("["):
                raise malformed(f"the part after '@' is not host:port; {_ENCODE_HINT}")
            try:
                port = parts.port
            except ValueError:
                raise malformed(f"the port is not a number from 0 to 65535; {_ENCODE_HINT}") from None
            if not parts.hostname:
                raise malformed("it names no host (mysql://user:password@host:port or "
                                "postgresql://user:password@host:port/dbname)")
            return cls(
                scheme="postgresql" if postgres else "mysql",
                host=parts.hostname,
                port=port or (5432 if postgres else 3306),
                user=unquote(parts.username or ("postgres" if postgres else "root")),
                password=unquote(parts.password or ""),
                path=(dbname or "postgres") if postgres else "",
                tls=tls,
            )
        if scheme == "sqlite":
            path = url.split("://", 1)[1] if "://" in url else ""
            path = path[1:] if path.startswith("/") else path
            return cls(scheme="sqlite", host="", port=0, user="", path=path or ":memory:")
        shown = parts.scheme if parts.scheme.isalnum() and "://" in url else "(none)"
        raise ConfigError(
            f"{source}: unsupported database URL scheme {shown} (use mysql://user:password@host:port, "
            "postgresql://user:password@host:port/dbname or sqlite:///path)"
        )

    def __str__(self) -> str:
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        secret = ":***" if self.password else ""
        tls = "?tls=true" if self.tls else ""
        dbname = f"/{quote(self.path, safe='')}" if self.scheme == "postgresql" else ""
        return f"{self.scheme}://{quote(self.user, safe='')}{secret}@{self.host}:{self.port}{dbname}{tls}"


SECRET_OPTIONS = frozenset({"secret_key", "password", "session_token", "token", "account_key",
                            "connection_string", "storage_options"})
"""Store options whose values are never shown (``storage_options`` of an fsspec store may
hold any filesystem's credentials, so its values are hidden whole)."""


class StoreOptions(dict[str, Any]):
    """One store's options: a dict whose printed form shows secret values as ``'***'``."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_OPTIONS and v else v) for k, v in self.items()}
        return repr(shown)


def _options(value: Any) -> Any:
    return StoreOptions(value) if isinstance(value, dict) and not isinstance(value, StoreOptions) else value


class Stores(dict[str, Any]):
    """``tj.config.stores``: store name to options (and ``"default"`` to a store name).

    Each store's options are kept as ``StoreOptions``, so that printing the stores,
    one store, or the configuration never shows a secret key.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, _options(value))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


def _find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _pyproject_settings(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    tool = data.get("tool", {}).get("typedj", {})
    return tool if isinstance(tool, dict) else {}


_Source = tuple[str, str]
"""A database URL as written, and where it was written."""


def _env_url(environ: dict[str, str]) -> DatabaseURL | _Source | None:
    if url := environ.get("TYPEDJ_DATABASE_URL"):
        return (url, "the environment variable TYPEDJ_DATABASE_URL")
    if host := environ.get("DJ_HOST"):
        backend = environ.get("DJ_BACKEND", "mysql").strip().lower()
        if backend not in {"mysql", "postgresql"}:
            return ("", "the environment variable DJ_BACKEND is neither 'mysql' nor 'postgresql'")
        postgres = backend == "postgresql"
        hostname, _, port = host.partition(":")
        port = environ.get("DJ_PORT") or port or ("5432" if postgres else "3306")
        if not port.isdigit():
            return ("", "the environment variable DJ_PORT (or the port in DJ_HOST) is not a number")
        return DatabaseURL(
            scheme=backend,
            host=hostname,
            port=int(port),
            user=environ.get("DJ_USER", "postgres" if postgres else "root"),
            password=environ.get("DJ_PASS", ""),
            path=environ.get("DJ_DATABASE_NAME", "postgres") if postgres else "",
            tls=environ.get("DJ_TLS", environ.get("DJ_USE_TLS", "")).lower() in {"1", "true", "yes"},
        )
    return None


_STORE_OPTIONS = ("protocol", "location", "endpoint", "bucket", "access_key", "secret_key",
                  "secure", "hash", "hash_prefix", "schema_prefix", "filepath_prefix", "cache",
                  "storage_options", "container", "project", "token", "account_name", "account_key",
                  "connection_string")


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


def _whole(value: object, source: str, current: int) -> int:
    """A whole number from the configuration. A malformed one is reported as a warning and the
    current value kept: importing typedj must not fail on a setting it may never use."""
    try:
        return int(str(value))
    except ValueError:
        warn(f"{source} is not a whole number; using {current}", ConfigWarning)
        return current


def default_cache_folder() -> Path:
    """The local object cache when ``cache_folder`` is not set: the platform's user cache
    folder (``$XDG_CACHE_HOME/typedj/objects`` or ``~/.cache/typedj/objects`` on Linux,
    ``~/Library/Caches/typedj/objects`` on macOS, ``%LOCALAPPDATA%\\typedj\\Cache\\objects``
    on Windows)."""
    return Path(platformdirs.user_cache_dir("typedj", appauthor=False)) / "objects"


def download_folder() -> Path:
    """Where fetched attachments and files from remote stores are written:
    ``config.download_folder``, else ``typedj-downloads`` in the temporary folder."""
    if config.download_folder:
        return Path(config.download_folder)
    return Path(tempfile.gettempdir()) / "typedj-downloads"


class Config:
    """The settings in force; ``tj.config`` is the process-wide instance.

    A database URL from pyproject.toml or the environment is read when a connection is
    made, not at import: a malformed one raises ``ConfigError`` naming where it came from.
    """

    def __init__(self) -> None:
        self._url: DatabaseURL | _Source | None = None
        self._explicit_url = False
        self._stores = Stores()
        self.cache_folder: str | None = None
        self.cache_size: int = 1 << 30
        self.download_folder: str | None = None
        self.blob_limit: int = 1 << 30
        """The most bytes one blob may inflate to when read: a guard against zlib bombs."""
        self.blob_compression: bool | int | str = "auto"
        """How blobs are compressed: ``"auto"`` (the level chosen from the data), a zlib level
        0-9 (0: never), or a bool; a store's ``compression`` option overrides it for its blobs."""
        self.safemode: bool = True
        """Whether ``delete()`` and ``drop()`` ask for confirmation, showing what would go,
        when stdin is a terminal (never in scripts or CI)."""
        self.provenance: bool = True
        """Record which code, host and time made each key ``populate`` completes (``~provenance``)."""
        self.job_metadata: bool = False
        """Declare Imported and Computed tables with datajoint-python's hidden ``_job_start_time``,
        ``_job_duration`` and ``_job_version`` columns (its ``jobs.add_job_metadata``)."""
        self.reload()

    @property
    def stores(self) -> Stores:
        """Object store settings by name (secret keys are shown as ``***`` when printed)."""
        return self._stores

    @stores.setter
    def stores(self, value: dict[str, Any]) -> None:
        self._stores = Stores(value)

    def reload(self, environ: dict[str, str] | None = None, start: Path | None = None) -> None:
        """Read pyproject.toml and the environment again (code assignments are kept)."""
        env = dict(os.environ if environ is None else environ)
        path = _find_pyproject(start or Path.cwd())
        tool = _pyproject_settings(path)
        url: DatabaseURL | _Source | None = None
        if isinstance(tool.get("database_url"), str):
            url = (tool["database_url"], f"database_url in {path}")
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
            self.blob_limit = _whole(limit, "TYPEDJ_BLOB_LIMIT", self.blob_limit)
        if isinstance(tool.get("blob_compression"), str | int):
            self.blob_compression = tool["blob_compression"]
        if level := env.get("TYPEDJ_BLOB_COMPRESSION"):
            self.blob_compression = level
        if isinstance(tool.get("provenance"), bool):
            self.provenance = tool["provenance"]
        if flag := env.get("TYPEDJ_PROVENANCE"):
            self.provenance = flag.strip().lower() not in {"0", "false", "no", "off"}
        if isinstance(tool.get("job_metadata"), bool):
            self.job_metadata = tool["job_metadata"]
        if flag := env.get("TYPEDJ_JOB_METADATA"):
            self.job_metadata = flag.strip().lower() not in {"0", "false", "no", "off"}
        if size := env.get("TYPEDJ_CACHE_SIZE"):
            self.cache_size = _whole(size, "TYPEDJ_CACHE_SIZE", self.cache_size)
        cache = tool.get("cache", {})
        if isinstance(cache, dict):
            self.cache_folder = cache.get("folder", self.cache_folder)
            size_setting = cache.get("size", self.cache_size)
            self.cache_size = _whole(size_setting, f"cache.size in {path}", self.cache_size)
        if folder := env.get("TYPEDJ_CACHE"):
            self.cache_folder = folder

    @property
    def database_url(self) -> DatabaseURL | None:
        """The configured database; ``ConfigError`` (naming its source) when malformed."""
        if isinstance(self._url, tuple):
            text, source = self._url
            if not text:
                raise ConfigError(source)
            self._url = DatabaseURL.parse(text, source)
        return self._url

    @database_url.setter
    def database_url(self, value: str | DatabaseURL | None) -> None:
        self.set_database_url(value)

    def set_database_url(self, value: str | DatabaseURL | None, source: str = "code") -> None:
        """Set the database (parsed at once; ``source`` names it in errors)."""
        self._url = DatabaseURL.parse(value, source) if isinstance(value, str) else value
        self._explicit_url = value is not None

    @contextmanager
    def override(self, **settings: Any) -> Iterator[Config]:
        """Change settings for the duration of a ``with`` block, then restore them.

        ``with tj.config.override(safemode=False, blob_limit=1 << 20): ...``: the previous
        values come back when the block ends, also when it raises. An unknown setting
        raises ``ConfigError`` before anything changes.
        """
        unknown = sorted(k for k in settings if k.startswith("_") or not hasattr(self, k)
                         or callable(getattr(self, k)))
        if unknown:
            raise ConfigError(f"config.override: unknown settings {unknown}")
        saved = {k: v for k, v in vars(self).items()}
        saved["_stores"] = Stores({k: (StoreOptions(v) if isinstance(v, dict) else v)
                                   for k, v in self._stores.items()})
        try:
            for key, value in settings.items():
                setattr(self, key, value)
            yield self
        finally:
            vars(self).clear()
            vars(self).update(saved)

    def __repr__(self) -> str:
        url = f"<unread, from {self._url[1]}>" if isinstance(self._url, tuple) else str(self._url)
        return f"Config(database_url={url}, stores={sorted(self.stores)})"


config = Config()
