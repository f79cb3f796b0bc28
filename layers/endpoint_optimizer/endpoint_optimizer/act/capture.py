"""The snapshot taken before a change: the whole way back (config and models whole, tags, scalable
targets with their policies and scheduled actions), and reading and replaying that autoscaling."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.endpoint_state import ActionRefused, is_missing
from endpoint_optimizer.models import ScalableTarget, Variant, WayBack
from endpoint_optimizer.scan.inventory import variant_resource_id

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_sagemaker import SageMakerClient


def described_body(described: Any) -> dict[str, Any]:
    """A Describe response as plain JSON (datetimes as ISO strings), without ResponseMetadata."""
    kept: dict[str, Any] = json.loads(
        json.dumps({k: v for k, v in dict(described).items() if k != "ResponseMetadata"}, default=str)
    )
    return kept


def capture_way_back(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    described: dict[str, Any],
    tags: dict[str, str],
    now: datetime,
) -> WayBack:
    """Config and models whole, tags, scalable targets with their policies and scheduled actions.
    Refuses (nothing touched) when the config or a model is already gone: there would be no way back."""
    name = described["EndpointName"]
    try:
        config = described_body(
            sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        )
        models = [
            described_body(sagemaker.describe_model(ModelName=variant["ModelName"]))
            for variant in config.get("ProductionVariants", [])
            if variant.get("ModelName")
        ]
    except ClientError as error:
        if is_missing(error):
            raise ActionRefused(
                f"{name}: the way back is missing ({error.response['Error']['Message']}); not acting"
            ) from None
        raise
    variants = [
        Variant(name=item["VariantName"], instance_count=int(item.get("CurrentInstanceCount", 0)))
        for item in described.get("ProductionVariants", [])
    ]
    digests = {
        image["SpecifiedImage"]: image["ResolvedImage"]
        for item in described.get("ProductionVariants", [])
        for image in item.get("DeployedImages", [])
        if image.get("SpecifiedImage") and image.get("ResolvedImage")
    }
    targets, policies, scheduled = read_autoscaling(autoscaling, name, [v.name for v in variants])
    return WayBack(
        endpoint_name=name,
        taken_at=now,
        config_name=described["EndpointConfigName"],
        tags=tags,
        scalable_targets=targets,
        variants=variants,
        scaling_policies=policies,
        scheduled_actions=scheduled,
        endpoint_config=config,
        models=models,
        image_digests=digests,
    )


# What PutScalingPolicy / PutScheduledAction take back (botocore 1.43 application-autoscaling model).
POLICY_FIELDS = (
    "PolicyName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "PolicyType",
    "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
)
SCHEDULED_FIELDS = (
    "ScheduledActionName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "Schedule",
    "Timezone",
    "ScalableTargetAction",
)


def _replayable(item: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return described_body({key: item[key] for key in fields if key in item})


def read_autoscaling(
    autoscaling: ApplicationAutoScalingClient, endpoint_name: str, variant_names: list[str]
) -> tuple[list[ScalableTarget], list[dict[str, Any]], list[dict[str, Any]]]:
    resource_ids = [variant_resource_id(endpoint_name, variant) for variant in variant_names]
    targets: list[ScalableTarget] = []
    if resource_ids:
        paginator = autoscaling.get_paginator("describe_scalable_targets")
        for page in paginator.paginate(ServiceNamespace="sagemaker", ResourceIds=resource_ids):
            targets.extend(
                ScalableTarget(
                    resource_id=item["ResourceId"],
                    scalable_dimension=item["ScalableDimension"],
                    min_capacity=item["MinCapacity"],
                    max_capacity=item["MaxCapacity"],
                )
                for item in page["ScalableTargets"]
            )
    policies: list[dict[str, Any]] = []
    scheduled: list[dict[str, Any]] = []
    for resource_id in sorted({target.resource_id for target in targets}):
        for policy_page in autoscaling.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            policies.extend(_replayable(item, POLICY_FIELDS) for item in policy_page["ScalingPolicies"])
        for action_page in autoscaling.get_paginator("describe_scheduled_actions").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            scheduled.extend(_replayable(item, SCHEDULED_FIELDS) for item in action_page["ScheduledActions"])
    return targets, policies, scheduled


def replay_autoscaling(autoscaling: ApplicationAutoScalingClient, way_back: WayBack) -> None:
    """Register every scalable target of the snapshot, then its policies and scheduled actions. Each
    call is an upsert, so replaying after a partial replay (or none) ends in the same state."""
    for target in way_back.scalable_targets:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target.resource_id,
            ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
            MinCapacity=target.min_capacity,
            MaxCapacity=target.max_capacity,
        )
    registered = {target.resource_id for target in way_back.scalable_targets}
    for policy in way_back.scaling_policies:
        if policy["ResourceId"] in registered:
            autoscaling.put_scaling_policy(**policy)
    for action in way_back.scheduled_actions:
        if action["ResourceId"] in registered:
            autoscaling.put_scheduled_action(**action)


def missing_autoscaling(autoscaling: ApplicationAutoScalingClient, way_back: WayBack) -> list[str]:
    """What of the snapshot's autoscaling the endpoint lacks now (empty: all in place)."""
    targets, policies, scheduled = read_autoscaling(
        autoscaling, way_back.endpoint_name, [v.name for v in way_back.variants]
    )
    missing = [
        f"scalable target {target.resource_id} ({target.min_capacity}-{target.max_capacity})"
        for target in way_back.scalable_targets
        if target not in targets
    ]
    have_policies = {(p["ResourceId"], p["PolicyName"]) for p in policies}
    missing += [
        f"scaling policy {p['PolicyName']}"
        for p in way_back.scaling_policies
        if (p["ResourceId"], p["PolicyName"]) not in have_policies
    ]
    have_scheduled = {(a["ResourceId"], a["ScheduledActionName"]) for a in scheduled}
    missing += [
        f"scheduled action {a['ScheduledActionName']}"
        for a in way_back.scheduled_actions
        if (a["ResourceId"], a["ScheduledActionName"]) not in have_scheduled
    ]
    return missing
