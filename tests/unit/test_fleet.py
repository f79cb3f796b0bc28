"""Analyze over many targets: a plan per target in S3, a small result, actions only where the stack acts."""

from __future__ import annotations

import json

import pytest

from endpoint_optimizer.analysis import analyze_fleet
from endpoint_optimizer.decide.plan import REPORT_ONLY_MEMBER_ACCOUNT, REPORT_ONLY_OTHER_REGION
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import SnapshotRef, load_plan, store_snapshot
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import Action, FleetAnalysis, ScanFailure, ScanSnapshot
from tests.conftest import load_event
from tests.unit.fake_s3 import FakeS3
from tests.unit.test_decisions import NOW, policy

BUCKET = "artifacts"
HOME_ACCOUNT = "123456789012"
MEMBER = "210987654321"
HOME = Home(account_id=HOME_ACCOUNT, region="us-east-1")
RUN = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:run-1"


def home_snapshot() -> ScanSnapshot:
    return ScanSnapshot.model_validate(load_event("analyze.json")["scans"][0]["snapshot"])


def elsewhere(account_id: str, region: str, prefix: str, copies: int = 1) -> ScanSnapshot:
    """The sample fleet as if it ran in another account or region (names prefixed)."""
    base = home_snapshot()
    endpoints = [
        item.model_copy(
            update={
                "endpoint": item.endpoint.model_copy(
                    update={
                        "name": f"{prefix}{index or ''}-{item.endpoint.name}",
                        "account_id": account_id,
                        "region": region,
                    }
                )
            }
        )
        for index in range(copies)
        for item in base.endpoints
    ]
    return base.model_copy(update={"account_id": account_id, "region": region, "endpoints": endpoints})


def run(s3: FakeS3, *snapshots: ScanSnapshot | ScanFailure, chosen: Policy | None = None) -> FleetAnalysis:
    scans = [
        item
        if isinstance(item, ScanFailure)
        else store_snapshot(s3.client, BUCKET, item, execution_id=RUN, inline_limit_bytes=50_000)
        for item in snapshots
    ]
    return analyze_fleet(
        s3.client,
        BUCKET,
        scans,
        prices=bundled_price_book(),
        policy=chosen or policy(),
        now=NOW,
        run_id=RUN,
        home=HOME,
    )


def test_an_idle_endpoint_in_a_member_account_is_reported_but_never_proposed() -> None:
    # GIVEN the same idle endpoint in this stack's account and region and in a member account
    s3 = FakeS3()
    member = elsewhere(MEMBER, "ap-northeast-1", "member")
    # WHEN both targets are analyzed
    analysis = run(s3, home_snapshot(), member)
    # THEN only this account's idle endpoint is proposed
    assert [a.finding.endpoint_name for a in analysis.actions] == ["idle-fraud-xgb"]
    assert analysis.deferred == []
    # AND the member's plan keeps the finding, its savings, and says it is report-only
    home_plan, member_plan = (load_plan(s3.client, BUCKET, p.plan_key) for p in analysis.plans)
    finding = next(f for f in member_plan.findings if f.endpoint_name == "member-idle-fraud-xgb")
    assert finding.action == Action.PARK
    assert finding.estimated_monthly_savings_usd == pytest.approx(0.149 * 730)
    assert finding.blocked_by == [REPORT_ONLY_MEMBER_ACCOUNT]
    assert (member_plan.region, home_plan.region) == ("ap-northeast-1", "us-east-1")
    assert [(p.account_id, p.report_only) for p in analysis.plans] == [(HOME_ACCOUNT, False), (MEMBER, True)]


def test_this_accounts_other_regions_are_report_only_too() -> None:
    s3 = FakeS3()
    analysis = run(s3, elsewhere(HOME_ACCOUNT, "eu-west-1", "eu"))
    assert analysis.actions == []
    plan = load_plan(s3.client, BUCKET, analysis.plans[0].plan_key)
    blocked = [f.blocked_by for f in plan.findings if f.action != Action.NONE]
    assert blocked and all(REPORT_ONLY_OTHER_REGION in blockers for blockers in blocked)


def test_max_actions_per_run_applies_to_the_whole_run_and_defers_the_rest() -> None:
    # GIVEN two idle endpoints in this account and region, and one action per run
    s3 = FakeS3()
    two = elsewhere(HOME_ACCOUNT, "us-east-1", "copy", copies=2)
    analysis = run(
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
    analysis = run(s3, home_snapshot(), big)
    # THEN each target's plan holds all its findings, in S3
    plans = [load_plan(s3.client, BUCKET, summary.plan_key) for summary in analysis.plans]
    assert [len(plan.findings) for plan in plans] == [len(home_snapshot().endpoints), len(big.endpoints)]
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
    analysis = run(FakeS3(), home_snapshot(), failure)
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
