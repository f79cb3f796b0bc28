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
from typing import Any

import pytest

from emulated_aws.loop import ApprovalCard, click, rollback_alarm_fires_on_update, wait_for_cards

# The seeders, one endpoint per rung, are the harness's (`make demo` seeds them too); imported here under
# the names other tests import them by.
from emulated_aws.rungs import (
    QUIET_HOUR_LEAD_MINUTES,
    Fleet,
    business_hours,
    idle_inference_components,
    on_x86,
    oversized,
    sporadic_async,
    sporadic_small_model,
)
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.cli import main as cli
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, start_run


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
    # up to QUIET_HOUR_LEAD_MINUTES more when the serverless move waits for the next (quiet) hour
    described = aws.wait_for_execution(execution, timeout_s=120 + 60 * QUIET_HOUR_LEAD_MINUTES)
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
    "scale_to_zero-inference-components": Rung(
        "scale_to_zero", idle_inference_components, _scaled_to_zero_ic
    ),
    "scale_to_zero-async": Rung("scale_to_zero", sporadic_async, _scaled_to_zero_async),
    "migrate_serverless": Rung("migrate_serverless", sporadic_small_model, _serverless),
    "schedule": Rung("schedule", business_hours, _scheduled),
    "rightsize": Rung("rightsize", oversized, _resized("ml.m5.large")),
    "migrate_graviton": Rung("migrate_graviton", on_x86, _on_graviton),
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
    assert "errorMessage" not in approved.result["detail"]  # the message, not the Lambda's error payload
    assert serving_state(aws, name) == before
    assert [e["outcome"] for e in ledger(aws, stack, name)] == ["rolled_back"]
    summary = aws.published_sns_messages(stack.topic_arn)[-1]
    assert summary["subject"] == "endpoint-optimizer: 0 applied, $0.00/month saved in us-east-1"
    assert "Outcomes: rolled_back: 1." in summary["message"]
    assert "applied: $0.00." in summary["message"]
    assert f"- {name}: rightsize rolled_back (rolled back, serving as before:" in summary["message"]
    posted = json.dumps(slack.messages[-1]["body"])
    assert "$0.00/month saved this run" in posted and "rolled_back" in posted
