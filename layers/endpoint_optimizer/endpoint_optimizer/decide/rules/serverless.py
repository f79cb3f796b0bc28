"""Serverless Inference: sporadic traffic on a CPU endpoint that fits serverless memory and concurrency
is moved to pay-per-use (the endpoint is recreated: minutes without service).

The account's serverless quotas (serverless endpoints per region, their total MaxConcurrency per region)
are judged per region, after every endpoint of the snapshot was decided (`within_serverless_quotas`,
called by decide.plan.plan_for): a move that one more endpoint or its concurrency would take past a
quota is blocked with the numbers, never sent for an approval that apply would refuse.
"""

from __future__ import annotations

import math

from endpoint_optimizer.decide.changes import Hourly, hourly_of, window_too_short
from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.signals import instance_specs, is_accelerated
from endpoint_optimizer.decide.thresholds import (
    SERVERLESS_MAX_MEMORY_MB,
    SERVERLESS_MEMORY_HEADROOM,
    SERVERLESS_MEMORY_STEP_MB,
    SPORADIC_ACTIVE_SHARE,
    SPORADIC_MAX_CONCURRENCY,
)
from endpoint_optimizer.models import Action, Finding, Quota, ScanSnapshot, ServerlessQuotas


def serverless_memory_mb(used_mb: float) -> int:
    needed = used_mb * SERVERLESS_MEMORY_HEADROOM
    return max(
        SERVERLESS_MEMORY_STEP_MB, math.ceil(needed / SERVERLESS_MEMORY_STEP_MB) * SERVERLESS_MEMORY_STEP_MB
    )


# Minutes without service while the endpoint is recreated: DeleteEndpoint, then CreateEndpoint until the
# serverless endpoint is InService. AWS publishes no figure; said as a range on the card, not promised.
EXPECTED_DOWNTIME = "a few minutes (from DeleteEndpoint until the serverless endpoint is InService)"


def quietest_hour(hourly: Hourly | None) -> tuple[int, float] | None:
    """(hour of the day, UTC; invocations a day in that hour on average) of the endpoint's traffic profile:
    the hour with the fewest invocations over the window, ties broken by the fewest in the hours either side
    (away from a burst), then the earliest. None without an hourly series."""
    if hourly is None or not hourly.values:
        return None
    totals = [0.0] * 24
    days = [0] * 24
    for index, value in enumerate(hourly.values):
        hour = hourly.moment(index).hour
        totals[hour] += value
        days[hour] += 1
    quiet = min(range(24), key=lambda h: (totals[h], totals[(h - 1) % 24] + totals[(h + 1) % 24], h))
    return quiet, totals[quiet] / max(1, days[quiet])


# What applying it calls (act/serverless.py), the runner's re-check and snapshot included: the account's
# serverless endpoints and their Service Quotas, the recreation, its verify (a test invocation only when
# the owner tagged a sample payload, read from S3 when the tag names an s3:// URI) and its way back.
SERVERLESS_PERMISSIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListTags",
    "sagemaker:ListEndpoints",
    "cloudwatch:GetMetricData",
    "servicequotas:ListAWSDefaultServiceQuotas",
    "servicequotas:GetServiceQuota",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:PutScheduledAction",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteEndpoint",
    "sagemaker:CreateEndpoint",
    "sagemaker:AddTags",
    "sagemaker:CreateModel",
    "sagemaker:InvokeEndpoint",
    "s3:GetObject",
)


# What judging it reads beyond every decision's reads: the account's two serverless quotas in the region
# (scan/quotas.py, GetServiceQuota by quota code, once a region).
SERVERLESS_READS = ("servicequotas:GetServiceQuota",)


@rung(
    Action.MIGRATE_SERVERLESS,
    position=3,
    risk_rank=5,
    reads=SERVERLESS_READS,
    writes=SERVERLESS_PERMISSIONS,
    applied=True,
)
def migrate_serverless(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    traffic = ctx.traffic
    if traffic.total == 0 or traffic.active_share > SPORADIC_ACTIVE_SHARE or endpoint.inference_components:
        return None
    variants = ctx.instance_variants
    if any(is_accelerated(v.instance_type) for v in variants):
        return None  # Serverless Inference has no GPUs: never propose it for an accelerated endpoint
    blockers: list[str] = []
    if len(endpoint.variants) != 1 or endpoint.shadow_variants:
        blockers.append("serverless supports one production variant and no shadow variants")
    if endpoint.data_capture:
        blockers.append("data capture is on (not supported by serverless)")
    if endpoint.vpc or endpoint.network_isolation:
        blockers.append("VPC or network isolation configured (not supported by serverless)")
    if endpoint.async_inference:
        return None
    if short := window_too_short(traffic, "bursts"):
        blockers.append(short)
    variant = variants[0] if variants else None
    spec = instance_specs().get(variant.instance_type or "") if variant else None
    memory_max = ctx.peak("memory")
    if spec is None or memory_max is None:
        blockers.append("memory in use unknown (no MemoryUtilization or instance spec)")
        used_mb = None
    else:
        used_mb = memory_max.share / 100 * spec.memory_gib * 1024
        if used_mb * SERVERLESS_MEMORY_HEADROOM > SERVERLESS_MAX_MEMORY_MB:
            return None  # does not fit the largest serverless size: not a candidate at all
    concurrency = traffic.peak_concurrency
    if concurrency is not None and concurrency > SPORADIC_MAX_CONCURRENCY:
        blockers.append(
            f"estimated peak concurrency {concurrency:.1f} is above {SPORADIC_MAX_CONCURRENCY:.0f}"
        )
    memory_mb = serverless_memory_mb(used_mb) if used_mb is not None else None
    max_concurrency = max(1, math.ceil(concurrency or 1))
    metrics = [ctx.variant_metrics[v.name] for v in endpoint.variants if v.name in ctx.variant_metrics]
    quiet = quietest_hour(hourly_of(metrics, max(1, int(ctx.age_days * 24))))
    price = ctx.prices.serverless_usd_per_gb_second(ctx.region)
    serverless_cost: float | None = None
    if price is not None and memory_mb is not None and traffic.latency_s is not None:
        serverless_cost = (
            traffic.monthly_invocations * traffic.latency_s * memory_mb / 1024 * price.usd_per_gb_second
        )
    savings = (
        None
        if ctx.monthly_cost is None or serverless_cost is None
        else max(0.0, ctx.monthly_cost - serverless_cost)
    )
    if savings is not None and savings <= 0:
        return None
    reasons = [
        f"sporadic traffic: invocations in {traffic.hours_with_traffic} of {traffic.expected_hours} hours "
        f"({traffic.active_share:.0%}), {traffic.total:.0f} in total",
        f"memory in use {used_mb / 1024:.1f} GB -> {memory_mb} MB serverless with 30 % headroom"
        if used_mb is not None and memory_mb is not None
        else "memory in use unknown",
        (
            f"estimated serverless cost {serverless_cost:.2f} USD/month from {traffic.monthly_invocations:.0f} "
            f"invocations x {traffic.latency_s:.3f} s x {memory_mb} MB"
        )
        if serverless_cost is not None and traffic.latency_s is not None
        else "serverless cost unknown (no price or latency for this region)",
        "downtime: UpdateEndpoint cannot switch to serverless, so the endpoint is deleted and recreated "
        f"with the same name: expected downtime {EXPECTED_DOWNTIME}; cold starts after idle periods",
        (
            f"applied only in the quietest hour of its traffic, {quiet[0]:02d}:00-{(quiet[0] + 1) % 24:02d}:00 "
            f"UTC ({quiet[1]:.1f} invocations a day in that hour on average)"
        )
        if quiet is not None
        else "quietest hour unknown (no hourly invocations): apply refuses until a scan reads them",
        "multi-model endpoints are not visible to the scan; apply re-checks the model before acting",
    ]
    return Proposal(
        target=f"Serverless Inference {memory_mb} MB, MaxConcurrency {max_concurrency}"
        if memory_mb
        else "Serverless Inference",
        savings=round_usd(savings),
        confidence="medium",
        reasons=reasons,
        evidence={
            "hours_with_traffic": traffic.hours_with_traffic,
            "window_hours": traffic.expected_hours,
            "invocations": round(traffic.total),
            "memory_used_mb": None if used_mb is None else round(used_mb),
            "peak_concurrency": None if concurrency is None else round(concurrency, 2),
            "serverless_monthly_usd": round_usd(serverless_cost),
            # What apply deploys and when (act/serverless.py), so it need not parse the target text.
            "serverless_memory_mb": memory_mb,
            "max_concurrency": max_concurrency,
            "quiet_hour_utc": None if quiet is None else quiet[0],
            "quiet_hour_invocations_per_day": None if quiet is None else round(quiet[1], 2),
        },
        blocked_by=blockers,
    )


# ------------------------------------------------------------------ the region's serverless quotas
NOT_READ_NOTE = "not in this snapshot, written before the scan read quotas"


def serverless_in_use(snapshot: ScanSnapshot) -> tuple[int, int]:
    """(serverless endpoints, their total MaxConcurrency) among the snapshot's endpoints. An endpoint the
    scan could not read is not counted: apply counts again from ListEndpoints before it acts."""
    endpoints = concurrency = 0
    for scanned in snapshot.endpoints:
        serverless = [v for v in scanned.endpoint.variants if v.is_serverless]
        if serverless:
            endpoints += 1
            concurrency += sum(v.serverless_max_concurrency or 0 for v in serverless)
    return endpoints, concurrency


def _max_concurrency(finding: Finding) -> int:
    """What the move deploys (the rung's evidence, as act/serverless.py reads it)."""
    value = finding.evidence.get("max_concurrency")
    return int(value) if isinstance(value, int | float) and value >= 1 else 1


def _over_quota(region: str, quota: Quota, *, in_use: int, taken: int, needed: int, what: str) -> str | None:
    """The blocker when `in_use` + `taken` (by this plan's moves) + `needed` exceeds `quota`."""
    if in_use + taken + needed <= quota.value:
        return None
    proposed = f", {taken} more taken by moves proposed before it in this plan" if taken else ""
    if what == "endpoints":
        return (
            f"serverless quota: {in_use} of {quota.value} serverless endpoints in use in {region}{proposed} "
            f"({quota.cite()}); request a quota increase to move it"
        )
    return (
        f"serverless quota: MaxConcurrency {in_use} of {quota.value} in use in {region}{proposed}, "
        f"{needed} more for this endpoint would exceed it ({quota.cite()}); request a quota increase to move it"
    )


def _largest_saving_first(finding: Finding) -> tuple[bool, float, str]:
    savings = finding.estimated_monthly_savings_usd
    return (savings is None, -(savings or 0.0), finding.endpoint_name)


def within_serverless_quotas(findings: list[Finding], snapshot: ScanSnapshot) -> list[Finding]:
    """`findings` (one region's) with every migrate_serverless move the quotas cannot take blocked by the
    reason. The moves take the headroom largest saving first (the order choose_actions asks in), so the
    plan never proposes more serverless moves than the headroom allows; a smaller move that still fits
    after a larger one was refused is proposed. A move already blocked for another reason takes no
    headroom, but says so too when the quota alone would refuse it. A move whose endpoint still waits on
    an open approval (decide.plan.hold_back, after this) takes its headroom too: approved, it will use it.
    Without quotas in the snapshot the AWS defaults are assumed (as apply does when it cannot read them)."""
    quotas = snapshot.serverless_quotas or ServerlessQuotas.defaults(NOT_READ_NOTE)
    endpoints_in_use, concurrency_in_use = serverless_in_use(snapshot)
    moves = sorted(
        (i for i, f in enumerate(findings) if f.action == Action.MIGRATE_SERVERLESS),
        key=lambda i: _largest_saving_first(findings[i]),
    )
    judged = list(findings)
    taken_endpoints = taken_concurrency = 0
    for index in moves:
        finding = findings[index]
        needed = _max_concurrency(finding)
        region = snapshot.region
        blocker = _over_quota(
            region,
            quotas.endpoints,
            in_use=endpoints_in_use,
            taken=taken_endpoints,
            needed=1,
            what="endpoints",
        ) or _over_quota(
            region,
            quotas.concurrency,
            in_use=concurrency_in_use,
            taken=taken_concurrency,
            needed=needed,
            what="concurrency",
        )
        if blocker is not None:
            judged[index] = finding.model_copy(update={"blocked_by": [*finding.blocked_by, blocker]})
        elif not finding.blocked_by:
            taken_endpoints += 1
            taken_concurrency += needed
    return judged
