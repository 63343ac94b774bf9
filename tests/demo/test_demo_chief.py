"""The demo has a chief representative: 公安局's window clerk, authorised for two everyday items."""

from __future__ import annotations

from hub.demo.chiefs import CHIEF_ITEMS, authorise_demo_chief
from hub.demo.load import load_demo
from hub.demo.tokens import demo_tokens

LIST = "{ authorisations { clerk { name } items grantedBy inForce } }"


async def test_the_demo_chief_representative_is_authorised_for_everyday_items(hub, client) -> None:
    async with hub.sessions() as session:
        await load_demo(session, applicants=2, seed=5, if_empty=False)
        await session.commit()
    chief = await authorise_demo_chief(hub)
    assert chief.items == CHIEF_ITEMS and "GA-001" in str(chief)
    async with hub.sessions() as session:
        tokens = {
            (i.role.value, i.department_code): i.token for i in await demo_tokens(session, hub.settings, rotate=True)
        }
        await session.commit()
    listed = (await client.execute(LIST, token=tokens["clerk", "ga"]))["authorisations"]
    assert listed == [
        {
            "clerk": {"name": "公安局窗口"},
            "items": ["GA-001", "GA-003"],
            "grantedBy": "人口信息管理系统",
            "inForce": True,
        }
    ]
