"""schedule through the apply workflow on the emulated AWS, from the finding the real scanner and analyzer
make of an endpoint busy on weekday business hours in Paris: scheduled actions in Europe/Paris scale it to
one instance off hours and back before the day starts; verified; undone back to the original (the
schedules gone, the scalable target as it was, the instance count back); a fault at any call ends serving
as before or at the verified target with its way back; its refusals touch nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from emulated_aws.fleet import VariantSpec, create_endpoint, put_hourly_metrics, register_scalable_target
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act import apply
from endpoint_optimizer.act.schedule import STEPS
from endpoint_optimizer.decide.plan import plan_for
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, ProposedAction
from endpoint_optimizer.scan.region import scan_region
from tests.conftest import policy
from tests.integration.apply_driver import drive
from tests.integration.faults import MODES, Faults, LambdaDied, Mode, clients_for
from tests.integration.parkable import create_state_table, serving_state, table_of

NAME = "support-ticket-router"
RESOURCE_ID = f"endpoint/{NAME}/variant/AllTraffic"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
SCANNED_AT = NOW - timedelta(hours=30)
LOOKBACK_HOURS = 21 * 24
PARIS = {"endpoint-optimizer:timezone": "Europe/Paris"}


def seed(
    aws: EmulatedAws, *, metrics: bool, tags: dict[str, str] | None = None, autoscaled: bool = False
) -> None:
    """Two ml.m5.xlarge serving weekdays 09-17 in Paris (08-16 UTC in winter) and nothing else."""
    aws.reset()
    create_state_table(aws)
    create_endpoint(
        aws.client("sagemaker"),
        name=NAME,
        variants=[VariantSpec(instance_type="ml.m5.xlarge", instance_count=2)],
        tags={"team": "support", **PARIS, **(tags or {})},
        created_days_ago=80,
        now=NOW,
    )
    if autoscaled:
        register_scalable_target(aws.client("application-autoscaling"), NAME, "AllTraffic", 2, 4)
    if metrics:
        start = SCANNED_AT.replace(minute=0) - timedelta(hours=LOOKBACK_HOURS)
        paris = ZoneInfo("Europe/Paris")
        local = [(start + timedelta(hours=i)).astimezone(paris) for i in range(LOOKBACK_HOURS)]
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=NAME,
            variant="AllTraffic",
            start=start,
            hours=LOOKBACK_HOURS,
            invocations=[900.0 if t.weekday() < 5 and 9 <= t.hour < 17 else 0.0 for t in local],
            cpu=[30.0] * LOOKBACK_HOURS,
            memory=[40.0] * LOOKBACK_HOURS,
        )


def scanned_action(aws: EmulatedAws, action_id: str = "sch-1") -> ProposedAction:
    snapshot = scan_region(
        Clients(region=aws.region), account_id=aws.account_id, lookback_days=21, now=SCANNED_AT
    )
    plan = plan_for(snapshot, bundled_price_book(), policy(LOOKBACK_DAYS="21"), SCANNED_AT)
    (finding,) = [f for f in plan.findings if f.endpoint_name == NAME]
    assert finding.action == Action.SCHEDULE, (finding.action, finding.reasons)
    return ProposedAction(action_id=action_id, finding=finding, mode="auto", approval_timeout_seconds=3600)


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> ProposedAction:
    seed(aws, metrics=True)
    return scanned_action(aws)


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()


def state(aws: EmulatedAws) -> dict[str, Any] | None:
    """serving_state plus the variant's instance count and the scheduled actions' time zones."""
    found = serving_state(aws, NAME)
    if found is None:
        return None
    described = aws.client("sagemaker").describe_endpoint(EndpointName=NAME)
    found["instances"] = [
        (v["VariantName"], v["CurrentInstanceCount"]) for v in described["ProductionVariants"]
    ]
    scheduled = aws.client("application-autoscaling").describe_scheduled_actions(ServiceNamespace="sagemaker")
    found["timezones"] = sorted(
        (a["ScheduledActionName"], a.get("Timezone")) for a in scheduled["ScheduledActions"]
    )
    return found


def undo(aws: EmulatedAws, action_id: str) -> None:
    clients = clients_for(aws)
    table = table_of(clients)
    apply.undo(
        clients,
        table,
        STEPS,
        apply.applied_entry(table, action_id),
        now=NOW + timedelta(days=2),
        pause=lambda: None,
    )


# ---- (1) the finding; applied, verified, undone ------------------------------------------------------
def test_the_finding_speaks_the_endpoints_time_zone(scanned: ProposedAction) -> None:
    # GIVEN an endpoint tagged Europe/Paris, busy 09-17 Paris time on weekdays
    # THEN the schedule is proposed in Paris hours (in UTC hours the share would fall short)
    assert "07-19 Europe/Paris on weekdays" in (scanned.finding.target or "")
    assert scanned.finding.evidence["timezone"] == "Europe/Paris"


def test_applied_verified_and_undone_registers_and_deregisters_the_target(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN the endpoint without a scalable target
    seed(aws, metrics=False)
    before = state(aws)
    # WHEN the approved schedule is applied
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW)
    # THEN a target holds today's 2 instances, with two scheduled actions in Europe/Paris
    assert result.outcome == "applied", result.detail
    after = state(aws)
    assert after is not None
    assert after["targets"] == [(RESOURCE_ID, "sagemaker:variant:DesiredInstanceCount", 2, 2)]
    assert after["scheduled"] == [
        (f"eo-{NAME}-business-hours", "cron(30 6 ? * MON-FRI *)", str({"MinCapacity": 2, "MaxCapacity": 2})),
        (f"eo-{NAME}-off-hours", "cron(0 19 ? * MON-FRI *)", str({"MinCapacity": 1, "MaxCapacity": 1})),
    ]
    assert {tz for _, tz in after["timezones"]} == {"Europe/Paris"}
    # WHEN it is undone
    undo(aws, scanned.action_id)
    # THEN no schedule, no target: as before
    assert state(aws) == before


def test_an_undo_whose_rollback_step_is_retried_completes_and_is_recorded_once(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    """GIVEN an applied schedule
    WHEN the workflow's undo runs step by step and its rollback step runs twice (Step Functions retries it
    when the invoke's reply is lost after the rollback was issued)
    THEN the undo is not refused: the endpoint is back as before and the ledger says undone once."""
    seed(aws, metrics=False)
    before = state(aws)
    clients = clients_for(aws)
    table = table_of(clients)
    assert drive(clients, table, STEPS, scanned, now=NOW).outcome == "applied"
    entry = apply.applied_entry(table, scanned.action_id)
    later = NOW + timedelta(days=2)

    change = apply.undo_start(clients, table, STEPS, entry, now=later)
    apply.undo_roll_back(clients, table, STEPS, change)
    change = apply.undo_roll_back(clients, table, STEPS, change)  # the retry
    assert not STEPS.verify(clients, change, apply.way_back_of(table, change))[0]  # on its way back
    for _ in range(20):
        if apply.undo_progress(clients, table, STEPS, change, now=later).state == "stable":
            break
    apply.undo_record(clients, table, STEPS, entry, now=later)

    assert state(aws) == before
    outcomes = [e.outcome for e in table.ledger(NAME) if e.action_id == entry.action_id]
    assert Counter(outcomes) == Counter({"applied": 1, "undone": 1})


def test_undo_after_the_evening_schedule_fired_restores_the_capacities_and_the_count(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    # GIVEN an autoscaled endpoint (target 2-4 with its policy) whose schedule was applied
    seed(aws, metrics=False, autoscaled=True)
    before = state(aws)
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, scanned, now=NOW)
    assert result.outcome == "applied", result.detail
    # AND the off-hours action fired: the target at 1-1 and the variant down to 1 instance
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE_ID,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=1,
    )
    aws.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=NAME,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 1}],
    )
    # WHEN it is undone
    undo(aws, scanned.action_id)
    # THEN the target is 2-4 again with its policy, the variant runs 2 instances, no schedules
    assert state(aws) == before


# ---- (2) a fault at every call ----------------------------------------------------------------------
def verdict(aws: EmulatedAws, before: dict[str, Any] | None, action_id: str) -> str:
    now = state(aws)
    if now == before:
        return "serving as before"
    applied = [e for e in table_of(clients_for(aws)).ledger(NAME) if e.action_id == action_id]
    if now is None or not applied or applied[-1].outcome != "applied":
        return f"LOST ({now})"
    try:
        undo(aws, action_id)
    except Exception as error:
        return f"LOST (undo: {type(error).__name__}: {error})"
    return (
        "at the verified target, undone identically" if state(aws) == before else "LOST (undone differently)"
    )


def trial(
    aws: EmulatedAws, scanned: ProposedAction, before: dict[str, Any] | None, mode: Mode, at: int
) -> str:
    seed(aws, metrics=False)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        drive(clients, table_of(clients), STEPS, scanned, now=NOW, faults=faults)
    except (LambdaDied, Exception) as error:
        return f"LOST (rollback: {type(error).__name__}: {error})"
    return verdict(aws, before, scanned.action_id)


@pytest.mark.faults
def test_no_fault_at_any_call_leaves_the_schedule_half_made(
    aws: EmulatedAws, scanned: ProposedAction, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every AWS call of a fault-free run
    seed(aws, metrics=False)
    before = state(aws)
    faults = Faults()
    clients = faults.attach(clients_for(aws))
    assert drive(clients, table_of(clients), STEPS, scanned, now=NOW).outcome == "applied"
    calls = list(faults.calls)
    first_write = calls.index("PutItem") + 1
    # WHEN each kind of fault hits each call in turn (one kind at Start's reads, where all act alike)
    points = [(m, k, c) for k, c in enumerate(calls, 1) for m in (MODES if k >= first_write else ("errors",))]
    rows = [(m, k, c, trial(aws, scanned, before, m, k)) for m, k, c in points]
    with capsys.disabled():
        print(
            f"\nschedule: {len(rows)} trials over {len(calls)} calls; "
            + ", ".join(f"{v}: {n}" for v, n in Counter(r[3] for r in rows).items())
        )
    # THEN every trial ends serving as before or at the verified target, undone identically: 0 lost
    assert [row for row in rows if row[3].startswith("LOST")] == []
    hit = {(row[0], row[2]) for row in rows}
    for call in ("RegisterScalableTarget", "PutScheduledAction"):
        assert {(mode, call) for mode in MODES} <= hit


# ---- (3) refusals touch nothing ------------------------------------------------------------------------
def refused(aws: EmulatedAws, action: ProposedAction) -> str:
    before = state(aws)
    result = drive(clients_for(aws), table_of(clients_for(aws)), STEPS, action, now=NOW)
    assert result.outcome == "refused", result.detail
    assert state(aws) == before
    return result.detail


def test_a_time_zone_tag_that_is_not_an_iana_name_is_refused(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    seed(aws, metrics=False, tags={"endpoint-optimizer:timezone": "Paris time"})
    assert "is not an IANA time zone name" in refused(aws, scanned)


def test_a_skip_tag_added_since_the_scan_is_refused(aws: EmulatedAws, scanned: ProposedAction) -> None:
    seed(aws, metrics=False, tags={"endpoint-optimizer:skip": "true"})
    assert "endpoint-optimizer:skip" in refused(aws, scanned)


def test_scheduled_actions_added_since_the_scan_are_refused(
    aws: EmulatedAws, scanned: ProposedAction
) -> None:
    seed(aws, metrics=False, autoscaled=True)
    aws.client("application-autoscaling").put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="team-own-weekend",
        ResourceId=RESOURCE_ID,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        Schedule="cron(0 0 ? * SAT *)",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 2},
    )
    assert "scheduled actions now" in refused(aws, scanned)
