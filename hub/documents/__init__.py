"""The document store: materials and their versions, encrypted deduplicated blobs, uploads, signed
download links and file types. Public: `materials`, `store`, `downloads`, `download_links`.
Imports `access`, `keys` and `storage`.
"""
