"""Cases (办件): the one-time notice, intake at the window, parallel reviews, deadlines, completion,
prior submissions and the "case:<receipt>" purpose. Public: every module; `views` is what reads return.
Imports `access`, `calendar`, `documents`, `profiles` and `storage`.
"""
