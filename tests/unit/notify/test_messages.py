"""Run report and summary from the per-target plan summaries: same words for one target, a line per
target when there are several, and every target that could not be scanned named with the reason."""

from __future__ import annotations

from pydantic import TypeAdapter

from endpoint_optimizer.infra.events import NotifyRequest, ReportRequest, SummaryRequest
from endpoint_optimizer.models import PlanSummary, ScanFailure
from endpoint_optimizer.notify.messages import report_message, summary_message
from tests.conftest import load_event

MEMBER = "210987654321"
NOTIFY: TypeAdapter[ReportRequest | SummaryRequest] = TypeAdapter(NotifyRequest)


def report_event() -> ReportRequest:
    event = NOTIFY.validate_python(load_event("notify_report.json"))
    assert isinstance(event, ReportRequest)
    return event


def member_plan() -> PlanSummary:
    return PlanSummary(
        account_id=MEMBER,
        region="ap-northeast-1",
        plan_key=f"plans/m/run/{MEMBER}-ap-northeast-1.json",
        lookback_days=14,
        endpoints=3,
        findings_by_action={"none": 2, "park": 1},
        proposed_monthly_savings_usd=108.77,
        unknown_savings=0,
        report_only=True,
    )


DENIED = ScanFailure(
    account_id="333344445555",
    region="eu-west-1",
    error="AccessDenied",
    message="User is not authorized to perform: sts:AssumeRole",
)


def test_one_target_reads_as_before() -> None:
    event = report_event()
    message = report_message(event.plans, event.actions, event.deferred, top_findings=event.top_findings)
    assert message.subject == "endpoint-optimizer: 1 finding(s), $83.95/month in us-east-1"
    assert message.text.splitlines()[:5] == [
        "Scanned 6 endpoints in us-east-1 over 14 days.",
        "Findings by action: none: 5, park: 1.",
        "Monthly savings proposed: $83.95.",
        "Asking for approval of 1 action(s) this run.",
        "",
    ]
    assert "Per target" not in message.text


def test_several_targets_get_totals_and_a_line_each_with_report_only_marked() -> None:
    # GIVEN this account's plan and a member account's plan
    event = report_event()
    plans = [*event.plans, member_plan()]
    # WHEN the report is written
    message = report_message(plans, event.actions, event.deferred, top_findings=event.top_findings)
    lines = message.text.splitlines()
    # THEN the totals cover both targets and each target has its own line
    assert lines[0] == "Scanned 9 endpoints in 2 targets over 14 days."
    assert lines[1] == "Findings by action: none: 7, park: 2."
    assert lines[2] == "Monthly savings proposed: $192.72."
    assert "- 123456789012 us-east-1: 6 endpoints; none: 5, park: 1; $83.95/month proposed" in lines
    assert (
        f"- {MEMBER} ap-northeast-1: 3 endpoints; none: 2, park: 1; $108.77/month proposed (report only)"
        in lines
    )
    assert message.subject == "endpoint-optimizer: 2 finding(s), $192.72/month in 2 targets"
    assert len(message.blocks) == 5  # header, totals, targets, divider, top findings


def test_targets_that_could_not_be_scanned_are_named_with_the_reason() -> None:
    event = report_event()
    message = report_message(
        event.plans, event.actions, event.deferred, top_findings=event.top_findings, unscanned=[DENIED]
    )
    assert "Not scanned (1 target(s); the run ends failed):" in message.text
    assert (
        "- 333344445555 eu-west-1: AccessDenied: User is not authorized to perform: sts:AssumeRole"
        in message.text
    )


def test_the_summary_counts_every_target_and_names_the_unscanned() -> None:
    summary = NOTIFY.validate_python(load_event("notify_summary.json"))
    assert isinstance(summary, SummaryRequest)
    message = summary_message([*summary.plans, member_plan()], summary.results, [], unscanned=[DENIED])
    assert message.text.splitlines()[0] == "Run finished for 2 targets: 9 endpoints scanned, 2 finding(s)."
    assert "Monthly savings proposed: $192.72; applied: $83.95." in message.text
    assert "- 333344445555 eu-west-1: AccessDenied: User is not authorized to perform: sts:AssumeRole" in (
        message.text
    )
    assert message.subject == "endpoint-optimizer: 1 applied, $83.95/month saved in 2 targets"
