"""What the endpoint does today, read from CloudWatch when a move is confirmed: the baseline a benchmark
is judged against (observed p99 model latency, observed peak invocations a minute).

The scan keeps daily averages only (enough to decide); a confirmation needs the tail and the peak:
- ModelLatency p99 over the look-back in one period. CloudWatch publishes ModelLatency in microseconds;
  Inference Recommender reports milliseconds (SageMaker developer guide, "Monitor Amazon SageMaker with
  Amazon CloudWatch", and the IR RecommendationMetrics reference; read 2026-12-01): converted here.
- Invocations Sum per 60 s, the highest minute. One-minute data is kept 15 days ("Data points with a
  period of 60 seconds (1-minute) are available for 15 days. After 15 days, this data is ... retrievable
  only with a resolution of 5 minutes", botocore 1.43 cloudwatch GetMetricStatistics documentation, read
  2026-12-01), so the peak is read over at most the last PEAK_LOOKBACK_DAYS.

AWS access: GetMetricData on a client passed in. SageMaker publishes per variant (EndpointName and
VariantName), so every query names both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from endpoint_optimizer.models import Baseline, Endpoint, Variant

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

NAMESPACE = "AWS/SageMaker"
MINUTE = 60
DAY = 86_400
MICROSECONDS_PER_MS = 1000.0
# One-minute datapoints live 15 days; a day less keeps the oldest minute clear of the retention edge.
PEAK_LOOKBACK_DAYS = 14
# A GetMetricData page carries at most 100,800 datapoints (botocore 1.43 cloudwatch GetMetricData,
# MaxDatapoints; read 2026-11-30): 14 days of minutes (20,160) fit one page, NextToken is followed anyway.
MAX_DATAPOINTS = 100_800


class VariantLike(Protocol):
    """A variant as the scan saw it (models.Variant or the finding's VariantFacts)."""

    @property
    def name(self) -> str: ...
    @property
    def instance_type(self) -> str | None: ...
    @property
    def instance_count(self) -> int: ...


def _query(
    query_id: str, endpoint: str, variant: str, *, metric: str, stat: str, period: int
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _values(
    cloudwatch: CloudWatchClient, query: dict[str, Any], start: datetime, end: datetime
) -> list[float]:
    values: list[float] = []
    request: dict[str, Any] = {
        "MetricDataQueries": [query],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
        "MaxDatapoints": MAX_DATAPOINTS,
    }
    while True:
        page: dict[str, Any] = dict(cloudwatch.get_metric_data(**request))
        for result in page.get("MetricDataResults", []):
            values.extend(float(value) for value in result.get("Values", []))
        token = page.get("NextToken")
        if not token:
            return values
        request["NextToken"] = token


def baseline_variant(endpoint: Endpoint) -> Variant | None:
    """The variant a benchmark replaces: the endpoint's first instance-backed production variant, else
    its first variant (serverless)."""
    instance = [variant for variant in endpoint.variants if variant.instance_type]
    if instance:
        return instance[0]
    return endpoint.variants[0] if endpoint.variants else None


def read_baseline(
    cloudwatch: CloudWatchClient, endpoint: Endpoint, now: datetime, lookback_days: int
) -> Baseline:
    """The baseline of `endpoint`'s `baseline_variant` (see read_variant_baseline); an endpoint without
    variants has an empty baseline."""
    variant = baseline_variant(endpoint)
    if variant is None:
        return Baseline()
    return read_variant_baseline(cloudwatch, endpoint.name, variant, now, lookback_days)


def read_variant_baseline(
    cloudwatch: CloudWatchClient, endpoint_name: str, variant: VariantLike, now: datetime, lookback_days: int
) -> Baseline:
    """The baseline of `endpoint_name`'s `variant`: its instance type and count as scanned, its observed
    p99 ModelLatency (ms) over `lookback_days` and its busiest minute (invocations) over the last
    min(lookback_days, PEAK_LOOKBACK_DAYS) days. None where CloudWatch has no datapoint."""
    end = now.replace(second=0, microsecond=0)
    days = max(1, lookback_days)
    latency = _values(
        cloudwatch,
        _query(
            "latency_p99", endpoint_name, variant.name, metric="ModelLatency", stat="p99", period=days * DAY
        ),
        end - timedelta(days=days),
        end,
    )
    per_minute = _values(
        cloudwatch,
        _query(
            "invocations_per_minute",
            endpoint_name,
            variant.name,
            metric="Invocations",
            stat="Sum",
            period=MINUTE,
        ),
        end - timedelta(days=min(days, PEAK_LOOKBACK_DAYS)),
        end,
    )
    return Baseline(
        instance_type=variant.instance_type,
        instance_count=variant.instance_count,
        observed_p99_latency_ms=round(max(latency) / MICROSECONDS_PER_MS, 3) if latency else None,
        observed_peak_invocations_per_minute=max(per_minute) if per_minute else None,
    )
