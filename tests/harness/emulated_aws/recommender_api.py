"""The emulated Inference Recommender's API: moto SageMakerResponse handlers (recommender.py holds the
jobs, the clock and the settings; moto_patches installs these with `install`).

Create refuses, as AWS does (botocore model and SageMaker API reference, read 2026-12):
- anything the botocore input shape forbids (required, types, enums, lengths, ranges, patterns), with
  AWS's "N validation errors detected: ..." ValidationException;
- the documented rules the model cannot express: ModelName or ModelPackageVersionArn, one of them;
  with ModelName a ContainerConfig with Domain and Framework (IR troubleshooting page); Domain, Task,
  Framework from their documented value lists; ModelLatencyThresholds Percentile P95 | P99;
  JobDurationInSeconds <= 18,000; Phase InitialNumberOfUsers 1-3 and DurationInSeconds 120-3600, not
  above JobDurationInSeconds; PHASES needs Phases, STAIRS needs Stairs;
- the model must exist (moto's SageMaker), the sample payload must be one `.tar.gz` object in moto's S3;
- a JobName already used in the account and region: ResourceInUse; more than `max_running_jobs` jobs
  running at once: ResourceLimitExceeded.
Emulator's own rules (not verified against AWS): an Advanced job needs EndpointConfigurations; each
configuration names exactly one of InstanceType / ServerlessConfig; a ModelName job needs a sample
payload; InputConfig.Endpoints (benchmarking a live endpoint) and ModelPackageVersionArn are not emulated.
Stop of an ended job: ValidationException. Unknown job: ResourceNotFound.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from emulated_aws.botocore_validation import validate_request, validation_message
from emulated_aws.recommender import (
    TERMINAL,
    RecommendationJob,
    emulator,
    job_store,
    now,
    planned_benchmarks,
)

__all__ = ["OPERATIONS", "install"]

DOMAINS = ("COMPUTER_VISION", "NATURAL_LANGUAGE_PROCESSING", "MACHINE_LEARNING")
# ContainerConfig.Task values (RecommendationJobContainerConfig, SageMaker API reference).
TASKS: tuple[str, ...] = ("IMAGE_CLASSIFICATION", "OBJECT_DETECTION", "TEXT_GENERATION", "IMAGE_SEGMENTATION")
TASKS += ("FILL_MASK", "CLASSIFICATION", "REGRESSION", "OTHER")
FRAMEWORKS = ("TENSORFLOW", "PYTORCH", "XGBOOST", "SAGEMAKER-SCIKIT-LEARN")
PERCENTILES = ("P95", "P99")
MAX_JOB_DURATION_S = 18_000
PHASE_USERS = (1, 3)
PHASE_DURATION_S = (120, 3600)
DEFAULT_PAGE_SIZE = 10


@cache
def _errors() -> tuple[Any, Any, Any, Any]:
    """moto's ValidationException, ResourceInUse, ResourceNotFound, and a ResourceLimitExceeded."""
    from moto.sagemaker.exceptions import (
        ResourceInUseException,
        ResourceNotFound,
        SagemakerClientError,
        ValidationError,
    )

    class ResourceLimitExceeded(SagemakerClientError):
        code = "ResourceLimitExceeded"

    return ValidationError, ResourceInUseException, ResourceNotFound, ResourceLimitExceeded


def _strictly_valid(response: Any, operation: str) -> dict[str, Any]:
    validation_error = _errors()[0]
    params: dict[str, Any] = dict(response.params or {})
    problems = validate_request(_service_model(), operation, params)
    if problems:
        raise validation_error(message=validation_message(problems))
    return params


def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _documented_rule_breaks(request: dict[str, Any]) -> list[str]:
    config = request["InputConfig"]
    problems: list[str] = []
    if bool(config.get("ModelName")) == bool(config.get("ModelPackageVersionArn")):
        problems.append(
            "Provide exactly one of InputConfig.ModelName and InputConfig.ModelPackageVersionArn."
        )
    if config.get("ModelPackageVersionArn"):
        problems.append("The emulator does not emulate ModelPackageVersionArn jobs (use ModelName).")
    if config.get("Endpoints"):
        problems.append("The emulator does not emulate InputConfig.Endpoints (benchmarks of live endpoints).")
    container = config.get("ContainerConfig") or {}
    if config.get("ModelName") and not (container.get("Domain") and container.get("Framework")):
        problems.append("ContainerConfig.Domain and ContainerConfig.Framework are required with a ModelName.")
    for member, allowed in (("Domain", DOMAINS), ("Task", TASKS), ("Framework", FRAMEWORKS)):
        if container.get(member) is not None and container[member] not in allowed:
            problems.append(f"ContainerConfig.{member} must be one of {', '.join(allowed)}.")
    payload_url = (container.get("PayloadConfig") or {}).get("SamplePayloadUrl")
    if config.get("ModelName") and not payload_url:
        problems.append("ContainerConfig.PayloadConfig.SamplePayloadUrl is required with a ModelName.")
    duration = config.get("JobDurationInSeconds")
    if duration is not None and duration > MAX_JOB_DURATION_S:
        problems.append(f"JobDurationInSeconds must be at most {MAX_JOB_DURATION_S}.")
    traffic = config.get("TrafficPattern") or {}
    if traffic.get("TrafficType", "PHASES") == "PHASES" and traffic and not traffic.get("Phases"):
        problems.append("TrafficPattern of type PHASES needs Phases.")
    if traffic.get("TrafficType") == "STAIRS" and not traffic.get("Stairs"):
        problems.append("TrafficPattern of type STAIRS needs Stairs.")
    for number, phase in enumerate(traffic.get("Phases") or [], start=1):
        users, seconds = phase.get("InitialNumberOfUsers"), phase.get("DurationInSeconds")
        if users is not None and not PHASE_USERS[0] <= users <= PHASE_USERS[1]:
            problems.append(f"Phase {number}: InitialNumberOfUsers must be between 1 and 3.")
        if seconds is not None and not PHASE_DURATION_S[0] <= seconds <= PHASE_DURATION_S[1]:
            problems.append(f"Phase {number}: DurationInSeconds must be between 120 and 3600.")
        if seconds is not None and duration is not None and seconds > duration:
            problems.append(f"Phase {number}: DurationInSeconds must not exceed JobDurationInSeconds.")
    stopping = request.get("StoppingConditions") or {}
    for threshold in stopping.get("ModelLatencyThresholds") or []:
        if threshold.get("Percentile") not in PERCENTILES:
            problems.append("ModelLatencyThresholds Percentile must be P95 or P99.")
    configurations = config.get("EndpointConfigurations") or []
    if request["JobType"] == "Advanced" and not configurations:
        problems.append("An Advanced job needs InputConfig.EndpointConfigurations.")
    for number, configuration in enumerate(configurations, start=1):
        if bool(configuration.get("InstanceType")) == bool(configuration.get("ServerlessConfig")):
            problems.append(f"EndpointConfigurations {number}: give InstanceType or ServerlessConfig, one.")
    return problems


def _check_resources(backend: Any, request: dict[str, Any]) -> None:
    from moto.s3.models import s3_backends
    from moto.sagemaker.exceptions import MissingModel, ValidationError

    model_name = request["InputConfig"]["ModelName"]
    if model_name not in backend._models:
        raise MissingModel(model=model_name)
    url = request["InputConfig"]["ContainerConfig"]["PayloadConfig"]["SamplePayloadUrl"]
    bucket_name, _, key = url.removeprefix("s3://").partition("/")
    bucket = s3_backends[backend.account_id]["aws"].buckets.get(bucket_name)
    if not url.startswith("s3://") or not key.endswith(".tar.gz") or bucket is None or key not in bucket.keys:
        raise ValidationError(
            message=f"The sample payload {url} is not a .tar.gz object the role can read in Amazon S3."
        )


def create_inference_recommendations_job(self: Any) -> Any:
    from moto.core.responses import ActionResult

    validation_error, in_use, _, limit_exceeded = _errors()
    request = _strictly_valid(self, "CreateInferenceRecommendationsJob")
    problems = _documented_rule_breaks(request)
    if problems:
        raise validation_error(message=validation_message(problems))
    backend = self.sagemaker_backend
    settings = emulator()
    with settings.lock:
        store = job_store(backend)
        name = request["JobName"]
        if name in store:
            raise in_use(message=f"Job name {name} already exists in this account and region.")
        _check_resources(backend, request)
        for job in store.values():
            settings.settle(job)
        running = sum(job.running for job in store.values())
        if running >= settings.max_running_jobs:
            raise limit_exceeded(
                f"The account-level service limit 'Number of concurrent Inference Recommender jobs' is "
                f"{settings.max_running_jobs} Jobs, with current utilization of {running} Jobs."
            )
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-recommendations-job/{name.lower()}"
        created = now()
        store[name] = RecommendationJob(
            name=name,
            arn=arn,
            region=backend.region_name,
            request=request,
            created=created,
            last_modified=created,
            sequence=len(store),
            benchmarks=list(planned_benchmarks(request, settings.default_instance_types)),
        )
    return ActionResult({"JobArn": arn})


def _job(response: Any, name: str) -> RecommendationJob:
    _, _, not_found, _ = _errors()
    job = job_store(response.sagemaker_backend).get(name)
    if job is None:
        raise not_found(message=f"Could not find inference recommendations job '{name}'.")
    return job


def _recommendations(job: RecommendationJob) -> list[dict[str, Any]]:
    return [
        {
            "RecommendationId": f"{job.name}/{benchmark.index:08x}",
            "Metrics": benchmark.metrics,
            "EndpointConfiguration": benchmark.endpoint_configuration,
            "ModelConfiguration": {},
            "InvocationStartTime": benchmark.started,
            "InvocationEndTime": benchmark.ended,
        }
        for benchmark in job.benchmarks
        if benchmark.status == "COMPLETED" and benchmark.metrics is not None
    ]


def _summary(job: RecommendationJob) -> dict[str, Any]:
    request = job.request
    summary: dict[str, Any] = {
        "JobName": job.name,
        "JobDescription": request.get("JobDescription", ""),
        "JobType": request["JobType"],
        "JobArn": job.arn,
        "RoleArn": request["RoleArn"],
        "Status": job.status,
        "CreationTime": job.created,
        "LastModifiedTime": job.last_modified or job.created,
        "ModelName": job.model_name,
    }
    payload = ((request["InputConfig"].get("ContainerConfig") or {}).get("PayloadConfig") or {}).get(
        "SamplePayloadUrl"
    )
    optional = {
        "CompletionTime": job.completed,
        "FailureReason": job.failure_reason,
        "SamplePayloadUrl": payload,
    }
    summary.update({key: value for key, value in optional.items() if value is not None})
    return summary


def describe_inference_recommendations_job(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _strictly_valid(self, "DescribeInferenceRecommendationsJob")
    settings = emulator()
    with settings.lock:
        job = _job(self, params["JobName"])
        settings.settle(job)
        job.describes += 1
        described = _summary(job)
        for key in ("ModelName", "SamplePayloadUrl"):
            described.pop(key, None)
        if not job.request.get("JobDescription"):
            described.pop("JobDescription")
        described["InputConfig"] = job.request["InputConfig"]
        if job.request.get("StoppingConditions"):
            described["StoppingConditions"] = job.request["StoppingConditions"]
        if job.status == "COMPLETED":
            described["InferenceRecommendations"] = _recommendations(job)
        settings.tick(job)  # the call took one tick of emulated time
    return ActionResult(described)


def stop_inference_recommendations_job(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    validation_error, _, _, _ = _errors()
    params = _strictly_valid(self, "StopInferenceRecommendationsJob")
    settings = emulator()
    with settings.lock:
        job = _job(self, params["JobName"])
        settings.settle(job)
        if job.status in TERMINAL:
            raise validation_error(message=f"The job {job.name} is {job.status} and cannot be stopped.")
        if job.stopped_at_age is None:
            job.stopped_at_age = job.age
            job.status, job.last_modified = "STOPPING", now()
    return EmptyResult()


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    validation_error, _, _, _ = _errors()
    token = params.get("NextToken")
    try:
        start = int(base64.b64decode(token).decode()) if token else 0
    except ValueError:
        raise validation_error(message="Invalid pagination token.") from None
    size = params.get("MaxResults") or DEFAULT_PAGE_SIZE
    end = start + size
    next_token = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], next_token


def _aware(moment: Any) -> datetime:
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    parsed: datetime = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _time_filter(attribute: str, bound: datetime, after: bool) -> Callable[[RecommendationJob], bool]:
    def test(job: RecommendationJob) -> bool:
        moment = _aware(getattr(job, attribute))
        return moment > bound if after else moment < bound

    return test


def list_inference_recommendations_jobs(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _strictly_valid(self, "ListInferenceRecommendationsJobs")
    settings = emulator()
    with settings.lock:
        jobs = list(job_store(self.sagemaker_backend).values())
        for job in jobs:
            settings.settle(job)
        tests: list[Callable[[RecommendationJob], bool]] = []
        if params.get("NameContains"):
            tests.append(lambda job: params["NameContains"] in job.name)
        if params.get("StatusEquals"):
            tests.append(lambda job: job.status == params["StatusEquals"])
        if params.get("ModelNameEquals"):
            tests.append(lambda job: job.model_name == params["ModelNameEquals"])
        for key, attribute, after in (
            ("CreationTimeAfter", "created", True),
            ("CreationTimeBefore", "created", False),
            ("LastModifiedTimeAfter", "last_modified", True),
            ("LastModifiedTimeBefore", "last_modified", False),
        ):
            if params.get(key) is not None:
                tests.append(_time_filter(attribute, _aware(params[key]), after))
        if params.get("ModelPackageVersionArnEquals"):
            tests.append(lambda job: False)  # the emulator runs ModelName jobs only
        selected = [job for job in jobs if all(test(job) for test in tests)]
        sort_by = params.get("SortBy", "CreationTime")
        sort_key: Callable[[RecommendationJob], Any] = {
            "Name": lambda job: (job.name,),
            "Status": lambda job: (job.status, job.sequence),
            "CreationTime": lambda job: (job.created, job.sequence),
        }[sort_by]
        selected.sort(key=sort_key, reverse=params.get("SortOrder", "Descending") == "Descending")
        page, next_token = _page(selected, params)
        result: dict[str, Any] = {"InferenceRecommendationsJobs": [_summary(job) for job in page]}
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


def list_inference_recommendations_job_steps(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _strictly_valid(self, "ListInferenceRecommendationsJobSteps")
    settings = emulator()
    with settings.lock:
        job = _job(self, params["JobName"])
        settings.settle(job)
        steps: list[dict[str, Any]] = []
        for benchmark in job.benchmarks:
            inference: dict[str, Any] = {
                "EndpointConfiguration": benchmark.endpoint_configuration,
                "ModelConfiguration": {},
            }
            optional = {
                "Metrics": benchmark.metrics,
                "FailureReason": benchmark.failure_reason,
                "InvocationStartTime": benchmark.started,
                "InvocationEndTime": benchmark.ended,
            }
            inference.update({key: value for key, value in optional.items() if value is not None})
            step = {"StepType": "BENCHMARK", "JobName": job.name, "Status": benchmark.status}
            steps.append({**step, "InferenceBenchmark": inference})
        if params.get("Status"):
            steps = [step for step in steps if step["Status"] == params["Status"]]
        page, next_token = _page(steps, params)
    result: dict[str, Any] = {"Steps": page}
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "create_inference_recommendations_job": create_inference_recommendations_job,
    "describe_inference_recommendations_job": describe_inference_recommendations_job,
    "stop_inference_recommendations_job": stop_inference_recommendations_job,
    "list_inference_recommendations_jobs": list_inference_recommendations_jobs,
    "list_inference_recommendations_job_steps": list_inference_recommendations_job_steps,
}


def install(replace: Callable[[Any, str, Any], None]) -> None:
    """Add the operations to moto's SageMakerResponse through moto_patches' `_replace` (undone by
    remove_patches)."""
    from moto.sagemaker.responses import SageMakerResponse

    for name, handler in OPERATIONS.items():
        replace(SageMakerResponse, name, handler)
