"""Slack messages as Block Kit (built with slack-sdk's models, which enforce Slack's limits) and posting.

Buttons carry only the short approval id; the Step Functions task token stays in DynamoDB.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.webhook import WebhookClient

from endpoint_optimizer.models import Finding

APPROVE = "approve"
REJECT = "reject"
# "You can include up to 50 blocks in each message" (docs.slack.dev/reference/block-kit/blocks, read 2026-11-30).
MAX_BLOCKS = 50


class SlackPostFailed(RuntimeError):
    pass


def usd(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:,.2f}"


def approval_card(finding: Finding, approval_id: str, expires_at: datetime) -> list[Block]:
    reasons = "\n".join(f"• {reason}" for reason in finding.reasons)
    return [
        HeaderBlock(text=f"Approve: {finding.action.value} {finding.endpoint_name}?"[:150]),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Action*\n{finding.action.value}"),
                MarkdownTextObject(text=f"*Saves per month*\n{usd(finding.estimated_monthly_savings_usd)}"),
                MarkdownTextObject(text=f"*Costs per month now*\n{usd(finding.current_monthly_cost_usd)}"),
                MarkdownTextObject(text=f"*Where*\n{finding.account_id} / {finding.region}"),
                MarkdownTextObject(text=f"*Target*\n{finding.target or '-'}"),
                MarkdownTextObject(text=f"*Confidence*\n{finding.confidence}"),
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*Why*\n{reasons}"[:3000])),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Approval `{approval_id}` expires {expires_at.strftime('%Y-%m-%d %H:%M UTC')}. "
                    "No answer means no change."
                )
            ]
        ),
        ActionsBlock(
            block_id=f"approval:{approval_id}",
            elements=[
                ButtonElement(
                    text="Approve",
                    action_id=APPROVE,
                    value=approval_id,
                    style="primary",
                    confirm=ConfirmObject(
                        title="Apply this change?",
                        text=f"{finding.action.value} {finding.endpoint_name}"[:300],
                        confirm="Apply",
                        deny="Cancel",
                    ),
                ),
                ButtonElement(text="Reject", action_id=REJECT, value=approval_id, style="danger"),
            ],
        ),
    ]


def decided_card(finding_text: str, verdict: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=f"{finding_text}\n*{verdict}*"[:3000]))]


def section(text: str) -> Block:
    return SectionBlock(text=MarkdownTextObject(text=text[:3000]))


def header(text: str) -> Block:
    return HeaderBlock(text=text[:150])


def divider() -> Block:
    return DividerBlock()


def post(webhook_url: str, text: str, blocks: list[Block], *, timeout_s: int = 10) -> None:
    """Post to an incoming webhook or a response_url; slack-sdk retries on HTTP 429 (Retry-After)."""
    client = WebhookClient(
        webhook_url, timeout=timeout_s, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)]
    )
    response = client.send(text=text, blocks=blocks[:MAX_BLOCKS])
    if response.status_code != 200:
        raise SlackPostFailed(f"Slack answered HTTP {response.status_code}: {response.body[:200]}")


def replace_message(response_url: str, text: str, blocks: list[Block], *, timeout_s: int = 2) -> None:
    client = WebhookClient(response_url, timeout=timeout_s)
    response = client.send(text=text, blocks=blocks, replace_original=True)
    if response.status_code != 200:
        raise SlackPostFailed(f"Slack answered HTTP {response.status_code}: {response.body[:200]}")
