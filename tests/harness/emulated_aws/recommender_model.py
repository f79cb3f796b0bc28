"""The emulated Inference Recommender's performance model: what one benchmark of one endpoint
configuration measures, deterministically, from a per-model profile, the instance's hardware
(endpoint_optimizer's data/instance_specs.csv) and the project's bundled price book.

The numbers are the emulator's fiction, shaped like AWS's (units from the SageMaker API reference,
RecommendationMetrics, read 2026-12): MaxInvocations per minute, ModelLatency in milliseconds,
CpuUtilization and MemoryUtilization in percent "at maximum invocations per minute", CostPerHour and
CostPerInference in USD, ModelSetupTime (serverless only; AWS names no unit, here seconds).

- Throughput grows with vCPUs (exponent 0.9), latency falls with them (exponent -0.25), from a profile
  measured on a 2-vCPU x86 instance; Graviton (arm64) is a little slower per vCPU; NVIDIA GPUs multiply
  throughput (x4 a GPU) and halve latency.
- StoppingConditions.MaxInvocations caps the reported MaxInvocations (the load test stops there).
- Serverless: compute in proportion to memory (1769 MB ~ one vCPU, Lambda's ratio; SageMaker publishes
  none), MaxConcurrency parallel requests, billed per GB-second of the requests' duration.
- Price: the bundled price book's hourly price; for a type it lacks, the emulator's estimate (another
  size of the family in the same region scaled by vCPUs, else a flat per-vCPU rate), or a price a test
  set with `RecommenderEmulator.set_price`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.decide.signals import InstanceSpec, instance_specs

__all__ = [
    "BenchmarkFailed",
    "ModelProfile",
    "hourly_price",
    "instance_benchmark",
    "serverless_benchmark",
]

REFERENCE_VCPUS = 2
THROUGHPUT_EXPONENT = 0.9
LATENCY_EXPONENT = 0.25
GPU_THROUGHPUT_FACTOR = 4.0
GPU_LATENCY_FACTOR = 0.5
SERVERLESS_MB_PER_VCPU = 1769
# Emulator estimates for types the bundled book lacks (not AWS prices): USD per vCPU-hour, per GPU-hour.
ESTIMATED_USD_PER_VCPU_HOUR = {"x86_64": 0.06, "arm64": 0.048}
ESTIMATED_USD_PER_GPU_HOUR = 1.2
FALLBACK_SERVERLESS_REGION = "us-east-1"


class BenchmarkFailed(Exception):
    """A benchmark that cannot run (its step ends FAILED with this message as FailureReason)."""


@dataclass(frozen=True)
class ModelProfile:
    """How a model performs on the 2-vCPU x86 reference instance; tests set it per model name."""

    base_latency_ms: float = 40.0
    base_rpm: float = 600.0  # max invocations per minute
    model_memory_gib: float = 1.0  # resident memory of the loaded model
    graviton_latency_factor: float = 1.1
    graviton_throughput_factor: float = 0.95
    cpu_utilization: float = 75.0  # percent of the instance at max invocations
    serverless_setup_time_s: int = 12  # a cold start (ModelSetupTime)


def hourly_price(region: str, instance_type: str, overrides: dict[tuple[str, str], float]) -> float:
    """USD per instance-hour: a test's override, the bundled book, else the emulator's estimate."""
    if (region, instance_type) in overrides:
        return overrides[(region, instance_type)]
    if ("*", instance_type) in overrides:
        return overrides[("*", instance_type)]
    book = bundled_price_book()
    price = book.hourly(region, instance_type)
    if price is not None:
        return price.usd_per_hour
    specs = instance_specs()
    spec = specs.get(instance_type)
    if spec is None:
        raise BenchmarkFailed(f"No price or hardware data for instance type {instance_type}.")
    for (price_region, other_type), other in sorted(book.prices.items()):
        other_spec = specs.get(other_type)
        if price_region == region and other_spec is not None and other_spec.family == spec.family:
            return round(other.usd_per_hour * spec.vcpu / other_spec.vcpu, 4)
    rate = ESTIMATED_USD_PER_VCPU_HOUR.get(spec.architecture, ESTIMATED_USD_PER_VCPU_HOUR["x86_64"])
    return round(spec.vcpu * rate + spec.gpus * ESTIMATED_USD_PER_GPU_HOUR, 4)


def _spec(instance_type: str) -> InstanceSpec:
    if instance_type.startswith("ml.t2."):
        # "Inference Recommender does not support ml.t2 instances" (shared facts, actions_and_recommender.md)
        raise BenchmarkFailed(f"Inference Recommender does not support instance type {instance_type}.")
    spec = instance_specs().get(instance_type)
    if spec is None:
        raise BenchmarkFailed(f"The emulator has no hardware data for instance type {instance_type}.")
    return spec


def _capped(rpm: float, max_invocations: int | None) -> int:
    value = max(1, math.floor(rpm))
    return min(value, max_invocations) if max_invocations else value


def instance_benchmark(
    profile: ModelProfile,
    instance_type: str,
    region: str,
    *,
    max_invocations: int | None,
    price_overrides: dict[tuple[str, str], float],
) -> dict[str, Any]:
    """RecommendationMetrics for one instance of `instance_type`."""
    spec = _spec(instance_type)
    scale = spec.vcpu / REFERENCE_VCPUS
    rpm = profile.base_rpm * scale**THROUGHPUT_EXPONENT
    latency = profile.base_latency_ms * scale**-LATENCY_EXPONENT
    if spec.architecture == "arm64":
        rpm *= profile.graviton_throughput_factor
        latency *= profile.graviton_latency_factor
    if spec.gpus:
        rpm *= GPU_THROUGHPUT_FACTOR * spec.gpus
        latency *= GPU_LATENCY_FACTOR
    invocations = _capped(rpm, max_invocations)
    cost_per_hour = hourly_price(region, instance_type, price_overrides)
    return {
        "CostPerHour": round(cost_per_hour, 6),
        "CostPerInference": cost_per_hour / (invocations * 60),
        "MaxInvocations": invocations,
        "ModelLatency": max(1, round(latency)),
        "CpuUtilization": round(profile.cpu_utilization * invocations / max(1.0, rpm), 2),
        "MemoryUtilization": round(min(100.0, 100 * profile.model_memory_gib / spec.memory_gib), 2),
    }


def serverless_benchmark(
    profile: ModelProfile,
    serverless_config: dict[str, Any],
    region: str,
    *,
    max_invocations: int | None,
) -> dict[str, Any]:
    """RecommendationMetrics for one ServerlessConfig {MemorySizeInMB, MaxConcurrency, ...}."""
    memory_mb = int(serverless_config["MemorySizeInMB"])
    concurrency = int(serverless_config["MaxConcurrency"])
    memory_gib = memory_mb / 1024
    if profile.model_memory_gib > memory_gib:
        raise BenchmarkFailed(
            f"The model needs {profile.model_memory_gib:g} GiB; the serverless endpoint has {memory_mb} MB."
        )
    vcpus = memory_mb / SERVERLESS_MB_PER_VCPU
    latency_ms = profile.base_latency_ms * (vcpus / REFERENCE_VCPUS) ** -LATENCY_EXPONENT
    invocations = _capped(concurrency * 60_000 / latency_ms, max_invocations)
    book = bundled_price_book()
    rate = book.serverless_usd_per_gb_second(region) or book.serverless_usd_per_gb_second(
        FALLBACK_SERVERLESS_REGION
    )
    if rate is None:
        raise BenchmarkFailed(f"No serverless price for region {region}.")
    cost_per_inference = rate.usd_per_gb_second * memory_gib * latency_ms / 1000
    return {
        "CostPerHour": round(cost_per_inference * invocations * 60, 6),
        "CostPerInference": cost_per_inference,
        "MaxInvocations": invocations,
        "ModelLatency": max(1, round(latency_ms)),
        "MemoryUtilization": round(min(100.0, 100 * profile.model_memory_gib / memory_gib), 2),
        "ModelSetupTime": profile.serverless_setup_time_s,
    }
