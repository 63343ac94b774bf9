"""The service halls (政务服务大厅): the windows where applicants present themselves.

`visits` owns the applicant at a clerk's window: `open_visit` when they present their ID, and the
purpose `visit:<id>` under which that clerk, and only that clerk, reads their data until it expires.
"""
