"""The hub core: the use cases and the one policy-and-log point, a package per domain.

Shared by every domain: `errors` (the error hierarchy and its codes), `settings`, `identifiers`
(resident IDs and credit codes), `metrics`, and `services` (builds a process's services). `hub`
imports `storage` and never `schema`, `connectors` or `app` (docs/architecture.md).
"""
