"""What a person sees of a benchmark: on the approval card, what Inference Recommender measured next to
what the endpoint does today; in the report, one escaped line; without a job, how to get one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from endpoint_optimizer.decide.confirm import confirm, confirmation_from, missing_payload_how_to, not_started
from endpoint_optimizer.decide.confirm.thresholds import SAMPLE_PAYLOAD_TAG
from endpoint_optimizer.models import HOURS_PER_MONTH, Finding, Plan, ScanSnapshot
from endpoint_optimizer.notify.confirmation_text import confirmation_html, summary
from endpoint_optimizer.notify.report import render_report
from endpoint_optimizer.notify.slack import approval_card
from tests.conftest import NOW
from tests.unit.decide.confirm_samples import REGION, baseline, described, finding, measured, prices

TODAY = baseline(instance_type="ml.c5.2xlarge", count=1, p99_ms=25.0, peak_per_minute=1_000.0)


def confirmed() -> Finding:
    """A rightsize confirmed on 1 x ml.c5.xlarge; ml.c7g.xlarge measured too slow."""
    answer = described(
        measured("ml.c5.2xlarge", latency_ms=20, max_invocations=4_000, cost_per_hour=0.408),
        measured("ml.c5.xlarge", latency_ms=24, max_invocations=2_000, cost_per_hour=0.204),
        measured("ml.c7g.xlarge", latency_ms=41, max_invocations=3_000, cost_per_hour=0.145),
    )
    return confirm(
        finding(), confirmation_from(answer, TODAY), prices(ml_c5_2xlarge=0.408, ml_c5_xlarge=0.204)
    )


def card_text(blocks: list[Any]) -> str:
    return "\n".join(str(block.to_dict()) for block in blocks)


def test_the_card_shows_the_benchmark_next_to_today() -> None:
    """GIVEN a finding confirmed by a job
    WHEN its approval card is built
    THEN a section holds two columns: today's p99, peak, cost per hour and per 1,000 inferences, and the
    chosen option's measured p99, throughput, cost per hour and per 1,000 inferences."""
    item = confirmed()
    chosen = item.confirmation.chosen if item.confirmation else None
    assert chosen is not None and chosen.cost_per_inference is not None
    blocks = approval_card(item, "appr-1", NOW + timedelta(days=1))
    columns = next(
        block.to_dict()["fields"] for block in blocks if len(block.to_dict().get("fields", [])) == 2
    )
    today, benchmark = (field["text"] for field in columns)
    assert "*Today: 1 x ml.c5.2xlarge*" in today
    assert "p99 latency 25 ms (observed)" in today and "peak 1,000/min (observed)" in today
    assert f"${300.0 / HOURS_PER_MONTH:.4f} per hour" in today
    assert "*Benchmarked: 1 x ml.c5.xlarge*" in benchmark
    assert "p99 latency 24 ms (measured)" in benchmark
    assert "up to 2,000/min (measured)" in benchmark
    assert f"${chosen.cost_per_hour:.4f} per hour" in benchmark
    assert f"${chosen.cost_per_inference * 1000:.4f} per 1,000 inferences" in benchmark


def test_the_card_says_which_candidate_was_not_offered_and_why() -> None:
    """GIVEN a job in which ml.c7g.xlarge missed the latency threshold
    WHEN the approval card is built
    THEN it says ml.c7g.xlarge was not offered, with its measured p99."""
    text = card_text(approval_card(confirmed(), "appr-1", NOW + timedelta(days=1)))
    assert re.search(r"Not offered: ml\.c7g\.xlarge: p99 41 ms > 30 ms", text), text


def test_a_card_without_a_confirmation_is_unchanged() -> None:
    """GIVEN a finding that was never benchmarked (a park)
    WHEN its approval card is built
    THEN it has no benchmark section."""
    blocks = approval_card(finding(), "appr-1", NOW + timedelta(days=1))
    assert "Benchmark" not in card_text(blocks)


def test_an_unconfirmed_finding_says_how_to_add_a_payload_on_the_card_and_in_the_report() -> None:
    """GIVEN a finding with no sample payload, so no job started
    WHEN its card and report line are built
    THEN both say it is not confirmed and name the tag and Data Capture."""
    item = confirm(finding(), not_started(TODAY, missing_payload_how_to("ranker")), prices())
    card = card_text(approval_card(item, "appr-1", NOW + timedelta(days=1)))
    line = confirmation_html(item)
    for text in (card, line):
        assert "Not confirmed by a benchmark (NOT_STARTED)" in text
        assert SAMPLE_PAYLOAD_TAG in text and "Data Capture" in text


def test_the_report_card_carries_the_benchmark_line_escaped(snapshot: ScanSnapshot) -> None:
    """GIVEN a plan whose finding was confirmed, its job name carrying markup
    WHEN the report is rendered
    THEN the endpoint's card holds the benchmark line, the markup escaped."""
    item = confirmed()
    assert item.confirmation is not None
    hostile = item.model_copy(
        update={
            "endpoint_name": snapshot.endpoints[0].endpoint.name,
            "confirmation": item.confirmation.model_copy(update={"job_name": "<b>job</b>"}),
        }
    )
    plan = Plan(generated_at=NOW, region=REGION, lookback_days=14, findings=[hostile])
    html = render_report(plan, snapshot)
    assert "<b>Benchmark:</b> Confirmed by Inference Recommender job &lt;b&gt;job&lt;/b&gt;" in html
    assert "1 x ml.c5.xlarge: p99 24 ms (today 25 ms)" in html
    assert "<b>job</b>" not in html


def test_a_finding_without_a_confirmation_has_no_benchmark_line() -> None:
    """GIVEN a finding never benchmarked
    WHEN its report line and summary are built
    THEN there are none."""
    assert confirmation_html(finding()) == ""
    assert summary(finding()) is None
