"""A dataset as a folder or as one archive file (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``)."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from ..errors import DatasetError

SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def staging(path: Path) -> Path:
    """Where an archive's files are gathered (and an interrupted export resumes from)."""
    return path.with_name(path.name + ".partial")


def pack(folder: Path, dest: Path) -> None:
    """Write ``folder``'s files into the archive ``dest`` (atomically), streaming each file."""
    tmp = dest.with_name(f".{dest.name}.part")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    name = dest.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
            for p in files:
                z.write(p, p.relative_to(folder).as_posix())
    else:
        mode = "w:gz" if name.endswith((".tar.gz", ".tgz")) else "w"
        with tarfile.open(tmp, mode) as t:  # type: ignore[call-overload]
            for p in files:
                t.add(p, p.relative_to(folder).as_posix(), recursive=False)
    os.replace(tmp, dest)


def _safe(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts


@contextmanager
def opened(path: str | os.PathLike[str]) -> Iterator[Path]:
    """The dataset's folder: ``path`` itself, or an archive extracted to a temporary folder."""
    source = Path(path)
    if source.is_dir():
        yield source
        return
    if not source.is_file() or not is_archive(source):
        raise DatasetError(f"{source}: no dataset here (a folder, or a {', '.join(SUFFIXES)} file)")
    tmp = Path(tempfile.mkdtemp(prefix="typedj-dataset-"))
    try:
        _extract(source, tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract(source: Path, folder: Path) -> None:
    try:
        if source.name.lower().endswith(".zip"):
            with zipfile.ZipFile(source) as z:
                bad = [n for n in z.namelist() if not _safe(n)]
                if bad:
                    raise DatasetError(f"{source}: refuses entries outside the dataset: {bad[:5]}")
                z.extractall(folder)
        else:
            with tarfile.open(source) as t:
                t.extractall(folder, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{source}: cannot read the archive: {exc}") from exc
