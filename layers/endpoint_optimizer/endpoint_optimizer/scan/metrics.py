"""Per-variant and per-inference-component CloudWatch signal, read with GetMetricData in batches of 500.

SageMaker publishes per variant: every variant query carries EndpointName AND VariantName (never
EndpointName alone, never a hard-coded AllTraffic). A query with the wrong dimensions returns no data,
which would look idle, so "no datapoints" is kept apart from zero.

Resolution (botocore parses about 50,000 datapoints a second, so every datapoint costs ~20 us):
- Invocations: hourly Sum (traffic patterns need the hour: idle, sporadic, business hours).
- Utilisation (CPU/memory/GPU), ModelLatency, 5XX errors: daily statistics. "Reported every day" and
  "peak under X %" are all the decisions need; 24x fewer datapoints than hourly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.models import Endpoint, VariantMetrics

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# "A single GetMetricData call can include as many as 500 MetricDataQuery structures"; pages carry at
# most 100,800 datapoints and continue with NextToken (botocore 1.43.127 cloudwatch/2010-08-01
# GetMetricData documentation, read 2026-11-30).
MAX_QUERIES_PER_CALL = 500
HOUR = 3600
DAY = 86400

INVOCATION_NAMESPACE = "AWS/SageMaker"
UTILIZATION_NAMESPACE = "/aws/sagemaker/Endpoints"

GPU_FAMILIES = ("ml.g", "ml.p", "ml.inf", "ml.trn", "ml.dl")


@dataclass(frozen=True)
class Signal:
    key: str
    namespace: str
    metric: str
    stat: str
    period: int


# What a variant's decisions need, at the resolution they need it.
INVOCATIONS = Signal("invocations", INVOCATION_NAMESPACE, "Invocations", "Sum", HOUR)
LATENCY = Signal("latency", INVOCATION_NAMESPACE, "ModelLatency", "Average", DAY)
ERRORS = Signal("errors", INVOCATION_NAMESPACE, "Invocation5XXErrors", "Sum", DAY)
CPU_MAX = Signal("cpu_max", UTILIZATION_NAMESPACE, "CPUUtilization", "Maximum", DAY)
CPU_AVG = Signal("cpu_avg", UTILIZATION_NAMESPACE, "CPUUtilization", "Average", DAY)
MEMORY_MAX = Signal("memory_max", UTILIZATION_NAMESPACE, "MemoryUtilization", "Maximum", DAY)
GPU_MAX = Signal("gpu_max", UTILIZATION_NAMESPACE, "GPUUtilization", "Maximum", DAY)
GPU_MEMORY_MAX = Signal("gpu_memory_max", UTILIZATION_NAMESPACE, "GPUMemoryUtilization", "Maximum", DAY)


def signals_for(instance_type: str | None, *, serverless: bool) -> list[Signal]:
    if serverless:  # serverless variants publish no instance utilisation
        return [INVOCATIONS, LATENCY, ERRORS]
    signals = [INVOCATIONS, LATENCY, ERRORS, CPU_MAX, CPU_AVG, MEMORY_MAX]
    if instance_type and instance_type.startswith(GPU_FAMILIES):
        signals += [GPU_MAX, GPU_MEMORY_MAX]
    return signals


@dataclass(frozen=True)
class Query:
    query_id: str
    endpoint: str
    subject: str  # variant or inference component name
    scope: str
    signal: Signal
    start: datetime | None = None  # None: the window's start (a full read of the series)

    def request(self) -> dict[str, Any]:
        if self.scope == "variant":
            dimensions = [
                {"Name": "EndpointName", "Value": self.endpoint},
                {"Name": "VariantName", "Value": self.subject},
            ]
        else:
            dimensions = [{"Name": "InferenceComponentName", "Value": self.subject}]
        return {
            "Id": self.query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.signal.namespace,
                    "MetricName": self.signal.metric,
                    "Dimensions": dimensions,
                },
                "Period": self.signal.period,
                "Stat": self.signal.stat,
            },
            "ReturnData": True,
        }


@dataclass
class Series:
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def look_back_window(now: datetime, lookback_days: int) -> tuple[datetime, datetime]:
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=lookback_days), end


def plan_queries(endpoints: Iterable[Endpoint]) -> list[Query]:
    queries: list[Query] = []
    for endpoint in endpoints:
        for variant in endpoint.variants:
            for signal in signals_for(variant.instance_type, serverless=variant.is_serverless):
                queries.append(Query(f"q{len(queries)}", endpoint.name, variant.name, "variant", signal))
        for component in endpoint.inference_components:
            for signal in (INVOCATIONS, LATENCY, ERRORS):
                queries.append(
                    Query(f"q{len(queries)}", endpoint.name, component.name, "inference_component", signal)
                )
    return queries


def fetch_series(
    cloudwatch: CloudWatchClient,
    queries: list[Query],
    *,
    start: datetime,
    end: datetime,
    max_workers: int = 4,
    count_call: Callable[[str], None] | None = None,
    out_of_time: Callable[[], bool] | None = None,
) -> tuple[dict[str, Series], set[str], set[str]]:
    """The series of `queries` by query id (each from its own `start`, else `start`, to `end`); the
    endpoints whose batch was skipped past the deadline; those with a query that did not complete.

    One GetMetricData call has one StartTime: queries are batched by start, at most 500 a call."""
    by_start: dict[datetime, list[Query]] = {}
    for query in queries:
        by_start.setdefault(query.start or start, []).append(query)
    batches = [
        (since, group[i : i + MAX_QUERIES_PER_CALL])
        for since, group in sorted(by_start.items())
        for i in range(0, len(group), MAX_QUERIES_PER_CALL)
    ]

    def read_batch(item: tuple[datetime, list[Query]]) -> tuple[dict[str, Series], set[str]] | None:
        since, batch = item
        if out_of_time is not None and out_of_time():
            return None
        series = {query.query_id: Series() for query in batch}
        status: dict[str, str] = {}
        request: dict[str, Any] = {
            "MetricDataQueries": [query.request() for query in batch],
            "StartTime": since,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:  # a caller that ignores NextToken silently loses data
            if count_call is not None:
                count_call("cloudwatch:GetMetricData")
            page = cloudwatch.get_metric_data(**request)
            for result in page["MetricDataResults"]:
                target = series[result["Id"]]
                target.timestamps.extend(result.get("Timestamps", []))
                target.values.extend(float(value) for value in result.get("Values", []))
                status[result["Id"]] = result.get("StatusCode", "Complete")
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        # A query that did not end Complete (Forbidden, InternalError...) returned no data that means
        # nothing: its endpoint's signal is missing, never zero.
        failed = {query.endpoint for query in batch if status.get(query.query_id, "Complete") != "Complete"}
        return series, failed

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        results = list(pool.map(read_batch, batches))

    collected: dict[str, Series] = {}
    skipped: set[str] = set()
    failed: set[str] = set()
    for (_, batch), result in zip(batches, results, strict=True):
        if result is None:
            skipped.update(query.endpoint for query in batch)
        else:
            collected.update(result[0])
            failed.update(result[1])
    return collected, skipped, failed


def read_metrics(
    cloudwatch: CloudWatchClient,
    endpoints: list[Endpoint],
    *,
    start: datetime,
    end: datetime,
    max_workers: int = 4,
    count_call: Callable[[str], None] | None = None,
    out_of_time: Callable[[], bool] | None = None,
) -> tuple[dict[str, list[VariantMetrics]], set[str], set[str]]:
    """Every series of every endpoint over the whole window (a full read): signal per endpoint; the
    endpoints whose batch was skipped because the deadline passed; and those with a query that did not
    complete."""
    queries = plan_queries(endpoints)
    collected, skipped, failed = fetch_series(
        cloudwatch,
        queries,
        start=start,
        end=end,
        max_workers=max_workers,
        count_call=count_call,
        out_of_time=out_of_time,
    )
    grouped: dict[tuple[str, str, str], dict[str, Series]] = {}
    for query in queries:
        if query.query_id in collected:
            key = (query.endpoint, query.subject, query.scope)
            grouped.setdefault(key, {})[query.signal.key] = collected[query.query_id]

    by_endpoint: dict[str, list[VariantMetrics]] = {endpoint.name: [] for endpoint in endpoints}
    for (endpoint_name, subject, scope), signals in grouped.items():
        if endpoint_name in skipped or endpoint_name in failed:
            continue
        by_endpoint[endpoint_name].append(summarise(subject, scope, signals, start=start, end=end))
    return by_endpoint, skipped, failed


def summarise(
    subject: str, scope: str, signals: dict[str, Series], *, start: datetime, end: datetime
) -> VariantMetrics:
    def values(key: str) -> list[float]:
        return signals[key].values if key in signals else []

    def maximum(key: str) -> float | None:
        found = values(key)
        return max(found) if found else None

    def mean(key: str) -> float | None:
        found = values(key)
        return sum(found) / len(found) if found else None

    invocations = signals.get("invocations", Series())
    by_hour: dict[int, float] = {}
    for timestamp, value in zip(invocations.timestamps, invocations.values, strict=True):
        hour = int((_aware_like(timestamp, start) - start).total_seconds() // HOUR)
        by_hour[hour] = by_hour.get(hour, 0.0) + value

    def by_day(key: str) -> list[tuple[int, float]]:
        """The daily series of `key` as (day index from `start`, value); the highest if a day repeats."""
        series = signals.get(key, Series())
        days: dict[int, float] = {}
        for timestamp, value in zip(series.timestamps, series.values, strict=True):
            day = int((_aware_like(timestamp, start) - start).total_seconds() // DAY)
            days[day] = max(days.get(day, value), value)
        return sorted(days.items())

    errors = values("errors")
    return VariantMetrics(
        variant_name=subject,
        scope="variant" if scope == "variant" else "inference_component",
        window_start=start,
        window_hours=int((end - start).total_seconds() // HOUR),
        invocations_total=sum(invocations.values),
        hours_with_invocations=sum(1 for value in by_hour.values() if value > 0),
        invocation_datapoints=len(invocations.values),
        invocations_by_hour=sorted((hour, value) for hour, value in by_hour.items() if value > 0),
        window_days=int((end - start).total_seconds() // DAY),
        cpu_days_reported=len(values("cpu_max")),
        cpu_max_percent=maximum("cpu_max"),
        cpu_avg_percent=mean("cpu_avg"),
        memory_max_percent=maximum("memory_max"),
        gpu_max_percent=maximum("gpu_max"),
        gpu_memory_max_percent=maximum("gpu_memory_max"),
        cpu_max_by_day=by_day("cpu_max"),
        gpu_max_by_day=by_day("gpu_max"),
        model_latency_avg_us=mean("latency"),
        errors_5xx_total=sum(errors) if errors else None,
        datapoints=sum(len(series.values) for series in signals.values()),
    )


def _aware_like(timestamp: datetime, reference: datetime) -> datetime:
    if timestamp.tzinfo is None and reference.tzinfo is not None:
        return timestamp.replace(tzinfo=reference.tzinfo)
    return timestamp


# One-minute datapoints are kept 15 days ("Data points with a period of 60 seconds (1 minute) are
# available for 15 days"; CloudWatch concepts, Metrics retention, read 2026-12-01); older windows read
# hourly sums (kept 455 days).
MINUTE_DATA_RETENTION = timedelta(days=15)


def invocations_since(
    cloudwatch: CloudWatchClient,
    endpoint_name: str,
    *,
    variants: Iterable[str],
    inference_components: Iterable[str] = (),
    start: datetime,
    end: datetime,
) -> float | None:
    """Invocations of an endpoint's variants and inference components from `start` to `end` (the
    re-check right before a change). None when CloudWatch did not answer every query completely: the
    caller must read that as "not known", never as zero."""
    if end <= start:
        return 0.0
    period = 60 if end - start <= MINUTE_DATA_RETENTION else HOUR
    # To the end of the period `end` falls in: a request in the current, unfinished minute counts too
    # (an EndTime inside it would leave that minute's datapoint out).
    end = datetime.fromtimestamp((int(end.timestamp()) // period + 1) * period, tz=end.tzinfo)
    signal = Signal("invocations", INVOCATION_NAMESPACE, "Invocations", "Sum", period)
    queries = [Query(f"v{i}", endpoint_name, name, "variant", signal) for i, name in enumerate(variants)]
    queries += [
        Query(f"c{i}", endpoint_name, name, "inference_component", signal)
        for i, name in enumerate(inference_components)
    ]
    if not queries:
        return None
    request: dict[str, Any] = {
        "MetricDataQueries": [query.request() for query in queries],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    total = 0.0
    status: dict[str, str] = {}
    while True:
        page = cloudwatch.get_metric_data(**request)
        for result in page["MetricDataResults"]:
            # PartialData on a page followed by NextToken means "more on the next page": judge the last.
            status[result["Id"]] = result.get("StatusCode", "Complete")
            total += sum(float(value) for value in result.get("Values", []))
        token = page.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    if any(status.get(query.query_id) != "Complete" for query in queries):
        return None
    return total


# The names tests/unit/decide/test_ladder.py imports (from before the incremental history made them public).
_Series = Series
_summarise = summarise
