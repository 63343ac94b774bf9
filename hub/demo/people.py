"""Generated demo applicants: people and enterprises with valid identifiers and plausible profiles.

Everything is drawn from one seeded `random.Random`, so a seed always yields the same applicants.
Resident IDs follow GB 11643 (region code valid in the birth year, birth date, order code odd for
men and even for women, check digit from python-stdnum); credit codes follow GB 32100 with an
embedded GB 11714 organisation code.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from stdnum.cn import ric, uscc

from hub.identifiers import ApplicantKind

# Places the reform reports come from (Dazhou, Yumen, Jingmen, Chongqing), with the codes in use
# before and after their re-organisations: a resident ID carries the code valid in its birth year.
REGION_CODES = (
    "513021",
    "513022",
    "513023",
    "513029",
    "513001",  # 达县地区 (until 1999)
    "511702",
    "511721",
    "511722",
    "511723",
    "511724",
    "511725",
    "511781",  # 达州市 (from 1999)
    "622101",
    "620981",  # 玉门市 (before and from 2002)
    "420802",
    "420822",
    "420881",  # 荆门市
    "500101",
    "500103",
    "500106",
    "500108",
    "500112",  # 重庆市
    "510121",
    "510321",  # 金堂县, 荣县: codes unchanged since 1980
)
ENTERPRISE_REGIONS = {"511702": "达州", "620981": "玉门", "420802": "荆门", "500103": "重庆"}

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
)
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文成东海亮"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀英玲桂兰萍红梅琳燕婷雪倩颖慧莉琴云洁晶佳悦怡欣思雨月"
STREETS = ("朝阳路", "通川中路", "西外大街", "凤凰大道", "南外镇", "翠屏路", "解放路", "人民路", "建设路", "滨河路")
INDUSTRIES = (
    ("建筑工程", "房屋建筑工程施工；市政公用工程施工"),
    ("房地产开发", "房地产开发经营；物业管理"),
    ("商贸", "日用百货、五金交电销售"),
    ("农业科技", "农作物种植；农业技术推广服务"),
    ("物流", "普通货物道路运输；仓储服务"),
    ("餐饮管理", "餐饮服务；食品销售"),
    ("信息技术", "软件开发；信息系统集成服务"),
    ("建材", "水泥制品制造；建筑材料销售"),
    ("食品", "食品生产；农副产品加工"),
    ("医药", "药品零售；医疗器械经营"),
)
TRADE_NAMES = [
    "川东",
    "巴山",
    "明月",
    "华蓥",
    "通达",
    "鑫源",
    "宏远",
    "恒信",
    "金桥",
    "凤凰",
    "嘉陵",
    "祥和",
    "瑞丰",
    "天府",
    "长城",
    "荆楚",
    "玉泉",
    "渝州",
    "汇通",
    "兴业",
]
ENTERPRISE_TYPES = (
    "有限责任公司（自然人投资或控股）",
    "有限责任公司（国有独资）",
    "股份有限公司（非上市）",
    "个人独资企业",
)
EMPLOYERS = (
    "达州市第一人民医院",
    "四川达钢集团有限公司",
    "玉门油田分公司",
    "荆门市中心医院",
    "重庆市渝中区人民政府",
    "通川区实验小学",
)

# Which department supplies which field, and whether it verified the value against an original.
PERSON_SOURCES = {"name": "ga", "gender": "ga", "birth_date": "ga", "address": "ga", "employer": "rsj"}
ENTERPRISE_SOURCES = {
    "name": "scjg",
    "legal_representative": "scjg",
    "registered_capital": "scjg",
    "business_scope": "scjg",
    "established_on": "scjg",
    "enterprise_type": "scjg",
    "address": "scjg",
}
HISTORY_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoValue:
    field: str
    value: str
    department_code: str
    recorded_at: datetime
    verified: bool
    is_current: bool


@dataclass(frozen=True, slots=True)
class DemoApplicant:
    kind: ApplicantKind
    id_number: str
    name: str
    created_by: str
    created_at: datetime
    values: tuple[DemoValue, ...]


@dataclass(frozen=True, slots=True)
class _Draft:
    field: str
    value: str
    department_code: str
    verified: bool


def generate_applicants(count: int, seed: int) -> list[DemoApplicant]:
    """`count` applicants, about four in five people and one in five enterprises."""
    rng = random.Random(seed)
    taken: set[str] = set()
    return [
        (_enterprise if n % 5 == 4 else _person)(rng, taken, HISTORY_START + timedelta(hours=7 * n))
        for n in range(count)
    ]


def person_name(rng: random.Random, male: bool) -> str:
    given = MALE_GIVEN if male else FEMALE_GIVEN
    return rng.choice(SURNAMES) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2, 2))))


def resident_id(rng: random.Random, birth: date, male: bool) -> str:
    """A GB 11643 number for someone born on `birth`, registered in a region valid that year."""
    for region in rng.sample(REGION_CODES, len(REGION_CODES)):
        order = rng.randrange(1, 999, 2) if male else rng.randrange(0, 998, 2)
        body = f"{region}{birth:%Y%m%d}{order:03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number
    raise AssertionError(f"no demo region code is valid for {birth.year}")  # 510121 always is


def organisation_code(rng: random.Random) -> str:
    """A GB 11714 organisation code: eight digits and a weighted mod-11 check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(remainder, str(remainder))


def credit_code(rng: random.Random, region: str) -> str:
    """A GB 32100 code: registered by market regulation (9), an enterprise (1), region, org code."""
    body = "91" + region + organisation_code(rng)
    return body + uscc.calc_check_digit(body)


def _unique(make: Callable[[], str], taken: set[str]) -> str:
    while (number := make()) in taken:
        pass
    taken.add(number)
    return number


def _person(rng: random.Random, taken: set[str], created_at: datetime) -> DemoApplicant:
    male = rng.random() < 0.5
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    number = _unique(lambda: resident_id(rng, birth, male), taken)
    name = person_name(rng, male)
    drafts = [
        _Draft("name", name, "ga", True),
        _Draft("gender", "男" if male else "女", "ga", True),
        _Draft("birth_date", birth.isoformat(), "ga", True),
        _Draft("phone", _mobile(rng), "xzfw", False),
        _Draft("address", _address(rng), "ga", True),
    ]
    if rng.random() < 0.3:
        # The applicant gave a newer number at the social insurance window, which checked it.
        drafts.append(_Draft("phone", _mobile(rng), "rsj", True))
    if rng.random() < 0.2:
        # A real estate clerk typed another address: kept in history, the verified one stays current.
        drafts.append(_Draft("address", _address(rng), "bdc", False))
    if birth.year >= 1966 and rng.random() < 0.6:
        drafts.append(_Draft("employer", rng.choice(EMPLOYERS), "rsj", True))
    if rng.random() < 0.2:
        drafts.append(_Draft("email", f"{number[-6:]}@{rng.choice(('qq.com', '163.com', '126.com'))}", "xzfw", False))
    return DemoApplicant(
        ApplicantKind.PERSON, number, name, "xzfw", created_at, _with_provenance(rng, drafts, created_at)
    )


def _enterprise(rng: random.Random, taken: set[str], created_at: datetime) -> DemoApplicant:
    region, city = rng.choice(sorted(ENTERPRISE_REGIONS.items()))
    number = _unique(lambda: credit_code(rng, region), taken)
    industry, scope = rng.choice(INDUSTRIES)
    name = f"{city}市{rng.choice(TRADE_NAMES)}{industry}有限公司"
    established = date(1995, 1, 1) + timedelta(days=rng.randrange(0, 365 * 30))
    drafts = [
        _Draft("name", name, "scjg", True),
        _Draft("legal_representative", person_name(rng, rng.random() < 0.7), "scjg", True),
        _Draft("registered_capital", f"{rng.choice((50, 100, 200, 500, 1000, 3000, 5000))}万元人民币", "scjg", True),
        _Draft("business_scope", scope, "scjg", True),
        _Draft("established_on", established.isoformat(), "scjg", True),
        _Draft("enterprise_type", rng.choice(ENTERPRISE_TYPES), "scjg", True),
        _Draft("address", f"{city}市{_address(rng)}", "scjg", True),
        _Draft("phone", _mobile(rng), "sw", False),
    ]
    if rng.random() < 0.25:
        # The tax bureau recorded a new legal representative it has not verified: history only.
        drafts.append(_Draft("legal_representative", person_name(rng, True), "sw", False))
    return DemoApplicant(
        ApplicantKind.ENTERPRISE, number, name, "scjg", created_at, _with_provenance(rng, drafts, created_at)
    )


def _with_provenance(rng: random.Random, drafts: Sequence[_Draft], start: datetime) -> tuple[DemoValue, ...]:
    """Timestamp the values in order and mark each field's current one, as hub.profiles.applicants does."""
    when = start
    stamped: list[tuple[_Draft, datetime]] = []
    for draft in drafts:
        stamped.append((draft, when))
        when += timedelta(days=rng.randrange(0, 40), minutes=rng.randrange(1, 600))
    current = _current_index_by_field([draft for draft, _ in stamped])
    return tuple(
        DemoValue(d.field, d.value, d.department_code, at, d.verified, current[d.field] == index)
        for index, (d, at) in enumerate(stamped)
    )


def _current_index_by_field(drafts: Sequence[_Draft]) -> dict[str, int]:
    """Per field: the latest verified value, or the latest value while none is verified."""
    chosen: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        previous = chosen.get(draft.field)
        if previous is None or draft.verified or not drafts[previous].verified:
            chosen[draft.field] = index
    return chosen


def _mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "158", "177", "181", "189")) + f"{rng.randrange(10**8):08d}"


def _address(rng: random.Random) -> str:
    return f"{rng.choice(STREETS)}{rng.randrange(1, 300)}号{rng.randrange(1, 20)}栋{rng.randrange(1, 30):02d}0{rng.randrange(1, 5)}室"
