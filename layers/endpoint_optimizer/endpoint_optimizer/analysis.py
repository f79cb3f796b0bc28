"""Analyze for many targets: each target's snapshot, one at a time, into one plan per target in S3.

`analyze_target` is the one way a snapshot becomes a plan, for the Analyze Lambda (through
`analyze_fleet`) and the CLI alike. Only one snapshot is in memory at a time. What stays is small whatever the fleet: a summary per target,
the findings that could be acted on (the stack's own account and region only), and the top findings
for the report. MaxActionsPerRun applies across all targets, largest known saving first.

The moves a benchmark confirms (rightsize, Graviton, serverless; the registry's `confirm`) leave Analyze
as `to_confirm`, within the run's MaxRecommenderSpendUSD; the workflow benchmarks them ("Confirm moves")
and `fold_confirmations` writes what the benchmarks said into the plans, their summaries, the report's
top findings and the run's actions. Such a move is never one of Analyze's actions: the action chosen for
it waits on its `to_confirm` item and joins the actions only once its job COMPLETED with a chosen option,
so a move that is pending, failed, refuted or never folded (the fold failed) is not sent for approval.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from endpoint_optimizer.confirm.jobs import within_spend_cap
from endpoint_optimizer.decide.confirm.candidates import blockers_a_benchmark_clears, candidates_for
from endpoint_optimizer.decide.confirm.job import estimated_job_cost
from endpoint_optimizer.decide.plan import (
    choose_actions,
    hold_back,
    is_actionable,
    largest_saving_first,
    plan_for,
)
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.rules import risk_rank
from endpoint_optimizer.infra.artifacts import (
    PLANS_PREFIX,
    SnapshotRef,
    load_plan,
    load_snapshot,
    run_folder,
    store_plan,
)
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import (
    COMPLETED,
    TOP_FINDINGS,
    Action,
    ConfirmedMove,
    Finding,
    FleetAnalysis,
    Holds,
    LeftForLater,
    MoveToConfirm,
    Plan,
    PlanSummary,
    ProposedAction,
    ScanFailure,
    ScanSnapshot,
    endpoint_key,
)
from endpoint_optimizer.notify.confirmation_text import summary as confirmation_summary
from endpoint_optimizer.registry import applies_without_approval, confirmed_by_benchmark

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
    """What the report shows of a top finding (its first reason, or what its benchmark measured; no
    evidence or scan facts): small."""
    measured = confirmation_summary(finding)
    return Finding(
        endpoint_name=finding.endpoint_name,
        account_id=finding.account_id,
        region=finding.region,
        action=finding.action,
        target=finding.target,
        current_monthly_cost_usd=finding.current_monthly_cost_usd,
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        confidence=finding.confidence,
        reasons=[measured] if measured else finding.reasons[:1],
        blocked_by=finding.blocked_by,
        confirmation=finding.confirmation,  # what a benchmark measured: the report shows it
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
# The moves a run benchmarks (jobs, and those the spend cap defers) travel in the state, and each comes
# back from "Confirm moves" as its confirmed finding (up to 10 options) until they are folded into the plans.
MAX_MOVES_TO_CONFIRM = 10
CONFIRMATION_RESERVE_BYTES = 6_000  # a finding (its scan facts left in the plan) and up to 10 options
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
    recommender_spend_usd: float | None = None,
) -> FleetAnalysis:
    """`read_holds` reads the open approvals and rejections of the endpoints that could be proposed (the
    state table); those endpoints wait, blocked with the reason in their plan, and leave their place.
    `recommender_spend_usd` (MaxRecommenderSpendUSD) bounds the run's benchmarks (None: none are chosen)."""
    plans: list[PlanSummary] = []
    unscanned: list[ScanFailure] = []
    actionable: list[Finding] = []
    to_benchmark: list[tuple[Finding, str]] = []
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
        to_benchmark += [(finding, key) for finding in plan.findings if wants_benchmark(finding)]
        top = _top(top + [finding for finding in plan.findings if finding.action != Action.NONE])
    actions, deferred = choose_actions(
        actionable, policy, run_id=run_id, applies_without_approval=applies_without_approval
    )
    to_confirm = (
        [] if recommender_spend_usd is None else moves_to_confirm(to_benchmark, prices, recommender_spend_usd)
    )
    actions, to_confirm, not_benchmarked = hold_for_confirmation(actions, to_confirm)
    deferred += not_benchmarked  # their turn comes when a later run benchmarks them
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
        to_confirm=to_confirm,
    )
    # Each move to confirm comes back into the state with its confirmation before it is folded away.
    reserve = CONFIRMATION_RESERVE_BYTES * len(analysis.to_confirm)
    analysis, moved = fit_state(analysis, state_budget(policy) - reserve)
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


# ------------------------------------------------------------------ moves confirmed by a benchmark
def wants_benchmark(finding: Finding) -> bool:
    """A move a benchmark confirms (the registry's `confirm`), nothing blocks it (report-only, an open
    approval, a short window...) but what the benchmark itself answers (a Graviton move's missing arm64
    image, when the image has a known arm64 build), and there is something to benchmark."""
    cleared = blockers_a_benchmark_clears(finding)
    blocked = [blocker for blocker in finding.blocked_by if blocker not in cleared]
    return confirmed_by_benchmark(finding.action) and not blocked and bool(candidates_for(finding))


def estimated_benchmark_cost(finding: Finding, prices: PriceBook) -> float | None:
    """What benchmarking `finding`'s candidates costs, estimated on the job's EndpointConfigurations (the
    load phase is the job's standard one, whatever the traffic); None when a price is unknown."""
    configurations = [candidate.endpoint_configuration() for candidate in candidates_for(finding)]
    return estimated_job_cost(
        {"InputConfig": {"EndpointConfigurations": configurations}}, prices, finding.region
    )


def moves_to_confirm(
    candidates: Sequence[tuple[Finding, str]], prices: PriceBook, spend_usd: float
) -> list[MoveToConfirm]:
    """The largest savings first, at most MAX_MOVES_TO_CONFIRM: those within `spend_usd` get a job, the
    others go through the map deferred, so their plan says why they are not confirmed."""
    chosen = sorted(candidates, key=lambda pair: -(pair[0].estimated_monthly_savings_usd or 0))
    chosen = chosen[:MAX_MOVES_TO_CONFIRM]
    keys = [endpoint_key(f.account_id, f.region, f.endpoint_name) for f, _ in chosen]
    costs = [estimated_benchmark_cost(finding, prices) for finding, _ in chosen]
    cap = within_spend_cap([(k, c) for k, c in zip(keys, costs, strict=True) if c is not None], spend_usd)
    items: list[MoveToConfirm] = []
    for (finding, plan_key), key, cost in zip(chosen, keys, costs, strict=True):
        types = [c.instance_type for c in candidates_for(finding) if c.instance_type]
        hourly = {t: price.usd_per_hour for t in types if (price := prices.hourly(finding.region, t))}
        serverless = prices.serverless_usd_per_gb_second(finding.region)
        unknown = f"deferred: no price for {', '.join(sorted(set(types) - set(hourly))) or 'serverless'} "
        unknown += (
            f"in {finding.region}, so the cost of its benchmark cannot be held to MaxRecommenderSpendUSD"
        )
        items.append(
            MoveToConfirm(
                finding=finding,
                plan_key=plan_key,
                estimated_job_cost_usd=cost,
                deferred=unknown if cost is None else cap.deferred.get(key),
                hourly_usd=hourly,
                serverless_usd_per_gb_second=None if serverless is None else serverless.usd_per_gb_second,
            )
        )
    return items


def hold_for_confirmation(
    actions: Sequence[ProposedAction], to_confirm: Sequence[MoveToConfirm]
) -> tuple[list[ProposedAction], list[MoveToConfirm], list[str]]:
    """Analyze's actions without the moves a benchmark confirms: each such action waits on its move's
    `to_confirm` item (`proposal`) until `fold_confirmations` has the job's verdict. Returns the actions
    asked about now, the moves (with the actions they hold) and the names of the chosen moves no job
    benchmarks this run (beyond MAX_MOVES_TO_CONFIRM, or no spend allowed): deferred, never asked unconfirmed."""
    moves = {
        endpoint_key(m.finding.account_id, m.finding.region, m.finding.endpoint_name) for m in to_confirm
    }
    now: list[ProposedAction] = []
    held: dict[str, ProposedAction] = {}
    not_benchmarked: list[str] = []
    for action in actions:
        finding = action.finding
        key = endpoint_key(finding.account_id, finding.region, finding.endpoint_name)
        if not confirmed_by_benchmark(finding.action):
            now.append(action)
        elif key in moves:  # the plan keeps the scan facts; the fold takes the finding from there
            held[key] = action.model_copy(update={"finding": finding.model_copy(update={"scan": None})})
        else:
            not_benchmarked.append(finding.endpoint_name)
    waiting = [
        move.model_copy(
            update={
                "proposal": held.get(
                    endpoint_key(move.finding.account_id, move.finding.region, move.finding.endpoint_name)
                )
            }
        )
        for move in to_confirm
    ]
    return now, waiting, not_benchmarked


def is_confirmed(finding: Finding) -> bool:
    """A move worth asking about: its Inference Recommender job COMPLETED and chose an option, and nothing
    (a saving the price book does not see, a blocker) holds it back."""
    confirmation = finding.confirmation
    return (
        is_actionable(finding)
        and confirmation is not None
        and confirmation.status == COMPLETED
        and confirmation.chosen is not None
    )


def confirmed_actions(actions: Sequence[ProposedAction], folded: dict[str, Finding]) -> list[ProposedAction]:
    """The run's actions once the benchmarks are in: each move (the registry's `confirm`) with its finding
    as confirmed (`folded`, by endpoint key: target, savings, confidence, the job's numbers) and only when
    `is_confirmed`; a refuted, pending, failed or never-benchmarked move is dropped (its plan says why).
    Other actions as they were. Smallest risk first, then the largest saving, as Analyze orders them."""
    kept: list[ProposedAction] = []
    for action in actions:
        if not confirmed_by_benchmark(action.finding.action):
            kept.append(action)
            continue
        original = action.finding
        finding = folded.get(endpoint_key(original.account_id, original.region, original.endpoint_name))
        if finding is not None and is_confirmed(finding):
            kept.append(action.model_copy(update={"finding": finding}))
    return sorted(kept, key=lambda a: (risk_rank(a.finding.action), *largest_saving_first(a.finding)))


def _folded(original: Finding, move: ConfirmedMove) -> Finding:
    """The plan's finding as the benchmark left it (its scan facts kept); a failed step leaves it as it
    was, unconfirmed, with the error."""
    if move.error is not None:
        error = move.error.get("Error") or "error"
        return original.model_copy(
            update={"blocked_by": [*original.blocked_by, f"unconfirmed: the benchmark step failed ({error})"]}
        )
    return move.finding.model_copy(update={"scan": original.scan})


def fold_confirmations(
    s3: S3Client, bucket: str, analysis: FleetAnalysis, confirmations: Sequence[ConfirmedMove], *, run_id: str
) -> FleetAnalysis:
    """Each plan with a confirmed move rewritten in place (same key), its summary recomputed, the
    report's top findings replaced by their confirmed versions (re-ranked: a saving may have changed), and
    the actions the moves held (`MoveToConfirm.proposal`) added to the run's actions when confirmed
    (`confirmed_actions`): only then are they sent for approval."""
    by_plan: dict[str, dict[str, ConfirmedMove]] = {}
    for move in confirmations:
        by_plan.setdefault(move.plan_key, {})[move.finding.endpoint_name] = move
    summaries = {summary.plan_key: summary for summary in analysis.plans}
    folded: dict[str, Finding] = {}
    for key, moves in by_plan.items():
        summary = summaries[key]
        plan = load_plan(s3, bucket, key)
        findings = [
            _folded(f, moves[f.endpoint_name]) if f.endpoint_name in moves else f for f in plan.findings
        ]
        plan = plan.model_copy(update={"findings": findings})
        written = store_plan(s3, bucket, plan, execution_id=run_id, account_id=summary.account_id)
        if written != key:
            raise RuntimeError(f"the plan {key} would be written to {written}: not this run's plan")
        summaries[key] = summarize_plan(
            plan, account_id=summary.account_id, plan_key=key, report_only=summary.report_only
        )
        folded |= {endpoint_key(f.account_id, f.region, f.endpoint_name): f for f in findings}
    top = [
        _for_the_report(folded.get(endpoint_key(f.account_id, f.region, f.endpoint_name), f))
        for f in analysis.top_findings
    ]
    held = [move.proposal for move in analysis.to_confirm if move.proposal is not None]
    return analysis.model_copy(
        update={
            "plans": [summaries[s.plan_key] for s in analysis.plans],
            "top_findings": _top(top),
            "actions": confirmed_actions([*analysis.actions, *held], folded),
            "to_confirm": [],
        }
    )
