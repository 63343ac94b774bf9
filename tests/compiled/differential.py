"""What the differential tests (the clerk's applicant, the one-time notice) share: who sends each
request, how it is sent, and the access entries it left, to compare the two paths by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hub.compiled import registry
from hub.metrics import COMPILED_READS
from storage.models import AccessEntry


@dataclass
class Principal:
    name: str
    token: str
    purpose: str | None = None


async def log_position(hub: Any) -> int:
    async with hub.sessions() as session:
        return int((await session.execute(select(func.coalesce(func.max(AccessEntry.id), 0)))).scalar_one())


async def entries_since(hub: Any, position: int) -> list[tuple[Any, ...]]:
    """The entries written after `position`, as what the two paths must agree on (not ids or times)."""
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry).where(AccessEntry.id > position))
        return sorted(
            (
                e.principal_id,
                e.department_code,
                e.role,
                e.action,
                e.outcome,
                e.applicant_ref,
                e.object_ref,
                e.fields,
                e.material_types,
                e.purpose,
                e.reason,
                e.client_address,
            )
            for e in rows.scalars()
        )


async def send(client: Any, body: dict[str, Any], principal: Principal) -> Any:
    headers = {"Authorization": f"Bearer {principal.token}"}
    if principal.purpose is not None:
        headers["X-Hub-Purpose"] = principal.purpose
    return await client.http.post("/graphql", json=body, headers=headers)


def compiled_count() -> float:
    """Requests the compiled path has answered in this process so far."""
    return COMPILED_READS.labels(path="compiled")._value.get()


async def register_documents(hub: Any, documents: dict[str, str]) -> dict[str, Any]:
    """Each document registered as a trusted document, by name: what the registry made of it."""
    registered = {}
    async with hub.sessions() as session:
        for name, document in documents.items():
            registered[name] = (await registry.register(session, document, "test"))[0]
        await session.commit()
    return registered
