"""What an Inference Recommender benchmark said about a finding: the endpoint as it runs today (the
baseline), each option the job measured, the one chosen, and why.

A `Confirmation` travels on the finding (`Finding.confirmation`, the plan's optional `confirmation`
object) and is the body of `endpoint-optimizer recommend --output`.
"""

from __future__ import annotations

from pydantic import Field

from endpoint_optimizer.models.scan import Model

# The status of a confirmation for which no job could start (no sample payload, an image whose
# framework is unknown, the spend cap, the account's endpoint quota); every other status is the IR job's
# own (DescribeInferenceRecommendationsJob Status: PENDING | IN_PROGRESS | COMPLETED | FAILED | STOPPING |
# STOPPED | DELETING | DELETED, botocore 1.43.127 sagemaker RecommendationJobStatus, read 2026-12-01).
NOT_STARTED = "NOT_STARTED"
COMPLETED = "COMPLETED"


class BenchmarkOption(Model):
    """One configuration the job measured, sized to carry the endpoint's observed peak.

    IR measures one instance per configuration; `instance_count` is how many of them the observed peak
    needs, and `cost_per_hour` / `max_invocations` are for that many (the measured per-instance figures
    x the count). For a serverless option `instance_count` is 1 and `cost_per_hour` is the cost per
    inference at the endpoint's average traffic when it is known, else IR's CostPerHour.
    """

    instance_type: str | None = None
    serverless_memory_mb: int | None = None
    instance_count: int = Field(default=1, ge=1)
    cost_per_hour: float | None = None
    cost_per_inference: float | None = None
    model_latency_ms: float | None = None  # IR's ModelLatency (milliseconds; CloudWatch's is microseconds)
    max_invocations: int | None = None  # per minute, as IR reports it
    meets_latency: bool = False
    meets_throughput: bool = False

    @property
    def name(self) -> str:
        """What was benchmarked: "ml.c7g.xlarge" or "serverless 2048 MB" (the start of its reasons)."""
        if self.serverless_memory_mb is not None:
            return f"serverless {self.serverless_memory_mb} MB"
        return self.instance_type or "unknown configuration"

    @property
    def label(self) -> str:
        """What would be deployed: "2 x ml.c7g.large" or "serverless 2048 MB"."""
        if self.serverless_memory_mb is not None:
            return self.name
        return f"{self.instance_count} x {self.name}"

    @property
    def meets(self) -> bool:
        return self.meets_latency and self.meets_throughput


class Baseline(Model):
    """The endpoint as it runs today, read from CloudWatch when the job is started or judged."""

    instance_type: str | None = None
    instance_count: int = 0
    observed_p99_latency_ms: float | None = None
    observed_peak_invocations_per_minute: float | None = None


class Confirmation(Model):
    """An Inference Recommender job's verdict on a finding, or why no job ran (status NOT_STARTED)."""

    job_name: str | None = None
    status: str
    baseline: Baseline
    options: list[BenchmarkOption] = Field(default_factory=list)
    chosen: BenchmarkOption | None = None
    reasons: list[str] = Field(default_factory=list)
    reused: bool = False  # a completed job for the same model and candidates was reused, not re-run
