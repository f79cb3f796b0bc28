"""Night parking through the real deployed stack on the emulated AWS: the optimize workflow proposes the
schedule rung with night parking for an endpoint whose owner tagged `endpoint-optimizer:park-at-night`, the
approver clicks Approve, and the apply workflow creates the two EventBridge Scheduler schedules. Each
schedule's own Target (the apply state machine, the scheduler role, its Input) then starts the apply
workflow as Scheduler would -- "Park or restore for the night", "Check whether the night step finished",
"Wait for the endpoint to come back" -- parking the endpoint with its way back, and restoring it in the
morning exactly as it served. `endpoint-optimizer undo ACTION_ID` deletes both schedules.

The emulator does not fire schedules (moto): the test reads each one back with GetSchedule and starts the
execution with its Target.Arn and Target.Input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from emulated_aws.fleet import put_hourly_metrics
from emulated_aws.rungs import LOOKBACK_HOURS, Fleet
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.act.restore import parked_way_back
from endpoint_optimizer.decide.night import PARK_AT_NIGHT_TAG
from endpoint_optimizer.decide.rules.schedule import TIMEZONE_TAG
from endpoint_optimizer.infra.stores import StateTable
from tests.e2e.test_apply_every_rung import approve, ledger, serving_state, undo

NAME = "support-ticket-router"
WINDOW = "22:00-06:00"
EVENING = 20  # the local hour "now" is made to fall in: after business hours, before the night's park


# ---- the endpoint ---------------------------------------------------------------------------------------
def evening_zone(now: datetime) -> str:
    """A fixed-offset IANA zone in which `now` is 20:xx: no business-hours traffic in the last hour
    (the night's re-check refuses an endpoint invoked in the last hour) whenever the test runs.
    Etc/GMT-N is UTC+N (POSIX sign), -14..+12."""
    east = (EVENING - now.hour + 12) % 24 - 12
    return f"Etc/GMT{-east:+d}"


def business_hours_quiet_at_night(fleet: Fleet) -> tuple[str, str]:
    """Two ml.m5.xlarge serving weekdays 09-17 local time only, tagged to be parked 22:00-06:00 local:
    the analyzer proposes the business-hours schedule with night parking. Returns (name, time zone)."""
    zone = evening_zone(fleet.now)
    offset = timedelta(hours=-int(zone.removeprefix("Etc/GMT")))
    name = fleet.endpoint(
        NAME,
        traffic="silent",
        instance_type="ml.m5.xlarge",
        tags={TIMEZONE_TAG: zone, PARK_AT_NIGHT_TAG: WINDOW},
    )
    # Two instances, as emulated_aws.rungs.business_hours makes them (fleet.endpoint makes one).
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[fleet.aws.account_id][fleet.aws.region]
    config = fleet.aws.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointConfigName"]
    backend.endpoint_configs[config].production_variants[0]["InitialInstanceCount"] = 2
    for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
        backend.endpoints[name].production_variants[0][key] = 2

    def busy(hour: int) -> bool:
        local = fleet.window_start + timedelta(hours=hour) + offset
        return local.weekday() < 5 and 9 <= local.hour < 17

    put_hourly_metrics(
        fleet.aws.client("cloudwatch"),
        endpoint=name,
        variant="AllTraffic",
        start=fleet.window_start,
        hours=LOOKBACK_HOURS,
        invocations=[900.0 if busy(h) else 0.0 for h in range(LOOKBACK_HOURS)],
        cpu=[160.0 if busy(h) else 8.0 for h in range(LOOKBACK_HOURS)],
        memory=[40.0] * LOOKBACK_HOURS,
    )
    return name, zone


# ---- what Scheduler would do --------------------------------------------------------------------------
def schedules_of(aws: EmulatedAws, group: str) -> dict[str, dict[str, Any]]:
    scheduler = aws.client("scheduler")
    listed = scheduler.list_schedules(GroupName=group)["Schedules"]
    return {s["Name"]: scheduler.get_schedule(GroupName=group, Name=s["Name"]) for s in listed}


def fire(aws: EmulatedAws, schedule: dict[str, Any]) -> dict[str, Any]:
    """Start the schedule's target as EventBridge Scheduler does (its Arn and Input, no execution name);
    returns the ended execution (DescribeExecution)."""
    sfn = aws.client("stepfunctions")
    target = schedule["Target"]
    started = sfn.start_execution(stateMachineArn=target["Arn"], input=target["Input"])
    return aws.wait_for_execution(started["executionArn"], timeout_s=120)


def states_entered(aws: EmulatedAws, execution: dict[str, Any]) -> list[str]:
    events = aws.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])
    return [
        e["stateEnteredEventDetails"]["name"] for e in events["events"] if "stateEnteredEventDetails" in e
    ]


def _listed(value: Any) -> list[Any]:
    """An IAM policy field that holds one item or a list of them."""
    return value if isinstance(value, list) else [value]


def roles_scheduler_may_start(aws: EmulatedAws, state_machine_arn: str) -> list[str]:
    """ARNs of the roles EventBridge Scheduler may assume whose inline policies allow
    states:StartExecution on `state_machine_arn`."""
    iam = aws.client("iam")
    found = []
    for role in iam.list_roles()["Roles"]:
        if "scheduler.amazonaws.com" not in json.dumps(role["AssumeRolePolicyDocument"]):
            continue
        for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy)["PolicyDocument"]
            if any(
                statement["Effect"] == "Allow"
                and "states:StartExecution" in _listed(statement["Action"])
                and state_machine_arn in _listed(statement["Resource"])
                for statement in _listed(document["Statement"])
            ):
                found.append(role["Arn"])
    return found


# ---- the spec -------------------------------------------------------------------------------------------
def test_an_approved_night_parking_is_parked_by_its_night_schedule_restored_by_its_morning_one_and_undone(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN two instances busy on weekday business hours, never invoked at night, tagged park-at-night
    22:00-06:00 in their time zone
    WHEN the scheduled run proposes the schedule rung and the approver approves
    THEN the result is "applied", and both EventBridge Scheduler schedules exist in the stack's group with
    their cron in the endpoint's time zone, starting the stack's apply workflow with the stack's scheduler
    role
    WHEN the apply workflow is started with the night schedule's own Target.Input
    THEN the execution succeeds and the endpoint is parked, with the way back `restore` uses
    WHEN it is started with the morning schedule's Target.Input
    THEN the execution succeeds (after waiting for the endpoint) and it serves exactly as before the night
    AND WHEN `endpoint-optimizer undo ACTION_ID` runs THEN no schedule is left and the endpoint serves
    exactly as before the change.
    """
    name, zone = business_hours_quiet_at_night(fleet)
    before = serving_state(aws, name)

    approved = approve(aws, stack, slack, name, "apply-night-park")

    assert approved.card.action == "schedule"
    assert (approved.result["endpoint_name"], approved.result["outcome"]) == (name, "applied"), (
        approved.result
    )
    assert f"parked {WINDOW} {zone}, restored in the morning" in approved.result["detail"]
    action_id = approved.result["action_id"]
    group = f"{stack.stack_name}-night-park"
    night_name, morning_name = f"eo-{name}-night-park", f"eo-{name}-morning-restore"
    found = schedules_of(aws, group)
    assert sorted(found) == sorted([night_name, morning_name])
    (role_arn,) = roles_scheduler_may_start(aws, stack.apply_state_machine_arn)
    for schedule_name, cron, step in (
        (night_name, "cron(0 22 ? * * *)", "park"),
        (morning_name, "cron(0 6 ? * * *)", "restore"),
    ):
        schedule = found[schedule_name]
        assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (cron, zone)
        assert schedule["State"] == "ENABLED"
        assert (schedule["Target"]["Arn"], schedule["Target"]["RoleArn"]) == (
            stack.apply_state_machine_arn,
            role_arn,
        )
        assert json.loads(schedule["Target"]["Input"]) == {
            "night": {"endpoint_name": name, "schedule_action_id": action_id, "step": step}
        }
    serving = serving_state(aws, name)
    assert serving["scheduled"] != before["scheduled"]  # the business-hours part is there too

    # ---- the night
    night = fire(aws, found[night_name])

    assert night["status"] == "SUCCEEDED", states_entered(aws, night)
    parked = json.loads(night["output"])
    assert (parked["outcome"], parked["action"]) == ("applied", "park"), parked
    assert aws.client("sagemaker").list_endpoints(NameContains=name)["Endpoints"] == []
    way_back = parked_way_back(StateTable(aws.client("dynamodb"), stack.table_name), name)
    assert way_back.config_name == serving["config"]
    assert [(e["action"], e["outcome"]) for e in ledger(aws, stack, name)][-1] == ("park", "applied")

    # ---- the morning
    morning = fire(aws, found[morning_name])

    assert morning["status"] == "SUCCEEDED", states_entered(aws, morning)
    restored = json.loads(morning["output"])
    assert restored["outcome"] == "restored", restored
    assert "Wait for the endpoint to come back" in states_entered(aws, morning)
    assert serving_state(aws, name) == serving

    # ---- undo
    assert undo(stack, action_id) == 0

    assert schedules_of(aws, group) == {}
    assert serving_state(aws, name) == before
    assert [e["outcome"] for e in ledger(aws, stack, name) if e.get("action_id") == action_id] == [
        "applied",
        "undone",
    ]


def test_undo_in_the_night_deletes_both_schedules_and_brings_the_parked_endpoint_back(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN night parking approved and applied, and the endpoint parked by its night schedule
    WHEN `endpoint-optimizer undo ACTION_ID` runs before the morning
    THEN no schedule is left and the endpoint serves exactly as before the change (restored from the
    night's way back, then its business-hours schedule taken back)."""
    name, _ = business_hours_quiet_at_night(fleet)
    before = serving_state(aws, name)
    approved = approve(aws, stack, slack, name, "apply-night-park-undo")
    assert approved.result["outcome"] == "applied", approved.result
    action_id = approved.result["action_id"]
    group = f"{stack.stack_name}-night-park"
    night = fire(aws, schedules_of(aws, group)[f"eo-{name}-night-park"])
    assert json.loads(night["output"])["outcome"] == "applied", night

    assert undo(stack, action_id) == 0

    assert schedules_of(aws, group) == {}
    assert serving_state(aws, name) == before
