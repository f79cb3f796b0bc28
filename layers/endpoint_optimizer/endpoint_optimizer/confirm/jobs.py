"""Inference Recommender jobs: start one (or reuse a recent one), read it, stop it, and keep a run's
benchmarks under its spend cap.

Facts (botocore 1.43 SageMaker model and the SageMaker API reference; read 2026-12-01):
- CreateInferenceRecommendationsJob fails with ResourceInUse (the job name is taken) or
  ResourceLimitExceeded (the account's quota, e.g. of the endpoints IR would launch).
- Job names are unique in an account and region and there is no DeleteInferenceRecommendationsJob:
  a name once used stays used. Names carry the reuse key and the minute (decide.confirm.job.job_name), so
  a name in use at create time is the same benchmark started by another run in the same minute.
- ListInferenceRecommendationsJobs filters by ModelNameEquals, NameContains (<= 63 characters of
  [a-zA-Z0-9-]) and CreationTimeAfter; it does not return the job's EndpointConfigurations, so a
  candidate is described before it is reused.
- Status PENDING | IN_PROGRESS | COMPLETED | FAILED | STOPPING | STOPPED | DELETING | DELETED; no waiter
  and no EventBridge event: callers poll DescribeInferenceRecommendationsJob.

AWS access: the SageMaker client passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.decide.confirm.job import JOB_NAME_PREFIX, KEY_LENGTH

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.literals import RecommendationJobStatusType

TERMINAL = frozenset({"COMPLETED", "FAILED", "STOPPED", "DELETED"})
RUNNING = frozenset({"PENDING", "IN_PROGRESS"})
REUSABLE = RUNNING | {"COMPLETED"}
JOB_NAME_MAX = 64
NAME_CONTAINS_MAX = 63
LIST_PAGE_SIZE = 100  # ListInferenceRecommendationsJobs MaxResults 1..100


@dataclass(frozen=True)
class JobStarted:
    """A job that runs or ran for the request: started now, or an earlier one reused."""

    job_name: str
    reused: bool


@dataclass(frozen=True)
class JobNotStarted:
    """AWS refused the job (ResourceLimitExceeded, a name in use): the reason, for the report."""

    reason: str


def error_code_and_message(error: ClientError) -> tuple[str, str]:
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _configurations(configurations: Sequence[Mapping[str, Any]]) -> list[str]:
    """Benchmarked configurations as comparable strings (order does not matter)."""
    return sorted(repr(sorted(item.items())) for item in configurations)


def reuse_search_text(job_name: str) -> str:
    """What ListInferenceRecommendationsJobs' NameContains looks for: the "eo-<reuse key>" head of the
    name (decide.confirm.job.job_name), which the same endpoint, model and candidates always give."""
    head = len(JOB_NAME_PREFIX) + 1 + KEY_LENGTH
    return job_name[: min(head, NAME_CONTAINS_MAX)]


def find_reusable(
    sagemaker: SageMakerClient,
    *,
    job_name: str,
    model_name: str,
    endpoint_configurations: Sequence[Mapping[str, Any]],
    now: datetime,
    reuse_days: int,
) -> str | None:
    """The newest job created within `reuse_days` under the same reuse key, running or COMPLETED, for
    the same model and EndpointConfigurations (described to be sure: the listing does not show them).
    The sample payload may differ: the same model on the same candidates is not re-run."""
    if reuse_days <= 0:
        return None
    listing: dict[str, Any] = {
        "NameContains": reuse_search_text(job_name),
        "CreationTimeAfter": now - timedelta(days=reuse_days),
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "ModelNameEquals": model_name,
        "PaginationConfig": {"PageSize": LIST_PAGE_SIZE},
    }
    wanted = {"InputConfig": {"ModelName": model_name, "EndpointConfigurations": endpoint_configurations}}
    for page in sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(**listing):
        for summary in page.get("InferenceRecommendationsJobs", []):
            if summary.get("Status") not in REUSABLE:
                continue
            described = describe(sagemaker, summary["JobName"])
            if described.get("Status") in REUSABLE and _same_job(described, wanted):
                return str(summary["JobName"])
    return None


def _same_job(described: Mapping[str, Any], request: Mapping[str, Any]) -> bool:
    """Whether an existing job benchmarks what `request` asks: the same model and configurations."""
    theirs: Mapping[str, Any] = described.get("InputConfig") or {}
    mine: Mapping[str, Any] = request["InputConfig"]
    return theirs.get("ModelName") == mine.get("ModelName") and _configurations(
        theirs.get("EndpointConfigurations") or []
    ) == _configurations(mine.get("EndpointConfigurations") or [])


def start(sagemaker: SageMakerClient, request: dict[str, Any]) -> JobStarted | JobNotStarted:
    """Send `request` (CreateInferenceRecommendationsJob kwargs).

    ResourceInUse: the name is taken. Names are deterministic (reuse key + minute), so a job of that name
    is another run's start of the same benchmark in the same minute: it is described and, when it is for
    the same model and configurations, carried on with (reused). ResourceLimitExceeded, or a job of that
    name for something else, is JobNotStarted with AWS's words. Any other error is raised."""
    try:
        sagemaker.create_inference_recommendations_job(**request)
    except ClientError as error:
        code, message = error_code_and_message(error)
        if code == "ResourceInUse" and _same_job(describe(sagemaker, request["JobName"]), request):
            return JobStarted(str(request["JobName"]), reused=True)
        if code in {"ResourceLimitExceeded", "ResourceInUse"}:
            return JobNotStarted(f"Inference Recommender did not start the job: {code}: {message}")
        raise
    return JobStarted(str(request["JobName"]), reused=False)


def start_or_reuse(
    sagemaker: SageMakerClient, request: dict[str, Any], *, now: datetime, reuse_days: int
) -> JobStarted | JobNotStarted:
    """A recent job for the same model and candidates (`find_reusable`), else `start(request)`."""
    input_config: dict[str, Any] = request["InputConfig"]
    reusable = find_reusable(
        sagemaker,
        job_name=request["JobName"],
        model_name=input_config["ModelName"],
        endpoint_configurations=input_config.get("EndpointConfigurations") or [],
        now=now,
        reuse_days=reuse_days,
    )
    if reusable is not None:
        return JobStarted(reusable, reused=True)
    return start(sagemaker, request)


def describe(sagemaker: SageMakerClient, job_name: str) -> dict[str, Any]:
    """DescribeInferenceRecommendationsJob, as a plain dict."""
    return dict(sagemaker.describe_inference_recommendations_job(JobName=job_name))


def stop(sagemaker: SageMakerClient, job_name: str) -> bool:
    """Ask IR to stop the job (past its deadline). False when the job no longer exists."""
    try:
        sagemaker.stop_inference_recommendations_job(JobName=job_name)
    except ClientError as error:
        if error_code_and_message(error)[0] == "ResourceNotFound":
            return False
        raise
    return True


def benchmark_steps(
    sagemaker: SageMakerClient, job_name: str, status: RecommendationJobStatusType
) -> list[dict[str, Any]]:
    """The job's benchmark steps in `status` (ListInferenceRecommendationsJobSteps, StepType BENCHMARK):
    each step's InferenceBenchmark has its EndpointConfiguration, and Metrics once COMPLETED or a
    FailureReason once FAILED."""
    steps: list[dict[str, Any]] = []
    pages = sagemaker.get_paginator("list_inference_recommendations_job_steps").paginate(
        JobName=job_name, Status=status, StepType="BENCHMARK"
    )
    for page in pages:
        steps.extend(dict(step) for step in page.get("Steps", []))
    return steps


def failed_steps(sagemaker: SageMakerClient, job_name: str) -> list[dict[str, Any]]:
    """The job's FAILED benchmark steps, as confirmation_from takes them to name each failed candidate
    with its FailureReason."""
    return benchmark_steps(sagemaker, job_name, "FAILED")


def finished_steps(sagemaker: SageMakerClient, job_name: str) -> list[dict[str, Any]]:
    """The job's COMPLETED benchmark steps: what a job stopped (or failed) before it completed did
    measure (its InferenceRecommendations are read only from a COMPLETED job)."""
    return benchmark_steps(sagemaker, job_name, "COMPLETED")


@dataclass(frozen=True)
class SpendDecision:
    """Which jobs of a run start under the spend cap, and why the others wait."""

    admitted: list[str]
    deferred: dict[str, str]  # key -> reason
    estimated_usd: float


def within_spend_cap(estimates: Sequence[tuple[str, float]], cap_usd: float) -> SpendDecision:
    """Admit jobs in the order given (the caller orders them, e.g. by savings) while the run's estimated
    benchmark cost stays within `cap_usd`; the rest are deferred with the reason."""
    admitted: list[str] = []
    deferred: dict[str, str] = {}
    spent = 0.0
    for key, cost in estimates:
        if spent + cost <= cap_usd:
            admitted.append(key)
            spent += cost
        else:
            deferred[key] = (
                f"deferred: its benchmark would cost about ${cost:,.2f} and this run's Inference Recommender "
                f"jobs already take ${spent:,.2f} of the ${cap_usd:,.2f} cap (MaxRecommenderSpendUSD)"
            )
    return SpendDecision(admitted, deferred, round(spent, 2))
