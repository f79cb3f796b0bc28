"""schedule: Application Auto Scaling scheduled actions that bring the variant down to a floor off hours
and back before business hours, in the endpoint's time zone.

On the variant's scalable target (`endpoint/<name>/variant/<variant>`, sagemaker:variant:DesiredInstanceCount),
registered first when the variant has none (min = max = today's count, so nothing moves until a schedule
fires). Two PutScheduledAction calls, each with Schedule `cron(...)` and Timezone (an IANA name: "the time
zone used when setting a scheduled action by using an at or cron expression", botocore 1.43
application-autoscaling PutScheduledAction, read 2026-12-01):
- `eo-<name>-business-hours`, weekdays 06:30 local: back to the business-hours capacities (the target's own
  Min/Max when it had one, else today's count), half an hour before BUSINESS_HOURS start so the instances
  are in service when the day begins;
- `eo-<name>-off-hours`, weekdays at the end of business hours: Min = Max = the floor (1 instance).

Undo (and rollback): delete both scheduled actions, deregister the target when this change registered it
(else register it again with its Min/Max exactly as before), and put the variant's instance count back to
the way back's when a schedule had changed it (UpdateEndpointWeightsAndCapacities).

Not built: the park-at-night opt-in for endpoints that may be down overnight. It would take an EventBridge
Scheduler schedule pair per opted-in endpoint (tag `endpoint-optimizer:park-at-night=true`), each invoking
the apply function (a park at night, a restore in the morning) through a role scheduler.amazonaws.com may
assume with lambda:InvokeFunction; scheduler:CreateSchedule/DeleteSchedule and iam:PassRole for the apply
role; a restore that runs unattended (today it is the operator's CLI, with CreateEndpoint and friends
outside the apply role); and the morning's restore must be verified and alarmed, since nobody is watching.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

from endpoint_optimizer.act.endpoint_state import ActionRefused, error_code
from endpoint_optimizer.decide.rules.schedule import OFF_HOURS_FLOOR, TIMEZONE_TAG, time_zone
from endpoint_optimizer.decide.thresholds import BUSINESS_HOURS
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Finding, ProposedAction, WayBack
from endpoint_optimizer.models.change import Change, Progress
from endpoint_optimizer.scan.inventory import variant_resource_id

DIMENSION: Final[Literal["sagemaker:variant:DesiredInstanceCount"]] = "sagemaker:variant:DesiredInstanceCount"
SCALE_UP_LEAD_MINUTES = 30  # instances take minutes to come into service: scale up before the day starts


def _action_names(endpoint_name: str) -> tuple[str, str]:
    """ScheduledActionName: 1-256 printable characters without | : / (botocore 1.43, read 2026-12-01)."""
    return f"eo-{endpoint_name}-business-hours", f"eo-{endpoint_name}-off-hours"


def _up_cron() -> str:
    minutes = BUSINESS_HOURS.start * 60 - SCALE_UP_LEAD_MINUTES
    return f"cron({minutes % 60} {minutes // 60} ? * MON-FRI *)"


def _down_cron() -> str:
    return f"cron(0 {BUSINESS_HOURS.stop} ? * MON-FRI *)"


def _target_of(clients: Clients, resource_id: str) -> dict[str, Any] | None:
    found = clients.autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    return dict(found[0]) if found else None


def _scheduled(clients: Clients, resource_id: str) -> dict[str, dict[str, Any]]:
    items = clients.autoscaling.describe_scheduled_actions(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=DIMENSION
    )["ScheduledActions"]
    return {item["ScheduledActionName"]: dict(item) for item in items}


def _unless_gone(call: Any, **request: Any) -> None:
    """A delete that a retry may find done already (ObjectNotFoundException)."""
    try:
        call(**request)
    except ClientError as error:
        if error_code(error) != "ObjectNotFoundException":
            raise


class ScheduleSteps:
    """act/steps.py ChangeSteps for schedule."""

    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        name = finding.endpoint_name
        _, bad_zone = time_zone(tags)
        if bad_zone:
            raise ActionRefused(f"{name}: {bad_zone}; left alone")
        variants = described.get("ProductionVariants") or []
        if len(variants) != 1 or variants[0].get("CurrentServerlessConfig"):
            raise ActionRefused(f"{name}: a schedule needs exactly one instance variant; left alone")
        if int(variants[0].get("CurrentInstanceCount", 0)) <= OFF_HOURS_FLOOR:
            raise ActionRefused(
                f"{name} runs {variants[0].get('CurrentInstanceCount', 0)} instance(s) now; nothing to "
                "scale down off hours; left alone"
            )

    def plan(
        self, clients: Clients, action: ProposedAction, way_back: WayBack, now: datetime
    ) -> dict[str, Any]:
        name = action.finding.endpoint_name
        zone, _ = time_zone(way_back.tags)
        (variant,) = way_back.variants
        resource_id = variant_resource_id(name, variant.name)
        if any(item.get("ResourceId") == resource_id for item in way_back.scheduled_actions):
            raise ActionRefused(f"{name} has scheduled actions now (added since the scan); left alone")
        existing = next((t for t in way_back.scalable_targets if t.resource_id == resource_id), None)
        business = (
            (existing.min_capacity, existing.max_capacity)
            if existing
            else (variant.instance_count, variant.instance_count)
        )
        up, down = _action_names(name)
        return {
            "resource_id": resource_id,
            "variant_name": variant.name,
            "timezone": zone,
            "timezone_tagged": TIMEZONE_TAG in way_back.tags,
            "registered_target": existing is None,  # this change registers it: undo deregisters it
            "business": {"MinCapacity": business[0], "MaxCapacity": business[1]},
            "off_hours": {"MinCapacity": OFF_HOURS_FLOOR, "MaxCapacity": OFF_HOURS_FLOOR},
            "actions": {up: _up_cron(), down: _down_cron()},
        }

    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        target = change.target
        resource_id = target["resource_id"]
        if target["registered_target"] and _target_of(clients, resource_id) is None:
            clients.autoscaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource_id,
                ScalableDimension=DIMENSION,
                MinCapacity=target["business"]["MinCapacity"],
                MaxCapacity=target["business"]["MaxCapacity"],
            )
        up, down = _action_names(change.endpoint_name)
        for action_name, capacities in ((up, target["business"]), (down, target["off_hours"])):
            # An upsert: a retry puts the same action again.
            clients.autoscaling.put_scheduled_action(
                ServiceNamespace="sagemaker",
                ScheduledActionName=action_name,
                ResourceId=resource_id,
                ScalableDimension=DIMENSION,
                Schedule=target["actions"][action_name],
                Timezone=target["timezone"],
                ScalableTargetAction=capacities,
            )

    def progress(self, clients: Clients, change: Change) -> Progress:
        return Progress(state="stable")  # scheduled actions take effect when they fire, not now

    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        target = change.target
        if _target_of(clients, target["resource_id"]) is None:
            return False, f"no scalable target on {target['resource_id']}"
        found = _scheduled(clients, target["resource_id"])
        up, down = _action_names(change.endpoint_name)
        for action_name, capacities in ((up, target["business"]), (down, target["off_hours"])):
            item = found.get(action_name)
            if item is None:
                return False, f"scheduled action {action_name} is missing"
            seen = (item.get("Schedule"), item.get("Timezone"), dict(item.get("ScalableTargetAction") or {}))
            if seen != (target["actions"][action_name], target["timezone"], capacities):
                return False, f"scheduled action {action_name} is {seen}"
        hours = f"{BUSINESS_HOURS.start:02d}-{BUSINESS_HOURS.stop:02d} {target['timezone']}"
        return True, (
            f"scheduled: {target['business']['MaxCapacity']} instance(s) max weekdays {hours}, "
            f"{OFF_HOURS_FLOOR} otherwise"
        )

    def finish(self, clients: Clients, change: Change) -> None:
        return None  # nothing temporary

    def roll_back(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        self.rollback_progress(clients, change, way_back)

    def rollback_progress(self, clients: Clients, change: Change, way_back: WayBack) -> Progress:
        """Idempotent: delete the schedules, the target back as it was, the instance count back."""
        target = change.target
        resource_id = target.get("resource_id")
        if not resource_id:  # the change carries no plan: nothing was done
            return Progress(state="stable")
        autoscaling = clients.autoscaling
        present = _scheduled(clients, resource_id)
        for action_name in _action_names(change.endpoint_name):
            if action_name in present:
                _unless_gone(
                    autoscaling.delete_scheduled_action,
                    ServiceNamespace="sagemaker",
                    ScheduledActionName=action_name,
                    ResourceId=resource_id,
                    ScalableDimension=DIMENSION,
                )
        before = next((t for t in way_back.scalable_targets if t.resource_id == resource_id), None)
        if before is None:
            if _target_of(clients, resource_id) is not None:
                _unless_gone(
                    autoscaling.deregister_scalable_target,
                    ServiceNamespace="sagemaker",
                    ResourceId=resource_id,
                    ScalableDimension=DIMENSION,
                )
        else:
            now = _target_of(clients, resource_id)
            if now is None or (now["MinCapacity"], now["MaxCapacity"]) != (
                before.min_capacity,
                before.max_capacity,
            ):
                autoscaling.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=resource_id,
                    ScalableDimension=DIMENSION,
                    MinCapacity=before.min_capacity,
                    MaxCapacity=before.max_capacity,
                )
        described = clients.sagemaker.describe_endpoint(EndpointName=change.endpoint_name)
        if described["EndpointStatus"] != "InService":
            return Progress(state="waiting", detail=f"the endpoint is {described['EndpointStatus']}")
        counts = {
            v["VariantName"]: int(v.get("CurrentInstanceCount", 0)) for v in described["ProductionVariants"]
        }
        wrong = [v for v in way_back.variants if counts.get(v.name) != v.instance_count]
        if wrong:
            # A schedule had fired (off hours): the count goes back to the way back's.
            clients.sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=change.endpoint_name,
                DesiredWeightsAndCapacities=[
                    {"VariantName": v.name, "DesiredInstanceCount": v.instance_count} for v in wrong
                ],
            )
            return Progress(state="waiting", detail="instance count going back")
        return Progress(state="stable")


STEPS = ScheduleSteps()
