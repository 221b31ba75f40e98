"""The blob format's constants: headers, item codes, class ids and their numpy dtypes."""

from __future__ import annotations

import struct
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

ObjectArray: TypeAlias = npt.NDArray[np.object_]
BytesLike: TypeAlias = bytes | bytearray | memoryview


class BlobError(ValueError):
    """A blob is corrupt, truncated or uses an unsupported feature, or a value cannot be packed.

    Decoding messages give the byte offset (within the decompressed payload when the blob
    was compressed) so a damaged row can be inspected with a hex dump.
    """



MYM: Final = b"mYm\0"
DJ0: Final = b"dj0\0"
ZLIB: Final = b"ZL123\0"
COMPRESS_OVER: Final = 1000  # the reference compresses blobs strictly over 1000 bytes
SMALL_BLOB: Final = 16 * 1024  # up to here compress exactly like the reference
MIN_SAVING: Final = 1 / 8  # larger blobs are stored raw unless a sample saves this much
LEVEL6_GAIN: Final = 0.05  # automatic level: 6 when its sample is this much smaller than level 1's
MAX_DECLARED: Final = 1 << 48  # larger "uncompressed sizes" are corruption, not data

U16: Final = struct.Struct("<H")
U32: Final = struct.Struct("<I")
U32X2: Final = struct.Struct("<II")
U64: Final = struct.Struct("<Q")
pack_u64: Final = U64.pack
unpack_u64: Final = U64.unpack_from
F64: Final = struct.Struct("<d")
U16_INT: Final = struct.Struct("<BH")  # int item head: code, byte count
FLOAT_ITEM: Final = struct.Struct("<Bd")
STR_HEAD: Final = struct.Struct("<BQ")
C128: Final = struct.Struct("<dd")
DATETIME: Final = struct.Struct("<iq")

CLASS_CELL: Final = 1
CLASS_STRUCT: Final = 2
CLASS_CHAR: Final = 4
CLASS_OBJECT: Final = 5
DATETIME_BASE: Final = 65536
DATETIME_UNITS: Final = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")

DTYPE_OF: Final[dict[int, np.dtype[Any]]] = {
    3: np.dtype(np.bool_),
    6: np.dtype("<f8"),
    7: np.dtype("<f4"),
    8: np.dtype("<i1"),
    9: np.dtype("<u1"),
    10: np.dtype("<i2"),
    11: np.dtype("<u2"),
    12: np.dtype("<i4"),
    13: np.dtype("<u4"),
    14: np.dtype("<i8"),
    15: np.dtype("<u8"),
    **{DATETIME_BASE + k: np.dtype(f"<M8[{u}]") for k, u in enumerate(DATETIME_UNITS)},
}
# Little-endian numeric dtype -> (class id, is_complex); complex uses its parts' class.
NUMERIC_CLASS: Final[dict[np.dtype[Any], tuple[int, int]]] = {
    **{dt: (cls, 0) for cls, dt in DTYPE_OF.items() if cls < DATETIME_BASE},
    np.dtype("<c8"): (7, 1),
    np.dtype("<c16"): (6, 1),
}
# 'A' + uint64 ndim + ndim x uint64 + uint32 class + uint32 complex, for every possible ndim.
ARRAY_HEADS: Final = [struct.Struct(f"<B{n + 1}QII") for n in range(65)]
CLASS_NAMES: Final = {0: "unknown", CLASS_CELL: "cell", CLASS_STRUCT: "struct", 16: "function"}

ITEM_NAMES: Final = {
    0x41: "array",
    0x50: "sparse array",
    0x53: "struct",
    0x43: "cell",
    0x46: "record array",
    0xFF: "None",
    0x01: "tuple",
    0x02: "list",
    0x03: "set",
    0x04: "dict",
    0x05: "str",
    0x06: "bytes",
    0x0A: "int",
    0x0B: "bool",
    0x0C: "complex",
    0x0D: "float",
    0x64: "Decimal",
    0x74: "date/time",
    0x75: "UUID",
}
MIN_ITEM: Final = 9  # a length-prefixed item takes at least 8 + 1 bytes

MAX_DEPTH = 256
"""The most levels a blob may nest, whatever the interpreter's recursion limit (which
other libraries, mypy for one, raise): a hostile blob fails the same way everywhere."""
