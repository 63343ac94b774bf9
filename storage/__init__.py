"""Persistence: SQLAlchemy 2 models, repositories, Alembic migrations and blob stores.

Knows nothing of GraphQL or of access rules; `hub` decides, `storage` keeps.
"""
