"""The transactional outbox: events that departments are told of, written in the same transaction
as the change that causes them (a case distributed, a correction requested, a pinned material
superseded or revoked, a result issued), so an event exists if and only if its change committed.

Each event is addressed to one department and fanned out, still in that transaction, to a delivery
per endpoint of that department subscribed to its type; hub/webhooks/ sends them.
"""
