"""Schedule: weekday business-hours traffic on several instances keeps one instance off hours
(Application Auto Scaling scheduled actions), in the endpoint's time zone (tag
`endpoint-optimizer:timezone`, an IANA name; UTC when untagged)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from endpoint_optimizer.decide.changes import Hourly, hourly_of, window_too_short
from endpoint_optimizer.decide.rules.base import Context, Proposal, round_usd, rung
from endpoint_optimizer.decide.thresholds import (
    BUSINESS_ACTIVE_WEEKDAYS,
    BUSINESS_HOURS,
    BUSINESS_SHARE,
    OFF_HOURS_FRACTION,
)
from endpoint_optimizer.models import HOURS_PER_MONTH, Action

TIMEZONE_TAG = "endpoint-optimizer:timezone"
OFF_HOURS_FLOOR = 1  # instances kept off hours: an instance variant cannot go below 1

# What applying it calls (act/schedule.py), the runner's re-check and snapshot included: the scheduled
# actions on the variant's scalable target (registered first when it has none), and the way back (the
# target's capacities, the variant's instance count when a schedule had already changed it).
SCHEDULE_PERMISSIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListTags",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "cloudwatch:GetMetricData",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScheduledAction",
    "application-autoscaling:DeleteScheduledAction",
)


def time_zone(tags: dict[str, str]) -> tuple[str, str | None]:
    """(the endpoint's IANA time zone, why the tag cannot be used or None). Untagged: UTC."""
    name = tags.get(TIMEZONE_TAG, "").strip()
    if not name:
        return "UTC", None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return name, f"tag {TIMEZONE_TAG}={name!r} is not an IANA time zone name (e.g. Europe/Paris)"
    return name, None


def local_business(hourly: Hourly, zone: str) -> tuple[float | None, float | None]:
    """(share of invocations on weekdays within business hours, share of weekdays with traffic), both in
    the local time of `zone`: what decide/signals.py `traffic_of` says in UTC."""
    tz = ZoneInfo(zone)
    total = sum(hourly.values)
    if total <= 0:
        return None, None
    inside = 0.0
    weekdays: set[object] = set()
    active: set[object] = set()
    for index, value in enumerate(hourly.values):
        local = (hourly.start + timedelta(hours=index)).astimezone(tz)
        if local.weekday() < 5:
            weekdays.add(local.date())
            if value > 0:
                active.add(local.date())
            if local.hour in BUSINESS_HOURS:
                inside += value
    return inside / total, (len(active) / len(weekdays) if weekdays else None)


@rung(
    Action.SCHEDULE,
    position=4,
    risk_rank=0,
    # An endpoint that already has scheduled actions is left alone.
    reads=("application-autoscaling:DescribeScheduledActions",),
    writes=SCHEDULE_PERMISSIONS,
    applied=True,
)
def schedule(ctx: Context) -> Proposal | None:
    traffic = ctx.traffic
    variants = ctx.instance_variants
    zone, bad_zone = time_zone(ctx.scanned.endpoint.tags)
    business_share, weekday_share = traffic.business_share, traffic.active_weekday_share
    if zone != "UTC" and bad_zone is None:
        metrics = [ctx.variant_metrics[v.name] for v in variants if v.name in ctx.variant_metrics]
        hourly = hourly_of(metrics, max(1, int(ctx.age_days * 24)))
        if hourly is not None:
            business_share, weekday_share = local_business(hourly, zone)
    if (
        traffic.total == 0
        or business_share is None
        or business_share < BUSINESS_SHARE
        or (weekday_share or 0) < BUSINESS_ACTIVE_WEEKDAYS
        or len(variants) != 1
        or variants[0].instance_count <= 1
        or ctx.scanned.endpoint.scheduled_actions
    ):
        return None
    variant = variants[0]
    price = ctx.hourly(variant.instance_type)
    savings = (
        None
        if price is None
        else (variant.instance_count - OFF_HOURS_FLOOR) * price * HOURS_PER_MONTH * OFF_HOURS_FRACTION
    )
    short = window_too_short(traffic, "weekly")
    hours = f"{BUSINESS_HOURS.start:02d}-{BUSINESS_HOURS.stop:02d} {zone}"
    return Proposal(
        target=f"{variant.instance_count} instances {hours} on weekdays, {OFF_HOURS_FLOOR} instance otherwise "
        "(Application Auto Scaling scheduled actions)",
        savings=round_usd(savings),
        confidence="medium",
        reasons=[
            f"{business_share:.0%} of {traffic.total:.0f} invocations fell on weekdays {hours}; "
            f"traffic on {weekday_share or 0:.0%} of weekdays",
            f"{variant.instance_count} x {variant.instance_type} run all {HOURS_PER_MONTH} hours a month; "
            f"off-hours are {OFF_HOURS_FRACTION:.0%} of the week",
            f"time zone {zone}"
            + ("" if TIMEZONE_TAG in ctx.scanned.endpoint.tags else f" (tag {TIMEZONE_TAG} to change it)"),
        ],
        evidence={
            "business_share": round(business_share, 3),
            "instances": variant.instance_count,
            "invocations": round(traffic.total),
            "timezone": zone,
            "business_start_hour": BUSINESS_HOURS.start,
            "business_end_hour": BUSINESS_HOURS.stop,
            "off_hours_instances": OFF_HOURS_FLOOR,
        },
        blocked_by=[item for item in (short, bad_zone) if item],
    )
