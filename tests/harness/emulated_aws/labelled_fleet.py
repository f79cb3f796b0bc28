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

from endpoint_optimizer.models import (
    Action,
    Endpoint,
    InferenceComponent,
    ScannedEndpoint,
    Variant,
    VariantMetrics,
)
from endpoint_optimizer.pricing import HostingPrice, PriceBook, bundled_price_book

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


@dataclass(frozen=True)
class _Shape:
    invocations: Callable[[int], float]  # hour index -> invocations that hour
    cpu: float
    memory: float
    gpu: float | None = None
    latency_us: float = 40_000.0


def _window_start(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)


def _metrics(
    variant: str, shape: _Shape, start: datetime, rng: random.Random, *, silent: bool = False
) -> VariantMetrics:
    by_hour = [(hour, value) for hour in range(HOURS) if (value := shape.invocations(hour)) > 0]
    total = sum(value for _, value in by_hour)
    if silent:
        return VariantMetrics(
            variant_name=variant, window_start=start, window_hours=HOURS, window_days=LOOKBACK_DAYS
        )
    jitter = rng.uniform(0.9, 1.0)
    return VariantMetrics(
        variant_name=variant,
        window_start=start,
        window_hours=HOURS,
        invocations_total=total,
        hours_with_invocations=len(by_hour),
        invocation_datapoints=len(by_hour),
        invocations_by_hour=by_hour,
        window_days=LOOKBACK_DAYS,
        cpu_days_reported=LOOKBACK_DAYS,
        cpu_max_percent=round(shape.cpu * jitter, 1),
        cpu_avg_percent=round(shape.cpu * jitter / 3, 1),
        memory_max_percent=round(shape.memory * jitter, 1),
        gpu_max_percent=None if shape.gpu is None else round(shape.gpu * jitter, 1),
        model_latency_avg_us=shape.latency_us if total else None,
        datapoints=len(by_hour) + 3 * LOOKBACK_DAYS,
    )


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

    def add(archetype: str, scanned: ScannedEndpoint, accepted: set[Action], needs_action: bool) -> None:
        fleet.append(Labelled(scanned, archetype, frozenset(accepted), needs_action))

    def v(
        name: str = "AllTraffic", instance_type: str = "ml.m5.large", count: int = 1, image: str = X86_IMAGE
    ) -> Variant:
        return Variant(
            name=name, instance_type=instance_type, instance_count=count, model_name=f"m-{name}", image=image
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
        add(
            "idle-cpu",
            ScannedEndpoint(
                endpoint=_endpoint(f"idle-cpu-{i}", now, [v(instance_type=cpu_type)]),
                metrics=[_metrics("AllTraffic", idle, start, rng)],
            ),
            {Action.PARK},
            True,
        )
        gpu_type = rng.choice(["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g5.2xlarge"])
        add(
            "idle-gpu",
            ScannedEndpoint(
                endpoint=_endpoint(f"idle-gpu-{i}", now, [v(instance_type=gpu_type)]),
                metrics=[_metrics("AllTraffic", _Shape(lambda h: 0.0, 1.0, 20.0, gpu=0.0), start, rng)],
            ),
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
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"idle-ic-{i}", now, [v(instance_type="ml.g5.2xlarge")], inference_components=[component]
                ),
                metrics=[_metrics("AllTraffic", _Shape(lambda h: 0.0, 2.0, 30.0, gpu=0.0), start, rng)],
            ),
            {Action.SCALE_TO_ZERO},
            True,
        )
        add(
            "async-sporadic",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"async-batch-{i}", now, [v(instance_type="ml.m5.xlarge")], async_inference=True
                ),
                metrics=[_metrics("AllTraffic", sporadic, start, rng)],
            ),
            {Action.SCALE_TO_ZERO},
            True,
        )
        add(
            "sporadic-cpu",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"sporadic-cpu-{i}", now, [v(instance_type=rng.choice(["ml.m5.large", "ml.c5.xlarge"]))]
                ),
                metrics=[_metrics("AllTraffic", sporadic, start, rng)],
            ),
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
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"business-hours-{i}", now, [v(instance_type="ml.c5.xlarge", count=rng.choice([2, 3, 4]))]
                ),
                metrics=[_metrics("AllTraffic", business, start, rng)],
            ),
            {Action.SCHEDULE, Action.RIGHTSIZE},
            True,
        )
        steady_low = _Shape(invocations=lambda h: 80.0, cpu=rng.uniform(6, 14), memory=rng.uniform(20, 35))
        add(
            "oversized-count",
            ScannedEndpoint(
                endpoint=_endpoint(f"oversized-count-{i}", now, [v(instance_type="ml.c5.xlarge", count=4)]),
                metrics=[_metrics("AllTraffic", steady_low, start, rng)],
            ),
            {Action.RIGHTSIZE},
            True,
        )
        add(
            "oversized-size",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"oversized-size-{i}",
                    now,
                    [v(instance_type=rng.choice(["ml.c5.2xlarge", "ml.m5.2xlarge"]))],
                ),
                metrics=[_metrics("AllTraffic", steady_low, start, rng)],
            ),
            {Action.RIGHTSIZE, Action.MIGRATE_GRAVITON},
            True,
        )
        steady_mid = _Shape(invocations=lambda h: 200.0, cpu=rng.uniform(40, 55), memory=rng.uniform(30, 50))
        add(
            "x86-with-arm64-image",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"graviton-ready-{i}",
                    now,
                    [v(instance_type=rng.choice(["ml.c5.xlarge", "ml.c5.2xlarge"]), image=GRAVITON_IMAGE)],
                ),
                metrics=[_metrics("AllTraffic", steady_mid, start, rng)],
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
                ScannedEndpoint(
                    endpoint=_endpoint(
                        f"small-sklearn-{i}", now, [v(instance_type="ml.m5.large", image=SHARED_IMAGE)]
                    ),
                    metrics=[_metrics("AllTraffic", small, start, rng)],
                ),
                {Action.CONSOLIDATE, Action.RIGHTSIZE},
                True,
            )

        # ---- must be left alone ------------------------------------------------------------------
        # x86 endpoints whose image has no known arm64 build may carry a *blocked* migrate_graviton
        # finding ("needs an arm64 image"): advice that says what it would take, not an action.
        x86_advice = {Action.NONE, Action.MIGRATE_GRAVITON}
        add(
            "busy",
            ScannedEndpoint(
                endpoint=_endpoint(f"busy-{i}", now, [v(instance_type=cpu_type, count=2)]),
                metrics=[_metrics("AllTraffic", busy, start, rng)],
            ),
            x86_advice,
            False,
        )
        add(
            "x86-unknown-image",
            ScannedEndpoint(
                endpoint=_endpoint(f"x86-unknown-image-{i}", now, [v(instance_type="ml.c5.xlarge")]),
                metrics=[_metrics("AllTraffic", steady_mid, start, rng)],
            ),
            x86_advice,
            False,
        )
        add(
            "trap-sporadic-gpu",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-sporadic-gpu-{i}", now, [v(instance_type=gpu_type)]),
                metrics=[
                    _metrics("AllTraffic", _Shape(sporadic.invocations, 3.0, 20.0, gpu=30.0), start, rng)
                ],
            ),
            {Action.NONE, Action.RIGHTSIZE},
            False,
        )
        add(
            "trap-sporadic-40gb-model",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"trap-big-model-{i}",
                    now,
                    [v(instance_type=rng.choice(["ml.r5.2xlarge", "ml.m5.4xlarge"]))],
                ),
                metrics=[
                    _metrics("AllTraffic", _Shape(sporadic.invocations, 4.0, rng.uniform(65, 80)), start, rng)
                ],
            ),
            x86_advice,
            False,
        )
        add(
            "trap-new-idle",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-new-idle-{i}", now, [v()], age_days=rng.uniform(0.5, 6.5)),
                metrics=[_metrics("AllTraffic", idle, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "trap-opted-out-idle",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"trap-opted-out-{i}", now, [v()], tags={SKIP_TAG: rng.choice(["true", "True", "TRUE"])}
                ),
                metrics=[_metrics("AllTraffic", idle, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "trap-recently-changed-idle",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-changed-{i}", now, [v()], changed_days=rng.uniform(0.5, 6)),
                metrics=[_metrics("AllTraffic", idle, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "trap-multi-variant-one-idle",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-ab-test-{i}", now, [v("champion"), v("challenger")]),
                metrics=[_metrics("champion", busy, start, rng), _metrics("challenger", idle, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "trap-no-metrics",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-no-metrics-{i}", now, [v()]),
                metrics=[_metrics("AllTraffic", idle, start, rng, silent=True)],
            ),
            set(none),
            False,
        )
        add(
            "trap-not-in-service",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"trap-updating-{i}", now, [v()], status=rng.choice(["Updating", "Failed", "Creating"])
                ),
                metrics=[_metrics("AllTraffic", idle, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "serverless-already",
            ScannedEndpoint(
                endpoint=_endpoint(
                    f"serverless-{i}",
                    now,
                    [Variant(name="AllTraffic", serverless_memory_mb=2048, model_name="m")],
                ),
                metrics=[_metrics("AllTraffic", sporadic, start, rng)],
            ),
            set(none),
            False,
        )
        add(
            "trap-sporadic-with-data-capture",
            ScannedEndpoint(
                endpoint=_endpoint(f"trap-data-capture-{i}", now, [v()], data_capture=True),
                metrics=[_metrics("AllTraffic", sporadic, start, rng)],
            ),
            {Action.NONE, Action.MIGRATE_SERVERLESS},
            False,
        )
    return fleet
