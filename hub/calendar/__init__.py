"""Working days on the official Chinese calendar, for time limits (限时办结).

Public: `workdays` (the calendar and its counting rules) and `notices` (the State Council's
yearly notices loaded as data; the calendar in force). Imports only the shared modules of `hub`
and `storage`.
"""
