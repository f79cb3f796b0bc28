"""The whole loop on the emulated AWS: the real state machine, the real handlers, Slack as a person."""

from __future__ import annotations

import json
from typing import Any

from emulated_aws.loop import approval_cards, click, run_findings, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.decisions import is_actionable
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


def endpoint_names(aws: EmulatedAws) -> set[str]:
    pages = aws.client("sagemaker").get_paginator("list_endpoints").paginate()
    return {item["EndpointName"] for page in pages for item in page["Endpoints"]}


def table_items(aws: EmulatedAws, stack: Stack, prefix: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    return [json.loads(item["body"]["S"]) for item in items if item["pk"]["S"].startswith(prefix)]


def test_idle_endpoint_approved_in_slack_is_parked_and_restore_brings_it_back(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint with autoscaling, a busy one, a new idle one and an opted-out idle one
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle", autoscaling=True)
    fleet.endpoint("busy-search-ranker", traffic="busy")
    fleet.endpoint("new-idle-churn", traffic="idle", days_old=2)
    fleet.endpoint("opted-out-idle", traffic="idle", tags={"endpoint-optimizer:skip": "true"})
    config_name = aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointConfigName"]

    # WHEN the scheduled run asks in Slack and the approver clicks Approve
    execution = start_run(aws, stack, "approve-idle")
    (card,) = wait_for_cards(slack, 1)
    answer = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    described = aws.wait_for_execution(execution)

    # THEN only the idle endpoint was proposed, and it is parked: gone, config kept, snapshot + ledger
    assert answer.status == 200
    assert (card.action, card.endpoint_name) == ("park", idle)
    assert described["status"] == "SUCCEEDED"
    assert [c.endpoint_name for c in approval_cards(slack)] == [idle]
    assert endpoint_names(aws) == {"busy-search-ranker", "new-idle-churn", "opted-out-idle"}
    assert aws.client("sagemaker").describe_endpoint_config(EndpointConfigName=config_name)
    (snapshot,) = table_items(aws, stack, f"SNAPSHOT#{idle}")
    assert snapshot["config_name"] == config_name
    assert [t["min_capacity"] for t in snapshot["scalable_targets"]] == [1]
    (entry,) = table_items(aws, stack, f"LEDGER#{idle}")
    assert (entry["outcome"], entry["approved_by"]) == ("applied", APPROVER)
    assert entry["monthly_cost_before_usd"] == 83.95
    targets = aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert targets["ScalableTargets"] == []
    parked_policies = aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker"
    )
    assert parked_policies["ScalingPolicies"] == []  # deregistering removed them; the snapshot keeps them
    (snapshot_policy,) = snapshot["scaling_policies"]
    assert snapshot_policy["PolicyType"] == "TargetTrackingScaling"
    output = json.loads(described["output"])
    assert [(r["endpoint_name"], r["outcome"]) for r in output["results"]] == [(idle, "applied")]
    subjects = [m["subject"] for m in aws.published_sns_messages(stack.topic_arn)]
    assert len(subjects) == 2
    assert "1 applied, $83.95/month saved" in subjects[1]

    # AND restore brings it back with the same name, config and scalable target
    assert cli(["restore", idle, "--table", stack.table_name]) == 0
    restored = aws.client("sagemaker").describe_endpoint(EndpointName=idle)
    assert (restored["EndpointStatus"], restored["EndpointConfigName"]) == ("InService", config_name)
    targets = aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [
        (f"endpoint/{idle}/variant/AllTraffic", 1, 4)
    ]
    policies = aws.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")
    assert [p["ResourceId"] for p in policies["ScalingPolicies"]] == [f"endpoint/{idle}/variant/AllTraffic"]
    assert [e["outcome"] for e in table_items(aws, stack, f"LEDGER#{idle}")] == ["applied", "restored"]


def test_rejected_approval_leaves_the_endpoint_untouched(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    idle = fleet.endpoint("idle-rejected", traffic="idle")
    execution = start_run(aws, stack, "reject-idle")
    (card,) = wait_for_cards(slack, 1)
    answer = click(
        aws,
        stack,
        slack,
        approval_id=card.approval_id,
        user_id=APPROVER,
        action_id="reject",
        signing_secret=SIGNING_SECRET,
    )
    described = aws.wait_for_execution(execution)
    assert answer.status == 200
    assert described["status"] == "SUCCEEDED"
    assert idle in endpoint_names(aws)
    assert table_items(aws, stack, f"SNAPSHOT#{idle}") == []
    output = json.loads(described["output"])
    assert [(r["endpoint_name"], r["outcome"]) for r in output["results"]] == [(idle, "rejected")]
    # the card was replaced with the decision through Slack's response_url
    assert any("Rejected by" in str(m["body"]) for m in slack.messages_to("/actions/"))


def test_expired_approval_leaves_the_endpoint_untouched_and_a_late_click_is_refused(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN approvals that expire after 2 seconds (the template's minimum is 1 hour)
    lam = aws.client("lambda")
    analyze = stack.function_names["AnalyzeFunction"]
    env = lam.get_function_configuration(FunctionName=analyze)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=analyze, Environment={"Variables": {**env, "APPROVAL_TIMEOUT_HOURS": "0.0005"}}
    )
    idle = fleet.endpoint("idle-expired", traffic="idle")

    # WHEN nobody answers before the timeout
    execution = start_run(aws, stack, "expire-idle")
    (card,) = wait_for_cards(slack, 1)
    described = aws.wait_for_execution(execution, timeout_s=30)

    # THEN nothing changed, the run says "expired", and a late click cannot resume anything
    assert described["status"] == "SUCCEEDED"
    assert idle in endpoint_names(aws)
    output = json.loads(described["output"])
    assert [(r["endpoint_name"], r["outcome"]) for r in output["results"]] == [(idle, "expired")]
    late = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    assert late.status == 410
    assert table_items(aws, stack, f"LEDGER#{idle}") == []


def test_busy_new_opted_out_and_unmonitored_endpoints_never_get_an_approval_request(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    fleet.endpoint("busy-a", traffic="busy")
    fleet.endpoint("new-idle", traffic="idle", days_old=1)
    fleet.endpoint("opted-out", traffic="idle", tags={"endpoint-optimizer:skip": "true"})
    fleet.endpoint("no-metrics", traffic="silent")
    described = aws.wait_for_execution(start_run(aws, stack, "nothing-to-do"))
    assert described["status"] == "SUCCEEDED"
    assert approval_cards(slack) == []
    output = json.loads(described["output"])
    assert output["results"] == []
    findings = run_findings(aws, stack, output)
    assert set(findings) == {"busy-a", "new-idle", "opted-out", "no-metrics"}
    assert not any(is_actionable(finding) for finding in findings.values())
    assert {findings[name].action.value for name in ("new-idle", "opted-out", "no-metrics")} == {"none"}
    assert findings["no-metrics"].blocked_by == ["signal missing"]
    assert endpoint_names(aws) == set(findings)
