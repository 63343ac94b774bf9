"""`hub user`: people's console accounts (create, reset-password, disable, list).

A password is generated and shown once, or read from a file: never taken from the command line,
where other users of the machine and the shell history would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from pathlib import Path

from hub.access.accounts import Kind, create_user, disable_user, list_users, reset_password
from hub.errors import InvalidInput
from hub.services import in_session
from hub.settings import Settings
from storage.models.base import utcnow


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from --password-file, or a new one (True: print it)."""
    if args.password_file:
        try:
            return Path(args.password_file).read_text(encoding="utf-8").strip(), False
        except OSError as error:
            raise InvalidInput(f"cannot read {args.password_file}: {error.strerror}", field="password") from None
    return secrets.token_urlsafe(12), True


def cmd_create(args: argparse.Namespace, settings: Settings) -> None:
    password, generated = _password(args)
    user = asyncio.run(
        in_session(
            settings,
            lambda s: create_user(
                s, args.login, args.name, Kind(args.kind), args.department, password, centre_code=args.centre
            ),
        )
    )
    print(f"console user {user.login} ({user.kind.value}, {user.department_code}, {user.name}) created.")
    if generated:
        print(f"Password, shown this once only: {password}")


def cmd_reset_password(args: argparse.Namespace, settings: Settings) -> None:
    password, generated = _password(args)
    asyncio.run(in_session(settings, lambda s: reset_password(s, args.login, password, utcnow())))
    print(f"console user {args.login}: new password set, account unlocked, sessions ended.")
    if generated:
        print(f"Password, shown this once only: {password}")


def cmd_disable(args: argparse.Namespace, settings: Settings) -> None:
    asyncio.run(in_session(settings, lambda s: disable_user(s, args.login, utcnow())))
    print(f"console user {args.login} disabled; their sessions have ended.")


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    for user in asyncio.run(in_session(settings, list_users)):
        state = "disabled" if user.disabled else "locked" if user.locked else "active"
        print(f"{user.login:16} {user.kind.value:9} {user.department_code:8} {state:9} {user.name}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="people's console accounts").add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser("create", help="create a console account (prints a generated password once)")
    create.add_argument("--login", required=True)
    create.add_argument("--name", required=True, help="the person's name, as the access log shows it")
    create.add_argument("--kind", required=True, choices=[kind.value for kind in Kind])
    create.add_argument("--department", required=True, help="department code")
    create.add_argument("--centre", help="for a clerk: the code of the service centre of its window")
    create.add_argument("--password-file", help="read the password from this file instead of generating one")
    create.set_defaults(handler=cmd_create)
    reset = user.add_parser("reset-password", help="set a new password, unlock, end sessions")
    reset.add_argument("login")
    reset.add_argument("--password-file", help="read the password from this file instead of generating one")
    reset.set_defaults(handler=cmd_reset_password)
    disable = user.add_parser("disable", help="refuse the account's logins and end its sessions")
    disable.add_argument("login")
    disable.set_defaults(handler=cmd_disable)
    user.add_parser("list", help="list console accounts").set_defaults(handler=cmd_list)
