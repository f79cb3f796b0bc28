"""The CreateInferenceRecommendationsJob request for a finding, its deadline and what it may cost.

An Advanced job by `ModelName`: IR launches its own endpoints from the model, one per candidate, and
load-tests them. `InputConfig.Endpoints` is never sent: that would benchmark the production endpoint,
which AWS "strongly recommend[s]" against (SageMaker developer guide, as quoted in issue 9's facts).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from endpoint_optimizer.decide.confirm.candidates import Candidate
from endpoint_optimizer.decide.confirm.images import ContainerFacts
from endpoint_optimizer.decide.confirm.thresholds import (
    DEADLINE_MARGIN_SECONDS,
    ENDPOINT_SETUP_SECONDS,
    LATENCY_MARGIN,
    MAX_ENDPOINT_CONFIGURATIONS,
    MAX_JOB_SECONDS,
    MAX_PARALLEL_TESTS,
    MAX_PHASE_USERS,
    MIN_PHASE_USERS,
    PHASE_SECONDS,
    RAMP_BEYOND_PEAK,
    THROUGHPUT_HEADROOM,
)
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.models import Baseline

JOB_NAME_PREFIX = "eo"
MAX_JOB_NAME = 64  # RecommendationJobName: 1-64, [a-zA-Z0-9](-*[a-zA-Z0-9]){0,63} (botocore 1.43.127)
KEY_LENGTH = 12  # hex digits of the reuse key: 48 bits, no collision between a fleet's jobs
_NOT_IN_NAME = re.compile(r"[^a-zA-Z0-9]+")


def reuse_key(endpoint_name: str, model_name: str, candidates: Sequence[Candidate]) -> str:
    """The same endpoint, model and candidates give the same key: how a completed job is found and
    reused instead of re-run (a model changes by getting a new name: SageMaker models are immutable)."""
    text = "\n".join([endpoint_name, model_name, *sorted(candidate.key for candidate in candidates)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def job_name(endpoint_name: str, key: str, now: datetime) -> str:
    """ "eo-<key>-<yyyymmddhhmm>-<endpoint>", at most 64 characters. The key and the minute come first:
    IR names the resources it creates from the first 40 characters, and a job name can never be used
    twice (jobs cannot be deleted), so a re-run after the reuse window gets a new name."""
    slug = _NOT_IN_NAME.sub("-", endpoint_name).strip("-")
    return f"{JOB_NAME_PREFIX}-{key}-{now:%Y%m%d%H%M}-{slug}"[:MAX_JOB_NAME].rstrip("-")


def latency_threshold_ms(baseline: Baseline) -> float | None:
    """The p99 a candidate may reach: today's observed p99 x LATENCY_MARGIN (None when unobserved)."""
    observed = baseline.observed_p99_latency_ms
    return None if observed is None else observed * LATENCY_MARGIN


def required_invocations_per_minute(
    baseline: Baseline, headroom: float = THROUGHPUT_HEADROOM
) -> float | None:
    """What an option must sustain: the observed peak per minute x headroom (None when unobserved)."""
    peak = baseline.observed_peak_invocations_per_minute
    return None if peak is None else peak * headroom


def traffic_pattern(baseline: Baseline) -> dict[str, Any]:
    """One PHASES phase that starts at the users today's peak needs and ramps to RAMP_BEYOND_PEAK x them.

    A user sends one request after another, so at the observed p99 it sends about 60,000 / p99 a minute
    (a slower reply is counted: more users, more load, the safe side)."""
    required = required_invocations_per_minute(baseline)
    latency = baseline.observed_p99_latency_ms
    needed = 1.0
    if required is not None and latency is not None and latency > 0:
        needed = max(1.0, required * latency / 60_000)
    initial = max(MIN_PHASE_USERS, min(MAX_PHASE_USERS, math.ceil(needed)))
    target = max(initial + 1, math.ceil(needed * RAMP_BEYOND_PEAK))
    spawn_rate = max(1, math.ceil((target - initial) / (PHASE_SECONDS / 60)))
    return {
        "TrafficType": "PHASES",
        "Phases": [
            {"InitialNumberOfUsers": initial, "SpawnRate": spawn_rate, "DurationInSeconds": PHASE_SECONDS}
        ],
    }


def stopping_conditions(baseline: Baseline) -> dict[str, Any]:
    """Stop a test past RAMP_BEYOND_PEAK x the needed invocations, or at the latency threshold."""
    conditions: dict[str, Any] = {}
    required = required_invocations_per_minute(baseline)
    if required is not None:
        conditions["MaxInvocations"] = max(1, math.ceil(required * RAMP_BEYOND_PEAK))
    threshold = latency_threshold_ms(baseline)
    if threshold is not None:
        conditions["ModelLatencyThresholds"] = [
            {"Percentile": "P99", "ValueInMilliseconds": max(1, math.ceil(threshold))}
        ]
    return conditions


def job_duration_seconds(tests: int) -> int:
    """Tests run MAX_PARALLEL_TESTS at a time, each a phase plus its endpoint's setup."""
    batches = math.ceil(tests / min(tests, MAX_PARALLEL_TESTS))
    return min(MAX_JOB_SECONDS, batches * (PHASE_SECONDS + ENDPOINT_SETUP_SECONDS))


def job_request(
    *,
    endpoint_name: str,
    model_name: str,
    role_arn: str,
    container: ContainerFacts,
    sample_payload_url: str,
    candidates: Sequence[Candidate],
    baseline: Baseline,
    now: datetime,
    content_types: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The CreateInferenceRecommendationsJob kwargs (`sagemaker.create_inference_recommendations_job(
    **request)`). `sample_payload_url` is one .tar.gz of sample requests in S3; `content_types` overrides
    the container's default (Data Capture records name theirs)."""
    if not 1 <= len(candidates) <= MAX_ENDPOINT_CONFIGURATIONS:
        raise ValueError(
            f"a job benchmarks 1 to {MAX_ENDPOINT_CONFIGURATIONS} configurations, got {len(candidates)}"
        )
    container_config: dict[str, Any] = {
        "Domain": container.domain,
        "Framework": container.framework,
        "Task": container.task,
        "PayloadConfig": {
            "SamplePayloadUrl": sample_payload_url,
            "SupportedContentTypes": list(content_types or container.content_types),
        },
    }
    if container.framework_version:
        container_config["FrameworkVersion"] = container.framework_version
    request: dict[str, Any] = {
        "JobName": job_name(endpoint_name, reuse_key(endpoint_name, model_name, candidates), now),
        "JobType": "Advanced",
        "RoleArn": role_arn,
        "JobDescription": f"endpoint-optimizer: benchmark the candidates for {endpoint_name}"[:128],
        "InputConfig": {
            "ModelName": model_name,
            "ContainerConfig": container_config,
            "EndpointConfigurations": [candidate.endpoint_configuration() for candidate in candidates],
            "TrafficPattern": traffic_pattern(baseline),
            "ResourceLimit": {
                "MaxNumberOfTests": len(candidates),
                "MaxParallelOfTests": min(len(candidates), MAX_PARALLEL_TESTS),
            },
            "JobDurationInSeconds": job_duration_seconds(len(candidates)),
        },
    }
    if conditions := stopping_conditions(baseline):
        request["StoppingConditions"] = conditions
    return request


def deadline_for(request: Mapping[str, Any], started_at: datetime) -> datetime:
    """When a job still running is stopped: its own duration plus DEADLINE_MARGIN_SECONDS."""
    duration = int(request["InputConfig"].get("JobDurationInSeconds") or MAX_JOB_SECONDS)
    return started_at + timedelta(seconds=duration + DEADLINE_MARGIN_SECONDS)


def _test_seconds(request: Mapping[str, Any]) -> int:
    phases = (request["InputConfig"].get("TrafficPattern") or {}).get("Phases") or []
    return sum(int(phase.get("DurationInSeconds") or 0) for phase in phases) or PHASE_SECONDS


def estimated_job_cost(request: Mapping[str, Any], prices: PriceBook, region: str) -> float | None:
    """What the job's endpoints cost while they run, in USD: each instance candidate for its phase and
    setup at the price book's hourly price, each serverless one as if busy for its whole phase (an upper
    bound). None when a price is unknown: the spend cap cannot be judged, so the caller defers the job."""
    phase = _test_seconds(request)
    total = 0.0
    for configuration in request["InputConfig"]["EndpointConfigurations"]:
        serverless = configuration.get("ServerlessConfig")
        if serverless:
            rate = prices.serverless_usd_per_gb_second(region)
            if rate is None:
                return None
            total += rate.usd_per_gb_second * serverless["MemorySizeInMB"] / 1024 * phase
            continue
        price = prices.hourly(region, configuration["InstanceType"])
        if price is None:
            return None
        total += price.usd_per_hour * (phase + ENDPOINT_SETUP_SECONDS) / 3600
    return round(total, 4)
