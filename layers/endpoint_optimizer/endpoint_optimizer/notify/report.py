"""The HTML report: one self-contained file a person would rather look at than read.

Totals, savings by action (an SVG bar chart), and per endpoint, largest saving first, the decision with its
reasons and blockers, a 14-day hourly traffic strip and the utilisation. Inline CSS and SVG only: no
scripts, no fonts, no images, no links, so it opens the same from a laptop, an email or an S3 bucket. Every
string from the plan or the scan is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from endpoint_optimizer.decide.signals import SIGNAL_FIELDS, reading
from endpoint_optimizer.models import (
    Action,
    Finding,
    Plan,
    ScannedEndpoint,
    ScanSnapshot,
    Variant,
    VariantMetrics,
)

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

STYLE = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff; --empty:#e9edf2; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.warn { background:#fff4e5; border:1px solid #f0c36d; border-radius:6px; padding:8px 12px; margin:0 0 16px; }
.tiles { display:grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.tile .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.tile .v { font-size:24px; font-weight:600; margin-top:2px; }
.tile .n { color:var(--muted); font-size:12px; }
.tile.save .v { color:#2e7d32; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px; }
.card { background:var(--card); border:1px solid var(--line); border-left:5px solid var(--accent);
        border-radius:8px; padding:12px 14px; margin:0 0 12px; }
.card header { display:flex; flex-wrap:wrap; align-items:baseline; gap:8px 12px; }
.card h3 { font-size:15px; margin:0; word-break:break-all; }
.badge { display:inline-block; border-radius:10px; padding:1px 9px; font-size:12px; color:#fff;
         background:var(--accent); }
.conf { font-size:12px; color:var(--muted); }
.money { margin-left:auto; text-align:right; white-space:nowrap; }
.money b { font-size:16px; }
.money .saves { color:#2e7d32; }
.money .unknown { color:var(--muted); }
.meta { color:var(--muted); font-size:12px; margin:2px 0 8px; word-break:break-all; }
.body { display:grid; grid-template-columns: minmax(0,1fr) 340px; gap: 8px 20px; }
ul { margin:0; padding-left:18px; }
.blockers { margin-top:6px; }
.blocker { display:inline-block; background:#fdecea; color:#b71c1c; border-radius:4px; padding:0 6px;
           margin:2px 4px 0 0; font-size:12px; }
.strip { margin-top:10px; }
.strip .label { color:var(--muted); font-size:12px; margin-bottom:2px; }
.util table { border-collapse:collapse; width:100%; font-size:12px; }
.util td { padding:2px 4px; vertical-align:middle; }
.util td.name { color:var(--muted); white-space:nowrap; }
.util td.val { text-align:right; white-space:nowrap; width:56px; }
.util td.meter { width:100%; }
.bar { background:var(--empty); border-radius:3px; height:8px; width:100%; overflow:hidden; }
.bar span { display:block; height:100%; border-radius:3px; }
.nodata { color:var(--muted); font-style:italic; }
footer { color:var(--muted); font-size:12px; margin-top:28px; }
@media (max-width: 760px) { .tiles { grid-template-columns: repeat(2, 1fr); }
  .body { grid-template-columns: 1fr; } }
"""


def render_report(plan: Plan, snapshot: ScanSnapshot) -> str:
    """The plan and the scan it came from, as one self-contained HTML document."""
    scanned = _index(snapshot.endpoints)
    findings = sorted(plan.findings, key=_by_savings)
    title = f"SageMaker endpoints in {snapshot.account_id} {plan.region}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">Plan generated {_e(_when(plan.generated_at))} from a scan at '
        f"{_e(_when(snapshot.scanned_at))}, {plan.lookback_days}-day look-back. "
        "Money is USD per month (730 hours).</p>",
    ]
    if not snapshot.complete or snapshot.unscanned:
        missing = ", ".join(f"{item.name} ({item.reason})" for item in snapshot.unscanned[:20])
        more = len(snapshot.unscanned) - 20
        parts.append(
            f'<p class="warn"><b>Incomplete scan:</b> {len(snapshot.unscanned)} endpoint(s) were not read'
            f"{': ' + _e(missing) if missing else ''}{f' and {more} more' if more > 0 else ''}.</p>"
        )
    parts.append(_totals(findings))
    parts.append('<h2>Savings by action</h2><div class="panel">' + _savings_chart(findings) + "</div>")
    parts.append(f"<h2>Endpoints ({len(findings)}), largest saving first</h2>")
    parts += [
        _card(finding, scanned.get(_key(finding)), snapshot, plan.lookback_days) for finding in findings
    ]
    parts.append(
        f"<footer>sagemaker-endpoint-optimizer, plan schema_version {plan.schema_version}. "
        "Traffic strips: one cell per hour (UTC), darker is more invocations (square-root scale), grey is none."
        "</footer></main></body></html>"
    )
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------------------------------ totals


def _totals(findings: list[Finding]) -> str:
    known_costs = [f.current_monthly_cost_usd for f in findings if f.current_monthly_cost_usd is not None]
    unknown_prices = sum(1 for f in findings if f.current_monthly_cost_usd is None)
    proposed = [f for f in findings if _proposed(f)]
    blocked = [f for f in findings if f.action != Action.NONE and f.blocked_by]
    saving = sum(f.estimated_monthly_savings_usd or 0.0 for f in proposed)
    unknown_savings = sum(1 for f in proposed if f.estimated_monthly_savings_usd is None)
    blocked_saving = sum(f.estimated_monthly_savings_usd or 0.0 for f in blocked)
    tiles = [
        ("Endpoints", str(len(findings)), f"{len(proposed)} with an action proposed", ""),
        (
            "Monthly cost",
            _usd(sum(known_costs)),
            f"+ {unknown_prices} endpoint(s) of unknown cost" if unknown_prices else "every price known",
            "",
        ),
        (
            "Savings proposed",
            _usd(saving),
            " · ".join(
                text
                for text in (
                    f"+ {unknown_savings} of unknown value" if unknown_savings else "",
                    _blocked_note(blocked, blocked_saving),
                )
                if text
            )
            or "per month, if every proposal is approved",
            "save",
        ),
        (
            "Unknown prices",
            str(unknown_prices),
            "endpoint(s) on an instance type without a price: cost not estimated"
            if unknown_prices
            else "none",
            "",
        ),
    ]
    cells = "".join(
        f'<div class="tile {kind}"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>'
        f'<div class="n">{_e(note)}</div></div>'
        for key, value, note, kind in tiles
    )
    return f'<section class="tiles">{cells}</section>'


def _blocked_note(blocked: list[Finding], saving: float) -> str:
    if not blocked:
        return ""
    worth = f" worth {_usd(saving)}" if saving > 0 else ""
    return f"{len(blocked)} more blocked{worth}"


def _savings_chart(findings: list[Finding]) -> str:
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
        detail = f"{_usd(row.proposed)} · {row.count} endpoint(s)"
        if row.blocked:
            detail += f" · {_usd(row.blocked)} blocked"
        if row.unknown:
            detail += f" · {row.unknown} unknown"
        svg.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="13" fill="#1f2933">'
            f"{_e(action.value)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="18" fill="#e9edf2" rx="3"/>'
            f'<rect x="{label_w}" y="{y}" width="{solid:.1f}" height="18" fill="{colour}" rx="3"/>'
            f'<rect x="{label_w + solid:.1f}" y="{y}" width="{pale:.1f}" height="18" fill="{colour}" '
            f'fill-opacity="0.3" rx="3"/>'
            f'<text x="{label_w + bar_w + 10}" y="{y + 14}" font-size="12" fill="#616e7c">{_e(detail)}</text>'
        )
    svg.append("</svg>")
    return "".join(svg)


# ------------------------------------------------------------------------------------------------ cards


def _card(
    finding: Finding, scanned: ScannedEndpoint | None, snapshot: ScanSnapshot, lookback_days: int
) -> str:
    colour = ACTION_COLOURS.get(finding.action, "#757575")
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in finding.reasons) or "<li>no reason given</li>"
    blockers = (
        '<div class="blockers">Blocked by: '
        + "".join(f'<span class="blocker">{_e(blocker)}</span>' for blocker in finding.blocked_by)
        + "</div>"
        if finding.blocked_by
        else ""
    )
    target = f" · target: {_e(finding.target)}" if finding.target else ""
    variants = ""
    if scanned is not None:
        variants = " · " + ", ".join(
            _e(
                f"{v.name}: serverless {v.serverless_memory_mb} MB"
                if v.is_serverless
                else f"{v.name}: {v.instance_count} x {v.instance_type}"
            )
            for v in scanned.endpoint.variants
        )
    metrics = _variant_scope(scanned.metrics) if scanned is not None else []
    return (
        f'<article class="card" style="--accent:{colour}">'
        "<header>"
        f"<h3>{_e(finding.endpoint_name)}</h3>"
        f'<span class="badge">{_e(finding.action.value)}</span>'
        f'<span class="conf">{_e(finding.confidence)} confidence</span>'
        f'<span class="money">{_money(finding)}</span>'
        "</header>"
        f'<div class="meta">{_e(finding.account_id)} / {_e(finding.region)}{target}{variants}</div>'
        '<div class="body">'
        f"<div><ul>{reasons}</ul>{blockers}</div>"
        f'<div class="util">{_utilisation(metrics, scanned.endpoint.variants if scanned else ())}</div>'
        "</div>"
        f"{_strip(metrics, snapshot, lookback_days)}"
        "</article>"
    )


def _money(finding: Finding) -> str:
    now = f"now <b>{_e(_usd(finding.current_monthly_cost_usd))}</b>"
    if finding.action == Action.NONE:
        return f"{now} · no change"
    savings = finding.estimated_monthly_savings_usd
    if savings is None:
        return f'{now} · saves <b class="unknown">unknown</b>'
    return f'{now} · saves <b class="saves">{_e(_usd(savings))}</b>'


def _variant_scope(metrics: list[VariantMetrics]) -> list[VariantMetrics]:
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


def _strip(metrics: list[VariantMetrics], snapshot: ScanSnapshot, lookback_days: int) -> str:
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
            svg.append(f'<text x="{x:.1f}" y="{height - 1}" font-size="9" fill="#616e7c">{_e(label)}</text>')
    for hour, value in enumerate(hours):
        if value <= 0:
            continue
        day, in_day = divmod(hour, HOURS_PER_DAY)
        x = day * (HOURS_PER_DAY * CELL_W + DAY_GAP) + in_day * CELL_W
        moment = (start + timedelta(hours=hour)).strftime("%a %d %b %H:00 UTC")
        svg.append(
            f'<rect class="h" x="{x:.1f}" y="0" width="{CELL_W}" height="{CELL_H}" '
            f'fill="{_shade(value, peak)}"><title>{_e(moment)}: {value:,.0f} invocations</title></rect>'
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
    return f'<div class="strip"><div class="label">Traffic, hourly: {_e(summary)}</div>{"".join(svg)}</div>'


def _shade(value: float, peak: float) -> str:
    """Light to dark blue by the square root of the share of the busiest hour: a daily rhythm shows, and
    an hour with a single invocation is still visible next to a busy one."""
    level = math.sqrt(value / peak) if peak > 0 else 1.0
    light, dark = (198, 219, 239), (8, 48, 107)
    rgb = (round(a + (b - a) * (0.2 + 0.8 * level)) for a, b in zip(light, dark, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _utilisation(metrics: list[VariantMetrics], variants: Iterable[Variant] = ()) -> str:
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
        return f'<tr><td class="name">{_e(label)}</td><td class="nodata" colspan="2">no data</td></tr>'
    found = reading(item, variant, signal) if variant is not None else None
    if found is None:
        # A sum over an unknown number of vCPUs/GPUs has no scale: the number, no bar.
        return (
            f'<tr><td class="name">{_e(label)} <span class="nodata">(summed; instance size unknown)</span></td>'
            f'<td class="meter"><div class="bar"></div></td>'
            f'<td class="val">{published:,.0f} %</td></tr>'
        )
    width = max(0.0, min(found.share, 100.0))
    detail = f" ({found.published:,.0f} % of {found.scale:,.0f} %)" if found.summed else ""
    return (
        f'<tr><td class="name">{_e(label)}{_e(detail)}</td>'
        f'<td class="meter"><div class="bar"><span style="width:{width:.0f}%;background:{colour}"></span></div></td>'
        f'<td class="val">{found.share:,.0f} %</td></tr>'
    )


# ------------------------------------------------------------------------------------------------ helpers


def _proposed(finding: Finding) -> bool:
    return finding.action != Action.NONE and not finding.blocked_by


def _by_savings(finding: Finding) -> tuple[bool, bool, float, str]:
    """Actions first, largest known saving first, unknown savings after the known ones, then by name."""
    savings = finding.estimated_monthly_savings_usd
    return (finding.action == Action.NONE, savings is None, -(savings or 0.0), finding.endpoint_name)


def _key(finding: Finding) -> tuple[str, str, str]:
    return finding.account_id, finding.region, finding.endpoint_name


def _index(endpoints: list[ScannedEndpoint]) -> dict[tuple[str, str, str], ScannedEndpoint]:
    return {(item.endpoint.account_id, item.endpoint.region, item.endpoint.name): item for item in endpoints}


def _usd(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:,.2f}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _e(text: object) -> str:
    return escape(str(text), quote=True)
