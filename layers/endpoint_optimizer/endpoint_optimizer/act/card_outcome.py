"""The approval card, updated again with the apply outcome (the optimize workflow's "Update the card with the
outcome", after "Apply action").

Slack lets an app use an interaction's response_url "up to 5 times within 30 minutes" of the click
("Handling user interaction", docs.slack.dev/interactivity/handling-user-interaction, read 2026-12-01). The
app has no bot token (docs/slack.md), so the approving click's response_url is the one way to update the
card: used once at the click (the verdict) and once here (the outcome). An apply that ends later than that
(a blue/green bake, the quiet hour of a serverless move) posts a short new message through the incoming
webhook instead, naming the card's endpoint and action.

Best effort: the change is applied, rolled back or refused whatever Slack answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from slack_sdk.models.blocks import Block

from endpoint_optimizer.infra.stores import ApprovalRecords
from endpoint_optimizer.models import ActionResult, Approval, Finding
from endpoint_optimizer.notify import slack

# Slack: a response_url is valid for 30 minutes after the click (see above). Kept a minute short of it, so
# a replace sent at 29:59 is not refused in flight.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
RESPONSE_URL_MARGIN = timedelta(minutes=1)

_VERDICTS = {
    "applied": "Applied",
    "rolled_back": "Rolled back, serving as before",
    "refused": "Refused, nothing changed",
    "failed": "Failed",
    "skipped": "Skipped",
}


def outcome_text(finding: Finding, result: ActionResult) -> str:
    """One line: the verdict, the money when applied, and the detail (why, and the way back)."""
    verdict = _VERDICTS.get(result.outcome, result.outcome)
    saves = (
        f" Saves {slack.usd(result.estimated_monthly_savings_usd)}/month."
        if result.outcome == "applied" and result.estimated_monthly_savings_usd is not None
        else ""
    )
    # A rollback's detail starts with what the verdict already says ("rolled back, serving as before: ...").
    said = f"{verdict.lower()}: "
    detail_text = result.detail or ""
    if detail_text.lower().startswith(said):
        detail_text = detail_text[len(said) :]
    detail = f" {detail_text}" if detail_text else ""
    return f"{verdict}: {finding.action.value} {finding.endpoint_name}.{saves}{detail}"


def outcome_card(approval: Approval, result: ActionResult) -> list[Block]:
    """The decided card with the outcome under the verdict (replaces the card in place)."""
    finding = approval.finding
    decided = f"Approved by <@{approval.decided_by}>" if approval.decided_by else "Approved"
    return [
        *slack.decided_card(f"{finding.action.value} *{finding.endpoint_name}*", decided),
        slack.section(f"*{outcome_text(finding, result)}*"),
    ]


@dataclass(frozen=True)
class CardUpdate:
    """Where the outcome goes: `replace` the card through its response_url, or `post` a new message."""

    how: Literal["replace", "post"]
    text: str
    blocks: list[Block]
    response_url: str | None = None


def card_update(approval: Approval, result: ActionResult, *, now: datetime) -> CardUpdate:
    """Replace the card while its response_url is still accepted, else a new message naming the card."""
    text = outcome_text(approval.finding, result)
    url, clicked = approval.card_url, approval.decided_at
    if url and clicked is not None and now < clicked + RESPONSE_URL_LIFETIME - RESPONSE_URL_MARGIN:
        return CardUpdate("replace", text, outcome_card(approval, result), response_url=url)
    asked = approval.requested_at.strftime("%Y-%m-%d %H:%M UTC")
    return CardUpdate(
        "post",
        text,
        [slack.section(f"{text}\n_(approval `{approval.approval_id}`, asked {asked})_")],
    )


def tell_card_outcome(
    table: ApprovalRecords,
    poster: slack.SlackPoster,
    approval_id: str,
    result: ActionResult,
    *,
    now: datetime,
) -> CardUpdate:
    """Send the outcome of the approval's apply to Slack (raises what the store and the poster raise: the
    handler logs it, the workflow carries on)."""
    update = card_update(table.get_approval(approval_id), result, now=now)
    if update.how == "replace" and update.response_url:
        poster.replace(update.response_url, text=update.text, blocks=update.blocks)
    else:
        poster.post(text=update.text, blocks=update.blocks)
    return update
