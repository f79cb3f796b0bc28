"""Confirming a rightsize, Graviton or serverless move with an Inference Recommender benchmark: pure
(no boto3). `endpoint_optimizer.confirm` starts, polls and stops the jobs; this package says what to ask
and what the answer means.

- `images`: the container's framework, version, domain and task, and its arm64 build, from the image.
- `candidates`: what the job benchmarks for a finding (today's instance type and the rung's candidates).
- `arm64_model`: the name and CreateModel request of a Graviton benchmark's model on the arm64 image.
- `job`: the CreateInferenceRecommendationsJob request, its reuse key, deadline and estimated cost.
- `choose`: the cheapest measured option that meets latency and throughput; the finding confirmed,
  downgraded or left unconfirmed.
- `thresholds`: the margins and limits, each with its reason.
"""

from endpoint_optimizer.decide.confirm.candidates import (
    CONFIRMED_ACTIONS,
    Candidate,
    candidates_for,
    current_variant,
    needs_confirmation,
)
from endpoint_optimizer.decide.confirm.choose import (
    confirm,
    confirmation_from,
    measured_rejections,
    missing_payload_how_to,
    not_started,
    today_hourly_cost,
)
from endpoint_optimizer.decide.confirm.images import (
    ContainerFacts,
    container_config_for,
    unknown_container_how_to,
)
from endpoint_optimizer.decide.confirm.job import (
    deadline_for,
    estimated_job_cost,
    job_name,
    job_request,
    latency_threshold_ms,
    required_invocations_per_minute,
    reuse_key,
)

__all__ = [
    "CONFIRMED_ACTIONS",
    "Candidate",
    "ContainerFacts",
    "candidates_for",
    "confirm",
    "confirmation_from",
    "container_config_for",
    "current_variant",
    "deadline_for",
    "estimated_job_cost",
    "job_name",
    "job_request",
    "latency_threshold_ms",
    "measured_rejections",
    "missing_payload_how_to",
    "needs_confirmation",
    "not_started",
    "required_invocations_per_minute",
    "reuse_key",
    "today_hourly_cost",
    "unknown_container_how_to",
]
