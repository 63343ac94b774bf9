"""Chief representatives (首席代表, 授权到位): a department authorises a named clerk to decide listed items.

`grants` owns the authorisation document: a department (its system) or an administrator grants it
for the department's own clerk and items until a date, withdraws it with a reason, and reads them.
`deciding` answers, when a clerk decides, which authorisation in force covers the decision, or
refuses with NOT_AUTHORISED; `hub/cases` records the authorisation on the decision it covers.
"""
