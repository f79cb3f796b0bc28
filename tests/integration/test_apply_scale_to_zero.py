"""Scale to zero through the apply workflow, on the emulated AWS, for both kinds of endpoint it fits: one
hosting inference components (idle for 14 days) and an async endpoint with sporadic traffic. Each finding
is made by the real scanner and analyzer; each endpoint starts with autoscaling of its owner's, which the
change must leave as it was when it is rolled back or undone.

(1) approve -> applied -> verified -> undo -> back to the original; (2) a fault of each kind at every AWS
call of a fault-free run ends serving as before, or at the verified target with its way back stored (and
undo then brings it back identically), 0 lost; (3) the refusals leave the endpoint untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from emulated_aws.fleet import (
    DEFAULT_IMAGE,
    EXECUTION_ROLE_ARN,
    put_hourly_metrics,
    put_invocations,
    redeploy,
)
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.act import apply
from endpoint_optimizer.act.scale_to_zero import STEPS
from endpoint_optimizer.decide.plan import plan_for
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Action, ActionResult, ProposedAction
from endpoint_optimizer.scan.region import scan_region
from tests.integration.apply_driver import drive
from tests.integration.faults import MODES, Faults, LambdaDied, Mode, clients_for
from tests.integration.parkable import (
    LOOKBACK_HOURS,
    NOW,
    SCANNED_AT,
    create_state_table,
    policy,
    table_of,
)

IC_ENDPOINT = "llm-chat-ic"
COMPONENT = "llm-chat-7b"
ASYNC_ENDPOINT = "batch-ocr-async"
WINDOW_START = SCANNED_AT.replace(minute=0, second=0, microsecond=0) - timedelta(hours=LOOKBACK_HOURS)
CREATED = NOW - timedelta(days=40)


# ---- the endpoints ----------------------------------------------------------------------------------
def _backdate(aws: EmulatedAws, name: str, config: str) -> None:
    """moto reports "now" as CreationTime: set the endpoint's history as the scan must see it (fixed,
    so one scan serves every trial)."""
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[aws.account_id][aws.region]
    created = CREATED.replace(tzinfo=None)
    backend.endpoints[name].creation_time = backend.endpoints[name].last_modified_time = created
    backend.endpoint_configs[config].creation_time = created


def seed_inference_components(aws: EmulatedAws, *, metrics: bool) -> None:
    """An endpoint with managed instance scaling (1-2 instances) hosting one component with 1 copy, its
    copy count autoscaled 1-3 by a target-tracking policy of the owner's; no request in 14 days."""
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="llm-chat-7b",
        ExecutionRoleArn=EXECUTION_ROLE_ARN,
        PrimaryContainer={"Image": DEFAULT_IMAGE},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{IC_ENDPOINT}-config",
        ExecutionRoleArn=EXECUTION_ROLE_ARN,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        Tags=[{"Key": "team", "Value": "assistants"}],
    )
    sm.create_endpoint(EndpointName=IC_ENDPOINT, EndpointConfigName=f"{IC_ENDPOINT}-config")
    sm.create_inference_component(
        InferenceComponentName=COMPONENT,
        EndpointName=IC_ENDPOINT,
        VariantName="AllTraffic",
        Specification={
            "ModelName": "llm-chat-7b",
            "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 1024,
                "NumberOfAcceleratorDevicesRequired": 1,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    _backdate(aws, IC_ENDPOINT, f"{IC_ENDPOINT}-config")
    autoscaling = aws.client("application-autoscaling")
    resource = f"inference-component/{COMPONENT}"
    dimension = "sagemaker:inference-component:DesiredCopyCount"
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=1,
        MaxCapacity=3,
    )
    autoscaling.put_scaling_policy(
        PolicyName="owners-copies",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        },
    )
    if metrics:
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=IC_ENDPOINT,
            variant="AllTraffic",
            start=WINDOW_START,
            hours=LOOKBACK_HOURS,
            cpu=[1.0] * LOOKBACK_HOURS,
            memory=[25.0] * LOOKBACK_HOURS,
        )
    put_cpu_since_scan(aws, IC_ENDPOINT, 1.0)


def seed_async(aws: EmulatedAws, *, metrics: bool) -> None:
    """An async endpoint on one instance, busy one hour in twelve, with no autoscaling of its own."""
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="batch-ocr", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": DEFAULT_IMAGE}
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{ASYNC_ENDPOINT}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "batch-ocr",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://ocr-results-123456789012/out/"}},
    )
    sm.create_endpoint(EndpointName=ASYNC_ENDPOINT, EndpointConfigName=f"{ASYNC_ENDPOINT}-config")
    _backdate(aws, ASYNC_ENDPOINT, f"{ASYNC_ENDPOINT}-config")
    if metrics:
        put_hourly_metrics(
            aws.client("cloudwatch"),
            endpoint=ASYNC_ENDPOINT,
            variant="AllTraffic",
            start=WINDOW_START,
            hours=LOOKBACK_HOURS,
            invocations=[6.0 if hour % 12 == 3 else 0.0 for hour in range(LOOKBACK_HOURS)],
            cpu=[4.0] * LOOKBACK_HOURS,
            memory=[30.0] * LOOKBACK_HOURS,
        )
    put_cpu_since_scan(aws, ASYNC_ENDPOINT, 4.0)


def put_cpu_since_scan(aws: EmulatedAws, endpoint: str, cpu: float) -> None:
    """CPU keeps reporting from the scan's window end to NOW: the re-check before an idle action reads the
    last 24 hours of it (an endpoint whose metrics stopped is refused)."""
    hours = int((NOW - (WINDOW_START + timedelta(hours=LOOKBACK_HOURS))) / timedelta(hours=1))
    put_hourly_metrics(
        aws.client("cloudwatch"),
        endpoint=endpoint,
        variant="AllTraffic",
        start=WINDOW_START + timedelta(hours=LOOKBACK_HOURS),
        hours=hours,
        cpu=[cpu] * hours,
    )


SEEDS = {IC_ENDPOINT: seed_inference_components, ASYNC_ENDPOINT: seed_async}


def fresh(aws: EmulatedAws, name: str, *, metrics: bool = False) -> None:
    aws.reset()
    create_state_table(aws)
    SEEDS[name](aws, metrics=metrics)


def scanned_action(aws: EmulatedAws, name: str) -> ProposedAction:
    fresh(aws, name, metrics=True)
    snapshot = scan_region(
        Clients(region=aws.region), account_id=aws.account_id, lookback_days=14, now=SCANNED_AT
    )
    plan = plan_for(snapshot, bundled_price_book(), policy(), SCANNED_AT)
    (finding,) = [f for f in plan.findings if f.endpoint_name == name]
    assert finding.action == Action.SCALE_TO_ZERO, (finding.action, finding.reasons, finding.blocked_by)
    assert not finding.blocked_by, finding.blocked_by
    return ProposedAction(
        action_id=f"s2z-{name}", finding=finding, mode="auto", approval_timeout_seconds=3600
    )


@pytest.fixture(scope="module")
def scanned(aws: EmulatedAws) -> dict[str, ProposedAction]:
    """One scan per kind for every test here: each trial rebuilds the same endpoint at the same time."""
    return {name: scanned_action(aws, name) for name in SEEDS}


@pytest.fixture(autouse=True)
def _no_leftover(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.reset()


def serving_state(aws: EmulatedAws, name: str) -> dict[str, Any]:
    """What a user relies on: the endpoint and its config's scaling, its components' copies, and every
    scalable target, policy, scheduled action and alarm."""
    sm = aws.client("sagemaker")
    described = sm.describe_endpoint(EndpointName=name)
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    autoscaling = aws.client("application-autoscaling")
    components = sm.list_inference_components(EndpointNameEquals=name)["InferenceComponents"]
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "variants": sorted(
            (v["VariantName"], v.get("CurrentInstanceCount"), str(v.get("ManagedInstanceScaling")))
            for v in described["ProductionVariants"]
        ),
        "managed_scaling": sorted(
            (v["VariantName"], str(v.get("ManagedInstanceScaling"))) for v in config["ProductionVariants"]
        ),
        "copies": sorted(
            (
                c["InferenceComponentName"],
                str(
                    sm.describe_inference_component(InferenceComponentName=c["InferenceComponentName"])[
                        "RuntimeConfig"
                    ]
                ),
            )
            for c in components
        ),
        "targets": sorted(
            (t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"])
            for t in autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        ),
        "policies": sorted(
            (
                p["ResourceId"],
                p["PolicyName"],
                p["PolicyType"],
                str(p.get("TargetTrackingScalingPolicyConfiguration")),
                str(p.get("StepScalingPolicyConfiguration")),
            )
            for p in autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        ),
        "scheduled": sorted(
            (a["ScheduledActionName"], a["Schedule"])
            for a in autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
        ),
        "alarms": sorted(a["AlarmName"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]),
    }


def undo(clients: Clients, action: ProposedAction) -> None:
    """`endpoint-optimizer undo ACTION_ID`."""
    table = table_of(clients)
    entry = apply.applied_entry(table, action.action_id)
    apply.undo(clients, table, STEPS, entry, now=NOW + timedelta(days=2), pause=lambda: None)


# ---- (1) applied, verified, undone ------------------------------------------------------------------
def test_an_idle_inference_component_endpoint_scales_to_zero_and_undo_brings_it_back(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN the idle inference-component endpoint the scan found, with its owner's copy autoscaling
    fresh(aws, IC_ENDPOINT)
    before = serving_state(aws, IC_ENDPOINT)
    clients = clients_for(aws)
    # WHEN the approved action runs through the apply workflow
    result = drive(clients, table_of(clients), STEPS, scanned[IC_ENDPOINT], now=NOW)
    # THEN it is applied and verified: a new config with a floor of 0 instances, the component's copies
    # may fall to 0, and an alarm on failed-for-no-capacity requests scales it back out
    assert result.outcome == "applied", result.detail
    after = serving_state(aws, IC_ENDPOINT)
    assert after["config"] != before["config"]
    assert "'MinInstanceCount': 0" in after["managed_scaling"][0][1]
    assert (
        f"inference-component/{COMPONENT}",
        "sagemaker:inference-component:DesiredCopyCount",
        0,
        3,
    ) in after["targets"]
    assert {p[1] for p in after["policies"]} == {"owners-copies", "eo-scale-out-from-zero"}
    assert after["alarms"] == [f"eo-scale-from-zero-{COMPONENT}"]
    alarm = aws.client("cloudwatch").describe_alarms()["MetricAlarms"][0]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == (
        "NoCapacityInvocationFailures",
        "Sum",
        60,
        1.0,
    )
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": COMPONENT}]
    # AND the change's config is named eo-*, the only configs the apply role may delete
    assert after["config"].startswith("eo-"), after["config"]
    # WHEN it is undone THEN the endpoint is back as it was, the owner's autoscaling included, and the
    # change's config, which nothing uses any more, is deleted
    undo(clients, scanned[IC_ENDPOINT])
    assert serving_state(aws, IC_ENDPOINT) == before
    configs = aws.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [before["config"]]


def test_a_sporadic_async_endpoint_scales_to_zero_and_undo_brings_it_back(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN the sporadic async endpoint, without autoscaling
    fresh(aws, ASYNC_ENDPOINT)
    before = serving_state(aws, ASYNC_ENDPOINT)
    clients = clients_for(aws)
    # WHEN the approved action runs
    result = drive(clients, table_of(clients), STEPS, scanned[ASYNC_ENDPOINT], now=NOW)
    # THEN its instance count may fall to 0: backlog target tracking, and a step policy on an alarm on
    # requests queued with no instance (2 of 2 minutes)
    assert result.outcome == "applied", result.detail
    after = serving_state(aws, ASYNC_ENDPOINT)
    assert after["config"] == before["config"]  # the endpoint itself is not updated
    resource = f"endpoint/{ASYNC_ENDPOINT}/variant/AllTraffic"
    assert after["targets"] == [(resource, "sagemaker:variant:DesiredInstanceCount", 0, 1)]
    assert {p[1] for p in after["policies"]} == {"eo-backlog-per-instance", "eo-scale-out-from-zero"}
    alarm = aws.client("cloudwatch").describe_alarms()["MetricAlarms"][0]
    assert alarm["AlarmName"].startswith("eo-")
    assert (
        alarm["MetricName"],
        alarm["EvaluationPeriods"],
        alarm["DatapointsToAlarm"],
        alarm["Threshold"],
    ) == (
        "HasBacklogWithoutCapacity",
        2,
        2,
        1.0,
    )
    # WHEN it is undone THEN no autoscaling and no alarm are left, as before
    undo(clients, scanned[ASYNC_ENDPOINT])
    assert serving_state(aws, ASYNC_ENDPOINT) == before


def test_undo_refuses_when_someone_changed_the_endpoint_since(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN an applied scale to zero whose alarm a person deleted afterwards
    fresh(aws, ASYNC_ENDPOINT)
    clients = clients_for(aws)
    assert drive(clients, table_of(clients), STEPS, scanned[ASYNC_ENDPOINT], now=NOW).outcome == "applied"
    aws.client("cloudwatch").delete_alarms(AlarmNames=[f"eo-scale-from-zero-{ASYNC_ENDPOINT}-AllTraffic"])
    changed = serving_state(aws, ASYNC_ENDPOINT)
    # WHEN undo runs THEN it refuses and overwrites nothing
    with pytest.raises(apply.UndoRefused, match="no longer as change"):
        undo(clients, scanned[ASYNC_ENDPOINT])
    assert serving_state(aws, ASYNC_ENDPOINT) == changed


# ---- (2) faults at every call -----------------------------------------------------------------------
def calls_of(aws: EmulatedAws, action: ProposedAction) -> list[str]:
    name = action.finding.endpoint_name
    fresh(aws, name)
    faults = Faults()
    clients = faults.attach(clients_for(aws))
    assert drive(clients, table_of(clients), STEPS, action, now=NOW).outcome == "applied"
    return list(faults.calls)


def trial(aws: EmulatedAws, action: ProposedAction, mode: Mode, at: int, before: dict[str, Any]) -> str:
    """serving as before | at target, undone identically | LOST (...). `before`: the serving state every
    fresh endpoint of this kind starts from (the same each time: read once)."""
    name = action.finding.endpoint_name
    fresh(aws, name)
    faults = Faults(mode=mode, at=at)
    clients = faults.attach(clients_for(aws))
    try:
        result: ActionResult | str = drive(clients, table_of(clients), STEPS, action, now=NOW, faults=faults)
    except (LambdaDied, Exception) as error:  # the rollback itself failed: reported, asserted below
        result = f"{type(error).__name__}: {error}"
    faults.active = False
    now = serving_state(aws, name)
    if now == before:
        return "serving as before"
    clean = clients_for(aws)
    table = table_of(clean)
    try:
        entry = apply.applied_entry(table, action.action_id)
    except apply.UndoRefused:
        return f"LOST (changed, not recorded applied: {result})"
    if table.way_back(name, entry.snapshot_taken_at or NOW) is None:
        return "LOST (no way back stored)"
    undo(clean, action)
    return "at target, undone identically" if serving_state(aws, name) == before else "LOST (undo differed)"


@pytest.mark.faults
@pytest.mark.parametrize("name", [IC_ENDPOINT, ASYNC_ENDPOINT])
def test_no_fault_at_any_call_loses_the_endpoint_or_its_autoscaling(
    aws: EmulatedAws, scanned: dict[str, ProposedAction], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN every AWS call of a fault-free run, WHEN a fault of each kind hits each call in turn
    action = scanned[name]
    calls = calls_of(aws, action)
    fresh(aws, name)
    before = serving_state(aws, name)
    # From Start's first write (the way back) on: the calls before it are the runner's re-check and
    # snapshot reads, where nothing is written yet; the whole table takes minutes on one core.
    first = calls.index("PutItem") + 1
    rows = [
        (mode, k, call, trial(aws, action, mode, k, before))
        for mode in MODES
        for k, call in enumerate(calls, 1)
        if k >= first
    ]
    with capsys.disabled():
        print(
            f"\nscale_to_zero {name}: {len(calls)} calls ({first - 1} reads before the first write), "
            f"{len(rows)} trials; " + ", ".join(f"{v}: {n}" for v, n in Counter(r[3] for r in rows).items())
        )
    # THEN every trial ends serving as before, or at the verified target and undone identically
    assert [row for row in rows if row[3].startswith("LOST")] == []
    # and the change calls themselves were among those hit
    changes = {"RegisterScalableTarget", "PutScalingPolicy", "PutMetricAlarm"}
    if name == IC_ENDPOINT:
        changes |= {"CreateEndpointConfig", "UpdateEndpoint"}
    assert changes <= {row[2] for row in rows}


# ---- (3) refusals -----------------------------------------------------------------------------------
def refused(aws: EmulatedAws, action: ProposedAction) -> str:
    clients = clients_for(aws)
    result = drive(clients, table_of(clients), STEPS, action, now=NOW)
    assert result.outcome == "refused", result
    return result.detail


def test_a_sporadic_async_endpoint_with_requests_since_the_scan_still_scales_to_zero(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN the async endpoint got requests after the scan
    fresh(aws, ASYNC_ENDPOINT)
    put_invocations(
        aws.client("cloudwatch"),
        endpoint=ASYNC_ENDPOINT,
        variant="AllTraffic",
        at=NOW - timedelta(hours=1),
        count=12.0,
    )
    # WHEN the approved action runs THEN it applies: its premise is rare traffic, not none (docs/apply.md),
    # and queued requests wait while an instance starts
    clients = clients_for(aws)
    result = drive(clients, table_of(clients), STEPS, scanned[ASYNC_ENDPOINT], now=NOW)
    assert result.outcome == "applied", result.detail


def test_an_endpoint_redeployed_or_tagged_skip_since_the_scan_is_left_alone(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN the endpoint was redeployed after the scan
    fresh(aws, IC_ENDPOINT)
    redeploy(aws.client("sagemaker"), name=IC_ENDPOINT, now=NOW - timedelta(hours=2))
    before = serving_state(aws, IC_ENDPOINT)
    assert "changed since the scan" in refused(aws, scanned[IC_ENDPOINT])
    assert serving_state(aws, IC_ENDPOINT) == before
    # GIVEN (afresh) the owner tagged it to be left alone
    fresh(aws, IC_ENDPOINT)
    sm = aws.client("sagemaker")
    arn = sm.describe_endpoint(EndpointName=IC_ENDPOINT)["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "endpoint-optimizer:skip", "Value": "true"}])
    before = serving_state(aws, IC_ENDPOINT)
    assert "tagged endpoint-optimizer:skip=true" in refused(aws, scanned[IC_ENDPOINT])
    assert serving_state(aws, IC_ENDPOINT) == before


def test_an_endpoint_whose_inference_components_changed_since_the_scan_is_left_alone(
    aws: EmulatedAws, scanned: dict[str, ProposedAction]
) -> None:
    # GIVEN a second component was deployed on the endpoint after the scan
    fresh(aws, IC_ENDPOINT)
    aws.client("sagemaker").create_inference_component(
        InferenceComponentName="llm-embed",
        EndpointName=IC_ENDPOINT,
        VariantName="AllTraffic",
        Specification={
            "ModelName": "llm-chat-7b",
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    before = serving_state(aws, IC_ENDPOINT)
    # WHEN the approved action runs THEN it refuses, naming the components, and nothing changed
    assert "inference components changed since the scan" in refused(aws, scanned[IC_ENDPOINT])
    assert serving_state(aws, IC_ENDPOINT) == before
