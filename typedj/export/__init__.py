"""Export and publish: a slice of a pipeline as a self-contained, verifiable dataset, and back.

``export`` writes the dataset (``writer.py``), ``verify`` checks it against its manifest
(``manifest.py``), ``import_dataset`` loads it into a database (``loader.py``),
``open_dataset`` reads it in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..backend.connection import Connection
from ..errors import VerificationError
from . import archive, database, manifest
from .loader import ImportReport, import_dataset
from .manifest import VerifyReport
from .writer import ExportReport, export


def verify(path: str | os.PathLike[str], *, strict: bool = False, workers: int = 4) -> VerifyReport:
    """Check every file of the dataset ``path`` (folder or archive) against its manifest:
    present, same size, same BLAKE3 checksum, and no file the manifest does not list.

    Returns the report (``report.ok``); ``strict=True`` raises ``VerificationError`` instead.
    """
    with archive.opened(path) as root:
        report = manifest.check(root, str(path), workers)
    if strict and not report.ok:
        raise VerificationError(str(path), report.problems)
    return report


def open_dataset(path: str | os.PathLike[str]) -> Connection:
    """A read-only connection to a dataset folder's database: ``tj.Schema(name, connection=...)``
    on it gives the tables, queries and typed classes, and changes nothing in the dataset."""
    return database.read_only(Path(path) / database.FILE)


__all__ = [
    "ExportReport", "ImportReport", "VerifyReport", "export", "import_dataset", "open_dataset", "verify",
]
