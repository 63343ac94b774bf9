"""Connectors: integrations with department systems (docs/connectors.md).

A connector speaks a department system's language (the files it exports, the services it offers)
and turns it into calls of the hub's use cases, as an authenticated principal with a declared
purpose, so every access is checked and logged exactly as a GraphQL request's would be.

Imports point one way: `connectors` uses `hub`; `hub` never imports `connectors`. A connector's
commands reach the `hub` command through the `hub.commands` entry-point group (pyproject.toml).
"""
