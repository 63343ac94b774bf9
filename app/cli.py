"""The `hub` command: set up, serve and operate the hub from a terminal (docs/cli.md)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import importlib
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.access.auth import Role
from hub.errors import AccessLogUnavailable, HubError

if TYPE_CHECKING:
    from hub.settings import Settings

Handler = Callable[[argparse.Namespace, "Settings"], Any]


# Areas that add their own subcommands: each module has `register(commands)`, adding the command
# named here. Only the area of the command asked for is imported (with what it imports), so a
# command such as `hub audit verify` starts without the whole hub (docs/cli.md).
AREA_COMMANDS = {
    "background": "app.commands.background",
    "keys": "app.commands.keys",
    "audit": "app.commands.audit",
    "witness": "app.commands.witness",
    "blobs": "app.commands.blobs",
    "calendar": "app.commands.calendar",
    "documents": "app.commands.documents",
    "cases": "app.commands.cases",
    "centre": "app.commands.centres",
    "authorise": "app.commands.authorise",
    "supervise": "app.commands.supervise",
    "webhooks": "app.commands.webhooks",
    "worker": "app.commands.webhooks",
    "user": "app.commands.users",
}
# Packages outside hub (connectors/) declare their `register` in this entry-point group, so that
# hub never imports them (pyproject.toml).
COMMANDS_ENTRY_POINTS = "hub.commands"
# The commands build_parser defines itself.
TOP_COMMANDS = ("db", "serve", "demo", "catalog", "principal", "schema")


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    from storage.migrate import applied_revisions, latest_revisions, upgrade

    url = _safe_url(settings.database_url)
    before = applied_revisions(settings.database_url)
    if before == latest_revisions():
        print(f"{url} is already at the latest schema ({', '.join(before)}); nothing to do")
        return
    upgrade(settings.database_url)
    after = ", ".join(applied_revisions(settings.database_url))
    if before:
        print(f"upgraded {url} from {', '.join(before)} to {after}, the latest schema")
    else:
        print(f"created the schema at {after} (the latest) in the empty database {url}")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    # `--port 0` asks the system for a free port; only an absent option falls back to the setting.
    host, port = args.host or settings.host, settings.port if args.port is None else args.port
    # Checked before anything is printed: a URL or tokens for a server that will not start mislead.
    busy = _port_in_use(host, port)
    if busy:
        print(f"error: cannot serve on {host}:{port}: {busy}; stop the other server or pick --port", file=sys.stderr)
        sys.exit(1)
    if args.print_demo_tokens or args.rotate_demo_tokens:
        _print_demo_tokens(settings, rotate=args.rotate_demo_tokens)
        _print_demo_people(settings, rotate=args.rotate_demo_tokens)
    print(f"GraphiQL: http://{host}:{port}/graphql")
    print(f"Console:  http://{host}:{port}/console/")
    workers = args.workers or settings.workers
    if workers == 1 and not settings.serve_background_jobs:
        print("Background jobs: off here (HUB_SERVE_BACKGROUND_JOBS=false); `hub background` runs them")
    config: dict[str, Any] = {
        "app": "app.asgi:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers > 1:
        # Each worker on a listening socket of its own, or one worker takes most connections.
        from app.serving import serve_workers

        serve_workers(config, host, port, workers)
    from app.serving import give_freed_memory_back

    give_freed_memory_back()
    uvicorn.run(**config)


def _port_in_use(host: str, port: int) -> str:
    """Why the port cannot be bound (e.g. another hub holds it), or "" if it is free."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As uvicorn binds: a port in TIME_WAIT after a restart is free, one listened on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return "the port is already in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
    return ""


def _print_demo_people(settings: Settings, *, rotate: bool) -> None:
    """The console's demo people (docs/console.md), their passwords kept across restarts, for `make run`."""
    from hub.demo.console_people import people_file, reissue_demo_people, write_kept_passwords
    from hub.services import in_session
    from storage.models.base import utcnow

    logins = asyncio.run(in_session(settings, lambda s: reissue_demo_people(s, settings, utcnow(), rotate=rotate)))
    write_kept_passwords(people_file(settings), logins)
    print(f"Demo people (kept in {people_file(settings)}; sign in to the console with a login name and its password):")
    for login in logins:
        person = login.person
        print(f"  {person.kind.value:9} {person.department_code:6} {person.name:8} {person.login:10} {login.password}")


def _print_demo_tokens(settings: Settings, *, rotate: bool) -> None:
    from hub.demo.tokens import demo_tokens, write_kept_tokens
    from hub.services import in_session

    tokens = asyncio.run(in_session(settings, lambda s: demo_tokens(s, settings, rotate=rotate)))
    write_kept_tokens(settings.demo_tokens_file, tokens)
    print(
        f'Demo principals (kept in {settings.demo_tokens_file}; paste one into GraphiQL\'s headers as {{"Authorization": "Bearer ..."}}):'
    )
    for issued in tokens:
        print(f"  {issued.role.value:18} {issued.department_code:6} {issued.name:24} {issued.token}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from hub.demo.cases import load_demo_cases
    from hub.demo.chiefs import authorise_demo_chief
    from hub.demo.load import load_demo
    from hub.services import hub_for, in_session

    summary = asyncio.run(
        in_session(settings, lambda s: load_demo(s, applicants=args.applicants, seed=args.seed, if_empty=args.if_empty))
    )
    print(summary)
    if not summary.loaded or args.cases == 0:
        return

    async def cases() -> None:
        async with hub_for(settings) as hub:
            print(await load_demo_cases(hub, applicants=min(args.cases, args.applicants), seed=args.seed))
            print(await authorise_demo_chief(hub))

    asyncio.run(cases())


def cmd_catalog_load(args: argparse.Namespace, settings: Settings) -> None:
    from hub.catalog.catalogue import load_catalog_file
    from hub.services import in_session

    summary = asyncio.run(in_session(settings, lambda s: load_catalog_file(s, Path(args.file))))
    print(
        f"catalogue version {summary.version_id}: {summary.service_items} service items, "
        f"{summary.material_types} material types, {summary.departments} departments, "
        f"{summary.legal_bases} legal bases"
    )


def cmd_principal_create(args: argparse.Namespace, settings: Settings) -> None:
    from hub.access.principals import create_principal
    from hub.services import in_session

    issued = asyncio.run(
        in_session(
            settings,
            lambda s: create_principal(
                s, args.name, Role(args.role), args.department, args.applicant, centre_code=args.centre
            ),
        )
    )
    print(f"principal {issued.principal_id} ({issued.role.value}, {issued.department_code}) created.")
    print("Its token, shown this once only:")
    print(issued.token)


def cmd_principal_list(args: argparse.Namespace, settings: Settings) -> None:
    from hub.access.principals import list_principals
    from hub.services import in_session

    for p in asyncio.run(in_session(settings, list_principals)):
        state = f"revoked {p.revoked_at:%Y-%m-%d %H:%M}" if p.revoked_at else "active"
        print(f"{p.id:5} {p.role:18} {p.department_code:8} {p.token_prefix}…  {state:24} {p.name}")


def cmd_principal_revoke(args: argparse.Namespace, settings: Settings) -> None:
    from hub.access.principals import revoke_principal
    from hub.services import in_session

    asyncio.run(in_session(settings, lambda s: revoke_principal(s, args.id)))
    print(f"principal {args.id} revoked; its token no longer works.")


def cmd_principal_rotate(args: argparse.Namespace, settings: Settings) -> None:
    from hub.access.principals import rotate_principal
    from hub.services import in_session

    issued = asyncio.run(in_session(settings, lambda s: rotate_principal(s, args.id)))
    print(f"principal {issued.principal_id} ({issued.role.value}, {issued.department_code}) has a new token;")
    print("the old one no longer works. The new token, shown this once only:")
    print(issued.token)


def cmd_schema_export(args: argparse.Namespace, settings: Settings) -> None:
    from schema.root import schema_sdl

    target = Path(args.output)
    sdl = schema_sdl()
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != sdl:
            print(f"{target} is out of date; run `hub schema export`", file=sys.stderr)
            raise SystemExit(1)
        print(f"{target} is up to date")
        return
    target.write_text(sdl, encoding="utf-8")
    print(f"wrote {target}")


def _safe_url(url: str) -> str:
    """The database URL without its password, fit for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `hub` command's parser; given the arguments, with only the areas they need (AREA_COMMANDS)."""
    parser = argparse.ArgumentParser(prog="hub", description="The data-sharing hub.")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=cmd_db_upgrade)

    serve = commands.add_parser("serve", help="serve GraphQL over HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--print-demo-tokens", action="store_true", help="print the demo principals' tokens (the same across restarts)"
    )
    serve.add_argument(
        "--rotate-demo-tokens",
        action="store_true",
        help="give every demo principal a new token and every demo person a new password, and print them",
    )
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser("demo", help="load generated demo data")
    demo.add_argument("--applicants", type=int, default=600)
    demo.add_argument("--seed", type=int, default=20261123)
    demo.add_argument("--if-empty", action="store_true", help="do nothing if demo data is already there")
    demo.add_argument(
        "--cases", type=int, default=20, help="applicants given materials and a case through the use cases (0: none)"
    )
    demo.set_defaults(handler=cmd_demo)

    catalog = commands.add_parser("catalog", help="the service catalogue").add_subparsers(
        dest="catalog_command", required=True
    )
    load = catalog.add_parser("load", help="load a YAML or JSON catalogue as a new version")
    load.add_argument("file")
    load.set_defaults(handler=cmd_catalog_load)

    principal = commands.add_parser("principal", help="principals and tokens").add_subparsers(
        dest="principal_command", required=True
    )
    create = principal.add_parser("create", help="create a principal and print its token once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in Role if role is not Role.SYSTEM])
    create.add_argument("--department", required=True, help="department code")
    create.add_argument("--applicant", help="for --role applicant: the resident ID or credit code it speaks for")
    create.add_argument("--centre", help="for --role clerk: the code of the service centre of its window")
    create.set_defaults(handler=cmd_principal_create)
    principal.add_parser("list", help="list principals").set_defaults(handler=cmd_principal_list)
    revoke = principal.add_parser("revoke", help="revoke a principal's token")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=cmd_principal_revoke)
    rotate = principal.add_parser("rotate", help="replace a principal's token and print the new one once")
    rotate.add_argument("id", type=int)
    rotate.set_defaults(handler=cmd_principal_rotate)

    schema = commands.add_parser("schema", help="the GraphQL schema").add_subparsers(
        dest="schema_command", required=True
    )
    export = schema.add_parser("export", help="write schema/schema.graphql")
    export.add_argument("--output", default=str(Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"))
    export.add_argument("--check", action="store_true", help="fail if the file differs from the code")
    export.set_defaults(handler=cmd_schema_export)

    for register in _area_registrars([] if argv is None else argv):
        register(commands)
    return parser


def _area_registrars(
    argv: list[str],
) -> Iterator[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]]:
    """The `register` functions to build the parser with: only the asked command's area when it is
    one of AREA_COMMANDS, every area otherwise (a command of the top itself, an entry point's
    command, no command, or `--help`), so help and errors list every command as before."""
    asked = next((arg for arg in argv if not arg.startswith("-")), None)
    if asked in AREA_COMMANDS:
        yield importlib.import_module(AREA_COMMANDS[asked]).register
        return
    if asked in TOP_COMMANDS:
        return
    for module in dict.fromkeys(AREA_COMMANDS.values()):
        yield importlib.import_module(module).register
    for entry_point in entry_points(group=COMMANDS_ENTRY_POINTS):
        yield entry_point.load()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        # A command that reads no configuration (`hub audit verify`: an export and keys only) says
        # so with `settings=False`; it then works whatever the environment holds.
        if getattr(args, "settings", True):
            from hub.settings import get_settings

            args.handler(args, get_settings())
        else:
            args.handler(args, None)
    except HubError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except AccessLogUnavailable as error:
        # Failed closed; the database's message (SQL and parameters) is in the process log only.
        print(f"error [INTERNAL_SERVER_ERROR]: {error}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
