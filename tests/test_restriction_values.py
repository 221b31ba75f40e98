"""Restriction values are checked against the attribute types: the runtime twin of typedj-value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Key, Manual


@pytest.fixture
def animal(schema: tj.Schema) -> type:
    @schema
    class Animal(Manual):
        animal_id: Key[int]
        sex: Literal["M", "F", "U"] = "U"
        born: date | None = None
        weight: Decimal = Attr(precision=5, scale=2, default=Decimal("1.00"))
        tag: UUID | None = None
        name: str = ""

    Animal.insert([
        {"animal_id": 1, "sex": "F", "born": date(2024, 1, 2), "tag": UUID(int=1), "name": "a"},
        {"animal_id": 2, "weight": Decimal("2.50")},
    ])
    return Animal


@pytest.mark.parametrize(
    ("restriction", "attribute"),
    [
        ({"animal_id": "one"}, "animal_id"),
        ({"animal_id": "1"}, "animal_id"),   # numbers are not text
        ({"sex": "X"}, "sex"),               # not a member of the enum
        ({"born": "yesterday"}, "born"),
        ({"weight": "heavy"}, "weight"),
        ({"tag": "not-a-uuid"}, "tag"),
        ({"name": 5}, "name"),
    ],
)
def test_values_that_can_never_match_are_refused(
    animal: type, restriction: dict[str, object], attribute: str
) -> None:
    with pytest.raises(tj.QueryError) as info:
        animal & restriction
    assert info.value.attribute == attribute
    assert f"{attribute!r} is {animal.heading[attribute].type_name}" in str(info.value)
    with pytest.raises(tj.QueryError):
        animal - [restriction, {"animal_id": 1}]


def test_values_the_server_converts_are_accepted(animal: type) -> None:
    assert (animal & {"born": "2024-01-02"}).fetch1("animal_id") == 1
    assert (animal & {"weight": "2.50"}).fetch1("animal_id") == 2
    assert (animal & {"tag": str(UUID(int=1))}).fetch1("animal_id") == 1
    assert (animal & {"animal_id": np.int64(2), "sex": "U"}).fetch1("animal_id") == 2
    assert (animal & {"animal_id": 1.0}).fetch1("name") == "a"
    assert (animal & {"born": None}).fetch1("animal_id") == 2
