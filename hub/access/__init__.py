"""Access: principals and their tokens, people's console accounts, the policy, the guard and the
request context.

Owns who may do what and the recording of every decision; public: `accounts`, `actions`, `auth`,
`context`, `guard`, `policy`, `principals`. Imports only the shared modules of `hub` and `storage`.
"""
