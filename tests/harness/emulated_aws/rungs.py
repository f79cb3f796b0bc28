"""One endpoint per applied rung, seeded so the analyzer proposes that rung (issue 10).

Shared by `make demo` and the end-to-end tests (tests/e2e/test_apply_every_rung.py imports them from here).
Each seeder takes a `Fleet` (the emulated AWS and the moment "now" of the scan) and returns the name of
the endpoint it made. Seeding only: no product logic.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from emulated_aws.fleet import (
    DEFAULT_IMAGE,
    EXECUTION_ROLE_ARN,
    VariantSpec,
    create_endpoint,
    put_hourly_metrics,
    register_scalable_target,
)
from emulated_aws.server import EmulatedAws

__all__ = [
    "GRAVITON_FIXTURE_PRICES",
    "LOOKBACK_HOURS",
    "PAYLOAD_TAG",
    "PAYLOAD_URL",
    "XGBOOST_X86",
    "Fleet",
    "business_hours",
    "cache_graviton_fixture_prices",
    "idle_inference_components",
    "on_x86",
    "oversized",
    "oversized_endpoint",
    "put_sample_payload",
    "sporadic_async",
    "sporadic_small_model",
]

LOOKBACK_HOURS = 14 * 24
PAYLOAD_TAG = "endpoint-optimizer:sample-payload"
PAYLOAD_BUCKET = "sample-payloads-123456789012"
PAYLOAD_URL = f"s3://{PAYLOAD_BUCKET}/requests.tar.gz"
OBSERVED_P99_MS = 40.0  # what the endpoints answer in today (CloudWatch ModelLatency, in microseconds)
REQUESTS_PER_HOUR = 250.0
XGBOOST_X86 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1"  # arm64 build known

# How long before an hour ends a seeded sporadic endpoint's quiet hour becomes the next one (a run from
# seeding to its change takes well under this).
QUIET_HOUR_LEAD_MINUTES = 4


@dataclass(frozen=True)
class Fleet:
    """Where to seed and when "now" is. `scanned_regions`: the regions the stack scans, which key its
    price cache (default: the emulated AWS's own region)."""

    aws: EmulatedAws
    now: datetime
    scanned_regions: tuple[str, ...] = ()

    @property
    def window_start(self) -> datetime:
        return self.now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=LOOKBACK_HOURS)

    def endpoint(
        self,
        name: str,
        *,
        traffic: str,
        days_old: float = 30,
        tags: dict[str, str] | None = None,
        instance_type: str = "ml.m5.large",
        autoscaling: bool = False,
        region: str | None = None,
        account_id: str | None = None,
    ) -> str:
        """traffic: idle (CPU every hour, no invocations) | busy | silent (no metrics at all).

        `region` and `account_id` default to the stack's own; another account is a member account.
        """
        account_id = account_id or self.aws.account_id

        def client(service: str) -> Any:
            return self.aws.client(service, region, account_id)

        create_endpoint(
            client("sagemaker"),
            name=name,
            variants=[VariantSpec(instance_type=instance_type)],
            tags=tags or {},
            created_days_ago=days_old,
            now=self.now,
            account_id=account_id,
        )
        series: dict[str, Any] = {
            "idle": {"cpu": [1.5] * LOOKBACK_HOURS, "memory": [22.0] * LOOKBACK_HOURS},
            "busy": {
                "invocations": [250.0] * LOOKBACK_HOURS,
                "cpu": [45.0] * LOOKBACK_HOURS,
                "memory": [40.0] * LOOKBACK_HOURS,
            },
            "silent": {},
        }[traffic]
        if series:
            put_hourly_metrics(
                client("cloudwatch"),
                endpoint=name,
                variant="AllTraffic",
                start=self.window_start,
                hours=LOOKBACK_HOURS,
                **series,
            )
        if autoscaling:
            register_scalable_target(client("application-autoscaling"), name, "AllTraffic", 1, 4)
        return name


# ---- sample payloads and benchmarked endpoints ------------------------------------------------------------
def put_sample_payload(aws: EmulatedAws) -> None:
    """A one-request .tar.gz at PAYLOAD_URL, what an owner tags as `endpoint-optimizer:sample-payload`.
    Idempotent: several seeders share it."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        body = b"5.1,3.5,1.4,0.2\n"
        info = tarfile.TarInfo("request-0001.csv")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    s3 = aws.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=PAYLOAD_BUCKET)
    s3.put_object(Bucket=PAYLOAD_BUCKET, Key="requests.tar.gz", Body=archive.getvalue())


def oversized_endpoint(
    aws: EmulatedAws,
    name: str,
    *,
    observed_p99_ms: float = OBSERVED_P99_MS,
    payload: bool = True,
    variant: VariantSpec | None = None,
    cpu: float = 40.0,
) -> str:
    """One ml.m5.xlarge whose CPU peaks at 10 % of the instance and memory at 30 %, steadily busy: the
    ladder proposes rightsizing it to ml.m5.large, to be confirmed by a benchmark. (`variant` and `cpu`,
    summed over the vCPUs as SageMaker publishes it, make another endpoint.)"""
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=LOOKBACK_HOURS)
    create_endpoint(
        aws.client("sagemaker"),
        name=name,
        variants=[variant or VariantSpec(instance_type="ml.m5.xlarge")],
        tags={PAYLOAD_TAG: PAYLOAD_URL} if payload else {},
        created_days_ago=30,
        now=now,
        account_id=aws.account_id,
    )
    cloudwatch = aws.client("cloudwatch")
    put_hourly_metrics(
        cloudwatch,
        endpoint=name,
        variant="AllTraffic",
        start=start,
        hours=LOOKBACK_HOURS,
        invocations=[REQUESTS_PER_HOUR] * LOOKBACK_HOURS,
        cpu=[cpu] * LOOKBACK_HOURS,  # published CPUUtilization: 4 vCPUs, so 40 is 10 % of the instance
        memory=[30.0] * LOOKBACK_HOURS,
    )
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Timestamp": start + timedelta(hours=hour),
                "Value": observed_p99_ms * 1000,  # CloudWatch's ModelLatency is in microseconds
                "Unit": "Microseconds",
            }
            for hour in range(0, LOOKBACK_HOURS, 6)
        ],
    )
    return name


# ---- the endpoints, one per rung ----------------------------------------------------------------------
def _backdate(aws: EmulatedAws, name: str, config: str, now: datetime) -> None:
    """moto reports "now" as CreationTime: 40 days of history, past the grace period."""
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[aws.account_id][aws.region]
    created = (now - timedelta(days=40)).replace(tzinfo=None)
    backend.endpoints[name].creation_time = backend.endpoints[name].last_modified_time = created
    backend.endpoint_configs[config].creation_time = created


def idle_inference_components(fleet: Fleet) -> str:
    """An endpoint with managed instance scaling (1-2 x ml.g5.2xlarge) hosting one component whose copy
    count its owner autoscales 1-3; no request in 14 days."""
    aws, name, component = fleet.aws, "llm-chat-ic", "llm-chat-7b"
    sagemaker = aws.client("sagemaker")
    sagemaker.create_model(
        ModelName=component, ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": DEFAULT_IMAGE}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ExecutionRoleArn=EXECUTION_ROLE_ARN,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        Tags=[{"Key": "team", "Value": "assistants"}],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    sagemaker.create_inference_component(
        InferenceComponentName=component,
        EndpointName=name,
        VariantName="AllTraffic",
        Specification={
            "ModelName": component,
            "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 1024,
                "NumberOfAcceleratorDevicesRequired": 1,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    _backdate(aws, name, f"{name}-config", fleet.now)
    resource, dimension = f"inference-component/{component}", "sagemaker:inference-component:DesiredCopyCount"
    autoscaling = aws.client("application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=1,
        MaxCapacity=3,
    )
    autoscaling.put_scaling_policy(
        PolicyName="owners-copies",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        },
    )
    _hourly(fleet, name, cpu=1.0, memory=25.0)
    return name


def sporadic_async(fleet: Fleet) -> str:
    """An async endpoint on one ml.m5.xlarge, busy one hour in twelve, without autoscaling."""
    aws, name = fleet.aws, "batch-ocr-async"
    sagemaker = aws.client("sagemaker")
    sagemaker.create_model(
        ModelName="batch-ocr", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": DEFAULT_IMAGE}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "batch-ocr",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://ocr-results-123456789012/out/"}},
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    _backdate(aws, name, f"{name}-config", fleet.now)
    _hourly(fleet, name, cpu=4.0, memory=30.0, invocations=lambda hour: 6.0 if hour % 12 == 3 else 0.0)
    return name


def sporadic_small_model(fleet: Fleet) -> str:
    """One ml.m5.large used in a few hours of fourteen days: some traffic in every hour of the day but
    this one (so the quietest hour of its profile is now: the move recreates the endpoint only then),
    answering in 40 ms, a sample payload tagged so Inference Recommender can confirm the move."""
    put_sample_payload(fleet.aws)
    name = fleet.endpoint("sporadic-quarterly-report", traffic="silent", tags={PAYLOAD_TAG: PAYLOAD_URL})
    # The quietest hour is the one the run applies in: seeded in an hour's last minutes, the run would start
    # its change after the hour ended and wait a day ("Wait for the quiet hour"); the next hour then is the
    # quiet one, and the workflow waits the few minutes to it.
    quiet = (fleet.now + timedelta(minutes=QUIET_HOUR_LEAD_MINUTES)).hour
    _hourly(
        fleet,
        name,
        cpu=2.0,
        memory=22.0,
        # one hour of traffic for each hour of the day but `quiet` (on day <hour> mod 14): 23 of 336 hours
        invocations=lambda index: (
            12.0 if index // 24 == _hour_of(fleet, index) % 14 and _hour_of(fleet, index) != quiet else 0.0
        ),
    )
    _model_latency(fleet, name, ms=40.0)
    return name


def business_hours(fleet: Fleet) -> str:
    """Two ml.m5.xlarge serving weekdays 09-17 UTC only (no time zone tag: UTC)."""
    name = fleet.endpoint("support-ticket-router", traffic="silent", instance_type="ml.m5.xlarge")
    sagemaker = fleet.aws.client("sagemaker")
    # fleet.endpoint makes one instance: the schedule keeps the owner's count in business hours
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[fleet.aws.account_id][fleet.aws.region]
    config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    backend.endpoint_configs[config].production_variants[0]["InitialInstanceCount"] = 2
    backend.endpoints[name].production_variants[0]["CurrentInstanceCount"] = 2
    backend.endpoints[name].production_variants[0]["DesiredInstanceCount"] = 2

    def on(hour: int) -> bool:
        moment = fleet.window_start + timedelta(hours=hour)
        return moment.weekday() < 5 and 9 <= moment.hour < 17

    _hourly(
        fleet,
        name,
        cpu=[160.0 if on(h) else 8.0 for h in range(LOOKBACK_HOURS)],
        memory=40.0,
        invocations=lambda hour: 900.0 if on(hour) else 0.0,
    )
    return name


def oversized(fleet: Fleet, name: str = "oversized-fraud-xgb") -> str:
    """One ml.m5.xlarge at 10 % CPU answering in 40 ms, with a payload: rightsize, benchmarked."""
    put_sample_payload(fleet.aws)
    return oversized_endpoint(fleet.aws, name)


def on_x86(fleet: Fleet) -> str:
    """One ml.c5.xlarge at 50 % CPU (not a rightsize) on XGBoost 1.5-1, whose arm64 build is known; the
    Graviton sizes priced as the Price List API would price them (GRAVITON_FIXTURE_PRICES)."""
    put_sample_payload(fleet.aws)
    cache_graviton_fixture_prices(fleet)
    x86 = VariantSpec(instance_type="ml.c5.xlarge", image=XGBOOST_X86)
    return oversized_endpoint(fleet.aws, "embed-xgb-x86", variant=x86, cpu=200.0)


# The emulated AWS has no Price List API (moto 5.2.5; the analyzer falls back to the bundled table, which
# prices ml.c6g.large alone of the Graviton sizes in us-east-1), so the move's benchmark would be deferred
# ("no price for ml.c6g.xlarge, ..."). What a live lookup leaves in the state table's price cache for the
# day: fixture values, not AWS facts (ml.c6g.xlarge is twice the bundled ml.c6g.large; the others near it).
GRAVITON_FIXTURE_PRICES = {
    "ml.c6g.xlarge": 0.1632,
    "ml.c7g.large": 0.0867,
    "ml.c7g.xlarge": 0.1734,
    "ml.c8g.large": 0.0910,
    "ml.c8g.xlarge": 0.1820,
}
FIXTURE_PRICE_SOURCE = "fixture (the emulated AWS has no Price List API)"


def cache_graviton_fixture_prices(fleet: Fleet) -> None:
    """GRAVITON_FIXTURE_PRICES, in the emulated AWS's region, as the day's cached live prices of the
    stack's state table (the only table), under the key of the regions the stack scans. The price book
    reads a cache only when it has rows for every scanned region: the other regions get their bundled
    prices, as they are (source and date kept)."""
    from endpoint_optimizer.decide.pricing.book import bundled_price_book
    from endpoint_optimizer.infra.price_cache import DynamoDBPriceCache, PriceRow

    dynamodb = fleet.aws.client("dynamodb")
    (table,) = dynamodb.list_tables()["TableNames"]  # the stack's state table
    regions = list(fleet.scanned_regions or (fleet.aws.region,))
    others = [
        PriceRow(
            kind="hosting",
            region=price.region,
            instance_type=price.instance_type,
            usd=price.usd_per_hour,
            source=price.source,
            source_date=price.source_date,
        )
        for price in bundled_price_book().prices.values()
        if price.region in regions and price.region != fleet.aws.region
    ]
    rows = others + [
        PriceRow(
            kind="hosting",
            region=fleet.aws.region,
            instance_type=instance_type,
            usd=usd,
            source=FIXTURE_PRICE_SOURCE,
            source_date=fleet.now.date().isoformat(),
        )
        for instance_type, usd in GRAVITON_FIXTURE_PRICES.items()
    ]
    DynamoDBPriceCache(dynamodb, table, regions).save(fleet.now, rows)


def _hourly(
    fleet: Fleet,
    name: str,
    *,
    cpu: float | list[float],
    memory: float,
    invocations: Callable[[int], float] | None = None,
) -> None:
    """Hourly metrics over the look-back; `invocations` by the hour's index in the window."""
    put_hourly_metrics(
        fleet.aws.client("cloudwatch"),
        endpoint=name,
        variant="AllTraffic",
        start=fleet.window_start,
        hours=LOOKBACK_HOURS,
        invocations=None if invocations is None else [invocations(h) for h in range(LOOKBACK_HOURS)],
        cpu=cpu if isinstance(cpu, list) else [cpu] * LOOKBACK_HOURS,
        memory=[memory] * LOOKBACK_HOURS,
    )


def _hour_of(fleet: Fleet, index: int) -> int:
    """The UTC hour of the day of the window's `index`-th hour."""
    return (fleet.window_start + timedelta(hours=index)).hour


def _model_latency(fleet: Fleet, name: str, *, ms: float) -> None:
    """p99 ModelLatency today (CloudWatch publishes it in microseconds): the benchmark's threshold."""
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    fleet.aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Timestamp": fleet.window_start + timedelta(hours=hour),
                "Value": ms * 1000,
                "Unit": "Microseconds",
            }
            for hour in range(0, LOOKBACK_HOURS, 6)
        ],
    )
