"""Whether the way back still exists: each model's artifact in S3 and image in ECR."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.endpoint_state import error_code
from endpoint_optimizer.models import WayBack

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:<tag>|@<digest>] (ECR image URI format,
# "Pushing an image", Amazon ECR user guide, read 2026-12-01).
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")


def way_back_problems(
    sagemaker: SageMakerClient, s3: S3Client, ecr: ECRClient, way_back: WayBack
) -> list[str]:
    """What a restore would need that is gone: each model's artifact in S3 and image in ECR. Checked
    before CreateEndpoint, which would otherwise fail minutes later with a Failed endpoint."""
    del sagemaker  # the models are read from the snapshot: they may be deleted
    problems: list[str] = []
    for model in way_back.models:
        containers = (
            [model["PrimaryContainer"]] if model.get("PrimaryContainer") else model.get("Containers", [])
        )
        for container in containers:
            problems += _artifact_problems(s3, model["ModelName"], container)
            problems += _image_problems(
                ecr, model["ModelName"], container.get("Image"), way_back, model["ModelArn"].split(":")[4]
            )
    return problems


def _artifact_problems(s3: S3Client, model_name: str, container: dict[str, Any]) -> list[str]:
    url = container.get("ModelDataUrl") or container.get("ModelDataSource", {}).get("S3DataSource", {}).get(
        "S3Uri"
    )
    match = S3_URI.match(url or "")
    if match is None:
        return []  # the model ships in its image
    bucket, key = match["bucket"], match["key"]
    try:
        if key.endswith("/"):  # an uncompressed prefix (ModelDataSource S3Prefix)
            if not s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount"):
                return [f"model {model_name}: artifact prefix {url} is empty"]
        else:
            s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error_code(error)
        if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            return [f"model {model_name}: artifact {url} no longer exists"]
        return [f"model {model_name}: artifact {url} could not be checked ({code})"]
    return []


def _image_problems(
    ecr: ECRClient, model_name: str, image: str | None, way_back: WayBack, own_account: str
) -> list[str]:
    match = ECR_IMAGE.match(image or "")
    if image is None or match is None:
        return []  # not an ECR image: nothing this tool can check
    if match["account"] != own_account:
        return []  # another account's image (e.g. an AWS built-in algorithm or DLC): not ours to delete
    resolved = ECR_IMAGE.match(way_back.image_digests.get(image, ""))
    digest = match["digest"] or (resolved["digest"] if resolved else None)
    image_id: dict[str, str] = {"imageDigest": digest} if digest else {"imageTag": match["tag"] or "latest"}
    try:
        found = ecr.describe_images(
            registryId=match["account"],
            repositoryName=match["repository"],
            imageIds=[image_id],  # type: ignore[list-item]
        )
    except ClientError as error:
        code = error_code(error)
        if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return [f"model {model_name}: image {image} no longer exists in ECR ({code})"]
        return [f"model {model_name}: image {image} could not be checked ({code})"]
    if not found.get("imageDetails"):
        return [f"model {model_name}: image {image} no longer exists in ECR"]
    return []
