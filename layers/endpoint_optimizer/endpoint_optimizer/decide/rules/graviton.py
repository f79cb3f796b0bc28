"""Graviton: an x86 CPU endpoint moved to the Graviton equivalent of its family, deploying the arm64 build
of its container (the image itself when it is one, or its known arm64 counterpart:
decide.confirm.images.arm64_image_of). Without a known arm64 build the move is blocked, saying why."""

from __future__ import annotations

from endpoint_optimizer.decide.confirm.images import arm64_image_of, no_arm64_build_reason
from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.rules.rightsize import BLUE_GREEN_PERMISSIONS
from endpoint_optimizer.decide.signals import InstanceSpec, instance_specs
from endpoint_optimizer.decide.thresholds import GRAVITON_REALTIME_SIZES, GRAVITON_TARGET_FAMILY
from endpoint_optimizer.models import HOURS_PER_MONTH, Action


def graviton_targets(spec: InstanceSpec) -> list[str]:
    """The Graviton types of `spec`'s size that may replace it, preferred first: valid for real-time
    endpoints (GRAVITON_REALTIME_SIZES) and arm64 in the instance specs (so judged on known hardware)."""
    letter = spec.family.removeprefix("ml.")[:1]
    specs = instance_specs()
    return [
        f"{family}.{spec.size}"
        for family in GRAVITON_TARGET_FAMILY.get(letter, ())
        if spec.size in GRAVITON_REALTIME_SIZES.get(family, ())
        and (target := specs.get(f"{family}.{spec.size}")) is not None
        and target.architecture == "arm64"
    ]


@rung(
    Action.MIGRATE_GRAVITON,
    position=6,
    risk_rank=4,
    writes=BLUE_GREEN_PERMISSIONS,
    applied=True,
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
    targets = graviton_targets(spec)
    # A priced target over an unpriced one: the plan can then say what the move saves.
    target = next((t for t in targets if ctx.hourly(t) is not None), targets[0] if targets else None)
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
    arm64_image = arm64_image_of(variant.image)
    if arm64_image is None:
        image_reason, blockers = (
            "no arm64 build of the image is known",
            [no_arm64_build_reason(variant.image)],
        )
    elif arm64_image == variant.image:
        image_reason, blockers = f"the image {arm64_image} is already an arm64 build", []
    else:
        image_reason, blockers = f"deploys {arm64_image}, the arm64 build of {variant.image}", []
    return Proposal(
        target=f"{variant.instance_count} x {target} (from {variant.instance_type})",
        savings=round_usd(savings),
        confidence="medium" if savings is not None else "low",
        reasons=[
            f"{variant.instance_type} is x86; {target} is the Graviton equivalent ({spec.vcpu} vCPU)",
            f"price per hour {price if price is not None else 'unknown'} -> {new_price if new_price is not None else 'unknown'} USD",
            image_reason,
            "applied as a blue/green UpdateEndpoint with auto-rollback alarms",
        ],
        evidence={"instance_type": variant.instance_type, "target": target, "arm64_image": arm64_image},
        blocked_by=blockers,
    )
