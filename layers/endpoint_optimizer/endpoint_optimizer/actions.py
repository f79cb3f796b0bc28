"""Changes to endpoints, each with a snapshot first and a way back.

`park`: snapshot (config, tags, scalable targets) -> deregister scalable targets -> DeleteEndpoint,
keeping the endpoint config and the model. `restore`: CreateEndpoint with the same name and config,
then re-register the scalable targets. A failure half-way leaves the endpoint serving (targets are
re-registered) or parked with a snapshot that restores it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.inventory import variant_resource_id
from endpoint_optimizer.ledger import ApprovalNotFound, StateTable
from endpoint_optimizer.models import (
    Action,
    ActionResult,
    ApprovalState,
    LedgerEntry,
    ProposedAction,
    ScalableTarget,
    Snapshot,
    Variant,
)

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_sagemaker import SageMakerClient


class ActionRefused(RuntimeError):
    """The endpoint changed since the scan in a way that makes the action unsafe; nothing was touched."""


class RestoreFailed(RuntimeError):
    pass


def _is_missing(error: ClientError) -> bool:
    message = error.response.get("Error", {}).get("Message", "")
    return (
        error.response.get("Error", {}).get("Code") == "ValidationException" and "Could not find" in message
    )


def take_snapshot(
    sagemaker: SageMakerClient, autoscaling: ApplicationAutoScalingClient, endpoint_name: str, now: datetime
) -> tuple[Snapshot, dict[str, Any]]:
    described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]}
    variants = [
        Variant(name=item["VariantName"], instance_count=int(item.get("CurrentInstanceCount", 0)))
        for item in described.get("ProductionVariants", [])
    ]
    resource_ids = [variant_resource_id(endpoint_name, variant.name) for variant in variants]
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
    snapshot = Snapshot(
        endpoint_name=endpoint_name,
        taken_at=now,
        config_name=described["EndpointConfigName"],
        tags=tags,
        scalable_targets=targets,
        variants=variants,
        scaling_policies=policies,
        scheduled_actions=scheduled,
    )
    return snapshot, dict(described)


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
    kept: dict[str, Any] = json.loads(
        json.dumps({key: item[key] for key in fields if key in item}, default=str)
    )
    return kept


def _register(
    autoscaling: ApplicationAutoScalingClient,
    targets: list[ScalableTarget],
    policies: list[dict[str, Any]] = (),  # type: ignore[assignment]
    scheduled: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Re-register scalable targets, then replay their policies and scheduled actions."""
    for target in targets:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target.resource_id,
            ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
            MinCapacity=target.min_capacity,
            MaxCapacity=target.max_capacity,
        )
    registered = {target.resource_id for target in targets}
    for policy in policies:
        if policy["ResourceId"] in registered:
            autoscaling.put_scaling_policy(**policy)
    for action in scheduled:
        if action["ResourceId"] in registered:
            autoscaling.put_scheduled_action(**action)


def park(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    action: ProposedAction,
    *,
    skip_tag_key: str,
    approved_by: str | None,
    now: datetime,
) -> ActionResult:
    finding = action.finding
    name = finding.endpoint_name
    try:
        snapshot, described = take_snapshot(sagemaker, autoscaling, name, now)
    except ClientError as error:
        if _is_missing(error) and table.latest_snapshot(name) is not None:
            # A retry after the delete already went through: the endpoint is parked, nothing to do.
            return ActionResult(
                endpoint_name=name,
                action=Action.PARK,
                outcome="applied",
                estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
                detail="already parked",
            )
        raise
    # Re-check what the scan saw: approvals can arrive days later, and a person may have opted out,
    # changed, recreated or started using the endpoint since.
    if snapshot.tags.get(skip_tag_key, "").strip().lower() == "true":
        raise ActionRefused(f"{name} is tagged {skip_tag_key}=true now; left alone")
    if described["EndpointStatus"] != "InService":
        raise ActionRefused(f"{name} is {described['EndpointStatus']} now, not InService; left alone")
    scanned_change = finding.evidence.get("last_modified_at")
    if isinstance(scanned_change, str) and _aware(described["LastModifiedTime"]) != datetime.fromisoformat(
        scanned_change
    ):
        raise ActionRefused(
            f"{name} changed since the scan (LastModifiedTime {described['LastModifiedTime']}); left alone"
        )
    if described.get("AsyncInferenceConfig"):
        raise ActionRefused(f"{name} is an async endpoint; parking is not its fix")
    if sagemaker.list_inference_components(EndpointNameEquals=name, MaxResults=1)["InferenceComponents"]:
        raise ActionRefused(f"{name} hosts inference components; parking would delete them")
    _check_way_back(sagemaker, snapshot.config_name)  # restore needs the config and its models

    table.put_snapshot(snapshot)  # the way back is stored before anything changes
    deregistered: list[ScalableTarget] = []
    try:
        for target in snapshot.scalable_targets:
            autoscaling.deregister_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=target.resource_id,
                ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
            )
            deregistered.append(target)
        sagemaker.delete_endpoint(EndpointName=name)
    except Exception:
        if not _gone_or_deleting(sagemaker, name):
            # roll back: the endpoint keeps serving as before, with its autoscaling
            _register(autoscaling, deregistered, snapshot.scaling_policies, snapshot.scheduled_actions)
            raise
        # The delete went through although the call reported an error (e.g. a timeout): parked.

    table.put_ledger_entry(  # recorded as soon as the endpoint is gone: nothing is ever lost
        LedgerEntry(
            endpoint_name=name,
            recorded_at=now,
            action=Action.PARK,
            outcome="applied",
            approved_by=approved_by,
            monthly_cost_before_usd=finding.current_monthly_cost_usd,
            monthly_cost_after_usd=0.0 if finding.current_monthly_cost_usd is not None else None,
            detail=f"deleted endpoint; kept config {snapshot.config_name}; "
            f"deregistered {len(deregistered)} scalable target(s)",
        )
    )
    _verify_gone(sagemaker, name)
    return ActionResult(
        endpoint_name=name,
        action=Action.PARK,
        outcome="applied",
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        detail=f"parked; restore with: endpoint-optimizer restore {name}",
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _check_way_back(sagemaker: SageMakerClient, config_name: str) -> None:
    """SageMaker lets a config or model be deleted while an endpoint uses it: then a parked endpoint
    could not be restored. Refuse before touching anything."""
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        for variant in config.get("ProductionVariants", []):
            if variant.get("ModelName"):
                sagemaker.describe_model(ModelName=variant["ModelName"])
    except ClientError as error:
        if _is_missing(error):
            raise ActionRefused(
                f"the way back is missing ({error.response['Error']['Message']}); not parking"
            ) from None
        raise


def _gone_or_deleting(sagemaker: SageMakerClient, name: str) -> bool:
    try:
        return sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Deleting"
    except ClientError as error:
        return _is_missing(error)


def _verify_gone(sagemaker: SageMakerClient, name: str) -> None:
    try:
        status = sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
    except ClientError as error:
        if _is_missing(error):
            return
        raise
    if status != "Deleting":
        raise RuntimeError(f"{name} is still {status} after DeleteEndpoint")


def restore(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    endpoint_name: str,
    *,
    now: datetime,
    restored_by: str | None = None,
    wait: bool = True,
) -> Snapshot:
    """Bring a parked endpoint back with the same name, config, tags and scalable targets."""
    snapshot = table.latest_snapshot(endpoint_name)
    if snapshot is None:
        raise RestoreFailed(f"no snapshot for {endpoint_name}: it was not parked by endpoint-optimizer")
    try:
        status = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
        raise RestoreFailed(f"{endpoint_name} exists already (status {status}); nothing to restore")
    except ClientError as error:
        if not _is_missing(error):
            raise
    sagemaker.create_endpoint(
        EndpointName=endpoint_name,
        EndpointConfigName=snapshot.config_name,
        Tags=[{"Key": k, "Value": v} for k, v in snapshot.tags.items() if not k.startswith("aws:")],
    )
    if wait:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name)
    _register(autoscaling, snapshot.scalable_targets, snapshot.scaling_policies, snapshot.scheduled_actions)
    table.put_ledger_entry(
        LedgerEntry(
            endpoint_name=endpoint_name,
            recorded_at=now,
            action="restore",
            outcome="restored",
            approved_by=restored_by,
            detail=f"recreated from config {snapshot.config_name} (snapshot {snapshot.taken_at.isoformat()}); "
            f"re-registered {len(snapshot.scalable_targets)} scalable target(s), "
            f"{len(snapshot.scaling_policies)} policy(ies), {len(snapshot.scheduled_actions)} scheduled action(s)",
        )
    )
    return snapshot


def apply_action(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: StateTable,
    action: ProposedAction,
    *,
    skip_tag_key: str,
    approved_by: str | None,
    now: datetime,
    home: tuple[str, str] | None = None,
) -> ActionResult:
    """Carry out one action, after checking it is this function's to carry out and was approved."""
    finding = action.finding
    if home is not None and (finding.account_id, finding.region) != home:
        raise ActionRefused(
            f"{finding.endpoint_name} is in {finding.account_id}/{finding.region}; this stack acts only in "
            f"{home[0]}/{home[1]}"
        )
    if action.mode == "approve":
        # Never act on the workflow's word alone: the approval record must say approved.
        if action.approval is None:
            raise ActionRefused(f"{finding.endpoint_name}: no approval came with this action")
        try:
            approval = table.get_approval(action.approval.approval_id)
        except ApprovalNotFound:
            raise ActionRefused(
                f"{finding.endpoint_name}: approval {action.approval.approval_id} does not exist"
            ) from None
        if approval.state != ApprovalState.APPROVED or approval.action_id != action.action_id:
            raise ActionRefused(
                f"{finding.endpoint_name}: approval {approval.approval_id} is {approval.state.value}, "
                "not an approval of this action"
            )
    if finding.action == Action.PARK:
        return park(
            sagemaker, autoscaling, table, action, skip_tag_key=skip_tag_key, approved_by=approved_by, now=now
        )
    raise ActionRefused(f"action {action.finding.action.value} cannot be applied yet (report only)")
