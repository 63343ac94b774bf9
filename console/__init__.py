"""The console: pages in a browser, in Chinese, for window clerks, department reviewers and auditors.

A layer beside `schema/`: it turns forms into the same `hub` use cases, so every page passes the
same policy and writes the same access log as a GraphQL call, with the signed-in person as the
principal (docs/console.md).
"""
