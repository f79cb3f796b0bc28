"""Serverless Inference: sporadic traffic on a CPU endpoint that fits serverless memory and concurrency
is moved to pay-per-use (the endpoint is recreated: minutes without service)."""

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
from endpoint_optimizer.models import Action


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


@rung(
    Action.MIGRATE_SERVERLESS,
    position=3,
    risk_rank=5,
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
