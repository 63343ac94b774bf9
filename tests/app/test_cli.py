"""An operator sets the hub up from a terminal: migrate, load, create and revoke principals.

Each test runs the real `hub` entry point (hub.cli.main) against the test database (the
`hub_command` fixture, tests/conftest.py).
"""

from __future__ import annotations

from hub.demo.load import CATALOG_FILE as DEMO_CATALOG

VIEWER = "{ viewer { name role departmentCode } }"


async def test_db_upgrade_is_idempotent(hub_command) -> None:
    status, out, _ = await hub_command("db", "upgrade")
    assert status == 0 and "latest schema" in out


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
    assert status == 0 and "25 applicants" in out and "17 principals" in out
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
