"""What a resolver gets as `info.context`: the hub request context and per-request DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from hub.context import RequestContext


class GraphQLContext:
    def __init__(self, request_context: RequestContext, request: Any = None, response: Any = None) -> None:
        self.hub = request_context
        self.request = request
        self.response = response
        self._loaders: dict[Hashable, DataLoader] = {}

    def loader(self, key: Hashable, batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader:
        """The request's DataLoader for `key`, created on first use (no N+1 across list items)."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = DataLoader(load_fn=batch)
        return loader


Info = StrawberryInfo[GraphQLContext, None]
