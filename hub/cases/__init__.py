"""Cases (办件): the one-time notice, intake at the window, parallel reviews, deadlines, completion,
prior submissions, a department's inbox, and the "case:<receipt>" and "inbox:<department>" purposes. Public: every module; `views` is what reads return.
Imports `access`, `calendar`, `documents`, `profiles` and `storage`.
"""
