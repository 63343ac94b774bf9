"""The service catalogue (事项目录): departments, material types, service items, legal bases.

Public: `catalogue`. Imports only the shared modules of `hub` and `storage`.
"""
