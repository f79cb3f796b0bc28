"""Schedule: weekday business-hours traffic on several instances keeps one instance off hours
(Application Auto Scaling scheduled actions)."""

from __future__ import annotations

from endpoint_optimizer.decide.changes import window_too_short
from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.thresholds import BUSINESS_ACTIVE_WEEKDAYS, BUSINESS_SHARE, OFF_HOURS_FRACTION
from endpoint_optimizer.models import HOURS_PER_MONTH, Action


@rung(
    Action.SCHEDULE,
    position=4,
    risk_rank=0,
    # An endpoint that already has scheduled actions is left alone.
    reads=("application-autoscaling:DescribeScheduledActions",),
    writes=(
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:DeleteScheduledAction",
    ),
)
def schedule(ctx: Context) -> Proposal | None:
    traffic = ctx.traffic
    variants = ctx.instance_variants
    if (
        traffic.total == 0
        or traffic.business_share is None
        or traffic.business_share < BUSINESS_SHARE
        or (traffic.active_weekday_share or 0) < BUSINESS_ACTIVE_WEEKDAYS
        or len(variants) != 1
        or variants[0].instance_count <= 1
        or ctx.scanned.endpoint.scheduled_actions
    ):
        return None
    variant = variants[0]
    price = ctx.hourly(variant.instance_type)
    savings = (
        None if price is None else (variant.instance_count - 1) * price * HOURS_PER_MONTH * OFF_HOURS_FRACTION
    )
    short = window_too_short(traffic, "weekly")
    return Proposal(
        target=f"{variant.instance_count} instances 07-19 UTC on weekdays, 1 instance otherwise "
        "(Application Auto Scaling scheduled actions)",
        savings=round_usd(savings),
        confidence="medium",
        reasons=[
            f"{traffic.business_share:.0%} of {traffic.total:.0f} invocations fell on weekdays 07-19 UTC; "
            f"traffic on {traffic.active_weekday_share:.0%} of weekdays",
            f"{variant.instance_count} x {variant.instance_type} run all {HOURS_PER_MONTH} hours a month; "
            f"off-hours are {OFF_HOURS_FRACTION:.0%} of the week",
        ],
        evidence={
            "business_share": round(traffic.business_share, 3),
            "instances": variant.instance_count,
            "invocations": round(traffic.total),
        },
        blocked_by=[short] if short else [],
    )
