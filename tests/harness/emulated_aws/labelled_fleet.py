"""A labelled synthetic fleet: every archetype of the fix ladder, and the traps that must be left alone.

Pure data (no AWS): ScannedEndpoint objects as the scanner produces them, each with the actions a
careful engineer would accept for it. Used by the decision tests and by `make bench` (agreement,
harmful actions, missed savings).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from endpoint_optimizer.decide.pricing import HostingPrice, PriceBook, bundled_price_book
from endpoint_optimizer.models import (
    Action,
    Endpoint,
    Finding,
    InferenceComponent,
    ScannedEndpoint,
    Variant,
    VariantMetrics,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOOKBACK_DAYS = 14
HOURS = LOOKBACK_DAYS * 24
SKIP_TAG = "endpoint-optimizer:skip"
GRAVITON_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference-graviton:2.5.1-cpu-py311"
X86_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SHARED_IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/team-sklearn-serving:3.2"

# Types the bundled table has no row for get a synthetic test price so the benchmark can weigh every
# endpoint by cost. Marked as such; never used by the product.
SYNTHETIC_PRICES = {
    "ml.c5.large": 0.102,
    "ml.m5.2xlarge": 0.461,
    "ml.c7g.large": 0.0870,
    "ml.c7g.xlarge": 0.1740,
    "ml.c7g.2xlarge": 0.3480,
    "ml.c6g.xlarge": 0.1632,
    "ml.c6g.2xlarge": 0.3264,
    "ml.m6g.large": 0.0924,
    "ml.m6g.xlarge": 0.1848,
    "ml.r5.2xlarge": 0.604,
    "ml.r5.4xlarge": 1.208,
}


def labelled_price_book() -> PriceBook:
    bundled = bundled_price_book()
    prices = dict(bundled.prices)
    for instance_type, usd in SYNTHETIC_PRICES.items():
        prices.setdefault(
            (REGION, instance_type),
            HostingPrice(
                REGION, instance_type, usd, "synthetic test price (labelled fleet only)", "2026-11-30"
            ),
        )
    return dataclasses.replace(bundled, prices=prices)


@dataclass(frozen=True)
class Labelled:
    scanned: ScannedEndpoint
    archetype: str
    accepted: frozenset[Action]
    needs_action: bool  # a fix is expected (its cost counts in the coverage figure)
    # Advice acceptable only while something blocks it ("needs an arm64 image", "window too short"): the
    # same action unblocked is a harmful proposal.
    accepted_blocked: frozenset[Action] = frozenset()

    def agrees(self, finding: Finding) -> bool:
        return finding.action in self.accepted or (
            bool(finding.blocked_by) and finding.action in self.accepted_blocked
        )


@dataclass(frozen=True)
class _Shape:
    """A variant's load in the instance's own terms: `cpu` per vCPU and `gpu` per GPU (0-100, the share
    of the instance), `memory` 0-100. `_metrics` publishes them as AWS does. A load that changes inside
    the window gives its daily peak per vCPU with `cpu_by_day` (window day -> share); `cpu` is then unused."""

    invocations: Callable[[int], float]  # hour index -> invocations that hour
    cpu: float
    memory: float
    gpu: float | None = None
    latency_us: float = 40_000.0
    cpu_by_day: Callable[[int], float] | None = None


# The hardware the fleets run on (vCPUs, NVIDIA GPUs; EC2 instance type specifications, ml.X = EC2 X),
# written out here rather than read from the product's instance specs so that the labels cannot inherit
# a mistake of the code they grade. ml.m4.xlarge is a real SageMaker type that the product's specs do
# not list. The demo fleet (`emulated_aws.fleet`) publishes its metrics from this table too.
HARDWARE: dict[str, tuple[int, int]] = {
    "ml.m5.large": (2, 0), "ml.m5.xlarge": (4, 0), "ml.m5.2xlarge": (8, 0), "ml.m5.4xlarge": (16, 0),
    "ml.c5.large": (2, 0), "ml.c5.xlarge": (4, 0), "ml.c5.2xlarge": (8, 0), "ml.c5.4xlarge": (16, 0),
    "ml.r5.2xlarge": (8, 0), "ml.m4.xlarge": (4, 0),
    "ml.c6g.large": (2, 0), "ml.c6g.xlarge": (4, 0), "ml.c7g.large": (2, 0), "ml.c7g.xlarge": (4, 0),
    "ml.g4dn.xlarge": (4, 1), "ml.g4dn.2xlarge": (8, 1), "ml.g5.xlarge": (4, 1), "ml.g5.2xlarge": (8, 1),
    "ml.g5.12xlarge": (48, 4), "ml.g6.xlarge": (4, 1),
}  # fmt: skip


def _window_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)


def _metrics(
    variant: Variant, shape: _Shape, start: datetime, rng: random.Random, *, silent: bool = False
) -> VariantMetrics:
    """What the scanner reads for `variant`, with utilisation as `/aws/sagemaker/Endpoints` publishes it:
    CPUUtilization summed over the vCPUs (0-100 x vCPUs), GPUUtilization over the GPUs, memory 0-100.
    Serverless variants publish no utilisation."""
    by_hour = [(hour, value) for hour in range(HOURS) if (value := shape.invocations(hour)) > 0]
    total = sum(value for _, value in by_hour)
    if silent:
        return VariantMetrics(
            variant_name=variant.name, window_start=start, window_hours=HOURS, window_days=LOOKBACK_DAYS
        )
    jitter = rng.uniform(0.9, 1.0)
    days = range(LOOKBACK_DAYS)
    traffic = VariantMetrics(
        variant_name=variant.name,
        window_start=start,
        window_hours=HOURS,
        invocations_total=total,
        hours_with_invocations=len(by_hour),
        invocation_datapoints=len(by_hour),
        invocations_by_hour=by_hour,
        window_days=LOOKBACK_DAYS,
        model_latency_avg_us=shape.latency_us if total else None,
        datapoints=len(by_hour),
    )
    if variant.is_serverless:
        return traffic
    vcpus, gpus = HARDWARE[variant.instance_type or ""]
    # Daily maxima: a steady load's days peak within 10 % of its window peak (day 0 reaching it); a
    # changing load's days follow `cpu_by_day`. The window maxima are the highest day, as AWS's are.
    if shape.cpu_by_day is None:
        cpu_by_day = [(day, round(shape.cpu * jitter * vcpus * _day_factor(day), 1)) for day in days]
    else:
        cpu_by_day = [(day, round(shape.cpu_by_day(day) * jitter * vcpus, 1)) for day in days]
    gpu_by_day = (
        []
        if shape.gpu is None or not gpus
        else [(day, round(shape.gpu * jitter * gpus * _day_factor(day), 1)) for day in days]
    )
    cpu_max = max(value for _, value in cpu_by_day)
    return traffic.model_copy(
        update={
            "cpu_days_reported": LOOKBACK_DAYS,
            "cpu_max_percent": cpu_max,
            "cpu_avg_percent": round(
                shape.cpu * jitter / 3 * vcpus if shape.cpu_by_day is None else cpu_max / 3, 1
            ),
            "memory_max_percent": round(shape.memory * jitter, 1),
            "gpu_max_percent": max((value for _, value in gpu_by_day), default=None),
            "cpu_max_by_day": cpu_by_day,
            "gpu_max_by_day": gpu_by_day,
            "datapoints": len(by_hour) + 3 * LOOKBACK_DAYS,
        }
    )


def _day_factor(day: int) -> float:
    """1.0 on day 0, 0.9-1.0 on the others: how a steady load's daily peaks vary (no random draw, so the
    fleet's other values do not move)."""
    return 1.0 - 0.1 * ((day * 7) % 10) / 9


def _endpoint(
    name: str,
    now: datetime,
    variants: list[Variant],
    *,
    age_days: float = 60,
    changed_days: float | None = None,
    tags: dict[str, str] | None = None,
    status: str = "InService",
    **flags: object,
) -> Endpoint:
    return Endpoint(
        name=name,
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        account_id=ACCOUNT,
        region=REGION,
        status=status,
        created_at=now - timedelta(days=age_days),
        last_modified_at=now - timedelta(days=changed_days if changed_days is not None else age_days),
        config_name=f"{name}-config",
        tags=tags or {},
        variants=variants,
        **flags,
    )


def _is_business_hour(start: datetime, hour: int) -> bool:
    moment = start + timedelta(hours=hour)
    return moment.weekday() < 5 and 8 <= moment.hour < 18


def generate(now: datetime, *, copies: int = 8, seed: int = 7) -> list[Labelled]:
    """`copies` of each archetype, with seeded variation inside the archetype's margins."""
    rng = random.Random(seed)
    start = _window_start(now)
    fleet: list[Labelled] = []
    none = frozenset({Action.NONE})

    def add(
        archetype: str,
        scanned: ScannedEndpoint,
        accepted: set[Action],
        needs_action: bool,
        blocked: frozenset[Action] = frozenset(),
    ) -> None:
        fleet.append(Labelled(scanned, archetype, frozenset(accepted), needs_action, blocked))

    def v(
        name: str = "AllTraffic", instance_type: str = "ml.m5.large", count: int = 1, image: str = X86_IMAGE
    ) -> Variant:
        return Variant(
            name=name, instance_type=instance_type, instance_count=count, model_name=f"m-{name}", image=image
        )

    def one(
        name: str, variant: Variant, shape: _Shape, *, silent: bool = False, **flags: Any
    ) -> ScannedEndpoint:
        """A one-variant endpoint and its metrics, published as AWS publishes them for its hardware."""
        return ScannedEndpoint(
            endpoint=_endpoint(name, now, [variant], **flags),
            metrics=[_metrics(variant, shape, start, rng, silent=silent)],
        )

    for i in range(copies):
        idle = _Shape(invocations=lambda h: 0.0, cpu=rng.uniform(0.5, 3), memory=rng.uniform(10, 30))
        busy = _Shape(
            invocations=lambda h: 300.0 + (h % 24) * 10, cpu=rng.uniform(45, 75), memory=rng.uniform(30, 60)
        )
        active_hours = set(rng.sample(range(HOURS), rng.randint(8, 40)))
        sporadic = _Shape(
            invocations=lambda h, hours=active_hours: 6.0 if h in hours else 0.0,  # type: ignore[misc]
            cpu=rng.uniform(2, 8),
            memory=rng.uniform(15, 35),
            latency_us=rng.uniform(20_000, 120_000),
        )

        # ---- need a fix ------------------------------------------------------------------------
        cpu_type = rng.choice(["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge"])
        add("idle-cpu", one(f"idle-cpu-{i}", v(instance_type=cpu_type), idle), {Action.PARK}, True)
        gpu_type = rng.choice(["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g5.2xlarge"])
        add(
            "idle-gpu",
            one(f"idle-gpu-{i}", v(instance_type=gpu_type), _Shape(lambda h: 0.0, 1.0, 20.0, gpu=0.0)),
            {Action.PARK},
            True,
        )
        component = InferenceComponent(
            name=f"llm-ic-{i}",
            variant_name="AllTraffic",
            status="InService",
            created_at=now - timedelta(days=40),
            last_modified_at=now - timedelta(days=40),
            model_name="llm",
            current_copies=1,
            accelerators=1,
        )
        add(
            "idle-inference-components",
            one(
                f"idle-ic-{i}",
                v(instance_type="ml.g5.2xlarge"),
                _Shape(lambda h: 0.0, 2.0, 30.0, gpu=0.0),
                inference_components=[component],
            ),
            {Action.SCALE_TO_ZERO},
            True,
        )
        add(
            "async-sporadic",
            one(f"async-batch-{i}", v(instance_type="ml.m5.xlarge"), sporadic, async_inference=True),
            {Action.SCALE_TO_ZERO},
            True,
        )
        add(
            "sporadic-cpu",
            one(f"sporadic-cpu-{i}", v(instance_type=rng.choice(["ml.m5.large", "ml.c5.xlarge"])), sporadic),
            {Action.MIGRATE_SERVERLESS},
            True,
        )
        business = _Shape(
            invocations=lambda h, s=start: 120.0 if _is_business_hour(s, h) else 0.0,  # type: ignore[misc]
            cpu=rng.uniform(40, 60),
            memory=40.0,
        )
        add(
            "business-hours",
            one(
                f"business-hours-{i}",
                v(instance_type="ml.c5.xlarge", count=rng.choice([2, 3, 4])),
                business,
            ),
            {Action.SCHEDULE, Action.RIGHTSIZE},
            True,
        )
        steady_low = _Shape(invocations=lambda h: 80.0, cpu=rng.uniform(6, 14), memory=rng.uniform(20, 35))
        add(
            "oversized-count",
            one(f"oversized-count-{i}", v(instance_type="ml.c5.xlarge", count=4), steady_low),
            {Action.RIGHTSIZE},
            True,
        )
        add(
            "oversized-size",
            one(
                f"oversized-size-{i}",
                v(instance_type=rng.choice(["ml.c5.2xlarge", "ml.m5.2xlarge"])),
                steady_low,
            ),
            {Action.RIGHTSIZE, Action.MIGRATE_GRAVITON},
            True,
        )
        # Issue 7's must-show cases, metrics as sums: an ml.g5.2xlarge (8 vCPU, 1 GPU) at 12 % per core
        # publishes CPUUtilization ~96 and is 12 % used; a 16-vCPU endpoint at 30 % per core publishes ~480.
        add(
            "gpu-oversized-size",
            one(
                f"gpu-oversized-{i}",
                v(instance_type="ml.g5.2xlarge"),
                _Shape(lambda h: 60.0, cpu=12.0, memory=rng.uniform(20, 35), gpu=5.0),
            ),
            {Action.RIGHTSIZE},
            True,
        )
        add(
            "cpu16-moderate",
            one(
                f"cpu16-moderate-{i}",
                v(instance_type="ml.c5.4xlarge"),
                _Shape(lambda h: 150.0, cpu=30.0, memory=rng.uniform(15, 35)),
            ),
            {Action.RIGHTSIZE},
            True,
        )
        # Four A10G GPUs per instance at ~10 % each (GPUUtilization ~40 of 400) on two instances: one does.
        add(
            "multi-gpu-oversized-count",
            one(
                f"multi-gpu-count-{i}",
                v(instance_type="ml.g5.12xlarge", count=2),
                _Shape(
                    lambda h: 400.0, cpu=rng.uniform(3, 6), memory=rng.uniform(20, 35), gpu=rng.uniform(8, 14)
                ),
            ),
            {Action.RIGHTSIZE},
            True,
        )
        steady_mid = _Shape(invocations=lambda h: 200.0, cpu=rng.uniform(40, 55), memory=rng.uniform(30, 50))
        add(
            "x86-with-arm64-image",
            one(
                f"graviton-ready-{i}",
                v(instance_type=rng.choice(["ml.c5.xlarge", "ml.c5.2xlarge"]), image=GRAVITON_IMAGE),
                steady_mid,
            ),
            {Action.MIGRATE_GRAVITON},
            True,
        )
        if i < 4:  # one consolidation group of four
            small = _Shape(
                invocations=lambda h: 5.0 if h % 2 else 0.0, cpu=rng.uniform(3, 9), memory=rng.uniform(10, 20)
            )
            add(
                "consolidate-group",
                one(f"small-sklearn-{i}", v(instance_type="ml.m5.large", image=SHARED_IMAGE), small),
                {Action.CONSOLIDATE, Action.RIGHTSIZE},
                True,
            )

        # ---- must be left alone ------------------------------------------------------------------
        # x86 endpoints whose image has no known arm64 build may carry a *blocked* migrate_graviton
        # finding ("needs an arm64 image"): advice that says what it would take, not an action.
        graviton_advice = frozenset({Action.MIGRATE_GRAVITON})
        add(
            "busy",
            one(f"busy-{i}", v(instance_type=cpu_type, count=2), busy),
            set(none),
            False,
            graviton_advice,
        )
        add(
            "x86-unknown-image",
            one(f"x86-unknown-image-{i}", v(instance_type="ml.c5.xlarge"), steady_mid),
            set(none),
            False,
            graviton_advice,
        )
        add(
            "trap-sporadic-gpu",
            one(
                f"trap-sporadic-gpu-{i}",
                v(instance_type=gpu_type),
                _Shape(sporadic.invocations, 3.0, 20.0, gpu=30.0),
            ),
            {Action.NONE, Action.RIGHTSIZE},
            False,
        )
        # Busy GPUs (60 % each, GPUUtilization ~240 of 400) behind idle-looking CPUs (4 % of 48 vCPUs):
        # the GPU share, not the CPU, says how loaded the instance is.
        add(
            "trap-multi-gpu-busy",
            one(
                f"trap-multi-gpu-busy-{i}",
                v(instance_type="ml.g5.12xlarge", count=2),
                _Shape(
                    lambda h: 900.0,
                    cpu=rng.uniform(3, 6),
                    memory=rng.uniform(30, 50),
                    gpu=rng.uniform(50, 70),
                ),
            ),
            set(none),
            False,
        )
        # An instance type the specs do not list: its CPU sum (~20) cannot be read as a share of the
        # instance, so nothing is proposed on a guess.
        add(
            "trap-unknown-instance-type",
            one(
                f"trap-unknown-type-{i}",
                v(instance_type="ml.m4.xlarge", count=2),
                _Shape(lambda h: 100.0, cpu=rng.uniform(4, 5), memory=rng.uniform(20, 30)),
            ),
            set(none),
            False,
        )
        add(
            "trap-sporadic-40gb-model",
            one(
                f"trap-big-model-{i}",
                v(instance_type=rng.choice(["ml.r5.2xlarge", "ml.m5.4xlarge"])),
                _Shape(sporadic.invocations, 4.0, rng.uniform(65, 80)),
            ),
            set(none),
            False,
            graviton_advice,
        )
        add(
            "trap-new-idle",
            one(f"trap-new-idle-{i}", v(), idle, age_days=rng.uniform(0.5, 6.5)),
            set(none),
            False,
        )
        add(
            "trap-opted-out-idle",
            one(f"trap-opted-out-{i}", v(), idle, tags={SKIP_TAG: rng.choice(["true", "True", "TRUE"])}),
            set(none),
            False,
        )
        add(
            "trap-recently-changed-idle",
            one(f"trap-changed-{i}", v(), idle, changed_days=rng.uniform(0.5, 6)),
            set(none),
            False,
        )
        champion, challenger = v("champion"), v("challenger")
        add(
            "trap-multi-variant-one-idle",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-ab-test-{i}", now, [champion, challenger]),
                metrics=[_metrics(champion, busy, start, rng), _metrics(challenger, idle, start, rng)],
            ),
            set(none),
            False,
        )
        add("trap-no-metrics", one(f"trap-no-metrics-{i}", v(), idle, silent=True), set(none), False)
        add(
            "trap-not-in-service",
            one(f"trap-updating-{i}", v(), idle, status=rng.choice(["Updating", "Failed", "Creating"])),
            set(none),
            False,
        )
        add(
            "serverless-already",
            one(
                f"serverless-{i}",
                Variant(name="AllTraffic", serverless_memory_mb=2048, model_name="m"),
                sporadic,
            ),
            set(none),
            False,
        )
        add(
            "trap-sporadic-with-data-capture",
            one(f"trap-data-capture-{i}", v(), sporadic, data_capture=True),
            set(none),
            False,
            frozenset({Action.MIGRATE_SERVERLESS}),  # advice only: serverless refuses data capture
        )
    # A separate random stream, so that the archetypes above keep their values.
    fleet.extend(_changing(now, start, copies, random.Random(f"changing-{seed}")))
    return fleet


# ---- traffic that changes inside the window, and patterns longer than a day ------------------------
def _level(
    level: float, begin: int = 0, end: int = HOURS, business: datetime | None = None
) -> Callable[[int], float]:
    """`level` an hour from hour `begin` to `end` (every hour, or weekday business hours of a window that
    starts at `business`), nothing otherwise."""

    def calls(hour: int) -> float:
        inside = begin <= hour < end and (business is None or _is_business_hour(business, hour))
        return level if inside else 0.0

    return calls


def _steps(before: float, after: float, at: int) -> Callable[[int], float]:
    return lambda hour: before if hour < at else after


def _ramp(first: float, last: float) -> Callable[[int], float]:
    return lambda hour: first + (last - first) * hour / HOURS


def _weekly_batch(start: datetime, level: float, begin: int = 0) -> Callable[[int], float]:
    """A job every Sunday 01:00-05:00 UTC, from hour `begin` of the window on."""

    def calls(hour: int) -> float:
        moment = start + timedelta(hours=hour)
        return level if hour >= begin and moment.weekday() == 6 and 1 <= moment.hour < 5 else 0.0

    return calls


def _ramp_by_day(first: float, last: float) -> Callable[[int], float]:
    return lambda day: first + (last - first) * (day + 1) / LOOKBACK_DAYS


def _daily_step(before: float, after: float, at: int) -> Callable[[int], float]:
    """A daily peak per vCPU of `before` on the days before hour `at`, `after` on the days after it, the
    higher of the two on the day it changes."""

    def peak(day: int) -> float:
        if (day + 1) * 24 <= at:
            return before
        return after if day * 24 >= at else max(before, after)

    return peak


def _changing(now: datetime, start: datetime, copies: int, rng: random.Random) -> list[Labelled]:
    """Endpoints whose traffic started, stopped, moved or grows inside the window, and patterns longer than
    a day: none of the first may lose capacity until the new pattern can be judged; a weekly job seen
    twice may be judged, seen once it may not."""
    fleet: list[Labelled] = []
    none = {Action.NONE}
    cpu_types = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge"]

    def add(
        archetype: str,
        name: str,
        variant: Variant,
        shape: _Shape,
        accepted: set[Action],
        *,
        needs_action: bool = False,
        blocked: set[Action] | None = None,
        **flags: Any,
    ) -> None:
        scanned = ScannedEndpoint(
            endpoint=_endpoint(name, now, [variant], **flags), metrics=[_metrics(variant, shape, start, rng)]
        )
        fleet.append(
            Labelled(scanned, archetype, frozenset(accepted), needs_action, frozenset(blocked or set()))
        )

    def v(instance_type: str, count: int = 1) -> Variant:
        return Variant(
            name="AllTraffic",
            instance_type=instance_type,
            instance_count=count,
            model_name="m",
            image=X86_IMAGE,
        )

    def business_hours(begin: int, end: int) -> int:
        return sum(_is_business_hour(start, hour) for hour in range(begin, end))

    day_starts = [
        h for h in range(1, HOURS) if _is_business_hour(start, h) and not _is_business_hour(start, h - 1)
    ]
    day_ends = [
        h for h in range(1, HOURS) if _is_business_hour(start, h - 1) and not _is_business_hour(start, h)
    ]

    for i in range(copies):
        # Steady traffic (every hour, or weekday business hours) that began under a week ago after days of
        # nothing; copy 0 is the case of the issue: 20 hours of traffic at the end of 14 days. Its low CPU
        # and the few hours with traffic would read as "oversized" and "sporadic".
        level, cpu = rng.uniform(200, 3000), rng.uniform(5, 20)
        if i % 2 == 0:
            onset = HOURS - (20 if i == 0 else rng.randint(3, 160))
            calls = _level(level, onset)
        else:
            onset = rng.choice([h for h in day_starts if h >= HOURS - 167 and business_hours(h, HOURS) >= 3])
            calls = _level(level, onset, business=start)
        add(
            "sudden-start",
            f"sudden-start-{i}",
            v(rng.choice(cpu_types), rng.randint(1, 3)),
            _Shape(calls, cpu, rng.uniform(15, 30), cpu_by_day=_daily_step(1.0, cpu, onset)),
            none,
            async_inference=i % 4 == 3,
        )
        # The same traffic stopped 1 to 12 days ago (business hours: at least 14 of them missed).
        level, cpu = rng.uniform(200, 3000), rng.uniform(5, 20)
        if i % 2 == 0:
            stop = HOURS - rng.randint(24, 12 * 24)
            calls = _level(level, 0, stop)
        else:
            stop = rng.choice(
                [h for h in day_ends if business_hours(0, h) >= 14 and business_hours(h, HOURS) >= 14]
            )
            calls = _level(level, 0, stop, business=start)
        add(
            "sudden-stop",
            f"sudden-stop-{i}",
            v(rng.choice(cpu_types), rng.randint(2, 4)),
            _Shape(calls, cpu, rng.uniform(15, 30), cpu_by_day=_daily_step(cpu, 1.0, stop)),
            none,
        )
        # Traffic that grows every hour, 4 to 20 times over the window, its CPU with it (peak under 30 %).
        first, growth, cpu = rng.uniform(10, 50), rng.uniform(4, 20), rng.uniform(15, 28)
        add(
            "slow-ramp",
            f"slow-ramp-{i}",
            v(rng.choice(["ml.m5.xlarge", "ml.c5.xlarge"]), rng.randint(2, 4)),
            _Shape(
                _ramp(first, first * growth),
                cpu,
                rng.uniform(15, 30),
                cpu_by_day=_ramp_by_day(cpu / growth, cpu),
            ),
            none,
        )
        # A level that rose or fell 5 to 20 times in the last 12 to 150 hours.
        since, factor = HOURS - rng.randint(12, 150), rng.uniform(5, 20)
        low, high = rng.uniform(50, 200), rng.uniform(20, 30)
        add(
            "traffic-jump",
            f"traffic-jump-{i}",
            v(rng.choice(cpu_types), rng.randint(2, 4)),
            _Shape(_steps(low, low * factor, since), high, 20.0, cpu_by_day=_daily_step(4.0, high, since)),
            none,
        )
        since, factor = HOURS - rng.randint(12, 150), rng.uniform(5, 20)
        level, high = rng.uniform(1000, 3000), rng.uniform(25, 30)
        add(
            "traffic-drop",
            f"traffic-drop-{i}",
            v(rng.choice(cpu_types), rng.randint(2, 4)),
            _Shape(
                _steps(level, level / factor, since), high, 20.0, cpu_by_day=_daily_step(high, 4.0, since)
            ),
            none,
        )
        # Steady traffic that began 8 to 11 days ago on four lightly used instances: long enough to judge,
        # on itself: fewer instances.
        onset, cpu = rng.randint(72, 144), rng.uniform(8, 14)
        add(
            "start-settled",
            f"start-settled-{i}",
            v("ml.c5.xlarge", rng.randint(3, 4)),
            _Shape(_level(rng.uniform(100, 500), onset), cpu, 25.0, cpu_by_day=_daily_step(1.0, cpu, onset)),
            {Action.RIGHTSIZE},
            needs_action=True,
        )
        # A light job every Sunday 01:00-05:00: seen twice in 14 days it is sporadic, judged as such.
        batch = _weekly_batch(start, rng.uniform(30, 120))
        shape = _Shape(batch, 2.0, rng.uniform(15, 30), cpu_by_day=lambda day: 2.0)
        add(
            "weekly-batch",
            f"weekly-batch-{i}",
            v(rng.choice(["ml.m5.large", "ml.c5.xlarge"])),
            shape,
            {Action.MIGRATE_SERVERLESS},
            needs_action=True,
        )
        # The same job on an endpoint created after the window's first run: seen once, the window is too
        # short to tell a weekly job from a one-off (advice blocked, nothing proposed).
        runs = [h for h in range(HOURS) if batch(h) > 0 and (h == 0 or batch(h - 1) == 0)]
        shortest, longest = max(HOURS - runs[-1], 173), HOURS - runs[-2] - 4  # past the 7-day grace period
        if shortest < longest:
            lifetime = rng.randint(shortest, longest - 1)
            add(
                "weekly-batch-seen-once",
                f"weekly-batch-once-{i}",
                v(rng.choice(["ml.m5.large", "ml.c5.xlarge"])),
                dataclasses.replace(
                    shape, invocations=_weekly_batch(start, batch(runs[0]), HOURS - lifetime)
                ),
                none,
                blocked={Action.MIGRATE_SERVERLESS},
                age_days=(lifetime + 0.5) / 24,
            )
        # Weekday business hours on an endpoint 9 to 13 days old: one full week at most, too short to name a
        # weekly pattern (schedule blocked: "window too short").
        lifetime = rng.randint(9 * 24, 13 * 24)
        add(
            "business-hours-young",
            f"business-hours-young-{i}",
            v("ml.c5.xlarge", rng.randint(2, 4)),
            _Shape(_level(120.0, HOURS - lifetime, business=start), rng.uniform(40, 60), 70.0),
            none,
            blocked={Action.SCHEDULE},
            age_days=(lifetime + 0.5) / 24,
        )
    return fleet
