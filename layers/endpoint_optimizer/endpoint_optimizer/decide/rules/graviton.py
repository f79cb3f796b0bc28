"""Graviton: an x86 CPU endpoint moved to the Graviton equivalent of its family, when an arm64 image of
its container is known."""

from __future__ import annotations

from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.decide.thresholds import ARM64_IMAGE_MARKERS, GRAVITON_TARGET_FAMILY
from endpoint_optimizer.models import HOURS_PER_MONTH, Action

# The blocker of a Graviton move whose deployed image is not an arm64 build. A benchmark of the known arm64
# build of the image clears it (decide.confirm.candidates.blockers_a_benchmark_clears).
NEEDS_ARM64_IMAGE = "unknown: needs an arm64 image"


def image_has_arm64(image: str | None) -> bool:
    return image is not None and any(marker in image.lower() for marker in ARM64_IMAGE_MARKERS)


@rung(
    Action.MIGRATE_GRAVITON,
    position=6,
    risk_rank=4,
    writes=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpoint",
        "cloudwatch:DescribeAlarms",
    ),
    reduces_capacity=False,  # the same vCPUs and memory on another architecture
)
def migrate_graviton(ctx: Context) -> Proposal | None:
    variants = ctx.instance_variants
    if ctx.traffic.total == 0 or len(variants) != 1:
        return None
    variant = variants[0]
    spec = instance_specs().get(variant.instance_type or "")
    if spec is None or spec.architecture != "x86_64" or spec.accelerated:
        return None
    letter = spec.family.removeprefix("ml.")[:1]
    targets = [f"{family}.{spec.size}" for family in GRAVITON_TARGET_FAMILY.get(letter, ())]
    target = next((t for t in targets if t in instance_specs()), None)
    if target is None:
        return None
    price, new_price = ctx.hourly(variant.instance_type), ctx.hourly(target)
    savings = (
        None
        if price is None or new_price is None
        else (price - new_price) * variant.instance_count * HOURS_PER_MONTH
    )
    if savings is not None and savings <= 0:
        return None
    blockers = (
        []
        if image_has_arm64(variant.image)
        else [
            f"{NEEDS_ARM64_IMAGE} (deployed image {variant.image or 'not reported'} is not a known arm64 build)"
        ]
    )
    return Proposal(
        target=f"{variant.instance_count} x {target} (from {variant.instance_type})",
        savings=round_usd(savings),
        confidence="medium" if savings is not None else "low",
        reasons=[
            f"{variant.instance_type} is x86; {target} is the Graviton equivalent ({spec.vcpu} vCPU)",
            f"price per hour {price if price is not None else 'unknown'} -> {new_price if new_price is not None else 'unknown'} USD",
            "applied as a blue/green UpdateEndpoint with auto-rollback alarms",
        ],
        evidence={"instance_type": variant.instance_type, "target": target},
        blocked_by=blockers,
    )
