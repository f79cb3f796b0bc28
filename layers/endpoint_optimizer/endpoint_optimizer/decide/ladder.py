"""The fix ladder: one pure function per rung, registered in one place, each declaring the IAM
permissions its change needs. No boto3 here.

`decide(scanned, prices, policy, now)` applies the guards (opted out, not InService, serverless
already, new, recently changed, signal missing), then looks for a change inside the window (traffic
that started, stopped, moved or grows; utilisation that rises: `changes_of`), then walks the ladder
from the least risky, largest-saving fix down, and returns the first fix that applies. A change holds
every rung that takes capacity away until the new pattern can be judged, and a new pattern that has
lasted long enough is judged on itself. A fix whose preconditions are met but that something forbids
(including "window too short": a pattern seen fewer than two times) is returned with `blocked_by`
only when no other fix applies, so the plan still says what it would take.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import (
    HOURS_PER_MONTH,
    Action,
    Confidence,
    Finding,
    ScannedEndpoint,
    ScanSnapshot,
    UnscannedEndpoint,
    Variant,
    VariantMetrics,
)

# ---- thresholds (the policy of this tool; each is a judgement, written down) ----------------------
UTILIZATION_COVERAGE = 0.9  # utilisation "present": reported on >= 90 % of the days it could have been
TARGET_PEAK_UTILIZATION = 60.0  # after a rightsize the observed peak must stay under this (% CPU/GPU)
LOW_UTILIZATION = 35.0  # a steady endpoint whose peak stays under this is oversized
SPORADIC_ACTIVE_SHARE = 0.25  # traffic in at most a quarter of the hours
SPORADIC_MAX_CONCURRENCY = 10.0  # estimated peak concurrency serverless must absorb
BURST_FACTOR = 10.0  # an hour's average concurrency x this = a cautious peak (requests bunch up)
SERVERLESS_MEMORY_HEADROOM = 1.3  # memory in use x this must fit the serverless size
BUSINESS_HOURS = range(7, 19)  # UTC, Monday to Friday
BUSINESS_SHARE = 0.95  # at least this share of invocations inside business hours
BUSINESS_ACTIVE_WEEKDAYS = 0.6  # traffic on at least this share of the weekdays in the window
OFF_HOURS_FRACTION = (7 * 24 - 5 * len(BUSINESS_HOURS)) / (7 * 24)  # 108 of 168 hours
CONSOLIDATE_MIN_GROUP = 3
CONSOLIDATE_MAX_PEAK = 20.0  # % CPU of the instance: endpoints this lightly used can share a host
CONSOLIDATE_MEMORY_FILL = 0.8  # a shared host's memory is filled to at most this share

# Change inside the window. Fourteen days summarised into shares read a change of regime as a pattern
# (an endpoint that became busy yesterday looks "sporadic"), so the recent part of the window is compared
# with the rest before any rung runs. A change holds every rung that takes capacity away (park, scale to
# zero, serverless, schedule, rightsize) until the new pattern can be judged. The comparisons are made
# against the same hours one week earlier wherever they can be: nights and weekends then never look like
# a stop, nor Monday mornings like a start.
HOURS_PER_WEEK = 168
NEW_PATTERN_DAYS = 7  # a new pattern is judged once it has lasted a week: every weekday and a weekend
CHANGE_FACTOR = 4.0  # "moved by a large factor": a median hour 4x higher or lower than a week earlier, or
#                      traffic in 4x the share of hours. Traffic that swings 30x from hour to hour (200 to
#                      6,000 calls, as the demo's busy endpoints) moves its medians at most 3.3x (2,000
#                      simulated windows, every stretch below)
CHANGE_CHANCE = 1e-4  # a start or a stop is no accident: what the window shows would happen by chance less
#                       than once in 10,000 windows of an unchanged endpoint (sporadic traffic clusters and
#                       pauses by chance; a start or a stop is sustained)
START_QUIET_HOURS = 24  # a start follows a quiet day or more (a night is shorter) ...
START_MIN_HOURS = 3  # ... and has traffic in 3 hours or more: one or two hours after a quiet day is a burst
# A stop: the silence that ends the window covers hours that had traffic at the same hour of the week
# before it began. Were nothing changed, each such hour would be as likely to fall in either week, so 14
# of them all in the earlier week is a chance of 0.5 ** 14 = 6e-5 (under CHANGE_CHANCE): a busy endpoint
# is seen to stop after 14 quiet hours, a weekday business-hours one after about a day and a half of them.
LEVEL_MIN_HOURS = 6  # a level is the median invocations of 6 hours with traffic or more (noise shrinks)
LEVEL_BLOCK_HOURS = (12, 24, 48, 72, 96, 120, 144)  # recent stretches compared with a week earlier: a
#                                                     move shows once it fills half of 12 hours

RAMP_GROWTH = 1.5  # growing: the last week's median hour (or peak utilisation) 1.5x the week before's;
#                    at that rate next month carries 5x this week's traffic: no cut rests on the window
RAMP_MIN_HOURS = 12  # each week's median is taken over 12 hours with traffic or more
RAMP_MIN_DAYS = 3  # an endpoint observed for less than twice this is not checked for growth
UTILISATION_CHANGE_FLOOR = 10.0  # % of the instance: a rise that stays under it is an idle instance's noise

# Patterns longer than a day: named only when the window holds two full cycles of them.
PERIODIC_CYCLES = 2  # one occurrence cannot tell a pattern from a one-off, nor its period
BURST_GAP_HOURS = 24  # traffic after a quiet day or more is a new burst (a nightly job is one per night)
CYCLE_DAYS = (("daily", 1), ("weekly", 7), ("monthly", 31))  # the periods a finding names, shortest first

# "MemorySizeInMB ... min 1024 max 6144", 1 GB steps (botocore 1.43.127 sagemaker
# ProductionVariantServerlessConfig, read 2026-11-30); "GPUs, ... Multi-Model Endpoints, VPC
# configuration, network isolation, data capture, multiple production variants" are not supported
# (AWS docs serverless-endpoints.html, archived 2023-06, same list on the live page 2026).
SERVERLESS_MAX_MEMORY_MB = 6144
SERVERLESS_MEMORY_STEP_MB = 1024
# Serverless endpoints need a CPU container; these families carry accelerators.
ACCELERATED_FAMILIES = ("ml.g", "ml.p", "ml.inf", "ml.trn", "ml.dl")

# Graviton targets that SageMaker hosting offers (botocore 1.43.127 ProductionVariantInstanceType
# enum, read 2026-11-30: ml.c7g.*, ml.c6g.*, ml.m6g.*; there is no ml.m7g).
GRAVITON_TARGET_FAMILY = {"c": ("ml.c7g", "ml.c6g"), "m": ("ml.m6g",)}
# Images known to be published for arm64: AWS Deep Learning Containers for Graviton
# (`pytorch-inference-graviton`, `tensorflow-inference-graviton`; aws.github.io/graviton
# machinelearning/pytorch.html, read 2026-11-30) and images whose name or tag says arm64/aarch64.
ARM64_IMAGE_MARKERS = ("-graviton", "arm64", "aarch64")


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    family: str
    size: str
    vcpu: int
    memory_gib: float
    accelerator: str
    architecture: str
    # NVIDIA GPUs: what GPUUtilization and GPUMemoryUtilization sum over. 0 for CPU instances and for
    # Inferentia/Trainium: SageMaker documents no GPU metric for Neuron devices (their utilisation comes
    # from neuron-monitor, not /aws/sagemaker/Endpoints), so a Neuron instance has no accelerator reading
    # and nothing that needs one is proposed for it.
    gpus: int = 0

    @property
    def accelerated(self) -> bool:
        return bool(self.accelerator) or self.instance_type.startswith(ACCELERATED_FAMILIES)


def gpu_count(accelerator: str) -> int:
    """NVIDIA GPUs named by an accelerator description ("4x NVIDIA A10G 22.4GiB" -> 4); 0 for none and
    for Neuron devices ("1x AWS Inferentia2 ..."), which publish no GPU metric."""
    count, separator, rest = accelerator.partition("x ")
    if not separator or not count.isdigit() or not rest.startswith("NVIDIA "):
        return 0
    return int(count)


@cache
def instance_specs() -> dict[str, InstanceSpec]:
    """vCPU, memory, accelerator, GPU count, architecture (data/instance_specs.csv: moto 5.2.5's vendored
    EC2 DescribeInstanceTypes data, assuming ml.X has the hardware of EC2 X; `gpus` is the count in
    `gpu_or_accelerator` for NVIDIA GPUs, 0 otherwise)."""
    text = resources.files("endpoint_optimizer").joinpath("data/instance_specs.csv").read_text("utf-8")
    specs: dict[str, InstanceSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        if not row["vcpu"]:
            continue
        name = row["instance_type"]
        family, _, size = name.rpartition(".")
        specs[name] = InstanceSpec(
            instance_type=name,
            family=family,
            size=size,
            vcpu=int(row["vcpu"]),
            memory_gib=float(row["memory_gib"]),
            accelerator=row["gpu_or_accelerator"],
            architecture=row["architecture"],
            gpus=int(row["gpus"] or 0),
        )
    return specs


def is_accelerated(instance_type: str | None) -> bool:
    if instance_type is None:
        return False
    spec = instance_specs().get(instance_type)
    return spec.accelerated if spec else instance_type.startswith(ACCELERATED_FAMILIES)


# ---- utilisation in the instance's own terms ----------------------------------------------------------
# `/aws/sagemaker/Endpoints` (dimensions EndpointName + VariantName): CPUUtilization "is the sum of each
# individual CPU core's utilization ... if there are four CPUs, the CPUUtilization range is 0%-400%";
# GPUUtilization and GPUMemoryUtilization are "multiplied by the number of GPUs" the same way;
# MemoryUtilization is 0-100 (SageMaker developer guide, monitoring-cloudwatch.html, "Endpoint metrics",
# read 2026-12-01). The CPUs are the vCPUs the instance's OS sees. `CPUUtilizationNormalized` (0-100) is
# "provided only for endpoints that host active inference components" (same page); the scanner does not
# read it: no rung judges an inference-component endpoint by its utilisation, and CPUUtilization / vCPUs
# is the same number by definition. The thresholds at the top of this module are shares of the instance,
# so every comparison is made on `Reading.share`, never on the published sum.
SUMMED_SIGNALS = frozenset({"cpu", "cpu_avg", "gpu", "gpu_memory"})  # published as sums over vCPUs/GPUs
SIGNAL_FIELDS = {
    "cpu": "cpu_max_percent",
    "cpu_avg": "cpu_avg_percent",
    "gpu": "gpu_max_percent",
    "gpu_memory": "gpu_memory_max_percent",
    "memory": "memory_max_percent",
}
SIGNAL_NAMES = {
    "cpu": "CPU",
    "cpu_avg": "average CPU",
    "gpu": "GPU",
    "gpu_memory": "GPU memory",
    "memory": "memory",
}


@dataclass(frozen=True)
class Reading:
    """One utilisation figure as CloudWatch publishes it and as a share of the instance."""

    signal: str  # cpu | cpu_avg | gpu | gpu_memory | memory
    published: float  # the CloudWatch value: a sum over vCPUs or GPUs for CPU and GPU signals
    units: int  # vCPUs or GPUs the value sums over (1 for memory, which AWS publishes 0-100)
    instance_type: str
    variant: str = "AllTraffic"

    @property
    def share(self) -> float:
        """Per cent of the instance (0-100 for any value inside AWS's range)."""
        return self.published / self.units

    @property
    def scale(self) -> float:
        """The top of AWS's range for this value on this instance (800 % for 8 vCPUs)."""
        return 100.0 * self.units

    @property
    def summed(self) -> bool:
        return self.signal in SUMMED_SIGNALS

    def describe(self, prefix: str = "peak ") -> str:
        name = f"{prefix}{SIGNAL_NAMES[self.signal]}"
        if not self.summed:
            return f"{name} {self.published:.0f} %"
        return f"{name} {self.published:.0f} % of {self.scale:.0f} % = {self.share:.0f} % of the instance"


def signal_units(signal: str, instance_type: str | None) -> int | None:
    """What a published value of `signal` sums over on `instance_type`: vCPUs for CPU, GPUs for GPU
    and GPU memory, 1 for memory. None when it cannot be known: the type is not in the specs, or it has
    no NVIDIA GPU for a GPU signal. None is "signal missing", never a guess."""
    if signal not in SUMMED_SIGNALS:
        return 1  # MemoryUtilization is 0-100 on any instance
    spec = instance_specs().get(instance_type or "")
    if spec is None:
        return None
    if signal in ("cpu", "cpu_avg"):
        return spec.vcpu
    return spec.gpus or None


def reading(metrics: VariantMetrics, variant: Variant, signal: str) -> Reading | None:
    """The variant's `signal` in the instance's own terms; None when not reported or not readable."""
    published = getattr(metrics, SIGNAL_FIELDS[signal])
    units = signal_units(signal, variant.instance_type)
    if published is None or units is None or variant.instance_type is None:
        return None
    return Reading(signal, float(published), units, variant.instance_type, variant.name)


def unreadable_types(variants: list[Variant]) -> list[str]:
    """Instance types whose utilisation cannot be put in the instance's terms (not in the specs)."""
    return sorted(
        {v.instance_type or "unknown" for v in variants if (v.instance_type or "") not in instance_specs()}
    )


# ---- what the signal says ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Traffic:
    total: float
    hours_with_traffic: int
    expected_hours: int
    peak_hour: float
    business_share: float | None  # share of invocations in weekday business hours
    active_weekday_share: float | None
    latency_s: float | None
    first_hour: int | None = None  # judged from this hour of the window on (a new pattern); None: all of it
    bursts: int = 0  # runs of traffic separated by BURST_GAP_HOURS or more without any
    first_burst: tuple[datetime, datetime] | None = None  # first and last hour of the first burst

    @property
    def active_share(self) -> float:
        return self.hours_with_traffic / self.expected_hours if self.expected_hours else 0.0

    @property
    def peak_concurrency(self) -> float | None:
        if self.latency_s is None:
            return None
        return self.peak_hour / 3600 * self.latency_s * BURST_FACTOR

    @property
    def monthly_invocations(self) -> float:
        return self.total * HOURS_PER_MONTH / self.expected_hours if self.expected_hours else 0.0

    @property
    def observed_days(self) -> float:
        return self.expected_hours / 24


def traffic_of(
    metrics: list[VariantMetrics], lifetime_hours: int, *, first_hour: int | None = None
) -> Traffic:
    """The traffic of the look-back (of the part the endpoint existed for), or from `first_hour` of the
    window on: a new pattern is judged on itself, never diluted by the old one."""
    by_hour: dict[int, float] = {}
    for item in metrics:
        for hour, value in item.invocations_by_hour:
            if first_hour is None or hour >= first_hour:
                by_hour[hour] = by_hour.get(hour, 0.0) + value
    window = max((item.window_hours for item in metrics), default=0)
    if first_hour is None:
        total = sum(item.invocations_total for item in metrics)
        expected = max(1, min(window, lifetime_hours)) if window else 0
    else:
        total = sum(by_hour.values())
        expected = max(1, window - first_hour)
    latencies = [
        (item.model_latency_avg_us, item.invocations_total)
        for item in metrics
        if item.model_latency_avg_us is not None and item.invocations_total > 0
    ]
    weighted = sum(latency * weight for latency, weight in latencies)
    weights = sum(weight for _, weight in latencies)
    start = next((item.window_start for item in metrics if item.window_start is not None), None)
    business: float | None = None
    active_weekdays: float | None = None
    if start is not None and total > 0:
        inside = 0.0
        days_with_traffic: set[object] = set()
        for hour, value in by_hour.items():
            moment = start + timedelta(hours=hour)
            if moment.weekday() < 5 and moment.hour in BUSINESS_HOURS:
                inside += value
            if moment.weekday() < 5 and value > 0:
                days_with_traffic.add(moment.date())
        # The weekdays of the part judged (not those before the endpoint existed), one date at a time.
        first_day = (start + timedelta(hours=window - expected)).date()
        last_day = (start + timedelta(hours=window - 1)).date()
        weekdays = {
            day
            for offset in range((last_day - first_day).days + 1)
            if (day := first_day + timedelta(days=offset)).weekday() < 5
        }
        business = inside / total
        active_weekdays = len(days_with_traffic) / len(weekdays) if weekdays else None
    active = sorted(hour for hour, value in by_hour.items() if value > 0)
    breaks = [i for i in range(1, len(active)) if active[i] - active[i - 1] - 1 >= BURST_GAP_HOURS]
    first_burst = None
    if active and start is not None:
        last_of_first = active[breaks[0] - 1] if breaks else active[-1]
        first_burst = (start + timedelta(hours=active[0]), start + timedelta(hours=last_of_first))
    return Traffic(
        total=total,
        hours_with_traffic=len(active),
        expected_hours=expected,
        peak_hour=max(by_hour.values(), default=0.0),
        business_share=business,
        active_weekday_share=active_weekdays,
        latency_s=(weighted / weights) / 1e6 if weights else None,
        first_hour=first_hour,
        bursts=len(breaks) + 1 if active else 0,
        first_burst=first_burst,
    )


# ---- what changed inside the window -------------------------------------------------------------------
def _hour(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Hourly:
    """Invocations per hour over the part of the window the endpoint existed for (the window, or since it
    was created), summed over its variants and inference components."""

    values: list[float]
    start: datetime  # when values[0] began
    offset: int  # the window hour of values[0]

    def moment(self, index: int) -> datetime:
        return self.start + timedelta(hours=index)


def hourly_of(metrics: list[VariantMetrics], lifetime_hours: int) -> Hourly | None:
    window = max((item.window_hours for item in metrics), default=0)
    window_start = next((item.window_start for item in metrics if item.window_start is not None), None)
    if not window or window_start is None:
        return None
    span = max(1, min(window, lifetime_hours))
    offset = window - span
    values = [0.0] * span
    for item in metrics:
        for hour, value in item.invocations_by_hour:
            if offset <= hour < window:
                values[hour - offset] += value
    return Hourly(values, window_start + timedelta(hours=offset), offset)


@dataclass(frozen=True)
class Change:
    """A change of regime inside the window: what changed, when, and what the ladder waits for."""

    kind: str  # started | stopped | rose | fell | growing | utilisation rising
    first_hour: int  # index in `Hourly.values` where the new pattern begins
    what: str  # what changed and when, in numbers
    wait: str  # what judging it waits for
    hold: bool  # True: no capacity-reducing rung runs; False: the new pattern is judged on itself
    at: datetime

    @property
    def reason(self) -> str:
        return f"{self.what}; {self.wait}"


def _binomial_tail(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p), summed in log space (trials can be thousands)."""
    if successes <= 0 or p >= 1:
        return 1.0
    if p <= 0 or successes > trials:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    head = math.lgamma(trials + 1)
    return min(
        1.0,
        sum(
            math.exp(
                head - math.lgamma(x + 1) - math.lgamma(trials - x + 1) + x * log_p + (trials - x) * log_q
            )
            for x in range(successes, trials + 1)
        ),
    )


def _started(values: list[float]) -> tuple[int, int] | None:
    """The onset of traffic after a quiet stretch, and that stretch's length: quiet for START_QUIET_HOURS
    or more and longer than any pause since, traffic in START_MIN_HOURS hours or more since, in at least
    CHANGE_FACTOR times the share of hours before it, no accident (the hours with traffic bunch after it
    beyond CHANGE_CHANCE, or it follows a quiet week CHANGE_FACTOR times longer than any pause since), and
    (when it is under a week old) in CHANGE_FACTOR times the hours the same hours had one week earlier. The longest such quiet wins (a weekend inside new business-hours traffic is not
    its start)."""
    n = len(values)
    active = [index for index, value in enumerate(values) if value > 0]
    best: tuple[int, int] | None = None
    longest_pause_since = 0
    for position in range(len(active) - 1, -1, -1):
        onset = active[position]
        quiet = onset - (active[position - 1] if position else -1) - 1
        since = len(active) - position
        if (
            quiet >= START_QUIET_HOURS
            and quiet > longest_pause_since
            and since >= START_MIN_HOURS
            and (best is None or quiet > best[1])
            and position / onset * CHANGE_FACTOR <= since / (n - onset)  # share of hours before vs since
            and (
                # the hours with traffic bunch after the onset, or a new rhythm follows a quiet week
                _binomial_tail(since, len(active), (n - onset) / n) <= CHANGE_CHANCE
                or (quiet >= NEW_PATTERN_DAYS * 24 and quiet >= CHANGE_FACTOR * longest_pause_since)
            )
        ):
            recent = n - onset < HOURS_PER_WEEK
            week_earlier = sum(
                1 for hour in range(max(onset, HOURS_PER_WEEK), n) if values[hour - HOURS_PER_WEEK] > 0
            )
            if not recent or week_earlier * CHANGE_FACTOR <= since:
                best = (onset, quiet)
        longest_pause_since = max(longest_pause_since, quiet)
    return best


def _stopped(values: list[float]) -> tuple[int, int] | None:
    """The first hour of the silence that ends the window, and how many of its hours had traffic at the
    same hour of the week before it began: a stop when so many that chance is ruled out (CHANGE_CHANCE)."""
    n = len(values)
    last = next((index for index in range(n - 1, -1, -1) if values[index] > 0), None)
    if last is None or last == n - 1:
        return None
    begin = last + 1
    seen = 0
    for hour in range(begin, n):
        back = hour - HOURS_PER_WEEK * math.ceil((hour - begin + 1) / HOURS_PER_WEEK)
        seen += back >= 0 and values[back] > 0
    return (begin, seen) if 0.5**seen <= CHANGE_CHANCE else None


def _moved(values: list[float]) -> tuple[int, float, float] | None:
    """The hour a level moved by CHANGE_FACTOR or more against the same hours one week earlier, with the
    median hour since and a week earlier. Found on the recent stretch that moved the most; its first hour
    is the one after the last hour with traffic on the old side of the two levels' geometric middle."""
    n = len(values)
    best: tuple[int, float, float] | None = None
    for hours in LEVEL_BLOCK_HOURS:
        if n - hours - HOURS_PER_WEEK < 0:
            break
        recent = [value for value in values[n - hours :] if value > 0]
        earlier = [value for value in values[n - hours - HOURS_PER_WEEK : n - HOURS_PER_WEEK] if value > 0]
        if len(recent) < LEVEL_MIN_HOURS or len(earlier) < LEVEL_MIN_HOURS:
            continue
        now_level, then_level = _median(recent), _median(earlier)
        factor = max(now_level / then_level, then_level / now_level)
        if factor >= CHANGE_FACTOR and (best is None or factor > max(best[1] / best[2], best[2] / best[1])):
            best = (hours, now_level, then_level)
    if best is None:
        return None
    _, now_level, then_level = best
    middle = math.sqrt(now_level * then_level)
    rose = now_level > then_level
    old_side = [
        hour
        for hour in range(max(0, n - HOURS_PER_WEEK), n)
        if values[hour] > 0 and (values[hour] < middle if rose else values[hour] > middle)
    ]
    onset = old_side[-1] + 1 if old_side else max(0, n - HOURS_PER_WEEK)
    return onset, now_level, then_level


def _growth_span(n: int) -> int:
    """Hours of each of the two stretches compared for growth: a week, or half of a shorter span (whole days)."""
    return min(HOURS_PER_WEEK, n // 2 // 24 * 24)


def _growing(values: list[float]) -> tuple[int, float, float] | None:
    """Traffic growing: the median hour of the last week RAMP_GROWTH times the week before's or more."""
    n = len(values)
    span = _growth_span(n)
    if span < RAMP_MIN_DAYS * 24:
        return None
    recent = [value for value in values[n - span :] if value > 0]
    earlier = [value for value in values[n - 2 * span : n - span] if value > 0]
    if len(recent) < RAMP_MIN_HOURS or len(earlier) < RAMP_MIN_HOURS:
        return None
    now_level, then_level = _median(recent), _median(earlier)
    return (span, now_level, then_level) if now_level >= RAMP_GROWTH * then_level else None


def _utilisation_rising(
    hourly: Hourly, metrics: dict[str, VariantMetrics], variants: list[Variant]
) -> tuple[int, Reading, float] | None:
    """Peak CPU or GPU (a share of the instance, daily maxima) of the last week RAMP_GROWTH times the week
    before's or more, and at least UTILISATION_CHANGE_FLOOR: (days, the recent peak, the earlier one)."""
    span = _growth_span(len(hourly.values))
    if span < RAMP_MIN_DAYS * 24:
        return None
    end = hourly.offset + len(hourly.values)
    best: tuple[int, Reading, float] | None = None
    for variant in variants:
        found = metrics.get(variant.name)
        if found is None:
            continue
        for signal, series in (("cpu", found.cpu_max_by_day), ("gpu", found.gpu_max_by_day)):
            units = signal_units(signal, variant.instance_type)
            if units is None or variant.instance_type is None:
                continue
            recent = [value for day, value in series if end - span <= day * 24 < end]
            earlier = [value for day, value in series if end - 2 * span <= day * 24 < end - span]
            if not recent or not earlier:
                continue
            peak = Reading(signal, max(recent), units, variant.instance_type, variant.name)
            before = max(earlier) / units
            rises = peak.share >= UTILISATION_CHANGE_FLOOR and peak.share >= RAMP_GROWTH * before
            if rises and (best is None or peak.share * best[2] > best[1].share * before):
                best = (span // 24, peak, before)
    return best


def changes_of(
    hourly: Hourly, metrics: dict[str, VariantMetrics], variants: list[Variant], lookback_days: int
) -> list[Change]:
    """Every change of regime the window shows, those that hold the capacity-reducing rungs first."""
    values = hourly.values
    n = len(values)
    found: list[Change] = []
    stop = _stopped(values)
    if stop is not None:
        begin, seen = stop
        quiet = n - begin
        week = values[max(0, begin - HOURS_PER_WEEK) : begin]
        at = hourly.moment(begin)
        found.append(
            Change(
                kind="stopped",
                first_hour=begin,
                what=(
                    f"traffic stopped {_hour(at)}: no invocations for {quiet / 24:.1f} days ({quiet} hours), "
                    f"{seen} of which had traffic at the same hour a week earlier; in the week before it "
                    f"stopped, {sum(week):,.0f} invocations in {sum(1 for value in week if value > 0)} of "
                    f"{len(week)} hours"
                ),
                wait=(
                    f"not idle until the whole {lookback_days}-day look-back is quiet (from "
                    f"{_hour(at + timedelta(days=lookback_days))}), and no capacity is cut on the traffic "
                    "from before the stop"
                ),
                hold=True,
                at=at,
            )
        )
    start = _started(values)
    if start is not None:
        onset, quiet = start
        since = values[onset:]
        at = hourly.moment(onset)
        lasted = n - onset
        what = (
            f"traffic started {_hour(at)}: {sum(since) / lasted:,.0f} an hour since (traffic in "
            f"{sum(1 for value in since if value > 0)} of {lasted} hours), after {quiet / 24:.1f} days without any"
        )
        hold = lasted < NEW_PATTERN_DAYS * 24
        wait = (
            f"waiting {NEW_PATTERN_DAYS} days before judging (until "
            f"{_hour(at + timedelta(days=NEW_PATTERN_DAYS))})"
            if hold
            else f"judged on the {lasted / 24:.1f} days since it started"
        )
        found.append(Change("started", onset, what, wait, hold, at))
    moved = _moved(values)
    if moved is not None:
        onset, now_level, then_level = moved
        at = hourly.moment(onset)
        direction, factor = (
            ("rose", now_level / then_level) if now_level > then_level else ("fell", then_level / now_level)
        )
        found.append(
            Change(
                kind=direction,
                first_hour=onset,
                what=(
                    f"traffic {direction} {factor:.0f}x from {_hour(at)}: a median hour of {now_level:,.0f} "
                    f"invocations since, against {then_level:,.0f} in the same hours a week earlier"
                ),
                wait=(
                    f"waiting {NEW_PATTERN_DAYS} days before judging (until "
                    f"{_hour(at + timedelta(days=NEW_PATTERN_DAYS))})"
                ),
                hold=True,
                at=at,
            )
        )
    growing = _growing(values)
    if growing is not None and not any(change.kind in ("started", "rose") for change in found):
        hours, now_level, then_level = growing
        at = hourly.moment(n - hours)
        found.append(
            Change(
                kind="growing",
                first_hour=n - hours,
                what=(
                    f"traffic growing: a median hour of {now_level:,.0f} invocations in the last {hours // 24} "
                    f"days, {now_level / then_level:.1f} times the {then_level:,.0f} of the {hours // 24} days "
                    "before"
                ),
                wait=f"no capacity is cut while it grows {RAMP_GROWTH}x or more from one {hours // 24}-day stretch "
                "to the next",
                hold=True,
                at=at,
            )
        )
    rising = _utilisation_rising(hourly, metrics, variants)
    if rising is not None:
        days, peak, before = rising
        at = hourly.moment(n - days * 24)
        found.append(
            Change(
                kind="utilisation rising",
                first_hour=n - days * 24,
                what=(
                    f"utilisation rising: {peak.describe()} on variant {peak.variant} in the last {days} days "
                    f"against {before:.0f} % of the instance in the {days} days before"
                ),
                wait=f"no capacity is cut while its peak grows {RAMP_GROWTH}x or more from one {days}-day "
                "stretch to the next",
                hold=True,
                at=at,
            )
        )
    return sorted(found, key=lambda change: not change.hold)


def window_too_short(traffic: Traffic, pattern: str) -> str | None:
    """None when the window (or the part being judged) holds PERIODIC_CYCLES occurrences of `pattern`
    ("weekly" for business hours, "bursts" for traffic that comes and goes); else the look-back it needs."""
    days = traffic.observed_days
    if pattern == "weekly":
        needed = PERIODIC_CYCLES * 7
        if days >= needed:
            return None
        return (
            f"window too short: needs {needed} days: weekday business hours are a weekly pattern, named only "
            f"after {PERIODIC_CYCLES} full weeks; {days:.1f} days observed"
        )
    if traffic.bursts >= PERIODIC_CYCLES or traffic.first_burst is None:
        return None
    first, last = traffic.first_burst
    if (last - first).total_seconds() / 3600 + 1 >= traffic.expected_hours / PERIODIC_CYCLES:
        return None  # one run of traffic over half the window or more: use that recurs within it
    # Seen once in `days`: were it periodic, its period would be longer than half of them.
    name, cycle = next(
        ((name, cycle) for name, cycle in CYCLE_DAYS if PERIODIC_CYCLES * cycle > days), CYCLE_DAYS[-1]
    )
    return (
        f"window too short: needs {PERIODIC_CYCLES * cycle} days: traffic came in one burst ({_hour(first)} to "
        f"{_hour(last + timedelta(hours=1))}) in the {days:.1f} days observed; whether and how often it recurs "
        f"cannot be told, and a {name} job shows {PERIODIC_CYCLES} runs only in {PERIODIC_CYCLES * cycle} days"
    )


@dataclass(frozen=True)
class Context:
    scanned: ScannedEndpoint
    prices: PriceBook
    policy: Policy
    now: datetime
    age_days: float
    changed_days: float
    monthly_cost: float | None
    unknown_prices: list[str]
    variant_metrics: dict[str, VariantMetrics]
    component_metrics: list[VariantMetrics]
    traffic: Traffic
    changes: list[Change] = field(default_factory=list)

    @property
    def endpoint_name(self) -> str:
        return self.scanned.endpoint.name

    @property
    def region(self) -> str:
        return self.scanned.endpoint.region

    @property
    def instance_variants(self) -> list[Variant]:
        return [v for v in self.scanned.endpoint.variants if not v.is_serverless]

    def peak(self, signal: str) -> Reading | None:
        """The highest share of its instance that `signal` reached on any instance variant (None when no
        variant reported it in terms of its instance)."""
        found = [
            item
            for v in self.instance_variants
            if v.name in self.variant_metrics
            and (item := reading(self.variant_metrics[v.name], v, signal)) is not None
        ]
        return max(found, key=lambda item: item.share) if found else None

    @property
    def unreadable_types(self) -> list[str]:
        return unreadable_types(self.instance_variants)

    def hourly(self, instance_type: str | None) -> float | None:
        if instance_type is None:
            return None
        price = self.prices.hourly(self.region, instance_type)
        return price.usd_per_hour if price else None


@dataclass(frozen=True)
class Proposal:
    target: str
    savings: float | None
    reasons: list[str]
    evidence: dict[str, float | int | str | None]
    confidence: Confidence = "high"
    blocked_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    action: Action
    permissions: tuple[str, ...]  # what applying this fix needs in IAM (checked against the template)
    applied: bool  # whether the apply step can carry it out today (otherwise report only)
    evaluate: Callable[[Context], Proposal | None]
    # Takes capacity away (fewer or smaller instances, none at times, or none at all): held while the
    # traffic has just changed (`changes_of`).
    reduces_capacity: bool = True


RULES: list[Rule] = []


def rule(
    action: Action, *, permissions: tuple[str, ...], applied: bool = False, reduces_capacity: bool = True
) -> Callable[[Callable[[Context], Proposal | None]], Callable[[Context], Proposal | None]]:
    def register(evaluate: Callable[[Context], Proposal | None]) -> Callable[[Context], Proposal | None]:
        RULES.append(
            Rule(
                action=action,
                permissions=permissions,
                applied=applied,
                evaluate=evaluate,
                reduces_capacity=reduces_capacity,
            )
        )
        return evaluate

    return register


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} %"


# ---- the ladder, in order ---------------------------------------------------------------------------
# Exactly what park's code calls (actions.park, its snapshot, re-check and rollback): restore runs from the
# CLI with the operator's credentials, so CreateEndpoint/CreateEndpointConfig/CreateModel/AddTags are not here.
PARK_PERMISSIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListTags",
    "sagemaker:DeleteEndpoint",
    "cloudwatch:GetMetricData",  # the traffic re-check right before the change
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:PutScheduledAction",
)


@rule(Action.PARK, permissions=PARK_PERMISSIONS, applied=True)
def park(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    if ctx.traffic.total > 0 or endpoint.inference_components or endpoint.async_inference:
        return None
    days = min(ctx.policy.lookback_days, int(ctx.age_days))
    span = (
        f"{ctx.policy.lookback_days} days"
        if days >= ctx.policy.lookback_days
        else f"the {days} days since it was created"
    )
    cpu_days = min((ctx.variant_metrics[v.name].cpu_days_reported for v in ctx.instance_variants), default=0)
    variants = ", ".join(f"{v.name} ({v.instance_count} x {v.instance_type})" for v in ctx.instance_variants)
    return Proposal(
        target=f"parked: endpoint deleted, config {endpoint.config_name} and model kept",
        savings=ctx.monthly_cost,
        confidence="high" if ctx.monthly_cost is not None else "medium",
        reasons=[
            f"0 invocations in {span} while CPU metrics were reported on {cpu_days} of {days or 1} days",
            f"variants: {variants}",
            f"created {ctx.age_days:.0f} days ago, last changed {ctx.changed_days:.0f} days ago",
            f"one-step way back: endpoint-optimizer restore {endpoint.name}",
        ],
        evidence={
            "invocations": 0,
            "cpu_days_reported": cpu_days,
            "window_days": days,
            "age_days": round(ctx.age_days, 1),
        },
    )


@rule(
    Action.SCALE_TO_ZERO,
    permissions=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:UpdateInferenceComponentRuntimeConfig",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "cloudwatch:PutMetricAlarm",
    ),
)
def scale_to_zero(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    traffic = ctx.traffic
    if endpoint.inference_components and traffic.total == 0:
        names = ", ".join(component.name for component in endpoint.inference_components)
        return Proposal(
            target="ManagedInstanceScaling MinInstanceCount 0; copies scale out from zero on the first request",
            savings=ctx.monthly_cost,
            confidence="high" if ctx.monthly_cost is not None else "medium",
            reasons=[
                f"0 invocations in {ctx.policy.lookback_days} days on inference components {names}",
                "scaling to zero keeps the endpoint and its components; the first request after idle waits "
                "for an instance to start (minutes)",
            ],
            evidence={"invocations": 0, "inference_components": len(endpoint.inference_components)},
        )
    if endpoint.async_inference and traffic.active_share <= SPORADIC_ACTIVE_SHARE:
        idle_share = 1 - traffic.active_share
        savings = None if ctx.monthly_cost is None else ctx.monthly_cost * idle_share
        return Proposal(
            target="async endpoint with minimum capacity 0 and a backlog alarm to scale out",
            savings=_round(savings),
            confidence="medium",
            reasons=[
                f"async endpoint with traffic in {traffic.hours_with_traffic} of {traffic.expected_hours} hours "
                f"({traffic.active_share:.0%}); queued requests wait while an instance starts",
                f"savings assume instances run only in the {traffic.active_share:.0%} of hours with traffic",
            ],
            evidence={
                "hours_with_traffic": traffic.hours_with_traffic,
                "window_hours": traffic.expected_hours,
                "invocations": round(traffic.total),
            },
            blocked_by=[short] if (short := window_too_short(traffic, "bursts")) else [],
        )
    return None


def serverless_memory_mb(used_mb: float) -> int:
    needed = used_mb * SERVERLESS_MEMORY_HEADROOM
    return max(
        SERVERLESS_MEMORY_STEP_MB, math.ceil(needed / SERVERLESS_MEMORY_STEP_MB) * SERVERLESS_MEMORY_STEP_MB
    )


@rule(
    Action.MIGRATE_SERVERLESS,
    permissions=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:DeleteEndpoint",
        "sagemaker:CreateEndpoint",
    ),
)
def migrate_serverless(ctx: Context) -> Proposal | None:
    endpoint = ctx.scanned.endpoint
    traffic = ctx.traffic
    if traffic.total == 0 or traffic.active_share > SPORADIC_ACTIVE_SHARE or endpoint.inference_components:
        return None
    variants = ctx.instance_variants
    if any(is_accelerated(v.instance_type) for v in variants):
        return None  # Serverless Inference has no GPUs: never propose it for an accelerated endpoint
    blockers: list[str] = []
    if len(endpoint.variants) != 1 or endpoint.shadow_variants:
        blockers.append("serverless supports one production variant and no shadow variants")
    if endpoint.data_capture:
        blockers.append("data capture is on (not supported by serverless)")
    if endpoint.vpc or endpoint.network_isolation:
        blockers.append("VPC or network isolation configured (not supported by serverless)")
    if endpoint.async_inference:
        return None
    if short := window_too_short(traffic, "bursts"):
        blockers.append(short)
    variant = variants[0] if variants else None
    spec = instance_specs().get(variant.instance_type or "") if variant else None
    memory_max = ctx.peak("memory")
    if spec is None or memory_max is None:
        blockers.append("memory in use unknown (no MemoryUtilization or instance spec)")
        used_mb = None
    else:
        used_mb = memory_max.share / 100 * spec.memory_gib * 1024
        if used_mb * SERVERLESS_MEMORY_HEADROOM > SERVERLESS_MAX_MEMORY_MB:
            return None  # does not fit the largest serverless size: not a candidate at all
    concurrency = traffic.peak_concurrency
    if concurrency is not None and concurrency > SPORADIC_MAX_CONCURRENCY:
        blockers.append(
            f"estimated peak concurrency {concurrency:.1f} is above {SPORADIC_MAX_CONCURRENCY:.0f}"
        )
    memory_mb = serverless_memory_mb(used_mb) if used_mb is not None else None
    price = ctx.prices.serverless_usd_per_gb_second(ctx.region)
    serverless_cost: float | None = None
    if price is not None and memory_mb is not None and traffic.latency_s is not None:
        serverless_cost = (
            traffic.monthly_invocations * traffic.latency_s * memory_mb / 1024 * price.usd_per_gb_second
        )
    savings = (
        None
        if ctx.monthly_cost is None or serverless_cost is None
        else max(0.0, ctx.monthly_cost - serverless_cost)
    )
    if savings is not None and savings <= 0:
        return None
    reasons = [
        f"sporadic traffic: invocations in {traffic.hours_with_traffic} of {traffic.expected_hours} hours "
        f"({traffic.active_share:.0%}), {traffic.total:.0f} in total",
        f"memory in use {used_mb / 1024:.1f} GB -> {memory_mb} MB serverless with 30 % headroom"
        if used_mb is not None and memory_mb is not None
        else "memory in use unknown",
        (
            f"estimated serverless cost {serverless_cost:.2f} USD/month from {traffic.monthly_invocations:.0f} "
            f"invocations x {traffic.latency_s:.3f} s x {memory_mb} MB"
        )
        if serverless_cost is not None and traffic.latency_s is not None
        else "serverless cost unknown (no price or latency for this region)",
        "downtime: UpdateEndpoint cannot switch to serverless, so the endpoint is deleted and recreated "
        "with the same name (minutes without service); cold starts after idle periods",
        "multi-model endpoints are not visible to the scan; apply re-checks the model before acting",
    ]
    return Proposal(
        target=f"Serverless Inference {memory_mb} MB, MaxConcurrency {max(1, math.ceil(concurrency or 1))}"
        if memory_mb
        else "Serverless Inference",
        savings=_round(savings),
        confidence="medium",
        reasons=reasons,
        evidence={
            "hours_with_traffic": traffic.hours_with_traffic,
            "window_hours": traffic.expected_hours,
            "invocations": round(traffic.total),
            "memory_used_mb": None if used_mb is None else round(used_mb),
            "peak_concurrency": None if concurrency is None else round(concurrency, 2),
            "serverless_monthly_usd": _round(serverless_cost),
        },
        blocked_by=blockers,
    )


@rule(
    Action.SCHEDULE,
    permissions=(
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DescribeScheduledActions",
        "application-autoscaling:DeleteScheduledAction",
    ),
)
def schedule(ctx: Context) -> Proposal | None:
    traffic = ctx.traffic
    variants = ctx.instance_variants
    if (
        traffic.total == 0
        or traffic.business_share is None
        or traffic.business_share < BUSINESS_SHARE
        or (traffic.active_weekday_share or 0) < BUSINESS_ACTIVE_WEEKDAYS
        or len(variants) != 1
        or variants[0].instance_count <= 1
        or ctx.scanned.endpoint.scheduled_actions
    ):
        return None
    variant = variants[0]
    price = ctx.hourly(variant.instance_type)
    savings = (
        None if price is None else (variant.instance_count - 1) * price * HOURS_PER_MONTH * OFF_HOURS_FRACTION
    )
    short = window_too_short(traffic, "weekly")
    return Proposal(
        target=f"{variant.instance_count} instances 07-19 UTC on weekdays, 1 instance otherwise "
        "(Application Auto Scaling scheduled actions)",
        savings=_round(savings),
        confidence="medium",
        reasons=[
            f"{traffic.business_share:.0%} of {traffic.total:.0f} invocations fell on weekdays 07-19 UTC; "
            f"traffic on {traffic.active_weekday_share:.0%} of weekdays",
            f"{variant.instance_count} x {variant.instance_type} run all {HOURS_PER_MONTH} hours a month; "
            f"off-hours are {OFF_HOURS_FRACTION:.0%} of the week",
        ],
        evidence={
            "business_share": round(traffic.business_share, 3),
            "instances": variant.instance_count,
            "invocations": round(traffic.total),
        },
        blocked_by=[short] if short else [],
    )


def _smaller_sibling(spec: InstanceSpec) -> InstanceSpec | None:
    """The next size down in the same family with the same accelerators (GPU utilisation unchanged)."""
    candidates = [
        other
        for other in instance_specs().values()
        if other.family == spec.family and other.vcpu < spec.vcpu and other.accelerator == spec.accelerator
    ]
    return max(candidates, key=lambda other: other.vcpu) if candidates else None


@rule(
    Action.RIGHTSIZE,
    permissions=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpoint",
        "cloudwatch:DescribeAlarms",
    ),
)
def rightsize(ctx: Context) -> Proposal | None:
    """Fewer instances, or the next size down, judged on shares of the instance (CPU / vCPUs, GPU / GPUs).

    An instance type missing from the specs cannot be judged (the in-use verdict says "signal missing");
    an accelerated instance without a GPU reading (GPU metrics missing, or a Neuron device, which
    publishes none) is never rightsized on its CPU alone."""
    traffic = ctx.traffic
    variants = ctx.instance_variants
    if traffic.total == 0 or len(variants) != 1 or ctx.scanned.endpoint.inference_components:
        return None
    variant = variants[0]
    spec = instance_specs().get(variant.instance_type or "")
    cpu = ctx.peak("cpu")
    gpu = ctx.peak("gpu")
    memory = ctx.peak("memory")
    if spec is None or cpu is None or (spec.accelerated and gpu is None):
        return None
    load = max(cpu.share, gpu.share if gpu else 0.0)
    if load >= LOW_UTILIZATION:
        return None
    readings = "; ".join(item.describe() for item in (cpu, gpu) if item is not None)
    window = f"daily maxima over {ctx.policy.lookback_days} days"
    # A peak seen in one burst of traffic is one event's peak, not the endpoint's.
    blockers = [short] if (short := window_too_short(traffic, "bursts")) else []
    price = ctx.hourly(variant.instance_type)
    count = variant.instance_count
    fewer = max(1, math.ceil(count * load / TARGET_PEAK_UTILIZATION))
    if fewer < count:
        savings = None if price is None else (count - fewer) * price * HOURS_PER_MONTH
        return Proposal(
            target=f"{fewer} x {variant.instance_type} (from {count})",
            savings=_round(savings),
            confidence="medium",
            reasons=[
                f"{readings} on each of {count} x {variant.instance_type} ({window}); "
                f"{fewer} instance(s) keep the peak near {count * load / fewer:.0f} % of the instance, "
                f"under the {TARGET_PEAK_UTILIZATION:.0f} % target",
                "applied as a blue/green UpdateEndpoint with auto-rollback alarms",
            ],
            evidence={
                "peak_utilization": round(load, 1),
                "peak_cpu_published": round(cpu.published, 1),
                "vcpus": spec.vcpu,
                "instances_now": count,
                "instances_after": fewer,
            },
            blocked_by=blockers,
        )
    smaller = _smaller_sibling(spec)
    if smaller is None:
        return None
    # Same work on fewer vCPUs: the share grows by spec.vcpu / smaller.vcpu. The GPUs are the same model
    # and count (a sibling keeps the accelerators), so the GPU share does not change.
    cpu_after = cpu.share * spec.vcpu / smaller.vcpu
    memory_after = None if memory is None else memory.share * spec.memory_gib / smaller.memory_gib
    if cpu_after > TARGET_PEAK_UTILIZATION or memory_after is None or memory_after > 80.0:
        return None
    new_price = ctx.hourly(smaller.instance_type)
    savings = None if price is None or new_price is None else (price - new_price) * count * HOURS_PER_MONTH
    gpu_note = f"; GPU unchanged ({spec.accelerator})" if gpu is not None else ""
    return Proposal(
        target=f"{count} x {smaller.instance_type} (from {variant.instance_type})",
        savings=_round(savings),
        confidence="medium",
        reasons=[
            f"{readings}; peak memory {_pct(memory.share if memory else None)} on {variant.instance_type} "
            f"({spec.vcpu} vCPU, {spec.memory_gib:.0f} GiB; {window})",
            f"on {smaller.instance_type} ({smaller.vcpu} vCPU, {smaller.memory_gib:.0f} GiB) the peak would be "
            f"about {cpu_after:.0f} % CPU and {memory_after:.0f} % memory, under the "
            f"{TARGET_PEAK_UTILIZATION:.0f} % target{gpu_note}",
            "to be confirmed by an Inference Recommender job before applying",
        ],
        evidence={
            "peak_cpu": round(cpu.share, 1),
            "peak_cpu_published": round(cpu.published, 1),
            "vcpus": spec.vcpu,
            "peak_gpu": None if gpu is None else round(gpu.share, 1),
            "peak_memory": None if memory is None else round(memory.share, 1),
            "cpu_after": round(cpu_after, 1),
        },
        blocked_by=blockers,
    )


def image_has_arm64(image: str | None) -> bool:
    return image is not None and any(marker in image.lower() for marker in ARM64_IMAGE_MARKERS)


@rule(
    Action.MIGRATE_GRAVITON,
    permissions=(
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpoint",
        "cloudwatch:DescribeAlarms",
    ),
    reduces_capacity=False,  # the same vCPUs and memory on another architecture
)
def migrate_graviton(ctx: Context) -> Proposal | None:
    variants = ctx.instance_variants
    if ctx.traffic.total == 0 or len(variants) != 1:
        return None
    variant = variants[0]
    spec = instance_specs().get(variant.instance_type or "")
    if spec is None or spec.architecture != "x86_64" or spec.accelerated:
        return None
    letter = spec.family.removeprefix("ml.")[:1]
    targets = [f"{family}.{spec.size}" for family in GRAVITON_TARGET_FAMILY.get(letter, ())]
    target = next((t for t in targets if t in instance_specs()), None)
    if target is None:
        return None
    price, new_price = ctx.hourly(variant.instance_type), ctx.hourly(target)
    savings = (
        None
        if price is None or new_price is None
        else (price - new_price) * variant.instance_count * HOURS_PER_MONTH
    )
    if savings is not None and savings <= 0:
        return None
    blockers = (
        []
        if image_has_arm64(variant.image)
        else [
            f"unknown: needs an arm64 image (deployed image {variant.image or 'not reported'} is not a known arm64 build)"
        ]
    )
    return Proposal(
        target=f"{variant.instance_count} x {target} (from {variant.instance_type})",
        savings=_round(savings),
        confidence="medium" if savings is not None else "low",
        reasons=[
            f"{variant.instance_type} is x86; {target} is the Graviton equivalent ({spec.vcpu} vCPU)",
            f"price per hour {price if price is not None else 'unknown'} -> {new_price if new_price is not None else 'unknown'} USD",
            "applied as a blue/green UpdateEndpoint with auto-rollback alarms",
        ],
        evidence={"instance_type": variant.instance_type, "target": target},
        blocked_by=blockers,
    )


# ---- guards and the decision ------------------------------------------------------------------------
def _expected_days(metrics: VariantMetrics, lifetime_days: int) -> int:
    return max(1, min(metrics.window_days, lifetime_days))


def utilization_present(metrics: VariantMetrics | None, lifetime_days: int) -> bool:
    if metrics is None or metrics.window_days == 0:
        return False
    return metrics.cpu_days_reported >= math.ceil(
        UTILIZATION_COVERAGE * _expected_days(metrics, lifetime_days)
    )


SECONDS_PER_DAY = 86400


def decide(scanned: ScannedEndpoint, prices: PriceBook, policy: Policy, now: datetime) -> Finding:
    endpoint = scanned.endpoint
    monthly_cost, unknown_prices = prices.monthly_cost(endpoint.region, endpoint.variants)
    price_note = (
        [f"hourly price unknown for {', '.join(unknown_prices)} in {endpoint.region}: cost not estimated"]
        if unknown_prices
        else []
    )
    price_note += list(prices.notes)  # e.g. "live prices unavailable, bundled table used"
    base = {
        "endpoint_name": endpoint.name,
        "account_id": endpoint.account_id,
        "region": endpoint.region,
        "current_monthly_cost_usd": monthly_cost,
    }

    def leave_alone(
        reasons: list[str], *, blocked_by: list[str] | None = None, **evidence: float | int | str
    ) -> Finding:
        return Finding(
            **base,
            action=Action.NONE,
            estimated_monthly_savings_usd=0.0 if monthly_cost is not None else None,
            reasons=[*reasons, *price_note],
            blocked_by=blocked_by or [],
            evidence=dict(evidence),
        )

    if endpoint.tags.get(policy.skip_tag_key, "").strip().lower() == "true":
        return leave_alone(
            [f"opted out: tag {policy.skip_tag_key}=true"], blocked_by=[f"tag {policy.skip_tag_key}=true"]
        )
    if endpoint.status != "InService":
        return leave_alone([f"status is {endpoint.status}, not InService"], blocked_by=["not InService"])
    if endpoint.variants and all(variant.is_serverless for variant in endpoint.variants):
        return leave_alone(["already on Serverless Inference: it scales to zero and bills per use"])
    age_days = (now - endpoint.created_at).total_seconds() / SECONDS_PER_DAY
    changed_days = (now - endpoint.last_modified_at).total_seconds() / SECONDS_PER_DAY
    if age_days < policy.grace_days:
        return leave_alone(
            [f"created {age_days:.1f} days ago, within the {policy.grace_days}-day grace period"],
            blocked_by=["grace period"],
            age_days=round(age_days, 1),
        )
    if changed_days < policy.grace_days:
        return leave_alone(
            [f"changed {changed_days:.1f} days ago, within the {policy.grace_days}-day grace period"],
            blocked_by=["grace period"],
            changed_days=round(changed_days, 1),
        )

    variant_metrics = {m.variant_name: m for m in scanned.metrics if m.scope == "variant"}
    lifetime_days = int(age_days)
    instance_variants = [v for v in endpoint.variants if not v.is_serverless]
    for variant in instance_variants:
        found = variant_metrics.get(variant.name)
        if not utilization_present(found, lifetime_days):
            reported = found.cpu_days_reported if found else 0
            expected = _expected_days(found, lifetime_days) if found else policy.lookback_days
            return leave_alone(
                [
                    f"signal missing: CPUUtilization reported on {reported} of {expected} days on variant "
                    f"{variant.name}; without utilisation metrics an endpoint with no invocations cannot be "
                    "told apart from an unmonitored one"
                ],
                blocked_by=["signal missing"],
                cpu_days_reported=reported,
                window_days=expected,
            )

    all_metrics = list(scanned.metrics)
    lifetime_hours = int(age_days * 24)
    # Change inside the window first: a new pattern holds the capacity-reducing rungs until it can be
    # judged, and once it can, it is judged on itself (from its first hour), not diluted by the old one.
    hourly = hourly_of(all_metrics, lifetime_hours)
    changes = (
        changes_of(hourly, variant_metrics, instance_variants, policy.lookback_days)
        if hourly is not None and any(value > 0 for value in hourly.values)
        else []
    )
    holding = [change for change in changes if change.hold]
    since = next((c.first_hour for c in changes if c.kind == "started" and not c.hold), None)
    traffic = traffic_of(
        all_metrics,
        lifetime_hours,
        first_hour=None if since is None or hourly is None else hourly.offset + since,
    )
    ctx = Context(
        scanned=scanned,
        prices=prices,
        policy=policy,
        now=now,
        age_days=age_days,
        changed_days=changed_days,
        monthly_cost=monthly_cost,
        unknown_prices=unknown_prices,
        variant_metrics=variant_metrics,
        component_metrics=[m for m in all_metrics if m.scope == "inference_component"],
        traffic=traffic,
        changes=changes,
    )
    change_notes = [change.reason for change in changes]
    blocked: tuple[Rule, Proposal] | None = None
    for candidate in RULES:
        if holding and candidate.reduces_capacity:
            continue
        proposal = candidate.evaluate(ctx)
        if proposal is None:
            continue
        if proposal.blocked_by:
            blocked = blocked or (candidate, proposal)
            continue
        return _finding(base, candidate, proposal, [*change_notes, *price_note])
    if holding:
        # Advice that is blocked anyway (e.g. Graviton without an arm64 image) says less than the change.
        first = holding[0]
        return leave_alone(
            [
                *change_notes,
                "park, scale to zero, serverless, schedule and rightsize take capacity away: none is "
                "considered until the new pattern can be judged",
            ],
            blocked_by=["traffic changed"],
            change=first.kind,
            changed_at=first.at.isoformat(),
            invocations=round(traffic.total),
            hours_with_traffic=traffic.hours_with_traffic,
            window_hours=traffic.expected_hours,
        )
    if blocked is not None:
        return _finding(base, *blocked, [*change_notes, *price_note])

    in_use, missing, evidence = _utilisation_verdict(ctx)
    span = (
        f"{policy.lookback_days} days"
        if since is None
        else f"the {traffic.observed_days:.1f} days since traffic started"
    )
    reasons = [
        f"in use: {traffic.total:.0f} invocations in {span}, traffic in "
        f"{traffic.hours_with_traffic} of {traffic.expected_hours} hours, {in_use}",
        *missing,
        *change_notes,
    ]
    idle_variants = [m.variant_name for m in variant_metrics.values() if m.invocations_total == 0]
    if idle_variants and len(variant_metrics) > 1:
        reasons.append(
            f"variant {', '.join(idle_variants)} had 0 invocations; removing one variant is not proposed yet"
        )
    return leave_alone(
        reasons,
        blocked_by=["signal missing"] if ctx.unreadable_types else None,
        invocations=round(traffic.total),
        hours_with_traffic=traffic.hours_with_traffic,
        window_hours=traffic.expected_hours,
        **evidence,
    )


def _utilisation_verdict(ctx: Context) -> tuple[str, list[str], dict[str, float | int | str]]:
    """The peaks an in-use endpoint reached, in its instance's terms ("peak CPU 96 % of 800 % = 12 % of
    the instance"), and what could not be read that way (signal missing, never a guess)."""
    cpu, gpu = ctx.peak("cpu"), ctx.peak("gpu")
    parts = [item.describe() for item in (cpu, gpu) if item is not None]
    evidence: dict[str, float | int | str] = {}
    if cpu is not None:
        evidence |= {"peak_cpu": round(cpu.share, 1), "peak_cpu_published": round(cpu.published, 1)}
    if gpu is not None:
        evidence |= {"peak_gpu": round(gpu.share, 1), "peak_gpu_published": round(gpu.published, 1)}
    missing: list[str] = []
    unknown = ctx.unreadable_types
    if unknown:
        published = [
            value
            for v in ctx.instance_variants
            if v.name in ctx.variant_metrics
            and (value := ctx.variant_metrics[v.name].cpu_max_percent) is not None
        ]
        if cpu is None and published:
            parts.append(f"peak CPU {max(published):.0f} % summed over an unknown number of vCPUs")
        missing.append(
            f"signal missing: {', '.join(unknown)} not in the instance specs, so its utilisation cannot be read "
            "as a share of the instance (CloudWatch sums CPU over vCPUs and GPU over GPUs); rightsizing and "
            "consolidation not considered"
        )
    accelerated_blind = [
        v.instance_type
        for v in ctx.instance_variants
        if is_accelerated(v.instance_type)
        and v.instance_type in instance_specs()
        and (v.name not in ctx.variant_metrics or reading(ctx.variant_metrics[v.name], v, "gpu") is None)
    ]
    if accelerated_blind:
        missing.append(
            f"no GPU utilisation for {', '.join(sorted(set(accelerated_blind)))} (not reported, or a Neuron "
            "device, which publishes none): accelerator load unknown, so it is not rightsized on CPU alone"
        )
    return (", ".join(parts) if parts else "peak CPU unknown"), missing, evidence


REPORT_ONLY_NOTE = (
    "reported with its savings; this tool does not apply {action} yet, so no approval is requested"
)


def _finding(
    base: dict[str, str | float | None], candidate: Rule, proposal: Proposal, notes: list[str]
) -> Finding:
    """`notes`: what the window's changes and the prices add to the rung's own reasons."""
    report_only = [] if candidate.applied else [REPORT_ONLY_NOTE.format(action=candidate.action.value)]
    return Finding(
        **base,
        action=candidate.action,
        target=proposal.target,
        estimated_monthly_savings_usd=proposal.savings,
        confidence=proposal.confidence,
        reasons=[*proposal.reasons, *notes, *report_only],
        blocked_by=list(proposal.blocked_by),
        evidence=proposal.evidence,
    )


def unscanned_finding(item: UnscannedEndpoint, snapshot: ScanSnapshot) -> Finding:
    """An endpoint the scan listed but could not read this run: in the plan, with why, never acted on."""
    return Finding(
        endpoint_name=item.name,
        account_id=snapshot.account_id,
        region=snapshot.region,
        action=Action.NONE,
        reasons=[f"signal missing: {item.reason}"],
        blocked_by=["signal missing"],
    )


# ---- consolidate: a fleet-level rung --------------------------------------------------------------
def consolidate(findings: list[Finding], scanned: list[ScannedEndpoint], prices: PriceBook) -> list[Finding]:
    """Several small, lightly used endpoints serving the same container image could share one endpoint
    with inference components. Reported, never applied: the move needs a migration plan per model."""
    by_name = {item.endpoint.name: item for item in scanned}
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    peaks: dict[str, Reading] = {}
    for finding in findings:
        item = by_name.get(finding.endpoint_name)
        # Candidates: endpoints left alone, or whose only idea was blocked (e.g. no arm64 image).
        left_alone = finding.action == Action.NONE and not finding.blocked_by
        only_blocked_advice = finding.action == Action.MIGRATE_GRAVITON and bool(finding.blocked_by)
        if not (left_alone or only_blocked_advice) or item is None:
            continue
        variants = [v for v in item.endpoint.variants if not v.is_serverless]
        if len(variants) != 1 or variants[0].instance_count != 1 or not variants[0].image:
            continue
        if item.endpoint.inference_components or is_accelerated(variants[0].instance_type):
            continue
        metrics = next(
            (m for m in item.metrics if m.scope == "variant" and m.variant_name == variants[0].name), None
        )
        # A share of the instance, never the published sum; an unknown type cannot be judged.
        peak = reading(metrics, variants[0], "cpu") if metrics is not None else None
        if peak is None or peak.share > CONSOLIDATE_MAX_PEAK or finding.current_monthly_cost_usd is None:
            continue
        key = (finding.account_id, finding.region, variants[0].image)
        groups.setdefault(key, []).append(finding)
        peaks[finding.endpoint_name] = peak

    replaced: dict[str, Finding] = {}
    for (_, region, image), members in groups.items():
        if len(members) < CONSOLIDATE_MIN_GROUP:
            continue
        specs = instance_specs()
        usage: list[tuple[float, float]] = []  # (vCPUs busy at peak, GiB in use) per endpoint
        host_type = None
        for finding in members:
            item = by_name[finding.endpoint_name]
            peak = peaks[finding.endpoint_name]
            spec = specs[peak.instance_type]  # a reading exists only for a type in the specs
            metrics = next(m for m in item.metrics if m.scope == "variant" and m.variant_name == peak.variant)
            # CPUUtilization is a sum over vCPUs: 96 % is 0.96 vCPU busy (= share x vCPUs / 100).
            vcpus_busy = peak.share / 100 * spec.vcpu
            usage.append((vcpus_busy, (metrics.memory_max_percent or 100) / 100 * spec.memory_gib))
            if host_type is None or spec.vcpu > specs[host_type].vcpu:
                host_type = spec.instance_type
        if host_type is None:
            continue
        host = specs[host_type]
        host_price = prices.hourly(region, host_type)
        hosts = _hosts_needed(usage, host)
        current = sum(f.current_monthly_cost_usd or 0 for f in members)
        if host_price is None or hosts is None:
            continue
        new_cost = hosts * host_price.usd_per_hour * HOURS_PER_MONTH
        if current - new_cost < 0.01:  # costs are rounded to the cent: equal is no saving
            continue
        names = ", ".join(sorted(f.endpoint_name for f in members))
        for finding in members:
            share = (finding.current_monthly_cost_usd or 0) / current
            replaced[finding.endpoint_name] = finding.model_copy(
                update={
                    "action": Action.CONSOLIDATE,
                    "blocked_by": [],
                    "target": f"one endpoint with inference components on {hosts} x {host_type} "
                    f"shared by {len(members)} endpoints",
                    "estimated_monthly_savings_usd": round((current - new_cost) * share, 2),
                    "confidence": "low",
                    "reasons": [
                        f"{len(members)} single-instance endpoints serve image {image}, each with peak CPU at "
                        f"most {CONSOLIDATE_MAX_PEAK:.0f} % of its instance: {names}",
                        f"this one: {peaks[finding.endpoint_name].describe()}",
                        f"together they cost {current:.2f} USD a month; {hosts} x {host_type} "
                        f"({new_cost:.2f} USD) would carry their combined peak under {TARGET_PEAK_UTILIZATION:.0f} %",
                        "report only: moving models onto inference components needs a migration plan per model",
                    ],
                    "evidence": {
                        "group_size": len(members),
                        "group_monthly_usd": round(current, 2),
                        "hosts": hosts,
                    },
                }
            )
    return [replaced.get(finding.endpoint_name, finding) for finding in findings]


def _hosts_needed(usage: list[tuple[float, float]], host: InstanceSpec) -> int | None:
    """Hosts of type `host` that carry every endpoint's peak (vCPUs busy, GiB in use) under the targets,
    packed first-fit decreasing: a model is never split across hosts. None when one alone does not fit."""
    vcpu_cap = host.vcpu * TARGET_PEAK_UTILIZATION / 100
    memory_cap = host.memory_gib * CONSOLIDATE_MEMORY_FILL
    hosts: list[list[float]] = []
    for vcpus, memory in sorted(usage, key=lambda item: (item[1], item[0]), reverse=True):
        if vcpus > vcpu_cap or memory > memory_cap:
            return None
        for load in hosts:
            if load[0] + vcpus <= vcpu_cap and load[1] + memory <= memory_cap:
                load[0] += vcpus
                load[1] += memory
                break
        else:
            hosts.append([vcpus, memory])
    return max(1, len(hosts))


def rule_for(action: Action) -> Rule | None:
    return next((candidate for candidate in RULES if candidate.action == action), None)
