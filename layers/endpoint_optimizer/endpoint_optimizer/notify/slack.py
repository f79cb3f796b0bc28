"""Slack messages as Block Kit (built with slack-sdk's models, which enforce Slack's limits), posting (the
SlackPoster seam), and verifying that an interaction request comes from Slack.

Buttons carry only the short approval id; the Step Functions task token stays in DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

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
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient, WebhookResponse

from endpoint_optimizer.models import Finding
from endpoint_optimizer.notify.confirmation_text import benchmark_column, headline, not_offered, today_column

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
        *confirmation_blocks(finding),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{scanned_line(finding)}Approval `{approval_id}` expires "
                    f"{expires_at.strftime('%Y-%m-%d %H:%M UTC')}. No answer means no change; before acting, "
                    "the endpoint is checked again for traffic and changes since the scan."
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


def confirmation_blocks(finding: Finding) -> list[Block]:
    """What the benchmark measured next to what the endpoint does today; none without a confirmation."""
    confirmation = finding.confirmation
    if confirmation is None:
        return []
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*Benchmark*\n{headline(confirmation)}"[:3000]))
    ]
    today, measured = today_column(finding), benchmark_column(finding)
    if today and measured:
        # Slack: "Maximum length for the text in each item is 2000 characters" (section fields).
        blocks.append(
            SectionBlock(
                fields=[MarkdownTextObject(text=today[:2000]), MarkdownTextObject(text=measured[:2000])]
            )
        )
    if rejected := not_offered(confirmation):
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=("Not offered: " + "; ".join(rejected))[:3000])])
        )
    return blocks


def scanned_line(finding: Finding) -> str:
    """When the numbers above were true: an approval can come days later."""
    if finding.scan is None:
        return ""
    return f"Scanned {finding.scan.scanned_at.strftime('%Y-%m-%d %H:%M UTC')}. "


def decided_card(finding_text: str, verdict: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=f"{finding_text}\n*{verdict}*"[:3000]))]


def section(text: str) -> Block:
    return SectionBlock(text=MarkdownTextObject(text=text[:3000]))


def header(text: str) -> Block:
    return HeaderBlock(text=text[:150])


def divider() -> Block:
    return DividerBlock()


class SlackPoster(Protocol):
    """Where messages go: the channel's incoming webhook, and a clicked card's `response_url`. Handlers
    pass one in (WebhookPoster); tests pass a recording fake."""

    def post(self, text: str, blocks: list[Block]) -> None:
        """Post a message to the channel (SlackPostFailed when Slack refuses it)."""
        ...

    def replace(self, response_url: str, text: str, blocks: list[Block]) -> None:
        """Replace the message a click came from (SlackPostFailed when Slack refuses it)."""
        ...


class WebhookPoster:
    """slack-sdk's WebhookClient. `webhook_url` is the incoming webhook (a secret); a poster that only
    answers clicks (the interactions function, which holds no webhook) has none."""

    def __init__(
        self, webhook_url: str | None = None, *, timeout_s: int = 10, replace_timeout_s: int = 2
    ) -> None:
        self._webhook_url = webhook_url
        self._timeout_s = timeout_s
        # Slack waits 3 s for the interaction's answer: the card update must not eat that.
        self._replace_timeout_s = replace_timeout_s

    def post(self, text: str, blocks: list[Block]) -> None:
        """slack-sdk retries on HTTP 429 (Retry-After)."""
        if not self._webhook_url:
            raise SlackPostFailed("no incoming webhook to post to")
        client = WebhookClient(
            self._webhook_url,
            timeout=self._timeout_s,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        _check(client.send(text=text, blocks=blocks[:MAX_BLOCKS]))

    def replace(self, response_url: str, text: str, blocks: list[Block]) -> None:
        client = WebhookClient(response_url, timeout=self._replace_timeout_s)
        _check(client.send(text=text, blocks=blocks, replace_original=True))


def _check(response: WebhookResponse) -> None:
    if response.status_code != 200:
        raise SlackPostFailed(f"Slack answered HTTP {response.status_code}: {response.body[:200]}")


# ---- verifying interaction requests -----------------------------------------------------------------
# Slack signs `v0:<timestamp>:<raw body>` with HMAC-SHA256 and sends "v0=" + 64 hex digits in
# X-Slack-Signature and the Unix time in seconds in X-Slack-Request-Timestamp ("Verifying requests from
# Slack", docs.slack.dev/authentication/verifying-requests-from-slack, read 2026-12-01). Anything else is
# refused here, before slack-sdk sees it: its verifier raises on a timestamp int() cannot read and on a
# non-ASCII signature (hmac.compare_digest), and cannot hash a body that is not UTF-8 (slack-sdk 3.48.0).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class UnverifiedRequest(ValueError):
    """The request cannot be shown to come from Slack: the endpoint answers 401 and changes nothing."""


class _FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self._now = now.timestamp()

    def now(self) -> float:
        return self._now


def verified_body(
    signing_secret: str,
    *,
    body: str | None,
    is_base64_encoded: bool,
    headers: Mapping[str, str] | None,
    now: datetime,
) -> str:
    """The request body as Slack signed it, or UnverifiedRequest saying why it is not.

    `body`/`is_base64_encoded`/`headers` are the API Gateway event's. The HMAC and the 5-minute replay
    window are slack-sdk's SignatureVerifier; this only refuses, cheaply and without raising anything
    else, the input it cannot take.
    """
    normalized = {str(key).lower(): value for key, value in (headers or {}).items()}
    timestamp = normalized.get("x-slack-request-timestamp")
    signature = normalized.get("x-slack-signature")
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        raise UnverifiedRequest("missing or malformed X-Slack-Request-Timestamp")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise UnverifiedRequest("missing or malformed X-Slack-Signature")
    try:
        raw = base64.b64decode(body or "", validate=True) if is_base64_encoded else (body or "").encode()
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, a body that is not UTF-8, lone surrogates
        raise UnverifiedRequest("the body is not valid base64-encoded UTF-8") from None
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now))
    if not verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
        raise UnverifiedRequest("invalid Slack signature or a timestamp more than 5 minutes off")
    return text
