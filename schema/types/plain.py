"""Strawberry objects with plain fields, filled from a record by field name.

A plain field resolves by attribute access; a method field costs a resolver call with argument
handling for every object in a list. So the read path's types keep plain fields, filled here.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


@cache
def _plain_field_names(cls: type) -> tuple[str, ...]:
    # Fields with a resolver are not constructor arguments (init=False); private ones are.
    return tuple(field.name for field in dataclasses.fields(cls) if field.init)


def plain_of(cls: type[T], source: Any, **overrides: Any) -> T:
    """`cls` with each field taken from the attribute of the same name on `source`, except those
    given in `overrides` (conversions, other names, private fields)."""
    values = {name: getattr(source, name) for name in _plain_field_names(cls) if name not in overrides}
    return cls(**values, **overrides)
