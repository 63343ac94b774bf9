"""The demo principals' tokens, kept across restarts in a file only the operator can read.

Tokens are stored in the database only as hashes, so printing them means either rotating them or
keeping the plain tokens somewhere. Rotating on every `hub serve --print-demo-tokens` broke every
GraphiQL tab and script a newcomer had open; so the demo keeps them in `HUB_DEMO_TOKENS_FILE`
(mode 600, like the key files) and prints the kept ones while they still authenticate. A token
revoked or rotated meanwhile (`hub principal rotate`) is replaced, and `--rotate-demo-tokens`
replaces them all. Demo only: in production tokens are shown once and never written down.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.auth import Role, hash_token
from hub.access.principals import IssuedToken, list_principals, rotate_principal
from hub.demo.load import DEMO_PRINCIPALS
from hub.errors import Forbidden
from hub.settings import Environment, Settings
from storage.repositories import principals as principals_repo


async def demo_tokens(session: AsyncSession, settings: Settings, *, rotate: bool = False) -> list[IssuedToken]:
    """A working token for each active demo principal: the kept one, or a fresh one (caller commits).

    The file is rewritten with what is returned; write it only once the caller has committed
    (`write_kept_tokens`), so it never holds tokens a rolled-back rotation took away.
    """
    if settings.environment not in (Environment.DEMO, Environment.BENCHMARK):
        raise Forbidden("demo tokens are printed only when HUB_ENVIRONMENT is demo or benchmark", missing="environment")
    kept = {} if rotate else read_kept_tokens(settings.demo_tokens_file)
    wanted = {(p.name, p.role.value, p.department_code) for p in DEMO_PRINCIPALS}
    tokens = []
    for principal in await list_principals(session):
        if (
            principal.revoked_at is not None
            or (principal.name, principal.role, principal.department_code) not in wanted
        ):
            continue
        token = kept.get(str(principal.id))
        holder = await principals_repo.principal_by_token_hash(session, hash_token(token)) if token else None
        if token and holder is not None and holder.id == principal.id:
            tokens.append(
                IssuedToken(principal.id, principal.name, Role(principal.role), principal.department_code, token)
            )
        else:
            tokens.append(await rotate_principal(session, principal.id))
    return tokens


def read_kept_tokens(path: Path) -> dict[str, str]:
    """Principal id (as text) to token; nothing if the file is missing or unreadable."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in kept.items() if isinstance(v, str)} if isinstance(kept, dict) else {}


def write_kept_tokens(path: Path, tokens: list[IssuedToken]) -> None:
    """Replace the file atomically, readable and writable by its owner only (mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # the mode of an existing partial file is not reset by open
        json.dump({str(t.principal_id): t.token for t in tokens}, file, indent=2)
    os.replace(partial, path)
