"""Class-level column objects: ``Subject.weight > 10``, ``Session.proj(Session.date)``.

A table class attribute is its row's value to a type checker (``Subject.weight`` is a
``float``, as ``dataclass_transform`` reads the class), so a misspelled name is an error
and a comparison with a value of the wrong type is one in ``mypy --strict`` and
``pyright --strict``. At run time it is a ``Column``: comparisons make conditions that
compile to the SQL of the equivalent mapping or string restriction, and anywhere a query
takes an attribute name it takes a ``Column`` (``str(column)`` is its name).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from .errors import QueryError
from .query.logic import AndList, Not
from .types import MISSING, _KeepsDefault

T = TypeVar("T")

_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Column(_KeepsDefault, Generic[T]):
    """One attribute of a table class, at class level (a row holds the value instead).

    A non-data descriptor: a row's own value wins; the class sees the column. ``default``
    is the declared default, kept for re-declaration.
    """

    __slots__ = ("default", "name", "table")

    def __init__(self, name: str, table: str = "", default: Any = MISSING) -> None:
        self.name = name
        self.table = table
        self.default = default

    def __get__(self, obj: object | None, owner: Any) -> Any:
        if obj is None:
            return self
        raise AttributeError(f"{type(obj).__name__} row has no attribute {self.name!r}")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{self.table}.{self.name}" if self.table else self.name

    def __hash__(self) -> int:
        return hash((self.table, self.name))

    def _compare(self, op: str, value: Any) -> Comparison:
        return Comparison(self, op, value)

    def __eq__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> Comparison:
        return self._compare("<", value)

    def __le__(self, value: Any) -> Comparison:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> Comparison:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> Comparison:
        return self._compare(">=", value)

    def in_(self, values: Iterable[T]) -> Comparison:
        """The attribute is one of ``values``."""
        return Comparison(self, "in", list(values))

    def desc(self) -> Order:
        """Descending order by this attribute, for ``order_by=``."""
        return Order(self.name, "DESC")

    def asc(self) -> Order:
        """Ascending order by this attribute, for ``order_by=``."""
        return Order(self.name, "ASC")


class Order:
    """An ``order_by`` term; ``str()`` is its text (``"weight DESC"``)."""

    __slots__ = ("direction", "name")

    def __init__(self, name: str, direction: str) -> None:
        self.name = name
        self.direction = direction

    def __str__(self) -> str:
        return f"{self.name} {self.direction}"

    __repr__ = __str__


class Comparison:
    """``column <op> value``: a restriction condition; ``&`` and ``|`` combine them."""

    __slots__ = ("column", "op", "value")

    def __init__(self, column: Column[Any], op: str, value: Any) -> None:
        self.column = column
        self.op = op
        self.value = value

    def __and__(self, other: Any) -> Any:
        return AndList([self, other])

    def __or__(self, other: Any) -> list[Any]:
        return [self, other]

    def __invert__(self) -> Any:
        return Not(self)

    def __bool__(self) -> bool:
        if self.op in ("==", "!=") and isinstance(self.value, Column):  # ``column in list``
            same = self.column.name == self.value.name and self.column.table == self.value.table
            return same if self.op == "==" else not same
        raise QueryError(
            f"{self.column!r} {self.op} {self.value!r} is a query condition, not a truth value; "
            "restrict a query with it (Table & condition)"
        )

    def __repr__(self) -> str:
        return f"({self.column!r} {self.op} {self.value!r})"

    @property
    def sql_operator(self) -> str:
        """The comparison's SQL operator (``=``, ``<>``, ``LIKE``, ...)."""
        return _OPERATORS.get(self.op, self.op)


def desc(column: Any) -> Order:
    """Descending order by ``column`` (a class-level column): ``tj.desc(Subject.weight)``."""
    return Order(str(column), "DESC")


def asc(column: Any) -> Order:
    """Ascending order by ``column``: ``tj.asc(Subject.weight)``."""
    return Order(str(column), "ASC")


def col(column: T) -> Column[T]:
    """``Subject.weight`` as the column object it is at run time, typed ``Column[float]``.

    To a type checker a class attribute is its value (a ``float``); ``tj.col`` gives
    access to the column's methods, typed: ``tj.col(Subject.species).in_(["mouse"])``.
    """
    if not isinstance(column, Column):
        raise QueryError(f"tj.col expects a class-level column such as Subject.weight, got {column!r}")
    return column


def names(items: Iterable[Any]) -> list[Any]:
    """Attribute arguments with columns replaced by their names (other items unchanged)."""
    return [str(i) if isinstance(i, Column) else i for i in items]
