"""What every change reads back from SageMaker, and the two ways a change stops: refused (nothing was
touched) or a restore that cannot go on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


class ActionRefused(RuntimeError):
    """The endpoint is not what the scan saw, or the action is not this function's to take; nothing
    was touched."""


class RestoreFailed(RuntimeError):
    pass


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_missing(error: ClientError) -> bool:
    """SageMaker says "Could not find endpoint/model/endpoint configuration" as a ValidationException."""
    message = error.response.get("Error", {}).get("Message", "")
    return error_code(error) == "ValidationException" and "Could not find" in message


def endpoint_status(sagemaker: SageMakerClient, name: str) -> str | None:
    """The endpoint's status, None when it does not exist; any other error propagates (unknown)."""
    try:
        return sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
    except ClientError as error:
        if is_missing(error):
            return None
        raise


def gone_or_deleting(sagemaker: SageMakerClient, name: str) -> bool:
    return endpoint_status(sagemaker, name) in (None, "Deleting")
