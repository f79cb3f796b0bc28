"""An emulated SageMaker Inference Recommender on moto's SageMaker backend (moto 5.2.5 has none of it).

Operations (installed by moto_patches.apply_patches(), in-process `mock_aws` and server mode alike; the
handlers are in recommender_api.py): CreateInferenceRecommendationsJob, DescribeInferenceRecommendationsJob,
StopInferenceRecommendationsJob, ListInferenceRecommendationsJobs, ListInferenceRecommendationsJobSteps.
Jobs live on moto's SageMaker backend (one per account and region: a moto reset empties them); the
settings below are process-wide, on `emulator()` (also `EmulatedAws.recommender`), and `reset()` puts
them back to their defaults (EmulatedAws.reset() does).

Emulated time, never the wall clock: a job has an age in ticks. Each DescribeInferenceRecommendationsJob
of a job reports its status at its current age, then ages it by one tick; `advance(n)` ages every job.
A job is PENDING while age < pending_ticks, IN_PROGRESS while age < pending_ticks + running_ticks, then
COMPLETED (or FAILED). With the defaults (1, 2) the 1st Describe sees PENDING, the 2nd and 3rd
IN_PROGRESS, the 4th COMPLETED. A stop makes it STOPPING for `stopping_ticks` ticks, then STOPPED.
Timestamps (CreationTime, LastModifiedTime, CompletionTime) are moto's clock when the change is seen.

Results: one recommendation per EndpointConfiguration that benchmarked, from recommender_model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from emulated_aws.recommender_model import (
    BenchmarkFailed,
    ModelProfile,
    instance_benchmark,
    serverless_benchmark,
)

__all__ = ["TERMINAL", "Benchmark", "ModelProfile", "RecommendationJob", "RecommenderEmulator", "emulator"]

TERMINAL = frozenset({"COMPLETED", "FAILED", "STOPPED"})
RUNNING = frozenset({"PENDING", "IN_PROGRESS", "STOPPING"})
# What a Default job benchmarks when ContainerConfig.SupportedInstanceTypes names none (AWS picks its own).
DEFAULT_JOB_INSTANCE_TYPES = ("ml.c5.xlarge", "ml.m5.xlarge", "ml.c6g.xlarge")


def now() -> datetime:
    """moto's clock (naive UTC), for timestamps only: status changes follow ticks."""
    from moto.core.utils import utcnow

    return utcnow()


@dataclass
class Benchmark:
    """One endpoint configuration of a job: what it is, and (once measured) its metrics or failure."""

    index: int
    endpoint_configuration: dict[str, Any]  # EndpointOutputConfiguration
    status: str = "PENDING"
    metrics: dict[str, Any] | None = None
    failure_reason: str | None = None
    started: datetime | None = None
    ended: datetime | None = None

    @property
    def key(self) -> str:
        """The instance type, or "serverless-<MemorySizeInMB>" (how fail_benchmark names it)."""
        serverless = self.endpoint_configuration.get("ServerlessConfig")
        if serverless:
            return f"serverless-{serverless['MemorySizeInMB']}"
        return str(self.endpoint_configuration.get("InstanceType"))


@dataclass
class RecommendationJob:
    name: str
    arn: str
    region: str
    request: dict[str, Any]  # the CreateInferenceRecommendationsJob parameters
    created: datetime
    sequence: int
    status: str = "PENDING"
    age: int = 0
    describes: int = 0  # DescribeInferenceRecommendationsJob calls seen
    stopped_at_age: int | None = None
    last_modified: datetime | None = None
    completed: datetime | None = None
    failure_reason: str | None = None
    benchmarks: list[Benchmark] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        return str(self.request["InputConfig"].get("ModelName") or "")

    @property
    def running(self) -> bool:
        return self.status in RUNNING


@dataclass
class RecommenderEmulator:
    """The process-wide settings of the emulated Inference Recommender (see the module docstring).

    Per model name: `set_profile` (performance), `fail_jobs` (the job ends FAILED with a FailureReason),
    `fail_benchmark` (one configuration's step fails; the job completes without it), `hold_jobs` (jobs
    stay IN_PROGRESS until stopped, for deadline tests, their first `benchmarked` configurations measured
    once they run). `set_price` overrides an hourly price.
    """

    pending_ticks: int = 1
    running_ticks: int = 2
    stopping_ticks: int = 1
    # Jobs PENDING, IN_PROGRESS or STOPPING at once in one account and region before CreateInference-
    # RecommendationsJob answers ResourceLimitExceeded. AWS's quota was not found: the emulator's choice.
    max_running_jobs: int = 10
    default_instance_types: tuple[str, ...] = DEFAULT_JOB_INSTANCE_TYPES
    profiles: dict[str, ModelProfile] = field(default_factory=dict)
    job_failures: dict[str, str] = field(default_factory=dict)
    benchmark_failures: dict[str, dict[str, str]] = field(default_factory=dict)
    held_models: set[str] = field(default_factory=set)
    held_benchmarked: dict[str, int] = field(default_factory=dict)  # model -> benchmarks finished while held
    prices: dict[tuple[str, str], float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- configuration ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Every setting back to its default (jobs live on moto's backends: a moto reset drops them)."""
        fresh = RecommenderEmulator()
        with self.lock:
            for item in fields(self):
                if item.name != "lock":
                    setattr(self, item.name, getattr(fresh, item.name))

    def set_profile(self, model_name: str, **changes: Any) -> ModelProfile:
        """Set fields of `model_name`'s ModelProfile (base_latency_ms, base_rpm, model_memory_gib,
        graviton_latency_factor, graviton_throughput_factor, cpu_utilization, serverless_setup_time_s)."""
        with self.lock:
            profile = replace(self.profile(model_name), **changes)
            self.profiles[model_name] = profile
            return profile

    def profile(self, model_name: str) -> ModelProfile:
        with self.lock:
            return self.profiles.get(model_name, ModelProfile())

    def fail_jobs(
        self, model_name: str, reason: str = "Benchmark failed: the model container did not start."
    ) -> None:
        """Jobs of `model_name` that have not ended yet end FAILED with `reason` as FailureReason."""
        with self.lock:
            self.job_failures[model_name] = reason

    def fail_benchmark(
        self, model_name: str, configuration: str, reason: str = "Endpoint failed to reach InService."
    ) -> None:
        """The benchmark of `configuration` (an instance type, or "serverless-<MemorySizeInMB>") of
        `model_name`'s jobs ends FAILED with `reason`; the job COMPLETES with the others' results (FAILED
        when none benchmarked)."""
        with self.lock:
            self.benchmark_failures.setdefault(model_name, {})[configuration] = reason

    def hold_jobs(self, model_name: str, held: bool = True, *, benchmarked: int = 0) -> None:
        """Jobs of `model_name` never complete (IN_PROGRESS until stopped); held=False lets them finish.
        The first `benchmarked` configurations of a held job finish (measured, their steps COMPLETED) as
        it starts running: a job stopped at its deadline with some benchmarks done."""
        with self.lock:
            if held:
                self.held_models.add(model_name)
                self.held_benchmarked[model_name] = benchmarked
            else:
                self.held_models.discard(model_name)
                self.held_benchmarked.pop(model_name, None)

    def set_price(self, instance_type: str, usd_per_hour: float, region: str = "*") -> None:
        with self.lock:
            self.prices[(region, instance_type)] = usd_per_hour

    # -- the clock ----------------------------------------------------------------------------------
    def advance(self, ticks: int = 1) -> None:
        """Age every job of every account and region by `ticks`."""
        with self.lock:
            for job in self.jobs():
                for _ in range(ticks):
                    self.tick(job)

    def jobs(self) -> list[RecommendationJob]:
        """Every job in every account and region (read-only use: tests inspect `describes`, `age`)."""
        from moto.sagemaker.models import sagemaker_backends

        with self.lock:
            found: list[RecommendationJob] = []
            for account in list(sagemaker_backends.values()):
                for backend in list(account.values()):
                    found.extend(job_store(backend).values())
            return found

    def tick(self, job: RecommendationJob) -> None:
        with self.lock:
            if job.status not in TERMINAL:
                job.age += 1
            self.settle(job)

    def settle(self, job: RecommendationJob) -> None:
        """Bring the job's status (and results) up to its age."""
        with self.lock:
            if job.status in TERMINAL:
                return
            if job.stopped_at_age is not None:
                status = "STOPPED" if job.age >= job.stopped_at_age + self.stopping_ticks else "STOPPING"
            elif job.age < self.pending_ticks:
                status = "PENDING"
            elif job.age < self.pending_ticks + self.running_ticks or job.model_name in self.held_models:
                status = "IN_PROGRESS"
            else:
                status = "COMPLETED"
            if status != job.status:
                self._enter(job, status)

    def _enter(self, job: RecommendationJob, status: str) -> None:
        moment = now()
        job.last_modified = moment
        if status == "IN_PROGRESS":
            for benchmark in job.benchmarks:
                benchmark.status, benchmark.started = "IN_PROGRESS", moment
            if job.model_name in self.held_models:
                self._measure(job, moment, job.benchmarks[: self.held_benchmarked.get(job.model_name, 0)])
        elif status == "STOPPED":
            for benchmark in job.benchmarks:
                if benchmark.status not in TERMINAL:
                    benchmark.status, benchmark.ended = "STOPPED", moment
        elif status == "COMPLETED":
            failure = self.job_failures.get(job.model_name)
            if failure is None:
                self._measure(job, moment, [b for b in job.benchmarks if b.status not in TERMINAL])
                if not any(b.status == "COMPLETED" for b in job.benchmarks):
                    failure = "No endpoint configuration could be benchmarked."
            if failure is not None:
                status, job.failure_reason = "FAILED", failure
                for benchmark in job.benchmarks:
                    if benchmark.status != "FAILED":
                        benchmark.status, benchmark.failure_reason, benchmark.ended = (
                            "FAILED",
                            failure,
                            moment,
                        )
        job.status = status
        if status in TERMINAL:
            job.completed = moment

    def _measure(self, job: RecommendationJob, moment: datetime, benchmarks: list[Benchmark]) -> None:
        profile = self.profile(job.model_name)
        failures = self.benchmark_failures.get(job.model_name, {})
        cap = (job.request.get("StoppingConditions") or {}).get("MaxInvocations")
        for benchmark in benchmarks:
            benchmark.ended = moment
            benchmark.started = benchmark.started or moment
            try:
                if benchmark.key in failures:
                    raise BenchmarkFailed(failures[benchmark.key])
                serverless = benchmark.endpoint_configuration.get("ServerlessConfig")
                if serverless:
                    metrics = serverless_benchmark(profile, serverless, job.region, max_invocations=cap)
                else:
                    metrics = instance_benchmark(
                        profile,
                        benchmark.key,
                        job.region,
                        max_invocations=cap,
                        price_overrides=self.prices,
                    )
            except BenchmarkFailed as failed:
                benchmark.status, benchmark.failure_reason = "FAILED", str(failed)
            else:
                benchmark.status, benchmark.metrics = "COMPLETED", metrics


def job_store(backend: Any) -> dict[str, RecommendationJob]:
    """The jobs of one moto SageMaker backend (one account and region), by name."""
    store: dict[str, RecommendationJob] | None = getattr(backend, "_emulated_recommendation_jobs", None)
    if store is None:
        store = {}
        backend._emulated_recommendation_jobs = store
    return store


def planned_benchmarks(request: dict[str, Any], defaults: tuple[str, ...]) -> Iterator[Benchmark]:
    """The benchmarks a job will run: its EndpointConfigurations (Advanced), or for a Default job the
    container's SupportedInstanceTypes (else `defaults`). Endpoint names come from the job name's first
    40 characters, as IR names the resources it creates."""
    input_config = request["InputConfig"]
    configurations = input_config.get("EndpointConfigurations") or [
        {"InstanceType": instance_type}
        for instance_type in (input_config.get("ContainerConfig") or {}).get("SupportedInstanceTypes")
        or defaults
    ]
    for index, configuration in enumerate(configurations, start=1):
        output: dict[str, Any] = {
            "EndpointName": f"{request['JobName'][:40]}-{index}",
            "VariantName": "AllTraffic",
        }
        if configuration.get("ServerlessConfig"):
            output["ServerlessConfig"] = dict(configuration["ServerlessConfig"])
        else:
            output["InstanceType"] = configuration["InstanceType"]
            output["InitialInstanceCount"] = 1
        yield Benchmark(index=index, endpoint_configuration=output)


_EMULATOR = RecommenderEmulator()


def emulator() -> RecommenderEmulator:
    """The process-wide emulated Inference Recommender."""
    return _EMULATOR
