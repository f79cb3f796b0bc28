"""What endpoints exist: ListEndpoints, DescribeEndpoint(+Config), tags and scalable targets.

AWS access only; no decisions here. Clients are passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.models import Endpoint, ScalableTarget, Variant

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_sagemaker import SageMakerClient

# ListEndpoints MaxResults is 1..100 and defaults to 10 (botocore 1.43.127 sagemaker service-2.json).
LIST_PAGE_SIZE = 100


def list_endpoint_summaries(sagemaker: SageMakerClient) -> list[dict[str, Any]]:
    """Every endpoint of the region, all statuses (the analyzer explains why it leaves some alone)."""
    summaries: list[dict[str, Any]] = []
    paginator = sagemaker.get_paginator("list_endpoints")
    for page in paginator.paginate(PaginationConfig={"PageSize": LIST_PAGE_SIZE}):
        summaries.extend(dict(item) for item in page["Endpoints"])
    return summaries


def scalable_targets_by_resource(
    autoscaling: ApplicationAutoScalingClient,
) -> dict[str, list[ScalableTarget]]:
    """All SageMaker scalable targets of the region in a few paged calls, keyed by resource id."""
    targets: dict[str, list[ScalableTarget]] = {}
    paginator = autoscaling.get_paginator("describe_scalable_targets")
    for page in paginator.paginate(ServiceNamespace="sagemaker"):
        for item in page["ScalableTargets"]:
            target = ScalableTarget(
                resource_id=item["ResourceId"],
                scalable_dimension=item["ScalableDimension"],
                min_capacity=item["MinCapacity"],
                max_capacity=item["MaxCapacity"],
            )
            targets.setdefault(target.resource_id, []).append(target)
    return targets


def variant_resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def describe_endpoint(
    sagemaker: SageMakerClient,
    summary: dict[str, Any],
    *,
    account_id: str,
    region: str,
    scalable_targets: dict[str, list[ScalableTarget]],
) -> Endpoint:
    name = summary["EndpointName"]
    described = sagemaker.describe_endpoint(EndpointName=name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    configured = {item["VariantName"]: item for item in config["ProductionVariants"]}
    variants = []
    for live in described.get("ProductionVariants", []):
        declared: dict[str, Any] = dict(configured.get(live["VariantName"], {}))
        serverless = live.get("CurrentServerlessConfig") or declared.get("ServerlessConfig")
        variants.append(
            Variant(
                name=live["VariantName"],
                instance_type=declared.get("InstanceType"),
                instance_count=int(live.get("CurrentInstanceCount", declared.get("InitialInstanceCount", 0))),
                serverless_memory_mb=int(serverless["MemorySizeInMB"]) if serverless else None,
                model_name=declared.get("ModelName"),
            )
        )
    tags = {
        tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    }
    targets = [
        target
        for variant in variants
        for target in scalable_targets.get(variant_resource_id(name, variant.name), [])
    ]
    return Endpoint(
        name=name,
        arn=described["EndpointArn"],
        account_id=account_id,
        region=region,
        status=described["EndpointStatus"],
        created_at=_aware(described["CreationTime"]),
        last_modified_at=_aware(described["LastModifiedTime"]),
        config_name=described["EndpointConfigName"],
        tags=tags,
        variants=variants,
        scalable_targets=targets,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
