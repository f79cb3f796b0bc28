"""The rejection-reason modal (snapshot tests/unit/notify/snapshots/rejection_modal.json, regenerate with
UPDATE_SNAPSHOTS=1) within Slack's view limits, and the next card saying who rejected last time, and why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from endpoint_optimizer.act.approvals import MAX_REASON_CHARS
from endpoint_optimizer.act.slack_reject import RejectContext
from endpoint_optimizer.models import Action, Finding, Rejection
from endpoint_optimizer.notify import slack
from tests.unit.notify.test_slack_snapshots import (
    SCANNED_AT,
    as_json,
    huge_finding,
    matches_snapshot,
    rightsize_finding,
    within_slack_limits,
)

CONTEXT = RejectContext(
    approval_id="Zk3pQ9rT2mXa",
    response_url="https://hooks.slack.com/actions/T000/1234567890/abcdefABCDEF",
)


def modal(finding: Finding) -> dict[str, Any]:
    view = slack.rejection_modal(
        finding, CONTEXT.model_dump_json(), cooldown_days=14, max_reason_chars=MAX_REASON_CHARS
    )
    view.validate_json()  # slack-sdk's own checks of a view (title, submit, close, blocks)
    payload: dict[str, Any] = view.to_dict()
    return payload


def test_rejection_modal_snapshot() -> None:
    """GIVEN the rightsize card's Reject WHEN its modal is built THEN the Block Kit JSON is exactly the
    reviewed one: what is rejected and what it would have saved, one optional multiline reason of at most
    MAX_REASON_CHARS, Reject / Cancel, and the approval id and card in private_metadata."""
    matches_snapshot("rejection_modal", modal(rightsize_finding()))


def test_the_modal_carries_the_approval_and_the_card_to_update_back_to_the_submission() -> None:
    payload = modal(rightsize_finding())
    assert RejectContext.model_validate_json(payload["private_metadata"]) == CONTEXT
    assert payload["callback_id"] == slack.REJECT_CALLBACK
    (reason,) = [block for block in payload["blocks"] if block["type"] == "input"]
    assert reason["optional"] is True
    assert reason["element"]["max_length"] == MAX_REASON_CHARS


# docs.slack.dev/reference/views/modal-views (read 2026-12-01): title, submit and close at most 24
# characters, at most 100 blocks, private_metadata at most 3,000; plain_text_input max_length <= 3,000.
@pytest.mark.parametrize("action", [a for a in Action if a != Action.NONE], ids=lambda a: a.value)
@pytest.mark.parametrize("finding", [rightsize_finding(), huge_finding()], ids=["typical", "huge"])
def test_every_modal_is_within_slacks_view_limits(action: Action, finding: Finding) -> None:
    payload = modal(finding.model_copy(update={"action": action}))
    assert 1 <= len(payload["title"]["text"]) <= 24, payload["title"]["text"]
    assert payload["title"]["text"].startswith("Reject ")
    assert len(payload["submit"]["text"]) <= 24 and len(payload["close"]["text"]) <= 24
    assert len(payload["private_metadata"]) <= 3000
    assert len(payload["blocks"]) <= 100
    assert within_slack_limits([b for b in payload["blocks"] if b["type"] == "section"]) == []


def test_a_long_action_name_is_shortened_in_the_title_not_cut_mid_word() -> None:
    payload = modal(rightsize_finding().model_copy(update={"action": Action.MIGRATE_SERVERLESS}))
    assert payload["title"]["text"] == "Reject serverless"


# ---- shown to the next run ---------------------------------------------------------------------------

REJECTED_AT = datetime(2026, 11, 10, 15, 42, tzinfo=UTC)


def rejection(reason: str | None, rejected_by: str = "U0APPROVER") -> Rejection:
    return Rejection(
        account_id="123456789012",
        region="eu-west-1",
        endpoint_name="fraud-scorer-prod",
        approval_id="Pq7Lx2Vb9Nc4",
        rejected_by=rejected_by,
        rejected_at=REJECTED_AT,
        expires_at=REJECTED_AT + timedelta(days=14),
        reason=reason,
    )


def card_text(last: Rejection | None) -> str:
    blocks = as_json(
        slack.approval_card(rightsize_finding(), "Zk3pQ9rT2mXa", SCANNED_AT, last_rejection=last)
    )
    return json.dumps(blocks, ensure_ascii=False)


def test_the_next_card_says_who_rejected_the_endpoint_last_time_and_why() -> None:
    """GIVEN the endpoint's last proposal was rejected with a reason WHEN a new card is built for it
    THEN it reads "Last rejected <date> by <who>: <reason>"."""
    text = card_text(rejection("peak season until 2026-11-30; ask again in December"))
    assert (
        "*Last rejected* 2026-11-10 by <@U0APPROVER>: peak season until 2026-11-30; ask again in December"
        in text
    )


def test_a_rejection_without_a_reason_is_still_shown_and_a_cli_caller_is_named_by_arn() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/platform-oncall/ana"
    text = card_text(rejection(None, rejected_by=arn))
    assert f"*Last rejected* 2026-11-10 by {arn} (no reason given)" in text


def test_a_reason_cannot_mention_the_channel_or_inject_links() -> None:
    """GIVEN a reason with Slack control sequences WHEN shown on a card THEN they are escaped, not sent."""
    text = card_text(rejection("<!channel> see <https://evil.example|this> & that"))
    assert "&lt;!channel&gt; see &lt;https://evil.example|this&gt; &amp; that" in text
    assert "<!channel>" not in text


def test_no_rejection_no_line_and_the_card_is_the_reviewed_one() -> None:
    assert "Last rejected" not in card_text(None)


def test_a_card_with_a_last_rejection_is_within_slacks_limits() -> None:
    blocks = as_json(
        slack.approval_card(
            huge_finding(), "Zk3pQ9rT2mXa", SCANNED_AT, last_rejection=rejection("x" * MAX_REASON_CHARS)
        )
    )
    assert within_slack_limits(blocks) == []
