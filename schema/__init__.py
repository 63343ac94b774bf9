"""The GraphQL layer: thin strawberry types and resolvers that parse input, call `hub`, map results."""
