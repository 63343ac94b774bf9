"""An operator sets the hub up from a terminal: migrate, load, create and revoke principals.

Each test runs the real `hub` entry point (hub.cli.main) against the test database (the
`hub_command` fixture, tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import socket
import stat

from hub.demo.load import CATALOG_FILE as DEMO_CATALOG
from hub.demo.load import DEMO_PRINCIPALS
from hub.settings import get_settings
from storage.migrate import latest_revisions, upgrade

VIEWER = "{ viewer { name role departmentCode } }"


async def test_db_upgrade_is_idempotent(hub_command) -> None:
    status, out, _ = await hub_command("db", "upgrade")
    assert status == 0 and "already at the latest schema" in out and "nothing to do" in out


async def test_db_upgrade_says_what_it_did(hub_command, monkeypatch, tmp_path) -> None:
    latest = ", ".join(latest_revisions())
    empty = f"sqlite+aiosqlite:///{tmp_path}/fresh/hub.db"
    monkeypatch.setenv("HUB_DATABASE_URL", empty)
    get_settings.cache_clear()
    status, out, _ = await hub_command("db", "upgrade")
    assert status == 0 and out.startswith(f"created the schema at {latest} (the latest) in the empty database")

    older = f"sqlite+aiosqlite:///{tmp_path}/older.db"
    await asyncio.to_thread(upgrade, older, "0005_merge")
    monkeypatch.setenv("HUB_DATABASE_URL", older)
    get_settings.cache_clear()
    status, out, _ = await hub_command("db", "upgrade")
    assert status == 0 and f"from 0005_merge to {latest}, the latest schema" in out
    status, out, _ = await hub_command("db", "upgrade")
    assert status == 0 and "already at the latest schema" in out


async def test_serve_on_a_busy_port_says_so_in_one_line_and_prints_no_url(hub_command) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        status, out, err = await hub_command("serve", "--port", str(port), "--print-demo-tokens")
    assert status == 1 and out == ""
    assert err.splitlines() == [
        f"error: cannot serve on 127.0.0.1:{port}: the port is already in use; stop the other server or pick --port"
    ]


async def test_demo_tokens_stay_the_same_across_restarts(hub_command, client, monkeypatch, tmp_path) -> None:
    import uvicorn

    kept = tmp_path / "var" / "demo-tokens.json"
    monkeypatch.setenv("HUB_DEMO_TOKENS_FILE", str(kept))
    get_settings.cache_clear()
    served: list[int] = []
    # The server itself is not started: the command's work before it is what is tested.
    monkeypatch.setattr(uvicorn, "run", lambda *_, **options: served.append(options["port"]))
    await hub_command("demo", "--applicants", "3", "--cases", "0")

    def tokens(out: str) -> dict[str, str]:
        rows = [
            line.split() for line in out.splitlines() if line.startswith("  ") and line.split()[-1].startswith("hub_")
        ]
        return {f"{row[0]} {row[1]} {row[2]}": row[-1] for row in rows}

    status, first, _ = await hub_command("serve", "--port", "0", "--print-demo-tokens")
    assert status == 0 and "GraphiQL: http://127.0.0.1:" in first and served
    assert len(tokens(first)) == len(DEMO_PRINCIPALS)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    _, again, _ = await hub_command("serve", "--port", "0", "--print-demo-tokens")
    assert tokens(again) == tokens(first)
    clerk = next(token for who, token in tokens(first).items() if who.startswith("clerk xzfw"))
    assert (await client.execute(VIEWER, token=clerk))["viewer"]["name"] == "王芳（综合窗口）"

    _, rotated, _ = await hub_command("serve", "--port", "0", "--rotate-demo-tokens")
    assert set(tokens(rotated).values()).isdisjoint(tokens(first).values())
    assert (await client.post(VIEWER, token=clerk)).status_code == 401
    _, after, _ = await hub_command("serve", "--port", "0", "--print-demo-tokens")
    assert tokens(after) == tokens(rotated)


async def test_an_operator_creates_lists_and_revokes_a_principal(hub_command, client) -> None:
    status, out, _ = await hub_command(
        "principal", "create", "--name", "税务征管系统", "--role", "department_system", "--department", "sw"
    )
    assert status == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("hub_") and len(token) > 40
    viewer = (await client.execute(VIEWER, token=token))["viewer"]
    assert viewer == {"name": "税务征管系统", "role": "department_system", "departmentCode": "sw"}

    status, listing, _ = await hub_command("principal", "list")
    assert "税务征管系统" in listing and "active" in listing
    assert token not in listing and token[:10] in listing  # only the prefix is ever shown again
    principal_id = listing.split()[0]

    status, out, _ = await hub_command("principal", "revoke", principal_id)
    assert status == 0 and "revoked" in out
    assert (await client.post(VIEWER, token=token)).status_code == 401
    status, _, err = await hub_command("principal", "revoke", principal_id)
    assert status == 2 and "[NOT_FOUND]" in err
    assert "revoked" in (await hub_command("principal", "list"))[1]


async def test_rotating_a_token_prints_a_new_one_and_kills_the_old(hub_command, client) -> None:
    _, out, _ = await hub_command("principal", "create", "--name", "王窗口", "--role", "clerk", "--department", "xzfw")
    old = out.strip().splitlines()[-1]
    principal_id = out.split()[1]
    status, out, _ = await hub_command("principal", "rotate", principal_id)
    new = out.strip().splitlines()[-1]
    assert status == 0 and new.startswith("hub_") and new != old
    assert (await client.post(VIEWER, token=old)).status_code == 401
    assert (await client.execute(VIEWER, token=new))["viewer"]["name"] == "王窗口"


async def test_principal_creation_refuses_bad_departments(hub_command) -> None:
    status, _, err = await hub_command(
        "principal", "create", "--name", "x", "--role", "clerk", "--department", "nowhere"
    )
    assert status == 2 and "[NOT_FOUND]" in err
    status, _, err = await hub_command(
        "principal", "create", "--name", "审计", "--role", "auditor", "--department", "sw"
    )
    assert status == 2 and "[BAD_USER_INPUT]" in err and "supervision" in err


async def test_catalog_load_reports_a_version_or_a_typed_refusal(hub_command, tmp_path) -> None:
    status, out, _ = await hub_command("catalog", "load", str(DEMO_CATALOG))
    assert status == 0 and out.startswith("catalogue version ") and "41 service items" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "service_items:\n  - {code: X, name: Y, lead_department: nowhere, statutory_days: 5, promised_days: 9}\n"
    )
    status, _, err = await hub_command("catalog", "load", str(bad))
    assert status == 2 and "[INVALID_CATALOG]" in err


async def test_demo_loads_once_then_skips_or_refuses(hub_command, client) -> None:
    status, out, _ = await hub_command("demo", "--applicants", "25", "--seed", "7")
    assert status == 0 and "25 applicants" in out and f"{len(DEMO_PRINCIPALS)} principals" in out
    assert "demo chief representative: 公安局窗口, authorised for GA-001, GA-003" in out
    status, out, _ = await hub_command("demo", "--if-empty")
    assert status == 0 and "nothing loaded" in out
    status, _, err = await hub_command("demo")
    assert status == 2 and "[CONFLICT]" in err


async def test_schema_export_check_passes_on_a_fresh_export(hub_command, tmp_path) -> None:
    target = tmp_path / "schema.graphql"
    assert (await hub_command("schema", "export", "--output", str(target)))[0] == 0
    assert (await hub_command("schema", "export", "--output", str(target), "--check"))[0] == 0
    target.write_text("type Query { stale: Int }\n")
    assert (await hub_command("schema", "export", "--output", str(target), "--check"))[0] == 1
