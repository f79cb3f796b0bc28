"""One decision, whoever makes it: a Slack click and the CLI's `approvals approve|reject` both go through
act.approvals.decide, so they make the same transitions and leave the same audit record; only the
approver's identity differs (a Slack user id, an IAM ARN)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.act.approvals import MAX_REASON_CHARS, Approver, decide
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Approval, ApprovalState, ProposedAction
from tests.conftest import load_event

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ARN = "arn:aws:sts::123456789012:assumed-role/platform-oncall/ana"


@pytest.fixture
def table() -> InMemoryStateTable:
    table = InMemoryStateTable()
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    table.put_approval(
        Approval(
            approval_id="abc123",
            task_token="token-1",
            action_id=action.action_id,
            finding=action.finding,
            state=ApprovalState.PENDING,
            requested_at=NOW,
            expires_at=NOW + timedelta(hours=1),
            rejection_cooldown_days=14,
        )
    )
    return table


def test_an_iam_caller_approves_and_is_recorded_as_the_approver(table: InMemoryStateTable) -> None:
    """GIVEN a pending approval WHEN the CLI's caller approves it
    THEN the workflow resumes once with the caller's ARN as approver, and the record says who and when."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        output = json.dumps({"approval_id": "abc123", "approved_by": ARN})
        stub.add_response("send_task_success", {}, {"taskToken": "token-1", "output": output})
        outcome = decide(
            table, sfn, "abc123", ApprovalState.APPROVED, approver=Approver.iam_caller(ARN), now=NOW
        )

    assert (outcome.status, outcome.message) == (HTTPStatus.OK, f"Approved by {ARN}: applying park.")
    stored = table.get_approval("abc123")
    assert (stored.state, stored.decided_by, stored.decided_at) == (ApprovalState.APPROVED, ARN, NOW)


def test_a_rejection_keeps_its_reason_on_the_approval_the_rejection_and_the_workflows_cause(
    table: InMemoryStateTable,
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    reason = "  quarter-end batch scoring runs on it  "
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {
                "taskToken": "token-1",
                "error": "ApprovalRejected",
                "cause": f"rejected from the CLI by {ARN}: quarter-end batch scoring runs on it",
            },
        )
        outcome = decide(
            table,
            sfn,
            "abc123",
            ApprovalState.REJECTED,
            approver=Approver.iam_caller(ARN),
            reason=reason,
            now=NOW,
        )

    assert outcome.status == HTTPStatus.OK
    assert outcome.message.endswith("is left as it is. Not proposed again before 2026-12-15.")
    assert table.get_approval("abc123").rejection_reason == "quarter-end batch scoring runs on it"
    assert outcome.approval is not None
    rejection = table.holds_for([outcome.approval.finding]).rejection_for(outcome.approval.finding)
    assert rejection is not None
    assert (rejection.rejected_by, rejection.reason) == (ARN, "quarter-end batch scoring runs on it")


def test_a_long_reason_is_cut_to_its_limit(table: InMemoryStateTable) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response("send_task_failure", {})
        decide(
            table,
            sfn,
            "abc123",
            ApprovalState.REJECTED,
            approver=Approver.iam_caller(ARN),
            reason="x" * 5000,
            now=NOW,
        )
    assert table.get_approval("abc123").rejection_reason == "x" * MAX_REASON_CHARS


@pytest.mark.parametrize(
    ("approver", "shown"), [(Approver.slack_user("U1"), "<@U1>"), (Approver.iam_caller(ARN), ARN)]
)
def test_an_expired_approval_is_refused_whoever_decides_and_the_workflow_is_not_called(
    table: InMemoryStateTable, approver: Approver, shown: str
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):  # no expected calls: any call fails the test
        outcome = decide(
            table, sfn, "abc123", ApprovalState.APPROVED, approver=approver, now=NOW + timedelta(hours=2)
        )
    assert outcome.status == HTTPStatus.GONE
    assert "expired" in outcome.message
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_a_decided_approval_is_refused_and_keeps_its_first_decision(table: InMemoryStateTable) -> None:
    """GIVEN an approval approved in Slack WHEN the CLI then rejects it THEN it is refused (409) and stays
    approved by the Slack user: one decision, whichever way it came."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response("send_task_success", {})
        decide(table, sfn, "abc123", ApprovalState.APPROVED, approver=Approver.slack_user("U1"), now=NOW)
        outcome = decide(
            table, sfn, "abc123", ApprovalState.REJECTED, approver=Approver.iam_caller(ARN), now=NOW
        )
    assert (outcome.status, outcome.message) == (HTTPStatus.CONFLICT, "approval abc123 is already approved")
    stored = table.get_approval("abc123")
    assert (stored.state, stored.decided_by, stored.rejection_reason) == (ApprovalState.APPROVED, "U1", None)
