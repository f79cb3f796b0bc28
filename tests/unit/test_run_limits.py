"""A run stays within the workflow's and the messages' size limits at 10,000 endpoints, says how many it
left out and where the whole list is, and counts savings only for what was applied.

Limits (sources in fleet.py and notify.py): a Step Functions state 262,144 bytes; an SNS message 262,144
bytes; Slack: a section 3,000 characters, a header 150, 50 blocks a message.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import HeaderBlock, SectionBlock

from endpoint_optimizer.analysis import STATE_LIMIT_BYTES, state_budget, state_bytes
from endpoint_optimizer.models import (
    ActionResult,
    ApprovalLock,
    FleetAnalysis,
    Holds,
    LeftForLater,
    PlanSummary,
    ScanFailure,
    ScanSnapshot,
    endpoint_key,
)
from endpoint_optimizer.notify.messages import MAX_TEXT_BYTES, report_message, summary_message
from tests.conftest import NOW, policy, sample_snapshot
from tests.unit.conftest import BUCKET, HOME_ACCOUNT, analyze_targets, elsewhere
from tests.unit.fake_s3 import FakeS3

SNS_LIMIT_BYTES = 262_144
SLACK_SECTION_CHARS = 3_000
SLACK_HEADER_CHARS = 150
SLACK_MAX_BLOCKS = 50
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"


def name(index: int) -> str:
    """Endpoint names at SageMaker's longest (63 characters)."""
    return f"idle-{index:05d}-".ljust(63, "x")


def idle_fleet(count: int, *, account_id: str = HOME_ACCOUNT, region: str = "us-east-1") -> ScanSnapshot:
    """`count` idle ml.m5.large endpoints, each with a long name and a long image URI."""
    base = sample_snapshot()
    idle = next(item for item in base.endpoints if item.endpoint.name == "idle-fraud-xgb")
    variant = idle.endpoint.variants[0].model_copy(update={"image": IMAGE})
    endpoints = [
        idle.model_copy(
            update={
                "endpoint": idle.endpoint.model_copy(
                    update={
                        "name": name(index),
                        "arn": f"arn:aws:sagemaker:{region}:{account_id}:endpoint/{name(index)}",
                        "config_name": f"{name(index)}-config",
                        "account_id": account_id,
                        "region": region,
                        "variants": [variant],
                    }
                )
            }
        )
        for index in range(count)
    ]
    return base.model_copy(update={"account_id": account_id, "region": region, "endpoints": endpoints})


def whole_list(s3: FakeS3, analysis: FleetAnalysis) -> dict[str, Any]:
    uri = analysis.later.whole_list
    assert uri is not None and uri.startswith(f"s3://{BUCKET}/plans/")
    document: dict[str, Any] = json.loads(s3.objects[(BUCKET, uri.removeprefix(f"s3://{BUCKET}/"))])
    return document


def run_state_at_the_end(analysis: FleetAnalysis, results: list[ActionResult]) -> dict[str, Any]:
    """The workflow state after "Summarize run": Analyze's output, the Map's results, the summary's
    subject, and (the worst case) both notification errors a Catch records."""
    error = {"Error": "SlackPostFailed", "Cause": "x" * 8_000}
    return {
        **analysis.model_dump(mode="json"),
        "results": [result.model_dump(mode="json") for result in results],
        "summary": {"subject": "s" * 99},
        "report_error": error,
        "summary_error": error,
    }


def results_of(analysis: FleetAnalysis) -> list[ActionResult]:
    """One result per action, each with the longest detail apply writes (500 characters)."""
    return [
        ActionResult(
            endpoint_name=action.finding.endpoint_name,
            action=action.finding.action,
            outcome="refused",
            detail="in use since the scan: " + "9" * 477,
        )
        for action in analysis.actions
    ]


def size(document: Any) -> int:
    return len(json.dumps(document).encode("utf-8"))


MAX_CHANGE = {"MAX_ACTIONS_PER_RUN": 100, "MAX_MONTHLY_CHANGE_USD": 10_000_000}


@pytest.fixture(scope="module")
def ten_thousand() -> tuple[FakeS3, FleetAnalysis]:
    """10,000 idle endpoints in this account and region, 100 actions a run (the template's maximum)."""
    s3 = FakeS3()
    return s3, analyze_targets(s3, idle_fleet(10_000), chosen=policy(**MAX_CHANGE))


def test_analyze_output_for_10000_idle_endpoints_fits_the_state_to_the_end_of_the_run(
    ten_thousand: tuple[FakeS3, FleetAnalysis],
) -> None:
    # GIVEN 10,000 idle endpoints (4,000 made Analyze's output 282,105 bytes before)
    _, analysis = ten_thousand
    # THEN Analyze's output is within its budget, and the state stays under the limit until the end
    assert len(analysis.actions) == 100
    assert state_bytes(analysis) <= state_budget(policy(**MAX_CHANGE)) < STATE_LIMIT_BYTES
    assert size(run_state_at_the_end(analysis, results_of(analysis))) < STATE_LIMIT_BYTES


def test_the_state_carries_the_first_deferred_names_and_the_count_and_s3_the_whole_list(
    ten_thousand: tuple[FakeS3, FleetAnalysis],
) -> None:
    s3, analysis = ten_thousand
    assert analysis.later.deferred_total == 9_900
    assert analysis.deferred == [
        name(index) for index in range(100, 150)
    ]  # smallest names first: same saving
    document = whole_list(s3, analysis)
    assert len(document["deferred"]) == 9_900
    assert document["deferred"][:50] == analysis.deferred


def test_the_report_and_the_summary_of_10000_endpoints_fit_sns_and_slack_and_say_how_many_more(
    ten_thousand: tuple[FakeS3, FleetAnalysis],
) -> None:
    # GIVEN the analysis of 10,000 endpoints, and 150 targets of which 149 could not be read
    _, analysis = ten_thousand
    unscanned = [
        ScanFailure(account_id=f"{index:012d}", region="eu-west-1", error="AccessDenied", message="m" * 1_000)
        for index in range(149)
    ]
    later = analysis.later.model_copy(
        update={"waiting": [f"{name(i)}: approval pending since 2026-11-29 12:00 UTC" for i in range(50)]}
    )
    later = later.model_copy(update={"waiting_total": 4_530})
    # WHEN the report and the summary are written
    report = report_message(
        analysis.plans,
        analysis.actions,
        analysis.deferred,
        top_findings=analysis.top_findings,
        unscanned=unscanned,
        later=later,
    )
    summary = summary_message(
        analysis.plans, results_of(analysis), analysis.deferred, unscanned=unscanned, later=later
    )
    # THEN each stays under every limit
    for message in (report, summary):
        assert len(message.subject) < 100
        assert size(message.text) < SNS_LIMIT_BYTES
        assert len(message.text.encode("utf-8")) <= MAX_TEXT_BYTES
        assert size({"subject": message.subject, "text": message.text}) < STATE_LIMIT_BYTES  # the task result
        assert len(message.blocks) <= SLACK_MAX_BLOCKS
        for block in message.blocks:
            block.validate_json()  # slack-sdk's own checks of Slack's limits
            if isinstance(block, SectionBlock) and block.text is not None:
                assert len(block.text.text) <= SLACK_SECTION_CHARS
            if isinstance(block, HeaderBlock) and block.text is not None:
                assert len(block.text.text) <= SLACK_HEADER_CHARS
        texts = [getattr(block, "text", None) for block in message.blocks]
        assert sum(len(text.text) for text in texts if text is not None) <= 12_000  # msg_blocks_too_long
    # AND the long lists show their first lines and how many more, and where the whole list is
    where = f"the whole list is in {later.whole_list}"
    assert f"... and 9,850 more; {where}" in summary.text
    assert f"... and 4,480 more; {where}" in summary.text
    assert f"... and 4,480 more; {where}" in report.text
    assert "... and 99 more" in report.text  # not-scanned targets: 50 of 149 shown in the email
    assert "... and 50 more; the whole list is in the execution's output" in summary.text  # results
    assert "4,530" in report.text and "9,900 deferred" in report.text
    slack_summary = json.dumps([block.to_dict() for block in summary.blocks])
    assert "... and 9,890 more" in slack_summary  # Slack shows 10 names


def test_150_targets_and_100_actions_still_fit_by_leaving_the_last_chosen_for_a_later_run() -> None:
    # GIVEN 200 idle endpoints here, 100 actions a run, and 149 member accounts (one plan summary each)
    s3 = FakeS3()
    members = [elsewhere(f"{index:012d}", "eu-west-1", f"m{index}") for index in range(1, 150)]
    analysis = analyze_targets(s3, idle_fleet(200), *members, chosen=policy(**MAX_CHANGE))
    # THEN the state fits, the lowest-priority actions wait (first in the deferred list), none is lost
    assert len(analysis.plans) == 150
    assert state_bytes(analysis) <= state_budget(policy(**MAX_CHANGE))
    assert size(run_state_at_the_end(analysis, results_of(analysis))) < STATE_LIMIT_BYTES
    waiting_for_room = 100 - len(analysis.actions)
    assert 0 < waiting_for_room < 100
    assert analysis.later.deferred_total == 100 + waiting_for_room
    document = whole_list(s3, analysis)
    chosen = [action.finding.endpoint_name for action in analysis.actions]
    assert sorted(chosen + document["deferred"]) == [name(index) for index in range(200)]
    assert document["deferred"][0] == name(len(analysis.actions))  # the next in line goes first


def test_endpoints_left_for_later_keep_their_reason_in_the_plan_and_in_the_whole_list() -> None:
    # GIVEN 3 idle endpoints, the first with an approval open, and 1 action a run
    s3 = FakeS3()
    lock = ApprovalLock(
        account_id=HOME_ACCOUNT,
        region="us-east-1",
        endpoint_name=name(0),
        approval_id="abc",
        action_id="x",
        requested_at=NOW - timedelta(hours=3),
        expires_at=NOW + timedelta(hours=22),
    )
    holds = Holds(locks={endpoint_key(HOME_ACCOUNT, "us-east-1", name(0)): lock})
    analysis = analyze_targets(s3, idle_fleet(3), chosen=policy(MAX_ACTIONS_PER_RUN=1), holds=holds)
    # THEN the next one gets the place, the third is deferred, the first waits with its reason
    reason = "approval pending since 2026-11-30 09:00 UTC (approval abc)"
    assert [a.finding.endpoint_name for a in analysis.actions] == [name(1)]
    assert analysis.deferred == [name(2)]
    assert analysis.later.waiting == [f"{name(0)}: {reason}"]
    assert analysis.later.waiting_total == 1
    plan = json.loads(s3.objects[(BUCKET, analysis.plans[0].plan_key)])
    held = next(finding for finding in plan["findings"] if finding["endpoint_name"] == name(0))
    assert held["blocked_by"] == [reason]
    assert whole_list(s3, analysis)["waiting"] == [f"{name(0)}: {reason}"]


def test_nothing_left_for_later_writes_no_list_and_says_nothing() -> None:
    s3 = FakeS3()
    analysis = analyze_targets(s3, sample_snapshot())
    assert analysis.later == LeftForLater()
    assert not [key for key in s3.keys(BUCKET) if key.endswith("left-for-later.json")]


def _plan() -> PlanSummary:
    return PlanSummary(
        account_id=HOME_ACCOUNT,
        region="us-east-1",
        plan_key="plans/m/run/123456789012-us-east-1.json",
        lookback_days=14,
        endpoints=2,
        findings_by_action={"park": 2},
        proposed_monthly_savings_usd=167.9,
        unknown_savings=0,
    )


def test_an_endpoint_already_parked_is_reported_as_skipped_and_its_savings_are_not_counted_again() -> None:
    # GIVEN two runs' results for the same endpoint: one parked it, the other found it already parked
    results = [
        ActionResult(
            endpoint_name="idle-a", action="park", outcome="applied", estimated_monthly_savings_usd=83.95
        ),
        ActionResult(
            endpoint_name="idle-a",
            action="park",
            outcome="skipped",
            estimated_monthly_savings_usd=83.95,
            detail="already parked",
        ),
        ActionResult(
            endpoint_name="idle-b",
            action="park",
            outcome="skipped",
            detail="an approval is already open for idle-b (approval abc, asked 2026-11-30 12:00 UTC)",
        ),
    ]
    # WHEN summarized
    message = summary_message([_plan()], results, [])
    # THEN the savings are counted once, from the one that was applied
    assert "Outcomes: applied: 1, skipped: 2." in message.text
    assert "applied: $83.95." in message.text
    assert message.subject == "endpoint-optimizer: 1 applied, $83.95/month saved in us-east-1"
    assert "- idle-a: park skipped (already parked)" in message.text


def test_a_report_says_which_endpoints_wait_for_an_open_approval_or_a_rejection() -> None:
    later = LeftForLater(
        waiting=["idle-a: approval pending since 2026-11-29 12:00 UTC (approval abc)"],
        waiting_total=1,
        whole_list="s3://b/plans/m/run/left-for-later.json",
    )
    message = report_message([_plan()], [], [], top_findings=[], later=later)
    assert message.text.splitlines()[4:6] == [
        "Left for later (1): an approval is pending or was rejected recently:",
        "- idle-a: approval pending since 2026-11-29 12:00 UTC (approval abc)",
    ]
