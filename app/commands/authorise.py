"""`hub authorise grant | withdraw | list`: chief representatives' authorisations (首席代表) from a terminal.

Each acts as a principal (its token from `--token-file` or HUB_AUTHORISER_TOKEN): a department's
system or an administrator grants and withdraws; the use cases, the policy and the log are those of
the GraphQL mutations (docs/cases.md).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from hub.access.context import RequestContext
from hub.access.principals import principal_context, principal_token
from hub.authorisations import grants
from hub.services import hub_for
from hub.settings import Settings

AUTHORISER_TOKEN_VARIABLE = "HUB_AUTHORISER_TOKEN"
T = TypeVar("T")


def _as_principal(
    args: argparse.Namespace, settings: Settings, use_case: Callable[[RequestContext], Awaitable[T]]
) -> T:
    token = principal_token(args.token_file, AUTHORISER_TOKEN_VARIABLE)

    async def run() -> T:
        async with hub_for(settings) as hub, principal_context(hub, token) as ctx:
            result = await use_case(ctx)
            await ctx.commit()  # a read's access entries
            return result

    return asyncio.run(run())


def _line(view: grants.AuthorisationView) -> str:
    row = view.row
    state = f"withdrawn {row.withdrawn_at:%Y-%m-%d} ({row.withdraw_reason})" if row.withdrawn_at else "granted"
    return (
        f"{row.id:5} {view.department.code:6} {view.clerk.name} (principal {view.clerk.id}) "
        f"{','.join(view.item_codes)} {row.valid_from}..{row.valid_until} by {view.granted_by.name}; {state}"
    )


def cmd_grant(args: argparse.Namespace, settings: Settings) -> None:
    view = _as_principal(
        args,
        settings,
        lambda ctx: grants.authorise(ctx, args.clerk, args.item, args.until, valid_from=args.valid_from),
    )
    print(_line(view))


def cmd_withdraw(args: argparse.Namespace, settings: Settings) -> None:
    print(_line(_as_principal(args, settings, lambda ctx: grants.withdraw(ctx, args.id, args.reason))))


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    views = _as_principal(
        args, settings, lambda ctx: grants.authorisations(ctx, department_code=args.department, clerk_id=args.clerk)
    )
    if not views:
        print("no authorisations")
    for view in views:
        print(_line(view))


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    authorise = commands.add_parser(
        "authorise", help="chief representatives (首席代表): grant, withdraw and list authorisations"
    ).add_subparsers(dest="authorise_command", required=True)
    grant = authorise.add_parser("grant", help="authorise a clerk of the department to decide items until a date")
    grant.add_argument("--clerk", type=int, required=True, help="the clerk's principal id")
    grant.add_argument("--item", action="append", required=True, help="a service item code (repeatable)")
    grant.add_argument("--until", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD")
    grant.add_argument("--from", dest="valid_from", type=date.fromisoformat, help="first day (default: today)")
    grant.set_defaults(handler=cmd_grant)
    withdraw = authorise.add_parser("withdraw", help="withdraw an authorisation, saying why")
    withdraw.add_argument("id", type=int)
    withdraw.add_argument("--reason", required=True)
    withdraw.set_defaults(handler=cmd_withdraw)
    listing = authorise.add_parser("list", help="a department's or a clerk's authorisations, newest first")
    listing.add_argument("--department", help="department code")
    listing.add_argument("--clerk", type=int, help="the clerk's principal id")
    listing.set_defaults(handler=cmd_list)
    for parser in (grant, withdraw, listing):
        parser.add_argument(
            "--token-file", help=f"a file holding the acting principal's token (default: ${AUTHORISER_TOKEN_VARIABLE})"
        )
