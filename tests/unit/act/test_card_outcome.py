"""After the apply, the approval card is told the outcome: in place while Slack still accepts the click's
response_url (30 minutes), else as a new message naming the card's endpoint and action."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from endpoint_optimizer.act.approvals import BlockActions, handle_click
from endpoint_optimizer.act.card_outcome import card_update, outcome_text, tell_card_outcome
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Action, ActionResult, Approval, ApprovalState, ProposedAction
from tests.conftest import load_event
from tests.unit.fake_slack import RecordingSlack

CLICKED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CARD_URL = "https://hooks.slack.com/actions/T0/123/abc"


def approved(card_url: str | None = CARD_URL) -> Approval:
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    return Approval(
        approval_id="Zk3pQ9rT2mXa",
        task_token="token",
        action_id=action.action_id,
        finding=action.finding.model_copy(update={"action": Action.SCALE_TO_ZERO}),
        state=ApprovalState.APPROVED,
        requested_at=CLICKED - timedelta(hours=2),
        expires_at=CLICKED + timedelta(hours=22),
        decided_by="U0APPROVER",
        decided_at=CLICKED,
        card_url=card_url,
    )


def result(outcome: str, detail: str = "", savings: float | None = None) -> ActionResult:
    return ActionResult.model_validate(
        {"endpoint_name": approved().finding.endpoint_name, "action": "scale_to_zero", "outcome": outcome,
         "estimated_monthly_savings_usd": savings, "detail": detail, "action_id": "9f2c61d0a4b7e385"}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "detail", "savings", "says"),
    [
        ("applied", "undo with: endpoint-optimizer undo 9f2c", 153.91, "Applied: scale_to_zero {e}. Saves $153.91/month. undo with: endpoint-optimizer undo 9f2c"),
        ("rolled_back", "alarm fired", None, "Rolled back, serving as before: scale_to_zero {e}. alarm fired"),
        ("rolled_back", "rolled back, serving as before: alarm fired", None, "Rolled back, serving as before: scale_to_zero {e}. alarm fired"),
        ("refused", "in use since the scan: 9,812 invocations", None, "Refused, nothing changed: scale_to_zero {e}. in use since the scan: 9,812 invocations"),
        ("failed", "States.TaskFailed", None, "Failed: scale_to_zero {e}. States.TaskFailed"),
    ],
)  # fmt: skip
def test_the_outcome_says_what_happened_the_saving_only_when_applied_and_the_detail(
    outcome: str, detail: str, savings: float | None, says: str
) -> None:
    finding = approved().finding
    assert outcome_text(finding, result(outcome, detail, savings)) == says.format(e=finding.endpoint_name)


def test_within_30_minutes_of_the_click_the_card_is_replaced_in_place_under_its_verdict() -> None:
    update = card_update(approved(), result("applied", savings=10.0), now=CLICKED + timedelta(minutes=28))
    assert (update.how, update.response_url) == ("replace", CARD_URL)
    text = json.dumps([block.to_dict() for block in update.blocks])
    assert "Approved by <@U0APPROVER>" in text and "Applied: scale_to_zero" in text


@pytest.mark.parametrize(
    ("approval", "now"),
    [
        (approved(), CLICKED + timedelta(minutes=29, seconds=30)),  # Slack would refuse it in flight
        (approved(), CLICKED + timedelta(hours=3)),  # a blue/green bake, a quiet hour
        (approved(card_url=None), CLICKED),  # approved from the CLI: no card was clicked
    ],
)
def test_later_or_without_a_clicked_card_a_new_message_names_the_endpoint_action_and_approval(
    approval: Approval, now: datetime
) -> None:
    update = card_update(approval, result("rolled_back", "alarm fired"), now=now)
    assert (update.how, update.response_url) == ("post", None)
    text = json.dumps([block.to_dict() for block in update.blocks])
    assert f"scale_to_zero {approval.finding.endpoint_name}" in text
    assert "approval `Zk3pQ9rT2mXa`" in text


def test_the_approving_click_keeps_its_response_url_and_the_outcome_replaces_that_card() -> None:
    """GIVEN a card approved in Slack (the click's response_url kept with the approval)
    WHEN the apply ends 5 minutes later THEN that response_url is used to replace the card."""
    table = InMemoryStateTable()
    pending = approved().model_copy(
        update={"state": ApprovalState.PENDING, "decided_by": None, "decided_at": None, "card_url": None}
    )
    table.put_approval(pending)
    click = BlockActions.model_validate(
        {"type": "block_actions", "user": {"id": "U0APPROVER"}, "response_url": CARD_URL,
         "actions": [{"action_id": "approve", "value": pending.approval_id}]}
    )  # fmt: skip
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": "token", "output": ANY})
        handle_click(table, sfn, click, approver_ids=["U0APPROVER"], now=CLICKED)
    slack = RecordingSlack()

    tell_card_outcome(
        table, slack, pending.approval_id, result("applied"), now=CLICKED + timedelta(minutes=5)
    )

    (replaced,) = slack.replaced
    assert replaced.response_url == CARD_URL and replaced.text.startswith("Applied: scale_to_zero")
    assert slack.posts == []
