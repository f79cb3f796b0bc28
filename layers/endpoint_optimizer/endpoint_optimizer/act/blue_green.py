"""Rightsize and Graviton, applied: a size change is a blue/green UpdateEndpoint guarded by alarms the
change makes for itself; a count-only rightsize sets the variant's instance count (or, when autoscaling
owns the count, its scalable target's capacities).

Size change (another instance type; Graviton also deploys the arm64 build of the image):
- a new endpoint config `eo-<endpoint>-<change>`, the way back's config with the target type and count
  (and, when the target is arm64 and the image is not, a new model of the same name: the way back's
  model on the arm64 image);
- two alarms of its own (`eo-<endpoint>-<change>-5xx`, `-latency`): Invocation5XXErrors, and p99
  ModelLatency above the observed p99 x LATENCY_MARGIN, both on EndpointName + VariantName (SageMaker
  publishes per variant; the new fleet keeps the variant name);
- UpdateEndpoint with BlueGreenUpdatePolicy CANARY (one instance, or 10 % of a larger fleet), a bake
  (WaitIntervalInSeconds) and AutoRollbackConfiguration naming those alarms. SageMaker rolls back by
  itself when one fires, and says so only by the config name: InService on the old config is a
  rollback, even with no FailureReason (issue 10's facts), and Verify reports it as one.
- Autoscaling: "If the update would change the instance type for any model that is a target for auto
  scaling, the update fails ... deregister the variant as a scalable target ... After you update the
  endpoint, you can register the updated variant" (SageMaker developer guide, endpoint-scaling-update,
  read 2026-12-01). So RetainAllVariantProperties cannot keep it across a type change: Act deregisters
  the variant's scalable target, and Check progress re-registers it (its policies and scheduled
  actions from the way back) once the endpoint is InService on the new config. The new config carries
  the planned count (no RetainAllVariantProperties, which would keep the old fleet's count).

Count only ("2 x ml.m5.large (from 4)"): UpdateEndpointWeightsAndCapacities; when the variant has a
scalable target, autoscaling owns the count, so the change lowers the target's MinCapacity instead
(and autoscaling scales in): RegisterScalableTarget, restored from the way back on rollback.

The change's config and model stay while applied (they are what runs); after a rollback or an undo,
`finish` deletes them with the alarms.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from endpoint_optimizer.act.capture import missing_autoscaling, replay_autoscaling
from endpoint_optimizer.act.endpoint_state import ActionRefused, is_missing

# restore's Describe -> Create body mapping, and its recreation of a deleted config or model
from endpoint_optimizer.act.restore import recreate_models_and_config, request_body
from endpoint_optimizer.decide.confirm.images import arm64_image_of
from endpoint_optimizer.decide.confirm.thresholds import LATENCY_MARGIN
from endpoint_optimizer.decide.signals import instance_specs
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, Finding, ProposedAction, WayBack
from endpoint_optimizer.models.change import Change, Progress
from endpoint_optimizer.models.confirmation import COMPLETED
from endpoint_optimizer.scan.inventory import variant_resource_id

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

Mode = Literal["blue_green", "instance_count", "scalable_target"]

NAME_LIMIT = 63  # EndpointConfigName / ModelName: [0..63], ^[a-zA-Z0-9](-*[a-zA-Z0-9])* (botocore 1.43)
PREFIX = "eo"  # what the apply role's Create/Delete statements are scoped to (config/eo-*, model/eo-*)
# The deployment (UpdateEndpoint DeploymentConfig, botocore 1.43 sagemaker model; issue 10's facts):
CANARY_PERCENT = 10  # CanarySize CAPACITY_PERCENT; at most 50 % of the variant's fleet
BAKE_SECONDS = 600  # WaitIntervalInSeconds (0-3600): the canary takes traffic this long before the rest
TERMINATION_WAIT_SECONDS = 300  # TerminationWaitInSeconds (0-3600): the old fleet kept after the shift
MAX_EXECUTION_SECONDS = 3600  # MaximumExecutionTimeoutInSeconds (600-28800)
# The alarms: CloudWatch's ModelLatency is in microseconds, the confirmation baseline in milliseconds
# ("Monitor Amazon SageMaker with Amazon CloudWatch", read 2026-12-01).
MICROSECONDS_PER_MS = 1000.0
ALARM_PERIOD_SECONDS = 60
# Two bad minutes in a row, not one blip: a single error or slow request must not undo a good change.
ALARM_MINUTES = 2
P99_LOOKBACK_DAYS = 14
MOVING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
BROKEN = ("Failed", "UpdateRollbackFailed", "OutOfService", "Deleting")
_TARGET = re.compile(r"^\s*(?P<count>\d+)\s*x\s*(?P<type>ml\.[a-z0-9-]+\.[a-z0-9]+)")


# ---- what the finding asks for ------------------------------------------------------------------------
@dataclass(frozen=True)
class Capacity:
    instance_type: str
    instance_count: int


def target_capacity(finding: Finding) -> Capacity | None:
    """The capacity to move to: a benchmark's chosen option wins over the rung's heuristic; else the
    rung's evidence (Graviton: `target`; count-only rightsize: `instances_after`) and its target string
    "N x ml.type (from ...)"."""
    confirmation = finding.confirmation
    if confirmation is not None and confirmation.chosen is not None and confirmation.chosen.instance_type:
        return Capacity(confirmation.chosen.instance_type, confirmation.chosen.instance_count)
    match = _TARGET.match(finding.target or "")
    evidence = finding.evidence
    instance_type = evidence.get("instance_type_after") or evidence.get("target")
    count = evidence.get("instances_after")
    if match is None and not (isinstance(instance_type, str) and isinstance(count, int)):
        return None
    return Capacity(
        instance_type if isinstance(instance_type, str) else match["type"] if match else "",
        count if isinstance(count, int) else int(match["count"]) if match else 0,
    )


def change_name(endpoint_name: str, action_id: str, suffix: str = "") -> str:
    """`eo-<endpoint>-<8 hex of the action id>[-suffix]`, within SageMaker's 63 characters: the same
    name on every retry, unique per change."""
    digest = hashlib.sha256(action_id.encode()).hexdigest()[:8]
    tail = f"-{digest}" + (f"-{suffix}" if suffix else "")
    room = NAME_LIMIT - len(PREFIX) - 1 - len(tail)
    return f"{PREFIX}-{endpoint_name[:room].rstrip('-')}{tail}"


# ---- the steps ------------------------------------------------------------------------------------------
class BlueGreenSteps:
    """The apply workflow's steps (act/steps.py ChangeSteps) of `rightsize` and `migrate_graviton`."""

    def __init__(self, action: Action) -> None:
        self.action = action

    # ---- Start ----
    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        name = finding.endpoint_name
        if finding.action != self.action:
            raise ActionRefused(f"{name}: a {finding.action.value} finding is not {self.action.value}'s")
        if finding.blocked_by:
            raise ActionRefused(f"{name}: blocked: {'; '.join(finding.blocked_by)}")
        variants = described.get("ProductionVariants", [])
        if len(variants) != 1 or variants[0].get("CurrentServerlessConfig"):
            raise ActionRefused(f"{name}: not one instance-based variant now; left alone")
        if finding.scan is not None and finding.scan.inference_components:
            raise ActionRefused(f"{name} hosts inference components; left alone")
        confirmation = finding.confirmation
        if confirmation is not None and confirmation.status == COMPLETED and confirmation.chosen is None:
            raise ActionRefused(
                f"{name}: the benchmark found no option that meets today's latency and throughput; left alone"
            )
        if target_capacity(finding) is None:
            raise ActionRefused(f"{name}: the finding names no target capacity ({finding.target!r})")

    def plan(
        self, clients: Clients, action: ProposedAction, way_back: WayBack, now: datetime
    ) -> dict[str, Any]:
        finding = action.finding
        name = finding.endpoint_name
        target = target_capacity(finding)
        assert target is not None  # refuse() said so
        config_variant = _only_variant(way_back)
        variant = config_variant["VariantName"]
        current = Capacity(
            str(config_variant.get("InstanceType", "")),
            next((v.instance_count for v in way_back.variants if v.name == variant), 0),
        )
        if target.instance_type not in instance_specs():
            raise ActionRefused(f"{name}: {target.instance_type} is not a known instance type")
        if target.instance_count < 1:
            raise ActionRefused(f"{name}: {target.instance_count} instances is no endpoint")
        if target == current:
            raise ActionRefused(f"{name} already runs {target.instance_count} x {target.instance_type}")
        resource_id = variant_resource_id(name, variant)
        scalable = [t for t in way_back.scalable_targets if t.resource_id == resource_id]
        base: dict[str, Any] = {
            "variant": variant,
            "old_config": way_back.config_name,
            "from": {"instance_type": current.instance_type, "instance_count": current.instance_count},
            "to": {"instance_type": target.instance_type, "instance_count": target.instance_count},
        }
        if target.instance_type == current.instance_type:
            if self.action == Action.MIGRATE_GRAVITON:
                raise ActionRefused(f"{name}: a Graviton move to the same instance type is no move")
            if not scalable:
                return {**base, "mode": "instance_count"}
            # Autoscaling owns the count: the floor is what holds it up; lower it and it scales in.
            floor = scalable[0]
            if floor.min_capacity <= target.instance_count:
                raise ActionRefused(
                    f"{name}: autoscaling already allows {floor.min_capacity}-{floor.max_capacity} instances; "
                    f"its policy, not its floor, holds {current.instance_count}: change the policy's target"
                )
            return {
                **base,
                "mode": "scalable_target",
                "scalable_target": {
                    "resource_id": floor.resource_id,
                    "scalable_dimension": floor.scalable_dimension,
                    "min_capacity": target.instance_count,
                    "max_capacity": max(floor.max_capacity, target.instance_count),
                },
            }
        return {**base, **self._plan_blue_green(clients, action, way_back, target, now)}

    def _plan_blue_green(
        self,
        clients: Clients,
        action: ProposedAction,
        way_back: WayBack,
        target: Capacity,
        now: datetime,
    ) -> dict[str, Any]:
        finding = action.finding
        name = finding.endpoint_name
        config_variant = _only_variant(way_back)
        model = next((m for m in way_back.models if m["ModelName"] == config_variant.get("ModelName")), None)
        if model is None or model.get("Containers") or "PrimaryContainer" not in model:
            raise ActionRefused(f"{name}: not one model with one container; left alone")
        image = model["PrimaryContainer"].get("Image")
        if model["PrimaryContainer"].get("ModelPackageName") or not image:
            # Marketplace containers fall back to all-at-once with no bake (deployment guardrails).
            raise ActionRefused(f"{name}: a model package container is not moved blue/green; left alone")
        spec = instance_specs()[target.instance_type]
        new_image: str | None = None
        if spec.architecture == "arm64":
            arm64 = arm64_image_of(image) or _str(finding.evidence.get("arm64_image"))
            if arm64 is None:
                raise ActionRefused(f"{name}: no arm64 build of {image} is known; left alone")
            new_image = None if arm64 == image else arm64
        elif self.action == Action.MIGRATE_GRAVITON:
            raise ActionRefused(f"{name}: {target.instance_type} is not a Graviton instance type")
        p99_ms = _baseline_p99_ms(finding)
        source = "the benchmark's baseline"
        if p99_ms is None:
            p99_ms = read_p99_ms(clients, name, config_variant["VariantName"], now)
            source = f"CloudWatch over {P99_LOOKBACK_DAYS} days"
        config_name = change_name(name, action.action_id)
        return {
            "mode": "blue_green",
            "config_name": config_name,
            "model_name": config_name if new_image else None,
            "source_model": model["ModelName"],
            "image": new_image,
            "alarms": {
                "errors": change_name(name, action.action_id, "5xx"),
                **({"latency": change_name(name, action.action_id, "latency")} if p99_ms else {}),
            },
            "latency_threshold_us": None
            if p99_ms is None
            else round(p99_ms * MICROSECONDS_PER_MS * LATENCY_MARGIN, 1),
            "latency_source": source if p99_ms else "no ModelLatency datapoint: guarded by 5XX errors only",
            "canary": _canary(target.instance_count),
            "autoscaling": _autoscaling_after(way_back, config_variant["VariantName"], target.instance_count),
        }

    # ---- Act ----
    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        plan = change.target
        sagemaker = clients.sagemaker
        name = change.endpoint_name
        if plan["mode"] == "instance_count":
            described = sagemaker.describe_endpoint(EndpointName=name)
            if described["EndpointStatus"] in MOVING:
                return  # a retry: the change is under way
            _set_count(sagemaker, name, described, plan["variant"], plan["to"]["instance_count"])
            return
        if plan["mode"] == "scalable_target":
            _register(clients, plan["scalable_target"])
            return
        described = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] in MOVING or described["EndpointConfigName"] == plan["config_name"]:
            return  # a retry after a lost reply: the update is ours and under way (or done)
        if plan["image"]:
            source = next(m for m in way_back.models if m["ModelName"] == plan["source_model"])
            _create_model(sagemaker, source, plan["model_name"], plan["image"])
        _create_config(sagemaker, way_back, plan)
        _put_alarms(clients, change)
        for target in plan["autoscaling"]["targets"]:  # AWS refuses a type change of a scalable variant
            _deregister(clients, target)
        sagemaker.update_endpoint(
            EndpointName=name,
            EndpointConfigName=plan["config_name"],
            DeploymentConfig={
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "WaitIntervalInSeconds": BAKE_SECONDS,
                        "CanarySize": plan["canary"],
                    },
                    "TerminationWaitInSeconds": TERMINATION_WAIT_SECONDS,
                    "MaximumExecutionTimeoutInSeconds": MAX_EXECUTION_SECONDS,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [{"AlarmName": alarm} for alarm in plan["alarms"].values()]
                },
            },
        )

    # ---- Check progress ----
    def progress(self, clients: Clients, change: Change) -> Progress:
        plan = change.target
        if plan["mode"] == "scalable_target":
            return Progress(state="stable")  # RegisterScalableTarget takes effect at once
        described = clients.sagemaker.describe_endpoint(EndpointName=change.endpoint_name)
        status = described["EndpointStatus"]
        if status in MOVING:
            return Progress(state="waiting", detail=f"{change.endpoint_name} is {status}")
        if status != "InService":
            reason = described.get("FailureReason") or "no reason given"
            return Progress(state="failed", detail=f"{change.endpoint_name} is {status}: {reason}")
        if plan["mode"] == "blue_green" and described["EndpointConfigName"] == plan["config_name"]:
            _register_after(clients, plan)  # autoscaling back on the new variant (idempotent)
        return Progress(state="stable", detail=f"{change.endpoint_name} is InService")

    # ---- Verify ----
    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        plan = change.target
        name = change.endpoint_name
        to = plan["to"]
        if plan["mode"] == "scalable_target":
            wanted = plan["scalable_target"]
            found = _scalable_target(clients, wanted["resource_id"], wanted["scalable_dimension"])
            if found != (wanted["min_capacity"], wanted["max_capacity"]):
                return (
                    False,
                    f"{name}'s scalable target is {found}, not {wanted['min_capacity']}-{wanted['max_capacity']}",
                )
            return True, (
                f"{name}: autoscaling floor {way_back.scalable_targets[0].min_capacity if way_back.scalable_targets else '?'}"
                f" -> {wanted['min_capacity']} instances of {to['instance_type']}"
            )
        try:
            described = clients.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if is_missing(error):
                return False, f"{name} no longer exists"
            raise
        status, config = described["EndpointStatus"], described["EndpointConfigName"]
        if status != "InService":
            return False, f"{name} is {status}"
        count = _count(described, plan["variant"])
        if plan["mode"] == "instance_count":
            if count != to["instance_count"]:
                return False, f"{name} runs {count} instance(s), not {to['instance_count']}"
            return True, f"{name}: {plan['from']['instance_count']} -> {count} x {to['instance_type']}"
        if config == plan["old_config"]:
            fired = _alarms_in_alarm(clients, list(plan["alarms"].values()))
            why = described.get("FailureReason") or (
                f"alarm {', '.join(fired)} in ALARM" if fired else "no reason given"
            )
            return False, f"SageMaker rolled the update back: {name} is InService on {config} ({why})"
        if config != plan["config_name"]:
            return False, f"{name} runs config {config}, neither the change's nor the way back's"
        if not plan["autoscaling"]["targets"] and count != to["instance_count"]:
            return False, f"{name} runs {count} instance(s), not {to['instance_count']}"
        missing = [
            t["resource_id"]
            for t in plan["autoscaling"]["targets"]
            if _scalable_target(clients, t["resource_id"], t["scalable_dimension"]) is None
        ]
        if missing:
            return False, f"{name} lacks its autoscaling ({', '.join(missing)})"
        moved = f"{plan['from']['instance_count']} x {plan['from']['instance_type']} -> {to['instance_count']} x {to['instance_type']}"
        image = f", image {plan['image']}" if plan["image"] else ""
        return True, f"{name}: {moved} (config {config}{image})"

    def finish(self, clients: Clients, change: Change) -> None:
        """Delete the change's alarms; and its config and model once the endpoint does not run them (after
        a rollback or an undo; while applied they are what runs)."""
        plan = change.target
        if plan.get("mode") != "blue_green":
            return
        alarms = list(plan["alarms"].values())
        existing = clients.cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
        if existing:
            clients.cloudwatch.delete_alarms(AlarmNames=[a["AlarmName"] for a in existing])
        sagemaker = clients.sagemaker
        try:
            running = sagemaker.describe_endpoint(EndpointName=change.endpoint_name)["EndpointConfigName"]
        except ClientError as error:
            if not is_missing(error):
                raise
            running = None
        if running == plan["config_name"]:
            return
        _delete_if_there(sagemaker.delete_endpoint_config, EndpointConfigName=plan["config_name"])
        if plan["model_name"]:
            _delete_if_there(sagemaker.delete_model, ModelName=plan["model_name"])

    # ---- Roll back ----
    def roll_back(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        plan = change.target
        name = change.endpoint_name
        if plan["mode"] == "scalable_target":
            replay_autoscaling(clients.autoscaling, way_back)
            return
        try:
            described = clients.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if is_missing(error):
                return  # rollback_progress says it failed: nothing to bring back here
            raise
        if described["EndpointStatus"] != "InService":
            return  # an update under way cannot be updated: rollback_progress follows it, then goes on
        before = next(v.instance_count for v in way_back.variants if v.name == plan["variant"])
        if described["EndpointConfigName"] == way_back.config_name:
            if _count(described, plan["variant"]) != before and not way_back.scalable_targets:
                _set_count(clients.sagemaker, name, described, plan["variant"], before)
            return
        recreate_models_and_config(clients.sagemaker, way_back)
        for target in plan.get("autoscaling", {}).get("targets", []):
            _deregister(clients, target)  # AWS refuses a type change of a scalable variant
        # No DeploymentConfig: the change's own alarms must not roll the rollback back.
        clients.sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=way_back.config_name)

    def rollback_progress(self, clients: Clients, change: Change, way_back: WayBack) -> Progress:
        plan = change.target
        name = change.endpoint_name
        if plan["mode"] != "scalable_target":
            try:
                described = clients.sagemaker.describe_endpoint(EndpointName=name)
            except ClientError as error:
                if is_missing(error):
                    return Progress(state="failed", detail=f"{name} no longer exists")
                raise
            status = described["EndpointStatus"]
            if status in MOVING:
                return Progress(state="waiting", detail=f"{name} is {status}")
            if status != "InService":
                reason = described.get("FailureReason") or "no reason given"
                return Progress(state="failed", detail=f"{name} is {status}: {reason}")
            before = next(v.instance_count for v in way_back.variants if v.name == plan["variant"])
            count_differs = _count(described, plan["variant"]) != before and not way_back.scalable_targets
            if described["EndpointConfigName"] != way_back.config_name or count_differs:
                self.roll_back(clients, change, way_back)  # the update it waited for has ended: now back
                return Progress(state="waiting", detail=f"{name} is going back to {way_back.config_name}")
        if missing_autoscaling(clients.autoscaling, way_back):
            replay_autoscaling(clients.autoscaling, way_back)
        return Progress(state="stable", detail=f"{name} is back on {way_back.config_name}")


RIGHTSIZE_STEPS = BlueGreenSteps(Action.RIGHTSIZE)
GRAVITON_STEPS = BlueGreenSteps(Action.MIGRATE_GRAVITON)


# ---- helpers --------------------------------------------------------------------------------------------
def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _only_variant(way_back: WayBack) -> dict[str, Any]:
    variants: list[dict[str, Any]] = way_back.endpoint_config.get("ProductionVariants", [])
    if len(variants) != 1 or not variants[0].get("InstanceType"):
        raise ActionRefused(f"{way_back.endpoint_name}: not one instance-based variant; left alone")
    return variants[0]


def _count(described: Any, variant: str) -> int | None:
    for item in described.get("ProductionVariants", []):
        if item["VariantName"] == variant:
            return int(item.get("CurrentInstanceCount", item.get("DesiredInstanceCount", 0)))
    return None


def _canary(instance_count: int) -> dict[str, Any]:
    """One instance first: 10 % of a fleet of ten or more, else one instance (CanarySize <= 50 %, so a
    one-instance fleet goes all at once: the bake and the alarms still guard it)."""
    if instance_count >= 10:
        return {"Type": "CAPACITY_PERCENT", "Value": CANARY_PERCENT}
    return {"Type": "INSTANCE_COUNT", "Value": 1}


def _baseline_p99_ms(finding: Finding) -> float | None:
    confirmation = finding.confirmation
    if confirmation is None:
        return None
    return confirmation.baseline.observed_p99_latency_ms


def read_p99_ms(clients: Clients, endpoint_name: str, variant: str, now: datetime) -> float | None:
    """p99 ModelLatency (ms) of the variant over the last P99_LOOKBACK_DAYS, one period; None without data."""
    end = now.replace(second=0, microsecond=0)
    period = P99_LOOKBACK_DAYS * 86_400
    query: Any = {
        "Id": "p99",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "ModelLatency",
                "Dimensions": _dimensions(endpoint_name, variant),
            },
            "Period": period,
            "Stat": "p99",
        },
    }
    result = clients.cloudwatch.get_metric_data(
        MetricDataQueries=[query], StartTime=end - timedelta(seconds=period), EndTime=end
    )
    values = [float(v) for r in result["MetricDataResults"] for v in r.get("Values", [])]
    return round(max(values) / MICROSECONDS_PER_MS, 3) if values else None


def _dimensions(endpoint_name: str, variant: str) -> list[dict[str, str]]:
    return [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant}]


def _autoscaling_after(way_back: WayBack, variant: str, count: int) -> dict[str, Any]:
    """The variant's autoscaling to deregister before the update and register after it: the way back's,
    its capacities widened to hold the planned count (else autoscaling would undo the move at once)."""
    resource_id = variant_resource_id(way_back.endpoint_name, variant)
    targets = [
        {
            "resource_id": t.resource_id,
            "scalable_dimension": t.scalable_dimension,
            "min_capacity": min(t.min_capacity, count),
            "max_capacity": max(t.max_capacity, count),
        }
        for t in way_back.scalable_targets
        if t.resource_id == resource_id
    ]
    return {
        "targets": targets,
        "policies": [p for p in way_back.scaling_policies if p["ResourceId"] == resource_id],
        "scheduled": [a for a in way_back.scheduled_actions if a["ResourceId"] == resource_id],
    }


def _register(clients: Clients, target: dict[str, Any]) -> None:
    clients.autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=target["resource_id"],
        ScalableDimension=target["scalable_dimension"],
        MinCapacity=target["min_capacity"],
        MaxCapacity=target["max_capacity"],
    )


def _register_after(clients: Clients, plan: dict[str, Any]) -> None:
    autoscaling = plan["autoscaling"]
    for target in autoscaling["targets"]:
        _register(clients, target)
    for policy in autoscaling["policies"]:
        clients.autoscaling.put_scaling_policy(**policy)
    for scheduled in autoscaling["scheduled"]:
        clients.autoscaling.put_scheduled_action(**scheduled)


def _deregister(clients: Clients, target: dict[str, Any]) -> None:
    """Deregister (which deletes its policies and scheduled actions); already gone is done."""
    if _scalable_target(clients, target["resource_id"], target["scalable_dimension"]) is None:
        return
    clients.autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=target["resource_id"],
        ScalableDimension=target["scalable_dimension"],
    )


def _scalable_target(clients: Clients, resource_id: str, dimension: str) -> tuple[int, int] | None:
    found = clients.autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[resource_id],
        ScalableDimension=dimension,  # type: ignore[arg-type]
    )["ScalableTargets"]
    return (found[0]["MinCapacity"], found[0]["MaxCapacity"]) if found else None


def _set_count(sagemaker: SageMakerClient, name: str, described: Any, variant: str, count: int) -> None:
    weight = next(
        (
            v.get("CurrentWeight")
            for v in described.get("ProductionVariants", [])
            if v["VariantName"] == variant
        ),
        None,
    )
    desired: dict[str, Any] = {"VariantName": variant, "DesiredInstanceCount": count}
    if weight is not None:
        desired["DesiredWeight"] = weight
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[desired],  # type: ignore[list-item]
    )


def _exists(describe: Any, **name: str) -> bool:
    try:
        describe(**name)
    except ClientError as error:
        if is_missing(error):
            return False
        raise
    return True


def _create_model(sagemaker: SageMakerClient, source: dict[str, Any], name: str, image: str) -> None:
    """The way back's model on the arm64 image (needs iam:PassRole of its ExecutionRoleArn)."""
    if _exists(sagemaker.describe_model, ModelName=name):
        return
    body = request_body(sagemaker, "CreateModel", source)
    body["ModelName"] = name
    body["PrimaryContainer"] = {**body["PrimaryContainer"], "Image": image}
    sagemaker.create_model(**body)


def _create_config(sagemaker: SageMakerClient, way_back: WayBack, plan: dict[str, Any]) -> None:
    name = plan["config_name"]
    if _exists(sagemaker.describe_endpoint_config, EndpointConfigName=name):
        return
    body = request_body(sagemaker, "CreateEndpointConfig", way_back.endpoint_config)
    body["EndpointConfigName"] = name
    variant = dict(body["ProductionVariants"][0])
    variant["InstanceType"] = plan["to"]["instance_type"]
    variant["InitialInstanceCount"] = plan["to"]["instance_count"]
    if plan["model_name"]:
        variant["ModelName"] = plan["model_name"]
    body["ProductionVariants"] = [variant]
    body.pop("Tags", None)
    sagemaker.create_endpoint_config(**body)


def _put_alarms(clients: Clients, change: Change) -> None:
    """PutMetricAlarm is an upsert: a retry rewrites the same alarms."""
    plan = change.target
    common: dict[str, Any] = {
        "Namespace": "AWS/SageMaker",
        "Dimensions": _dimensions(change.endpoint_name, plan["variant"]),
        "Period": ALARM_PERIOD_SECONDS,
        "EvaluationPeriods": ALARM_MINUTES,
        "DatapointsToAlarm": ALARM_MINUTES,
        "TreatMissingData": "notBreaching",  # no traffic in a minute is not a failure
    }
    alarms = plan["alarms"]
    clients.cloudwatch.put_metric_alarm(
        AlarmName=alarms["errors"],
        AlarmDescription=f"endpoint-optimizer change {change.action_id}: rolls its update back on 5XX errors",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **common,
    )
    if "latency" in alarms:
        clients.cloudwatch.put_metric_alarm(
            AlarmName=alarms["latency"],
            AlarmDescription=(
                f"endpoint-optimizer change {change.action_id}: rolls its update back when p99 ModelLatency "
                f"exceeds the observed p99 x {LATENCY_MARGIN} ({plan['latency_source']})"
            ),
            MetricName="ModelLatency",
            ExtendedStatistic="p99",
            Threshold=float(plan["latency_threshold_us"]),
            ComparisonOperator="GreaterThanThreshold",
            **common,
        )


def _alarms_in_alarm(clients: Clients, names: list[str]) -> list[str]:
    if not names:
        return []
    found = clients.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    return [a["AlarmName"] for a in found if a.get("StateValue") == "ALARM"]


def _delete_if_there(delete: Any, **name: str) -> None:
    try:
        delete(**name)
    except ClientError as error:
        if not is_missing(error):
            raise
