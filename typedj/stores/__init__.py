"""Object stores: where ``<blob@store>``, ``<attach@store>`` and ``<filepath@store>`` values live.

``spec`` reads the settings, ``backends`` moves bytes (folder or S3), ``hashing`` names
objects by content, ``cache`` keeps downloads, ``store`` ties them together, and ``gc``
removes objects no row references any more.
"""

from ..errors import CorruptObjectError, MissingObjectError, StoreError
from .spec import StoreSpec
from .store import Store, get_store

__all__ = ["CorruptObjectError", "MissingObjectError", "Store", "StoreError", "StoreSpec", "get_store"]
