"""What endpoints exist and how they are configured. AWS access only; clients are passed in.

Call budget per region (page sizes from botocore 1.43.127 service models, read 2026-11-30):
- ListEndpoints: 100 a page.
- Tags for every endpoint: Resource Groups Tagging API GetResources, 100 a page (instead of ListTags
  per endpoint). It returns tagged (or once-tagged) resources only: an endpoint absent from it has no tags.
- Scalable targets and scheduled actions: DescribeScalableTargets / DescribeScheduledActions for the
  whole sagemaker namespace, 50 a page.
- Inference components: ListInferenceComponents, 100 a page; DescribeInferenceComponent per component.
- Per endpoint: DescribeEndpoint; DescribeEndpointConfig once per config (configs are immutable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.models import Endpoint, InferenceComponent, ScalableTarget, ScheduledAction, Variant
from endpoint_optimizer.scan.state import ConfigInfo

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_sagemaker import SageMakerClient

LIST_PAGE_SIZE = 100  # ListEndpoints / ListInferenceComponents MaxResults 1..100 (default 10)
TAG_PAGE_SIZE = 100  # GetResources ResourcesPerPage 1..100
AUTOSCALING_PAGE_SIZE = 50  # DescribeScalableTargets / DescribeScheduledActions MaxResults 1..50

CountCall = Callable[[str], None]


def _no_count(_: str) -> None:
    return None


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _pages(
    client: Any, operation: str, label: str, count: CountCall, page_size: int, **request: Any
) -> Iterator[dict[str, Any]]:
    """botocore's paginator, counting each page (one API call) as `label` for the scan's cost report."""
    for page in client.get_paginator(operation).paginate(**request, PaginationConfig={"PageSize": page_size}):
        count(label)
        yield page


def list_endpoint_summaries(sagemaker: SageMakerClient, count: CountCall = _no_count) -> list[dict[str, Any]]:
    """Every endpoint of the region, all statuses (the analyzer explains why it leaves some alone)."""
    pages = _pages(sagemaker, "list_endpoints", "sagemaker:ListEndpoints", count, LIST_PAGE_SIZE)
    return [dict(item) for page in pages for item in page["Endpoints"]]


def tags_by_arn(
    tagging: ResourceGroupsTaggingAPIClient, count: CountCall = _no_count
) -> dict[str, dict[str, str]]:
    """Tags of every SageMaker endpoint in the region, keyed by lower-cased ARN."""
    pages = _pages(
        tagging,
        "get_resources",
        "tagging:GetResources",
        count,
        TAG_PAGE_SIZE,
        ResourceTypeFilters=["sagemaker:endpoint"],
    )
    return {
        item["ResourceARN"].lower(): {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
        for page in pages
        for item in page.get("ResourceTagMappingList", [])
    }


def variant_resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def scalable_targets_by_resource(
    autoscaling: ApplicationAutoScalingClient, count: CountCall = _no_count
) -> dict[str, list[ScalableTarget]]:
    targets: dict[str, list[ScalableTarget]] = {}
    pages = _pages(
        autoscaling,
        "describe_scalable_targets",
        "application-autoscaling:DescribeScalableTargets",
        count,
        AUTOSCALING_PAGE_SIZE,
        ServiceNamespace="sagemaker",
    )
    for page in pages:
        for item in page["ScalableTargets"]:
            target = ScalableTarget(
                resource_id=item["ResourceId"],
                scalable_dimension=item["ScalableDimension"],
                min_capacity=item["MinCapacity"],
                max_capacity=item["MaxCapacity"],
            )
            targets.setdefault(target.resource_id, []).append(target)
    return targets


def scheduled_actions_by_resource(
    autoscaling: ApplicationAutoScalingClient, count: CountCall = _no_count
) -> dict[str, list[ScheduledAction]]:
    actions: dict[str, list[ScheduledAction]] = {}
    pages = _pages(
        autoscaling,
        "describe_scheduled_actions",
        "application-autoscaling:DescribeScheduledActions",
        count,
        AUTOSCALING_PAGE_SIZE,
        ServiceNamespace="sagemaker",
    )
    for page in pages:
        for item in page["ScheduledActions"]:
            action = item.get("ScalableTargetAction", {})
            scheduled = ScheduledAction(
                resource_id=item["ResourceId"],
                name=item["ScheduledActionName"],
                schedule=item["Schedule"],
                scalable_dimension=item.get("ScalableDimension", ""),
                min_capacity=action.get("MinCapacity"),
                max_capacity=action.get("MaxCapacity"),
            )
            actions.setdefault(scheduled.resource_id, []).append(scheduled)
    return actions


def list_inference_components(
    sagemaker: SageMakerClient, count: CountCall = _no_count
) -> list[dict[str, Any]]:
    pages = _pages(
        sagemaker, "list_inference_components", "sagemaker:ListInferenceComponents", count, LIST_PAGE_SIZE
    )
    return [dict(item) for page in pages for item in page["InferenceComponents"]]


def describe_inference_component(
    sagemaker: SageMakerClient, name: str, count: CountCall = _no_count
) -> InferenceComponent:
    count("sagemaker:DescribeInferenceComponent")
    described: dict[str, Any] = dict(sagemaker.describe_inference_component(InferenceComponentName=name))
    spec = described.get("Specification") or {}
    container = spec.get("Container") or {}
    compute = spec.get("ComputeResourceRequirements") or {}
    runtime = described.get("RuntimeConfig") or {}
    image = (container.get("DeployedImage") or {}).get("SpecifiedImage") or container.get("Image")
    return InferenceComponent(
        name=described["InferenceComponentName"],
        variant_name=described.get("VariantName"),
        status=described.get("InferenceComponentStatus", "Unknown"),
        created_at=aware(described["CreationTime"]),
        last_modified_at=aware(described["LastModifiedTime"]),
        model_name=spec.get("ModelName"),
        image=image,
        current_copies=runtime.get("CurrentCopyCount"),
        desired_copies=runtime.get("DesiredCopyCount"),
        cpu_cores=compute.get("NumberOfCpuCoresRequired"),
        min_memory_mb=compute.get("MinMemoryRequiredInMb"),
        accelerators=compute.get("NumberOfAcceleratorDevicesRequired"),
    )


def _config_variant(item: dict[str, Any]) -> Variant:
    serverless = item.get("ServerlessConfig") or {}
    managed = item.get("ManagedInstanceScaling") or {}
    return Variant(
        name=item["VariantName"],
        instance_type=item.get("InstanceType"),
        instance_count=int(item.get("InitialInstanceCount") or 0),
        serverless_memory_mb=serverless.get("MemorySizeInMB"),
        serverless_max_concurrency=serverless.get("MaxConcurrency"),
        serverless_provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
        model_name=item.get("ModelName"),
        managed_min_instances=managed.get("MinInstanceCount"),
        managed_max_instances=managed.get("MaxInstanceCount"),
    )


def describe_config(sagemaker: SageMakerClient, name: str, count: CountCall = _no_count) -> ConfigInfo:
    count("sagemaker:DescribeEndpointConfig")
    config: dict[str, Any] = dict(sagemaker.describe_endpoint_config(EndpointConfigName=name))
    return ConfigInfo(
        name=name,
        variants={
            item["VariantName"]: _config_variant(item) for item in config.get("ProductionVariants", [])
        },
        shadow_variants={
            item["VariantName"]: _config_variant(item)
            for item in config.get("ShadowProductionVariants") or []
        },
        data_capture=bool((config.get("DataCaptureConfig") or {}).get("EnableCapture", False)),
        async_inference=bool(config.get("AsyncInferenceConfig")),
        vpc=bool(config.get("VpcConfig")),
        network_isolation=bool(config.get("EnableNetworkIsolation", False)),
    )


def _live_variant(live: dict[str, Any], declared: Variant | None) -> Variant:
    base = declared or Variant(name=live["VariantName"])
    serverless = live.get("CurrentServerlessConfig") or {}
    managed = live.get("ManagedInstanceScaling") or {}
    images = live.get("DeployedImages") or []
    updates: dict[str, Any] = {}
    if "CurrentInstanceCount" in live:
        updates["instance_count"] = int(live["CurrentInstanceCount"])
    if serverless:
        updates["serverless_memory_mb"] = serverless.get("MemorySizeInMB")
        updates["serverless_max_concurrency"] = serverless.get("MaxConcurrency")
        updates["serverless_provisioned_concurrency"] = serverless.get("ProvisionedConcurrency")
    if managed:
        updates["managed_min_instances"] = managed.get("MinInstanceCount")
        updates["managed_max_instances"] = managed.get("MaxInstanceCount")
    if images:
        updates["image"] = images[0].get("SpecifiedImage") or images[0].get("ResolvedImage")
    return base.model_copy(update=updates)


def describe_endpoint(
    sagemaker: SageMakerClient,
    name: str,
    *,
    account_id: str,
    region: str,
    config_for: Callable[[str], ConfigInfo],
    count: CountCall = _no_count,
) -> Endpoint:
    """DescribeEndpoint, joined with its (cached) config. Tags, autoscaling and components come later."""
    count("sagemaker:DescribeEndpoint")
    described: dict[str, Any] = dict(sagemaker.describe_endpoint(EndpointName=name))
    config = config_for(described["EndpointConfigName"])
    variants = [
        _live_variant(live, config.variants.get(live["VariantName"]))
        for live in described.get("ProductionVariants", [])
    ]
    shadows = [
        _live_variant(live, config.shadow_variants.get(live["VariantName"]))
        for live in described.get("ShadowProductionVariants") or []
    ]
    capture = described.get("DataCaptureConfig") or {}
    return Endpoint(
        name=name,
        arn=described["EndpointArn"],
        account_id=account_id,
        region=region,
        status=described["EndpointStatus"],
        created_at=aware(described["CreationTime"]),
        last_modified_at=aware(described["LastModifiedTime"]),
        config_name=described["EndpointConfigName"],
        variants=variants,
        shadow_variants=shadows,
        async_inference=config.async_inference or bool(described.get("AsyncInferenceConfig")),
        data_capture=config.data_capture or bool(capture.get("EnableCapture", False)),
        vpc=config.vpc,
        network_isolation=config.network_isolation,
    )
