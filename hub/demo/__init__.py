"""The demo: a generated catalogue, principals, applicants and cases, for `make run` and benchmarks.

Public: `load`, `cases`. Imports any domain (it plays their use cases); no domain imports it.
"""
