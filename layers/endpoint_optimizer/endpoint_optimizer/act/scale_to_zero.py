"""Scale to zero: keep the endpoint, let its capacity fall to none while idle, and scale out from zero on
the first request (decide/rules/scale_to_zero.py proposes it).

Two kinds of endpoint (SageMaker developer guide "Scale an endpoint to zero instances" and "Autoscale an
asynchronous endpoint"; botocore 1.43 sagemaker / application-autoscaling models; read 2026-12-01):

- Inference components: the variant's `ManagedInstanceScaling{Status ENABLED, MinInstanceCount 0,
  MaxInstanceCount}`. It lives only in an endpoint config (no other API sets it), so: a new config copied
  whole from the current one with that change, then `UpdateEndpoint` (RetainAllVariantProperties: the
  counts running now are kept). Each component: `inference-component/<name>` on
  `sagemaker:inference-component:DesiredCopyCount` with MinCapacity 0; target tracking on
  `SageMakerInferenceComponentInvocationsPerCopy`; a step policy (ChangeInCapacity +1 at lower bound 0,
  Maximum, Cooldown 60) fired by an alarm on `NoCapacityInvocationFailures` (dimension
  InferenceComponentName, Sum, 60 s, >= 1).
- Async endpoints: `endpoint/<ep>/variant/<v>` on `sagemaker:variant:DesiredInstanceCount` with
  MinCapacity 0; target tracking on `ApproximateBacklogSizePerInstance` (AWS/SageMaker, EndpointName,
  Average); a step policy fired by an alarm on `HasBacklogWithoutCapacity` (Average, 60 s, 2 of 2, >= 1).

The alarms and policies are the change itself (they stay after `finish`). Everything this module creates
is named `eo-...` (the apply role may touch only alarm:eo-* and delete only endpoint-config/eo-*). Rollback
and undo put back exactly what the plan read: each resource's scalable target, policies and scheduled
actions (`target["before"]`, which also covers inference components, whose autoscaling the way back does
not capture), the capacity when no scalable target held it, and the way back's endpoint config; once the
endpoint is InService on that config again, the change's own `eo-` config is deleted.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.capture import POLICY_FIELDS, SCHEDULED_FIELDS, described_body
from endpoint_optimizer.act.endpoint_state import ActionRefused, is_missing
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Finding, ProposedAction, WayBack
from endpoint_optimizer.models.change import Change, Progress
from endpoint_optimizer.scan.inventory import variant_resource_id

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient

INFERENCE_COMPONENTS = "inference_components"
ASYNC = "async"

COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
INSTANCE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
STEP_POLICY = "eo-scale-out-from-zero"
COPY_TRACKING_POLICY = "eo-invocations-per-copy"
BACKLOG_TRACKING_POLICY = "eo-backlog-per-instance"
# Target values: the developer guide's own examples ("Define a scaling policy": 70 invocations per
# instance a minute; "Autoscale an asynchronous endpoint": a backlog of 5 per instance, scale in after
# 600 s, out after 300 s). Any value scales an idle resource to its minimum, 0 here.
INVOCATIONS_PER_COPY_TARGET = 70.0
BACKLOG_PER_INSTANCE_TARGET = 5.0
BACKLOG_SCALE_IN_COOLDOWN = 600
BACKLOG_SCALE_OUT_COOLDOWN = 300
SCALE_FROM_ZERO_COOLDOWN = 60  # seconds ("Scale an endpoint to zero instances", step scaling policy)

_SETTLING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
# What the apply role may delete: endpoint-config/eo-* only (template.yaml, DeleteOnlyWhatAChangeMade).
CONFIG_PREFIX = "eo-"


# ---- the plan ---------------------------------------------------------------------------------------
class ScaleToZero:
    """The scale_to_zero steps of the apply workflow (act/steps.py ChangeSteps)."""

    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        del tags  # the skip tag is the re-check's
        name = described["EndpointName"]
        if any(variant.get("CurrentServerlessConfig") for variant in described.get("ProductionVariants", [])):
            raise ActionRefused(f"{name} is serverless now: it scales to zero by itself; left alone")
        if finding.scan is None:  # the re-check refuses it first; kept for a direct caller
            raise ActionRefused(f"{name}: the finding carries no scan facts; scan again before acting")

    def plan(
        self, clients: Clients, action: ProposedAction, way_back: WayBack, now: datetime
    ) -> dict[str, Any]:
        del now
        finding = action.finding
        name = finding.endpoint_name
        components = _components(clients, name)
        scanned = sorted(finding.scan.inference_components) if finding.scan else []
        if scanned or components:
            if sorted(components) != scanned:
                raise ActionRefused(
                    f"{name}: its inference components changed since the scan ({', '.join(sorted(components))}"
                    f"; scanned {', '.join(scanned) or 'none'}); left alone"
                )
            return _plan_components(clients, action, way_back, components)
        if way_back.endpoint_config.get("AsyncInferenceConfig"):
            return _plan_async(clients, way_back)
        raise ActionRefused(
            f"{name} hosts no inference components and is not an async endpoint: it cannot scale to zero; "
            "left alone"
        )

    # ---- act, progress, verify ------------------------------------------------------------------------
    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        """Autoscaling first (a floor of 0 changes nothing until idle), then the endpoint update."""
        target = change.target
        for resource in target["resources"]:
            _scale_to_zero(clients.autoscaling, clients.cloudwatch, resource)
        config_name = target.get("config_name")
        if config_name is None:
            return
        _create_config(clients, config_name, way_back, target["managed_scaling"])
        described = clients.sagemaker.describe_endpoint(EndpointName=change.endpoint_name)
        if described["EndpointConfigName"] == config_name or described["EndpointStatus"] in _SETTLING:
            return  # our update went through already (a retry after a lost reply)
        if described["EndpointConfigName"] != way_back.config_name:
            raise RuntimeError(
                f"{change.endpoint_name} is on config {described['EndpointConfigName']}, not "
                f"{way_back.config_name} as at the snapshot; not updating it"
            )
        clients.sagemaker.update_endpoint(
            EndpointName=change.endpoint_name,
            EndpointConfigName=config_name,
            RetainAllVariantProperties=True,  # the instance counts running now stay
        )

    def progress(self, clients: Clients, change: Change) -> Progress:
        config_name = change.target.get("config_name")
        if config_name is None:
            return Progress(state="stable")  # async: autoscaling only, in place at once
        described = clients.sagemaker.describe_endpoint(EndpointName=change.endpoint_name)
        status = described["EndpointStatus"]
        if status in _SETTLING:
            return Progress(state="waiting", detail=f"{change.endpoint_name} is {status}")
        if status == "InService" and described["EndpointConfigName"] == config_name:
            return Progress(state="stable")
        reason = described.get("FailureReason") or "SageMaker kept the old config (a silent rollback)"
        return Progress(
            state="failed",
            detail=f"{change.endpoint_name} is {status} on config {described['EndpointConfigName']}, not "
            f"{config_name}: {reason}",
        )

    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        del way_back
        target = change.target
        name = change.endpoint_name
        problems: list[str] = []
        config_name = target.get("config_name")
        if config_name is not None:
            described = clients.sagemaker.describe_endpoint(EndpointName=name)
            if described["EndpointStatus"] != "InService" or described["EndpointConfigName"] != config_name:
                problems.append(
                    f"{described['EndpointStatus']} on config {described['EndpointConfigName']}, not "
                    f"InService on {config_name}"
                )
            else:
                problems += _managed_scaling_problems(clients, config_name)
        for resource in target["resources"]:
            problems += _resource_problems(clients.autoscaling, clients.cloudwatch, resource)
        if problems:
            return False, "; ".join(problems)
        kinds = (
            f"{len(target['resources'])} inference component(s)"
            if target["kind"] == INFERENCE_COMPONENTS
            else f"{len(target['resources'])} async variant(s)"
        )
        return True, f"scales to zero when idle ({kinds}); alarms {', '.join(_alarms(target))} scale it out"

    def finish(self, clients: Clients, change: Change) -> None:
        """Nothing is temporary: the alarms and policies that scale out from zero are the change."""
        del clients, change

    # ---- roll back --------------------------------------------------------------------------------
    def roll_back(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        _restore(clients, change, way_back)

    def rollback_progress(self, clients: Clients, change: Change, way_back: WayBack) -> Progress:
        """Each call carries the restore one step further (an endpoint update waits for InService; the
        capacity a scalable target did not hold is set once the endpoint is back), then checks."""
        return _restore(clients, change, way_back)


STEPS = ScaleToZero()


def _digest(action_id: str) -> str:
    return hashlib.sha256(action_id.encode()).hexdigest()[:8]


def _components(clients: Clients, endpoint_name: str) -> dict[str, dict[str, Any]]:
    """The endpoint's inference components, described, by name."""
    found: dict[str, dict[str, Any]] = {}
    for page in clients.sagemaker.get_paginator("list_inference_components").paginate(
        EndpointNameEquals=endpoint_name
    ):
        for item in page["InferenceComponents"]:
            name = item["InferenceComponentName"]
            found[name] = described_body(
                clients.sagemaker.describe_inference_component(InferenceComponentName=name)
            )
    return found


def _plan_components(
    clients: Clients, action: ProposedAction, way_back: WayBack, components: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    name = action.finding.endpoint_name
    not_serving = [c for c, body in components.items() if body.get("InferenceComponentStatus") != "InService"]
    if not_serving:
        raise ActionRefused(
            f"{name}: inference component(s) {', '.join(not_serving)} not InService; left alone"
        )
    resource_ids = [f"inference-component/{component}" for component in sorted(components)]
    before = _read_autoscaling(clients.autoscaling, resource_ids)
    resources = []
    for component in sorted(components):
        resource_id = f"inference-component/{component}"
        copies = int(components[component].get("RuntimeConfig", {}).get("DesiredCopyCount", 1))
        registered = _target_of(before, resource_id)
        resources.append(
            {
                "resource_id": resource_id,
                "dimension": COPY_DIMENSION,
                "max": registered["MaxCapacity"] if registered else max(copies, 1),
                "capacity": copies,
                "alarm": f"eo-scale-from-zero-{component}"[:255],
                "tracking": None if _has_tracking(before, resource_id) else COPY_TRACKING_POLICY,
                "alarm_metric": {
                    "MetricName": "NoCapacityInvocationFailures",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
                    "Statistic": "Sum",
                    "EvaluationPeriods": 1,
                },
                "step_aggregation": "Maximum",
                "cooldown": SCALE_FROM_ZERO_COOLDOWN,
            }
        )
    hosting = {str(body.get("VariantName")) for body in components.values()}
    managed: dict[str, dict[str, Any]] = {}
    current = {
        variant["VariantName"]: variant for variant in way_back.endpoint_config.get("ProductionVariants", [])
    }
    counts = {variant.name: variant.instance_count for variant in way_back.variants}
    for variant_name in sorted(v for v in hosting if v in current):
        scaling = current[variant_name].get("ManagedInstanceScaling") or {}
        if scaling.get("Status") == "ENABLED" and scaling.get("MinInstanceCount") == 0:
            continue
        ceiling = max(
            int(scaling.get("MaxInstanceCount") or 0),
            int(current[variant_name].get("InitialInstanceCount") or 0),
            counts.get(variant_name, 0),
            1,
        )
        managed[variant_name] = {
            **scaling,
            "Status": "ENABLED",
            "MinInstanceCount": 0,
            "MaxInstanceCount": ceiling,
        }
    # eo-<config>-zero-<8 hex>: at most 3 + 40 + 6 + 8 = 57 of the 63 characters a config name may have
    # (botocore 1.43 sagemaker EndpointConfigName), and eo-* so the apply role may delete it after an undo.
    config_name = (
        f"{CONFIG_PREFIX}{way_back.config_name[:40]}-zero-{_digest(action.action_id)}" if managed else None
    )
    return {
        "kind": INFERENCE_COMPONENTS,
        "config_name": config_name,
        "managed_scaling": managed,
        "resources": resources,
        "before": before,
    }


def _plan_async(clients: Clients, way_back: WayBack) -> dict[str, Any]:
    name = way_back.endpoint_name
    resource_ids = [variant_resource_id(name, variant.name) for variant in way_back.variants]
    before = _read_autoscaling(clients.autoscaling, resource_ids)
    resources = []
    for variant in way_back.variants:
        resource_id = variant_resource_id(name, variant.name)
        registered = _target_of(before, resource_id)
        resources.append(
            {
                "resource_id": resource_id,
                "dimension": INSTANCE_DIMENSION,
                "max": registered["MaxCapacity"] if registered else max(variant.instance_count, 1),
                "capacity": variant.instance_count,
                "variant": variant.name,
                "alarm": f"eo-scale-from-zero-{name}-{variant.name}"[:255],
                "tracking": None
                if _has_tracking(before, resource_id, "ApproximateBacklogSizePerInstance")
                else BACKLOG_TRACKING_POLICY,
                "alarm_metric": {
                    "MetricName": "HasBacklogWithoutCapacity",
                    "Dimensions": [{"Name": "EndpointName", "Value": name}],
                    "Statistic": "Average",
                    "EvaluationPeriods": 2,
                    "DatapointsToAlarm": 2,
                },
                "step_aggregation": "Average",
                "cooldown": BACKLOG_SCALE_OUT_COOLDOWN,
            }
        )
    return {
        "kind": ASYNC,
        "config_name": None,
        "managed_scaling": {},
        "resources": resources,
        "before": before,
    }


def _alarms(target: dict[str, Any]) -> list[str]:
    return [resource["alarm"] for resource in target["resources"]]


# ---- autoscaling, read and written ------------------------------------------------------------------
def _read_autoscaling(autoscaling: ApplicationAutoScalingClient, resource_ids: list[str]) -> dict[str, Any]:
    """Scalable targets, policies and scheduled actions of these resources, replayable as they are."""
    targets: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    scheduled: list[dict[str, Any]] = []
    if resource_ids:
        for page in autoscaling.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="sagemaker", ResourceIds=resource_ids
        ):
            targets += [
                {key: item[key] for key in ("ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")}
                for item in page["ScalableTargets"]
            ]
    for resource_id in sorted({t["ResourceId"] for t in targets}):
        for policy_page in autoscaling.get_paginator("describe_scaling_policies").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            policies += [
                described_body({k: item[k] for k in POLICY_FIELDS if k in item})  # type: ignore[literal-required]
                for item in policy_page["ScalingPolicies"]
            ]
        for action_page in autoscaling.get_paginator("describe_scheduled_actions").paginate(
            ServiceNamespace="sagemaker", ResourceId=resource_id
        ):
            scheduled += [
                described_body({k: item[k] for k in SCHEDULED_FIELDS if k in item})  # type: ignore[literal-required]
                for item in action_page["ScheduledActions"]
            ]
    return {"scalable_targets": targets, "policies": policies, "scheduled": scheduled}


def _target_of(before: dict[str, Any], resource_id: str) -> dict[str, Any] | None:
    return next((t for t in before["scalable_targets"] if t["ResourceId"] == resource_id), None)


def _has_tracking(before: dict[str, Any], resource_id: str, metric: str | None = None) -> bool:
    """A target-tracking policy of the owner's is there already (on `metric`, when named): keep it."""
    for policy in before["policies"]:
        if policy["ResourceId"] != resource_id or policy["PolicyType"] != "TargetTrackingScaling":
            continue
        custom = policy.get("TargetTrackingScalingPolicyConfiguration", {}).get(
            "CustomizedMetricSpecification"
        )
        if metric is None or (custom or {}).get("MetricName") == metric:
            return True
    return False


def _tracking_configuration(resource: dict[str, Any], endpoint_name: str) -> dict[str, Any]:
    if resource["dimension"] == COPY_DIMENSION:
        return {
            "TargetValue": INVOCATIONS_PER_COPY_TARGET,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        }
    return {
        "TargetValue": BACKLOG_PER_INSTANCE_TARGET,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
            "Statistic": "Average",
        },
        "ScaleInCooldown": BACKLOG_SCALE_IN_COOLDOWN,
        "ScaleOutCooldown": BACKLOG_SCALE_OUT_COOLDOWN,
    }


def _endpoint_of(resource: dict[str, Any]) -> str:
    return str(resource["resource_id"]).split("/")[1]


def _scale_to_zero(
    autoscaling: ApplicationAutoScalingClient, cloudwatch: CloudWatchClient, resource: dict[str, Any]
) -> None:
    """Floor 0, target tracking (unless the owner's is kept), the step policy and its alarm. Each call is
    an upsert: a retry ends in the same state."""
    common: dict[str, Any] = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource["resource_id"],
        "ScalableDimension": resource["dimension"],
    }
    autoscaling.register_scalable_target(**common, MinCapacity=0, MaxCapacity=resource["max"])
    if resource["tracking"]:
        autoscaling.put_scaling_policy(
            **common,
            PolicyName=resource["tracking"],
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=_tracking_configuration(
                resource, _endpoint_of(resource)
            ),  # type: ignore[arg-type]
        )
    step = autoscaling.put_scaling_policy(
        **common,
        PolicyName=STEP_POLICY,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": resource["step_aggregation"],
            "Cooldown": resource["cooldown"],
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        },
    )
    metric = resource["alarm_metric"]
    cloudwatch.put_metric_alarm(
        AlarmName=resource["alarm"],
        AlarmDescription=f"endpoint-optimizer: scale {resource['resource_id']} out from zero",
        Namespace="AWS/SageMaker",
        MetricName=metric["MetricName"],
        Dimensions=metric["Dimensions"],
        Statistic=metric["Statistic"],
        Period=60,
        EvaluationPeriods=metric["EvaluationPeriods"],
        DatapointsToAlarm=metric.get("DatapointsToAlarm", metric["EvaluationPeriods"]),
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=[step["PolicyARN"]],
    )


def _resource_problems(
    autoscaling: ApplicationAutoScalingClient, cloudwatch: CloudWatchClient, resource: dict[str, Any]
) -> list[str]:
    resource_id = resource["resource_id"]
    now = _read_autoscaling(autoscaling, [resource_id])
    registered = _target_of(now, resource_id)
    if registered is None or registered["MinCapacity"] != 0:
        return [f"{resource_id} has no scalable target with a minimum of 0"]
    names = {policy["PolicyName"] for policy in now["policies"]}
    wanted = [STEP_POLICY] + ([resource["tracking"]] if resource["tracking"] else [])
    problems = [f"{resource_id} lacks scaling policy {name}" for name in wanted if name not in names]
    alarms = cloudwatch.describe_alarms(AlarmNames=[resource["alarm"]])["MetricAlarms"]
    if not alarms or not alarms[0].get("AlarmActions"):
        problems.append(f"alarm {resource['alarm']} is missing or acts on nothing")
    return problems


def _managed_scaling_problems(clients: Clients, config_name: str) -> list[str]:
    config = clients.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    return [
        f"variant {variant['VariantName']} of {config_name} does not scale to 0 instances"
        for variant in config["ProductionVariants"]
        if variant.get("ManagedInstanceScaling")
        and (
            variant["ManagedInstanceScaling"].get("Status") != "ENABLED"
            or variant["ManagedInstanceScaling"].get("MinInstanceCount") != 0
        )
    ]


# What CreateEndpointConfig takes back from DescribeEndpointConfig (botocore 1.43 sagemaker model).
CONFIG_FIELDS = (
    "ProductionVariants",
    "DataCaptureConfig",
    "KmsKeyId",
    "AsyncInferenceConfig",
    "ExplainerConfig",
    "ShadowProductionVariants",
    "ExecutionRoleArn",
    "VpcConfig",
    "EnableNetworkIsolation",
)


def _create_config(
    clients: Clients, config_name: str, way_back: WayBack, managed: dict[str, dict[str, Any]]
) -> None:
    """The way back's config whole, with ManagedInstanceScaling at a floor of 0 (once: a retry finds it)."""
    try:
        clients.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        return
    except ClientError as error:
        if not is_missing(error):
            raise
    body = {key: way_back.endpoint_config[key] for key in CONFIG_FIELDS if way_back.endpoint_config.get(key)}
    body["ProductionVariants"] = [
        {**variant, "ManagedInstanceScaling": managed[variant["VariantName"]]}
        if variant["VariantName"] in managed
        else variant
        for variant in body["ProductionVariants"]
    ]
    if body.get("DataCaptureConfig") == {}:
        body.pop("DataCaptureConfig")
    clients.sagemaker.create_endpoint_config(
        EndpointConfigName=config_name,
        Tags=[{"Key": "endpoint-optimizer:scale-to-zero-of", "Value": way_back.config_name}],
        **body,
    )


# ---- the way back -----------------------------------------------------------------------------------
def _restore(clients: Clients, change: Change, way_back: WayBack) -> Progress:
    """Idempotent: alarms gone, each resource's autoscaling as the plan read it, the endpoint on the way
    back's config, and the capacity no scalable target held put back. Waiting until all of it is so."""
    target = change.target
    name = change.endpoint_name
    existing = clients.cloudwatch.describe_alarms(AlarmNames=_alarms(target))["MetricAlarms"]
    if existing:  # first, so no alarm fires a policy being removed
        clients.cloudwatch.delete_alarms(AlarmNames=[alarm["AlarmName"] for alarm in existing])
    before = target["before"]
    for resource in target["resources"]:
        _restore_autoscaling(clients.autoscaling, resource, before)
    described: dict[str, Any] = dict(clients.sagemaker.describe_endpoint(EndpointName=name))
    status = described["EndpointStatus"]
    if status in _SETTLING:
        return Progress(state="waiting", detail=f"{name} is {status}")
    if status != "InService":
        return Progress(state="failed", detail=f"{name} is {status}: {described.get('FailureReason') or ''}")
    if target.get("config_name") and described["EndpointConfigName"] != way_back.config_name:
        clients.sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=way_back.config_name)
        return Progress(state="waiting", detail=f"{name} updating back to config {way_back.config_name}")
    if _restore_capacity(clients, described, target):
        return Progress(state="waiting", detail=f"{name}: capacity being put back")
    _delete_own_config(clients, target.get("config_name"), way_back)
    return Progress(state="stable", detail=f"{name} back on config {way_back.config_name}")


def _delete_own_config(clients: Clients, config_name: str | None, way_back: WayBack) -> None:
    """The change's own config, once the endpoint is InService on the way back's again: nothing uses it.
    Only an `eo-` config (a change started before its name had the prefix keeps its config: the apply
    role may not delete it); gone already is done."""
    if not config_name or not config_name.startswith(CONFIG_PREFIX) or config_name == way_back.config_name:
        return
    try:
        clients.sagemaker.delete_endpoint_config(EndpointConfigName=config_name)
    except ClientError as error:
        if not is_missing(error):
            raise


def _restore_autoscaling(
    autoscaling: ApplicationAutoScalingClient, resource: dict[str, Any], before: dict[str, Any]
) -> None:
    resource_id = resource["resource_id"]
    common: dict[str, Any] = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": resource["dimension"],
    }
    registered = _target_of(before, resource_id)
    if registered is None:  # it had none: deregistering removes our policies with it
        if autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource_id], ScalableDimension=resource["dimension"]
        )["ScalableTargets"]:
            autoscaling.deregister_scalable_target(**common)
        return
    ours = [STEP_POLICY] + ([resource["tracking"]] if resource["tracking"] else [])
    # Only those still there: a missing one is ObjectNotFoundException on AWS, ValidationException in moto.
    present = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id, PolicyNames=ours
    )["ScalingPolicies"]
    for policy in present:
        autoscaling.delete_scaling_policy(**common, PolicyName=policy["PolicyName"])
    autoscaling.register_scalable_target(
        **common, MinCapacity=registered["MinCapacity"], MaxCapacity=registered["MaxCapacity"]
    )
    for policy in before["policies"]:  # upserts: a policy of theirs stays as it was
        if policy["ResourceId"] == resource_id:
            autoscaling.put_scaling_policy(**policy)
    for action in before["scheduled"]:
        if action["ResourceId"] == resource_id:
            autoscaling.put_scheduled_action(**action)


def _restore_capacity(clients: Clients, described: dict[str, Any], target: dict[str, Any]) -> bool:
    """Where no scalable target held the capacity before, it may have fallen below what it was: put it
    back. True when a call was made (the endpoint changes)."""
    changed = False
    for resource in target["resources"]:
        if _target_of(target["before"], resource["resource_id"]) is not None:
            continue  # its scalable target's minimum holds the floor again
        if resource["dimension"] == COPY_DIMENSION:
            component = resource["resource_id"].split("/", 1)[1]
            runtime = clients.sagemaker.describe_inference_component(InferenceComponentName=component)
            if int(runtime.get("RuntimeConfig", {}).get("DesiredCopyCount", 0)) < resource["capacity"]:
                clients.sagemaker.update_inference_component_runtime_config(
                    InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": resource["capacity"]}
                )
                changed = True
            continue
        variant: dict[str, Any] = next(
            (v for v in described.get("ProductionVariants", []) if v["VariantName"] == resource["variant"]),
            {},
        )
        if int(variant.get("DesiredInstanceCount", resource["capacity"])) < resource["capacity"]:
            clients.sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=described["EndpointName"],
                DesiredWeightsAndCapacities=[
                    {"VariantName": resource["variant"], "DesiredInstanceCount": resource["capacity"]}
                ],
            )
            changed = True
    return changed
