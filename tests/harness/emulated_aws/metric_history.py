"""`make bench` (metric cost): metric series read with the incremental history, and the decisions it gives.

GetMetricData bills per metric requested (one per MetricStat query, whatever the time range), so the
figure that matters is series requested per endpoint per day. A small in-process CloudWatch answers
GetMetricData from series that are functions of absolute time (a steady fleet keeps publishing as
days pass; `now` is passed in), and counts the MetricStat queries it is asked.

Prints:
- series per endpoint for a first scan (no history) and a repeat scan a day later, and the average per
  endpoint per day over a week of daily scans after the first, on the steady emulated fleet
  (`bench.generate_fleet`: its variants and traffic kinds);
- the decisions on the labelled fleet from a full read and from the incremental history, built by
  daily scans from 1, 6 and 13 days earlier (13: the oldest a fortnightly decision series gets).
- what the tool costs a month per 1,000 endpoints scanned daily, from these counts (`cost_estimate`).
Exits 1 when either average exceeds 1.5 series per endpoint per day or any finding differs.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from emulated_aws.bench import BenchEndpoint, generate_fleet
from emulated_aws.decision_bench import POLICY
from emulated_aws.labelled_fleet import Labelled, generate, labelled_price_book
from endpoint_optimizer.decide import ladder
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import Endpoint, Finding, ScannedEndpoint, Variant
from endpoint_optimizer.scan.history import read_with_history
from endpoint_optimizer.scan.metrics import look_back_window
from endpoint_optimizer.scan.state import EndpointHistory

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LOOKBACK_DAYS = 14
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MAX_SERIES_PER_ENDPOINT_DAY = 1.5

# (endpoint, subject, metric name, stat, period s) -> the points it publishes between two moments.
SeriesKey = tuple[str, str, str, str, int]
Source = Callable[[datetime, datetime], list[tuple[datetime, float]]]


class SeriesCloudWatch:
    """GetMetricData over generated series; counts what AWS bills: one metric per MetricStat query."""

    def __init__(self, sources: dict[SeriesKey, Source]) -> None:
        self.sources = sources
        self.metrics_requested = 0
        self.calls = 0

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        start, end = request["StartTime"], request["EndTime"]
        results = []
        for query in request["MetricDataQueries"]:
            if "MetricStat" not in query:
                continue  # an expression: not a metric requested
            self.metrics_requested += 1
            stat = query["MetricStat"]
            dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            subject = dimensions.get("VariantName") or dimensions["InferenceComponentName"]
            key = (
                dimensions.get("EndpointName", ""),
                subject,
                stat["Metric"]["MetricName"],
                stat["Stat"],
                stat["Period"],
            )
            source = self.sources.get(key)
            points = source(start, end) if source is not None else []
            results.append(
                {
                    "Id": query["Id"],
                    "Timestamps": [when for when, _ in points],
                    "Values": [value for _, value in points],
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results}


def _unit(*parts: object) -> float:
    """A deterministic draw in [0, 1) from `parts` (no shared random state: any moment, any order)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def _hours(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    first += HOUR if first < start else timedelta(0)
    return [first + i * HOUR for i in range(int((end - first) / HOUR))]


def _days(start: datetime, end: datetime) -> list[datetime]:
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    first += DAY if first < start else timedelta(0)
    return [first + i * DAY for i in range(max(0, int((end - first) / DAY) + 1)) if first + i * DAY < end]


# ------------------------------------------------------------------------------ the steady emulated fleet
def _calls(kind: str, name: str, hour: datetime) -> float:
    """Invocations of a `kind` variant in `hour`: busy every hour, business hours on weekdays 9-17,
    sporadic two hours on one day in five, idle and none never. Stationary: a steady fleet."""
    draw = _unit(name, hour.isoformat())
    if kind == "busy":
        return float(200 + int(draw * 5800))
    if kind == "business_hours":
        return float(500 + int(draw * 3500)) if hour.weekday() < 5 and 9 <= hour.hour < 17 else 0.0
    if kind == "sporadic":
        on = _unit(name, hour.date().isoformat()) < 0.2 and hour.hour in (10, 14)
        return float(2 + int(draw * 18)) if on else 0.0
    return 0.0


def steady_fleet_sources(fleet: Sequence[BenchEndpoint]) -> tuple[list[Endpoint], dict[SeriesKey, Source]]:
    endpoints: list[Endpoint] = []
    sources: dict[SeriesKey, Source] = {}
    for member in fleet:
        variants = [
            Variant(
                name=spec.name,
                instance_type=spec.instance_type,
                instance_count=spec.instance_count,
                serverless_memory_mb=spec.serverless_memory_mb,
            )
            for spec in member.variants
        ]
        endpoints.append(
            Endpoint(
                name=member.name,
                arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{member.name}",
                account_id="123456789012",
                region="us-east-1",
                status=member.status,
                created_at=NOW - timedelta(days=member.created_days_ago),
                last_modified_at=NOW - timedelta(days=member.created_days_ago),
                config_name=member.config_name,
                variants=variants,
            )
        )
        for variant, kind in zip(variants, member.traffic, strict=True):
            if kind == "none":
                continue  # publishes nothing (no-metrics, failed)
            name, subject = member.name, variant.name

            def hourly(start: datetime, end: datetime, name: str = name, kind: str = kind) -> list[Any]:
                return [(h, c) for h in _hours(start, end) if (c := _calls(kind, name, h)) > 0]

            def daily(low: float, high: float, *, name: str = name, signal: str) -> Source:
                return lambda start, end: [
                    (d, round(low + (high - low) * _unit(name, signal, d.isoformat()), 1))
                    for d in _days(start, end)
                ]

            def latency(start: datetime, end: datetime, name: str = name, kind: str = kind) -> list[Any]:
                return [
                    (d, 40_000.0)
                    for d in _days(start, end)
                    if any(_calls(kind, name, d + i * HOUR) for i in range(24))
                ]

            sources[(name, subject, "Invocations", "Sum", 3600)] = hourly
            sources[(name, subject, "ModelLatency", "Average", 86400)] = latency
            sources[(name, subject, "Invocation5XXErrors", "Sum", 86400)] = daily(0, 0, signal="errors")
            if variant.is_serverless:
                continue
            busy = kind in ("busy", "business_hours")
            cpu_peak = (40.0, 45.0) if busy else (2.0, 2.2)
            sources[(name, subject, "CPUUtilization", "Maximum", 86400)] = daily(*cpu_peak, signal="cpu")
            sources[(name, subject, "CPUUtilization", "Average", 86400)] = daily(5, 20, signal="cpu_avg")
            sources[(name, subject, "MemoryUtilization", "Maximum", 86400)] = daily(30, 33, signal="mem")
            sources[(name, subject, "GPUUtilization", "Maximum", 86400)] = daily(20, 22, signal="gpu")
            sources[(name, subject, "GPUMemoryUtilization", "Maximum", 86400)] = daily(10, 30, signal="gm")
    return endpoints, sources


@dataclass
class WeekOfScans:
    endpoints: int
    first_scan: float  # series per endpoint, no history
    repeat_scan: float  # series per endpoint, a day later
    per_day: list[float] = field(default_factory=list)  # series per endpoint, each day after the first
    calls_per_day: list[int] = field(default_factory=list)  # GetMetricData calls, each day after the first
    compute_s_per_day: list[float] = field(default_factory=list)  # in-process CPU seconds of each repeat scan
    history_bytes: list[int] = field(default_factory=list)  # JSON size of each endpoint's H# item at the end

    @property
    def week_average(self) -> float:
        """The first week of daily scans after the first scan."""
        return sum(self.per_day[:7]) / 7

    @property
    def fortnight_average(self) -> float:
        """Two weeks: every refresh period (weekly for busy variants, a look-back for idle ones) once."""
        return sum(self.per_day[:14]) / 14


def week_of_scans(size: int = 1_000, *, now: datetime = NOW) -> WeekOfScans:
    endpoints, sources = steady_fleet_sources(generate_fleet(size))
    cloudwatch = SeriesCloudWatch(sources)
    history: dict[str, EndpointHistory] = {}
    per_day: list[float] = []
    calls: list[int] = []
    compute: list[float] = []
    for day in range(15):  # the first scan, then two weeks of daily scans
        start, end = look_back_window(now + day * DAY, LOOKBACK_DAYS)
        before, calls_before, started = cloudwatch.metrics_requested, cloudwatch.calls, time.process_time()
        reads = read_with_history(cloudwatch, endpoints, history, start=start, end=end)  # type: ignore[arg-type]
        compute.append(time.process_time() - started)
        history = reads.history
        per_day.append((cloudwatch.metrics_requested - before) / len(endpoints))
        calls.append(cloudwatch.calls - calls_before)
    return WeekOfScans(
        len(endpoints),
        per_day[0],
        per_day[1],
        per_day[1:],
        calls_per_day=calls[1:],
        compute_s_per_day=compute[1:],
        history_bytes=[len(item.model_dump_json()) for item in history.values()],
    )


# ------------------------------------------------------------------------------ what the tool costs
# Prices, us-east-1, read 2026-12-01. Bundled (/work/shared/facts/limits.md, which cites the AWS Price List
# via aws-price-watcher processed/*.json 2025-05-24 and catchmeif404 2026-09-03): GetMetricData $0.00001 per
# metric requested; Step Functions Standard $0.000025 per state transition; Lambda arm64 $0.0000133334 per
# GB-second and $0.0000002 per request. Not in the bundled facts (AWS pricing pages as quoted in issue 11 and
# its brief, not verified here): DynamoDB on-demand $0.625 per million write and $0.125 per million read
# request units; S3 Standard $0.005 per 1,000 PUT requests.
GET_METRIC_DATA_USD = 0.00001
TRANSITION_USD = 0.000025
LAMBDA_ARM_GB_S_USD = 0.0000133334
LAMBDA_REQUEST_USD = 0.0000002
DYNAMODB_WRU_USD = 0.625 / 1e6
DYNAMODB_RRU_USD = 0.125 / 1e6
S3_PUT_USD = 0.005 / 1000
LAMBDA_MEMORY_GB = 0.5  # template.yaml Globals: MemorySize 512 (no function overrides it)
ASSUMED_CALL_S = 0.1  # an AWS API round trip from Lambda: assumed, not measured here
SCAN_WORKERS = 8  # template.yaml ScanFunction SCAN_MAX_WORKERS
DAYS_PER_MONTH = 30


def transitions_per_run(path: Path = Path("statemachines/optimize.asl.json")) -> tuple[int, int]:
    """(state transitions of a run that succeeds, per target scanned): the top-level states from StartAt
    along Next (a Choice along its first way that is not a Fail state), and the Distributed Map's states."""
    states = json.loads(path.read_text())["States"]
    start = json.loads(path.read_text())["StartAt"]
    count, name, per_target = 0, start, 0
    while name is not None:
        state = states[name]
        count += 1
        if (
            "ItemProcessor" in state
            and state["ItemProcessor"].get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        ):
            per_target = len(state["ItemProcessor"]["States"])
        if state["Type"] == "Choice":
            ways = [c["Next"] for c in state.get("Choices", [])] + [state.get("Default")]
            name = next((w for w in ways if w and states[w]["Type"] != "Fail"), None)
        else:
            name = None if state.get("End") or state["Type"] in ("Succeed", "Fail") else state.get("Next")
    return count, per_target


def cost_estimate(week: WeekOfScans) -> dict[str, float]:
    """Per 1,000 endpoints scanned daily, per month: each service's units and USD, from the bench's counts."""
    scale = 1000 / week.endpoints
    series_day = week.fortnight_average * 1000
    item_bytes = sum(week.history_bytes) * scale  # the H# items of 1,000 endpoints
    # DynamoDB: each H# item changes every scan (its Invocations move on): one PutRequest each, 1 WRU per KB;
    # the state is read with one Query, 1 RRU per 4 KB of all items returned (strongly consistent: the most).
    wru_day = sum(math.ceil(size / 1024) for size in week.history_bytes) * scale
    rru_day = math.ceil(item_bytes / 4096)
    # Lambda: the scan's in-process compute (measured) plus its AWS calls (counted here, or by the page
    # sizes: 100 endpoints a ListEndpoints/GetResources page, 25 items a BatchWriteItem, 1 MB a Query page)
    # at ASSUMED_CALL_S each over SCAN_WORKERS threads.
    compute_s = sum(week.compute_s_per_day) / len(week.compute_s_per_day) * scale
    calls = (
        sum(week.calls_per_day) / len(week.calls_per_day) * scale + 2 * 10 + 40 + math.ceil(item_bytes / 1e6)
    )
    scan_s = compute_s + calls * ASSUMED_CALL_S / SCAN_WORKERS
    gb_s_day = scan_s * LAMBDA_MEMORY_GB * 2  # scan, and analyze reading what it wrote (assumed equal)
    per_run, per_target = transitions_per_run()
    transitions_day = per_run + per_target
    puts_day = 4  # plan, report, summary, the snapshot when large: a handful a run
    month = {
        "getmetricdata_metrics": series_day * DAYS_PER_MONTH,
        "lambda_gb_s": gb_s_day * DAYS_PER_MONTH,
        "lambda_seconds_per_scan": scan_s,
        "stepfunctions_transitions": transitions_day * DAYS_PER_MONTH,
        "dynamodb_wru": wru_day * DAYS_PER_MONTH,
        "dynamodb_rru": rru_day * DAYS_PER_MONTH,
        "s3_puts": puts_day * DAYS_PER_MONTH,
        "history_kb_per_endpoint": item_bytes / 1000 / 1024,
    }
    month["usd_getmetricdata"] = month["getmetricdata_metrics"] * GET_METRIC_DATA_USD
    month["usd_lambda"] = month["lambda_gb_s"] * LAMBDA_ARM_GB_S_USD + 6 * DAYS_PER_MONTH * LAMBDA_REQUEST_USD
    month["usd_stepfunctions"] = month["stepfunctions_transitions"] * TRANSITION_USD
    month["usd_dynamodb"] = (
        month["dynamodb_wru"] * DYNAMODB_WRU_USD + month["dynamodb_rru"] * DYNAMODB_RRU_USD
    )
    month["usd_s3"] = month["s3_puts"] * S3_PUT_USD
    month["usd_total"] = sum(value for key, value in month.items() if key.startswith("usd_"))
    month["usd_getmetricdata_full_reads"] = week.first_scan * 1000 * DAYS_PER_MONTH * GET_METRIC_DATA_USD
    return month


def print_cost(month: dict[str, float]) -> None:
    print(
        "what the tool costs a month per 1,000 endpoints scanned daily (us-east-1; prices in metric_history.py):"
    )
    print(
        f"  GetMetricData  {month['getmetricdata_metrics']:>9,.0f} metrics      ${month['usd_getmetricdata']:.2f}"
        f"  (full reads every day: ${month['usd_getmetricdata_full_reads']:.2f})"
    )
    print(
        f"  Lambda         {month['lambda_gb_s']:>9,.0f} GB-s         ${month['usd_lambda']:.3f}"
        f"  (512 MB arm64; scan ~{month['lambda_seconds_per_scan']:.1f} s: measured compute + "
        f"{ASSUMED_CALL_S} s an AWS call assumed; analyze assumed the same)"
    )
    print(
        f"  Step Functions {month['stepfunctions_transitions']:>9,.0f} transitions  ${month['usd_stepfunctions']:.2f}"
        "  (optimize.asl.json, one target, no action proposed)"
    )
    print(
        f"  DynamoDB       {month['dynamodb_wru']:>9,.0f} WRU {month['dynamodb_rru']:>7,.0f} RRU  "
        f"${month['usd_dynamodb']:.2f}  (one H# history item a endpoint, "
        f"{month['history_kb_per_endpoint']:.1f} KB, rewritten each scan)"
    )
    print(f"  S3             {month['s3_puts']:>9,.0f} PUTs         ${month['usd_s3']:.4f}")
    print(f"  total          ${month['usd_total']:.2f} a month")


# ------------------------------------------------------------------------------ the labelled fleet
def _periodic(points: list[tuple[datetime, float]], window_start: datetime) -> Source:
    """The window's points, and before the window the same week repeated (a steady past)."""
    by_time = dict(points)

    def source(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        found = []
        for when in sorted({*by_time, *(t - k * WEEK for t in by_time for k in (1, 2, 3))}):
            if not start <= when < end:
                continue
            origin = when
            while origin < window_start:
                origin += WEEK
            if origin in by_time:
                found.append((when, by_time[origin]))
        return found

    return source


def labelled_sources(fleet: Sequence[Labelled]) -> dict[SeriesKey, Source]:
    """Each labelled endpoint's window as CloudWatch would publish it, hourly Invocations and daily
    statistics, with a steady past before it."""
    sources: dict[SeriesKey, Source] = {}
    for item in fleet:
        name = item.scanned.endpoint.name
        for metrics in item.scanned.metrics:
            start = metrics.window_start
            if start is None:
                continue
            subject = metrics.variant_name

            def at_day(day: int, start: datetime = start) -> datetime:
                return start + day * DAY

            every_day = [at_day(d) for d in range(metrics.window_days)]
            hourly = [(start + hour * HOUR, value) for hour, value in metrics.invocations_by_hour]
            daily: dict[tuple[str, str], list[tuple[datetime, float]]] = {
                ("CPUUtilization", "Maximum"): [(at_day(d), v) for d, v in metrics.cpu_max_by_day],
                ("GPUUtilization", "Maximum"): [(at_day(d), v) for d, v in metrics.gpu_max_by_day],
            }
            constant = {
                ("ModelLatency", "Average"): metrics.model_latency_avg_us,
                ("CPUUtilization", "Average"): metrics.cpu_avg_percent,
                ("MemoryUtilization", "Maximum"): metrics.memory_max_percent,
                ("GPUMemoryUtilization", "Maximum"): metrics.gpu_memory_max_percent,
            }
            for key, value in constant.items():
                if value is not None:
                    daily[key] = [(when, value) for when in every_day]
            if metrics.cpu_max_percent is not None and not metrics.cpu_max_by_day:
                days = every_day[-metrics.cpu_days_reported :] if metrics.cpu_days_reported else []
                daily[("CPUUtilization", "Maximum")] = [(when, metrics.cpu_max_percent) for when in days]
            sources[(name, subject, "Invocations", "Sum", 3600)] = _periodic(hourly, start)
            for (metric, stat), points in daily.items():
                if points:
                    sources[(name, subject, metric, stat, 86400)] = _periodic(points, start)
    return sources


def _decide(fleet: Sequence[Labelled], metrics: dict[str, Any], now: datetime) -> list[Finding]:
    policy = Policy.from_env(POLICY)
    prices = labelled_price_book()
    scanned = [
        ScannedEndpoint(endpoint=item.scanned.endpoint, metrics=metrics[item.scanned.endpoint.name])
        for item in fleet
    ]
    return ladder.decide_fleet([ladder.decide(s, prices, policy, now) for s in scanned], scanned, prices)


def _decision(finding: Finding) -> tuple[object, ...]:
    return (finding.action, finding.target, tuple(finding.blocked_by), finding.estimated_monthly_savings_usd)


@dataclass
class Comparison:
    history_days: int
    endpoints: int
    decisions_differing: list[str]
    findings_differing: int  # any field, reasons' numbers included
    series_full: int
    series_incremental: int


def compare_on_labelled(
    history_days: int, *, now: datetime = NOW, copies: int = 20, fleet: Sequence[Labelled] | None = None
) -> Comparison:
    """Findings from a full read at `now`, and from the history of daily scans since `history_days` ago."""
    fleet = list(fleet) if fleet is not None else generate(now, copies=copies, seed=2026)
    endpoints = [item.scanned.endpoint for item in fleet]
    sources = labelled_sources(fleet)
    start, end = look_back_window(now, LOOKBACK_DAYS)
    full_cloudwatch = SeriesCloudWatch(sources)
    full = read_with_history(full_cloudwatch, endpoints, {}, start=start, end=end)  # type: ignore[arg-type]
    cloudwatch = SeriesCloudWatch(sources)
    history: dict[str, EndpointHistory] = {}
    for day in range(history_days, -1, -1):
        moment_start, moment_end = look_back_window(now - day * DAY, LOOKBACK_DAYS)
        if day == 0:
            cloudwatch.metrics_requested = 0
        reads = read_with_history(cloudwatch, endpoints, history, start=moment_start, end=moment_end)  # type: ignore[arg-type]
        history = reads.history
    by_full = _decide(fleet, full.metrics, now)
    by_history = _decide(fleet, reads.metrics, now)
    differing = [
        f"{a.endpoint_name}: {a.action.value}{a.blocked_by} vs {b.action.value}{b.blocked_by}"
        for a, b in zip(by_full, by_history, strict=True)
        if _decision(a) != _decision(b)
    ]
    return Comparison(
        history_days=history_days,
        endpoints=len(fleet),
        decisions_differing=differing,
        findings_differing=sum(1 for a, b in zip(by_full, by_history, strict=True) if a != b),
        series_full=full_cloudwatch.metrics_requested,
        series_incremental=cloudwatch.metrics_requested,
    )


def main(argv: Sequence[str] | None = None) -> int:
    week = week_of_scans()
    print(f"\nmetric series requested (GetMetricData bills per series), steady fleet of {week.endpoints:,}:")
    print(f"  first scan (no history) {week.first_scan:5.2f} series/endpoint")
    print(f"  repeat scan (a day later) {week.repeat_scan:5.2f} series/endpoint")
    print("  daily scans, day 1-14: " + " ".join(f"{value:.2f}" for value in week.per_day))
    print(
        f"  average over a week {week.week_average:.2f}, over two weeks {week.fortnight_average:.2f} "
        f"series/endpoint/day (limit {MAX_SERIES_PER_ENDPOINT_DAY}); full reads every day: {week.first_scan:.2f}"
    )
    comparisons = [compare_on_labelled(days) for days in (1, 6, 13)]
    print("decisions on the labelled fleet, full read vs incremental history:")
    for c in comparisons:
        print(
            f"  history of {c.history_days} day(s): {c.endpoints} endpoints, "
            f"{len(c.decisions_differing)} decision(s) differ, {c.findings_differing} finding(s) differ in any "
            f"field; series {c.series_full} full vs {c.series_incremental} incremental"
        )
        for line in c.decisions_differing[:10]:
            print(f"    {line}")
    month = cost_estimate(week)
    print_cost(month)
    ok = max(week.week_average, week.fortnight_average) <= MAX_SERIES_PER_ENDPOINT_DAY and not any(
        c.decisions_differing or c.findings_differing for c in comparisons
    )
    Path(".bench").mkdir(exist_ok=True)
    Path(".bench/metric_history.json").write_text(
        json.dumps(
            {
                "endpoints": week.endpoints,
                "first_scan_series_per_endpoint": week.first_scan,
                "repeat_scan_series_per_endpoint": week.repeat_scan,
                "week_series_per_endpoint_day": week.per_day,
                "week_average": week.week_average,
                "fortnight_average": week.fortnight_average,
                "labelled_decisions_differing": {c.history_days: c.decisions_differing for c in comparisons},
                "labelled_findings_differing": {c.history_days: c.findings_differing for c in comparisons},
                "cost_per_1000_endpoints_month": month,
            },
            indent=2,
        )
    )
    print("metric cost thresholds (<= 1.5 series/endpoint/day, same decisions):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
