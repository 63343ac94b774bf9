"""SQLite: a request's short reads run on the event loop's own thread, not aiosqlite's.

aiosqlite runs every call on a thread of its own, and CPython's sqlite3 lets go of the GIL around
each column of each row it fetches. While the event loop's thread is busy (serving the other
requests), that thread waits for the GIL at every column: measured, 53 rows of 9 columns took
36 ms in a thread beside a busy one against 0.16 ms alone, and under load the serving process
sat idle a third of the time while requests waited on it (docs/performance.md, 2026-12-01). Run
on the loop's thread, the same read takes its 0.16 ms and nothing waits.

What makes this safe to do on the loop:
- only reads outside a transaction come here (the request's own uncommitted writes live on its
  pooled connection, so a read inside a transaction stays there); a session that holds no
  connection yet reads here without taking one from the pool (`driver.fetch_short`);
- a WAL database's reader never waits for a writer; if SQLite still answers busy (a checkpoint
  resetting the log, recovery after a crash), the connection's timeout is 0 and the read goes
  back to aiosqlite's thread, which waits as usual;
- the connection is read-only (`PRAGMA query_only`): a write sent here by mistake fails and goes
  back to the pooled connection;
- only statements their callers call short: a bounded handful of rows for one request (an
  applicant's notice, a compiled read's one JSON value), never an export's thousands.

One connection per engine and thread (sqlite3 connections belong to the thread that opened them),
closed when the engine is disposed. Nothing is shared between processes.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# engine -> {thread id: that thread's read-only connection to the engine's database file}
_READERS: weakref.WeakKeyDictionary[Engine, dict[int, sqlite3.Connection]] = weakref.WeakKeyDictionary()


def read_here(engine: Engine, sql: str, arguments: list[Any]) -> list[Any] | None:
    """The statement's rows read on this thread, or None where it must run on the pooled
    connection instead (an in-memory database, SQLite busy, or any error, which the pooled
    connection then reports as usual)."""
    reader = _reader(engine)
    if reader is None:
        return None
    try:
        return reader.execute(sql, arguments).fetchall()
    except sqlite3.Error:
        return None


def _reader(engine: Engine) -> sqlite3.Connection | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    readers = _READERS.get(engine)
    if readers is None:
        readers = _READERS[engine] = {}
        event.listen(engine, "engine_disposed", _close_readers)
    thread = threading.get_ident()
    reader = readers.get(thread)
    if reader is None:
        reader = sqlite3.connect(database, timeout=0, isolation_level=None)
        reader.execute("PRAGMA query_only=ON")
        readers[thread] = reader
    return reader


def _close_readers(engine: Engine) -> None:
    """Those of this thread are closed now; another thread's close as they are collected (sqlite3
    refuses a close from a thread other than the connection's)."""
    readers = _READERS.pop(engine, {})
    reader = readers.pop(threading.get_ident(), None)
    if reader is not None:
        reader.close()
