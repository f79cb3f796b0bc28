"""The fix ladder's walk: the guards, then the registered rungs in ladder order. No boto3 here.

`decide(scanned, prices, policy, now)` applies the guards (opted out, not InService, serverless
already, new, recently changed, signal missing), then looks for a change inside the window (traffic
that started, stopped, moved or grows; utilisation that rises: `changes_of`), then walks the ladder
from the least risky, largest-saving fix down (`rules.LADDER`, one module per rung), and returns the
first fix that applies. A change holds every rung that takes capacity away until the new pattern can be
judged, and a new pattern that has lasted long enough is judged on itself. A fix whose preconditions are
met but that something forbids (including "window too short": a pattern seen fewer than two times) is
returned with `blocked_by` only when no other fix applies, so the plan still says what it would take.
`decide_fleet` then runs the fleet-level rungs (consolidate) over a target's findings.
"""

from __future__ import annotations

import math
from datetime import datetime

from endpoint_optimizer.decide.changes import changes_of, hourly_of
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.rules import LADDER, Context, Proposal, Rung
from endpoint_optimizer.decide.signals import instance_specs, is_accelerated, reading, traffic_of
from endpoint_optimizer.decide.thresholds import UTILIZATION_COVERAGE
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import (
    Action,
    Finding,
    ScannedEndpoint,
    ScanSnapshot,
    UnscannedEndpoint,
    VariantMetrics,
)

# What every decision reads, whichever rung judges it (a rung's own `reads` come on top): the scan's
# inventory (scan/inventory.py: ListEndpoints, DescribeEndpoint, DescribeEndpointConfig, the inference
# components), the skip tag (tagging GetResources) and the metrics (scan/metrics.py: GetMetricData).
GUARD_READS = (
    "sagemaker:ListEndpoints",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DescribeInferenceComponent",
    "tag:GetResources",
    "cloudwatch:GetMetricData",
    # Granted with the tag reads since the first version; the scan itself reads tags through GetResources
    # only (tests/integration/test_scanner.py). Whether GetResources needs it for SageMaker resources is
    # not confirmed by a source we read: dropping it is a change of IAM, not of this registry.
    "sagemaker:ListTags",
)
ENDPOINT_RUNGS = tuple((entry, entry.evaluate) for entry in LADDER if entry.evaluate is not None)
FLEET_RUNGS = tuple((entry, entry.evaluate_fleet) for entry in LADDER if entry.evaluate_fleet is not None)


def _expected_days(metrics: VariantMetrics, lifetime_days: int) -> int:
    return max(1, min(metrics.window_days, lifetime_days))


def utilization_present(metrics: VariantMetrics | None, lifetime_days: int) -> bool:
    if metrics is None or metrics.window_days == 0:
        return False
    return metrics.cpu_days_reported >= math.ceil(
        UTILIZATION_COVERAGE * _expected_days(metrics, lifetime_days)
    )


SECONDS_PER_DAY = 86400


def decide(scanned: ScannedEndpoint, prices: PriceBook, policy: Policy, now: datetime) -> Finding:
    endpoint = scanned.endpoint
    monthly_cost, unknown_prices = prices.monthly_cost(endpoint.region, endpoint.variants)
    price_note = (
        [f"hourly price unknown for {', '.join(unknown_prices)} in {endpoint.region}: cost not estimated"]
        if unknown_prices
        else []
    )
    price_note += list(prices.notes)  # e.g. "live prices unavailable, bundled table used"
    base = {
        "endpoint_name": endpoint.name,
        "account_id": endpoint.account_id,
        "region": endpoint.region,
        "current_monthly_cost_usd": monthly_cost,
    }

    def leave_alone(
        reasons: list[str], *, blocked_by: list[str] | None = None, **evidence: float | int | str
    ) -> Finding:
        return Finding(
            **base,
            action=Action.NONE,
            estimated_monthly_savings_usd=0.0 if monthly_cost is not None else None,
            reasons=[*reasons, *price_note],
            blocked_by=blocked_by or [],
            evidence=dict(evidence),
        )

    if endpoint.tags.get(policy.skip_tag_key, "").strip().lower() == "true":
        return leave_alone(
            [f"opted out: tag {policy.skip_tag_key}=true"], blocked_by=[f"tag {policy.skip_tag_key}=true"]
        )
    if endpoint.status != "InService":
        return leave_alone([f"status is {endpoint.status}, not InService"], blocked_by=["not InService"])
    if endpoint.variants and all(variant.is_serverless for variant in endpoint.variants):
        return leave_alone(["already on Serverless Inference: it scales to zero and bills per use"])
    age_days = (now - endpoint.created_at).total_seconds() / SECONDS_PER_DAY
    changed_days = (now - endpoint.last_modified_at).total_seconds() / SECONDS_PER_DAY
    if age_days < policy.grace_days:
        return leave_alone(
            [f"created {age_days:.1f} days ago, within the {policy.grace_days}-day grace period"],
            blocked_by=["grace period"],
            age_days=round(age_days, 1),
        )
    if changed_days < policy.grace_days:
        return leave_alone(
            [f"changed {changed_days:.1f} days ago, within the {policy.grace_days}-day grace period"],
            blocked_by=["grace period"],
            changed_days=round(changed_days, 1),
        )

    variant_metrics = {m.variant_name: m for m in scanned.metrics if m.scope == "variant"}
    lifetime_days = int(age_days)
    instance_variants = [v for v in endpoint.variants if not v.is_serverless]
    for variant in instance_variants:
        found = variant_metrics.get(variant.name)
        if not utilization_present(found, lifetime_days):
            reported = found.cpu_days_reported if found else 0
            expected = _expected_days(found, lifetime_days) if found else policy.lookback_days
            return leave_alone(
                [
                    f"signal missing: CPUUtilization reported on {reported} of {expected} days on variant "
                    f"{variant.name}; without utilisation metrics an endpoint with no invocations cannot be "
                    "told apart from an unmonitored one"
                ],
                blocked_by=["signal missing"],
                cpu_days_reported=reported,
                window_days=expected,
            )

    all_metrics = list(scanned.metrics)
    lifetime_hours = int(age_days * 24)
    # Change inside the window first: a new pattern holds the capacity-reducing rungs until it can be
    # judged, and once it can, it is judged on itself (from its first hour), not diluted by the old one.
    hourly = hourly_of(all_metrics, lifetime_hours)
    changes = (
        changes_of(hourly, variant_metrics, instance_variants, policy.lookback_days)
        if hourly is not None and any(value > 0 for value in hourly.values)
        else []
    )
    holding = [change for change in changes if change.hold]
    since = next((c.first_hour for c in changes if c.kind == "started" and not c.hold), None)
    traffic = traffic_of(
        all_metrics,
        lifetime_hours,
        first_hour=None if since is None or hourly is None else hourly.offset + since,
    )
    ctx = Context(
        scanned=scanned,
        prices=prices,
        policy=policy,
        now=now,
        age_days=age_days,
        changed_days=changed_days,
        monthly_cost=monthly_cost,
        unknown_prices=unknown_prices,
        variant_metrics=variant_metrics,
        component_metrics=[m for m in all_metrics if m.scope == "inference_component"],
        traffic=traffic,
        changes=changes,
    )
    change_notes = [change.reason for change in changes]
    blocked: tuple[Rung, Proposal] | None = None
    for candidate, evaluate in ENDPOINT_RUNGS:
        if holding and candidate.reduces_capacity:
            continue
        proposal = evaluate(ctx)
        if proposal is None:
            continue
        if proposal.blocked_by:
            blocked = blocked or (candidate, proposal)
            continue
        return _finding(base, candidate, proposal, [*change_notes, *price_note])
    if holding:
        # Advice that is blocked anyway (e.g. Graviton without an arm64 image) says less than the change.
        first = holding[0]
        return leave_alone(
            [
                *change_notes,
                "park, scale to zero, serverless, schedule and rightsize take capacity away: none is "
                "considered until the new pattern can be judged",
            ],
            blocked_by=["traffic changed"],
            change=first.kind,
            changed_at=first.at.isoformat(),
            invocations=round(traffic.total),
            hours_with_traffic=traffic.hours_with_traffic,
            window_hours=traffic.expected_hours,
        )
    if blocked is not None:
        return _finding(base, *blocked, [*change_notes, *price_note])

    in_use, missing, evidence = _utilisation_verdict(ctx)
    span = (
        f"{policy.lookback_days} days"
        if since is None
        else f"the {traffic.observed_days:.1f} days since traffic started"
    )
    reasons = [
        f"in use: {traffic.total:.0f} invocations in {span}, traffic in "
        f"{traffic.hours_with_traffic} of {traffic.expected_hours} hours, {in_use}",
        *missing,
        *change_notes,
    ]
    idle_variants = [m.variant_name for m in variant_metrics.values() if m.invocations_total == 0]
    if idle_variants and len(variant_metrics) > 1:
        reasons.append(
            f"variant {', '.join(idle_variants)} had 0 invocations; removing one variant is not proposed yet"
        )
    return leave_alone(
        reasons,
        blocked_by=["signal missing"] if ctx.unreadable_types else None,
        invocations=round(traffic.total),
        hours_with_traffic=traffic.hours_with_traffic,
        window_hours=traffic.expected_hours,
        **evidence,
    )


def _utilisation_verdict(ctx: Context) -> tuple[str, list[str], dict[str, float | int | str]]:
    """The peaks an in-use endpoint reached, in its instance's terms ("peak CPU 96 % of 800 % = 12 % of
    the instance"), and what could not be read that way (signal missing, never a guess)."""
    cpu, gpu = ctx.peak("cpu"), ctx.peak("gpu")
    parts = [item.describe() for item in (cpu, gpu) if item is not None]
    evidence: dict[str, float | int | str] = {}
    if cpu is not None:
        evidence |= {"peak_cpu": round(cpu.share, 1), "peak_cpu_published": round(cpu.published, 1)}
    if gpu is not None:
        evidence |= {"peak_gpu": round(gpu.share, 1), "peak_gpu_published": round(gpu.published, 1)}
    missing: list[str] = []
    unknown = ctx.unreadable_types
    if unknown:
        published = [
            value
            for v in ctx.instance_variants
            if v.name in ctx.variant_metrics
            and (value := ctx.variant_metrics[v.name].cpu_max_percent) is not None
        ]
        if cpu is None and published:
            parts.append(f"peak CPU {max(published):.0f} % summed over an unknown number of vCPUs")
        missing.append(
            f"signal missing: {', '.join(unknown)} not in the instance specs, so its utilisation cannot be read "
            "as a share of the instance (CloudWatch sums CPU over vCPUs and GPU over GPUs); rightsizing and "
            "consolidation not considered"
        )
    accelerated_blind = [
        v.instance_type
        for v in ctx.instance_variants
        if is_accelerated(v.instance_type)
        and v.instance_type in instance_specs()
        and (v.name not in ctx.variant_metrics or reading(ctx.variant_metrics[v.name], v, "gpu") is None)
    ]
    if accelerated_blind:
        missing.append(
            f"no GPU utilisation for {', '.join(sorted(set(accelerated_blind)))} (not reported, or a Neuron "
            "device, which publishes none): accelerator load unknown, so it is not rightsized on CPU alone"
        )
    return (", ".join(parts) if parts else "peak CPU unknown"), missing, evidence


REPORT_ONLY_NOTE = (
    "reported with its savings; this tool does not apply {action} yet, so no approval is requested"
)


def _finding(
    base: dict[str, str | float | None], candidate: Rung, proposal: Proposal, notes: list[str]
) -> Finding:
    """`notes`: what the window's changes and the prices add to the rung's own reasons."""
    report_only = [] if candidate.applied else [REPORT_ONLY_NOTE.format(action=candidate.action.value)]
    return Finding(
        **base,
        action=candidate.action,
        target=proposal.target,
        estimated_monthly_savings_usd=proposal.savings,
        confidence=proposal.confidence,
        reasons=[*proposal.reasons, *notes, *report_only],
        blocked_by=list(proposal.blocked_by),
        evidence=proposal.evidence,
    )


def unscanned_finding(item: UnscannedEndpoint, snapshot: ScanSnapshot) -> Finding:
    """An endpoint the scan listed but could not read this run: in the plan, with why, never acted on."""
    return Finding(
        endpoint_name=item.name,
        account_id=snapshot.account_id,
        region=snapshot.region,
        action=Action.NONE,
        reasons=[f"signal missing: {item.reason}"],
        blocked_by=["signal missing"],
    )


def decide_fleet(findings: list[Finding], scanned: list[ScannedEndpoint], prices: PriceBook) -> list[Finding]:
    """The fleet-level rungs, in ladder order, over every finding of a target (after `decide`)."""
    for _, evaluate_fleet in FLEET_RUNGS:
        findings = evaluate_fleet(findings, scanned, prices)
    return findings
