"""Working days on the official Chinese calendar, for time limits (限时办结).

Public: `workdays`. Imports only the shared modules of `hub`.
"""
