"""The top: the Starlette app and the `hub` command, assembled from every layer.

`app` may import `hub`, `schema`, `storage` and `connectors`; nothing imports `app`.
"""
