"""A message that cannot be sent never stops the run's approvals and changes, and never goes unnoticed."""

from __future__ import annotations

import json

from emulated_aws.loop import click, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


def test_an_approved_park_goes_ahead_when_the_report_and_summary_cannot_be_sent(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN an idle endpoint, and a notification topic that no longer exists (every report and summary
    fails: SNS refuses the publish)
    WHEN a run proposes to park it and the approver approves the card
    THEN the endpoint is parked and recorded in the ledger, and the run ends FAILED with
    NotificationsNotSent (an alarm on failed executions fires) instead of failing before the change.
    """
    endpoint = fleet.endpoint("idle-while-sns-is-down", traffic="idle")
    aws.client("sns").delete_topic(TopicArn=stack.topic_arn)

    execution = start_run(aws, stack, "notifications-down")
    (card,) = wait_for_cards(slack, 1)
    answer = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    described = aws.wait_for_execution(execution)

    assert answer.status == 200
    assert (described["status"], described.get("error")) == ("FAILED", "NotificationsNotSent")
    endpoints = aws.client("sagemaker").list_endpoints()["Endpoints"]
    assert endpoint not in {e["EndpointName"] for e in endpoints}
    ledger = aws.client("dynamodb").query(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"LEDGER#{endpoint}"}},
    )["Items"]
    assert [json.loads(item["body"]["S"])["outcome"] for item in ledger] == ["applied"]
    history = aws.client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    failed_tasks = [e for e in history if e["type"] == "LambdaFunctionFailed" or e["type"] == "TaskFailed"]
    assert len(failed_tasks) == 2, [e["type"] for e in history]  # the report and the summary
