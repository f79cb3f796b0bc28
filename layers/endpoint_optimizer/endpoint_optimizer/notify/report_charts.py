"""The report's pictures: the savings-by-action chart, the hourly traffic strip and the utilisation bars.

Inline SVG and HTML fragments only (no scripts, fonts or images); every string from the plan or the scan is
escaped. The page around them is endpoint_optimizer/notify/report.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from endpoint_optimizer.decide.signals import SIGNAL_FIELDS, reading
from endpoint_optimizer.models import Action, Finding, ScanSnapshot, Variant, VariantMetrics

HOURS_PER_DAY = 24

# Colours per action: the same hue in the chart, the badges and the strip legend.
ACTION_COLOURS: dict[Action, str] = {
    Action.PARK: "#2e7d32",
    Action.SCALE_TO_ZERO: "#00897b",
    Action.MIGRATE_SERVERLESS: "#1565c0",
    Action.RIGHTSIZE: "#6a1b9a",
    Action.MIGRATE_GRAVITON: "#e65100",
    Action.SCHEDULE: "#5d4037",
    Action.CONSOLIDATE: "#ad1457",
    Action.NONE: "#757575",
}

# The strip: one cell per hour, a small gap between days.
CELL_W = 2.5
CELL_H = 22
DAY_GAP = 3.0
STRIP_LABEL_H = 12


def savings_chart(findings: list[Finding]) -> str:
    """One horizontal bar per action: proposed savings solid, blocked savings pale, counts beside."""

    @dataclass
    class Row:
        proposed: float = 0.0
        blocked: float = 0.0
        count: int = 0
        unknown: int = 0

    rows: dict[Action, Row] = {}
    for finding in findings:
        if finding.action == Action.NONE:
            continue
        row = rows.setdefault(finding.action, Row())
        row.count += 1
        if finding.estimated_monthly_savings_usd is None:
            row.unknown += 1
        elif finding.blocked_by:
            row.blocked += finding.estimated_monthly_savings_usd
        else:
            row.proposed += finding.estimated_monthly_savings_usd
    if not rows:
        return '<p class="nodata">No action proposed: every endpoint is left as it is (see the reasons below).</p>'
    ordered = sorted(rows.items(), key=lambda item: -(item[1].proposed + item[1].blocked))
    largest = max(row.proposed + row.blocked for _, row in ordered) or 1.0
    label_w, bar_w, text_w, row_h = 150, 560, 300, 26
    height = row_h * len(ordered) + 4
    width = label_w + bar_w + text_w
    svg = [f'<svg width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="Savings by action">']
    for index, (action, row) in enumerate(ordered):
        y = index * row_h + 4
        colour = ACTION_COLOURS[action]
        solid = bar_w * row.proposed / largest
        pale = bar_w * row.blocked / largest
        detail = f"{usd(row.proposed)} · {row.count} endpoint(s)"
        if row.blocked:
            detail += f" · {usd(row.blocked)} blocked"
        if row.unknown:
            detail += f" · {row.unknown} unknown"
        svg.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="13" fill="#1f2933">'
            f"{escaped(action.value)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="18" fill="#e9edf2" rx="3"/>'
            f'<rect x="{label_w}" y="{y}" width="{solid:.1f}" height="18" fill="{colour}" rx="3"/>'
            f'<rect x="{label_w + solid:.1f}" y="{y}" width="{pale:.1f}" height="18" fill="{colour}" '
            f'fill-opacity="0.3" rx="3"/>'
            f'<text x="{label_w + bar_w + 10}" y="{y + 14}" font-size="12" fill="#616e7c">{escaped(detail)}</text>'
        )
    svg.append("</svg>")
    return "".join(svg)


def variant_scope(metrics: list[VariantMetrics]) -> list[VariantMetrics]:
    """Variant metrics; inference-component metrics only when there are none (they would double count)."""
    variants = [item for item in metrics if item.scope == "variant"]
    return variants or list(metrics)


def hourly_traffic(metrics: Iterable[VariantMetrics], window_hours: int) -> list[float]:
    """Invocations per hour of the window, summed across variants (hours outside the window dropped)."""
    hours = [0.0] * window_hours
    for item in metrics:
        for hour, value in item.invocations_by_hour:
            if 0 <= hour < window_hours:
                hours[hour] += value
    return hours


def traffic_strip(metrics: list[VariantMetrics], snapshot: ScanSnapshot, lookback_days: int) -> str:
    window_hours = max((item.window_hours for item in metrics), default=lookback_days * HOURS_PER_DAY)
    window_hours = max(window_hours, HOURS_PER_DAY)
    start = next((item.window_start for item in metrics if item.window_start is not None), None)
    if start is None:
        start = snapshot.scanned_at - timedelta(hours=window_hours)
    hours = hourly_traffic(metrics, window_hours)
    peak = max(hours, default=0.0)
    busy = sum(1 for value in hours if value > 0)
    days = math.ceil(window_hours / HOURS_PER_DAY)
    width = window_hours * CELL_W + (days - 1) * DAY_GAP
    height = CELL_H + STRIP_LABEL_H
    svg = [
        f'<svg class="traffic" width="100%" '
        f'viewBox="0 0 {width:.1f} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="hourly invocations over {days} days">'
    ]
    for day in range(days):
        x = day * (HOURS_PER_DAY * CELL_W + DAY_GAP)
        cells = min(HOURS_PER_DAY, window_hours - day * HOURS_PER_DAY)
        svg.append(f'<rect x="{x:.1f}" y="0" width="{cells * CELL_W:.1f}" height="{CELL_H}" fill="#e9edf2"/>')
        if day % 2 == 0 or days <= 8:
            label = (start + timedelta(days=day)).strftime("%d %b")
            svg.append(
                f'<text x="{x:.1f}" y="{height - 1}" font-size="9" fill="#616e7c">{escaped(label)}</text>'
            )
    for hour, value in enumerate(hours):
        if value <= 0:
            continue
        day, in_day = divmod(hour, HOURS_PER_DAY)
        x = day * (HOURS_PER_DAY * CELL_W + DAY_GAP) + in_day * CELL_W
        moment = (start + timedelta(hours=hour)).strftime("%a %d %b %H:00 UTC")
        svg.append(
            f'<rect class="h" x="{x:.1f}" y="0" width="{CELL_W}" height="{CELL_H}" '
            f'fill="{_shade(value, peak)}"><title>{escaped(moment)}: {value:,.0f} invocations</title></rect>'
        )
    svg.append("</svg>")
    total = sum(hours)
    summary = (
        f"{total:,.0f} invocations; traffic in {busy} of {window_hours} hours; busiest hour {peak:,.0f}"
        if busy
        else f"no invocations in {window_hours} hours"
    )
    if not metrics:
        summary = "no metrics in the scan for this endpoint"
    return (
        f'<div class="strip"><div class="label">Traffic, hourly: {escaped(summary)}</div>{"".join(svg)}</div>'
    )


def _shade(value: float, peak: float) -> str:
    """Light to dark blue by the square root of the share of the busiest hour: a daily rhythm shows, and
    an hour with a single invocation is still visible next to a busy one."""
    level = math.sqrt(value / peak) if peak > 0 else 1.0
    light, dark = (198, 219, 239), (8, 48, 107)
    rgb = (round(a + (b - a) * (0.2 + 0.8 * level)) for a, b in zip(light, dark, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def utilisation(metrics: list[VariantMetrics], variants: Iterable[Variant] = ()) -> str:
    """One bar per reading, scaled to the instance: CloudWatch sums CPU over the vCPUs and GPU over the
    GPUs, so a bar shows the share of the instance (published / units) and the label the published sum."""
    if not metrics:
        return '<p class="nodata">no utilisation metrics</p>'
    by_name = {variant.name: variant for variant in variants}
    rows: list[str] = []
    for item in metrics:
        name = item.variant_name if len(metrics) > 1 else ""
        readings = (item.cpu_max_percent, item.cpu_avg_percent, item.memory_max_percent, item.gpu_max_percent)
        if all(reading is None for reading in readings):
            rows.append(_bar_row(f"{name} utilisation".strip(), item, None, "", ""))
            continue
        variant = by_name.get(item.variant_name)
        rows += [
            _bar_row(f"{name} CPU max".strip(), item, variant, "cpu", "#1565c0"),
            _bar_row(f"{name} CPU avg".strip(), item, variant, "cpu_avg", "#64b5f6"),
            _bar_row(f"{name} memory max".strip(), item, variant, "memory", "#6a1b9a"),
        ]
        if item.gpu_max_percent is not None or item.gpu_memory_max_percent is not None:
            rows.append(_bar_row(f"{name} GPU max".strip(), item, variant, "gpu", "#e65100"))
        if item.gpu_memory_max_percent is not None:
            rows.append(_bar_row(f"{name} GPU memory max".strip(), item, variant, "gpu_memory", "#ef6c00"))
    return "<table>" + "".join(rows) + "</table>"


def _bar_row(label: str, item: VariantMetrics, variant: Variant | None, signal: str, colour: str) -> str:
    published = getattr(item, SIGNAL_FIELDS[signal]) if signal else None
    if published is None:
        return f'<tr><td class="name">{escaped(label)}</td><td class="nodata" colspan="2">no data</td></tr>'
    found = reading(item, variant, signal) if variant is not None else None
    if found is None:
        # A sum over an unknown number of vCPUs/GPUs has no scale: the number, no bar.
        return (
            f'<tr><td class="name">{escaped(label)} <span class="nodata">(summed; instance size unknown)</span></td>'
            f'<td class="meter"><div class="bar"></div></td>'
            f'<td class="val">{published:,.0f} %</td></tr>'
        )
    width = max(0.0, min(found.share, 100.0))
    detail = f" ({found.published:,.0f} % of {found.scale:,.0f} %)" if found.summed else ""
    return (
        f'<tr><td class="name">{escaped(label)}{escaped(detail)}</td>'
        f'<td class="meter"><div class="bar"><span style="width:{width:.0f}%;background:{colour}"></span></div></td>'
        f'<td class="val">{found.share:,.0f} %</td></tr>'
    )


# ------------------------------------------------------------------------------------------------ helpers


def usd(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:,.2f}"


def escaped(text: object) -> str:
    return escape(str(text), quote=True)
