"""The HTML report: one self-contained file a person would rather look at than read.

Totals, savings by action (an SVG bar chart), and per endpoint, largest saving first, the decision with its
reasons and blockers, a 14-day hourly traffic strip and the utilisation. Inline CSS and SVG only: no
scripts, no fonts, no images, no links, so it opens the same from a laptop, an email or an S3 bucket. Every
string from the plan or the scan is escaped.
"""

from __future__ import annotations

from datetime import datetime

from endpoint_optimizer.models import Action, Finding, Plan, ScannedEndpoint, ScanSnapshot
from endpoint_optimizer.notify.confirmation_text import confirmation_html
from endpoint_optimizer.notify.ledger_text import MonthSavings
from endpoint_optimizer.notify.report_charts import (
    ACTION_COLOURS,
    escaped,
    hourly_traffic,
    savings_chart,
    traffic_strip,
    usd,
    utilisation,
    variant_scope,
)

__all__ = ["hourly_traffic", "render_report"]

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
.realised table { border-collapse:collapse; width:100%; font-size:13px; }
.realised th, .realised td { padding:3px 8px; text-align:left; border-bottom:1px solid var(--line); }
.realised td.num, .realised th.num { text-align:right; white-space:nowrap; }
.realised tfoot td { font-weight:600; border-bottom:0; }
@media (max-width: 760px) { .tiles { grid-template-columns: repeat(2, 1fr); }
  .body { grid-template-columns: 1fr; } }
"""


def render_report(plan: Plan, snapshot: ScanSnapshot, *, realised: MonthSavings | None = None) -> str:
    """The plan and the scan it came from, as one self-contained HTML document; with `realised`, what the
    ledger's applied changes saved in that month (ledger_text.realised_savings)."""
    scanned = _index(snapshot.endpoints)
    findings = sorted(plan.findings, key=_by_savings)
    title = f"SageMaker endpoints in {snapshot.account_id} {plan.region}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escaped(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{escaped(title)}</h1>",
        f'<p class="sub">Plan generated {escaped(_when(plan.generated_at))} from a scan at '
        f"{escaped(_when(snapshot.scanned_at))}, {plan.lookback_days}-day look-back. "
        "Money is USD per month (730 hours).</p>",
    ]
    if not snapshot.complete or snapshot.unscanned:
        missing = ", ".join(f"{item.name} ({item.reason})" for item in snapshot.unscanned[:20])
        more = len(snapshot.unscanned) - 20
        parts.append(
            f'<p class="warn"><b>Incomplete scan:</b> {len(snapshot.unscanned)} endpoint(s) were not read'
            f"{': ' + escaped(missing) if missing else ''}{f' and {more} more' if more > 0 else ''}.</p>"
        )
    parts.append(_totals(findings))
    if realised is not None:
        parts.append(_realised(realised))
    parts.append('<h2>Savings by action</h2><div class="panel">' + savings_chart(findings) + "</div>")
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
            usd(sum(known_costs)),
            f"+ {unknown_prices} endpoint(s) of unknown cost" if unknown_prices else "every price known",
            "",
        ),
        (
            "Savings proposed",
            usd(saving),
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
        f'<div class="tile {kind}"><div class="k">{escaped(key)}</div><div class="v">{escaped(value)}</div>'
        f'<div class="n">{escaped(note)}</div></div>'
        for key, value, note, kind in tiles
    )
    return f'<section class="tiles">{cells}</section>'


def _realised(month: MonthSavings) -> str:
    """Realised savings: per applied change, its days in the month and the cost before and after."""
    heading = f"<h2>Realised savings, {escaped(month.label)}: {escaped(usd(month.total_saved_usd))}</h2>"
    if not month.changes:
        return (
            heading + '<div class="panel realised"><p class="nodata">No applied change this month.</p></div>'
        )
    rows = "".join(
        f"<tr><td>{escaped(change.endpoint_name)}</td><td>{escaped(change.action)}</td>"
        f"<td>{escaped(_when(change.counted_from))} to {escaped(_when(change.counted_until))}"
        f"{' (ended)' if change.ended else ''}</td>"
        f'<td class="num">{change.days:.1f}</td><td class="num">{escaped(usd(change.cost_before_usd))}</td>'
        f'<td class="num">{escaped(usd(change.cost_after_usd))}</td>'
        f'<td class="num">{escaped(usd(change.saved_usd))}</td></tr>'
        for change in month.changes
    )
    count = len(month.priced)
    unpriced = f"; {len(month.unpriced)} without a known cost, not counted" if month.unpriced else ""
    return (
        heading + '<div class="panel realised"><table><thead><tr><th>Endpoint</th><th>Action</th>'
        '<th>In effect</th><th class="num">Days</th><th class="num">Cost before</th>'
        '<th class="num">Cost after</th><th class="num">Saved</th></tr></thead>'
        f'<tbody>{rows}</tbody><tfoot><tr><td colspan="6">Total across {count} change(s){unpriced}</td>'
        f'<td class="num">{escaped(usd(month.total_saved_usd))}</td></tr></tfoot></table></div>'
    )


def _blocked_note(blocked: list[Finding], saving: float) -> str:
    if not blocked:
        return ""
    worth = f" worth {usd(saving)}" if saving > 0 else ""
    return f"{len(blocked)} more blocked{worth}"


# ------------------------------------------------------------------------------------------------ cards


def _card(
    finding: Finding, scanned: ScannedEndpoint | None, snapshot: ScanSnapshot, lookback_days: int
) -> str:
    colour = ACTION_COLOURS.get(finding.action, "#757575")
    reasons = (
        "".join(f"<li>{escaped(reason)}</li>" for reason in finding.reasons) or "<li>no reason given</li>"
    )
    blockers = (
        '<div class="blockers">Blocked by: '
        + "".join(f'<span class="blocker">{escaped(blocker)}</span>' for blocker in finding.blocked_by)
        + "</div>"
        if finding.blocked_by
        else ""
    )
    target = f" · target: {escaped(finding.target)}" if finding.target else ""
    variants = ""
    if scanned is not None:
        variants = " · " + ", ".join(
            escaped(
                f"{v.name}: serverless {v.serverless_memory_mb} MB"
                if v.is_serverless
                else f"{v.name}: {v.instance_count} x {v.instance_type}"
            )
            for v in scanned.endpoint.variants
        )
    metrics = variant_scope(scanned.metrics) if scanned is not None else []
    return (
        f'<article class="card" style="--accent:{colour}">'
        "<header>"
        f"<h3>{escaped(finding.endpoint_name)}</h3>"
        f'<span class="badge">{escaped(finding.action.value)}</span>'
        f'<span class="conf">{escaped(finding.confidence)} confidence</span>'
        f'<span class="money">{_money(finding)}</span>'
        "</header>"
        f'<div class="meta">{escaped(finding.account_id)} / {escaped(finding.region)}{target}{variants}</div>'
        '<div class="body">'
        f"<div><ul>{reasons}</ul>{blockers}{confirmation_html(finding)}</div>"
        f'<div class="util">{utilisation(metrics, scanned.endpoint.variants if scanned else ())}</div>'
        "</div>"
        f"{traffic_strip(metrics, snapshot, lookback_days)}"
        "</article>"
    )


def _money(finding: Finding) -> str:
    now = f"now <b>{escaped(usd(finding.current_monthly_cost_usd))}</b>"
    if finding.action == Action.NONE:
        return f"{now} · no change"
    savings = finding.estimated_monthly_savings_usd
    if savings is None:
        return f'{now} · saves <b class="unknown">unknown</b>'
    return f'{now} · saves <b class="saves">{escaped(usd(savings))}</b>'


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


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
