"""Analyze for many targets: each target's snapshot, one at a time, into one plan per target in S3.

`analyze_target` is the one way a snapshot becomes a plan, for the Analyze Lambda (through
`analyze_fleet`) and the CLI alike. Only one snapshot is in memory at a time. What stays is small whatever the fleet: a summary per target,
the findings that could be acted on (the stack's own account and region only), and the top findings
for the report. MaxActionsPerRun applies across all targets, largest known saving first.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from endpoint_optimizer.decide.plan import choose_actions, hold_back, is_actionable, plan_for
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.infra.artifacts import (
    PLANS_PREFIX,
    SnapshotRef,
    load_snapshot,
    run_folder,
    store_plan,
)
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import (
    TOP_FINDINGS,
    Action,
    Finding,
    FleetAnalysis,
    Holds,
    LeftForLater,
    Plan,
    PlanSummary,
    ScanFailure,
    ScanSnapshot,
)

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


def _for_the_report(finding: Finding) -> Finding:
    """What the report shows of a top finding (its first reason, no evidence or scan facts): small."""
    return Finding(
        endpoint_name=finding.endpoint_name,
        account_id=finding.account_id,
        region=finding.region,
        action=finding.action,
        target=finding.target,
        current_monthly_cost_usd=finding.current_monthly_cost_usd,
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        confidence=finding.confidence,
        reasons=finding.reasons[:1],
        blocked_by=finding.blocked_by,
    )


# ---------------------------------------------------------------------------- the size of the state
# The input and output of every Step Functions state is at most 262,144 bytes of UTF-8 JSON ("Maximum
# input or output size for a task, state, or execution", Step Functions service quotas; the API's
# StateEnteredEventDetails.input max length 262144 bytes; read 2026-12-01). Analyze's output is the run's
# state until the end, where "Process each action" adds one result per action and "Summarize run" its
# subject, so Analyze keeps room for them.
STATE_LIMIT_BYTES = 262_144
RESULT_RESERVE_BYTES = 800  # one Map result: ActionResult with a 63-char name and a detail up to 500 chars
STATE_MARGIN_BYTES = 17_408  # the summary's subject, and the report/summary errors a Catch may add
# Long lists are cut to this many names in the state (and the messages); the whole lists go to S3.
LIST_KEPT = 50
LEFT_FOR_LATER = "left-for-later.json"


def state_budget(policy: Policy) -> int:
    """Bytes Analyze's output may use so the state stays under the limit until the end of the run."""
    return STATE_LIMIT_BYTES - RESULT_RESERVE_BYTES * policy.max_actions_per_run - STATE_MARGIN_BYTES


def state_bytes(analysis: FleetAnalysis) -> int:
    """Bytes of the JSON the Lambda runtime returns (json.dumps with its default separators)."""
    return len(json.dumps(analysis.model_dump(mode="json")).encode("utf-8"))


def fit_state(analysis: FleetAnalysis, budget: int) -> tuple[FleetAnalysis, list[str]]:
    """`analysis` within `budget` bytes. The lists are cut already, so what can still be too large is the
    actions (MaxActionsPerRun up to 100, across up to 150 targets): the last chosen (lowest priority) wait
    for a later run, first in the deferred list. Returns the analysis and the names it deferred."""
    actions = list(analysis.actions)
    moved: list[str] = []
    fitted = analysis
    while (over := state_bytes(fitted) - budget) > 0:
        if not actions:
            raise RuntimeError(
                f"the run's state is {over:,} bytes over its {budget:,}-byte budget without actions"
            )
        while actions and over > 0:  # estimate, then check the whole again (the deferred names grow)
            action = actions.pop()
            over -= len(json.dumps(action.model_dump(mode="json")).encode("utf-8")) + len(", ")
            moved.insert(0, action.finding.endpoint_name)
        fitted = analysis.model_copy(
            update={
                "actions": actions,
                "deferred": (moved + analysis.deferred)[:LIST_KEPT],
                "later": analysis.later.model_copy(
                    update={"deferred_total": analysis.later.deferred_total + len(moved)}
                ),
            }
        )
    return fitted, moved


ReadHolds = Callable[[Sequence[Finding]], Holds]


def analyze_target(
    snapshot: ScanSnapshot,
    prices: PriceBook,
    policy: Policy,
    now: datetime,
    *,
    home: Home | None = None,
    read_holds: ReadHolds | None = None,
) -> tuple[Plan, list[str]]:
    """One target's plan: every endpoint decided, then the findings that could be proposed but must wait
    (`read_holds`: open approvals, recent rejections) blocked with the reason. Returns the plan and the
    "<endpoint>: <reason>" lines of those that wait. `home` None: nothing is report-only (the CLI)."""
    plan = plan_for(snapshot, prices, policy, now, home=home)
    candidates = [finding for finding in plan.findings if is_actionable(finding)]
    if read_holds is None or not candidates:
        return plan, []
    return hold_back(plan, read_holds(candidates), policy, now)


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
    read_holds: ReadHolds | None = None,
) -> FleetAnalysis:
    """`read_holds` reads the open approvals and rejections of the endpoints that could be proposed (the
    state table); those endpoints wait, blocked with the reason in their plan, and leave their place."""
    plans: list[PlanSummary] = []
    unscanned: list[ScanFailure] = []
    actionable: list[Finding] = []
    waiting: list[str] = []
    top: list[Finding] = []
    for scan in scans:
        if isinstance(scan, ScanFailure):
            # AWS error messages are short; a bound keeps 150 unreadable targets small in the state.
            unscanned.append(scan.model_copy(update={"message": scan.message[:300]}))
            continue
        snapshot = load_snapshot(s3, bucket, scan)
        plan, held = analyze_target(snapshot, prices, policy, now, home=home, read_holds=read_holds)
        waiting += held
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
    whole_key = f"{PLANS_PREFIX}{run_folder(run_id)}/{LEFT_FOR_LATER}"
    analysis = FleetAnalysis(
        plans=plans,
        unscanned=unscanned,
        actions=actions,
        deferred=deferred[:LIST_KEPT],
        top_findings=[_for_the_report(finding) for finding in top],
        later=LeftForLater(
            deferred_total=len(deferred),
            waiting=waiting[:LIST_KEPT],
            waiting_total=len(waiting),
            whole_list=f"s3://{bucket}/{whole_key}",
        ),
    )
    analysis, moved = fit_state(analysis, state_budget(policy))
    deferred = moved + deferred
    if not deferred and not waiting:
        return analysis.model_copy(update={"later": LeftForLater()})
    # The whole lists, which the state and the messages cut (the plans hold every finding and its reasons).
    document = {
        "account_id": home.account_id,
        "region": home.region,
        "deferred": deferred,
        "waiting": waiting,
    }
    body = json.dumps(document, indent=2) + "\n"
    s3.put_object(Bucket=bucket, Key=whole_key, Body=body.encode("utf-8"), ContentType="application/json")
    return analysis
