"""Object stores: where ``<blob@store>``, ``<attach@store>`` and ``<filepath@store>`` values live.

``spec`` reads the settings, ``backends`` moves bytes (folder or S3), ``filesystems``
through any fsspec filesystem, ``hashing`` names objects by content, ``cache`` keeps
downloads, and ``store`` ties them together. Removing objects no row references any more
reads the database, so it lives above the backend, in ``typedj/collect.py``.
"""

from ..errors import CorruptObjectError, MissingObjectError, StoreError
from .spec import StoreSpec
from .store import Store, get_store

__all__ = ["CorruptObjectError", "MissingObjectError", "Store", "StoreError", "StoreSpec", "get_store"]
