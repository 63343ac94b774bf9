"""The shared applicant profile: register, look up, search, record fields, apply a department's feed.

Public: `applicants`. Imports `access` and `storage`.
"""
