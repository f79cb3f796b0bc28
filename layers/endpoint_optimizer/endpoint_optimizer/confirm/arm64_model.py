"""The Graviton benchmark's throwaway model (decide.confirm.arm64_model): made, or reused, before its
job starts; deleted once no job needs it any more.

Facts (SageMaker API reference and botocore 1.43 SageMaker model, read 2026-12-01):
- DescribeModel and DeleteModel of a model that does not exist fail with ValidationException "Could not
  find model ..."; CreateModel of a name in use fails with ValidationException "Cannot create already
  existing model ...". Models are immutable: a name, once made, always holds the same definition.
- An endpoint, once created from a model, no longer needs it: deleting the model does not stop the
  benchmark endpoints of a job that is stopping.

AWS access: the SageMaker client passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from endpoint_optimizer.confirm.jobs import LIST_PAGE_SIZE, error_code_and_message
from endpoint_optimizer.decide.confirm.arm64_model import (
    arm64_model_name,
    arm64_model_request,
    is_arm64_model,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

# A job in one of these still needs its model (IR creates its endpoints as it goes).
USING_THE_MODEL = frozenset({"PENDING", "IN_PROGRESS"})


@dataclass(frozen=True)
class Arm64Model:
    """The benchmark model: `created` now, or found from an earlier run (and reused)."""

    name: str
    created: bool


@dataclass(frozen=True)
class Arm64ModelRefused:
    """Why the benchmark model could not be made (the move stays unconfirmed with this reason)."""

    reason: str


def _not_found(error: ClientError) -> bool:
    code, message = error_code_and_message(error)
    return code == "ValidationException" and "could not find" in message.lower()


def _exists(sagemaker: SageMakerClient, model_name: str) -> bool:
    try:
        sagemaker.describe_model(ModelName=model_name)
    except ClientError as error:
        if _not_found(error):
            return False
        raise
    return True


def ensure_arm64_model(
    sagemaker: SageMakerClient, source_model: str, arm64_image: str, *, role_arn: str
) -> Arm64Model | Arm64ModelRefused:
    """The benchmark model of `source_model` on `arm64_image`, run by `role_arn` (the recommender role):
    reused when it exists, else created from DescribeModel of the source. AWS refusing it (an image the
    region does not have, the account's model quota) is a reason; any other error is raised."""
    name = arm64_model_name(source_model, arm64_image)
    if _exists(sagemaker, name):
        return Arm64Model(name, created=False)
    source = sagemaker.describe_model(ModelName=source_model)
    request = arm64_model_request(source, arm64_image=arm64_image, role_arn=role_arn)
    if isinstance(request, str):
        return Arm64ModelRefused(request)
    try:
        sagemaker.create_model(**request)
    except ClientError as error:
        code, message = error_code_and_message(error)
        if code == "ValidationException" and "already exist" in message.lower():
            return Arm64Model(name, created=False)  # another run made it a moment ago
        if code in {"ValidationException", "ResourceLimitExceeded"}:
            return Arm64ModelRefused(
                f"the Graviton benchmark model {name} ({source_model} on {arm64_image}) was not created: "
                f"{code}: {message}"
            )
        raise
    return Arm64Model(name, created=True)


def _used_by_another_job(sagemaker: SageMakerClient, model_name: str, finished_job: str | None) -> bool:
    pages = sagemaker.get_paginator("list_inference_recommendations_jobs").paginate(
        ModelNameEquals=model_name, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
    )
    return any(
        job.get("Status") in USING_THE_MODEL and job.get("JobName") != finished_job
        for page in pages
        for job in page.get("InferenceRecommendationsJobs", [])
    )


def release_arm64_model(
    sagemaker: SageMakerClient, model_name: str | None, *, finished_job: str | None = None
) -> bool:
    """Delete the benchmark model once `finished_job` (None: a job that never started) has ended, unless
    another job still running benchmarks it (that job's finish deletes it). Idempotent: a model already
    gone is not an error. Never touches a model not named by decide.confirm.arm64_model. True when
    deleted now."""
    if not is_arm64_model(model_name) or model_name is None:
        return False
    if _used_by_another_job(sagemaker, model_name, finished_job):
        return False
    try:
        sagemaker.delete_model(ModelName=model_name)
    except ClientError as error:
        if _not_found(error):
            return False
        raise
    return True
