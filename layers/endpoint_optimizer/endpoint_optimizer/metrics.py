"""Per-variant CloudWatch signal over the look-back, read with GetMetricData in batches of 500 queries.

SageMaker publishes per variant: every query carries EndpointName AND VariantName. A query with the
wrong dimensions returns no data, which would look idle, so "no datapoints" is kept apart from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.models import Endpoint, VariantMetrics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# "A single GetMetricData call can include as many as 500 MetricDataQuery structures"
# (botocore 1.43.127 cloudwatch/2010-08-01 GetMetricData doc, read 2026-11-30).
MAX_QUERIES_PER_CALL = 500
HOUR = 3600

INVOCATION_NAMESPACE = "AWS/SageMaker"
UTILIZATION_NAMESPACE = "/aws/sagemaker/Endpoints"


@dataclass(frozen=True)
class _Query:
    query_id: str
    endpoint: str
    variant: str
    signal: str  # invocations | cpu | memory


_SIGNALS: dict[str, tuple[str, str, str]] = {
    "invocations": (INVOCATION_NAMESPACE, "Invocations", "Sum"),
    "cpu": (UTILIZATION_NAMESPACE, "CPUUtilization", "Maximum"),
    "memory": (UTILIZATION_NAMESPACE, "MemoryUtilization", "Maximum"),
}


def look_back_window(now: datetime, lookback_days: int) -> tuple[datetime, datetime]:
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=lookback_days), end


def read_variant_metrics(
    cloudwatch: CloudWatchClient, endpoints: list[Endpoint], *, start: datetime, end: datetime
) -> dict[str, list[VariantMetrics]]:
    """Hourly signal for every variant of every endpoint, keyed by endpoint name."""
    queries: list[_Query] = []
    for endpoint in endpoints:
        for variant in endpoint.variants:
            signals = ["invocations"] if variant.is_serverless else list(_SIGNALS)
            for signal in signals:
                queries.append(_Query(f"q{len(queries)}", endpoint.name, variant.name, signal))

    values: dict[str, list[float]] = {query.query_id: [] for query in queries}
    for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
        batch = queries[offset : offset + MAX_QUERIES_PER_CALL]
        request: dict[str, Any] = {
            "MetricDataQueries": [_metric_data_query(query) for query in batch],
            "StartTime": start,
            "EndTime": end,
        }
        # Pages are capped at 100,800 datapoints; a caller that ignores NextToken silently loses data.
        while True:
            page = cloudwatch.get_metric_data(**request)
            for series in page["MetricDataResults"]:
                values[series["Id"]].extend(float(value) for value in series.get("Values", []))
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token

    window_hours = int((end - start).total_seconds() // HOUR)
    by_variant: dict[tuple[str, str], dict[str, list[float]]] = {}
    for query in queries:
        by_variant.setdefault((query.endpoint, query.variant), {})[query.signal] = values[query.query_id]

    result: dict[str, list[VariantMetrics]] = {endpoint.name: [] for endpoint in endpoints}
    for (endpoint_name, variant_name), signal_values in by_variant.items():
        invocations = signal_values.get("invocations", [])
        cpu = signal_values.get("cpu", [])
        memory = signal_values.get("memory", [])
        result[endpoint_name].append(
            VariantMetrics(
                variant_name=variant_name,
                window_hours=window_hours,
                invocations_total=sum(invocations),
                hours_with_invocations=sum(1 for value in invocations if value > 0),
                invocation_datapoints=len(invocations),
                cpu_datapoints=len(cpu),
                cpu_max_percent=max(cpu) if cpu else None,
                memory_max_percent=max(memory) if memory else None,
            )
        )
    return result


def _metric_data_query(query: _Query) -> dict[str, Any]:
    namespace, metric_name, stat = _SIGNALS[query.signal]
    return {
        "Id": query.query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric_name,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": query.endpoint},
                    {"Name": "VariantName", "Value": query.variant},
                ],
            },
            "Period": HOUR,
            "Stat": stat,
        },
        "ReturnData": True,
    }
