"""The hub's secret keys on disk: master keys (documents) and signing keys (the access log).

Public: `keyring`. Imports only the shared modules of `hub`.
"""
