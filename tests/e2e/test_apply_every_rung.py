"""Every applied rung through the real workflows on the emulated AWS (issue 10): the optimize state machine
proposes the action, the approver clicks Approve on its Slack card, "Apply action" starts the apply state
machine (.sync:2), and the change is verified on the emulated SageMaker / Application Auto Scaling /
CloudWatch; then `endpoint-optimizer undo ACTION_ID` brings the endpoint back to exactly what it was.
And one blue/green move whose own rollback alarm fires while the endpoint is Updating: SageMaker rolls it
back by itself, the run says "rolled_back" and counts no savings."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from emulated_aws.fleet import (
    DEFAULT_IMAGE,
    EXECUTION_ROLE_ARN,
    VariantSpec,
    put_hourly_metrics,
)
from emulated_aws.loop import ApprovalCard, click, rollback_alarm_fires_on_update, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.cli import main as cli
from tests.e2e.conftest import APPROVER, LOOKBACK_HOURS, SIGNING_SECRET, Fleet, start_run
from tests.e2e.test_confirm_moves import PAYLOAD_URL, XGBOOST_X86, oversized_endpoint, put_sample_payload

PAYLOAD_TAG = "endpoint-optimizer:sample-payload"


# ---- the endpoints, one per rung ----------------------------------------------------------------------
def _backdate(aws: EmulatedAws, name: str, config: str, now: datetime) -> None:
    """moto reports "now" as CreationTime: 40 days of history, past the grace period."""
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[aws.account_id][aws.region]
    created = (now - timedelta(days=40)).replace(tzinfo=None)
    backend.endpoints[name].creation_time = backend.endpoints[name].last_modified_time = created
    backend.endpoint_configs[config].creation_time = created


def idle_inference_components(fleet: Fleet) -> str:
    """An endpoint with managed instance scaling (1-2 x ml.g5.2xlarge) hosting one component whose copy
    count its owner autoscales 1-3; no request in 14 days."""
    aws, name, component = fleet.aws, "llm-chat-ic", "llm-chat-7b"
    sagemaker = aws.client("sagemaker")
    sagemaker.create_model(
        ModelName=component, ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": DEFAULT_IMAGE}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
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
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    sagemaker.create_inference_component(
        InferenceComponentName=component,
        EndpointName=name,
        VariantName="AllTraffic",
        Specification={
            "ModelName": component,
            "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 1024,
                "NumberOfAcceleratorDevicesRequired": 1,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    _backdate(aws, name, f"{name}-config", fleet.now)
    resource, dimension = f"inference-component/{component}", "sagemaker:inference-component:DesiredCopyCount"
    autoscaling = aws.client("application-autoscaling")
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
    _hourly(fleet, name, cpu=1.0, memory=25.0)
    return name


def sporadic_async(fleet: Fleet) -> str:
    """An async endpoint on one ml.m5.xlarge, busy one hour in twelve, without autoscaling."""
    aws, name = fleet.aws, "batch-ocr-async"
    sagemaker = aws.client("sagemaker")
    sagemaker.create_model(
        ModelName="batch-ocr", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": DEFAULT_IMAGE}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
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
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    _backdate(aws, name, f"{name}-config", fleet.now)
    _hourly(fleet, name, cpu=4.0, memory=30.0, invocations=lambda hour: 6.0 if hour % 12 == 3 else 0.0)
    return name


def sporadic_small_model(fleet: Fleet) -> str:
    """One ml.m5.large used in a few hours of fourteen days: some traffic in every hour of the day but
    this one (so the quietest hour of its profile is now: the move recreates the endpoint only then),
    answering in 40 ms, a sample payload tagged so Inference Recommender can confirm the move."""
    put_sample_payload(fleet.aws)
    name = fleet.endpoint("sporadic-quarterly-report", traffic="silent", tags={PAYLOAD_TAG: PAYLOAD_URL})
    quiet = fleet.now.hour  # a run that straddles the hour waits a day for it ("Wait for the quiet hour")
    _hourly(
        fleet,
        name,
        cpu=2.0,
        memory=22.0,
        # one hour of traffic for each hour of the day but `quiet` (on day <hour> mod 14): 23 of 336 hours
        invocations=lambda index: (
            12.0 if index // 24 == _hour_of(fleet, index) % 14 and _hour_of(fleet, index) != quiet else 0.0
        ),
    )
    _model_latency(fleet, name, ms=40.0)
    return name


def business_hours(fleet: Fleet) -> str:
    """Two ml.m5.xlarge serving weekdays 09-17 UTC only (no time zone tag: UTC)."""
    name = fleet.endpoint("support-ticket-router", traffic="silent", instance_type="ml.m5.xlarge")
    sagemaker = fleet.aws.client("sagemaker")
    # fleet.endpoint makes one instance: the schedule keeps the owner's count in business hours
    from moto.backends import get_backend

    backend = get_backend("sagemaker")[fleet.aws.account_id][fleet.aws.region]
    config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    backend.endpoint_configs[config].production_variants[0]["InitialInstanceCount"] = 2
    backend.endpoints[name].production_variants[0]["CurrentInstanceCount"] = 2
    backend.endpoints[name].production_variants[0]["DesiredInstanceCount"] = 2

    def on(hour: int) -> bool:
        moment = fleet.window_start + timedelta(hours=hour)
        return moment.weekday() < 5 and 9 <= moment.hour < 17

    _hourly(
        fleet,
        name,
        cpu=[160.0 if on(h) else 8.0 for h in range(LOOKBACK_HOURS)],
        memory=40.0,
        invocations=lambda hour: 900.0 if on(hour) else 0.0,
    )
    return name


def oversized(fleet: Fleet) -> str:
    """One ml.m5.xlarge at 10 % CPU answering in 40 ms, with a payload: rightsize, benchmarked."""
    put_sample_payload(fleet.aws)
    return oversized_endpoint(fleet.aws, "oversized-fraud-xgb")


def on_x86(fleet: Fleet) -> str:
    """One ml.c5.xlarge at 50 % CPU (not a rightsize) on XGBoost 1.5-1, whose arm64 build is known."""
    put_sample_payload(fleet.aws)
    x86 = VariantSpec(instance_type="ml.c5.xlarge", image=XGBOOST_X86)
    return oversized_endpoint(fleet.aws, "embed-xgb-x86", variant=x86, cpu=200.0)


def _hourly(
    fleet: Fleet,
    name: str,
    *,
    cpu: float | list[float],
    memory: float,
    invocations: Callable[[int], float] | None = None,
) -> None:
    """Hourly metrics over the look-back; `invocations` by the hour's index in the window."""
    put_hourly_metrics(
        fleet.aws.client("cloudwatch"),
        endpoint=name,
        variant="AllTraffic",
        start=fleet.window_start,
        hours=LOOKBACK_HOURS,
        invocations=None if invocations is None else [invocations(h) for h in range(LOOKBACK_HOURS)],
        cpu=cpu if isinstance(cpu, list) else [cpu] * LOOKBACK_HOURS,
        memory=[memory] * LOOKBACK_HOURS,
    )


def _hour_of(fleet: Fleet, index: int) -> int:
    """The UTC hour of the day of the window's `index`-th hour."""
    return (fleet.window_start + timedelta(hours=index)).hour


def _model_latency(fleet: Fleet, name: str, *, ms: float) -> None:
    """p99 ModelLatency today (CloudWatch publishes it in microseconds): the benchmark's threshold."""
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    fleet.aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Timestamp": fleet.window_start + timedelta(hours=hour),
                "Value": ms * 1000,
                "Unit": "Microseconds",
            }
            for hour in range(0, LOOKBACK_HOURS, 6)
        ],
    )


# ---- what a user relies on ----------------------------------------------------------------------------
def serving_state(aws: EmulatedAws, name: str) -> dict[str, Any]:
    """The endpoint as it serves: status and config; each variant's type, count, serverless size, managed
    scaling and model image; its components' copies; tags; every scalable target, policy, scheduled action
    and alarm; and every endpoint config and model in the account (what a change makes and must remove)."""
    sagemaker = aws.client("sagemaker")
    autoscaling = aws.client("application-autoscaling")
    described = sagemaker.describe_endpoint(EndpointName=name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    components = sagemaker.list_inference_components(EndpointNameEquals=name)["InferenceComponents"]
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "variants": sorted(
            (
                v["VariantName"],
                v.get("CurrentInstanceCount"),
                str(v.get("CurrentServerlessConfig")),
                str(v.get("ManagedInstanceScaling")),
            )
            for v in described["ProductionVariants"]
        ),
        "configured": sorted(
            (
                v["VariantName"],
                v.get("InstanceType"),
                v.get("InitialInstanceCount"),
                str(v.get("ServerlessConfig")),
                str(v.get("ManagedInstanceScaling")),
                sagemaker.describe_model(ModelName=v["ModelName"])["PrimaryContainer"]["Image"]
                if v.get("ModelName")
                else None,
            )
            for v in config["ProductionVariants"]
        ),
        "copies": sorted(
            (
                c["InferenceComponentName"],
                str(
                    sagemaker.describe_inference_component(
                        InferenceComponentName=c["InferenceComponentName"]
                    )["RuntimeConfig"]
                ),
            )
            for c in components
        ),
        "tags": sorted(
            (t["Key"], t["Value"]) for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        ),
        "targets": sorted(
            (t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"])
            for t in autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        ),
        "policies": sorted(
            (p["ResourceId"], p["PolicyName"], p["PolicyType"])
            for p in autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        ),
        "scheduled": sorted(
            (a["ScheduledActionName"], a["Schedule"], str(a.get("ScalableTargetAction")), a.get("Timezone"))
            for a in autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
        ),
        "alarms": sorted(a["AlarmName"] for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]),
        "configs": sorted(
            c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
        ),
        "models": sorted(m["ModelName"] for m in sagemaker.list_models()["Models"]),
    }


def ledger(aws: EmulatedAws, stack: Stack, name: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    entries = [json.loads(i["body"]["S"]) for i in items if i["pk"]["S"].startswith(f"LEDGER#{name}")]
    return sorted(entries, key=lambda entry: str(entry["recorded_at"]))


@dataclass(frozen=True)
class Approved:
    card: ApprovalCard
    output: dict[str, Any]
    result: dict[str, Any]


def approve(aws: EmulatedAws, stack: Stack, slack: SlackReceiver, name: str, run: str) -> Approved:
    """Run the workflow as the schedule does, click Approve on the card for `name`, wait for the run."""
    execution = start_run(aws, stack, run)
    (card,) = wait_for_cards(slack, 1, timeout_s=120)
    assert card.endpoint_name == name, card
    answer = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    assert answer.status == 200, answer
    described = aws.wait_for_execution(execution, timeout_s=120)
    assert described["status"] == "SUCCEEDED", _children(aws)
    output = json.loads(described["output"])
    (result,) = output["results"]
    return Approved(card, output, result)


def _children(aws: EmulatedAws) -> str:
    """The apply executions: each state entered and how it ended, for a failure's message."""
    sfn = aws.client("stepfunctions")
    machines = [
        m["stateMachineArn"]
        for m in sfn.list_state_machines()["stateMachines"]
        if m["name"].endswith("-apply")
    ]
    lines = []
    for machine in machines:
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]:
            for h in sfn.get_execution_history(executionArn=e["executionArn"])["events"]:
                entered = h.get("stateEnteredEventDetails", {})
                if entered:
                    lines.append(f"{entered['name']}: {entered.get('input', '')[-400:]}")
    return "\n".join(lines)


def undo(stack: Stack, action_id: str) -> int:
    """`endpoint-optimizer undo ACTION_ID`, as an operator runs it (the emulated AWS is the environment's)."""
    return cli(["undo", action_id, "--table", stack.table_name, "--poll-seconds", "0"], sleep=lambda s: None)


# ---- (1) every rung: approve -> applied -> verified -> undo -> back ---------------------------------------
@dataclass(frozen=True)
class Rung:
    action: str
    seed: Callable[[Fleet], str]
    at_target: Callable[[dict[str, Any], dict[str, Any]], None]  # (before, after) on the emulated AWS


def _scaled_to_zero_ic(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["config"] != before["config"]
    assert "'MinInstanceCount': 0" in after["configured"][0][4]  # a new config: managed scaling from 0
    assert (
        "inference-component/llm-chat-7b",
        "sagemaker:inference-component:DesiredCopyCount",
        0,
        3,
    ) in after["targets"]
    assert after["alarms"] == ["eo-scale-from-zero-llm-chat-7b"]


def _scaled_to_zero_async(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["config"] == before["config"]
    assert after["targets"] == [
        ("endpoint/batch-ocr-async/variant/AllTraffic", "sagemaker:variant:DesiredInstanceCount", 0, 1)
    ]
    assert {p[1] for p in after["policies"]} == {"eo-backlog-per-instance", "eo-scale-out-from-zero"}


def _serverless(before: dict[str, Any], after: dict[str, Any]) -> None:
    (variant,) = after["variants"]
    assert variant[1] is None and "MemorySizeInMB" in variant[2]  # no instances: a serverless size
    assert after["config"] != before["config"] and after["tags"] == before["tags"]


def _scheduled(before: dict[str, Any], after: dict[str, Any]) -> None:
    resource = "endpoint/support-ticket-router/variant/AllTraffic"
    assert after["targets"] == [(resource, "sagemaker:variant:DesiredInstanceCount", 2, 2)]
    assert [(name, floor) for name, _, floor, _ in after["scheduled"]] == [
        ("eo-support-ticket-router-business-hours", str({"MinCapacity": 2, "MaxCapacity": 2})),
        ("eo-support-ticket-router-off-hours", str({"MinCapacity": 1, "MaxCapacity": 1})),
    ]


def _resized(instance_type: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def check(before: dict[str, Any], after: dict[str, Any]) -> None:
        (variant,) = after["configured"]
        assert (variant[1], variant[2]) == (instance_type, 1)
        assert after["config"].startswith("eo-") and after["status"] == "InService"
        assert not [
            a for a in after["alarms"] if a.endswith(("-5xx", "-latency"))
        ]  # the change's own, removed

    return check


def _on_graviton(before: dict[str, Any], after: dict[str, Any]) -> None:
    (variant,) = after["configured"]
    assert str(variant[1]).rpartition(".")[0] in {"ml.c6g", "ml.c7g", "ml.c8g"}, variant
    assert "arm64" in str(variant[5]), variant  # the arm64 build of the image
    assert not [a for a in after["alarms"] if a.endswith(("-5xx", "-latency"))]


RUNGS: dict[str, Any] = {
    "scale_to_zero-inference-components": pytest.param(
        Rung("scale_to_zero", idle_inference_components, _scaled_to_zero_ic),
        marks=pytest.mark.xfail(
            strict=True,
            reason="product bug: undo leaves the change's config <config>-eo-zero-<id> behind (act/scale_to_zero.py)",
        ),
    ),
    "scale_to_zero-async": Rung("scale_to_zero", sporadic_async, _scaled_to_zero_async),
    "migrate_serverless": pytest.param(
        Rung("migrate_serverless", sporadic_small_model, _serverless),
        marks=pytest.mark.xfail(
            strict=True,
            reason="product bug: verify invokes the endpoint with the sample-payload tag's object, which for a "
            "benchmarked move is Inference Recommender's .tar.gz of requests: the invocation fails, rolled back",
        ),
    ),
    "schedule": Rung("schedule", business_hours, _scheduled),
    "rightsize": Rung("rightsize", oversized, _resized("ml.m5.large")),
    "migrate_graviton": pytest.param(
        Rung("migrate_graviton", on_x86, _on_graviton),
        marks=pytest.mark.xfail(
            strict=True,
            reason="emulator gap: moto's DescribeEndpoint has no ProductionVariants[].DeployedImages, so the "
            "scan reads no image and the rung blocks 'the deployed image is not reported' (no card)",
        ),
    ),
}


@pytest.mark.parametrize("rung", RUNGS.values(), ids=RUNGS.keys())
def test_an_approved_rung_is_applied_verified_recorded_and_undone_back_to_the_original(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet, rung: Rung
) -> None:
    """GIVEN an endpoint seeded so the analyzer proposes the rung (benchmarked first when it is a move)
    WHEN the scheduled run asks in Slack and the approver clicks Approve
    THEN the run's result is "applied", the endpoint is at the target on the emulated AWS, the ledger has
    the applied entry with its action id and approver
    AND WHEN `endpoint-optimizer undo ACTION_ID` runs THEN the endpoint serves exactly as before (its
    config, sizes, tags, autoscaling, schedules; no config, model or alarm of the change left) and the
    ledger says undone.
    """
    name = rung.seed(fleet)
    before = serving_state(aws, name)

    approved = approve(aws, stack, slack, name, f"apply-{rung.action}")

    assert approved.card.action == rung.action
    assert (approved.result["endpoint_name"], approved.result["outcome"]) == (name, "applied"), (
        approved.result
    )
    after = serving_state(aws, name)
    rung.at_target(before, after)
    (entry,) = ledger(aws, stack, name)
    assert (entry["outcome"], entry["action"], entry["approved_by"]) == ("applied", rung.action, APPROVER)
    action_id = entry["action_id"]
    assert approved.result["detail"].endswith(f"undo with: endpoint-optimizer undo {action_id}")

    assert undo(stack, action_id) == 0

    assert serving_state(aws, name) == before
    assert [e["outcome"] for e in ledger(aws, stack, name)] == ["applied", "undone"]


@pytest.mark.xfail(
    strict=True,
    reason="product bug: analysis.fold_confirmations folds the benchmark into the plans and the report, not "
    "into the run's actions: the card (and the apply) get the finding without its confirmation",
)
def test_the_rightsize_card_shows_the_benchmarked_option_with_its_measured_latency_and_cost(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN an oversized endpoint whose move Inference Recommender benchmarks (issue 9's last Must-show)
    WHEN its approval card is posted
    THEN the card offers the benchmarked ml.m5.large with the p99 latency, throughput and cost per hour and
    per 1,000 inferences the job measured, next to what the endpoint does today.
    """
    name = oversized(fleet)
    execution = start_run(aws, stack, "card-benchmarked")
    (card,) = wait_for_cards(slack, 1, timeout_s=120)
    click(
        aws,
        stack,
        slack,
        approval_id=card.approval_id,
        user_id=APPROVER,
        action_id="reject",
        signing_secret=SIGNING_SECRET,
    )
    aws.wait_for_execution(execution, timeout_s=120)
    (job,) = aws.recommender.jobs()
    (measured,) = [b.metrics for b in job.benchmarks if b.metrics and b.key == "ml.m5.large"]

    text = json.dumps(card.message["body"]["blocks"])
    assert (card.action, card.endpoint_name) == ("rightsize", name)
    assert f"Confirmed by Inference Recommender job {job.name}" in text
    assert "*Benchmarked: 1 x ml.m5.large*" in text
    assert f"p99 latency {measured['ModelLatency']:.0f} ms (measured)" in text
    assert f"${measured['CostPerHour']:,.4f} per hour" in text
    assert f"${measured['CostPerInference'] * 1000:,.4f} per 1,000 inferences" in text
    assert "*Today: 1 x ml.m5.xlarge*" in text and "p99 latency 40 ms (observed)" in text


# ---- (2) an automatic rollback ----------------------------------------------------------------------------
def test_a_blue_green_move_whose_alarm_fires_while_updating_is_rolled_back_and_never_counted_as_savings(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN an approved, benchmarked rightsize of an oversized endpoint
    WHEN the change's own 5XX alarm goes to ALARM while the endpoint is Updating (SageMaker then rolls the
    update back by itself: InService on the old config, no FailureReason)
    THEN the run's result is "rolled_back", the endpoint serves as before (nothing of the change left), the
    ledger has no "applied" entry, and the run's summary (SNS and Slack) says rolled back and counts no
    savings.
    """
    name = oversized(fleet)
    before = serving_state(aws, name)

    with rollback_alarm_fires_on_update(name, "5XX errors on the new instances") as tripped:
        approved = approve(aws, stack, slack, name, "apply-rolled-back")

    assert len(tripped) == 1 and tripped[0].endswith("-5xx")
    assert (approved.result["outcome"], approved.result["estimated_monthly_savings_usd"]) == (
        "rolled_back",
        None,
    )
    assert "SageMaker rolled the update back" in approved.result["detail"]
    assert serving_state(aws, name) == before
    assert [e["outcome"] for e in ledger(aws, stack, name)] == ["rolled_back"]
    summary = aws.published_sns_messages(stack.topic_arn)[-1]
    assert summary["subject"] == "endpoint-optimizer: 0 applied, $0.00/month saved in us-east-1"
    assert "Outcomes: rolled_back: 1." in summary["message"]
    assert "applied: $0.00." in summary["message"]
    assert f"- {name}: rightsize rolled_back (rolled back, serving as before:" in summary["message"]
    posted = json.dumps(slack.messages[-1]["body"])
    assert "$0.00/month saved this run" in posted and "rolled_back" in posted
