"""Reject with a reason: a Reject click (with the bot token) opens the modal and decides nothing; its
submission rejects once through `decide`, keeping the reason on the approval and the rejection, and the
endpoint's next card shows it. On the in-memory state table, a Stubber'd Step Functions, a fake modal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.stub import ANY, Stubber
from pydantic import ValidationError
from slack_sdk.models.views import View

from endpoint_optimizer.act.approvals import (
    REJECTED_ERROR,
    Approver,
    BlockActions,
    InteractionOutcome,
    decide,
    request_approval,
)
from endpoint_optimizer.act.slack_reject import (
    ReasonAsked,
    ReasonDialogFailed,
    ReasonSubmission,
    RejectContext,
    ask_for_reason,
    is_bot_token,
    parse_request,
    reject_with_reason,
    submission_answer,
    update_rejected_card,
)
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Approval, ApprovalState, ProposedAction
from endpoint_optimizer.notify import slack
from tests.conftest import load_event
from tests.unit.fake_slack import RecordingSlack

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
APPROVER = "U0APPROVER"
RESPONSE_URL = "https://hooks.slack.com/actions/T000/1234567890/abcdef"
REASON = "peak season until 2026-12-31; ask again in January"


@dataclass
class FakeDialog:
    """views.open as the handler sees it: records what it opened, or fails like Slack can."""

    opened: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failure: ReasonDialogFailed | None = None

    def open(self, trigger_id: str, view: View) -> None:
        if self.failure is not None:
            raise self.failure
        self.opened.append((trigger_id, view.to_dict()))


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


def body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def reject_click(
    user: str = APPROVER, value: str = "abc123", trigger_id: str | None = "123.456.abc"
) -> BlockActions:
    return BlockActions.model_validate(
        {
            "type": "block_actions",
            "user": {"id": user},
            "trigger_id": trigger_id,
            "response_url": RESPONSE_URL,
            "actions": [{"action_id": "reject", "value": value}],
        }
    )


def submission_payload(
    reason: str | None, user: str = APPROVER, approval_id: str = "abc123", callback_id: str = "reject_reason"
) -> dict[str, Any]:
    """A view_submission as Slack posts it (the fields this app reads, and some it ignores)."""
    return {
        "type": "view_submission",
        "team": {"id": "T000", "domain": "example"},
        "user": {"id": user, "username": "ana", "team_id": "T000"},
        "api_app_id": "A000",
        "trigger_id": "789.012.def",
        "view": {
            "id": "V000",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": RejectContext(
                approval_id=approval_id, response_url=RESPONSE_URL
            ).model_dump_json(),
            "state": {
                "values": {
                    slack.REASON_BLOCK: {slack.REASON_BLOCK: {"type": "plain_text_input", "value": reason}}
                }
            },
            "hash": "1700000000.abcdef",
        },
        "response_urls": [],
    }


def submission(reason: str | None, **overrides: Any) -> ReasonSubmission:
    parsed = parse_request(body(submission_payload(reason, **overrides)))
    assert isinstance(parsed, ReasonSubmission)
    return parsed


# ---- parsing ------------------------------------------------------------------------------------------


def test_a_view_submission_gives_the_approval_the_card_and_the_reason() -> None:
    parsed = submission(f"  {REASON}\n")
    assert (parsed.user.id, parsed.context.approval_id, parsed.context.response_url) == (
        APPROVER,
        "abc123",
        RESPONSE_URL,
    )
    assert parsed.reason == REASON  # trimmed


@pytest.mark.parametrize("left_empty", [None, "", "   \n"])
def test_an_empty_reason_is_no_reason(left_empty: str | None) -> None:
    assert submission(left_empty).reason is None


def test_a_block_actions_click_still_parses_as_a_click_with_its_trigger_id() -> None:
    parsed = parse_request(
        body(
            {
                "type": "block_actions",
                "user": {"id": APPROVER},
                "trigger_id": "123.456.abc",
                "actions": [{"action_id": "reject", "value": "abc123"}],
            }
        )
    )
    assert isinstance(parsed, BlockActions) and parsed.trigger_id == "123.456.abc"


@pytest.mark.parametrize(
    "payload",
    [
        submission_payload(REASON, callback_id="some_other_modal"),
        {
            **submission_payload(REASON),
            "view": {**submission_payload(REASON)["view"], "private_metadata": "abc123"},
        },
        {
            **submission_payload(REASON),
            "view": {**submission_payload(REASON)["view"], "private_metadata": "{}"},
        },
    ],
    ids=["another modal", "metadata not ours", "metadata without approval"],
)
def test_a_submission_that_is_not_our_rejection_modal_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises((ValueError, ValidationError)):
        parse_request(body(payload))


def test_only_a_bot_token_counts_the_secrets_placeholder_does_not() -> None:
    assert is_bot_token("xoxb-1234-5678-abcdef")
    assert not is_bot_token("Qm9yZWRQbGFjZWhvbGRlcjEyMzQ1Njc4")  # GenerateSecretString's placeholder
    assert not is_bot_token("")
    assert not is_bot_token(None)


# ---- the Reject click opens the modal ----------------------------------------------------------------


def test_reject_with_a_bot_token_opens_the_modal_and_decides_nothing(table: InMemoryStateTable) -> None:
    """GIVEN a pending approval and a bot token WHEN an approver clicks Reject THEN the modal opens with the
    click's trigger_id, naming the change, carrying the approval id and the card; the approval stays pending
    and Step Functions hears nothing."""
    dialog = FakeDialog()
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):  # no call expected
        asked = ask_for_reason(table, sfn, dialog, reject_click(), approver_ids=[APPROVER], now=NOW)

    assert asked == ReasonAsked("abc123")
    ((trigger_id, view),) = dialog.opened
    assert trigger_id == "123.456.abc"
    assert view["title"]["text"] == "Reject park"
    assert "idle-fraud-xgb" in view["blocks"][0]["text"]["text"]
    assert "not proposed again for 14 days" in view["blocks"][0]["text"]["text"]
    assert RejectContext.model_validate_json(view["private_metadata"]) == RejectContext(
        approval_id="abc123", response_url=RESPONSE_URL
    )
    assert table.get_approval("abc123").state == ApprovalState.PENDING


@pytest.mark.parametrize(
    ("user", "value", "status"),
    [("U0INTRUDER", "abc123", HTTPStatus.FORBIDDEN), (APPROVER, "no-such-id", HTTPStatus.NOT_FOUND)],
)
def test_a_click_that_must_be_refused_opens_no_modal(
    table: InMemoryStateTable, user: str, value: str, status: HTTPStatus
) -> None:
    dialog = FakeDialog()
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = ask_for_reason(
            table, sfn, dialog, reject_click(user, value), approver_ids=[APPROVER], now=NOW
        )
    assert isinstance(outcome, InteractionOutcome) and outcome.status == status
    assert dialog.opened == []


def test_reject_on_a_decided_or_expired_approval_says_so_instead_of_asking_why(
    table: InMemoryStateTable,
) -> None:
    dialog = FakeDialog()
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    late = ask_for_reason(
        table, sfn, dialog, reject_click(), approver_ids=[APPROVER], now=NOW + timedelta(hours=2)
    )
    assert isinstance(late, InteractionOutcome) and late.status == HTTPStatus.GONE
    assert dialog.opened == []


def test_when_the_modal_cannot_open_reject_rejects_at_once_and_says_no_reason_was_asked(
    table: InMemoryStateTable,
) -> None:
    """GIVEN Slack refuses views.open (a revoked token, an expired trigger) WHEN Reject is clicked THEN the
    approval is rejected at once, as without a bot token: a Reject that does nothing is worse."""
    dialog = FakeDialog(failure=ReasonDialogFailed("Slack refused views.open: invalid_auth"))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": f"rejected in Slack by {APPROVER}"},
        )
        outcome = ask_for_reason(table, sfn, dialog, reject_click(), approver_ids=[APPROVER], now=NOW)
        stub.assert_no_pending_responses()
    assert isinstance(outcome, InteractionOutcome) and outcome.status == HTTPStatus.OK
    assert outcome.message.endswith("(No reason asked: Slack refused views.open: invalid_auth.)")
    assert table.get_approval("abc123").state == ApprovalState.REJECTED


# ---- the modal's submission rejects, with the reason -------------------------------------------------


def test_the_submission_rejects_once_with_the_reason_kept_everywhere(table: InMemoryStateTable) -> None:
    """GIVEN the modal open for a pending approval WHEN the approver submits a reason THEN the workflow is
    failed once as rejected with the reason in its cause, the approval and the rejection keep it, the
    modal closes (no body) and the card is replaced with the verdict and the reason."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    cards = RecordingSlack()
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {
                "taskToken": "token-1",
                "error": REJECTED_ERROR,
                "cause": f"rejected in Slack by {APPROVER}: {REASON}",
            },
        )
        outcome = reject_with_reason(table, sfn, submission(REASON), approver_ids=[APPROVER], now=NOW)
        stub.assert_no_pending_responses()
    update_rejected_card(cards, submission(REASON), outcome)

    assert outcome.status == HTTPStatus.OK
    assert submission_answer(outcome) is None
    assert table.get_approval("abc123").rejection_reason == REASON
    finding = table.get_approval("abc123").finding
    last = table.last_rejection(finding.account_id, finding.region, finding.endpoint_name)
    assert last is not None and (last.reason, last.rejected_by) == (REASON, APPROVER)
    ((replaced),) = cards.replaced
    assert replaced.response_url == RESPONSE_URL
    assert f"Reason: {REASON}" in json.dumps(replaced.blocks)


def test_the_submission_is_the_same_decision_as_the_clis_reject(table: InMemoryStateTable) -> None:
    """One decision whoever makes it: the modal's path is `decide(..., rejected, reason=...)`."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": ANY}
        )
        via_modal = reject_with_reason(table, sfn, submission(REASON), approver_ids=[APPROVER], now=NOW)
    other = InMemoryStateTable()
    other.put_approval(table.get_approval("abc123").model_copy(update={"state": ApprovalState.PENDING}))
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": ANY}
        )
        direct = decide(
            other,
            sfn,
            "abc123",
            ApprovalState.REJECTED,
            approver=Approver.slack_user(APPROVER),
            now=NOW,
            reason=REASON,
        )
    assert (via_modal.status, via_modal.message) == (direct.status, direct.message)


def test_a_submission_by_someone_not_an_approver_keeps_the_modal_open_with_the_error(
    table: InMemoryStateTable,
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = reject_with_reason(
            table, sfn, submission(REASON, user="U0INTRUDER"), approver_ids=[APPROVER], now=NOW
        )
    assert submission_answer(outcome) == {
        "response_action": "errors",
        "errors": {"reason": "<@U0INTRUDER> is not an approver for this app"},
    }
    assert table.get_approval("abc123").state == ApprovalState.PENDING


def test_a_submission_after_the_approval_expired_says_why_on_the_input(table: InMemoryStateTable) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn):
        outcome = reject_with_reason(
            table, sfn, submission(REASON), approver_ids=[APPROVER], now=NOW + timedelta(hours=2)
        )
    answer = submission_answer(outcome)
    assert answer is not None and answer["response_action"] == "errors"
    assert "expired" in answer["errors"]["reason"]
    assert table.get_approval("abc123").state == ApprovalState.PENDING  # the workflow's timeout records it


def test_a_second_submission_of_a_decided_approval_says_it_is_already_rejected(
    table: InMemoryStateTable,
) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": ANY}
        )
        reject_with_reason(table, sfn, submission(REASON), approver_ids=[APPROVER], now=NOW)
        again = reject_with_reason(
            table, sfn, submission("changed my mind"), approver_ids=[APPROVER], now=NOW
        )
        stub.assert_no_pending_responses()  # exactly once
    answer = submission_answer(again)
    assert answer is not None and "already rejected" in answer["errors"]["reason"]
    assert table.get_approval("abc123").rejection_reason == REASON


# ---- shown to the next run ---------------------------------------------------------------------------


def test_the_next_card_for_the_endpoint_shows_the_last_rejection_and_its_reason(
    table: InMemoryStateTable,
) -> None:
    """GIVEN the endpoint's proposal was rejected in the modal with a reason WHEN a later run (after the
    cooldown) asks again THEN its card says "Last rejected <date> by <who>: <reason>"."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": ANY}
        )
        reject_with_reason(table, sfn, submission(REASON), approver_ids=[APPROVER], now=NOW)
    later = NOW + timedelta(days=15)
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    cards = RecordingSlack()

    approval = request_approval(table, sfn, cards, action, task_token="token-2", now=later)

    assert isinstance(approval, Approval)
    (card,) = cards.posts
    assert f"*Last rejected* 2026-11-30 by <@{APPROVER}>: {REASON}" in json.dumps(
        card.blocks, ensure_ascii=False
    )


def test_a_first_card_has_no_last_rejection_line(table: InMemoryStateTable) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    cards = RecordingSlack()
    request_approval(table, sfn, cards, action, task_token="token-2", now=NOW)
    assert "Last rejected" not in json.dumps(cards.posts[0].blocks)
