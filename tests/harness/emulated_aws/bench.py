"""`make bench`: a reproducible scan benchmark on the emulated AWS (`python -m emulated_aws.bench`).

The emulated AWS (moto, patched) runs in a child process behind `proxy.LatencyProxy`, which adds a fixed
latency per request (default 20 ms), counts calls per operation and can throttle each operation above
N requests/s with the service's own throttling error. The child seeds the fleets straight into moto's
backend objects (the HTTP API would take minutes for 10,000 endpoints); this process runs the clients,
so the emulator's CPU does not compete with the scanner for one GIL.

Fleets (deterministic: the same endpoints and datapoints every run):
- scan fleet, 1,000 endpoints, 14 days of hourly Invocations, CPUUtilization and MemoryUtilization per
  variant: multi-variant, serverless, autoscaled, idle, busy, business-hours, sporadic, no-metrics,
  failed, young, untagged, skip-tagged, and endpoints sharing one endpoint config;
- inventory fleet, 10,000 endpoints of the same mix with daily datapoints (to keep the emulator small).

Scenarios: the scanner's first scan, its repeat scan of the unchanged fleet (same state file), the
common approach as baseline (per endpoint, serially: DescribeEndpoint, ListTags, GetMetricStatistics
per variant for Invocations and CPUUtilization; run on a sample and extrapolated), and a first scan
with every operation throttled at 20 requests/s. It prints a table, writes `.bench/scan.json` and exits
1 when a threshold of the issue is missed.

Two moto gaps that only a bench this size meets (GetMetricStatistics scanning every stored datapoint
per call; DescribeScalableTargets returning the same NextToken forever past 100 targets) are closed in
`moto_patches` (sections l and m), like every other emulator patch.

Nothing here is product code; `run_scanner` is the one place that knows the scanner's signature.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3

from emulated_aws import moto_patches
from emulated_aws.fleet import (
    ENDPOINTS_NAMESPACE,
    EXECUTION_ROLE_ARN,
    INVOCATIONS_NAMESPACE,
    SKIP_TAG_KEY,
    VariantSpec,
)
from emulated_aws.proxy import DEFAULT_LATENCY_S, Counts, LatencyProxy
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import ScanSnapshot
from endpoint_optimizer.scan.region import scan_region
from endpoint_optimizer.scan.state import LocalScanState

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.literals import StatisticType
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef

__all__ = [
    "BenchEndpoint",
    "BenchSettings",
    "RemoteAws",
    "emulator_session",
    "generate_fleet",
    "main",
    "pointed_at",
    "run_baseline",
    "run_bench",
    "run_scanner",
    "scan_outcome",
    "seed_fleet",
]

# The fixed "now" of every run: the fleet, its datapoints and the scans are the same each time.
NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
LOOKBACK_DAYS = 14
HOUR_S = 3600
DAY_S = 86_400

# The Must-show thresholds.
MAX_FIRST_SCAN_CALLS_PER_ENDPOINT = 2.05
MAX_REPEAT_SCAN_CALLS_PER_ENDPOINT = 0.1
MIN_WALL_RATIO_VS_BASELINE = 3.0
# The proxy's own check (timed here, not in `make test`: a sleep's length is the machine's business).
PROXY_PROBE_CALLS = 20


# ---------------------------------------------------------------------------------------------------
# the fleet
# ---------------------------------------------------------------------------------------------------

TRAFFIC_KINDS = ("idle", "busy", "business_hours", "sporadic", "none")


@dataclass(frozen=True)
class BenchEndpoint:
    """One seeded endpoint. `traffic` holds one kind per variant (TRAFFIC_KINDS)."""

    name: str
    config_name: str
    variants: tuple[VariantSpec, ...]
    traffic: tuple[str, ...]
    tags: dict[str, str]
    created_days_ago: float
    status: str = "InService"
    scalable_variants: tuple[str, ...] = ()
    shares_config: bool = False  # another endpoint created this config first


_TEAMS = ("search", "ads", "fraud", "risk", "pricing", "support", "vision", "nlp", "recsys", "forecast")
_USES = ("ranker", "classifier", "embedder", "scorer", "detector", "summarizer", "router", "ocr")
_INSTANCE_TYPES = (  # (type, weight): a mix of CPU, Graviton, GPU and Inferentia
    ("ml.m5.large", 22),
    ("ml.m5.xlarge", 14),
    ("ml.c5.xlarge", 12),
    ("ml.c5.2xlarge", 6),
    ("ml.c6g.large", 6),
    ("ml.c7g.xlarge", 4),
    ("ml.m6g.large", 4),
    ("ml.r5.large", 3),
    ("ml.t2.medium", 5),
    ("ml.g4dn.xlarge", 8),
    ("ml.g5.xlarge", 7),
    ("ml.g5.2xlarge", 3),
    ("ml.g6.xlarge", 2),
    ("ml.inf2.xlarge", 3),
    ("ml.p3.2xlarge", 1),
)
_TRAFFIC_WEIGHTS = (("idle", 30), ("busy", 35), ("business_hours", 12), ("sporadic", 13), ("none", 5))


def _weighted(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def generate_fleet(size: int, *, seed: str = "bench") -> list[BenchEndpoint]:
    """`size` endpoints, the same for the same (size, seed). About: 8 % share another endpoint's config,
    8 % serverless, 12 % of instance endpoints multi-variant, 20 % autoscaled, 15 % untagged, 3 % tagged
    skip, 10 % younger than the look-back, 2 % not InService."""
    rng = random.Random(f"{seed}-{size}")
    fleet: list[BenchEndpoint] = []
    last_instance: BenchEndpoint | None = None
    for index in range(size):
        name = f"{rng.choice(_TEAMS)}-{rng.choice(_USES)}-{index:05d}"
        roll = rng.random()
        status = "InService"
        if rng.random() < 0.02:
            status = rng.choice(("Failed", "Failed", "Updating", "Creating"))
        shares_config = False
        if last_instance is not None and roll < 0.08:  # a replica deployed from the same config
            config_name, variants, shares_config = last_instance.config_name, last_instance.variants, True
        elif roll < 0.16:
            config_name = f"{name}-config"
            memory = rng.choice((1024, 2048, 3072, 4096, 6144))
            variants = (VariantSpec(instance_type=None, serverless_memory_mb=memory),)
        else:
            config_name = f"{name}-config"
            count = 1 if rng.random() < 0.12 else 0
            count += 2 if rng.random() < 0.12 else 1
            names = ("AllTraffic",) if count == 1 else ("champion", "challenger", "shadow-b")[:count]
            variants = tuple(
                VariantSpec(
                    name=variant,
                    instance_type=_weighted(rng, _INSTANCE_TYPES),
                    instance_count=rng.choice((1, 1, 1, 1, 2, 2, 3, 4)),
                    weight=round(1.0 / count, 3),
                )
                for variant in names
            )
        if status != "InService":
            traffic = tuple("none" for _ in variants)
        else:
            first = _weighted(rng, _TRAFFIC_WEIGHTS)
            traffic = (first, *(rng.choice(("idle", "busy", first)) for _ in variants[1:]))
        tags: dict[str, str] = {}
        if rng.random() >= 0.15:
            tags = {"team": name.split("-", maxsplit=1)[0], "cost-center": f"cc-{rng.randint(1000, 1099)}"}
            tags["env"] = rng.choice(("prod", "prod", "staging", "dev"))
            if rng.random() < 0.035:
                tags[SKIP_TAG_KEY] = "true"
        young = rng.random() < 0.10
        created = rng.uniform(0.5, LOOKBACK_DAYS - 1) if young else rng.uniform(LOOKBACK_DAYS + 1, 400)
        instance_variants = tuple(v.name for v in variants if not v.is_serverless)
        autoscale_odds = 0.40 if traffic[0] in ("busy", "business_hours") else 0.08
        scalable = instance_variants if instance_variants and rng.random() < autoscale_odds else ()
        member = BenchEndpoint(
            name=name,
            config_name=config_name,
            variants=variants,
            traffic=traffic,
            tags=tags,
            created_days_ago=round(created, 3),
            status=status,
            scalable_variants=scalable,
            shares_config=shares_config,
        )
        fleet.append(member)
        if instance_variants and not shares_config:
            last_instance = member
    return fleet


# ---------------------------------------------------------------------------------------------------
# seeding straight into moto's backends (in the emulator's process)
# ---------------------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    fleet: str
    endpoints: int
    variants: int
    endpoint_configs: int
    scalable_targets: int
    datapoints: int
    metric_period_s: int
    seconds: float
    rss_before_mb: float
    rss_after_mb: float
    names: list[str] = field(default_factory=list, repr=False)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_after_mb - self.rss_before_mb


def _series_values(
    kind: str, start: datetime, points: int, period_s: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """(invocations, cpu) per period: invocations summed over the period, CPU averaged."""
    hours = period_s // HOUR_S
    sporadic_days = {rng.randrange(LOOKBACK_DAYS) for _ in range(rng.randint(1, 4))}
    invocations: list[float] = []
    cpu: list[float] = []
    for i in range(points):
        moment = start + timedelta(seconds=i * period_s)
        day = i * period_s // DAY_S
        weekday = moment.weekday() < 5
        if kind == "busy":
            calls = sum(rng.randint(200, 6000) for _ in range(hours) if rng.random() < 0.95)
            load = rng.uniform(20.0, 70.0)
        elif kind == "business_hours":
            on = weekday and (hours > 1 or 9 <= moment.hour < 17)
            calls = rng.randint(500, 4000) * (8 if hours > 1 else 1) if on else 0
            load = rng.uniform(15.0, 55.0) if on else rng.uniform(0.5, 3.0)
        elif kind == "sporadic":
            on = day in sporadic_days and (hours > 1 or moment.hour in (10, 14))
            calls = rng.randint(2, 20) if on else 0
            load = rng.uniform(3.0, 8.0) if on else rng.uniform(0.5, 3.0)
        else:  # idle
            calls = 0
            load = rng.uniform(0.5, 3.0)
        invocations.append(float(calls))
        cpu.append(round(load, 2))
    return invocations, cpu


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB (Linux /proc; 0 elsewhere)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = float(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def seed_fleet(
    aws: EmulatedAws,
    fleet: Sequence[BenchEndpoint],
    *,
    label: str,
    now: datetime = NOW,
    metric_period_s: int = HOUR_S,
) -> SeedReport:
    """Create `fleet` in moto's backends (models, configs, endpoints, scalable targets, datapoints).

    Datapoints cover the look-back window ending at `now` (to the hour), from the endpoint's creation
    if it is younger, one per `metric_period_s` as SageMaker publishes them: Invocations (AWS/SageMaker)
    only for periods with traffic; CPU and Memory utilisation (/aws/sagemaker/Endpoints) every period
    for instance variants, none for serverless ones. Must run in the emulator's process.
    """
    from moto.cloudwatch.models import Dimension, MetricDatum

    gc.collect()
    rss_before, _ = _rss_mb()
    started = time.monotonic()
    sagemaker = aws.backend("sagemaker")
    cloudwatch = aws.backend("cloudwatch")
    autoscaling = aws.backend("application-autoscaling")
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    window_end = naive_now.replace(minute=0, second=0, microsecond=0)
    window_start = window_end - timedelta(days=LOOKBACK_DAYS)
    period = timedelta(seconds=metric_period_s)
    stamps_cache: dict[datetime, list[datetime]] = {}  # shared datetime objects: less memory
    metric_data: list[Any] = cloudwatch.metric_data
    variants = configs = targets = datapoints = 0

    def datum(series: tuple[str, str, list[Any], str], when: datetime, value: float) -> Any:
        item = object.__new__(MetricDatum)  # no per-datum Dimension objects, no instance tracking
        item.namespace, item.name, item.timestamp = series[0], series[1], when
        item.dimensions, item.unit, item.value = series[2], series[3], value
        return item

    for member in fleet:
        created = naive_now - timedelta(days=member.created_days_ago)
        tag_list = [{"Key": k, "Value": v} for k, v in member.tags.items()]
        if not member.shares_config:
            production: list[dict[str, Any]] = []
            for variant in member.variants:
                model_name = f"{member.config_name}-{variant.name}"[:63]
                model = sagemaker.create_model(
                    model_name=model_name,
                    execution_role_arn=EXECUTION_ROLE_ARN,
                    primary_container={
                        "Image": variant.image,
                        "ModelDataUrl": f"s3://models-123456789012/{member.name}/model.tar.gz",
                    },
                    vpc_config=None,
                    containers=None,
                    tags=list(tag_list),
                )
                model.creation_time = created
                row: dict[str, Any] = {
                    "VariantName": variant.name,
                    "ModelName": model_name,
                    "InitialVariantWeight": variant.weight,
                }
                if variant.is_serverless:
                    row["ServerlessConfig"] = {
                        "MemorySizeInMB": variant.serverless_memory_mb,
                        "MaxConcurrency": variant.serverless_max_concurrency,
                    }
                else:
                    row["InstanceType"] = variant.instance_type
                    row["InitialInstanceCount"] = variant.instance_count
                production.append(row)
            config = sagemaker.create_endpoint_config(
                endpoint_config_name=member.config_name,
                production_variants=production,
                data_capture_config=None,
                async_inference_config=None,
                tags=list(tag_list),
                kms_key_id=None,
            )
            config.creation_time = created
            configs += 1
        endpoint = sagemaker.create_endpoint(
            endpoint_name=member.name, endpoint_config_name=member.config_name, tags=list(tag_list)
        )
        endpoint.creation_time = endpoint.last_modified_time = created
        endpoint.endpoint_status = member.status
        if member.status == "Failed":
            endpoint.failure_reason = (
                "The primary container for production variant AllTraffic did not pass the ping health check."
            )
        for variant_name in member.scalable_variants:
            variant = next(v for v in member.variants if v.name == variant_name)
            autoscaling.register_scalable_target(
                "sagemaker",
                f"endpoint/{member.name}/variant/{variant_name}",
                "sagemaker:variant:DesiredInstanceCount",
                min_capacity=1,
                max_capacity=max(4, variant.instance_count * 2),
                role_arn="arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling",
                suspended_state=None,
            )
            targets += 1

        first = max(window_start, created.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        if metric_period_s >= DAY_S:  # daily points stay aligned with the window start
            first = window_start + period * -(-(first - window_start) // period)
        points = max(0, int((window_end - first) / period))
        stamps = stamps_cache.get(first)
        if stamps is None:
            stamps = stamps_cache.setdefault(first, [first + i * period for i in range(points)])
        rng = random.Random(member.name)
        for variant, kind in zip(member.variants, member.traffic, strict=True):
            variants += 1
            if kind == "none" or points == 0:
                continue
            dims = [Dimension("EndpointName", member.name), Dimension("VariantName", variant.name)]
            calls = (INVOCATIONS_NAMESPACE, "Invocations", dims, "None")
            cpu_series = (ENDPOINTS_NAMESPACE, "CPUUtilization", dims, "Percent")
            memory_series = (ENDPOINTS_NAMESPACE, "MemoryUtilization", dims, "Percent")
            invocations, cpu = _series_values(kind, first, points, metric_period_s, rng)
            for when, value in zip(stamps, invocations, strict=True):
                if value > 0:
                    metric_data.append(datum(calls, when, value))
                    datapoints += 1
            if variant.is_serverless:
                continue
            for when, value in zip(stamps, cpu, strict=True):
                memory = round(min(95.0, 8.0 + value * 0.6 + rng.uniform(0, 4)), 2)
                metric_data.append(datum(cpu_series, when, value))
                metric_data.append(datum(memory_series, when, memory))
                datapoints += 2

    # Build the GetMetricData index now, so the first scan does not pay for it.
    index = moto_patches._metric_index(cloudwatch)
    with index.lock:
        index.refresh(cloudwatch.metric_data)
    gc.collect()
    return SeedReport(
        fleet=label,
        endpoints=len(fleet),
        variants=variants,
        endpoint_configs=configs,
        scalable_targets=targets,
        datapoints=datapoints,
        metric_period_s=metric_period_s,
        seconds=round(time.monotonic() - started, 2),
        rss_before_mb=round(rss_before, 1),
        rss_after_mb=round(_rss_mb()[0], 1),
        names=[member.name for member in fleet],
    )


# ---------------------------------------------------------------------------------------------------
# the emulator in a child process
# ---------------------------------------------------------------------------------------------------


def _serve_aws_side(conn: Connection, latency_s: float) -> None:
    """Child process: EmulatedAws + LatencyProxy; answers (command, kwargs) messages until "stop"
    (or until the parent's end of the connection closes)."""
    with EmulatedAws() as aws, LatencyProxy(aws.endpoint_url, latency_s=latency_s) as proxy:
        rss, _ = _rss_mb()
        conn.send(
            (True, {"url": proxy.url, "region": aws.region, "account_id": aws.account_id, "rss_mb": rss})
        )

        def seed(size: int, label: str, metric_period_s: int) -> dict[str, Any]:
            report = seed_fleet(aws, generate_fleet(size), label=label, metric_period_s=metric_period_s)
            return asdict(report)  # plain data: the parent may know this module as __main__

        def throttle(rate_per_s: float | None) -> None:
            proxy.clear_throttles()
            if rate_per_s:
                proxy.throttle(rate_per_s)

        commands: dict[str, Callable[..., Any]] = {
            "seed": seed,
            "counts": lambda reset=False: proxy.counts(reset=reset),
            "throttle": throttle,
            "rss": _rss_mb,
        }
        while True:
            try:
                command, arguments = conn.recv()
            except EOFError:
                return
            if command == "stop":
                conn.send((True, None))
                return
            try:
                conn.send((True, commands[command](**arguments)))
            except Exception:
                conn.send((False, traceback.format_exc()))


def _child_main(fd: int, latency_s: float) -> None:
    """Entry point of the emulator process (started by RemoteAws)."""
    _serve_aws_side(Connection(fd), latency_s)


class RemoteAws:
    """The parent's handle on the child process that runs the emulator and the proxy.

    A plain subprocess (not multiprocessing's spawn, which re-imports the caller's main script) talking
    over a socket pair with multiprocessing's pickled messages.
    """

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.url = ""
        self.region = ""
        self.account_id = ""
        self.started_rss_mb = 0.0
        self._conn: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RemoteAws:
        ours, theirs = socket.socketpair()
        # The harness is not installed (it is development tooling): the child finds it beside this file.
        harness = str(Path(__file__).resolve().parents[1])
        code = (
            f"import sys; sys.path.insert(0, {harness!r}); from emulated_aws.bench import _child_main; "
            "_child_main(int(sys.argv[1]), float(sys.argv[2]))"
        )
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno()), repr(self.latency_s)],
                pass_fds=[theirs.fileno()],
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        try:
            info = self._receive(timeout_s=180)
        except BaseException:
            self._shut_down()
            raise
        self.url, self.region, self.account_id = info["url"], info["region"], info["account_id"]
        self.started_rss_mb = info["rss_mb"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                self.call("stop", timeout_s=30)
        finally:
            self._shut_down()

    def _shut_down(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()  # our own child, by its handle
            process.wait(timeout=10)

    def call(self, command: str, timeout_s: float = 900, **arguments: Any) -> Any:
        if self._conn is None:
            raise RuntimeError("the emulator process is not running")
        self._conn.send((command, arguments))
        return self._receive(timeout_s)

    def _receive(self, timeout_s: float) -> Any:
        assert self._conn is not None and self._process is not None
        deadline = time.monotonic() + timeout_s
        try:
            while not self._conn.poll(1.0):  # a blocking wait that notices a dead child
                if self._process.poll() is not None:
                    raise EOFError
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the emulator process did not answer within {timeout_s} s")
            ok, value = self._conn.recv()
        except (EOFError, ConnectionError) as exc:
            raise RuntimeError(f"the emulator process died (exit code {self._process.poll()})") from exc
        if not ok:
            raise RuntimeError(f"the emulator process failed:\n{value}")
        return value

    def counts(self, *, reset: bool = False) -> Counts:
        counts: Counts = self.call("counts", reset=reset)
        return counts

    def throttle(self, rate_per_s: float | None) -> None:
        self.call("throttle", rate_per_s=rate_per_s)

    def seed(self, size: int, label: str, metric_period_s: int) -> SeedReport:
        report: dict[str, Any] = self.call("seed", size=size, label=label, metric_period_s=metric_period_s)
        return SeedReport(**report)

    def rss_mb(self) -> tuple[float, float]:
        current, peak = self.call("rss")
        return float(current), float(peak)


# ---------------------------------------------------------------------------------------------------
# clients: the scanner (through one adapter) and the baseline
# ---------------------------------------------------------------------------------------------------


class SignalTally:
    """What clients of one boto3 session asked CloudWatch for: metric series (one per GetMetricData query,
    counted on a request's first page; one per GetMetricStatistics statistic) and datapoints returned."""

    def __init__(self, session: boto3.Session) -> None:
        self._lock = threading.Lock()
        self.datapoints = 0
        self.series = 0
        events = session.events
        events.register("provide-client-params.cloudwatch.GetMetricData", self._metric_data_request)
        events.register(
            "provide-client-params.cloudwatch.GetMetricStatistics", self._metric_statistics_request
        )
        events.register("after-call.cloudwatch.GetMetricData", self._metric_data)
        events.register("after-call.cloudwatch.GetMetricStatistics", self._metric_statistics)

    def _add(self, *, series: int = 0, datapoints: int = 0) -> None:
        with self._lock:
            self.series += series
            self.datapoints += datapoints

    def _metric_data_request(self, params: dict[str, Any], **_: Any) -> None:
        if not params.get("NextToken"):
            self._add(series=len(params.get("MetricDataQueries", [])))

    def _metric_statistics_request(self, params: dict[str, Any], **_: Any) -> None:
        self._add(series=len(params.get("Statistics", [])) + len(params.get("ExtendedStatistics", [])))

    def _metric_data(self, parsed: dict[str, Any], **_: Any) -> None:
        values = sum(len(result.get("Values", [])) for result in parsed.get("MetricDataResults", []))
        self._add(datapoints=values)

    def _metric_statistics(self, parsed: dict[str, Any], **_: Any) -> None:
        self._add(datapoints=len(parsed.get("Datapoints", [])))


def measure_proxy_latency(url: str, region: str, calls: int = PROXY_PROBE_CALLS) -> float:
    """Mean wall seconds per request through the proxy at `url`, on its cheapest call (GetCallerIdentity):
    the configured latency plus the local round trip."""
    sts = emulator_session(region).client("sts", endpoint_url=url)
    sts.get_caller_identity()  # connection set-up out of the way
    started = time.monotonic()
    for _ in range(calls):
        sts.get_caller_identity()
    return (time.monotonic() - started) / calls


def emulator_session(region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=region,
    )


def run_scanner(
    session: boto3.Session,
    *,
    region: str,
    account_id: str,
    state: LocalScanState,
    now: datetime = NOW,
    max_workers: int | None = None,
) -> ScanSnapshot:
    """THE adapter to the product scanner: the one place to change when scan_region's signature does.

    The repeat scan must get the same `state` as the first scan.
    """
    options: dict[str, Any] = {"state": state}
    if max_workers is not None:
        options["max_workers"] = max_workers
    clients = Clients(session, region)
    return scan_region(clients, account_id=account_id, lookback_days=LOOKBACK_DAYS, now=now, **options)


@dataclass
class ScanOutcome:
    scanned: int
    missing: list[str]  # seeded but not in the snapshot
    unscanned: list[str]  # in the snapshot's unscanned list ("name: reason")
    complete: bool
    fingerprints: dict[str, str]  # endpoint name -> hash of what was read about it

    @property
    def failed(self) -> int:
        return len(self.missing) + len(self.unscanned)


def scan_outcome(snapshot: ScanSnapshot, expected: Sequence[str]) -> ScanOutcome:
    """What the bench checks in a snapshot (adapter's other half: reads the snapshot's fields)."""
    fingerprints = {
        item.endpoint.name: hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:16]
        for item in snapshot.endpoints
    }
    unscanned = [f"{item.name}: {item.reason}" for item in getattr(snapshot, "unscanned", [])]
    return ScanOutcome(
        scanned=len(fingerprints),
        missing=sorted(set(expected) - set(fingerprints)),
        unscanned=unscanned,
        complete=bool(getattr(snapshot, "complete", True)),
        fingerprints=fingerprints,
    )


@dataclass
class BaselineResult:
    endpoints_listed: int
    sample: int
    list_calls: int
    list_wall_s: float
    sample_calls: int
    sample_wall_s: float
    datapoints: int
    series: int

    def extrapolated(self, endpoints: int) -> tuple[float, float, float, float]:
        """(calls, wall seconds, datapoints, series) for `endpoints` endpoints from the sample."""
        per = endpoints / self.sample if self.sample else 0.0
        return (
            self.list_calls * endpoints / max(1, self.endpoints_listed) + self.sample_calls * per,
            self.list_wall_s * endpoints / max(1, self.endpoints_listed) + self.sample_wall_s * per,
            self.datapoints * per,
            self.series * per,
        )


_BASELINE_METRICS: tuple[tuple[str, str, StatisticType], ...] = (
    (INVOCATIONS_NAMESPACE, "Invocations", "Sum"),
    (ENDPOINTS_NAMESPACE, "CPUUtilization", "Average"),
)


def run_baseline(session: boto3.Session, *, sample: int, now: datetime = NOW) -> BaselineResult:
    """The common approach, serially: list the endpoints, then per endpoint DescribeEndpoint, ListTags and
    GetMetricStatistics per variant for Invocations and CPUUtilization (hourly, 14 days). Runs on
    `sample` endpoints spread evenly over the list (all of them if sample >= the fleet)."""
    sagemaker = session.client("sagemaker")
    cloudwatch = session.client("cloudwatch")
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=LOOKBACK_DAYS)
    calls = 0
    started = time.monotonic()
    names: list[str] = []
    for page in sagemaker.get_paginator("list_endpoints").paginate():
        calls += 1
        names += [item["EndpointName"] for item in page["Endpoints"]]
    list_wall = time.monotonic() - started
    list_calls = calls
    step = max(1, len(names) // sample) if sample else 1
    chosen = names[::step][:sample]
    datapoints = series = 0
    calls = 0
    started = time.monotonic()
    for name in chosen:
        described = sagemaker.describe_endpoint(EndpointName=name)
        sagemaker.list_tags(ResourceArn=described["EndpointArn"])
        calls += 2
        for variant in described.get("ProductionVariants", []):
            dimensions: list[DimensionTypeDef] = [
                {"Name": "EndpointName", "Value": name},
                {"Name": "VariantName", "Value": variant["VariantName"]},
            ]
            for namespace, metric, statistic in _BASELINE_METRICS:
                answer = cloudwatch.get_metric_statistics(
                    Namespace=namespace,
                    MetricName=metric,
                    Dimensions=dimensions,
                    StartTime=start,
                    EndTime=end,
                    Period=HOUR_S,
                    Statistics=[statistic],
                )
                calls += 1
                series += 1
                datapoints += len(answer["Datapoints"])
    return BaselineResult(
        endpoints_listed=len(names),
        sample=len(chosen),
        list_calls=list_calls,
        list_wall_s=list_wall,
        sample_calls=calls,
        sample_wall_s=time.monotonic() - started,
        datapoints=datapoints,
        series=series,
    )


# ---------------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSettings:
    latency_s: float = DEFAULT_LATENCY_S
    scan_fleet: int = 1_000
    inventory_fleet: int = 10_000
    baseline_sample: int = 100
    throttle_rps: float = 20.0
    max_workers: int | None = None  # None: the scanner's default
    output: Path = Path(".bench/scan.json")


@dataclass
class Scenario:
    name: str
    fleet: str
    endpoints: int
    calls: float
    wall_s: float
    datapoints: float
    series: float
    by_operation: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    max_in_flight: int = 0
    failed: int = 0
    note: str = ""
    ratio_vs_baseline: float | None = None

    @property
    def calls_per_endpoint(self) -> float:
        return self.calls / self.endpoints if self.endpoints else 0.0

    @property
    def datapoints_per_endpoint(self) -> float:
        return self.datapoints / self.endpoints if self.endpoints else 0.0

    @property
    def series_per_endpoint(self) -> float:
        return self.series / self.endpoints if self.endpoints else 0.0


@dataclass
class Check:
    name: str
    value: float
    limit: float
    ok: bool


@contextmanager
def pointed_at(url: str, region: str) -> Iterator[None]:
    """Point every boto3 client of this process at the proxy, with fake credentials."""
    values = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    removed = [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")),
    ]
    saved = {key: os.environ.get(key) for key in [*values, *removed]}
    for key in removed:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _say(message: str) -> None:
    print(message, flush=True)


def _scan_scenario(
    remote: RemoteAws,
    *,
    name: str,
    fleet: str,
    expected: Sequence[str],
    state: LocalScanState,
    settings: BenchSettings,
) -> tuple[Scenario, ScanOutcome]:
    session = emulator_session(remote.region)
    tally = SignalTally(session)
    remote.counts(reset=True)
    started = time.monotonic()
    snapshot = run_scanner(
        session,
        region=remote.region,
        account_id=remote.account_id,
        state=state,
        max_workers=settings.max_workers,
    )
    wall = time.monotonic() - started
    counts = remote.counts(reset=True)
    outcome = scan_outcome(snapshot, expected)
    scenario = Scenario(
        name=name,
        fleet=fleet,
        endpoints=len(expected),
        calls=counts.total,
        wall_s=round(wall, 2),
        datapoints=tally.datapoints,
        series=tally.series,
        by_operation=counts.by_operation(),
        throttled=counts.total_throttled,
        max_in_flight=counts.max_in_flight,
        failed=outcome.failed,
    )
    problems = outcome.missing[:3] + outcome.unscanned[:3]
    if problems:
        scenario.note = f"failed: {', '.join(problems)}{' ...' if outcome.failed > len(problems) else ''}"
    _say(
        f"  {name}: {scenario.calls:.0f} calls ({scenario.calls_per_endpoint:.3f}/endpoint), {wall:.1f} s, "
        f"{scenario.series_per_endpoint:.1f} metric series and {scenario.datapoints_per_endpoint:.0f} "
        f"datapoints/endpoint, {outcome.failed} failed"
    )
    return scenario, outcome


def run_bench(settings: BenchSettings) -> dict[str, Any]:
    """Run every scenario; returns the results document (also written to settings.output)."""
    bench_started = time.monotonic()
    state_dir = settings.output.parent / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    for old in state_dir.glob("*.json"):
        old.unlink()
    scenarios: list[Scenario] = []
    seeds: list[dict[str, Any]] = []
    checks: list[Check] = []
    baseline: BaselineResult | None = None
    per_endpoint_baseline_wall: float | None = None

    def check(name: str, value: float, limit: float, ok: bool) -> None:
        checks.append(Check(name, round(value, 4), limit, ok))

    fleets = [
        ("scan", settings.scan_fleet, HOUR_S),
        ("inventory", settings.inventory_fleet, DAY_S),
    ]
    for label, size, period in fleets:
        if size <= 0:
            continue
        _say(f"fleet '{label}': {size:,} endpoints, {'hourly' if period == HOUR_S else 'daily'} metrics")
        started = time.monotonic()
        with RemoteAws(settings.latency_s) as remote, pointed_at(remote.url, remote.region):
            startup = time.monotonic() - started
            report = remote.seed(size, label, period)
            _say(
                f"  emulator started in {startup:.1f} s; seeded {report.endpoints:,} endpoints, "
                f"{report.datapoints:,} datapoints in {report.seconds:.1f} s; "
                f"emulator RSS {report.rss_after_mb:.0f} MB (+{report.rss_growth_mb:.0f} MB for the fleet)"
            )
            names = report.names
            if label == "scan" and settings.latency_s > 0:
                per_request = measure_proxy_latency(remote.url, remote.region)
                _say(
                    f"  proxy: {per_request * 1000:.1f} ms per request at {settings.latency_s * 1000:g} ms "
                    f"latency ({(per_request - settings.latency_s) * 1000:.1f} ms local round trip)"
                )
                check("proxy: ms per request (at least its latency)", per_request * 1000,
                      settings.latency_s * 1000, per_request >= settings.latency_s)  # fmt: skip
            state = LocalScanState(state_dir / f"{label}.json")
            first, first_outcome = _scan_scenario(
                remote, name=f"{label}: scanner, first scan", fleet=label, expected=names, state=state,
                settings=settings,
            )  # fmt: skip
            repeat, repeat_outcome = _scan_scenario(
                remote, name=f"{label}: scanner, repeat scan", fleet=label, expected=names, state=state,
                settings=settings,
            )  # fmt: skip
            scenarios += [first, repeat]
            check(f"{label}: first scan calls/endpoint", first.calls_per_endpoint,
                  MAX_FIRST_SCAN_CALLS_PER_ENDPOINT, first.calls_per_endpoint <= MAX_FIRST_SCAN_CALLS_PER_ENDPOINT)  # fmt: skip
            check(f"{label}: repeat scan calls/endpoint", repeat.calls_per_endpoint,
                  MAX_REPEAT_SCAN_CALLS_PER_ENDPOINT, repeat.calls_per_endpoint <= MAX_REPEAT_SCAN_CALLS_PER_ENDPOINT)  # fmt: skip
            check(f"{label}: first scan failed endpoints", first.failed, 0, first.failed == 0)
            changed = sum(
                1 for name, value in first_outcome.fingerprints.items()
                if repeat_outcome.fingerprints.get(name) != value
            )  # fmt: skip
            check(
                f"{label}: repeat scan reads what the first read (endpoints differing)",
                changed,
                0,
                changed == 0,
            )

            if label == "scan":
                sample = min(settings.baseline_sample, size)
                remote.counts(reset=True)
                session = emulator_session(remote.region)
                baseline = run_baseline(session, sample=sample)
                counted = remote.counts(reset=True)
                calls, wall, datapoints, series = baseline.extrapolated(size)
                per_endpoint_baseline_wall = wall / size
                extrapolated = baseline.sample < size
                by_operation = counted.by_operation()
                if extrapolated:
                    factor = size / baseline.sample
                    by_operation = {
                        op: round(n if op.endswith("ListEndpoints") else n * factor)
                        for op, n in by_operation.items()
                    }
                note = (
                    f"extrapolated from {baseline.sample} endpoints ({baseline.sample_wall_s:.1f} s, "
                    f"{baseline.sample_calls} calls) plus listing all {baseline.endpoints_listed}"
                    if extrapolated
                    else ""
                )
                scenarios.append(
                    Scenario(
                        name=f"{label}: baseline (serial Describe+ListTags+GetMetricStatistics)",
                        fleet=label,
                        endpoints=size,
                        calls=round(calls),
                        wall_s=round(wall, 2),
                        datapoints=datapoints,
                        series=series,
                        by_operation=by_operation,
                        max_in_flight=counted.max_in_flight,
                        note=note,
                        ratio_vs_baseline=1.0,
                    )
                )
                _say(f"  baseline: {calls:.0f} calls, {wall:.1f} s{' (' + note + ')' if note else ''}")
                ratio = wall / first.wall_s if first.wall_s else float("inf")
                check(f"{label}: first scan wall time vs baseline (x faster)", ratio,
                      MIN_WALL_RATIO_VS_BASELINE, ratio >= MIN_WALL_RATIO_VS_BASELINE)  # fmt: skip

                if settings.throttle_rps > 0:
                    remote.throttle(settings.throttle_rps)
                    throttled_state = LocalScanState(state_dir / f"{label}-throttled.json")
                    try:
                        throttled, throttled_outcome = _scan_scenario(
                            remote,
                            name=f"{label}: scanner, first scan, {settings.throttle_rps:g} req/s per operation",
                            fleet=label,
                            expected=names,
                            state=throttled_state,
                            settings=settings,
                        )
                    finally:
                        remote.throttle(None)
                    scenarios.append(throttled)
                    check(
                        f"{label}: throttled scan failed endpoints",
                        throttled.failed,
                        0,
                        throttled.failed == 0,
                    )
                    differing = sum(
                        1 for name, value in first_outcome.fingerprints.items()
                        if throttled_outcome.fingerprints.get(name) != value
                    )  # fmt: skip
                    check(f"{label}: throttled scan reads what the unthrottled read (endpoints differing)",
                          differing, 0, differing == 0)  # fmt: skip
            rss, peak = remote.rss_mb()
            seed_doc = {k: v for k, v in asdict(report).items() if k != "names"}
            seed_doc.update(
                rss_growth_mb=round(report.rss_growth_mb, 1),
                emulator_rss_at_end_mb=round(rss, 1),
                emulator_peak_rss_mb=round(peak, 1),
                emulator_startup_s=round(startup, 2),
                fleet_seconds=round(time.monotonic() - started, 1),
            )
            seeds.append(seed_doc)

    if per_endpoint_baseline_wall is not None:
        for scenario in scenarios:
            if scenario.ratio_vs_baseline is None and scenario.wall_s > 0:
                scenario.ratio_vs_baseline = round(
                    per_endpoint_baseline_wall * scenario.endpoints / scenario.wall_s, 2
                )

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            "latency_ms": settings.latency_s * 1000,
            "scan_fleet": settings.scan_fleet,
            "inventory_fleet": settings.inventory_fleet,
            "baseline_sample": settings.baseline_sample,
            "throttle_rps_per_operation": settings.throttle_rps,
            "max_workers": settings.max_workers,
            "lookback_days": LOOKBACK_DAYS,
            "now": NOW.isoformat(),
        },
        "fleets": seeds,
        "scenarios": [
            {
                **asdict(s),
                "calls_per_endpoint": round(s.calls_per_endpoint, 4),
                "datapoints_per_endpoint": round(s.datapoints_per_endpoint, 1),
                "series_per_endpoint": round(s.series_per_endpoint, 2),
            }
            for s in scenarios
        ],
        "baseline_sample": asdict(baseline) if baseline else None,
        "checks": [asdict(c) for c in checks],
        "passed": all(c.ok for c in checks),
        "bench_seconds": round(time.monotonic() - bench_started, 1),
    }
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


def render(document: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    settings = document["settings"]
    lines = [
        "",
        f"Scan benchmark: {settings['latency_ms']:g} ms per request, {settings['lookback_days']} days look-back",
        "",
    ]
    header = (
        f"{'scenario':<62} {'endpoints':>9} {'calls':>8} {'calls/ep':>9} {'wall s':>8} "
        f"{'series/ep':>9} {'dp/ep':>7} {'vs base':>8}"
    )
    lines += [header, "-" * len(header)]
    for s in document["scenarios"]:
        ratio = f"{s['ratio_vs_baseline']:.1f}x" if s["ratio_vs_baseline"] is not None else "-"
        lines.append(
            f"{s['name']:<62} {s['endpoints']:>9,} {s['calls']:>8,.0f} {s['calls_per_endpoint']:>9.3f} "
            f"{s['wall_s']:>8.1f} {s['series_per_endpoint']:>9.2f} {s['datapoints_per_endpoint']:>7.0f} {ratio:>8}"
        )
        operations = ", ".join(f"{op} {n:,}" for op, n in s["by_operation"].items())
        lines.append(f"    by operation: {operations}")
        extra = []
        if s["throttled"]:
            extra.append(f"{s['throttled']:,} throttled")
        if s["max_in_flight"]:
            extra.append(f"max {s['max_in_flight']} in flight")
        if s["failed"]:
            extra.append(f"{s['failed']} FAILED endpoints")
        if s["note"]:
            extra.append(s["note"])
        if extra:
            lines.append(f"    {'; '.join(extra)}")
    lines += [
        "  calls: every request that reached AWS (throttled ones included); series/ep: metric statistics",
        "  requested per endpoint; dp/ep: datapoints returned per endpoint; vs base: the baseline's wall",
        "  time for as many endpoints divided by this scenario's.",
        "",
        "Fleets:",
    ]
    for f in document["fleets"]:
        lines.append(
            f"  {f['fleet']}: {f['endpoints']:,} endpoints, {f['variants']:,} variants, "
            f"{f['endpoint_configs']:,} configs, {f['scalable_targets']:,} scalable targets, "
            f"{f['datapoints']:,} datapoints (period {f['metric_period_s']} s); seeded in {f['seconds']:.1f} s; "
            f"emulator RSS {f['rss_after_mb']:.0f} MB after seeding (+{f['rss_growth_mb']:.0f} MB), "
            f"peak {f['emulator_peak_rss_mb']:.0f} MB; fleet total {f['fleet_seconds']:.0f} s"
        )
    lines += ["", "Checks:"]
    for c in document["checks"]:
        lines.append(f"  {'PASS' if c['ok'] else 'FAIL'}  {c['name']}: {c['value']:g} (limit {c['limit']:g})")
    lines.append("")
    lines.append(f"{'PASSED' if document['passed'] else 'FAILED'} in {document['bench_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulated_aws.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_S * 1000)
    parser.add_argument("--scan-fleet", type=int, default=1_000, help="endpoints with hourly metrics")
    parser.add_argument(
        "--inventory-fleet", type=int, default=10_000, help="endpoints with daily metrics (0: skip)"
    )
    parser.add_argument(
        "--baseline-sample", type=int, default=100, help="endpoints the serial baseline reads"
    )
    parser.add_argument("--throttle-rps", type=float, default=20.0, help="per-operation limit (0: skip)")
    parser.add_argument("--max-workers", type=int, default=None, help="scanner threads (default: its own)")
    parser.add_argument("--output", type=Path, default=Path(".bench/scan.json"))
    args = parser.parse_args(argv)
    settings = BenchSettings(
        latency_s=args.latency_ms / 1000,
        scan_fleet=args.scan_fleet,
        inventory_fleet=args.inventory_fleet,
        baseline_sample=args.baseline_sample,
        throttle_rps=args.throttle_rps,
        max_workers=args.max_workers,
        output=args.output,
    )
    document = run_bench(settings)
    print(render(document))
    print(f"results: {settings.output}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
