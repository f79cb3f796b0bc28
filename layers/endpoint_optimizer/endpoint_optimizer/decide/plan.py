"""Decisions are pure: scanned endpoint + prices + policy + now -> Finding, with reasons in numbers.

No boto3 here. The rungs live in `rules` (one module each, one registry) and `ladder` walks them; this
module makes the plan of a target and chooses what to act on this run. The same reason text goes to the
plan, Slack, SNS and the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from endpoint_optimizer.decide.ladder import decide, decide_fleet, unscanned_finding
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.rules import risk_rank, rung_for
from endpoint_optimizer.decide.rules.serverless import within_serverless_quotas
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import (
    Action,
    Finding,
    Holds,
    Plan,
    ProposedAction,
    ScanFacts,
    ScannedEndpoint,
    ScanSnapshot,
    VariantFacts,
)

__all__ = ["choose_actions", "decide", "hold_back", "hold_reason", "is_actionable", "plan_for"]

# Outside the stack's own account and region nothing is applied (the apply function's clients and IAM
# are scoped to them): such findings keep their action and numbers, and say why nobody is asked.
REPORT_ONLY_MEMBER_ACCOUNT = "report only: member account"
REPORT_ONLY_OTHER_REGION = "report only: not this stack's region"


def report_only(finding: Finding, home: Home | None) -> Finding:
    """`finding`, blocked as report-only when it proposes an action outside `home` (None: no restriction,
    as for the CLI, which only reports)."""
    if home is None or finding.action == Action.NONE or home.covers(finding.account_id, finding.region):
        return finding
    reason = REPORT_ONLY_MEMBER_ACCOUNT if finding.account_id != home.account_id else REPORT_ONLY_OTHER_REGION
    return finding.model_copy(update={"blocked_by": [*finding.blocked_by, reason]})


def plan_for(
    snapshot: ScanSnapshot, prices: PriceBook, policy: Policy, now: datetime, *, home: Home | None = None
) -> Plan:
    """One target's plan: every scanned endpoint decided once, then the region's serverless moves held
    to the account's serverless quotas (a target is one account and region: the quotas' scope)."""
    return Plan(
        generated_at=now,
        region=snapshot.region,
        lookback_days=snapshot.lookback_days,
        findings=[
            report_only(finding, home)
            for finding in [
                *within_serverless_quotas(
                    decide_fleet(
                        [
                            with_scan_facts(decide(scanned, prices, policy, now), scanned, snapshot)
                            for scanned in snapshot.endpoints
                        ],
                        snapshot.endpoints,
                        prices,
                    ),
                    snapshot,
                ),
                *(unscanned_finding(item, snapshot) for item in snapshot.unscanned),
            ]
        ],
    )


def scan_facts(scanned: ScannedEndpoint, snapshot: ScanSnapshot) -> ScanFacts:
    """What the scan saw of `scanned`, as apply will compare it with the endpoint as it is then."""
    endpoint = scanned.endpoint
    windows = [
        (m.window_start, m.window_start + timedelta(hours=m.window_hours))
        for m in scanned.metrics
        if m.window_start is not None
    ]
    if windows:
        window_start, window_end = min(start for start, _ in windows), max(end for _, end in windows)
    else:  # no metrics at all: the window the scan asked for (the same hour-aligned look-back)
        window_end = snapshot.scanned_at.replace(minute=0, second=0, microsecond=0)
        window_start = window_end - timedelta(days=snapshot.lookback_days)
    return ScanFacts(
        scanned_at=snapshot.scanned_at,
        endpoint_last_modified_at=endpoint.last_modified_at,
        config_name=endpoint.config_name,
        variants=[
            VariantFacts(
                name=variant.name,
                instance_type=variant.instance_type,
                instance_count=variant.instance_count,
                image=variant.image,
            )
            for variant in endpoint.variants
        ],
        inference_components=[component.name for component in endpoint.inference_components],
        metrics_window_start=window_start,
        metrics_window_end=window_end,
        hourly_invocations=hourly_invocations(scanned, window_start, window_end),
        model_latency_avg_us=max(
            (m.model_latency_avg_us for m in scanned.metrics if m.model_latency_avg_us is not None),
            default=None,
        ),
    )


def hourly_invocations(scanned: ScannedEndpoint, start: datetime, end: datetime) -> list[int] | None:
    """Invocations per hour of the window, summed over the variants (inference components are counted
    within their variant): the approval card's traffic at a glance. None when no variant read any."""
    variants = [m for m in scanned.metrics if m.scope == "variant" and m.window_start is not None]
    if not variants:
        return None
    hours = int((end - start).total_seconds() // 3600)
    series = [0.0] * hours
    for metrics in variants:
        assert metrics.window_start is not None  # filtered above
        offset = int((metrics.window_start - start).total_seconds() // 3600)
        for hour, count in metrics.invocations_by_hour:
            if 0 <= offset + hour < hours:
                series[offset + hour] += count
    return [round(value) for value in series]


def with_scan_facts(finding: Finding, scanned: ScannedEndpoint, snapshot: ScanSnapshot) -> Finding:
    return finding.model_copy(update={"scan": scan_facts(scanned, snapshot)})


def is_actionable(finding: Finding) -> bool:
    """Worth asking a person about this run: a fix, nothing blocking it, and one the apply step can
    carry out (the other rungs are reported with their savings until their apply step exists)."""
    if finding.action == Action.NONE or finding.blocked_by:
        return False
    rung = rung_for(finding.action)
    return rung is not None and rung.applied


def largest_saving_first(finding: Finding) -> tuple[bool, float]:
    """Sort key: largest known saving first; unknown savings last (we cannot say what they are worth)."""
    return (finding.estimated_monthly_savings_usd is None, -(finding.estimated_monthly_savings_usd or 0))


# ------------------------------------------------------------------ one open approval per endpoint
# An endpoint with an approval still open (its lock) or rejected within RejectionCooldownDays is not
# proposed again: it is blocked with the reason, so it never takes one of MaxActionsPerRun's places.


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _on(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def hold_reason(finding: Finding, holds: Holds, policy: Policy, now: datetime) -> str | None:
    """Why `finding` must wait (an open approval, a recent rejection), or None. Times are compared with
    `now`: DynamoDB's TTL deletes expired items days late, so an item read is not necessarily live."""
    lock = holds.lock_for(finding)
    if lock is not None and lock.expires_at > now:
        return f"approval pending since {_at(lock.requested_at)} (approval {lock.approval_id})"
    rejection = holds.rejection_for(finding)
    if rejection is not None:
        until = rejection.rejected_at + timedelta(days=policy.rejection_cooldown_days)
        if now < until:
            rejected = f"rejected by {rejection.rejected_by} on {_on(rejection.rejected_at)}"
            return f"{rejected}, cooldown until {_on(until)}"
    return None


def hold_back(plan: Plan, holds: Holds, policy: Policy, now: datetime) -> tuple[Plan, list[str]]:
    """`plan` with every actionable finding that must wait blocked by its reason (so it stays in the plan
    with the reason, and is not proposed), and the "<endpoint>: <reason>" lines for the report."""
    findings: list[Finding] = []
    waiting: list[str] = []
    for finding in plan.findings:
        reason = hold_reason(finding, holds, policy, now) if is_actionable(finding) else None
        if reason is None:
            findings.append(finding)
            continue
        findings.append(finding.model_copy(update={"blocked_by": [*finding.blocked_by, reason]}))
        waiting.append(f"{finding.endpoint_name}: {reason}")
    return plan.model_copy(update={"findings": findings}), waiting


def choose_actions(
    actionable: list[Finding],
    policy: Policy,
    *,
    run_id: str,
    applies_without_approval: Callable[[Action], bool] = lambda _: False,
) -> tuple[list[ProposedAction], list[str]]:
    """What to act on this run (blast radius: MaxActionsPerRun over all targets) and what is deferred.

    In `auto` mode only the actions `applies_without_approval` (the registry: reversible in one step, low
    risk) skip the approval card; the others always ask."""
    if policy.mode == "report":
        return [], []
    # Smallest risk first (each rung's risk rank: the easiest to undo), then the largest known saving.
    ordered = sorted(actionable, key=lambda f: (risk_rank(f.action), *largest_saving_first(f)))
    chosen: list[Finding] = []
    deferred: list[str] = []
    changed_usd = 0.0
    for finding in ordered:
        cost = finding.current_monthly_cost_usd
        # A change we cannot price cannot be bounded by MaxMonthlyChangeUSD: it waits for a known price.
        within_money = cost is not None and changed_usd + cost <= policy.max_monthly_change_usd
        if len(chosen) < policy.max_actions_per_run and within_money:
            chosen.append(finding)
            changed_usd += cost or 0.0
        else:
            deferred.append(finding.endpoint_name)
    actions = [
        ProposedAction(
            action_id=_action_id(run_id, finding.endpoint_name),
            finding=finding,
            mode="auto" if policy.mode == "auto" and applies_without_approval(finding.action) else "approve",
            approval_timeout_seconds=policy.approval_timeout_seconds,
            rejection_cooldown_days=policy.rejection_cooldown_days,
        )
        for finding in chosen
    ]
    return actions, deferred


def _action_id(run_id: str, endpoint_name: str) -> str:
    return hashlib.sha256(f"{run_id}|{endpoint_name}".encode()).hexdigest()[:16]
