"""A click decides an approval once; a click that loses the race with the timeout changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.approvals import BlockActions, handle_click
from endpoint_optimizer.ledger import StateTable
from endpoint_optimizer.models import Approval, ApprovalState, ProposedAction
from tests.conftest import load_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def table(dynamodb: Any) -> StateTable:
    return StateTable(dynamodb, "state")


def pending(table: StateTable) -> Approval:
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    approval = Approval(
        approval_id="abc123",
        task_token="token-1",
        action_id=action.action_id,
        finding=action.finding,
        state=ApprovalState.PENDING,
        requested_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    table.put_approval(approval)
    return approval


def click(user: str, action_id: str = "approve", value: str = "abc123") -> BlockActions:
    return BlockActions.model_validate(
        {"type": "block_actions", "user": {"id": user}, "actions": [{"action_id": action_id, "value": value}]}
    )


def test_click_after_step_functions_stopped_waiting_is_410_and_recorded_as_expired(table: StateTable) -> None:
    # GIVEN a pending approval whose task token Step Functions already timed out
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_success", service_error_code="TaskTimedOut", http_status_code=400)
        # WHEN the approver clicks Approve
        outcome = handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW + timedelta(minutes=5))
    # THEN the click is refused as expired and the record says so: a second click cannot apply either
    assert outcome.status == HTTPStatus.GONE
    assert table.get_approval("abc123").state == ApprovalState.EXPIRED
    again = handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW + timedelta(minutes=6))
    assert again.status == HTTPStatus.GONE


def test_click_after_expiry_is_410_and_step_functions_is_not_called(table: StateTable) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):  # no expected calls: any call fails the test
        outcome = handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW + timedelta(hours=2))
    assert outcome.status == HTTPStatus.GONE
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_non_approver_cannot_decide(table: StateTable) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = handle_click(table, sfn, click("U2"), approver_ids=["U1"], now=NOW)
    assert outcome.status == HTTPStatus.FORBIDDEN
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_empty_approver_list_means_nobody_can_approve(table: StateTable) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = handle_click(table, sfn, click("U1"), approver_ids=[], now=NOW)
    assert outcome.status == HTTPStatus.FORBIDDEN


def test_when_step_functions_cannot_be_told_the_approval_is_reopened_for_another_click(
    table: StateTable,
) -> None:
    # GIVEN Step Functions throttles the SendTaskSuccess
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_client_error(
            "send_task_success", service_error_code="ThrottlingException", http_status_code=400
        )
        outcome = handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW)
    # THEN the approver is told to click again and the approval is pending again (not "approved" forever)
    assert outcome.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert table.get_approval("abc123").state == ApprovalState.PENDING
    with Stubber(sfn) as stub:
        stub.add_response("send_task_success", {})
        assert handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW).status == HTTPStatus.OK
    assert table.get_approval("abc123").state == ApprovalState.APPROVED
