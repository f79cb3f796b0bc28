"""A click decides an approval once; a click that loses the race with the timeout changes nothing.

On the in-memory state table and a recording Slack: the same behaviour as DynamoDB's
(tests/unit/infra/test_stores_contract.py holds the twins to it), without moto or HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from endpoint_optimizer.act.approvals import (
    ALREADY_OPEN_ERROR,
    ApprovalSkipped,
    BlockActions,
    InteractionOutcome,
    handle_click,
    request_approval,
    update_card,
)
from endpoint_optimizer.infra.stores import LOCK_APPLY_MARGIN, ApprovalRecords, InMemoryStateTable
from endpoint_optimizer.models import Action, Approval, ApprovalLock, ApprovalState, ProposedAction
from endpoint_optimizer.notify.slack import SlackPostFailed, usd
from tests.conftest import load_event
from tests.unit.fake_slack import RecordingSlack

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def table() -> ApprovalRecords:
    return InMemoryStateTable()


def pending(table: ApprovalRecords) -> Approval:
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


def test_click_after_step_functions_stopped_waiting_is_410_and_recorded_as_expired(
    table: ApprovalRecords,
) -> None:
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


def test_click_after_expiry_is_410_and_step_functions_is_not_called(table: ApprovalRecords) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):  # no expected calls: any call fails the test
        outcome = handle_click(table, sfn, click("U1"), approver_ids=["U1"], now=NOW + timedelta(hours=2))
    assert outcome.status == HTTPStatus.GONE
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_non_approver_cannot_decide(table: ApprovalRecords) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = handle_click(table, sfn, click("U2"), approver_ids=["U1"], now=NOW)
    assert outcome.status == HTTPStatus.FORBIDDEN
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_empty_approver_list_means_nobody_can_approve(table: ApprovalRecords) -> None:
    pending(table)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = handle_click(table, sfn, click("U1"), approver_ids=[], now=NOW)
    assert outcome.status == HTTPStatus.FORBIDDEN


def test_when_step_functions_cannot_be_told_the_approval_is_reopened_for_another_click(
    table: ApprovalRecords,
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


# ------------------------------------------------------------------ one open approval per endpoint


@pytest.fixture
def slack() -> RecordingSlack:
    return RecordingSlack()


def proposed(run: str, **changes: Any) -> ProposedAction:
    """The sample action as a run `run` proposes it (action ids differ per run, the endpoint is the same)."""
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    return action.model_copy(update={"action_id": f"action-{run}", **changes})


def lock_of(table: ApprovalRecords, action: ProposedAction) -> ApprovalLock | None:
    return table.holds_for([action.finding]).lock_for(action.finding)


def test_a_second_run_asking_for_the_same_endpoint_posts_no_card_and_ends_its_wait_as_skipped(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN run 1's approval card for the endpoint is open
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    first = request_approval(table, sfn, slack, proposed("run-1"), task_token="token-1", now=NOW)
    assert isinstance(first, Approval)
    # WHEN run 2 (overlapping, scheduled a day later) asks for the same endpoint
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {"taskToken": "token-2", "error": ALREADY_OPEN_ERROR, "cause": ANY},
        )
        second = request_approval(table, sfn, slack, proposed("run-2"), task_token="token-2", now=NOW)
        stub.assert_no_pending_responses()
    # THEN no second card: run 2's wait ends as skipped with the reason, and only run 1's approval exists
    assert second == ApprovalSkipped(
        f"an approval is already open for idle-fraud-xgb (approval {first.approval_id}, asked 2026-11-30 12:00 UTC)"
    )
    assert len(slack.posts) == 1
    lock = lock_of(table, proposed("run-1"))
    assert lock is not None
    assert (lock.approval_id, lock.action_id) == (first.approval_id, "action-run-1")
    assert lock.expires_at == first.expires_at + LOCK_APPLY_MARGIN  # held through apply


def test_a_lock_whose_approval_and_apply_time_have_passed_no_longer_holds_the_endpoint(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN run 1's approval (24 h) expired unanswered, and its apply margin is over too (DynamoDB TTL
    # has not removed the lock item yet)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    request_approval(table, sfn, slack, proposed("run-1"), task_token="t1", now=NOW)
    later = NOW + timedelta(hours=24) + LOCK_APPLY_MARGIN
    # WHEN a later run asks THEN it gets its card
    with Stubber(sfn):  # no Step Functions call expected
        second = request_approval(table, sfn, slack, proposed("run-2"), task_token="t2", now=later)
    assert isinstance(second, Approval)
    assert len(slack.posts) == 2
    assert (lock := lock_of(table, proposed("run-2"))) is not None
    assert lock.approval_id == second.approval_id


def test_a_retry_of_the_same_request_takes_over_its_own_lock(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN Step Functions retried the request (same action; the first invocation posted its card)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    request_approval(table, sfn, slack, proposed("run-1"), task_token="t1", now=NOW)
    with Stubber(sfn):
        retry = request_approval(table, sfn, slack, proposed("run-1"), task_token="t1b", now=NOW)
    # THEN the retry is not refused as "already open" by its own first attempt
    assert isinstance(retry, Approval)
    assert (lock := lock_of(table, proposed("run-1"))) is not None
    assert lock.approval_id == retry.approval_id


@pytest.mark.parametrize(
    "failure",
    [OSError("connection refused"), SlackPostFailed("Slack answered HTTP 404: no_service")],
    ids=["unreachable", "refused"],
)
def test_when_the_card_cannot_be_posted_the_endpoint_is_not_left_locked(
    table: ApprovalRecords, failure: Exception
) -> None:
    # GIVEN Slack cannot be reached, or refuses the card
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    # WHEN the approval is requested THEN the error reaches the workflow (its Retry/Catch) ...
    with pytest.raises(type(failure)):
        request_approval(
            table, sfn, RecordingSlack(failure=failure), proposed("run-1"), task_token="t", now=NOW
        )
    # ... AND no approval nobody can see holds the endpoint
    assert lock_of(table, proposed("run-1")) is None


class SlackThatChecksTheButtons(RecordingSlack):
    """Records, as each card arrives, the state of the approval its buttons point at."""

    def __init__(self, table: ApprovalRecords) -> None:
        super().__init__()
        self.table = table
        self.seen_at_post: list[ApprovalState] = []

    def post(self, text: str, blocks: list[Any]) -> None:
        super().post(text, blocks)
        self.seen_at_post += [self.table.get_approval(value).state for value in self.buttons()[-1:]]


def test_the_card_is_posted_after_its_approval_is_stored_and_its_buttons_name_only_the_approval(
    table: ApprovalRecords,
) -> None:
    # GIVEN an action to approve
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    slack = SlackThatChecksTheButtons(table)
    action = proposed("run-1")
    # WHEN its approval is requested
    approval = request_approval(table, sfn, slack, action, task_token="secret-token", now=NOW)
    # THEN one card is posted, whose buttons carry the approval id (never the task token) of an
    # approval already stored, pending, with the token
    assert isinstance(approval, Approval)
    (card,) = slack.posts
    savings = usd(action.finding.estimated_monthly_savings_usd)
    assert card.text == f"Approve park of idle-fraud-xgb? Saves {savings} a month."
    assert slack.buttons() == [approval.approval_id, approval.approval_id]
    assert slack.seen_at_post == [ApprovalState.PENDING]
    assert "secret-token" not in str(card.blocks)
    assert table.get_approval(approval.approval_id).task_token == "secret-token"


def test_the_card_names_who_may_approve_and_the_undo_of_this_very_action(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN the stack's approvers WHEN the approval of a scale to zero is requested
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    sample = proposed("run-1")
    action = sample.model_copy(
        update={"finding": sample.finding.model_copy(update={"action": Action.SCALE_TO_ZERO})}
    )
    request_approval(table, sfn, slack, action, task_token="t", now=NOW, approvers=["U0ALICE", "U0BOB"])
    # THEN its card says who may approve, and its way back names this very action
    (card,) = slack.posts
    text = str(card.blocks)
    assert "<@U0ALICE>, <@U0BOB>" in text
    assert "`endpoint-optimizer undo action-run-1`" in text


def test_rejecting_in_slack_starts_the_cooldown_and_ends_the_approvals_hold(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN an open approval (card posted, endpoint locked) of an action proposed with a 3-day cooldown
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    action = proposed("run-1", rejection_cooldown_days=3)
    approval = request_approval(table, sfn, slack, action, task_token="tok", now=NOW)
    assert isinstance(approval, Approval)
    # WHEN the approver rejects it
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "tok", "error": "ApprovalRejected", "cause": ANY}
        )
        outcome = handle_click(
            table,
            sfn,
            click("U1", "reject", approval.approval_id),
            approver_ids=["U1"],
            now=NOW + timedelta(hours=1),
        )
    # THEN the rejection is recorded with who and until when, and the lock is gone
    assert outcome.status == HTTPStatus.OK
    assert outcome.message.endswith("Not proposed again before 2026-12-03.")
    holds = table.holds_for([action.finding])
    assert holds.lock_for(action.finding) is None
    rejection = holds.rejection_for(action.finding)
    assert rejection is not None
    assert (rejection.rejected_by, rejection.approval_id) == ("U1", approval.approval_id)
    assert rejection.expires_at - rejection.rejected_at == timedelta(days=3)


def test_approving_keeps_the_endpoint_locked_for_the_apply(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    approval = request_approval(table, sfn, slack, proposed("r"), task_token="tok", now=NOW)
    assert isinstance(approval, Approval)
    with Stubber(sfn) as stub:
        stub.add_response("send_task_success", {})
        outcome = handle_click(
            table, sfn, click("U1", value=approval.approval_id), approver_ids=["U1"], now=NOW
        )
    assert outcome.status == HTTPStatus.OK
    assert (lock := lock_of(table, proposed("r"))) is not None
    assert lock.approval_id == approval.approval_id
    assert table.holds_for([approval.finding]).rejection_for(approval.finding) is None


def test_a_click_that_arrives_after_the_workflow_stopped_waiting_ends_the_hold(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    approval = request_approval(table, sfn, slack, proposed("r"), task_token="tok", now=NOW)
    assert isinstance(approval, Approval)
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_failure", service_error_code="TaskTimedOut", http_status_code=400)
        outcome = handle_click(
            table, sfn, click("U1", "reject", approval.approval_id), approver_ids=["U1"], now=NOW
        )
    assert outcome.status == HTTPStatus.GONE
    assert lock_of(table, proposed("r")) is None
    assert table.holds_for([approval.finding]).rejection_for(approval.finding) is None  # nobody rejected it


def test_releasing_never_frees_the_lock_of_another_approval(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    approval = request_approval(table, sfn, slack, proposed("r"), task_token="t", now=NOW)
    assert isinstance(approval, Approval)
    finding = approval.finding
    assert not table.release_lock(
        finding.account_id, finding.region, finding.endpoint_name, approval_id="other"
    )
    assert lock_of(table, proposed("r")) is not None
    assert table.release_lock(
        finding.account_id, finding.region, finding.endpoint_name, approval_id=approval.approval_id
    )
    assert lock_of(table, proposed("r")) is None


# ------------------------------------------------------------------ the card after the click


def test_a_decided_click_replaces_its_card_with_the_verdict(
    table: ApprovalRecords, slack: RecordingSlack
) -> None:
    # GIVEN an open approval, clicked from its card (Slack sends the card's response_url)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    approval = request_approval(table, sfn, slack, proposed("r"), task_token="tok", now=NOW)
    assert isinstance(approval, Approval)
    interaction = click("U1", value=approval.approval_id).model_copy(
        update={"response_url": "https://hooks.slack.com/actions/T/1/x"}
    )
    with Stubber(sfn) as stub:
        stub.add_response("send_task_success", {})
        outcome = handle_click(table, sfn, interaction, approver_ids=["U1"], now=NOW)
    # WHEN the card is updated
    update_card(slack, interaction, outcome)
    # THEN that card (and only it) now says who approved, without buttons
    (replaced,) = slack.replaced
    assert replaced.response_url == "https://hooks.slack.com/actions/T/1/x"
    assert replaced.text == "Approved by <@U1>: applying park."
    assert [block["type"] for block in replaced.blocks] == ["section"]
    assert "Approved by <@U1>" in replaced.blocks[0]["text"]["text"]


@pytest.mark.parametrize(
    ("outcome", "response_url"),
    [
        (InteractionOutcome(HTTPStatus.FORBIDDEN, "<@U2> is not an approver for this app"), "https://x"),
        (InteractionOutcome(HTTPStatus.OK, "decided", approval=None), None),
    ],
    ids=["refused click", "no response_url"],
)
def test_a_click_that_decided_nothing_or_has_no_card_to_answer_leaves_the_card_alone(
    slack: RecordingSlack, outcome: InteractionOutcome, response_url: str | None
) -> None:
    # GIVEN a click that decided nothing, or one Slack gave no response_url
    interaction = click("U2").model_copy(update={"response_url": response_url})
    # WHEN the card would be updated THEN nothing is sent to Slack
    update_card(slack, interaction, outcome)
    assert slack.replaced == []
