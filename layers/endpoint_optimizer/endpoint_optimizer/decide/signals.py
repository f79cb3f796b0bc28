"""What the scan's numbers say, in the instance's own terms: instance specs, utilisation readings as a
share of the instance (CloudWatch sums CPU over vCPUs and GPU over GPUs), and the traffic of the window."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from endpoint_optimizer.decide.thresholds import (
    ACCELERATED_FAMILIES,
    BURST_FACTOR,
    BURST_GAP_HOURS,
    BUSINESS_HOURS,
)
from endpoint_optimizer.models import HOURS_PER_MONTH, Variant, VariantMetrics


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
# is the same number by definition. The thresholds (decide/thresholds.py) are shares of the instance,
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
