"""The month's supervision report: a CSV of departments and one HTML page with inline SVG charts.

The report holds figures per department and names no applicant. The charts are drawn here as SVG
(bars of on-time rate and of compression ratio), so the page needs no script and no network.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from html import escape

from hub.supervision.performance import Month, RankedDepartment

COLUMNS = (
    "rank",
    "department",
    "name",
    "handled",
    "on_time",
    "on_time_rate",
    "average_working_days",
    "average_promised_days",
    "average_statutory_days",
    "compression_ratio",
    "deemed_approvals",
    "yellow_warnings",
    "red_cases",
    "card",
)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def csv_report(ranked: Sequence[RankedDepartment]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for place in ranked:
        m = place.month
        writer.writerow(
            [
                place.rank,
                m.department.code,
                m.department.name,
                m.handled,
                m.on_time,
                _number(m.on_time_rate),
                _number(m.average_working_days),
                _number(m.average_promised_days),
                _number(m.average_statutory_days),
                _number(m.compression_ratio),
                m.deemed_approvals,
                m.yellow_warnings,
                m.red_cases,
                m.card or "",
            ]
        )
    return out.getvalue()


def bar_chart(title: str, rows: Sequence[tuple[str, float | None]], *, width: int = 560) -> str:
    """A horizontal bar chart of values between 0 and 1 (values outside are clipped), as SVG."""
    bar_height, gap, label_width = 22, 8, 160
    height = 30 + len(rows) * (bar_height + gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="0" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    span = width - label_width - 60
    for n, (label, value) in enumerate(rows):
        y = 30 + n * (bar_height + gap)
        shown = 0.0 if value is None else max(0.0, min(1.0, value))
        text = "—" if value is None else f"{value:.0%}"
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{escape(label)}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{shown * span:.1f}" height="{bar_height}" fill="#1d70b8"/>'
        )
        parts.append(f'<text x="{label_width + shown * span + 6:.1f}" y="{y + 16}" font-size="12">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(month: Month, ranked: Sequence[RankedDepartment]) -> str:
    def chart(title: str, value: Callable[[RankedDepartment], float | None]) -> str:
        return bar_chart(title, [(f"{r.month.department.name}", value(r)) for r in ranked])

    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(cell))}</td>"
            for cell in (
                r.rank,
                r.month.department.name,
                r.month.handled,
                _number(r.month.on_time_rate),
                _number(r.month.average_working_days),
                _number(r.month.compression_ratio),
                r.month.deemed_approvals,
                r.month.red_cases,
                {"yellow": "黄牌", "red": "红牌"}.get(r.month.card or "", ""),
            )
        )
        + "</tr>"
        for r in ranked
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>电子监察月报 {month.label}</title></head><body>"
        f"<h1>电子监察月报 {month.label}</h1>"
        "<table><thead><tr><th>排名</th><th>部门</th><th>办件</th><th>按时率</th><th>平均用时(工作日)</th>"
        "<th>压缩率</th><th>超时默许</th><th>超期件</th><th>牌</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<h2>按时办结率</h2>{chart('On-time rate', lambda r: r.month.on_time_rate)}"
        f"<h2>时限压缩率</h2>{chart('Compression ratio', lambda r: r.month.compression_ratio)}"
        "</body></html>\n"
    )
