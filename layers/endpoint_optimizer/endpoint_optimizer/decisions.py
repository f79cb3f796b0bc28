"""Decisions are pure: scanned endpoint + prices + policy + now -> Finding, with reasons in numbers.

No boto3 here. The same reason text goes to the plan, Slack, SNS and the ledger.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from endpoint_optimizer.models import (
    Action,
    Analysis,
    Finding,
    Plan,
    ProposedAction,
    ScannedEndpoint,
    ScanSnapshot,
    VariantMetrics,
)
from endpoint_optimizer.pricing import PriceBook
from endpoint_optimizer.settings import Policy

# Utilisation counts as "present" when CPUUtilization was reported on at least this share of the
# look-back days. Below it, missing data could be an agent outage or wrong dimensions, not idleness.
UTILIZATION_COVERAGE = 0.9
SECONDS_PER_DAY = 86400


def decide(scanned: ScannedEndpoint, prices: PriceBook, policy: Policy, now: datetime) -> Finding:
    endpoint = scanned.endpoint
    monthly_cost, unknown_prices = prices.monthly_cost(endpoint.region, endpoint.variants)
    base = {
        "endpoint_name": endpoint.name,
        "account_id": endpoint.account_id,
        "region": endpoint.region,
        "current_monthly_cost_usd": monthly_cost,
    }
    price_note = (
        [f"hourly price unknown for {', '.join(unknown_prices)} in {endpoint.region}: cost not estimated"]
        if unknown_prices
        else []
    )

    def leave_alone(
        reason: str, *, blocked_by: list[str] | None = None, **evidence: float | int | str
    ) -> Finding:
        return Finding(
            **base,
            action=Action.NONE,
            estimated_monthly_savings_usd=0.0 if monthly_cost is not None else None,
            reasons=[reason, *price_note],
            blocked_by=blocked_by or [],
            evidence=dict(evidence),
        )

    if endpoint.tags.get(policy.skip_tag_key, "").strip().lower() == "true":
        return leave_alone(
            f"opted out: tag {policy.skip_tag_key}=true",
            blocked_by=[f"tag {policy.skip_tag_key}=true"],
        )
    if endpoint.status != "InService":
        return leave_alone(f"status is {endpoint.status}, not InService", blocked_by=["not InService"])
    if endpoint.variants and all(variant.is_serverless for variant in endpoint.variants):
        return leave_alone("already on Serverless Inference: it scales to zero and bills per use")

    age_days = (now - endpoint.created_at).total_seconds() / SECONDS_PER_DAY
    changed_days = (now - endpoint.last_modified_at).total_seconds() / SECONDS_PER_DAY
    if age_days < policy.grace_days:
        return leave_alone(
            f"created {age_days:.1f} days ago, within the {policy.grace_days}-day grace period",
            blocked_by=["grace period"],
            age_days=round(age_days, 1),
        )
    if changed_days < policy.grace_days:
        return leave_alone(
            f"changed {changed_days:.1f} days ago, within the {policy.grace_days}-day grace period",
            blocked_by=["grace period"],
            changed_days=round(changed_days, 1),
        )

    metrics = {item.variant_name: item for item in scanned.metrics if item.scope == "variant"}
    instance_variants = [variant for variant in endpoint.variants if not variant.is_serverless]
    lifetime_days = int(age_days)  # a young endpoint can only have reported since it was created
    missing = [
        (variant.name, metrics.get(variant.name))
        for variant in instance_variants
        if not _utilization_present(metrics.get(variant.name), lifetime_days)
    ]
    if missing:
        name, variant_metrics = missing[0]
        reported = variant_metrics.cpu_days_reported if variant_metrics else 0
        expected = _expected_days(variant_metrics, lifetime_days) if variant_metrics else policy.lookback_days
        return leave_alone(
            f"signal missing: CPUUtilization reported on {reported} of {expected} days on variant {name}; "
            "without utilisation metrics an endpoint with no invocations cannot be told apart from an "
            "unmonitored one",
            blocked_by=["signal missing"],
            cpu_days_reported=reported,
            window_days=expected,
        )

    total_invocations = sum(item.invocations_total for item in scanned.metrics)
    window_hours = max((item.window_hours for item in scanned.metrics), default=policy.lookback_days * 24)
    variant_metrics_present = [metrics[v.name] for v in instance_variants if v.name in metrics]
    cpu_days = min((item.cpu_days_reported for item in variant_metrics_present), default=0)
    expected_days = max((_expected_days(item, lifetime_days) for item in variant_metrics_present), default=0)
    if total_invocations == 0:
        full_window = lifetime_days >= policy.lookback_days
        span = (
            f"{policy.lookback_days} days" if full_window else f"the {age_days:.0f} days since it was created"
        )
        variants = ", ".join(
            f"{variant.name} ({variant.instance_count} x {variant.instance_type})"
            for variant in instance_variants
        )
        return Finding(
            **base,
            action=Action.PARK,
            target=f"parked: endpoint deleted, config {endpoint.config_name} and model kept",
            estimated_monthly_savings_usd=monthly_cost,
            confidence="high" if monthly_cost is not None else "medium",
            reasons=[
                f"0 invocations in {span} while CPU metrics were reported on {cpu_days} of {expected_days} days",
                f"variants: {variants}",
                f"created {age_days:.0f} days ago, last changed {changed_days:.0f} days ago",
                f"one-step way back: endpoint-optimizer restore {endpoint.name}",
                *price_note,
            ],
            evidence={
                "invocations": 0,
                "cpu_days_reported": cpu_days,
                "window_days": expected_days,
                "age_days": round(age_days, 1),
            },
        )

    busy_hours = max(item.hours_with_invocations for item in scanned.metrics)
    idle_variants = [item.variant_name for item in scanned.metrics if item.invocations_total == 0]
    reasons = [
        f"in use: {total_invocations:.0f} invocations in {policy.lookback_days} days, "
        f"traffic in {busy_hours} of {window_hours} hours"
    ]
    if idle_variants:
        reasons.append(
            f"variant {', '.join(idle_variants)} had 0 invocations; removing one variant is not proposed yet"
        )
    return leave_alone(
        reasons[0],
        invocations=round(total_invocations),
        hours_with_traffic=busy_hours,
        window_hours=window_hours,
    ).model_copy(update={"reasons": [*reasons, *price_note]})


def _expected_days(metrics: VariantMetrics, lifetime_days: int) -> int:
    """Days on which a healthy variant reports utilisation: the look-back, or fewer for a young endpoint."""
    return max(1, min(metrics.window_days, lifetime_days))


def _utilization_present(metrics: VariantMetrics | None, lifetime_days: int) -> bool:
    if metrics is None or metrics.window_days == 0:
        return False
    return metrics.cpu_days_reported >= math.ceil(
        UTILIZATION_COVERAGE * _expected_days(metrics, lifetime_days)
    )


def analyze(
    snapshot: ScanSnapshot, prices: PriceBook, policy: Policy, now: datetime, *, run_id: str
) -> Analysis:
    """Decide every endpoint, then choose what to act on this run (blast radius: MaxActionsPerRun)."""
    findings = [decide(scanned, prices, policy, now) for scanned in snapshot.endpoints]
    plan = Plan(
        generated_at=now,
        region=snapshot.region,
        lookback_days=snapshot.lookback_days,
        findings=findings,
    )
    actionable = [finding for finding in findings if finding.action != Action.NONE and not finding.blocked_by]
    # Largest known saving first; unknown savings last (we cannot say what they are worth).
    actionable.sort(
        key=lambda f: (f.estimated_monthly_savings_usd is None, -(f.estimated_monthly_savings_usd or 0))
    )
    if policy.mode == "report":
        return Analysis(plan=plan, actions=[], deferred=[])
    chosen = actionable[: policy.max_actions_per_run]
    actions = [
        ProposedAction(
            action_id=_action_id(run_id, finding.endpoint_name),
            finding=finding,
            mode=policy.mode,
            approval_timeout_seconds=policy.approval_timeout_seconds,
        )
        for finding in chosen
    ]
    return Analysis(
        plan=plan,
        actions=actions,
        deferred=[finding.endpoint_name for finding in actionable[policy.max_actions_per_run :]],
    )


def _action_id(run_id: str, endpoint_name: str) -> str:
    return hashlib.sha256(f"{run_id}|{endpoint_name}".encode()).hexdigest()[:16]
