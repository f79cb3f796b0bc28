"""Rightsize: a steady endpoint whose peak stays low gets fewer instances, or the next size down in its
family, judged on shares of the instance."""

from __future__ import annotations

import math

from endpoint_optimizer.decide.changes import window_too_short
from endpoint_optimizer.decide.rules.base import Context, Proposal, percent, round_usd, rung
from endpoint_optimizer.decide.signals import InstanceSpec, instance_specs
from endpoint_optimizer.decide.thresholds import LOW_UTILIZATION, TARGET_PEAK_UTILIZATION
from endpoint_optimizer.models import HOURS_PER_MONTH, Action


def _smaller_sibling(spec: InstanceSpec) -> InstanceSpec | None:
    """The next size down in the same family with the same accelerators (GPU utilisation unchanged)."""
    candidates = [
        other
        for other in instance_specs().values()
        if other.family == spec.family and other.vcpu < spec.vcpu and other.accelerator == spec.accelerator
    ]
    return max(candidates, key=lambda other: other.vcpu) if candidates else None


# What a blue/green move calls (act/blue_green.py), rightsize and Graviton alike: the way back and the
# new config (and, for Graviton, model: iam:PassRole of its execution role), the change's own rollback
# alarms (p99 ModelLatency read for their threshold), UpdateEndpoint, and the variant's autoscaling, which
# is deregistered for the instance-type change and put back after it.
BLUE_GREEN_PERMISSIONS: tuple[str, ...] = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListTags",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "iam:PassRole",
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DeleteAlarms",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:PutScheduledAction",
)


@rung(
    Action.RIGHTSIZE,
    position=5,
    risk_rank=3,
    # What act/blue_green.py calls (with the runner's re-check and snapshot): a blue/green UpdateEndpoint
    # on a new eo-* config guarded by eo-* alarms it deletes after; a count-only change; autoscaling
    # deregistered around an instance-type change and re-registered; a deleted way-back model or config
    # recreated on rollback (CreateModel: iam:PassRole of the model's ExecutionRoleArn).
    writes=BLUE_GREEN_PERMISSIONS,
    applied=True,
)
def rightsize(ctx: Context) -> Proposal | None:
    """Fewer instances, or the next size down, judged on shares of the instance (CPU / vCPUs, GPU / GPUs).

    An instance type missing from the specs cannot be judged (the in-use verdict says "signal missing");
    an accelerated instance without a GPU reading (GPU metrics missing, or a Neuron device, which
    publishes none) is never rightsized on its CPU alone."""
    traffic = ctx.traffic
    variants = ctx.instance_variants
    if traffic.total == 0 or len(variants) != 1 or ctx.scanned.endpoint.inference_components:
        return None
    variant = variants[0]
    spec = instance_specs().get(variant.instance_type or "")
    cpu = ctx.peak("cpu")
    gpu = ctx.peak("gpu")
    memory = ctx.peak("memory")
    if spec is None or cpu is None or (spec.accelerated and gpu is None):
        return None
    load = max(cpu.share, gpu.share if gpu else 0.0)
    if load >= LOW_UTILIZATION:
        return None
    readings = "; ".join(item.describe() for item in (cpu, gpu) if item is not None)
    window = f"daily maxima over {ctx.policy.lookback_days} days"
    # A peak seen in one burst of traffic is one event's peak, not the endpoint's.
    blockers = [short] if (short := window_too_short(traffic, "bursts")) else []
    price = ctx.hourly(variant.instance_type)
    count = variant.instance_count
    fewer = max(1, math.ceil(count * load / TARGET_PEAK_UTILIZATION))
    if fewer < count:
        savings = None if price is None else (count - fewer) * price * HOURS_PER_MONTH
        return Proposal(
            target=f"{fewer} x {variant.instance_type} (from {count})",
            savings=round_usd(savings),
            confidence="medium",
            reasons=[
                f"{readings} on each of {count} x {variant.instance_type} ({window}); "
                f"{fewer} instance(s) keep the peak near {count * load / fewer:.0f} % of the instance, "
                f"under the {TARGET_PEAK_UTILIZATION:.0f} % target",
                "applied as a blue/green UpdateEndpoint with auto-rollback alarms",
            ],
            evidence={
                "peak_utilization": round(load, 1),
                "peak_cpu_published": round(cpu.published, 1),
                "vcpus": spec.vcpu,
                "instances_now": count,
                "instances_after": fewer,
            },
            blocked_by=blockers,
        )
    smaller = _smaller_sibling(spec)
    if smaller is None:
        return None
    # Same work on fewer vCPUs: the share grows by spec.vcpu / smaller.vcpu. The GPUs are the same model
    # and count (a sibling keeps the accelerators), so the GPU share does not change.
    cpu_after = cpu.share * spec.vcpu / smaller.vcpu
    memory_after = None if memory is None else memory.share * spec.memory_gib / smaller.memory_gib
    if cpu_after > TARGET_PEAK_UTILIZATION or memory_after is None or memory_after > 80.0:
        return None
    new_price = ctx.hourly(smaller.instance_type)
    savings = None if price is None or new_price is None else (price - new_price) * count * HOURS_PER_MONTH
    gpu_note = f"; GPU unchanged ({spec.accelerator})" if gpu is not None else ""
    return Proposal(
        target=f"{count} x {smaller.instance_type} (from {variant.instance_type})",
        savings=round_usd(savings),
        confidence="medium",
        reasons=[
            f"{readings}; peak memory {percent(memory.share if memory else None)} on {variant.instance_type} "
            f"({spec.vcpu} vCPU, {spec.memory_gib:.0f} GiB; {window})",
            f"on {smaller.instance_type} ({smaller.vcpu} vCPU, {smaller.memory_gib:.0f} GiB) the peak would be "
            f"about {cpu_after:.0f} % CPU and {memory_after:.0f} % memory, under the "
            f"{TARGET_PEAK_UTILIZATION:.0f} % target{gpu_note}",
            "to be confirmed by an Inference Recommender job before applying",
        ],
        evidence={
            "peak_cpu": round(cpu.share, 1),
            "peak_cpu_published": round(cpu.published, 1),
            "vcpus": spec.vcpu,
            "peak_gpu": None if gpu is None else round(gpu.share, 1),
            "peak_memory": None if memory is None else round(memory.share, 1),
            "cpu_after": round(cpu_after, 1),
        },
        blocked_by=blockers,
    )
