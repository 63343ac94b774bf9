"""`strawberry.field` and `strawberry.mutation` with a description, as typed decorators.

Called with keyword arguments only, as in `@strawberry.field(description=...)`, strawberry's overloads
give back Any, so mypy would take every resolver so decorated as untyped. These hand the resolver to
strawberry directly, the overload typed as giving a StrawberryField: the same field, the same schema.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.types.field import StrawberryField

Resolver = Callable[..., object]


def field(*, description: str) -> Callable[[Resolver], StrawberryField]:
    """`@strawberry.field(description=...)`."""

    def decorate(resolver: Resolver) -> StrawberryField:
        return strawberry.field(resolver, description=description)

    return decorate


def mutation(*, description: str) -> Callable[[Resolver], StrawberryField]:
    """`@strawberry.mutation(description=...)`."""

    def decorate(resolver: Resolver) -> StrawberryField:
        return strawberry.mutation(resolver, description=description)

    return decorate
