"""The run summary says what the ledger's applied changes have saved this month, read from the ledger's
month index by the notify function (its role may only Query `LEDGERMONTH#*`)."""

from __future__ import annotations

import json

from emulated_aws.loop import click, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


def test_the_run_summary_after_an_approved_park_says_what_was_saved_this_month(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint and a busy one
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    fleet.endpoint("busy-search-ranker", traffic="busy")

    # WHEN the scheduled run asks in Slack, the approver approves, and the park is applied
    execution = start_run(aws, stack, "realised-savings")
    (card,) = wait_for_cards(slack, 1)
    answer = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    described = aws.wait_for_execution(execution)
    assert (answer.status, described["status"], card.endpoint_name) == (200, "SUCCEEDED", idle)

    # THEN the run summary, by email (SNS) and in Slack, counts the park among this month's savings: it was
    # written to the ledger's month index with its entry, and read back through it (no Scan)
    sns_summary = aws.published_sns_messages(stack.topic_arn)[-1]["message"]
    assert "Saved this month so far: $" in sns_summary
    assert "across 1 change." in sns_summary
    slack_summary = json.dumps(slack.messages_to("/services")[-1]["body"])
    assert "Saved this month so far: $" in slack_summary
    month_index = [
        item
        for item in aws.client("dynamodb").scan(TableName=stack.table_name)["Items"]
        if item["pk"]["S"].startswith("LEDGERMONTH#")
    ]
    assert [json.loads(item["body"]["S"])["endpoint_name"] for item in month_index] == [idle]
