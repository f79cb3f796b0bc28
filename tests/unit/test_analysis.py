"""Analyze over many targets: a plan per target in S3, a small result, actions only where the stack acts."""

from __future__ import annotations

import json

import pytest

from endpoint_optimizer.decide.plan import REPORT_ONLY_MEMBER_ACCOUNT, REPORT_ONLY_OTHER_REGION
from endpoint_optimizer.infra.artifacts import SnapshotRef
from endpoint_optimizer.models import Action, ScanFailure
from tests.conftest import policy, sample_snapshot
from tests.unit.conftest import BUCKET, HOME_ACCOUNT, MEMBER, analyze_targets, elsewhere, plans_of
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
