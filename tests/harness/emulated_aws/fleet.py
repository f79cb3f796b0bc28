"""Seeding helpers: SageMaker endpoints with a history and hourly CloudWatch metrics (no product logic).

`seed_demo_fleet` builds the demo fleet: each member carries the outcome the optimizer is expected to reach
(`expected`) and why, so demos and end-to-end tests can check the plan against it.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from emulated_aws.labelled_fleet import HARDWARE
from emulated_aws.server import EmulatedAws

__all__ = [
    "DEFAULT_IMAGE",
    "ENDPOINTS_NAMESPACE",
    "INVOCATIONS_NAMESPACE",
    "FleetMember",
    "VariantSpec",
    "create_endpoint",
    "put_hourly_metrics",
    "register_scalable_target",
    "seed_demo_fleet",
    "seed_member_fleet",
]

DEFAULT_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account: the stack's own in the emulator
DEFAULT_REGION = "us-east-1"
EXECUTION_ROLE_ARN = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-demo"
INVOCATIONS_NAMESPACE = "AWS/SageMaker"
ENDPOINTS_NAMESPACE = "/aws/sagemaker/Endpoints"
SKIP_TAG_KEY = "endpoint-optimizer:skip"
_MAX_DATUMS_PER_CALL = 1000  # PutMetricData limit
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class VariantSpec:
    """One production variant: instance-based (instance_type) or serverless (serverless_memory_mb)."""

    name: str = "AllTraffic"
    instance_type: str | None = "ml.m5.large"
    instance_count: int = 1
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int = 5
    image: str = DEFAULT_IMAGE
    weight: float = 1.0

    @property
    def is_serverless(self) -> bool:
        return self.serverless_memory_mb is not None


@dataclass(frozen=True)
class FleetMember:
    """A seeded endpoint and the outcome expected from the optimizer ("park", "none", ...)."""

    name: str
    kind: str
    expected: str
    why: str
    variants: tuple[VariantSpec, ...]
    tags: dict[str, str] = field(default_factory=dict)
    created_days_ago: float = 30.0
    scalable_variants: tuple[str, ...] = ()

    @property
    def instance_types(self) -> tuple[str, ...]:
        return tuple(v.instance_type for v in self.variants if v.instance_type)


def _naive_utc(moment: datetime) -> datetime:
    """moto keeps naive UTC datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


MODEL_BUCKET = "demo-models-123456789012"


def model_artifact_url(endpoint: str, variant: str) -> str:
    return f"s3://{MODEL_BUCKET}/{endpoint}/{variant}/model.tar.gz"


def put_model_artifact(account_id: str, url: str) -> None:
    """A stand-in model.tar.gz where the model says it is (in the emulator's process, like backdating)."""
    from moto.backends import get_backend
    from moto.s3.exceptions import BucketAlreadyExists

    bucket, key = url.removeprefix("s3://").split("/", 1)
    s3 = get_backend("s3")[account_id]["global"]
    with contextlib.suppress(BucketAlreadyExists):  # one bucket for every endpoint's artifacts
        s3.create_bucket(bucket, DEFAULT_REGION)
    s3.put_object(bucket, key, b"stand-in model artifact")


def create_endpoint(
    sm: Any,
    *,
    name: str,
    variants: Sequence[VariantSpec],
    tags: dict[str, str],
    created_days_ago: float,
    now: datetime,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> str:
    """Create model(s), an endpoint config and the endpoint; backdate it to `created_days_ago`.

    Returns the endpoint ARN. Backdating sets CreationTime/LastModifiedTime on moto's backend objects
    (moto always reports "now"), so this must run in the emulator's process. `account_id` is the account
    `sm` acts in (a member account's client from `EmulatedAws.client(..., account_id=...)`).
    """
    from moto.backends import get_backend

    production_variants: list[dict[str, Any]] = []
    model_names: list[str] = []
    for variant in variants:
        model_name = f"{name}-{variant.name}"[:63].lower()
        sm.create_model(
            ModelName=model_name,
            ExecutionRoleArn=EXECUTION_ROLE_ARN,
            PrimaryContainer={
                "Image": variant.image,
                "ModelDataUrl": model_artifact_url(name, variant.name),
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            },
        )
        model_names.append(model_name)
        production: dict[str, Any] = {
            "VariantName": variant.name,
            "ModelName": model_name,
            "InitialVariantWeight": variant.weight,
        }
        if variant.is_serverless:
            production["ServerlessConfig"] = {
                "MemorySizeInMB": variant.serverless_memory_mb,
                "MaxConcurrency": variant.serverless_max_concurrency,
            }
        else:
            production["InstanceType"] = variant.instance_type
            production["InitialInstanceCount"] = variant.instance_count
        production_variants.append(production)
    config_name = f"{name}-config"[:63]
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    sm.create_endpoint_config(
        EndpointConfigName=config_name, ProductionVariants=production_variants, Tags=tag_list
    )
    arn: str = sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tag_list)[
        "EndpointArn"
    ]

    for variant in variants:  # the artifacts restore checks before it recreates a deleted model
        put_model_artifact(account_id, model_artifact_url(name, variant.name))
    created = _naive_utc(now) - timedelta(days=created_days_ago)
    backend = get_backend("sagemaker")[account_id][sm.meta.region_name]
    endpoint = backend.endpoints[name]
    endpoint.creation_time = endpoint.last_modified_time = created
    backend.endpoint_configs[config_name].creation_time = created
    for model_name in model_names:
        backend._models[model_name].creation_time = created
    return arn


def redeploy(sm: Any, *, name: str, now: datetime, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
    """What UpdateEndpoint does to an endpoint (moto has no UpdateEndpoint): a new endpoint config with
    the same variants, and LastModifiedTime moves to `now`. Returns the new config's name."""
    from moto.backends import get_backend

    current = sm.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    variants = sm.describe_endpoint_config(EndpointConfigName=current)["ProductionVariants"]
    new_config = f"{current}-v2"[:63]
    sm.create_endpoint_config(EndpointConfigName=new_config, ProductionVariants=variants)
    endpoint = get_backend("sagemaker")[account_id][sm.meta.region_name].endpoints[name]
    endpoint.endpoint_config_name = new_config
    endpoint.last_modified_time = _naive_utc(now)
    return new_config


def put_invocations(cw: Any, *, endpoint: str, variant: str, at: datetime, count: float) -> None:
    """Requests served by one variant at `at` (one AWS/SageMaker Invocations datapoint)."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    cw.put_metric_data(
        Namespace=INVOCATIONS_NAMESPACE,
        MetricData=[{"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": at, "Value": count}],
    )


def put_hourly_metrics(
    cw: Any,
    *,
    endpoint: str,
    variant: str,
    start: datetime,
    hours: int,
    invocations: Sequence[float] | None = None,
    cpu: Sequence[float] | None = None,
    memory: Sequence[float] | None = None,
    gpu: Sequence[float] | None = None,
) -> int:
    """Write hourly datapoints for one variant as SageMaker publishes them; returns the datum count.

    Invocations (AWS/SageMaker, Unit None) get a datapoint only for hours with traffic (> 0): SageMaker
    publishes none for an hour without requests. CPU/Memory/GPU utilisation (/aws/sagemaker/Endpoints,
    Percent) get one per hour given. Each series, when given, must hold `hours` values.
    """
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    stamps = [start + i * _HOUR for i in range(hours)]

    def series(name: str, values: Sequence[float] | None, unit: str, skip_zero: bool) -> list[dict[str, Any]]:
        if values is None:
            return []
        if len(values) != hours:
            raise ValueError(f"{endpoint}/{variant} {name}: {len(values)} values for {hours} hours")
        return [
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": t, "Value": float(v), "Unit": unit}
            for t, v in zip(stamps, values, strict=True)
            if not (skip_zero and v <= 0)
        ]

    by_namespace = {
        INVOCATIONS_NAMESPACE: series("Invocations", invocations, "None", skip_zero=True),
        ENDPOINTS_NAMESPACE: [
            *series("CPUUtilization", cpu, "Percent", skip_zero=False),
            *series("MemoryUtilization", memory, "Percent", skip_zero=False),
            *series("GPUUtilization", gpu, "Percent", skip_zero=False),
        ],
    }
    written = 0
    for namespace, datums in by_namespace.items():
        for batch in _batches(datums, _MAX_DATUMS_PER_CALL):
            cw.put_metric_data(Namespace=namespace, MetricData=batch)
            written += len(batch)
    return written


def _batches(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def register_scalable_target(
    aas: Any, endpoint: str, variant: str, min: int, max: int, *, with_policy: bool = True
) -> str:
    """Register the variant's DesiredInstanceCount as a scalable target (plus a target-tracking policy)."""
    resource_id = f"endpoint/{endpoint}/variant/{variant}"
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=min,
        MaxCapacity=max,
    )
    if with_policy:
        aas.put_scaling_policy(
            PolicyName=f"{endpoint}-{variant}-invocations-per-instance",
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )
    return resource_id


# ---------------------------------------------------------------------------------------------------
# the demo fleet
# ---------------------------------------------------------------------------------------------------


def _hardware(instance_type: str | None) -> tuple[int, int]:
    """(vCPUs, NVIDIA GPUs) of a demo instance type: what AWS sums CPU and GPU utilisation over."""
    if instance_type not in HARDWARE:
        raise ValueError(
            f"add {instance_type} to emulated_aws.labelled_fleet.HARDWARE to publish its metrics"
        )
    return HARDWARE[instance_type]


@dataclass(frozen=True)
class _Traffic:
    """How to generate one variant's hourly series. `cpu` is per vCPU and `gpu` per GPU (a share of the
    instance, 0-100); the series are published as AWS publishes them, summed over the vCPUs and GPUs."""

    kind: str  # idle | busy | steady | sporadic | business_hours | none (no metrics at all)
    cpu: tuple[float, float] = (0.5, 3.0)
    sporadic_days: tuple[int, ...] = ()
    gpu: tuple[float, float] | None = None  # per GPU; default: follows the CPU share


def _members() -> list[tuple[FleetMember, dict[str, _Traffic]]]:
    idle = _Traffic("idle")
    busy = _Traffic("busy", cpu=(20.0, 70.0))
    v = VariantSpec
    skip = {SKIP_TAG_KEY: "true"}
    team = {"team": "ml-platform", "cost-center": "cc-1234"}

    def m(  # noqa: PLR0917 - a table of positional rows reads best
        name: str,
        kind: str,
        expected: str,
        why: str,
        variants: list[VariantSpec],
        traffic: dict[str, _Traffic],
        *,
        days: float = 30.0,
        tags: dict[str, str] | None = None,
        scalable: tuple[str, ...] = (),
    ) -> tuple[FleetMember, dict[str, _Traffic]]:
        member = FleetMember(
            name=name,
            kind=kind,
            expected=expected,
            why=why,
            variants=tuple(variants),
            tags={**team, **(tags or {})},
            created_days_ago=days,
            scalable_variants=scalable,
        )
        return member, traffic

    at = {"AllTraffic": idle}
    bt = {"AllTraffic": busy}
    return [
        # ---- idle instance endpoints older than the grace period: park
        m("demo-idle-fraud-xgb", "idle", "park", "no invocations in 14 days, CPU metrics present",
          [v(instance_type="ml.m5.large")], at, days=45),
        m("demo-idle-churn-sklearn", "idle", "park", "no invocations in 14 days, CPU metrics present",
          [v(instance_type="ml.c5.xlarge")], at, days=21),
        m("demo-idle-image-classifier", "idle-gpu", "park", "GPU endpoint with no invocations in 14 days",
          [v(instance_type="ml.g4dn.xlarge")], at, days=30),
        m("demo-idle-llm-summarizer", "idle-gpu", "park", "GPU endpoint with no invocations in 14 days",
          [v(instance_type="ml.g5.xlarge")], at, days=16),
        m("demo-idle-vision-g6", "idle-gpu", "park", "GPU endpoint with no invocations in 14 days",
          [v(instance_type="ml.g6.xlarge")], at, days=33),
        m("demo-idle-text-embed-arm", "idle", "park", "Graviton endpoint with no invocations in 14 days",
          [v(instance_type="ml.c6g.large")], at, days=60),
        m("demo-idle-recsys-autoscaled", "idle-autoscaled", "park",
          "two idle instances; its scalable target must be deregistered before the delete",
          [v(instance_type="ml.m5.xlarge", instance_count=2)], at, days=25, scalable=("AllTraffic",)),
        m("demo-idle-forecast-blue", "idle-named-variant", "park",
          "idle; its only variant is named 'blue' (not AllTraffic)",
          [v(name="blue", instance_type="ml.m5.large")], {"blue": idle}, days=18),
        m("demo-idle-ner-graviton3", "idle", "park", "idle just past the grace period",
          [v(instance_type="ml.c7g.large")], at, days=9),
        # ---- busy: nothing to do
        m("demo-busy-search-ranker", "busy", "none", "invocations most hours, CPU 20-70 %",
          [v(instance_type="ml.c5.2xlarge", instance_count=2)], bt, days=120),
        m("demo-busy-fraud-realtime", "busy", "none", "invocations most hours, CPU 20-70 %",
          [v(instance_type="ml.m5.xlarge")], bt, days=200),
        m("demo-busy-ads-ctr", "busy-autoscaled", "none", "invocations most hours, autoscaled",
          [v(instance_type="ml.c6g.xlarge", instance_count=3)], bt, days=90, scalable=("AllTraffic",)),
        m("demo-busy-translation-gpu", "busy-gpu", "none", "GPU endpoint serving traffic most hours",
          [v(instance_type="ml.g5.2xlarge")], bt, days=75),
        m("demo-busy-chat-router", "busy", "none", "invocations most hours, CPU 20-70 %",
          [v(instance_type="ml.m5.large")], bt, days=40),
        m("demo-busy-pricing-model", "busy", "none", "invocations most hours, CPU 20-70 %",
          [v(instance_type="ml.c5.large")], bt, days=300),
        m("demo-busy-kyc-ocr", "busy-gpu", "none", "GPU endpoint serving traffic most hours",
          [v(instance_type="ml.g4dn.2xlarge")], bt, days=150),
        m("demo-busy-geo-eta", "busy", "none", "invocations most hours, CPU 20-70 %",
          [v(instance_type="ml.c7g.xlarge", instance_count=2)], bt, days=50),
        # ---- under-used in the instance's own terms (CloudWatch publishes sums over vCPUs and GPUs)
        m("demo-oversized-gpu-translation", "oversized-gpu", "rightsize",
          "ml.g5.2xlarge at 12 % per vCPU (CPUUtilization ~96 of 800) and 5 % GPU: one size down",
          [v(instance_type="ml.g5.2xlarge")], {"AllTraffic": _Traffic("steady", cpu=(10.0, 12.0), gpu=(3.0, 5.0))},
          days=90),
        m("demo-moderate-cpu16-scoring", "oversized-cpu16", "rightsize",
          "16 vCPUs at 30 % each (CPUUtilization ~480 of 1600): not busy, one size down",
          [v(instance_type="ml.c5.4xlarge")], {"AllTraffic": _Traffic("steady", cpu=(25.0, 30.0))}, days=110),
        m("demo-busy-llm-4gpu", "busy-multi-gpu", "none",
          "4 GPUs at 50-70 % each (GPUUtilization up to 280 of 400) behind 3-6 % CPU: busy on its GPUs",
          [v(instance_type="ml.g5.12xlarge")],
          {"AllTraffic": _Traffic("steady", cpu=(3.0, 6.0), gpu=(50.0, 70.0))}, days=65),
        m("demo-busy-support-business-hours", "business-hours", "schedule",
          "traffic on weekdays 09-17 UTC only, 2 instances: scale down off-hours",
          [v(instance_type="ml.m5.xlarge", instance_count=2)],
          {"AllTraffic": _Traffic("business_hours", cpu=(15.0, 55.0))}, days=80),
        # ---- idle but protected or not eligible: nothing to do
        m("demo-new-idle-experiment", "new-idle", "none", "idle but created 2 days ago (grace period)",
          [v(instance_type="ml.m5.large")], at, days=2),
        m("demo-new-idle-staging", "new-idle", "none", "idle but created 5 days ago (grace period)",
          [v(instance_type="ml.c5.large")], at, days=5),
        m("demo-skip-idle-legal-archive", "skip-tagged", "none", f"idle but tagged {SKIP_TAG_KEY}=true",
          [v(instance_type="ml.m5.large")], at, days=60, tags=skip),
        m("demo-serverless-sentiment", "serverless", "none", "serverless already (scales to zero itself)",
          [v(instance_type=None, serverless_memory_mb=2048)],
          {"AllTraffic": _Traffic("sporadic", sporadic_days=(1, 4, 8, 11))}, days=50),
        # MaxConcurrency 2: with the other's 5, room under the lowest starting serverless concurrency
        # quota (10; the emulator has no Service Quotas for SageMaker) for the migration the demo applies
        m("demo-serverless-idle-faq", "serverless", "none", "serverless already, no traffic",
          [v(instance_type=None, serverless_memory_mb=1024, serverless_max_concurrency=2)],
          {"AllTraffic": _Traffic("none")}, days=40),
        m("demo-nometrics-legacy-svm", "no-metrics", "none",
          "no CloudWatch datapoints at all: signal missing is not idle",
          [v(instance_type="ml.m4.xlarge")], {"AllTraffic": _Traffic("none")}, days=90),
        m("demo-multivariant-ab-test", "multi-variant", "none",
          "one variant busy, one idle: the endpoint serves traffic",
          [v(name="champion", instance_type="ml.m5.large", weight=0.9),
           v(name="challenger", instance_type="ml.m5.large", weight=0.1)],
          {"champion": busy, "challenger": idle}, days=35),
        m("demo-sporadic-quarterly-report", "sporadic", "migrate_serverless",
          "a few invocations on some days, small CPU model: Serverless Inference",
          [v(instance_type="ml.m5.large")],
          {"AllTraffic": _Traffic("sporadic", sporadic_days=(2, 9))}, days=100),
        m("demo-sporadic-batch-scorer", "sporadic", "migrate_serverless",
          "a few invocations on some days, small CPU model: Serverless Inference",
          [v(instance_type="ml.c5.large")],
          {"AllTraffic": _Traffic("sporadic", sporadic_days=(0, 5, 12))}, days=70),
    ]  # fmt: skip


def _series_for(
    traffic: _Traffic, variant: VariantSpec, start: datetime, hours: int, rng: random.Random
) -> dict[str, list[float] | None]:
    if traffic.kind == "none":
        return {"invocations": None, "cpu": None, "memory": None, "gpu": None}
    lo, hi = traffic.cpu
    invocations: list[float] = []
    cpu: list[float] = []
    for i in range(hours):
        moment = start + i * _HOUR
        if traffic.kind == "busy":
            calls = float(rng.randint(200, 6000)) if rng.random() < 0.95 else 0.0
            load = rng.uniform(lo, hi)
        elif traffic.kind == "steady":
            calls = float(rng.randint(200, 600))
            load = rng.uniform(lo, hi)
        elif traffic.kind == "business_hours":
            on = moment.weekday() < 5 and 9 <= moment.hour < 17
            calls = float(rng.randint(500, 4000)) if on else 0.0
            load = rng.uniform(lo, hi) if on else rng.uniform(0.5, 3.0)
        elif traffic.kind == "sporadic":
            day = (moment - start).days
            on = day in traffic.sporadic_days and moment.hour in (10, 14)
            calls = float(rng.randint(2, 20)) if on else 0.0
            load = rng.uniform(3.0, 8.0) if on else rng.uniform(0.5, 3.0)
        else:  # idle
            calls = 0.0
            load = rng.uniform(lo, hi)
        invocations.append(calls)
        cpu.append(round(load, 2))
    if variant.is_serverless:  # serverless endpoints publish no instance utilisation metrics
        return {"invocations": invocations, "cpu": None, "memory": None, "gpu": None}
    memory = [round(min(95.0, 8.0 + c * 0.6 + rng.uniform(0, 4)), 2) for c in cpu]
    vcpus, gpus = _hardware(variant.instance_type)
    per_gpu: list[float] | None = None
    if gpus and traffic.gpu is not None:
        per_gpu = [rng.uniform(*traffic.gpu) for _ in cpu]
    elif gpus:
        per_gpu = [min(99.0, c * 1.1) for c in cpu]
    # As /aws/sagemaker/Endpoints publishes them: CPUUtilization summed over the vCPUs (0-100 x vCPUs),
    # GPUUtilization over the GPUs; MemoryUtilization 0-100.
    return {
        "invocations": invocations,
        "cpu": [round(c * vcpus, 2) for c in cpu],
        "memory": memory,
        "gpu": None if per_gpu is None else [round(g * gpus, 2) for g in per_gpu],
    }


def seed_demo_fleet(aws: EmulatedAws, now: datetime, *, lookback_days: int = 14) -> list[FleetMember]:
    """Create the demo fleet with `lookback_days` of hourly metrics ending at `now` (to the hour).

    Metrics start at the endpoint's creation when it is younger than the look-back. Deterministic: the
    same `now` gives the same data.
    """
    sm = aws.client("sagemaker")
    cw = aws.client("cloudwatch")
    aas = aws.client("application-autoscaling")
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    end = now.replace(minute=0, second=0, microsecond=0)
    members: list[FleetMember] = []
    for member, traffic in _members():
        create_endpoint(
            sm,
            name=member.name,
            variants=member.variants,
            tags=member.tags,
            created_days_ago=member.created_days_ago,
            now=now,
        )
        window_start = end - timedelta(days=lookback_days)
        created = now - timedelta(days=member.created_days_ago)
        if created > window_start:  # no metrics before the endpoint existed
            window_start = created.replace(minute=0, second=0, microsecond=0) + _HOUR
        hours = int((end - window_start) / _HOUR)
        rng = random.Random(member.name)
        for variant in member.variants:
            series = _series_for(traffic[variant.name], variant, window_start, hours, rng)
            put_hourly_metrics(
                cw, endpoint=member.name, variant=variant.name, start=window_start, hours=hours, **series
            )
        for variant_name in member.scalable_variants:
            count = next(v.instance_count for v in member.variants if v.name == variant_name)
            register_scalable_target(aas, member.name, variant_name, min=1, max=max(4, count * 2))
        members.append(member)
    return members


def seed_member_fleet(
    aws: EmulatedAws, now: datetime, *, account_id: str, region: str, lookback_days: int = 14
) -> list[FleetMember]:
    """A small fleet in a member account: what the optimizer reports there but never acts on."""
    sm = aws.client("sagemaker", region, account_id)
    cw = aws.client("cloudwatch", region, account_id)
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    end = now.replace(minute=0, second=0, microsecond=0)
    hours = lookback_days * 24
    members = [
        (
            FleetMember(
                name="member-idle-forecast",
                kind="idle",
                expected="park",
                why="no invocations while CPU reports every hour: reported, never acted on (member account)",
                variants=(VariantSpec(instance_type="ml.m5.large"),),
            ),
            {"cpu": [4.0] * hours, "memory": [21.0] * hours},  # 2 % of each of 2 vCPUs
        ),
        (
            FleetMember(
                name="member-busy-recommender",
                kind="busy",
                expected="none",
                why="steady traffic",
                variants=(VariantSpec(instance_type="ml.c5.xlarge"),),
            ),
            # 55 % of each of 4 vCPUs
            {"invocations": [900.0] * hours, "cpu": [220.0] * hours, "memory": [48.0] * hours},
        ),
    ]
    for member, series in members:
        create_endpoint(
            sm,
            name=member.name,
            variants=member.variants,
            tags=member.tags,
            created_days_ago=member.created_days_ago,
            now=now,
            account_id=account_id,
        )
        put_hourly_metrics(
            cw,
            endpoint=member.name,
            variant="AllTraffic",
            start=end - timedelta(hours=hours),
            hours=hours,
            **series,
        )
    return [member for member, _ in members]


def seed_idle_and_busy(aws: EmulatedAws, prefix: str, *, hours: int = 14 * 24) -> None:
    """`<prefix>-idle` (no invocations) and `<prefix>-busy` (40 an hour), both 20 days old at 3 % CPU, with
    `hours` of hourly metrics up to now: a park and a none, for the CLI tests."""
    aws.reset()
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    for name, invocations in [(f"{prefix}-idle", None), (f"{prefix}-busy", [40.0] * hours)]:
        create_endpoint(
            aws.client("sagemaker"),
            name=name,
            variants=[VariantSpec()],
            tags={},
            created_days_ago=20,
            now=now,
        )
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=name,
            variant="AllTraffic",
            start=start,
            hours=hours,
            invocations=invocations,
            cpu=[3.0] * hours,
            memory=[30.0] * hours,
        )
