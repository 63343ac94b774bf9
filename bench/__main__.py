"""`python -m bench` (`make bench`): run every benchmark module present, one after another."""

from __future__ import annotations

import importlib
import sys

MODULES = (
    "bench.graphql_read",
    "bench.clerk_query",
    "bench.documents",
    "bench.audit",
    "bench.notice",
    "bench.supervision",
    "bench.edge",
)


def main() -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        print(f"\n== {name} ==", flush=True)
        module.main()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
