"""The HTML report: every endpoint once, the totals, nothing external, nothing unescaped, honest strips."""

from __future__ import annotations

import re
from html import escape

import pytest

from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.cli import build_parser
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.models import Action, Plan, ScanSnapshot, VariantMetrics
from endpoint_optimizer.notify.report import hourly_traffic, render_report
from tests.conftest import NOW, policy

MALICIOUS = '<script>alert("x")</script>'


@pytest.fixture
def plan(snapshot: ScanSnapshot) -> Plan:
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy(), NOW)
    return plan


def card(html: str, name: str) -> str:
    """The <article> of one endpoint."""
    for article in re.findall(r"<article .*?</article>", html, flags=re.DOTALL):
        if f"<h3>{escape(name)}</h3>" in article:
            return str(article)
    raise AssertionError(f"no card for {name}")


def test_report_shows_every_endpoint_exactly_once(plan: Plan, snapshot: ScanSnapshot) -> None:
    # GIVEN the plan of the sample scan
    # WHEN the report is rendered
    html = render_report(plan, snapshot)
    # THEN each scanned endpoint has one card, and there are no other cards
    for scanned in snapshot.endpoints:
        assert html.count(f"<h3>{escape(scanned.endpoint.name)}</h3>") == 1
    assert html.count("<article ") == len(snapshot.endpoints)


def test_report_header_carries_the_totals(plan: Plan, snapshot: ScanSnapshot) -> None:
    html = render_report(plan, snapshot)
    cost = sum(f.current_monthly_cost_usd or 0 for f in plan.findings)
    proposed = sum(
        f.estimated_monthly_savings_usd or 0
        for f in plan.findings
        if f.action != Action.NONE and not f.blocked_by
    )
    unknown = sum(1 for f in plan.findings if f.current_monthly_cost_usd is None)
    assert f'<div class="k">Endpoints</div><div class="v">{len(plan.findings)}</div>' in html
    assert f'<div class="k">Monthly cost</div><div class="v">${cost:,.2f}</div>' in html
    assert f'<div class="k">Savings proposed</div><div class="v">${proposed:,.2f}</div>' in html
    assert f'<div class="k">Unknown prices</div><div class="v">{unknown}</div>' in html
    assert proposed > 0  # the sample has an idle endpoint to park: the chart has a bar
    assert 'aria-label="Savings by action"' in html


def test_report_escapes_names_reasons_and_blockers(plan: Plan, snapshot: ScanSnapshot) -> None:
    # GIVEN an endpoint name, a reason and a blocker that carry markup
    finding = plan.findings[0].model_copy(
        update={
            "endpoint_name": MALICIOUS,
            "reasons": [MALICIOUS],
            "blocked_by": [f"<marquee>{MALICIOUS}</marquee>"],
        }
    )
    hostile = plan.model_copy(update={"findings": [finding, *plan.findings[1:]]})
    # WHEN the report is rendered
    html = render_report(hostile, snapshot)
    # THEN no markup from the data reaches the page: it is shown as text
    assert "<script" not in html.lower()
    assert "<marquee" not in html
    assert escape(MALICIOUS) in html


def test_report_is_self_contained(plan: Plan, snapshot: ScanSnapshot) -> None:
    html = render_report(plan, snapshot)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.IGNORECASE)
    assert not re.search(r"<(script|link|iframe|img|object|embed)\b", html, flags=re.IGNORECASE)
    assert "@import" not in html
    assert "url(" not in html


def test_traffic_strip_marks_exactly_the_hours_with_invocations(plan: Plan, snapshot: ScanSnapshot) -> None:
    # GIVEN a busy endpoint with invocations in 330 of 336 hours, and an idle one
    html = render_report(plan, snapshot)
    busy = next(item for item in snapshot.endpoints if item.endpoint.name == "busy-search-ranker")
    hours_with_traffic = len(
        {hour for m in busy.metrics for hour, value in m.invocations_by_hour if value > 0}
    )
    # THEN the busy strip has one shaded cell per hour with traffic, and the idle strip none
    assert card(html, "busy-search-ranker").count('<rect class="h"') == hours_with_traffic == 330
    assert card(html, "idle-fraud-xgb").count('<rect class="h"') == 0
    assert "no invocations in 336 hours" in card(html, "idle-fraud-xgb")


def test_traffic_strip_sums_variants_hour_by_hour(plan: Plan, snapshot: ScanSnapshot) -> None:
    # GIVEN an endpoint with two variants whose traffic overlaps in hour 5
    blue = VariantMetrics(variant_name="blue", window_hours=336, invocations_by_hour=[(0, 1.0), (5, 2.0)])
    green = VariantMetrics(variant_name="green", window_hours=336, invocations_by_hour=[(5, 3.0), (300, 1.0)])
    assert hourly_traffic([blue, green], 336)[5] == 5.0
    scanned = snapshot.endpoints[0].model_copy(update={"metrics": [blue, green]})
    two_variants = snapshot.model_copy(update={"endpoints": [scanned, *snapshot.endpoints[1:]]})
    # WHEN the report is rendered
    html = card(render_report(plan, two_variants), scanned.endpoint.name)
    # THEN three hours are shaded and the shared hour shows the sum
    assert html.count('<rect class="h"') == 3
    assert ": 5 invocations</title>" in html


def test_utilisation_is_shown_as_bars_with_the_numbers(plan: Plan, snapshot: ScanSnapshot) -> None:
    # GIVEN busy-search-ranker, ml.c5.xlarge (4 vCPUs), publishing CPUUtilization 256 (max) and 128 (avg)
    html = card(render_report(plan, snapshot), "busy-search-ranker")
    # THEN the bars are shares of the instance, and the labels keep what CloudWatch published
    assert "CPU max (256 % of 400 %)" in html and 'style="width:64%' in html
    assert "CPU avg (128 % of 400 %)" in html and 'style="width:32%' in html
    assert "memory max" in html and "20 %" in html and 'style="width:20%' in html
    assert '<td class="val">64 %</td>' in html


def test_utilisation_bars_scale_gpus_by_their_count_and_refuse_an_unknown_size(
    plan: Plan, snapshot: ScanSnapshot
) -> None:
    # GIVEN the busy endpoint moved to an ml.g5.12xlarge (48 vCPUs, 4 GPUs) publishing GPUUtilization 240,
    # and the idle one to ml.m4.xlarge, a type the instance specs do not list
    def moved(name: str, instance_type: str, **readings: float) -> None:
        item = next(i for i in snapshot.endpoints if i.endpoint.name == name)
        item.endpoint.variants[0] = item.endpoint.variants[0].model_copy(
            update={"instance_type": instance_type}
        )
        item.metrics[0] = item.metrics[0].model_copy(update=readings)

    moved("busy-search-ranker", "ml.g5.12xlarge", gpu_max_percent=240.0)
    moved("idle-fraud-xgb", "ml.m4.xlarge", cpu_max_percent=2.0)
    html = render_report(plan, snapshot)
    # THEN the GPU bar is 60 % of the instance (240 of 400) and CPU 256 of 4800 is 5 %
    busy = card(html, "busy-search-ranker")
    assert "GPU max (240 % of 400 %)" in busy and 'style="width:60%' in busy
    assert "CPU max (256 % of 4,800 %)" in busy and 'style="width:5%' in busy
    # AND a sum over an unknown number of vCPUs gets its number but no bar
    idle = card(html, "idle-fraud-xgb")
    assert 'CPU max <span class="nodata">(summed; instance size unknown)</span>' in idle
    assert '<td class="val">2 %</td>' in idle
    assert "#1565c0" not in idle  # no CPU bar drawn
    assert 'style="width:20%;background:#6a1b9a' in idle  # memory is 0-100 on any instance


def test_endpoints_are_sorted_largest_saving_first(plan: Plan, snapshot: ScanSnapshot) -> None:
    html = render_report(plan, snapshot)
    names = re.findall(r"<h3>(.*?)</h3>", html)
    assert names[0] == "idle-fraud-xgb"  # the one park with a known saving


def test_scan_command_accepts_a_report_path() -> None:
    args = build_parser().parse_args(["scan", "--report", "report.html"])
    assert args.report == "report.html"
