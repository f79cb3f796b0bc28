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

Night parking (an owner's opt-in, tag `endpoint-optimizer:park-at-night`, decide/night.py), planned when the
finding carries its window (evidence `night_park`): two EventBridge Scheduler schedules in the stack's group,
`eo-<name>-night-park` and `eo-<name>-morning-restore`, `cron(...)` with ScheduleExpressionTimezone (the
endpoint's time zone), each starting the apply workflow (the templated Step Functions target: Arn = the state
machine, RoleArn = the scheduler role, Input = the execution's input) with `{"night": {...}}`, which parks
through park() or restores through restore() (act/night.py). Act creates both; Verify reads both back (and
accepts the endpoint parked by its own night); rollback and undo delete both and, when the endpoint is
parked by one of its nights at that moment, restore it first.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

from endpoint_optimizer.act.endpoint_state import ActionRefused, endpoint_status, error_code
from endpoint_optimizer.act.night import parked_by_schedule
from endpoint_optimizer.act.park import _settle as settle_park
from endpoint_optimizer.act.restore import restore
from endpoint_optimizer.decide.night import PARK_AT_NIGHT_TAG, parse_window
from endpoint_optimizer.decide.rules.schedule import OFF_HOURS_FLOOR, TIMEZONE_TAG, time_zone
from endpoint_optimizer.decide.thresholds import BUSINESS_HOURS
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Action, Finding, Intent, ProposedAction, WayBack
from endpoint_optimizer.models.change import Change, Progress, night_prefix
from endpoint_optimizer.scan.inventory import variant_resource_id

DIMENSION: Final[Literal["sagemaker:variant:DesiredInstanceCount"]] = "sagemaker:variant:DesiredInstanceCount"
SCALE_UP_LEAD_MINUTES = 30  # instances take minutes to come into service: scale up before the day starts
# A night's park runs in one Lambda invocation, 15 minutes at most (Lambda's maximum timeout, AWS Lambda
# quotas, read 2026-12-01): an intent open longer is a park that died half-way, not one in flight.
NIGHT_PARK_LIFETIME = timedelta(minutes=15)


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
    """A delete that a retry may find done already (ObjectNotFoundException; Scheduler's
    ResourceNotFoundException)."""
    try:
        call(**request)
    except ClientError as error:
        if error_code(error) not in ("ObjectNotFoundException", "ResourceNotFoundException"):
            raise


# ---- night parking (EventBridge Scheduler) -------------------------------------------------------
# Schedule Name: 1-64 characters of [0-9a-zA-Z-_.] (botocore scheduler 2021-06-30 CreateSchedule, read
# 2026-12-01); an endpoint name has up to 63: a long one is cut and told apart by its crc32.
SCHEDULE_NAME_MAX = 64
NIGHT_SUFFIXES = ("night-park", "morning-restore")
# A start that fails is retried for an hour at most (RetryPolicy MaximumEventAgeInSeconds 60-86400,
# MaximumRetryAttempts 0-185, default 24 h / 185: botocore, read 2026-12-01): a park started at noon after
# hours of retries would take down an endpoint in use.
NIGHT_RETRY_POLICY: Final = {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}


@dataclass(frozen=True)
class NightParkSetup:
    """What the stack provides night parking with (the apply function's settings): the schedule group, the
    role Scheduler starts the apply workflow with, the apply workflow, and the state table the nights'
    way backs are kept in (an undo restores a night's park from it)."""

    schedule_group: str
    scheduler_role_arn: str
    apply_state_machine_arn: str
    state_table: str


def night_schedule_names(endpoint_name: str) -> tuple[str, str]:
    """(`eo-<name>-night-park`, `eo-<name>-morning-restore`), within Scheduler's 64 characters."""
    longest = max(len(suffix) for suffix in NIGHT_SUFFIXES)
    room = SCHEDULE_NAME_MAX - len("eo-") - len("-") - longest
    stem = endpoint_name
    if len(stem) > room:
        stem = f"{stem[: room - 9]}-{zlib.crc32(endpoint_name.encode()):08x}"
    park, morning = (f"eo-{stem}-{suffix}" for suffix in NIGHT_SUFFIXES)
    return park, morning


def _night_plan(
    setup: NightParkSetup | None, action: ProposedAction, tags: dict[str, str], zone: str
) -> dict[str, Any] | None:
    finding = action.finding
    wanted = finding.evidence.get("night_park")
    if not wanted:
        return None
    name = finding.endpoint_name
    if setup is None:
        raise ActionRefused(
            f"{name}: night parking is not set up in this stack (no schedule group); left alone"
        )
    window = parse_window(tags.get(PARK_AT_NIGHT_TAG, ""))
    if isinstance(window, str) or str(window) != wanted:
        raise ActionRefused(
            f"{name}: tag {PARK_AT_NIGHT_TAG} is {tags.get(PARK_AT_NIGHT_TAG)!r} now, the finding was made "
            f"for {wanted!r}; scan again; left alone"
        )
    schedules: dict[str, dict[str, str]] = {}
    for schedule_name, step, at in zip(
        night_schedule_names(name), ("park", "restore"), (window.park, window.restore), strict=True
    ):
        request = {"night": {"endpoint_name": name, "schedule_action_id": action.action_id, "step": step}}
        schedules[schedule_name] = {"cron": window.cron(at), "input": json.dumps(request, sort_keys=True)}
    return {
        "group": setup.schedule_group,
        "role_arn": setup.scheduler_role_arn,
        "state_machine_arn": setup.apply_state_machine_arn,
        "state_table": setup.state_table,
        "window": str(window),
        "timezone": zone,
        "schedules": schedules,
    }


def _get_schedule(clients: Clients, group: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(clients.scheduler.get_schedule(GroupName=group, Name=name))
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def _create_night_schedules(clients: Clients, night: dict[str, Any]) -> None:
    for schedule_name, item in night["schedules"].items():
        try:
            clients.scheduler.create_schedule(
                GroupName=night["group"],
                Name=schedule_name,
                ScheduleExpression=item["cron"],
                ScheduleExpressionTimezone=night["timezone"],
                FlexibleTimeWindow={"Mode": "OFF"},
                State="ENABLED",
                Description=f"endpoint-optimizer night parking {night['window']}",
                Target={
                    "Arn": night["state_machine_arn"],
                    "RoleArn": night["role_arn"],
                    "Input": item["input"],
                    "RetryPolicy": NIGHT_RETRY_POLICY,
                },
            )
        except ClientError as error:
            # A retry after a lost reply finds its own schedule: Verify compares it with the plan.
            if error_code(error) != "ConflictException":
                raise


def _night_schedules_as_planned(clients: Clients, night: dict[str, Any]) -> tuple[bool, str]:
    for schedule_name, item in night["schedules"].items():
        found = _get_schedule(clients, night["group"], schedule_name)
        if found is None:
            return False, f"schedule {schedule_name} is missing"
        target = found.get("Target") or {}
        seen = (
            found.get("ScheduleExpression"),
            found.get("ScheduleExpressionTimezone"),
            target.get("Arn"),
            target.get("RoleArn"),
            target.get("Input"),
        )
        planned = (
            item["cron"],
            night["timezone"],
            night["state_machine_arn"],
            night["role_arn"],
            item["input"],
        )
        if seen != planned:
            return False, f"schedule {schedule_name} is {seen}"
    return True, f"parked {night['window']} {night['timezone']}, restored in the morning"


def _delete_night_schedules(clients: Clients, night: dict[str, Any]) -> None:
    for schedule_name in night["schedules"]:
        _unless_gone(clients.scheduler.delete_schedule, GroupName=night["group"], Name=schedule_name)


def _parked_tonight(clients: Clients, change: Change, night: dict[str, Any]) -> bool:
    table = StateTable(clients.dynamodb, night["state_table"])
    return parked_by_schedule(table, change.endpoint_name, change.action_id)


def _night_in_flight(table: StateTable, change: Change) -> Intent | None:
    """Tonight's park of this change under way: park() wrote its intent and may be deleting the endpoint
    now, before its ledger entry says parked."""
    prefix = night_prefix(change.action_id)
    return next(
        (
            intent
            for intent in table.intents(change.endpoint_name)
            if intent.state == "open" and intent.action == Action.PARK and intent.action_id.startswith(prefix)
        ),
        None,
    )


def _settle_the_night(clients: Clients, change: Change, table: StateTable, now: datetime) -> str | None:
    """Why the undo must wait for tonight's park (None: no park in flight). A park whose Lambda is past its
    hard limit died half-way: it is settled as park() settles it (gone -> parked, serving -> rolled back)."""
    in_flight = _night_in_flight(table, change)
    if in_flight is None:
        return None
    if now - in_flight.started_at < NIGHT_PARK_LIFETIME:
        return f"tonight's park {in_flight.action_id} is under way; restored once it settles"
    settle_park(
        clients.sagemaker,
        clients.autoscaling,
        table,
        in_flight,
        approved_by=f"night schedule of change {change.action_id}",
        now=now,
    )
    return None


def _restore_the_night(clients: Clients, change: Change, night: dict[str, Any]) -> Progress:
    """Schedules gone first (no park may start meanwhile), then a night's park restored: waiting until the
    endpoint is back with its autoscaling. A park in flight (its intent open) is waited for first: were the
    undo to go on, the park would complete after it and nothing would bring the endpoint back."""
    _delete_night_schedules(clients, night)
    table = StateTable(clients.dynamodb, night["state_table"])
    # The rollback steps take no clock (act/steps.py): the in-flight park is aged and settled as it happens.
    waiting = _settle_the_night(clients, change, table, datetime.now(UTC))
    if waiting:
        return Progress(state="waiting", detail=waiting)
    if not _parked_tonight(clients, change, night):
        return Progress(state="stable")
    restore(
        clients.sagemaker,
        clients.autoscaling,
        table,
        change.endpoint_name,
        s3=clients.s3,
        ecr=clients.ecr,
        # The rollback steps take no clock (act/steps.py): the restore's ledger entry is stamped as it happens.
        now=datetime.now(UTC),
        restored_by=f"undo of change {change.action_id}",
        wait=False,
    )
    if _parked_tonight(clients, change, night):
        return Progress(state="waiting", detail="restoring the night's park")
    return Progress(state="stable")


@dataclass(frozen=True)
class ScheduleSteps:
    """act/steps.py ChangeSteps for schedule: the business-hours scheduled actions (when the finding
    proposes them) and the night-parking schedules (when it carries a night window; `night` is the stack's
    setup, None where the stack has none)."""

    night: NightParkSetup | None = None

    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        name = finding.endpoint_name
        _, bad_zone = time_zone(tags)
        if bad_zone:
            raise ActionRefused(f"{name}: {bad_zone}; left alone")
        variants = described.get("ProductionVariants") or []
        if not _business(finding):
            if not variants or any(v.get("CurrentServerlessConfig") for v in variants):
                raise ActionRefused(f"{name}: night parking needs instance variants; left alone")
            return
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
        night = _night_plan(self.night, action, way_back.tags, zone)
        plan: dict[str, Any] = {"timezone": zone, "timezone_tagged": TIMEZONE_TAG in way_back.tags}
        if night is not None:
            plan["night"] = night
        if not _business(action.finding):
            return plan
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
            **plan,
            "resource_id": resource_id,
            "variant_name": variant.name,
            "registered_target": existing is None,  # this change registers it: undo deregisters it
            "business": {"MinCapacity": business[0], "MaxCapacity": business[1]},
            "off_hours": {"MinCapacity": OFF_HOURS_FLOOR, "MaxCapacity": OFF_HOURS_FLOOR},
            "actions": {up: _up_cron(), down: _down_cron()},
        }

    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        target = change.target
        resource_id = target.get("resource_id")
        if resource_id:
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
        if target.get("night"):
            _create_night_schedules(clients, target["night"])

    def progress(self, clients: Clients, change: Change) -> Progress:
        return Progress(state="stable")  # schedules take effect when they fire, not now

    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        target = change.target
        details: list[str] = []
        night = target.get("night")
        if night:
            at_target, detail = _night_schedules_as_planned(clients, night)
            if not at_target:
                return False, detail
            details.append(detail)
            if endpoint_status(clients.sagemaker, change.endpoint_name) is None and _parked_tonight(
                clients, change, night
            ):
                # Parked by its own night: the scheduled actions come back with the morning's restore.
                return True, "; ".join([*details, "parked for the night now"])
        if target.get("resource_id"):
            at_target, detail = self._verify_business(clients, change)
            if not at_target:
                return False, detail
            details.insert(0, detail)
        return True, "; ".join(details)

    def _verify_business(self, clients: Clients, change: Change) -> tuple[bool, str]:
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
        """Idempotent: the night schedules deleted (and a night's park restored), then the scheduled actions
        deleted, the target back as it was, the instance count back."""
        target = change.target
        if target.get("night"):
            seen = _restore_the_night(clients, change, target["night"])
            if seen.state != "stable":
                return seen
        resource_id = target.get("resource_id")
        if not resource_id:  # no business-hours part (or the change carries no plan: nothing was done)
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


def _business(finding: Finding) -> bool:
    """The finding proposes the business-hours scheduled actions (not only night parking)."""
    return "business_share" in finding.evidence


STEPS = ScheduleSteps()
