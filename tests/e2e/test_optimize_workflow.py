"""The whole loop on the emulated AWS: the real state machine, the real handlers, Slack as a person."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from emulated_aws.loop import approval_cards, click, run_findings, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.decide.plan import is_actionable
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import ApprovalLock
from tests.conftest import load_event
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


# ------------------------------------------------------------------ one open approval per endpoint


def run_output(described: dict[str, Any]) -> dict[str, Any]:
    assert "output" in described, described.get("failed_steps")
    output: dict[str, Any] = json.loads(described["output"])
    return output


def outcomes(described: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["endpoint_name"], r["outcome"]) for r in run_output(described)["results"]]


def sns_after(aws: EmulatedAws, stack: Stack, seen: int) -> list[dict[str, Any]]:
    return aws.published_sns_messages(stack.topic_arn)[seen:]


def test_two_overlapping_runs_post_one_card_per_endpoint_and_approving_applies_and_counts_once(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint, and yesterday's run still waiting for its approval card
    idle = fleet.endpoint("idle-overlap", traffic="idle")
    fleet.endpoint("busy-overlap", traffic="busy")
    first = start_run(aws, stack, "overlap-day-1")
    (card,) = wait_for_cards(slack, 1)

    # WHEN today's run starts while that approval is open
    second = aws.wait_for_execution(start_run(aws, stack, "overlap-day-2"))

    # THEN today's run posts no second card: it leaves the endpoint for later and says why
    assert second["status"] == "SUCCEEDED"
    assert [c.endpoint_name for c in approval_cards(slack)] == [idle]
    assert outcomes(second) == []
    findings = run_findings(aws, stack, run_output(second))
    (reason,) = findings[idle].blocked_by
    assert reason.startswith("approval pending since ") and card.approval_id in reason
    report = aws.published_sns_messages(stack.topic_arn)[-2]["message"]
    assert "Left for later (1): an approval is pending or was rejected recently:" in report
    assert f"- {idle}: {reason}" in report

    # WHEN the approver clicks Approve, twice
    answers = [
        click(
            aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
        )
        for _ in range(2)
    ]
    described = aws.wait_for_execution(first)

    # THEN it is applied once, its savings are counted once, and the endpoint is free for later runs
    assert [answer.status for answer in answers] == [200, 409]
    assert described["status"] == "SUCCEEDED"
    assert outcomes(described) == [(idle, "applied")]
    assert idle not in endpoint_names(aws)
    assert [e["outcome"] for e in table_items(aws, stack, f"LEDGER#{idle}")] == ["applied"]
    summaries = [
        m["subject"] for m in aws.published_sns_messages(stack.topic_arn) if "applied" in m["subject"]
    ]
    assert sorted(summaries) == [
        "endpoint-optimizer: 0 applied, $0.00/month saved in us-east-1",
        "endpoint-optimizer: 1 applied, $83.95/month saved in us-east-1",
    ]
    assert table_items(aws, stack, "LOCK#") == []


class SlackWhereAnotherRunAsksFirst(SlackReceiver):
    """A Slack that, when a run's report arrives (after its analysis, before its cards), lets another
    run's approval of `endpoint_name` take the endpoint's lock first, as an overlapping run's
    request_approval would. The emulator runs one Lambda at a time, so two real runs cannot be
    interleaved there: the other run's request is played with the product's own StateTable."""

    def __init__(self, table: StateTable, finding: dict[str, str]) -> None:
        super().__init__()
        self._table = table
        self._finding = finding
        self.taken: ApprovalLock | None = None

    def _record(self, message: dict[str, Any]) -> None:
        blocks = message["body"].get("blocks", []) if isinstance(message["body"], dict) else []
        is_report = any(
            str(b.get("text", {}).get("text", "")).startswith("SageMaker endpoint scan") for b in blocks
        )
        if is_report and self.taken is None:
            now = datetime.now(UTC)
            self.taken = ApprovalLock(
                **self._finding,
                approval_id="other-run-approval",
                action_id="other-run-action",
                requested_at=now,
                expires_at=now + timedelta(hours=25),
            )
            self._table.take_lock(self.taken, now=now)
        super()._record(message)


def test_an_approval_opened_by_another_run_between_analysis_and_card_is_not_asked_twice(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint, and another run whose approval of it opens while this run reports
    idle = fleet.endpoint("idle-raced", traffic="idle")
    table = StateTable(aws.client("dynamodb"), stack.table_name)
    where = {"account_id": aws.account_id, "region": aws.region, "endpoint_name": idle}
    with SlackWhereAnotherRunAsksFirst(table, where) as racing_slack:
        aws.client("secretsmanager").put_secret_value(
            SecretId=stack.webhook_secret_arn, SecretString=racing_slack.webhook_url
        )
        # WHEN this run asks for approval
        described = aws.wait_for_execution(start_run(aws, stack, "raced"))
        posted = approval_cards(racing_slack)
    # THEN it posts no card: the action is recorded as skipped, with the other approval named
    assert described["status"] == "SUCCEEDED"
    assert racing_slack.taken is not None
    assert posted == []
    (result,) = run_output(described)["results"]
    assert (result["endpoint_name"], result["outcome"]) == (idle, "skipped")
    assert result["detail"].startswith(f"an approval is already open for {idle} (approval other-run-approval")
    assert result["estimated_monthly_savings_usd"] is None
    assert table_items(aws, stack, "APPROVAL#") == []
    # AND nothing changed, nothing is counted, and the other run's approval still holds the endpoint
    assert idle in endpoint_names(aws)
    summary = aws.published_sns_messages(stack.topic_arn)[-1]
    assert summary["subject"] == "endpoint-optimizer: 0 applied, $0.00/month saved in us-east-1"
    assert "Outcomes: skipped: 1." in summary["message"]
    assert [lock["approval_id"] for lock in table_items(aws, stack, "LOCK#")] == ["other-run-approval"]


def test_a_rejected_endpoint_is_not_proposed_again_within_the_cooldown_and_others_get_their_turn(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN two idle endpoints and one action a run: the larger saving is asked first
    lam = aws.client("lambda")
    analyze = stack.function_names["AnalyzeFunction"]
    env = lam.get_function_configuration(FunctionName=analyze)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=analyze, Environment={"Variables": {**env, "MAX_ACTIONS_PER_RUN": "1"}}
    )
    rejected = fleet.endpoint("idle-large-rejected", traffic="idle", instance_type="ml.m5.xlarge")
    waiting = fleet.endpoint("idle-small-waiting", traffic="idle")
    first = start_run(aws, stack, "cooldown-day-1")
    (card,) = wait_for_cards(slack, 1)
    assert card.endpoint_name == rejected

    # WHEN the approver rejects it
    answer = click(
        aws,
        stack,
        slack,
        approval_id=card.approval_id,
        user_id=APPROVER,
        action_id="reject",
        signing_secret=SIGNING_SECRET,
    )
    day_1 = aws.wait_for_execution(first)
    assert answer.status == 200
    assert outcomes(day_1) == [(rejected, "rejected")]
    assert run_output(day_1)["deferred"] == [waiting]
    (rejection,) = table_items(aws, stack, f"REJECTION#{aws.account_id}#{aws.region}#{rejected}")
    assert rejection["rejected_by"] == APPROVER
    assert table_items(aws, stack, "LOCK#") == []

    # THEN the next run asks about the other endpoint, and says why the rejected one waits
    second = start_run(aws, stack, "cooldown-day-2")
    cards = wait_for_cards(slack, 2)
    assert [c.endpoint_name for c in cards] == [rejected, waiting]
    click(
        aws, stack, slack, approval_id=cards[1].approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    day_2 = aws.wait_for_execution(second)
    assert outcomes(day_2) == [(waiting, "applied")]
    rejected_on = datetime.fromisoformat(rejection["rejected_at"])
    until = (rejected_on + timedelta(days=14)).strftime("%Y-%m-%d")
    reason = f"rejected by {APPROVER} on {rejected_on.strftime('%Y-%m-%d')}, cooldown until {until}"
    assert run_findings(aws, stack, run_output(day_2))[rejected].blocked_by == [reason]
    report = aws.published_sns_messages(stack.topic_arn)[-2]["message"]
    assert f"- {rejected}: {reason}" in report
    assert rejected in endpoint_names(aws) and waiting not in endpoint_names(aws)


def test_apply_invoked_with_mode_auto_in_an_approve_stack_refuses_and_deletes_nothing(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN a stack deployed in `approve`, and an apply event that claims `auto` and carries no approval
    assert stack.parameters["Mode"] == "approve"
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = load_event("apply.json")
    event["state"]["action"]["mode"] = "auto"
    event["state"]["action"]["approval"] = None
    # WHEN the real apply function is invoked with it
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names["ApplyFunction"], Payload=json.dumps(event).encode()
    )
    result = json.loads(answer["Payload"].read())["result"]
    # THEN it refuses (the mode is the stack's, not the event's) and the endpoint keeps serving
    assert result["outcome"] == "refused", result
    assert result["detail"] == f"{idle}: no approval came with this action"
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert table_items(aws, stack, f"SNAPSHOT#{idle}") == []
    assert [e for e in table_items(aws, stack, f"LEDGER#{idle}") if e["outcome"] == "applied"] == []
