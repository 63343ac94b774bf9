"""`python -m bench.fuzz`: hostile requests against a served hub; counts every 5xx and INTERNAL_SERVER_ERROR.

A generator walks the published schema (schema/schema.graphql) and builds random operations: queries
and mutations with random selections, arguments drawn from hostile values (NUL and other control
characters, huge and negative numbers, long and non-ASCII strings, fragments, aliases), sent with
a random demo token (or a forged, revoked-looking or missing one) and a random purpose. A share of
requests are file uploads (multipart, random bytes under random names and types) and malformed
bodies (bad JSON, deep variables, wrong content types, bad multipart). The aim (issue 10): no
request ever answers 5xx or INTERNAL_SERVER_ERROR.

Settings: HUB_FUZZ_REQUESTS (default 10,000), HUB_FUZZ_SEED, HUB_FUZZ_DATABASE (postgresql or
sqlite; default postgresql, where stored strings are strictest). Prints a table of outcomes and the
first failures; exits 1 if any request failed that way.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
)

from bench.common import postgres_database, print_table, running_hub, sqlite_database

REQUESTS = int(os.environ.get("HUB_FUZZ_REQUESTS", "10000"))
SEED = int(os.environ.get("HUB_FUZZ_SEED", "20261130"))
DATABASE = os.environ.get("HUB_FUZZ_DATABASE", "postgresql")
CONCURRENCY = 8
PROGRESS_EVERY = int(os.environ.get("HUB_FUZZ_PROGRESS", "1000"))
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"

HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x1f\x7f",
    "户籍核查",
    "王",
    "case:R-2026-0001",
    "case :R",
    "basis:tax-identity-check",
    "' OR 1=1 --",
    '"; DROP TABLE access_entries; --',
    "%00",
    "\\",
    "\u2028\u2029",
    "\ud7ff\ue000",
    "𠀀" * 3,
    "x" * 201,
    "長" * 5000,
    "110105194912310029",
    "11010519491231002X",
    "91110000600037341L",
    "-1",
    "9" * 40,
    "2026-02-30",
    "1970-01-01T00:00:00Z",
    "../../etc/passwd",
    "<script>alert(1)</script>",
)
HOSTILE_INTS = (0, 1, -1, 2, 100, 2**31 - 1, -(2**31), 10**6)
PURPOSES = (
    None,
    "",
    "basis:tax-identity-check",
    "case:R-2026-0001",
    "case :R",
    "visit:1",
    "x" * 300,
    "户籍核查",
    "%E6%88%B7%E7%B1%8D",
    "a\tb",
)


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsendable: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, response: httpx.Response | None, error: str = "") -> None:
        if response is None:
            self.statuses[0] += 1
            self._fail(what, f"no response: {error}")
            return
        self.statuses[response.status_code] += 1
        codes = _codes(response)
        self.codes.update(codes)
        if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes:
            self._fail(what, f"{response.status_code} {response.text[:300]}")

    def _fail(self, what: str, how: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(f"{what[:400]}\n    -> {how}")

    @property
    def failed(self) -> int:
        return (
            self.statuses[0]
            + sum(n for status, n in self.statuses.items() if status >= 500)
            + max(0, self.codes["INTERNAL_SERVER_ERROR"] - sum(n for s, n in self.statuses.items() if s >= 500))
        )


def _codes(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return ["(not JSON)"]
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str((e.get("extensions") or {}).get("code", "(no code)")) for e in errors or [] if isinstance(e, dict)]


class OperationGenerator:
    """Random operations over a schema: selections to a bounded depth, hostile argument values."""

    def __init__(self, schema: GraphQLSchema, rng: random.Random) -> None:
        self.schema = schema
        self.rng = rng

    def operation(self) -> tuple[str, dict[str, object]]:
        root = self.schema.mutation_type if self.rng.random() < 0.3 else self.schema.query_type
        assert root is not None
        keyword = "mutation" if root is self.schema.mutation_type else "query"
        names = self.rng.sample(sorted(root.fields), k=min(len(root.fields), self.rng.choice((1, 1, 2, 3))))
        variables: dict[str, tuple[str, object]] = {}
        selections = " ".join(self._field(root, name, depth=0, variables=variables) for name in names)
        declared = ", ".join(f"${name}: {kind}" for name, (kind, _) in variables.items())
        values = {name: value for name, (_, value) in variables.items()}
        header = f"{keyword}({declared})" if declared else keyword
        return f"{header} {{ {selections} }}", values

    def _field(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        name: str,
        depth: int,
        variables: dict[str, tuple[str, object]],
    ) -> str:
        definition = parent.fields[name]
        arguments = []
        for arg_name, argument in definition.args.items():
            required = isinstance(argument.type, GraphQLNonNull)
            if not required and self.rng.random() < 0.6:
                continue
            value = self._value(argument.type, depth=0)
            if self.rng.random() < 0.5:
                variable = f"v{len(variables)}"
                variables[variable] = (str(argument.type), value)
                arguments.append(f"{arg_name}: ${variable}")
            else:
                arguments.append(f"{arg_name}: {_literal(value)}")
        alias = f"a{self.rng.randrange(1000)}: " if self.rng.random() < 0.1 else ""
        text = alias + name + (f"({', '.join(arguments)})" if arguments else "")
        output = _unwrap(definition.type)
        if isinstance(output, GraphQLObjectType | GraphQLInterfaceType):
            text += " { " + self._selection(output, depth + 1, variables) + " }"
        elif isinstance(output, GraphQLUnionType):
            text += " { __typename }"
        return text

    def _selection(
        self, parent: GraphQLObjectType | GraphQLInterfaceType, depth: int, variables: dict[str, tuple[str, object]]
    ) -> str:
        names = sorted(parent.fields)
        scalars = [n for n in names if not isinstance(_unwrap(parent.fields[n].type), GraphQLObjectType)]
        if depth >= 3 or not names:
            return " ".join(self.rng.sample(scalars, k=min(2, len(scalars)))) or "__typename"
        picked = self.rng.sample(names, k=min(len(names), self.rng.randint(1, 4)))
        return " ".join(self._field(parent, name, depth, variables) for name in picked)

    def _value(self, kind: GraphQLInputType, depth: int) -> object:
        if isinstance(kind, GraphQLNonNull):
            return self._value(kind.of_type, depth)
        if self.rng.random() < 0.03:
            return None
        if isinstance(kind, GraphQLList):
            return [self._value(kind.of_type, depth + 1) for _ in range(self.rng.choice((0, 1, 2, 5)))]
        if isinstance(kind, GraphQLEnumType):
            return EnumValue(self.rng.choice(sorted(kind.values)))
        if isinstance(kind, GraphQLInputObjectType):
            if depth > 3:
                return {}
            return {
                name: self._value(field_.type, depth + 1)
                for name, field_ in kind.fields.items()
                if isinstance(field_.type, GraphQLNonNull) or self.rng.random() < 0.5
            }
        if isinstance(kind, GraphQLScalarType):
            return self._scalar(kind.name)
        return None

    def _scalar(self, name: str) -> object:
        if name == "Int":
            return self.rng.choice(HOSTILE_INTS)
        if name == "Float":
            return self.rng.choice((0.0, -1.5, 1e308))
        if name == "Boolean":
            return self.rng.random() < 0.5
        if name == "Upload":
            return None
        return self.rng.choice(HOSTILE_STRINGS)


def _unwrap(kind: object) -> object:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _literal(value: object) -> str:
    """A GraphQL literal for `value`: enums are the strings chosen from enum values, written bare."""
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class EnumValue(str):
    """An enum value: a bare name in literals, a string in variables."""


class Fuzzer:
    def __init__(self, url: str, tokens: list[str | None], rng: random.Random) -> None:
        self.url = url
        self.tokens = tokens
        self.rng = rng
        schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
        self.generator = OperationGenerator(schema, rng)

    def headers(self) -> dict[str, str | bytes]:
        headers: dict[str, str | bytes] = {"X-Hub-Request": "1"}
        token = self.rng.choice(self.tokens)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        purpose = self.rng.choice(PURPOSES)
        if purpose is not None:
            headers["X-Hub-Purpose"] = purpose.encode("utf-8")  # raw UTF-8 bytes, as a careless client sends
        return headers

    def request(self) -> tuple[str, dict[str, object]]:
        """One request's description and httpx keyword arguments."""
        roll = self.rng.random()
        headers = self.headers()
        if roll < 0.80:
            query, variables = self.generator.operation()
            body = json.dumps({"query": query, "variables": variables}, ensure_ascii=False, default=str)
            return query, {"content": body.encode(), "headers": {**headers, "Content-Type": "application/json"}}
        if roll < 0.92:
            return self._upload(headers)
        return self._malformed(headers)

    def _upload(self, headers: dict[str, str | bytes]) -> tuple[str, dict[str, object]]:
        query = (
            "mutation($input: UploadMaterialInput!) { uploadMaterial(input: $input) "
            "{ id status currentVersion { fileName contentType size } } }"
        )
        kind = self.rng.choice(("id_card", "business_licence", "x", "户口簿", "\x00"))
        file_variable = None if self.rng.random() < 0.9 else self.rng.choice(("a string", 7))
        operations = {
            "query": query,
            "variables": {
                "input": {"idNumber": self.rng.choice(HOSTILE_STRINGS), "typeCode": kind, "file": file_variable}
            },
        }
        content = self.rng.choice(
            (
                b"%PDF-1.7\n" + self.rng.randbytes(64),
                b"\xff\xd8\xff" + self.rng.randbytes(32),
                b"",
                self.rng.randbytes(200),
            )
        )
        name = self.rng.choice(("scan.pdf", "invoice.html", "", "长文件名" * 50 + ".pdf", "a\x00.pdf", "../x.pdf"))
        ctype = self.rng.choice(("application/pdf", "image/jpeg", "text/html", "", "application/octet-stream"))
        mapping = {"0": ["variables.input.file"]}
        if self.rng.random() < 0.1:
            mapping = {"0": ["variables.nothing.here"]}
        files = {"0": (name, content, ctype)}
        data = {"operations": json.dumps(operations, ensure_ascii=False), "map": json.dumps(mapping)}
        return f"upload {name!r} {ctype!r}", {"data": data, "files": files, "headers": headers}

    def _malformed(self, headers: dict[str, str | bytes]) -> tuple[str, dict[str, object]]:
        depth = self.rng.choice((10, 1000, 100_000))
        bodies: list[tuple[str, bytes, str]] = [
            ("not JSON", b"{query: ", "application/json"),
            ("JSON array", b'[{"query": "{ viewer { name } }"}]', "application/json"),
            ("query not a string", b'{"query": 7}', "application/json"),
            ("variables not an object", b'{"query": "{ viewer { name } }", "variables": "x"}', "application/json"),
            (
                f"variables nested {depth} deep",
                b'{"query": "{ viewer { name } }", "variables": {"a": ' + b"[" * depth + b"]" * depth + b"}}",
                "application/json",
            ),
            ("wrong content type", b"query=%7B%7D", "application/x-www-form-urlencoded"),
            (
                "bad multipart",
                b"--x\r\nContent-Disposition: form-data; name=" + b"a" * 20000 + b"\r\n\r\n1\r\n--x--",
                "multipart/form-data; boundary=x",
            ),
            ("multipart without boundary", b"abc", "multipart/form-data"),
            ("invalid UTF-8", b'{"query": "\xff\xfe"}', "application/json"),
            ("empty", b"", "application/json"),
        ]
        what, body, ctype = self.rng.choice(bodies)
        return what, {"content": body, "headers": {**headers, "Content-Type": ctype}}


async def fuzz(url: str, tokens: list[str | None], requests: int, seed: int) -> Tally:
    fuzzer = Fuzzer(url, tokens, random.Random(seed))
    tally = Tally()
    queue: asyncio.Queue[tuple[str, dict[str, object]] | None] = asyncio.Queue(maxsize=CONCURRENCY * 2)

    async def worker(client: httpx.AsyncClient) -> None:
        while (item := await queue.get()) is not None:
            what, arguments = item
            try:
                response = await client.post(url, **arguments)  # type: ignore[arg-type]
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as error:
                tally.add(what, None, repr(error))  # the server hung up or never answered: a failure
            except (httpx.HTTPError, ValueError, TypeError) as error:
                tally.unsendable[type(error).__name__] += 1  # the client refused to send it: not the server's
            else:
                tally.add(what, response)

    async with httpx.AsyncClient(timeout=10) as client:
        workers = [asyncio.create_task(worker(client)) for _ in range(CONCURRENCY)]
        for n in range(requests):
            await queue.put(fuzzer.request())
            if n and n % PROGRESS_EVERY == 0:
                print(f"  {n:,} requests sent", file=sys.stderr, flush=True)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    return tally


@contextmanager
def _database() -> Iterator[str]:
    with postgres_database() if DATABASE == "postgresql" else sqlite_database() as url:
        yield url


def main() -> None:
    with _database() as database_url, running_hub(database_url, env={"HUB_ENVIRONMENT": "production"}) as hub:
        tokens: list[str | None] = [*hub.tokens.values(), None, "hub_" + "0" * 43, "not-a-token"]
        tally = asyncio.run(fuzz(hub.url, tokens, REQUESTS, SEED))
        if tally.failed and hub.log is not None:
            kept = Path("var") / "fuzz-serve.log"
            kept.parent.mkdir(exist_ok=True)
            kept.write_bytes(hub.log.read_bytes())
            print(f"the server's log, with its tracebacks, is kept in {kept}")
    print(f"Fuzzing the served hub ({DATABASE}, production settings): {REQUESTS:,} requests, seed {SEED}")
    rows: list[list[object]] = [["HTTP status", "requests"]]
    rows += [[status or "no response", count] for status, count in sorted(tally.statuses.items())]
    print_table(rows)
    rows = [["extensions.code", "errors"], *([code, n] for code, n in tally.codes.most_common())]
    print_table(rows)
    if tally.unsendable:
        print(f"not sent (the HTTP client refused them): {dict(tally.unsendable)}")
    print(f"5xx, INTERNAL_SERVER_ERROR or no answer: {tally.failed}")
    for failure in tally.failures:
        print(f"  {failure}")
    if tally.failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
