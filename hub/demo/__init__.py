"""The demo: a generated catalogue, principals, people, applicants and cases, for `make run` and benchmarks.

Public: `load`, `cases`, `console_people`. Imports any domain (it plays their use cases); no domain imports it.
"""
