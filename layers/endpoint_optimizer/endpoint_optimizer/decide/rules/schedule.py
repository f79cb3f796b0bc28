"""Schedule: weekday business-hours traffic on several instances keeps one instance off hours
(Application Auto Scaling scheduled actions), in the endpoint's time zone (tag
`endpoint-optimizer:timezone`, an IANA name; UTC when untagged).

And, for an endpoint whose owner opted in (tag `endpoint-optimizer:park-at-night`, decide/night.py), park
at night and restore in the morning (EventBridge Scheduler schedules that start the apply workflow): proposed
for any instance endpoint with no traffic in the parked hours over the look-back, with or without the
business-hours schedule. A tag that cannot be read, or traffic at night, says so in the finding."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from endpoint_optimizer.decide.changes import Hourly, hourly_of, window_too_short
from endpoint_optimizer.decide.night import PARK_AT_NIGHT_TAG, NightVerdict, night_verdict
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
# Night parking (act/schedule.py, act/night.py): the two EventBridge Scheduler schedules of the stack's
# group, created with the scheduler role passed to scheduler.amazonaws.com; the night's park (decide/rules/
# park.py's writes) and the morning's restore, which recreates the endpoint from its way back after checking
# each model's artifact (S3) and image (ECR) still exist (act/way_back.py).
NIGHT_PARK_PERMISSIONS = (
    "scheduler:CreateSchedule",
    "scheduler:GetSchedule",
    "scheduler:DeleteSchedule",
    "iam:PassRole",
    "sagemaker:ListInferenceComponents",
    "sagemaker:DeleteEndpoint",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:AddTags",
    "application-autoscaling:PutScalingPolicy",
    "s3:GetObject",
    "s3:ListBucket",
    "ecr:DescribeImages",
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
    writes=SCHEDULE_PERMISSIONS + NIGHT_PARK_PERMISSIONS,
    applied=True,
)
def schedule(ctx: Context) -> Proposal | None:
    traffic = ctx.traffic
    variants = ctx.instance_variants
    endpoint = ctx.scanned.endpoint
    zone, bad_zone = time_zone(endpoint.tags)
    business_share, weekday_share = traffic.business_share, traffic.active_weekday_share
    metrics = [ctx.variant_metrics[v.name] for v in variants if v.name in ctx.variant_metrics]
    hourly = hourly_of(metrics, max(1, int(ctx.age_days * 24)))
    if zone != "UTC" and bad_zone is None and hourly is not None:
        business_share, weekday_share = local_business(hourly, zone)
    night = night_verdict(endpoint.tags, hourly, zone)
    if night is not None and bad_zone:
        night = NightVerdict(False, f"night parking not proposed: {bad_zone}", blocked=True)
    if night is not None and night.proposed and (endpoint.async_inference or endpoint.inference_components):
        night = NightVerdict(
            False,
            "night parking not proposed: parking would delete an async endpoint's "
            "queue or its inference components",
        )
    business = not (
        traffic.total == 0
        or business_share is None
        or business_share < BUSINESS_SHARE
        or (weekday_share or 0) < BUSINESS_ACTIVE_WEEKDAYS
        or len(variants) != 1
        or variants[0].instance_count <= 1
        or endpoint.scheduled_actions
    )
    if not business or business_share is None:
        return None if night is None or not variants else _night_only(ctx, night, zone, bad_zone)
    variant = variants[0]
    price = ctx.hourly(variant.instance_type)
    savings = (
        None
        if price is None
        else (variant.instance_count - OFF_HOURS_FLOOR) * price * HOURS_PER_MONTH * OFF_HOURS_FRACTION
    )
    short = window_too_short(traffic, "weekly")
    hours = f"{BUSINESS_HOURS.start:02d}-{BUSINESS_HOURS.stop:02d} {zone}"
    night_target, night_reasons, night_evidence, night_blocked = "", [], {}, []
    if night is not None:
        night_reasons, night_evidence = [night.reason], _night_evidence(night)
        night_blocked = [night.reason] if night.blocked else []
        if night.proposed and price is not None and savings is not None:
            # The floor's instance is what is left running at night: parking saves it too.
            savings += OFF_HOURS_FLOOR * price * HOURS_PER_MONTH * night.parked_share
        if night.proposed:
            night_target = f"; parked {night.window} {zone}, restored in the morning (EventBridge Scheduler)"
    return Proposal(
        target=f"{variant.instance_count} instances {hours} on weekdays, {OFF_HOURS_FLOOR} instance otherwise "
        "(Application Auto Scaling scheduled actions)" + night_target,
        savings=round_usd(savings),
        confidence="medium",
        reasons=[
            f"{business_share:.0%} of {traffic.total:.0f} invocations fell on weekdays {hours}; "
            f"traffic on {weekday_share or 0:.0%} of weekdays",
            f"{variant.instance_count} x {variant.instance_type} run all {HOURS_PER_MONTH} hours a month; "
            f"off-hours are {OFF_HOURS_FRACTION:.0%} of the week",
            f"time zone {zone}"
            + ("" if TIMEZONE_TAG in ctx.scanned.endpoint.tags else f" (tag {TIMEZONE_TAG} to change it)"),
            *night_reasons,
        ],
        evidence={
            **night_evidence,
            "business_share": round(business_share, 3),
            "instances": variant.instance_count,
            "invocations": round(traffic.total),
            "timezone": zone,
            "business_start_hour": BUSINESS_HOURS.start,
            "business_end_hour": BUSINESS_HOURS.stop,
            "off_hours_instances": OFF_HOURS_FLOOR,
        },
        blocked_by=[item for item in (short, bad_zone, *night_blocked) if item],
    )


def _night_evidence(night: NightVerdict) -> dict[str, float | int | str | None]:
    """What act/schedule.py reads back: the window it schedules (absent: nothing to schedule)."""
    evidence: dict[str, float | int | str | None] = {"night_park_nights_seen": night.nights_seen}
    if night.proposed and night.window is not None:
        evidence |= {"night_park": str(night.window), "night_park_share": round(night.parked_share, 3)}
    return evidence


def _night_only(ctx: Context, night: NightVerdict, zone: str, bad_zone: str | None) -> Proposal:
    """Night parking without the business-hours schedule (any instance endpoint, one instance included).
    Not proposed (traffic at night, a malformed tag): a blocked proposal, so the finding says why when no
    other rung applies (the ladder returns a blocked fix only then)."""
    variants = ctx.instance_variants
    prices = [ctx.hourly(v.instance_type) for v in variants]
    per_hour = (
        None
        if any(p is None for p in prices)
        else sum((p or 0.0) * v.instance_count for p, v in zip(prices, variants, strict=True))
    )
    savings = None if per_hour is None else per_hour * HOURS_PER_MONTH * night.parked_share
    window = night.window or ctx.scanned.endpoint.tags.get(PARK_AT_NIGHT_TAG, "")
    return Proposal(
        target=f"parked {window} {zone}, restored in the morning (EventBridge Scheduler)",
        savings=round_usd(savings) if night.proposed else None,
        confidence="medium",
        reasons=[
            night.reason,
            f"time zone {zone}"
            + ("" if TIMEZONE_TAG in ctx.scanned.endpoint.tags else f" (tag {TIMEZONE_TAG} to change it)"),
        ],
        evidence={**_night_evidence(night), "timezone": zone},
        blocked_by=[night.reason] if not night.proposed else [item for item in (bad_zone,) if item],
    )
