"""Analyze over many targets: a plan per target in S3, a small result, actions only where the stack acts."""

from __future__ import annotations

import json

import pytest

from endpoint_optimizer.analysis import analyze_fleet, fold_confirmations
from endpoint_optimizer.decide.confirm import confirm, confirmation_from
from endpoint_optimizer.decide.confirm.choose import not_started
from endpoint_optimizer.decide.plan import REPORT_ONLY_MEMBER_ACCOUNT, REPORT_ONLY_OTHER_REGION
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import SnapshotRef, store_snapshot
from endpoint_optimizer.models import (
    Action,
    Confirmation,
    ConfirmedMove,
    FleetAnalysis,
    ScanFailure,
    ScanSnapshot,
)
from tests.conftest import NOW, policy, sample_snapshot
from tests.unit.conftest import (
    BUCKET,
    HOME,
    HOME_ACCOUNT,
    MEMBER,
    RUN,
    analyze_targets,
    elsewhere,
    plans_of,
)
from tests.unit.decide.confirm_samples import baseline, described, measured
from tests.unit.fake_s3 import FakeS3


def test_an_idle_endpoint_in_a_member_account_is_reported_but_never_proposed() -> None:
    # GIVEN the same idle endpoint in this stack's account and region and in a member account
    s3 = FakeS3()
    member = elsewhere(MEMBER, "ap-northeast-1", "member")
    # WHEN both targets are analyzed
    analysis = analyze_targets(s3, sample_snapshot(), member)
    # THEN only this account's idle endpoint is proposed
    assert [a.finding.endpoint_name for a in analysis.actions] == ["idle-fraud-xgb"]
    assert analysis.deferred == []
    # AND the member's plan keeps the finding, its savings, and says it is report-only
    home_plan, member_plan = plans_of(s3, analysis)
    finding = next(f for f in member_plan.findings if f.endpoint_name == "member-idle-fraud-xgb")
    assert finding.action == Action.PARK
    assert finding.estimated_monthly_savings_usd == pytest.approx(0.149 * 730)
    assert finding.blocked_by == [REPORT_ONLY_MEMBER_ACCOUNT]
    assert (member_plan.region, home_plan.region) == ("ap-northeast-1", "us-east-1")
    assert [(p.account_id, p.report_only) for p in analysis.plans] == [(HOME_ACCOUNT, False), (MEMBER, True)]


def test_this_accounts_other_regions_are_report_only_too() -> None:
    s3 = FakeS3()
    analysis = analyze_targets(s3, elsewhere(HOME_ACCOUNT, "eu-west-1", "eu"))
    assert analysis.actions == []
    [plan] = plans_of(s3, analysis)
    blocked = [f.blocked_by for f in plan.findings if f.action != Action.NONE]
    assert blocked and all(REPORT_ONLY_OTHER_REGION in blockers for blockers in blocked)


def test_max_actions_per_run_applies_to_the_whole_run_and_defers_the_rest() -> None:
    # GIVEN two idle endpoints in this account and region, and one action per run
    s3 = FakeS3()
    two = elsewhere(HOME_ACCOUNT, "us-east-1", "copy", copies=2)
    analysis = analyze_targets(
        s3, two, elsewhere(MEMBER, "ap-northeast-1", "member"), chosen=policy(MAX_ACTIONS_PER_RUN=1)
    )
    # THEN one is proposed and the other deferred; the member's idle endpoint is neither
    assert [a.finding.endpoint_name for a in analysis.actions] == ["copy-idle-fraud-xgb"]
    assert analysis.deferred == ["copy1-idle-fraud-xgb"]


def test_each_target_gets_its_own_plan_and_the_result_stays_small_whatever_the_fleet() -> None:
    # GIVEN a member account with 600 endpoints (its snapshot goes to S3)
    s3 = FakeS3()
    big = elsewhere(MEMBER, "ap-northeast-1", "m", copies=100)
    # WHEN analyzed
    analysis = analyze_targets(s3, sample_snapshot(), big)
    # THEN each target's plan holds all its findings, in S3
    plans = plans_of(s3, analysis)
    assert [len(plan.findings) for plan in plans] == [len(sample_snapshot().endpoints), len(big.endpoints)]
    assert all(key.startswith(("snapshots/", "plans/")) for key in s3.keys(BUCKET))
    # AND what travels back to the workflow is a summary per target, the actions and the top findings
    assert len(analysis.model_dump_json()) < 30_000
    member = analysis.plans[1]
    assert member.endpoints == len(big.endpoints)
    assert sum(member.findings_by_action.values()) == member.endpoints
    assert member.proposed_monthly_savings_usd == pytest.approx(
        sum(f.estimated_monthly_savings_usd or 0 for f in plans[1].findings if f.action != Action.NONE)
    )
    assert len(analysis.top_findings) == 10


def test_a_target_that_could_not_be_scanned_is_carried_to_the_report() -> None:
    failure = ScanFailure(
        account_id=MEMBER, region="eu-west-1", error="AccessDenied", message="not authorized"
    )
    analysis = analyze_targets(FakeS3(), sample_snapshot(), failure)
    assert analysis.unscanned == [failure]
    assert [p.account_id for p in analysis.plans] == [HOME_ACCOUNT]


def test_a_scan_result_is_told_apart_from_a_failure_by_its_status() -> None:
    from pydantic import TypeAdapter

    from endpoint_optimizer.infra.events import ScanResult

    adapter: TypeAdapter[SnapshotRef | ScanFailure] = TypeAdapter(ScanResult)
    failure = {"status": "failed", "account_id": MEMBER, "region": "eu-west-1", "error": "AccessDenied"}
    ref = {
        "status": "scanned",
        "account_id": MEMBER,
        "region": "eu-west-1",
        "endpoints": 3,
        "snapshot_key": "k",
    }
    assert isinstance(adapter.validate_python(failure), ScanFailure)
    assert isinstance(adapter.validate_json(json.dumps(ref)), SnapshotRef)


# ---- moves confirmed by a benchmark: asked about only once confirmed ------------------------------------
XGBOOST_X86 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"
MOVE = "oversized-fraud-xgb"


def with_an_oversized_endpoint() -> ScanSnapshot:
    """The sample fleet (its idle endpoint is parked) and one ml.m5.xlarge at 10 % CPU: a rightsize to
    ml.m5.large, which a benchmark confirms."""
    snapshot = sample_snapshot()
    busy = next(item for item in snapshot.endpoints if item.endpoint.name == "busy-search-ranker")
    variant = busy.endpoint.variants[0].model_copy(
        update={"instance_type": "ml.m5.xlarge", "instance_count": 1, "image": XGBOOST_X86}
    )
    metrics = busy.metrics[0].model_copy(update={"cpu_max_percent": 40.0, "memory_max_percent": 30.0})
    oversized = busy.model_copy(
        update={
            "endpoint": busy.endpoint.model_copy(update={"name": MOVE, "variants": [variant]}),
            "metrics": [metrics],
        }
    )
    return snapshot.model_copy(update={"endpoints": [*snapshot.endpoints, oversized]})


def analyzed(s3: FakeS3, *, spend_usd: float | None = 10.0, mode: str = "approve") -> FleetAnalysis:
    """The Analyze Lambda's output for the fleet with the oversized endpoint."""
    ref = store_snapshot(
        s3.client, BUCKET, with_an_oversized_endpoint(), execution_id=RUN, inline_limit_bytes=50_000
    )
    return analyze_fleet(
        s3.client,
        BUCKET,
        [ref],
        prices=bundled_price_book(),
        policy=policy(MODE=mode),
        now=NOW,
        run_id=RUN,
        home=HOME,
        recommender_spend_usd=spend_usd,
    )


def verdict(analysis: FleetAnalysis, confirmation: Confirmation) -> ConfirmedMove:
    """What "Confirm moves" returns for the move: its finding judged by `confirmation`."""
    (move,) = analysis.to_confirm
    judged = confirm(move.finding, confirmation, bundled_price_book())
    return ConfirmedMove(plan_key=move.plan_key, finding=judged.model_copy(update={"scan": None}))


def job(large_p99_ms: float, status: str = "COMPLETED") -> Confirmation:
    """The job's verdict: ml.m5.xlarge (today) and ml.m5.large measured; the threshold is 40 ms + 20 %."""
    return confirmation_from(
        described(
            measured("ml.m5.xlarge", latency_ms=30, max_invocations=2_000, cost_per_hour=0.23),
            measured("ml.m5.large", latency_ms=large_p99_ms, max_invocations=1_200, cost_per_hour=0.115),
            status=status,
        ),
        baseline("ml.m5.xlarge", p99_ms=40.0, peak_per_minute=400.0),
    )


def test_a_move_is_not_asked_about_until_its_benchmark_confirms_it() -> None:
    # GIVEN an idle endpoint and an oversized one WHEN analyzed
    analysis = analyzed(FakeS3())
    # THEN only the park is among the run's actions: the rightsize waits on its move to benchmark
    assert [a.finding.action for a in analysis.actions] == [Action.PARK]
    (move,) = analysis.to_confirm
    assert move.proposal is not None and move.proposal.finding.action == Action.RIGHTSIZE
    assert move.proposal.finding.scan is None  # the plan keeps the scan facts, the state stays small


def test_a_confirmed_move_is_proposed_with_the_option_the_job_chose_and_its_measured_numbers() -> None:
    # GIVEN the run's rightsize, benchmarked: ml.m5.large answers in 36 ms (within 48 ms) for half the cost
    s3 = FakeS3()
    analysis = analyzed(s3)
    confirmed = verdict(analysis, job(large_p99_ms=36))
    # WHEN the confirmations are folded
    folded = fold_confirmations(s3.client, BUCKET, analysis, [confirmed], run_id=RUN)
    # THEN the run asks about the park, then the rightsize to ml.m5.large with the job's numbers
    park, move = folded.actions
    assert (park.finding.action, move.finding.action) == (Action.PARK, Action.RIGHTSIZE)
    assert move.finding.target == "1 x ml.m5.large (from 1 x ml.m5.xlarge)"
    assert move.finding.confidence == "high"
    assert move.finding.estimated_monthly_savings_usd == pytest.approx((0.23 - 0.115) * 730)
    confirmation = move.finding.confirmation
    assert confirmation is not None and confirmation.chosen is not None
    assert confirmation.job_name == "eo-0123456789ab-202611301200-ranker"
    assert (confirmation.chosen.instance_type, confirmation.chosen.model_latency_ms) == ("ml.m5.large", 36)
    assert confirmation.chosen.cost_per_hour == pytest.approx(0.115)
    # AND it is the action Analyze chose (same id), carrying the scan facts apply re-checks against
    (move_to_confirm,) = analysis.to_confirm
    assert move_to_confirm.proposal is not None
    assert move.action_id == move_to_confirm.proposal.action_id and move.mode == "approve"
    assert move.finding.scan is not None
    assert folded.to_confirm == []


@pytest.mark.parametrize(
    "confirmation",
    [
        pytest.param(job(large_p99_ms=60), id="refuted: ml.m5.large misses the latency"),
        pytest.param(job(large_p99_ms=36, status="FAILED"), id="failed"),
        pytest.param(job(large_p99_ms=36, status="IN_PROGRESS"), id="still running"),
        pytest.param(not_started(baseline("ml.m5.xlarge"), "no sample payload"), id="not started"),
    ],
)
def test_a_move_its_benchmark_does_not_confirm_is_never_proposed_and_its_plan_says_why(
    confirmation: Confirmation,
) -> None:
    # GIVEN the run's rightsize, whose job refuted it, failed, is still running or never started
    s3 = FakeS3()
    analysis = analyzed(s3)
    # WHEN the confirmations are folded
    folded = fold_confirmations(s3.client, BUCKET, analysis, [verdict(analysis, confirmation)], run_id=RUN)
    # THEN only the park is asked about
    assert [a.finding.action for a in folded.actions] == [Action.PARK]
    # AND the plan and the report keep the move, blocked with why (unconfirmed, or the measured miss)
    (plan,) = plans_of(s3, folded)
    (finding,) = [f for f in plan.findings if f.endpoint_name == MOVE]
    assert finding.action == Action.RIGHTSIZE and finding.blocked_by
    (top,) = [f for f in folded.top_findings if f.endpoint_name == MOVE]
    assert top.blocked_by == finding.blocked_by


def test_a_move_whose_confirmation_step_failed_is_never_proposed() -> None:
    # GIVEN the run's rightsize, whose confirmation step failed (the Map's "Record confirmation failure")
    s3 = FakeS3()
    analysis = analyzed(s3)
    (move,) = analysis.to_confirm
    failed = ConfirmedMove(
        plan_key=move.plan_key, finding=move.finding, error={"Error": "Lambda.Unknown", "Cause": "boom"}
    )
    # WHEN folded THEN it is not asked about, and its plan says it is unconfirmed
    folded = fold_confirmations(s3.client, BUCKET, analysis, [failed], run_id=RUN)
    assert [a.finding.action for a in folded.actions] == [Action.PARK]
    (finding,) = [f for f in plans_of(s3, folded)[0].findings if f.endpoint_name == MOVE]
    assert finding.blocked_by == ["unconfirmed: the benchmark step failed (Lambda.Unknown)"]


def test_a_chosen_move_no_job_benchmarks_this_run_is_deferred_not_proposed() -> None:
    # GIVEN no benchmark this run (no spend allowed) WHEN analyzed and folded (nothing to fold)
    s3 = FakeS3()
    analysis = analyzed(s3, spend_usd=None)
    folded = fold_confirmations(s3.client, BUCKET, analysis, [], run_id=RUN)
    # THEN the rightsize is deferred to a later run, never asked about unconfirmed
    assert [a.finding.action for a in folded.actions] == [Action.PARK]
    assert folded.deferred == [MOVE]


def test_in_report_mode_a_confirmed_move_is_reported_never_proposed() -> None:
    s3 = FakeS3()
    analysis = analyzed(s3, mode="report")
    folded = fold_confirmations(s3.client, BUCKET, analysis, [verdict(analysis, job(36))], run_id=RUN)
    assert folded.actions == []
    (top,) = [f for f in folded.top_findings if f.endpoint_name == MOVE]
    assert top.confirmation is not None and top.target == "1 x ml.m5.large (from 1 x ml.m5.xlarge)"
