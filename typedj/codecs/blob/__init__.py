"""DataJoint's blob format (``longblob`` columns): ``pack`` and ``unpack``.

The byte layout is the one datajoint-matlab (``mYm``) and datajoint-python (``dj0``) share;
blobs written here are read by both, and theirs are read here. See ``docs/blobs.md`` for
what round-trips exactly.

Speed comes from never touching array elements in Python: numeric data is written from
numpy buffers (one column-major copy at most) and read back as read-only views of the blob,
so decoding an uncompressed array copies nothing.
"""


from __future__ import annotations

from .compress import compression_level, decompress, maybe_compress
from .decode import Decoder
from .encode import Encoder
from .format import DJ0, MYM, ZLIB, BlobError, BytesLike
from .matlab import MatCell, MatStruct, StructElement

__all__ = ["BlobError", "MatCell", "MatStruct", "StructElement", "compression_level", "pack", "unpack"]


def pack(obj: object, *, compress: bool | int | str = True) -> bytes:
    """Serialize ``obj`` to DataJoint's blob format.

    The header is ``mYm`` when MATLAB can read the value and ``dj0`` once a Python-only
    type appears, exactly as datajoint-python decides. ``compress``: True or ``"auto"``
    (blobs over 1000 bytes are zlib-compressed when that pays, at a level chosen from the
    data, see ``docs/blobs.md``), a zlib level 1-9 (used whenever it shrinks the blob), or
    False / 0 (never).
    """
    enc = Encoder()
    try:
        enc.item(obj)
    except RecursionError:  # the interpreter's limit came first (a deep caller)
        raise BlobError("value nests too deeply to pack (or a container contains itself)") from None
    enc.parts[0] = DJ0 if enc.dj0 else MYM
    blob = b"".join(enc.parts)
    level = compression_level(compress)
    return blob if level == 0 else maybe_compress(blob, level)


def unpack(data: BytesLike, *, squeeze: bool = False) -> object:
    """Deserialize a blob written by typedj, datajoint-python or datajoint-matlab.

    Arrays come back as read-only views into ``data`` (or into the decompressed buffer);
    call ``.copy()`` to modify one. ``squeeze`` drops singleton dimensions and turns 0-d
    arrays into Python scalars, as datajoint-python's ``squeeze`` does.
    """
    mv = memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B") if mv.c_contiguous else memoryview(mv.tobytes())
    where = ""
    if bytes(mv[:6]) == ZLIB:
        mv = memoryview(decompress(mv))
        where = " of the decompressed blob"
    head = bytes(mv[:4])
    if head != MYM and head != DJ0:
        raise BlobError(
            f"not a DataJoint blob: header {head!r} at byte 0 is neither "
            f"{MYM!r}, {DJ0!r} nor a compressed blob {ZLIB!r}"
        )
    dec = Decoder(mv, squeeze, where)
    try:
        value, pos = dec.item(4, len(mv))
    except RecursionError:
        raise BlobError("blob nests too deeply to decode") from None
    if pos != len(mv):
        raise BlobError(f"{len(mv) - pos} unexpected trailing bytes at byte {pos}{where} after the top item")
    return value


