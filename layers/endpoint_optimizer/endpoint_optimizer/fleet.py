"""Analyze for many targets: each target's snapshot, one at a time, into one plan per target in S3.

Only one snapshot is in memory at a time. What stays is small whatever the fleet: a summary per target,
the findings that could be acted on (the stack's own account and region only), and the top findings
for the report. MaxActionsPerRun applies across all targets, largest known saving first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from endpoint_optimizer.artifacts import SnapshotRef, load_snapshot, store_plan
from endpoint_optimizer.decisions import choose_actions, is_actionable, plan_for
from endpoint_optimizer.models import (
    TOP_FINDINGS,
    Action,
    Finding,
    FleetAnalysis,
    Plan,
    PlanSummary,
    ScanFailure,
)
from endpoint_optimizer.pricing import PriceBook
from endpoint_optimizer.settings import Policy
from endpoint_optimizer.targets import Home

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _known_total(values: list[float | None]) -> float:
    return round(sum(value for value in values if value is not None), 2)


def summarize_plan(plan: Plan, *, account_id: str, plan_key: str, report_only: bool) -> PlanSummary:
    with_action = [finding for finding in plan.findings if finding.action != Action.NONE]
    counts = Counter(finding.action.value for finding in plan.findings)
    return PlanSummary(
        account_id=account_id,
        region=plan.region,
        plan_key=plan_key,
        lookback_days=plan.lookback_days,
        endpoints=len(plan.findings),
        findings_by_action=dict(sorted(counts.items())),
        proposed_monthly_savings_usd=_known_total([f.estimated_monthly_savings_usd for f in with_action]),
        unknown_savings=sum(1 for finding in with_action if finding.estimated_monthly_savings_usd is None),
        report_only=report_only,
    )


def _top(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -(f.estimated_monthly_savings_usd or 0))[:TOP_FINDINGS]


def analyze_fleet(
    s3: S3Client,
    bucket: str,
    scans: Sequence[SnapshotRef | ScanFailure],
    *,
    prices: PriceBook,
    policy: Policy,
    now: datetime,
    run_id: str,
    home: Home,
) -> FleetAnalysis:
    plans: list[PlanSummary] = []
    unscanned: list[ScanFailure] = []
    actionable: list[Finding] = []
    top: list[Finding] = []
    for scan in scans:
        if isinstance(scan, ScanFailure):
            unscanned.append(scan)
            continue
        snapshot = load_snapshot(s3, bucket, scan)
        plan = plan_for(snapshot, prices, policy, now, home=home)
        key = store_plan(s3, bucket, plan, execution_id=run_id, account_id=snapshot.account_id)
        plans.append(
            summarize_plan(
                plan,
                account_id=snapshot.account_id,
                plan_key=key,
                report_only=not home.covers(snapshot.account_id, snapshot.region),
            )
        )
        actionable += [finding for finding in plan.findings if is_actionable(finding)]
        top = _top(top + [finding for finding in plan.findings if finding.action != Action.NONE])
    actions, deferred = choose_actions(actionable, policy, run_id=run_id)
    return FleetAnalysis(
        plans=plans, unscanned=unscanned, actions=actions, deferred=deferred, top_findings=top
    )
