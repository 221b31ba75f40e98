"""pytest in a child process, as a user runs it, without the test servers' plugins.

pytest-mysql and pytest-postgresql start their servers through mirakuru, which marks each
server's environment with ``mirakuru_uuid=<pid of this pytest>:<uuid>``. Any Python process
that imported mirakuru registers an exit hook that SIGKILLs every process whose marker
*contains* its own pid as a substring. A child pytest that autoloads those plugins is such a
process: when its pid (say 512, after the pid counter wraps) occurs in the marker, its exit
kills this session's PostgreSQL or MariaDB server mid-run. Two defences: the child runs leave
those plugins out unless a test is about them, and this session's servers start without the
marker (``tests/pg_ctl``, ``tests/mariadbd-safe``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVER_PLUGINS = ("pytest_mysql", "pytest_postgresql")


def user_env(**extra: str) -> dict[str, str]:
    """This environment without typedj's and DataJoint's settings (a user's shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return {**env, **extra}


def run_pytest(folder: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300,
               server_plugins: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m pytest -q ARGS`` in ``folder``; typedj's own plugin still loads by entry point."""
    disabled = [] if server_plugins else [o for name in SERVER_PLUGINS for o in ("-p", f"no:{name}")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *disabled, *args],
        cwd=folder, env=user_env() if env is None else env, capture_output=True, text=True,
        timeout=timeout,
    )
