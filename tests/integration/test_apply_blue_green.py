"""Rightsize and Graviton applied through the apply workflow (act/blue_green.py) on the emulated AWS:
a blue/green UpdateEndpoint guarded by alarms the change makes for itself, a count-only rightsize, a
silent rollback by SageMaker (reported as rolled back, never as savings), a fault at every call, the
refusals. Each endpoint is scanned and planned once by the real scanner and analyzer (per module)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from emulated_aws.fleet import VariantSpec, create_endpoint, put_hourly_metrics, register_scalable_target
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act import apply
from endpoint_optimizer.act.blue_green import GRAVITON_STEPS, RIGHTSIZE_STEPS, BlueGreenSteps
from endpoint_optimizer.decide.plan import plan_for
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, ProposedAction
from endpoint_optimizer.scan.region import scan_region
from tests.integration.apply_driver import drive
from tests.integration.faults import MODES, Faults, Mode, clients_for
from tests.integration.parkable import LOOKBACK_HOURS, NOW, SCANNED_AT, create_state_table, policy, table_of

HOURS = LOOKBACK_HOURS
WINDOW_START = SCANNED_AT.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)
PYTORCH_X86 = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310"

# name -> (variant, CPU per vCPU %, vCPUs, autoscaled (min, max) or None): what each endpoint is for
ENDPOINTS: dict[str, tuple[VariantSpec, float, int, tuple[int, int] | None]] = {
    # 16 vCPUs at 28 %: one size down (ml.c5.2xlarge), blue/green; autoscaled, so deregistered and back
    "scoring-c5": (VariantSpec(instance_type="ml.c5.4xlarge"), 28.0, 16, (1, 3)),
    # 4 instances at 8 %: one instance does (count only, UpdateEndpointWeightsAndCapacities)
    "ranker-m5": (VariantSpec(instance_type="ml.m5.large", instance_count=4), 8.0, 2, None),
    # busy enough not to shrink, x86 with a known arm64 build: Graviton, a new model on the arm64 image
    "embed-m5": (VariantSpec(instance_type="ml.m5.xlarge", image=PYTORCH_X86), 45.0, 4, None),
}
STEPS_OF: dict[Action, BlueGreenSteps] = {
    Action.RIGHTSIZE: RIGHTSIZE_STEPS,
    Action.MIGRATE_GRAVITON: GRAVITON_STEPS,
}
P99_US = 40_000.0  # ModelLatency p99 the endpoints report (microseconds, as CloudWatch publishes it)


def seed(aws: EmulatedAws, name: str, *, metrics: bool) -> None:
    variant, cpu, vcpus, scaling = ENDPOINTS[name]
    create_endpoint(
        aws.client("sagemaker"),
        name=name,
        variants=[variant],
        tags={"team": "ml"},
        created_days_ago=60,
        now=NOW,
    )
    if metrics:
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=name,
            variant="AllTraffic",
            start=WINDOW_START,
            hours=HOURS,
            invocations=[3000.0] * HOURS,
            cpu=[cpu * vcpus] * HOURS,
            memory=[30.0] * HOURS,
        )
    # ModelLatency for the alarm's threshold (read by the plan: these findings carry no benchmark)
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": name},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": NOW - timedelta(hours=hour),
                "Value": P99_US,
                "Unit": "Microseconds",
            }
            for hour in range(1, 4)
        ],
    )
    if scaling is not None:
        register_scalable_target(aws.client("application-autoscaling"), name, "AllTraffic", *scaling)


def fresh(aws: EmulatedAws, name: str, *, metrics: bool = False) -> None:
    aws.reset()
    create_state_table(aws)
    seed(aws, name, metrics=metrics)


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> dict[str, ProposedAction]:
    """One scan of the three endpoints for every test of the module."""
    aws.reset()
    create_state_table(aws)
    for name in ENDPOINTS:
        seed(aws, name, metrics=True)
    snapshot = scan_region(
        Clients(region=aws.region), account_id=aws.account_id, lookback_days=14, now=SCANNED_AT
    )
    plan = plan_for(snapshot, bundled_price_book(), policy(), SCANNED_AT)
    found = {f.endpoint_name: f for f in plan.findings}
    # The emulated DescribeEndpoint reports DeployedImages, so the Graviton rung sees PYTORCH_X86 and
    # maps it to its arm64 build; what still blocks it offline is a price, never the image.
    assert not any("image" in reason for reason in found["embed-m5"].blocked_by), found["embed-m5"].blocked_by
    return {
        name: ProposedAction(
            action_id=f"act-{name}", finding=found[name], mode="auto", approval_timeout_seconds=3600
        )
        for name in ENDPOINTS
    }


def serving_state(aws: EmulatedAws, name: str) -> dict[str, Any]:
    """What a user relies on: status, config, the variant's type, count and image, tags, autoscaling, and
    whatever the change left behind (its eo- configs, models, alarms)."""
    sagemaker = aws.client("sagemaker")
    described = sagemaker.describe_endpoint(EndpointName=name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    autoscaling = aws.client("application-autoscaling")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    alarms = aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "instance_type": variant["InstanceType"],
        "count": [v.get("CurrentInstanceCount") for v in described["ProductionVariants"]],
        "image": model["PrimaryContainer"]["Image"],
        "tags": sorted((t["Key"], t["Value"]) for t in tags),
        "targets": sorted((t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets),
        "policies": sorted(p["PolicyName"] for p in policies),
        "leftovers": sorted(
            [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
            + [m["ModelName"] for m in sagemaker.list_models()["Models"]]
            + [a["AlarmName"] for a in alarms]
        ),
    }


def run(aws: EmulatedAws, action: ProposedAction, clients: Clients | None = None) -> Any:
    steps = STEPS_OF[action.finding.action]
    clients = clients or clients_for(aws)
    return drive(clients, table_of(clients), steps, action, now=NOW)


def undo(aws: EmulatedAws, action: ProposedAction) -> None:
    clients = clients_for(aws)
    table = table_of(clients)
    apply.undo(
        clients,
        table,
        STEPS_OF[action.finding.action],
        apply.applied_entry(table, action.action_id),
        now=NOW + timedelta(days=2),
        pause=lambda: None,
    )


# ---- (1) approve -> applied -> verified -> undo -> back ------------------------------------------------
@pytest.mark.parametrize(
    ("name", "action", "after"),
    [
        ("scoring-c5", Action.RIGHTSIZE, {"instance_type": "ml.c5.2xlarge", "count": [1]}),
        ("ranker-m5", Action.RIGHTSIZE, {"instance_type": "ml.m5.large", "count": [1]}),
        ("embed-m5", Action.MIGRATE_GRAVITON, {"instance_type": "ml.m6g.xlarge", "count": [1]}),
    ],
)
def test_an_approved_move_is_applied_verified_and_undone_back_to_the_original(
    aws: EmulatedAws, scanned: dict[str, ProposedAction], name: str, action: Action, after: dict[str, Any]
) -> None:
    # GIVEN the scanned finding of an endpoint serving traffic
    proposed = scanned[name]
    assert proposed.finding.action == action, proposed.finding.reasons
    fresh(aws, name)
    before = serving_state(aws, name)
    # WHEN the workflow applies it
    result = run(aws, proposed)
    # THEN it is applied at the target, recorded with its savings, the change's alarms gone
    assert result.outcome == "applied", result.detail
    now = serving_state(aws, name)
    assert {key: now[key] for key in after} == after
    assert now["targets"] == before["targets"]  # autoscaling kept
    assert not [item for item in now["leftovers"] if item.endswith(("-5xx", "-latency"))]
    if action == Action.MIGRATE_GRAVITON:
        assert "pytorch-inference-graviton" in now["image"]
    # WHEN it is undone
    undo(aws, proposed)
    # THEN the endpoint is back exactly as it was (nothing the change made is left)
    assert serving_state(aws, name) == before


# ---- the silent rollback -------------------------------------------------------------------------------
def test_a_rollback_sagemaker_makes_by_itself_is_reported_rolled_back_never_as_savings(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN a blue/green rightsize whose own 5XX alarm fires while the endpoint is Updating
    proposed = scanned["scoring-c5"]
    fresh(aws, "scoring-c5")
    before = serving_state(aws, "scoring-c5")
    clients = clients_for(aws)

    def alarm_fires(params: dict[str, Any], **_: Any) -> None:
        alarms = params.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {}).get("Alarms", [])
        for alarm in alarms[:1]:
            aws.client("cloudwatch").set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="5XX errors on the canary"
            )

    clients.sagemaker.meta.events.register("before-parameter-build.sagemaker.UpdateEndpoint", alarm_fires)
    # WHEN the workflow runs it (SageMaker ends the update InService on the old config, no FailureReason)
    result = run(aws, proposed, clients)
    # THEN the silent rollback is detected and reported as rolled back, with no savings and no "applied"
    assert result.outcome == "rolled_back"
    assert "SageMaker rolled the update back" in result.detail
    assert "5xx" in result.detail
    assert result.estimated_monthly_savings_usd is None
    outcomes = [e.outcome for e in table_of(clients).ledger("scoring-c5")]
    assert "applied" not in outcomes and "rolled_back" in outcomes
    # and the endpoint serves as before, its autoscaling back, the change's config and alarms removed
    assert serving_state(aws, "scoring-c5") == before


# ---- (2) a fault at every call -------------------------------------------------------------------------
# The change's own calls (SageMaker, CloudWatch, Application Auto Scaling); the runner's state-table calls
# are faulted by the apply runner's own table (tests/integration/test_apply_faults.py). One endpoint: the
# blue/green move, which makes every kind of call the count-only one makes and more.
STATE_TABLE_CALLS = {"GetItem", "PutItem", "Query", "UpdateItem", "DeleteItem", "TransactWriteItems"}


def verdict(aws: EmulatedAws, name: str, before: dict[str, Any], proposed: ProposedAction) -> str:
    now = serving_state(aws, name)
    if now == before:
        return "serving as before"
    table = table_of(clients_for(aws))
    try:
        apply.applied_entry(table, proposed.action_id)
    except apply.UndoRefused as refused:
        return f"CHANGED, no way back ({refused}): {now}"
    undo(aws, proposed)
    return "at target, undone identically" if serving_state(aws, name) == before else "UNDO DIFFERS"


def trial(aws: EmulatedAws, proposed: ProposedAction, before: dict[str, Any], mode: Mode, at: int) -> str:
    name = proposed.finding.endpoint_name
    fresh(aws, name)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        drive(clients, table_of(clients), STEPS_OF[proposed.finding.action], proposed, now=NOW, faults=faults)
    except Exception as error:  # the rollback itself failed: reported in the table, asserted below
        faults.active = False
        return f"LOST ({type(error).__name__}: {error})"
    faults.active = False
    return verdict(aws, name, before, proposed)


@pytest.mark.faults
def test_no_fault_at_any_call_of_the_change_leaves_the_endpoint_but_as_before_or_at_its_target(
    aws: EmulatedAws, scanned: dict[str, ProposedAction], capsys: pytest.CaptureFixture[str]
) -> None:
    proposed = scanned["scoring-c5"]
    # GIVEN every AWS call of a fault-free run
    fresh(aws, "scoring-c5")
    before = serving_state(aws, "scoring-c5")
    faults = Faults()
    clients = faults.attach(clients_for(aws))
    assert drive(clients, table_of(clients), RIGHTSIZE_STEPS, proposed, now=NOW).outcome == "applied"
    calls = [(k, call) for k, call in enumerate(faults.calls, 1) if call not in STATE_TABLE_CALLS]
    # WHEN a fault of each kind hits each of the change's calls in turn
    rows = [(mode, k, call, trial(aws, proposed, before, mode, k)) for mode in MODES for k, call in calls]
    with capsys.disabled():
        print(
            f"\nblue/green rightsize: {len(rows)} trials; "
            + ", ".join(f"{v}: {n}" for v, n in Counter(r[3] for r in rows).items())
        )
    # THEN every trial ends serving as before, or at the verified target and undone identically; 0 lost
    assert [row for row in rows if row[3] not in ("serving as before", "at target, undone identically")] == []
    # and the change calls themselves were hit
    hit = {row[2] for row in rows}
    assert {"CreateEndpointConfig", "PutMetricAlarm", "DeregisterScalableTarget", "UpdateEndpoint"} <= hit
    assert {"RegisterScalableTarget", "DeleteAlarms"} <= hit


# ---- (3) refusals ----------------------------------------------------------------------------------------
def test_an_endpoint_tagged_skip_since_the_scan_is_refused_and_left_untouched(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    fresh(aws, "scoring-c5")
    sagemaker = aws.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName="scoring-c5")["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "endpoint-optimizer:skip", "Value": "true"}])
    before = serving_state(aws, "scoring-c5")
    result = run(aws, scanned["scoring-c5"])
    assert result.outcome == "refused" and "skip" in result.detail
    assert serving_state(aws, "scoring-c5") == before


def test_an_endpoint_redeployed_since_the_scan_is_refused_and_left_untouched(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    from emulated_aws.fleet import redeploy

    fresh(aws, "embed-m5")
    redeploy(aws.client("sagemaker"), name="embed-m5", now=NOW)
    before = serving_state(aws, "embed-m5")
    result = run(aws, scanned["embed-m5"])
    assert result.outcome == "refused" and "since the scan" in result.detail
    assert serving_state(aws, "embed-m5") == before


def test_a_move_the_benchmark_found_nothing_for_is_refused_and_left_untouched(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    from endpoint_optimizer.models.confirmation import Baseline, Confirmation

    fresh(aws, "scoring-c5")
    before = serving_state(aws, "scoring-c5")
    finding = scanned["scoring-c5"].finding.model_copy(
        update={"confirmation": Confirmation(status="COMPLETED", baseline=Baseline(), chosen=None)}
    )
    result = run(aws, scanned["scoring-c5"].model_copy(update={"finding": finding}))
    assert result.outcome == "refused" and "benchmark" in result.detail
    assert serving_state(aws, "scoring-c5") == before


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()
