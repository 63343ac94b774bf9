"""What a resolver gets as `info.context`: the hub request context and per-request DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from hub.access.context import RequestContext

K = TypeVar("K")
V = TypeVar("V")


class GraphQLContext:
    def __init__(self, request_context: RequestContext, request: Any = None, response: Any = None) -> None:
        self.hub = request_context
        self.request = request
        self.response = response
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        # Fields still running (schema.root.UninterruptedFields): awaited before the request commits.
        self.unfinished: set[asyncio.Future[Any]] = set()

    def loader(self, key: Hashable, batch: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        """The request's DataLoader for `key`, created on first use (no N+1 across list items).

        Each key goes with one batch function only, so the loader found under it has that function's types."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(load_fn=batch)
        return loader


Info = StrawberryInfo[GraphQLContext, None]


def selects(info: Info, *names: str) -> bool:
    """Whether the field being resolved asks for any of the child fields `names` (through fragments
    too), so a resolver can load what will be asked for in the same query."""
    raw = info._raw_info  # noqa: SLF001  (cheaper than selected_fields; a test covers upgrades)
    pending = [node.selection_set for node in raw.field_nodes if node.selection_set is not None]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in names:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = raw.fragments.get(selection.name.value)
                if fragment is not None:
                    pending.append(fragment.selection_set)
    return False
