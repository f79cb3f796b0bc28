"""Slack clicks that must be refused: each gets the right HTTP status and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulated_aws.loop import ApprovalCard, ClickAnswer, click, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


@dataclass(frozen=True)
class PendingApproval:
    aws: EmulatedAws
    stack: Stack
    slack: SlackReceiver
    execution_arn: str
    card: ApprovalCard
    endpoint: str

    def click(self, **overrides: Any) -> ClickAnswer:
        """The approver's click on this card, signed with the app's secret, unless `overrides` say otherwise."""
        request: dict[str, Any] = {
            "approval_id": self.card.approval_id,
            "user_id": APPROVER,
            "signing_secret": SIGNING_SECRET,
            **overrides,
        }
        return click(self.aws, self.stack, self.slack, **request)


@pytest.fixture
def pending(aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet) -> Iterator[PendingApproval]:
    endpoint = fleet.endpoint("idle-awaiting-approval", traffic="idle")
    execution = start_run(aws, stack, "awaiting-approval")
    (card,) = wait_for_cards(slack, 1)
    yield PendingApproval(aws, stack, slack, execution, card, endpoint)
    aws.client("stepfunctions").stop_execution(executionArn=execution)


def approval_state(aws: EmulatedAws, stack: Stack, approval_id: str) -> str:
    item = aws.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}}
    )["Item"]
    state: str = item["state"]["S"]
    return state


def assert_nothing_changed(pending: PendingApproval) -> None:
    aws = pending.aws
    assert approval_state(aws, pending.stack, pending.card.approval_id) == "pending"
    status = aws.client("stepfunctions").describe_execution(executionArn=pending.execution_arn)["status"]
    assert status == "RUNNING"
    aws.client("sagemaker").describe_endpoint(EndpointName=pending.endpoint)  # still there


def test_forged_signature_is_refused_with_401(pending: PendingApproval) -> None:
    assert pending.click(signature="v0=" + "0" * 64).status == 401
    assert_nothing_changed(pending)


def test_request_signed_with_another_secret_is_refused_with_401(pending: PendingApproval) -> None:
    assert pending.click(signing_secret="not-the-secret").status == 401
    assert_nothing_changed(pending)


def test_stale_timestamp_is_refused_with_401(pending: PendingApproval) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    assert pending.click(timestamp=six_minutes_ago).status == 401
    assert_nothing_changed(pending)


def test_user_who_is_not_an_approver_is_refused_with_403(pending: PendingApproval) -> None:
    assert pending.click(user_id="U0INTRUDER").status == 403
    assert_nothing_changed(pending)


def test_unknown_approval_id_is_refused_with_404(pending: PendingApproval) -> None:
    assert pending.click(approval_id="no-such-id").status == 404
    assert_nothing_changed(pending)


def test_malformed_body_is_refused_with_400(pending: PendingApproval) -> None:
    assert pending.click(action_id="delete-everything").status == 400
    assert_nothing_changed(pending)


def test_replayed_click_is_refused_with_409_and_the_action_runs_once(
    aws: EmulatedAws, stack: Stack, pending: PendingApproval
) -> None:
    first = pending.click()
    replay = pending.click(action_id="reject")
    described = aws.wait_for_execution(pending.execution_arn)
    assert (first.status, replay.status) == (200, 409)
    assert approval_state(aws, stack, pending.card.approval_id) == "approved"
    assert described["status"] == "SUCCEEDED"
    ledger = aws.client("dynamodb").query(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"LEDGER#{pending.endpoint}"}},
    )["Items"]
    assert len(ledger) == 1
