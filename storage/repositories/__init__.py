"""Queries and writes, one module per area. Functions take an AsyncSession; callers own transactions."""
