"""Night parking through the apply workflow on the emulated AWS, from the finding the real scanner and
analyzer make of an endpoint busy on weekday business hours in Paris whose owner tagged
`endpoint-optimizer:park-at-night` = 22:00-06:00: applying the schedule change creates the two EventBridge
Scheduler schedules (cron in Europe/Paris, the apply workflow as target); the night schedule's own input
parks the endpoint with a way back, the morning's restores it identically; undo deletes the schedules and
restores a parked endpoint; a failed second CreateSchedule leaves no half schedule.

The emulator does not fire schedules: each schedule's Target.Input is read back with GetSchedule and run
through the apply workflow's night path as Step Functions runs it ("Park or restore for the night", then
"Wait for the endpoint to come back" until the restore is done)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulated_aws.fleet import put_hourly_metrics
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act import apply
from endpoint_optimizer.act.night import park_tonight, restore_morning
from endpoint_optimizer.act.park import _settle as settle_park
from endpoint_optimizer.act.schedule import NightParkSetup, ScheduleSteps
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import ActionResult, Intent, ProposedAction
from endpoint_optimizer.models.change import NightState, night_prefix
from tests.integration.apply_driver import SKIP_TAG, drive
from tests.integration.faults import LambdaDied, clients_for
from tests.integration.parkable import TABLE, table_of
from tests.integration.test_apply_schedule import NAME, NOW, scanned_action, seed, state

GROUP = "endpoint-optimizer-night-park"
NIGHT_TAGS = {"endpoint-optimizer:park-at-night": "22:00-06:00"}
PARK_NAME, RESTORE_NAME = f"eo-{NAME}-night-park", f"eo-{NAME}-morning-restore"
TONIGHT = NOW.replace(hour=21)  # 22:00 in Paris (UTC+1 in winter)
MORNING = NOW + timedelta(hours=17)  # 06:00 Paris the next day


def setup_of(aws: EmulatedAws) -> NightParkSetup:
    return NightParkSetup(
        schedule_group=GROUP,
        scheduler_role_arn=f"arn:aws:iam::{aws.account_id}:role/endpoint-optimizer-night-park",
        apply_state_machine_arn=f"arn:aws:states:{aws.region}:{aws.account_id}:stateMachine:endpoint-optimizer-apply",
        state_table=TABLE,
    )


def night_seed(aws: EmulatedAws, *, metrics: bool) -> None:
    seed(aws, metrics=metrics, tags=NIGHT_TAGS)
    aws.client("scheduler").create_schedule_group(Name=GROUP)


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> ProposedAction:
    night_seed(aws, metrics=True)
    return scanned_action(aws, action_id="night-1")


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()


def schedules(aws: EmulatedAws) -> dict[str, dict[str, Any]]:
    scheduler = aws.client("scheduler")
    listed = scheduler.list_schedules(GroupName=GROUP)["Schedules"]
    return {s["Name"]: scheduler.get_schedule(GroupName=GROUP, Name=s["Name"]) for s in listed}


def run_night(aws: EmulatedAws, schedule_name: str, *, now: datetime, polls: int = 10) -> ActionResult:
    """The apply workflow's night path started with the schedule's own Target.Input."""
    return run_night_with(clients_for(aws), aws, schedule_name, now=now, polls=polls)


def run_night_with(
    clients: Clients, aws: EmulatedAws, schedule_name: str, *, now: datetime, polls: int = 10
) -> ActionResult:
    found = aws.client("scheduler").get_schedule(GroupName=GROUP, Name=schedule_name)
    night = NightState.model_validate(json.loads(found["Target"]["Input"]))
    table = table_of(clients)
    if night.night.step == "park":
        return park_tonight(clients, table, night.night, mode="auto", skip_tag_key=SKIP_TAG, now=now)
    for _ in range(polls):
        result = restore_morning(clients, table, night.night, now=now)
        if result is not None:
            return result
    raise AssertionError("the emulated restore never finished")


def applied(aws: EmulatedAws, scanned: ProposedAction, steps: ScheduleSteps | None = None) -> ActionResult:
    clients = clients_for(aws)
    return drive(clients, table_of(clients), steps or ScheduleSteps(night=setup_of(aws)), scanned, now=NOW)


def undo(aws: EmulatedAws, action_id: str) -> None:
    clients = clients_for(aws)
    table = table_of(clients)
    entry = apply.applied_entry(table, action_id)
    apply.undo(clients, table, ScheduleSteps(night=setup_of(aws)), entry, now=MORNING, pause=lambda: None)


# ---- the finding; applied -----------------------------------------------------------------------------
def test_the_finding_proposes_night_parking_in_the_endpoints_time_zone(scanned: ProposedAction) -> None:
    # GIVEN an endpoint tagged park-at-night 22:00-06:00 in Europe/Paris, never invoked at night
    # THEN the schedule finding proposes night parking too, and says why
    finding = scanned.finding
    assert finding.evidence["night_park"] == "22:00-06:00"
    assert "parked 22:00-06:00 Europe/Paris" in (finding.target or "")
    assert any(
        r.startswith("night parking 22:00-06:00 (Europe/Paris): no invocation") for r in finding.reasons
    )


def test_applying_creates_both_schedules_with_cron_time_zone_and_target_input(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the endpoint as scanned
    night_seed(aws, metrics=False)
    # WHEN the approved change is applied
    result = applied(aws, scanned)
    # THEN it is verified, and two schedules start the apply workflow in Paris time
    assert result.outcome == "applied", result.detail
    assert "parked 22:00-06:00 Europe/Paris" in result.detail
    found = schedules(aws)
    assert sorted(found) == sorted([PARK_NAME, RESTORE_NAME])
    setup = setup_of(aws)
    for name, cron, step in (
        (PARK_NAME, "cron(0 22 ? * * *)", "park"),
        (RESTORE_NAME, "cron(0 6 ? * * *)", "restore"),
    ):
        item = found[name]
        assert (item["ScheduleExpression"], item["ScheduleExpressionTimezone"]) == (cron, "Europe/Paris")
        assert (item["Target"]["Arn"], item["Target"]["RoleArn"]) == (
            setup.apply_state_machine_arn,
            setup.scheduler_role_arn,
        )
        assert json.loads(item["Target"]["Input"]) == {
            "night": {"endpoint_name": NAME, "schedule_action_id": scanned.action_id, "step": step}
        }


# ---- the nights ---------------------------------------------------------------------------------------
def test_the_night_input_parks_with_a_way_back_and_the_morning_input_restores_identically(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the change applied
    night_seed(aws, metrics=False)
    assert applied(aws, scanned).outcome == "applied"
    serving = state(aws)
    # WHEN the night schedule's input runs the apply workflow
    parked = run_night(aws, PARK_NAME, now=TONIGHT)
    # THEN the endpoint is parked through park(), with its way back and a ledger entry
    assert parked.outcome == "applied", parked.detail
    assert state(aws) is None
    assert table_of(clients_for(aws)).way_back(NAME, TONIGHT) is not None
    # AND a second start the same night (Scheduler's retry) changes nothing
    assert run_night(aws, PARK_NAME, now=TONIGHT + timedelta(minutes=5)).outcome == "skipped"
    # WHEN the morning schedule's input runs it
    restored = run_night(aws, RESTORE_NAME, now=MORNING)
    # THEN it serves exactly as before, its scheduled actions and target back
    assert restored.outcome == "restored", restored.detail
    assert state(aws) == serving
    # AND a second morning start is a no-op
    assert run_night(aws, RESTORE_NAME, now=MORNING + timedelta(minutes=5)).outcome == "skipped"


def test_traffic_in_the_last_hour_keeps_it_up_tonight(aws: EmulatedAws, scanned: ProposedAction) -> None:
    # GIVEN the change applied, and invocations in the hour before the night's park
    night_seed(aws, metrics=False)
    assert applied(aws, scanned).outcome == "applied"
    serving = state(aws)
    put_hourly_metrics(
        aws.client("cloudwatch"),
        endpoint=NAME,
        variant="AllTraffic",
        start=TONIGHT - timedelta(minutes=50),
        hours=1,
        invocations=[12.0],
        cpu=[30.0],
        memory=[40.0],
    )
    # WHEN the night schedule starts the workflow
    result = run_night(aws, PARK_NAME, now=TONIGHT)
    # THEN it is not parked tonight, and the result says why
    assert result.outcome == "refused"
    assert result.detail.startswith("not parked tonight:") and "12 invocations" in result.detail
    assert state(aws) == serving


def test_a_skip_tag_added_since_keeps_it_up_tonight(aws: EmulatedAws, scanned: ProposedAction) -> None:
    night_seed(aws, metrics=False)
    assert applied(aws, scanned).outcome == "applied"
    sagemaker = aws.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName=NAME)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": SKIP_TAG, "Value": "true"}])
    serving = state(aws)
    result = run_night(aws, PARK_NAME, now=TONIGHT)
    assert result.outcome == "refused" and SKIP_TAG in result.detail
    assert state(aws) == serving


# ---- undo -----------------------------------------------------------------------------------------------
def test_undo_while_parked_deletes_the_schedules_and_restores_it(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the endpoint before the change, then the change applied and the endpoint parked for the night
    night_seed(aws, metrics=False)
    before = state(aws)
    assert applied(aws, scanned).outcome == "applied"
    assert run_night(aws, PARK_NAME, now=TONIGHT).outcome == "applied"
    # WHEN the change is undone in the night
    undo(aws, scanned.action_id)
    # THEN no schedule is left, and the endpoint serves exactly as before the change
    assert schedules(aws) == {}
    assert state(aws) == before


def test_undo_in_the_day_deletes_the_schedules(aws: EmulatedAws, scanned: ProposedAction) -> None:
    night_seed(aws, metrics=False)
    before = state(aws)
    assert applied(aws, scanned).outcome == "applied"
    undo(aws, scanned.action_id)
    assert schedules(aws) == {}
    assert state(aws) == before
    # AND a night schedule's start that was already on its way parks nothing
    assert (
        park_tonight(
            clients_for(aws),
            table_of(clients_for(aws)),
            NightState.model_validate(
                {"night": {"endpoint_name": NAME, "schedule_action_id": scanned.action_id, "step": "park"}}
            ).night,
            mode="auto",
            skip_tag_key=SKIP_TAG,
            now=TONIGHT,
        ).outcome
        == "skipped"
    )


def park_dies_after_its_intent(aws: EmulatedAws, action_id: str, *, started: datetime) -> Intent:
    """Tonight's park driven just past its intent (way back stored, intent open, nothing changed yet: the
    undo's check that the endpoint is as the change left it still holds) and stopped there; its intent
    says it started at `started`."""
    clients = clients_for(aws)

    def dies_at_deregister(model: Any, **_: Any) -> None:
        if model.name == "DeregisterScalableTarget":
            raise LambdaDied(model.name)

    clients.autoscaling.meta.events.register("before-call", dies_at_deregister)
    with pytest.raises(LambdaDied):
        run_night_with(clients, aws, PARK_NAME, now=TONIGHT)
    table = table_of(clients_for(aws))
    (intent,) = [i for i in table.intents(NAME) if i.state == "open"]
    assert intent.action_id.startswith(night_prefix(action_id))
    table.put_intent(intent.model_copy(update={"started_at": started}))
    return table.intent(NAME, intent.action_id) or intent


def test_undo_waits_for_a_night_park_in_flight_and_restores_it(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the change applied, and tonight's park in flight: its intent written, the delete about to go
    night_seed(aws, metrics=False)
    before = state(aws)
    assert applied(aws, scanned).outcome == "applied"
    # (the intent's age is read against the clock: a park that started moments ago is in flight)
    in_flight = park_dies_after_its_intent(aws, scanned.action_id, started=datetime.now(UTC))
    waited: list[str | None] = []

    def the_park_goes_on() -> None:
        # While the undo waits, the night's Lambda goes on: the endpoint deleted, the park recorded.
        table = table_of(clients_for(aws))
        waited.append(table.intent(NAME, in_flight.action_id).state)  # type: ignore[union-attr]
        if len(waited) == 1:
            clients = clients_for(aws)
            for target in table.way_back(NAME, in_flight.snapshot_taken_at).scalable_targets:  # type: ignore[union-attr]
                clients.autoscaling.deregister_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=target.resource_id,
                    ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
                )
            clients.sagemaker.delete_endpoint(EndpointName=NAME)
            settle_park(
                clients.sagemaker, clients.autoscaling, table, in_flight, approved_by="night", now=TONIGHT
            )

    # WHEN the change is undone meanwhile
    clients = clients_for(aws)
    table = table_of(clients)
    apply.undo(
        clients,
        table,
        ScheduleSteps(night=setup_of(aws)),
        apply.applied_entry(table, scanned.action_id),
        now=MORNING,
        pause=the_park_goes_on,
    )
    # THEN the undo waited while the park was open, then restored it: serving exactly as before, no schedule
    assert waited[0] == "open"
    assert schedules(aws) == {}
    assert state(aws) == before
    assert {(e.action_id, e.outcome) for e in table.ledger(NAME)} >= {
        (in_flight.action_id, "applied"),
        (scanned.action_id, "undone"),
    }


def test_undo_settles_a_night_park_that_died_half_way_and_ends_serving(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the change applied, and a night's park whose Lambda died just after its intent an hour ago
    # (longer than any Lambda runs): its intent open, the endpoint serving
    night_seed(aws, metrics=False)
    before = state(aws)
    assert applied(aws, scanned).outcome == "applied"
    park_dies_after_its_intent(aws, scanned.action_id, started=datetime.now(UTC) - timedelta(hours=1))
    # WHEN the change is undone
    undo(aws, scanned.action_id)
    # THEN the dead park is settled (rolled back), nothing waits for it, and the endpoint serves as before
    assert [
        i.state for i in table_of(clients_for(aws)).intents(NAME) if i.action_id != scanned.action_id
    ] == ["rolled_back"]
    assert schedules(aws) == {}
    assert state(aws) == before


# ---- faults ---------------------------------------------------------------------------------------------
class _SecondCreateFails:
    """The scheduler client with its second CreateSchedule failing (an AWS error)."""

    def __init__(self, real: Any) -> None:
        self._real, self._creates = real, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def create_schedule(self, **request: Any) -> Any:
        self._creates += 1
        if self._creates == 2:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "InternalServerException", "Message": "boom"}}, "CreateSchedule"
            )
        return self._real.create_schedule(**request)


def test_a_failed_second_create_schedule_leaves_no_half_schedule(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the endpoint as scanned, and Scheduler failing the second CreateSchedule
    night_seed(aws, metrics=False)
    before = state(aws)
    clients = clients_for(aws)
    clients._cache["scheduler"] = _SecondCreateFails(clients.scheduler)
    # WHEN the change is applied
    result = drive(clients, table_of(clients), ScheduleSteps(night=setup_of(aws)), scanned, now=NOW)
    # THEN it is rolled back: the first schedule deleted, serving as before
    assert result.outcome == "rolled_back", result.detail
    assert schedules(aws) == {}
    assert state(aws) == before


def test_a_stack_without_night_parking_refuses_and_touches_nothing(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    night_seed(aws, metrics=False)
    before = state(aws)
    result = applied(aws, scanned, ScheduleSteps(night=None))
    assert result.outcome == "refused" and "night parking is not set up" in result.detail
    assert state(aws) == before and schedules(aws) == {}
