"""An idle endpoint with autoscaling on the emulated AWS, scanned and planned by the real scanner and
analyzer, ready to be parked: what the park, restore and fault tests start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from emulated_aws.fleet import VariantSpec, create_endpoint, put_hourly_metrics, register_scalable_target
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act.apply import start
from endpoint_optimizer.act.park import ActionRefused, restore
from endpoint_optimizer.decide.plan import plan_for
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Action, ActionResult, ProposedAction, WayBack
from endpoint_optimizer.scan.region import scan_region

# One fixed clock: every reset recreates the same endpoint with the same LastModifiedTime, so one scan
# serves every trial of the fault table.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SCANNED_AT = NOW - timedelta(hours=30)  # the approval came a day after the scan
LOOKBACK_HOURS = 14 * 24
TABLE = "state"
NAME = "idle-fraud-xgb"
RESOURCE_ID = f"endpoint/{NAME}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def policy() -> Policy:
    return Policy.from_env(
        {
            "MODE": "auto",
            "LOOKBACK_DAYS": "14",
            "GRACE_DAYS": "7",
            "SKIP_TAG_KEY": "endpoint-optimizer:skip",
            "MAX_ACTIONS_PER_RUN": "5",
            "APPROVAL_TIMEOUT_HOURS": "168",
        }
    )


def create_state_table(aws: EmulatedAws) -> None:
    aws.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_idle_endpoint_with_autoscaling(
    aws: EmulatedAws, *, metrics: bool = True, cpu_stops_at: datetime | None = None
) -> None:
    """Idle for 14 days (CPU reported every hour, no invocations), with a scalable target, a
    target-tracking policy and a scheduled action: everything a park must give back. CPU keeps reporting
    after the scan until NOW (the re-check reads it) or until `cpu_stops_at`."""
    create_endpoint(
        aws.client("sagemaker"),
        name=NAME,
        variants=[VariantSpec(instance_type="ml.m5.large")],
        tags={"team": "fraud"},
        created_days_ago=40,
        now=NOW,
    )
    window_end = SCANNED_AT.replace(minute=0, second=0, microsecond=0)
    # Without `metrics` the scan is already made: only what comes after it is written.
    start = window_end - timedelta(hours=LOOKBACK_HOURS) if metrics else window_end
    hours = int(((cpu_stops_at or NOW) - start) / timedelta(hours=1))
    if hours > 0:
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=NAME,
            variant="AllTraffic",
            start=start,
            hours=hours,
            cpu=[1.5] * hours,
            memory=[22.0] * hours,
        )
    autoscaling = aws.client("application-autoscaling")
    register_scalable_target(autoscaling, NAME, "AllTraffic", 1, 4)
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName=f"{NAME}-weekday-morning",
        ResourceId=RESOURCE_ID,
        ScalableDimension=DIMENSION,
        Schedule="cron(0 7 ? * MON-FRI *)",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 4},
    )


def fresh(aws: EmulatedAws, *, metrics: bool = True, cpu_stops_at: datetime | None = None) -> None:
    """`metrics=False` when the scan is already made: the re-check reads only what came after it."""
    aws.reset()
    create_state_table(aws)
    create_idle_endpoint_with_autoscaling(aws, metrics=metrics, cpu_stops_at=cpu_stops_at)


def scanned_park_action(aws: EmulatedAws, *, action_id: str = "a1") -> ProposedAction:
    """The park the real scanner and analyzer propose for the endpoint, as the workflow carries it."""
    way_back = scan_region(
        Clients(region=aws.region), account_id=aws.account_id, lookback_days=14, now=SCANNED_AT
    )
    plan = plan_for(way_back, bundled_price_book(), policy(), SCANNED_AT)
    (finding,) = [f for f in plan.findings if f.endpoint_name == NAME]
    assert finding.action == Action.PARK, finding.reasons
    return ProposedAction(action_id=action_id, finding=finding, mode="auto", approval_timeout_seconds=3600)


def table_of(clients: Clients) -> StateTable:
    return StateTable(clients.dynamodb, TABLE)


def serving_state(aws: EmulatedAws, name: str = NAME) -> dict[str, Any] | None:
    """What a user relies on: the endpoint, its config, tags and autoscaling; None when it is gone."""
    sagemaker = aws.client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as error:
        if "Could not find" in str(error):
            return None
        raise
    autoscaling = aws.client("application-autoscaling")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    scheduled = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "tags": sorted((t["Key"], t["Value"]) for t in tags),
        "targets": sorted(
            (t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in targets
        ),
        "policies": sorted(
            (p["PolicyName"], p["PolicyType"], str(p.get("TargetTrackingScalingPolicyConfiguration")))
            for p in policies
        ),
        "scheduled": sorted(
            (a["ScheduledActionName"], a["Schedule"], str(a.get("ScalableTargetAction"))) for a in scheduled
        ),
    }


def park(clients: Clients, action: ProposedAction, *, now: datetime = NOW) -> ActionResult:
    """The approved park, as the apply function runs it (auto: no approval record needed here)."""
    change = start(
        clients,
        table_of(clients),
        action,
        steps=None,
        mode="auto",
        auto_applies=True,
        skip_tag_key="endpoint-optimizer:skip",
        now=now,
    )
    assert change.result is not None  # park is one step: Start carries it out
    if change.result.outcome == "refused":  # Start answers a refusal; these tests assert it as raised
        raise ActionRefused(change.result.detail)
    return change.result


def restore_parked(clients: Clients, *, now: datetime = NOW + timedelta(days=3)) -> WayBack:
    """`endpoint-optimizer restore` of the endpoint."""
    return restore(
        clients.sagemaker,
        clients.autoscaling,
        table_of(clients),
        NAME,
        s3=clients.s3,
        ecr=clients.ecr,
        now=now,
    )
