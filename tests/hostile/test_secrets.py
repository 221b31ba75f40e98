"""No password or secret key in any repr, str, message, log or command output.

Each test uses a real secret and looks for its text everywhere it could leak.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import typedj as tj
from typedj.config import Config, DatabaseURL
from typedj.stores.spec import StoreSpec

SPECIAL = "#/?@%:"
SECRET = "Zq" + SPECIAL + "sekr1t"
"""A password with every character that is special in a URL."""


def run_typedj(*args: str, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return subprocess.run([sys.executable, "-m", "typedj.cli", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, cwd=cwd, timeout=120)


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**clean, **env}, cwd=cwd, timeout=120)


def chain_text(exc: BaseException) -> str:
    """The messages of an exception and every exception chained to it."""
    texts = []
    seen: BaseException | None = exc
    while seen is not None:
        texts.append(f"{type(seen).__name__}: {seen!r} {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def fragments(secret: str) -> list[str]:
    """Pieces of ``secret`` that a partial leak (a split at a special character) would show."""
    return [secret, "sekr1t", quote(secret, safe="")]


def assert_hidden(text: str, secret: str = SECRET) -> None:
    for piece in fragments(secret):
        assert piece not in text, f"{piece!r} leaked into: {text[:500]}"


@pytest.mark.parametrize("char", list(SPECIAL))
def test_percent_encoded_special_characters_work(char: str) -> None:
    password = f"a{char}sekr1t"
    url = DatabaseURL.parse(f"mysql://alice:{quote(password, safe='')}@db.lab.org:3307", "test")
    assert (url.user, url.password, url.host, url.port) == ("alice", password, "db.lab.org", 3307)
    assert str(url) == "mysql://alice:***@db.lab.org:3307"
    assert_hidden(repr(url) + str(url), password)


@pytest.mark.parametrize("raw", ["p#sekr1t", "p/sekr1t", "p?sekr1t", "p%zzsekr1t", "p%sekr1t",
                                 "p/x?y#sekr1t"])
def test_malformed_url_is_a_config_error_naming_its_source_at_connect_time(raw: str, tmp_path: Path) -> None:
    c = Config()
    c.reload(environ={"TYPEDJ_DATABASE_URL": f"mysql://alice:{raw}@db.lab.org:3307"}, start=tmp_path)
    assert_hidden(repr(c), raw)  # reading the environment does not parse (nor fail)
    with pytest.raises(tj.ConfigError) as info:
        c.database_url  # noqa: B018
    message = str(info.value)
    assert message.startswith("the environment variable TYPEDJ_DATABASE_URL: malformed database URL")
    assert "percent-encode" in message
    assert_hidden(chain_text(info.value), raw)
    assert "sekr1t" not in chain_text(info.value)


def test_malformed_url_names_pyproject_and_code(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.typedj]\ndatabase_url = "mysql://u:p#sekr1t@h:1"\n')
    c = Config()
    c.reload(environ={}, start=tmp_path)
    with pytest.raises(tj.ConfigError, match=r"database_url in .*pyproject\.toml: malformed") as info:
        c.database_url  # noqa: B018
    assert "sekr1t" not in chain_text(info.value)
    with pytest.raises(tj.ConfigError, match=r"^code: malformed database URL") as info:
        c.database_url = "mysql://u:p/sekr1t@h:1"
    assert "sekr1t" not in chain_text(info.value)
    with pytest.raises(tj.ConfigError, match=r"^code: malformed") as info:
        tj.connect("mysql://u:p?sekr1t@h:1")
    assert "sekr1t" not in chain_text(info.value)
    c.reload(environ={"DJ_HOST": "h", "DJ_PORT": "sekr1t", "DJ_PASS": "x"}, start=tmp_path)
    with pytest.raises(tj.ConfigError, match="DJ_PORT"):
        c.database_url  # noqa: B018


def test_import_survives_a_malformed_url_and_connect_names_it(tmp_path: Path) -> None:
    env = {"TYPEDJ_DATABASE_URL": f"mysql://alice:{SECRET}@db.lab.org:3307"}
    code = ("import typedj as tj\nprint('imported', tj.config)\n"
            "try:\n    tj.connect()\nexcept tj.ConfigError as e:\n    print('refused:', e)\n")
    result = run_python(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported Config(database_url=<unread, from the environment variable" in result.stdout
    assert "refused: the environment variable TYPEDJ_DATABASE_URL: malformed database URL" in result.stdout
    assert_hidden(result.stdout + result.stderr)
    cli = run_typedj("info", env=env, cwd=tmp_path)
    assert cli.returncode == 2
    assert cli.stderr.startswith("typedj: the environment variable TYPEDJ_DATABASE_URL: malformed")
    assert len(cli.stderr.strip().splitlines()) == 1 and "Traceback" not in cli.stderr
    assert_hidden(cli.stdout + cli.stderr)


@pytest.mark.parametrize("source", [
    f"mysql://alice:{quote(SECRET, safe='')}@127.0.0.1:1",
    f"mysql://alice:{SECRET}@127.0.0.1:1",
    f"mysql://alice:{quote(SECRET, safe='')}@127.0.0.1:1/",
])
def test_codegen_without_schema_does_not_print_the_password(source: str, tmp_path: Path) -> None:
    result = run_typedj("codegen", source, cwd=tmp_path)
    assert result.returncode == 2
    assert "must end with /<schema name>" in result.stderr or "malformed" in result.stderr
    assert "Traceback" not in result.stderr
    assert_hidden(result.stdout + result.stderr)


def test_store_secret_keys_are_masked_but_usable(tmp_path: Path) -> None:
    key = "AKIA-" + uuid.uuid4().hex
    c = Config()
    c.reload(environ={"TYPEDJ_STORE_RAW_SECRET_KEY": key, "TYPEDJ_STORE_RAW_PROTOCOL": "s3",
                      "TYPEDJ_STORE_RAW_ENDPOINT": "s3:9000", "TYPEDJ_STORE_RAW_BUCKET": "b",
                      "TYPEDJ_STORE_RAW_ACCESS_KEY": "me"}, start=tmp_path)
    c.stores["code"] = {"protocol": "s3", "endpoint": "e", "bucket": "b", "secret_key": key}
    c.stores.update(other={"protocol": "s3", "endpoint": "e", "bucket": "b", "secret_key": key})
    c.stores.setdefault("third", {"protocol": "file", "location": "/x", "secret_key": key})
    for shown in (repr(c.stores), str(c.stores), repr(c), str(c.stores["raw"]), repr(dict(c.stores)),
                  f"{c.stores}", f"{c.stores['code']}", repr(c.stores.copy())):
        assert key not in shown
    assert "'secret_key': '***'" in repr(c.stores["raw"]) and "'access_key': 'me'" in repr(c.stores["raw"])
    assert c.stores["raw"]["secret_key"] == key
    assert c.stores["code"] == {"protocol": "s3", "endpoint": "e", "bucket": "b", "secret_key": key}
    spec = StoreSpec.parse("raw", c.stores["raw"])
    assert spec.secret_key == key and key not in repr(spec)
    c.stores = {"again": {"protocol": "file", "location": "/y", "secret_key": key}}
    assert key not in repr(c.stores) and c.stores["again"]["secret_key"] == key


def test_process_config_stores_are_masked() -> None:
    key = "k-" + uuid.uuid4().hex
    saved = dict(tj.config.stores)
    try:
        tj.config.stores["leaky"] = {"protocol": "s3", "endpoint": "e", "bucket": "b", "secret_key": key}
        assert key not in repr(tj.config.stores) and key not in str(tj.config)
    finally:
        tj.config.stores.clear()
        tj.config.stores.update(saved)


@pytest.fixture
def secret_user(mysql_url: str) -> Iterator[tuple[str, str, str]]:
    """A server account whose password has every URL-special character: (user, host, port)."""
    admin = tj.connect(mysql_url)
    user = f"u{uuid.uuid4().hex[:8]}"
    admin.query(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (SECRET,))
    url = DatabaseURL.parse(mysql_url)
    yield user, url.host, str(url.port)
    admin.query(f"DROP USER '{user}'@'%'")


def test_percent_encoded_password_connects_and_stays_hidden(
    secret_user: tuple[str, str, str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    user, host, port = secret_user
    c = Config()
    c.reload(environ={"TYPEDJ_DATABASE_URL": f"mysql://{user}:{quote(SECRET, safe='')}@{host}:{port}"},
             start=tmp_path)
    url = c.database_url
    assert url is not None and url.password == SECRET
    with caplog.at_level(logging.DEBUG):
        conn = tj.connect(url)
        assert str(conn.query("SELECT CURRENT_USER()").fetchone()[0]).startswith(user + "@")
        shown = [repr(conn), str(conn.url), repr(conn.url), repr(c)]
        wrong = tj.Connection(dataclasses.replace(url, password=SECRET + "x"))
        with pytest.raises(tj.AccessError) as info:
            wrong.query("SELECT 1")
        conn.close()
    assert info.value.login and info.value.code == 1045
    assert "refused the login" in str(info.value) and f"mysql://{user}:***@" in str(info.value)
    assert_hidden(chain_text(info.value) + "\n".join(shown) + caplog.text)
    encoded = f"mysql://{user}:{quote(SECRET, safe='')}@{host}:{port}"
    good = run_typedj("info", env={"TYPEDJ_DATABASE_URL": encoded}, cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert f"mysql://{user}:***@{host}:{port}" in good.stdout
    assert_hidden(good.stdout + good.stderr)


def test_wrong_password_in_the_command_exits_2_in_one_line(
    secret_user: tuple[str, str, str], tmp_path: Path
) -> None:
    user, host, port = secret_user
    wrong = SECRET + "Wr0ng"
    for env in ({"TYPEDJ_DATABASE_URL": f"mysql://{user}:{quote(wrong, safe='')}@{host}:{port}"},
                {"DJ_HOST": f"{host}:{port}", "DJ_USER": user, "DJ_PASS": wrong}):
        result = run_typedj("-v", "info", env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("typedj:")]
        assert len(lines) == 1 and "refused the login" in lines[0]
        assert "Traceback" not in result.stderr
        assert_hidden(result.stdout + result.stderr, wrong)
        assert "Wr0ng" not in result.stdout + result.stderr


@pytest.mark.parametrize("variable", ["TYPEDJ_CACHE_SIZE", "TYPEDJ_BLOB_LIMIT"])
def test_a_malformed_number_in_the_environment_does_not_break_import(variable: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    env[variable] = "12 GB"
    code = "import typedj as tj; print(tj.config.cache_size, tj.config.blob_limit)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(1 << 30), str(1 << 30)]
    assert f"{variable} is not a whole number" in done.stderr
