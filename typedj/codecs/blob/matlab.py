"""MATLAB's struct and cell arrays as Python objects (what ``S`` and ``C`` items decode to)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np

from .format import ObjectArray

# MATLAB's [] (0x0 double): the default field value. It has no elements, so sharing one
# read-only instance between fields cannot alias any data.
MATLAB_EMPTY: Final = np.zeros((0, 0))
MATLAB_EMPTY.flags.writeable = False

Index: TypeAlias = "int | tuple[int | slice, ...] | slice"


def _as_shape(shape: Iterable[int]) -> tuple[int, ...]:
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimension in shape {out}")
    return out


def _object_grid(values: object, shape: tuple[int, ...]) -> ObjectArray:
    """An object array of ``shape`` from an ndarray of that shape or a MATLAB-ordered sequence."""
    out = np.empty(shape, dtype=object)
    if isinstance(values, np.ndarray) and values.shape == shape:
        out[...] = values
        return out
    if isinstance(values, np.ndarray | str | bytes) or not isinstance(values, Sequence | Iterator):
        raise TypeError(f"expected an array of shape {shape} or a sequence of {math.prod(shape)} values")
    items = list(values)
    if len(items) != out.size:
        raise ValueError(f"{len(items)} values given for shape {shape} ({out.size} elements)")
    flat = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        flat[i] = v
    out[...] = flat.reshape(shape, order="F")
    return out


def _element_index(index: int | tuple[int, ...], shape: tuple[int, ...]) -> int | None:
    """Row-major flat position of one element, or None if ``index`` selects several.

    A single int is a MATLAB linear index (column-major, 0-based); a tuple has one int
    per dimension. Negative values count from the end, as in Python.
    """
    size = math.prod(shape)
    if isinstance(index, int | np.integer):
        i = int(index)
        if not -size <= i < size:
            raise IndexError(f"index {i} out of range for {size} elements")
        i %= size
        if not shape:
            return 0
        return int(np.ravel_multi_index(np.unravel_index(i, shape, order="F"), shape))
    if isinstance(index, tuple) and all(isinstance(k, int | np.integer) for k in index):
        if len(index) != len(shape):
            raise IndexError(f"{len(index)} subscripts for {len(shape)} dimensions")
        sub = []
        for k, n in zip(index, shape, strict=True):
            k = int(k)
            if not -n <= k < n:
                raise IndexError(f"subscript {k} out of range for dimension of {n}")
            sub.append(k % n)
        return int(np.ravel_multi_index(tuple(sub), shape)) if shape else 0
    return None


def _select(grid: ObjectArray, key: slice | tuple[int | slice, ...]) -> ObjectArray:
    """Several elements: a lone slice runs over MATLAB linear order (giving a row), a tuple
    indexes per dimension as numpy does."""
    if isinstance(key, slice):
        return grid.ravel(order="F")[key].reshape(1, -1).copy()
    picked = grid[key]
    if not isinstance(picked, np.ndarray):
        raise IndexError(f"invalid index {key!r}")
    return np.ascontiguousarray(picked).copy()


def _same(a: object, b: object) -> bool:
    """Deep equality for blob values: arrays by shape, dtype and contents (NaN equals NaN)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.names is not None:
            return all(_same(a[n], b[n]) for n in a.dtype.names)
        if a.dtype.kind == "O":
            return all(_same(x, y) for x, y in zip(a.flat, b.flat, strict=True))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"))
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class StructElement(MutableMapping[str, object]):
    """One element of a :class:`MatStruct`, as a field -> value mapping that writes through.

    Fields are shared by every element of the struct, so keys cannot be added or removed
    here; use :meth:`MatStruct.add_field` / :meth:`MatStruct.remove_field`.
    """

    __slots__ = ("_pos", "_struct")

    def __init__(self, struct: MatStruct, pos: int) -> None:
        self._struct = struct
        self._pos = pos

    def __getitem__(self, field: str) -> object:
        return self._struct._columns[field].reshape(-1)[self._pos]

    def __setitem__(self, field: str, value: object) -> None:
        if field not in self._struct._columns:
            raise KeyError(f"{field!r} is not a field of the struct; use MatStruct.add_field")
        self._struct._columns[field].reshape(-1)[self._pos] = value

    def __delitem__(self, field: str) -> None:
        raise TypeError("struct elements share their fields; use MatStruct.remove_field")

    def __iter__(self) -> Iterator[str]:
        return iter(self._struct._columns)

    def __len__(self) -> int:
        return len(self._struct._columns)

    def __eq__(self, other: object) -> bool:
        # Mapping.__eq__ would compare array values with ==, which is ambiguous.
        return isinstance(other, Mapping) and _same(dict(self), dict(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StructElement({dict(self)!r})"


class MatStruct:
    """A MATLAB struct array: an N-d grid of elements that share ordered field names.

    ``s["x"]`` is field ``x`` of every element (an object array of ``s.shape``);
    ``s[i]`` (MATLAB linear index, column-major, 0-based) or ``s[i, j]`` is one element
    as a mapping that writes through; slices give a sub-struct. New fields and elements
    default to MATLAB's ``[]`` (a 0x0 float64 array). Values must be MATLAB types
    (arrays of ndim >= 1, MatStruct, MatCell) for MATLAB to read the blob back.
    """

    __slots__ = ("_columns", "_shape")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, fields: Iterable[str] = (), shape: Iterable[int] = (1, 1)) -> None:
        self._shape = _as_shape(shape)
        self._columns: dict[str, ObjectArray] = {}
        for name in fields:
            self.add_field(name)

    @classmethod
    def _wrap(cls, shape: tuple[int, ...], columns: dict[str, ObjectArray]) -> MatStruct:
        self = cls.__new__(cls)
        self._shape = shape
        self._columns = {k: np.ascontiguousarray(v) for k, v in columns.items()}
        return self

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> MatStruct:
        """A 1x1 struct (MATLAB's ``struct('a', 1, ...)`` with scalar fields)."""
        return cls.from_dicts([values], shape=(1, 1))

    @classmethod
    def from_dicts(
        cls,
        elements: Sequence[Mapping[str, object]],
        shape: Iterable[int] | None = None,
        fields: Iterable[str] | None = None,
    ) -> MatStruct:
        """A struct from per-element mappings in MATLAB linear order (default shape 1xN).

        Fields are ``fields`` if given, else every key in first-seen order; a key an
        element lacks gets ``[]``.
        """
        dims = _as_shape(shape) if shape is not None else (1, len(elements))
        if math.prod(dims) != len(elements):
            raise ValueError(f"{len(elements)} elements given for shape {dims}")
        names: list[str] = list(fields) if fields is not None else []
        if fields is None:
            for element in elements:
                names.extend(k for k in element if k not in names)
        self = cls(names, dims)
        for name, column in self._columns.items():
            values = [element.get(name, MATLAB_EMPTY) for element in elements]
            column[...] = _object_grid(values, dims)
        return self

    @classmethod
    def from_numpy(cls, records: np.ndarray[Any, Any]) -> MatStruct:
        """A struct with the shape and fields of a structured (record) array."""
        names = records.dtype.names
        if names is None:
            raise TypeError("from_numpy needs a structured array (dtype with fields)")
        return cls._wrap(records.shape, {n: _object_grid(records[n], records.shape) for n in names})

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self._columns)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    def __len__(self) -> int:
        """The number of elements (MATLAB's ``numel``)."""
        return self.size

    def __iter__(self) -> Iterator[StructElement]:
        """Elements in MATLAB linear (column-major) order."""
        for i in range(self.size):
            yield self[i]

    def add_field(self, name: str) -> None:
        """Append a field, set to ``[]`` in every element."""
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError(f"invalid struct field name {name!r}")
        if name in self._columns:
            raise ValueError(f"struct already has a field {name!r}")
        column = np.empty(self._shape, dtype=object)
        column.fill(MATLAB_EMPTY)
        self._columns[name] = column

    def remove_field(self, name: str) -> None:
        del self._columns[name]

    def __getitem__(self, key: str | Index) -> Any:
        if isinstance(key, str):
            return self._columns[key]
        pos = _element_index(key, self._shape)  # type: ignore[arg-type]
        if pos is not None:
            return StructElement(self, pos)
        shape = _select(np.empty(self._shape, dtype=object), key).shape  # type: ignore[arg-type]
        sub = {n: _select(c, key) for n, c in self._columns.items()}  # type: ignore[arg-type]
        return MatStruct._wrap(shape, sub)

    def __setitem__(self, key: str | int | tuple[int, ...], value: object) -> None:
        """``s["x"] = values`` sets a field of all elements; ``s[i] = {...}`` one element."""
        if isinstance(key, str):
            if key not in self._columns:
                self.add_field(key)
            self._columns[key] = _object_grid(value, self._shape)
            return
        pos = _element_index(key, self._shape)
        if pos is None or not isinstance(value, Mapping):
            raise TypeError("assign a mapping of field values to a single element")
        unknown = set(value) - set(self._columns)
        if unknown:
            raise KeyError(f"not fields of the struct: {sorted(unknown)}")
        element = StructElement(self, pos)
        for name in self._columns:
            element[name] = value.get(name, MATLAB_EMPTY)

    def item(self) -> dict[str, object]:
        """The only element of a 1x1 struct, as a plain dict."""
        if self.size != 1:
            raise ValueError(f"item() needs a struct of one element, not shape {self._shape}")
        return dict(self[0])

    def to_dicts(self) -> list[dict[str, object]]:
        """Every element as a plain dict, in MATLAB linear order."""
        return [dict(element) for element in self]

    def to_numpy(self) -> np.recarray[Any, Any]:
        """A record array of ``shape`` with one object field per struct field."""
        rec = np.empty(self._shape, dtype=[(name, object) for name in self._columns])
        for name, column in self._columns.items():
            rec[name] = column
        return rec.view(np.recarray)

    def squeeze(self) -> MatStruct:
        """Drop singleton dimensions (a 1x1 struct becomes 0-d)."""
        shape = tuple(s for s in self._shape if s != 1)
        return MatStruct._wrap(shape, {n: c.reshape(shape).copy() for n, c in self._columns.items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatStruct):
            return NotImplemented
        return (
            self._shape == other._shape
            and self.fields == other.fields
            and all(_same(c, other._columns[n]) for n, c in self._columns.items())
        )

    def __repr__(self) -> str:
        dims = "x".join(map(str, self._shape)) or "0-d"
        if self.size == 1:
            return f"MatStruct({dims}, {self.item()!r})"
        return f"MatStruct({dims}, fields={list(self._columns)!r})"


class MatCell:
    """A MATLAB cell array: an N-d grid of arbitrary blob values.

    Built from an object array (shape kept) or from values in MATLAB linear order (shape
    given, default 1xN). ``c[i]`` uses MATLAB linear (column-major, 0-based) order,
    ``c[i, j]`` subscripts; slices give a sub-cell; iteration is column-major.
    """

    __slots__ = ("_data",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, values: Iterable[object] = (), shape: Iterable[int] | None = None) -> None:
        if isinstance(values, str | bytes):
            raise TypeError("MatCell takes a sequence of values; wrap a single value in a list")
        if isinstance(values, np.ndarray):
            dims = values.shape if shape is None else _as_shape(shape)
            if dims != values.shape:
                values = values.reshape(dims, order="F")
            self._data = _object_grid(values, dims)
            return
        items = list(values)
        if shape is None:
            shape = (1, len(items)) if items else (0, 0)
        dims = _as_shape(shape)
        self._data = _object_grid(items, dims)

    @classmethod
    def _wrap(cls, data: ObjectArray) -> MatCell:
        self = cls.__new__(cls)
        self._data = np.ascontiguousarray(data)
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        """The number of elements (MATLAB's ``numel``)."""
        return self.size

    def __iter__(self) -> Iterator[object]:
        return iter(self._data.ravel(order="F").tolist())

    def __getitem__(self, key: Index) -> Any:
        pos = _element_index(key, self.shape)  # type: ignore[arg-type]
        if pos is not None:
            return self._data.reshape(-1)[pos]
        return MatCell._wrap(_select(self._data, key))  # type: ignore[arg-type]

    def __setitem__(self, key: int | tuple[int, ...], value: object) -> None:
        pos = _element_index(key, self.shape)
        if pos is None:
            raise TypeError("cell assignment takes one element (an int or one int per dimension)")
        self._data.reshape(-1)[pos] = value

    def to_list(self) -> list[object]:
        """The values in MATLAB linear (column-major) order."""
        return list(self)

    def to_numpy(self) -> ObjectArray:
        """A copy of the cells as an object array of ``shape``."""
        return self._data.copy()

    def squeeze(self) -> MatCell:
        """Drop singleton dimensions."""
        return MatCell._wrap(self._data.squeeze().copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatCell):
            return NotImplemented
        return _same(self._data, other._data)

    def __repr__(self) -> str:
        dims = "x".join(map(str, self.shape)) or "0-d"
        return f"MatCell({dims}, {self.to_list()!r})"
