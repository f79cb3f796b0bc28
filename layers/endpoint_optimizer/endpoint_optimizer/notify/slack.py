"""Slack messages as Block Kit (built with slack-sdk's models, which enforce Slack's limits), posting (the
SlackPoster seam), and verifying that an interaction request comes from Slack.

Buttons carry only the short approval id; the Step Functions task token stays in DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient, WebhookResponse

from endpoint_optimizer.models import Action, ActionResult, Finding, Rejection, ScanFacts
from endpoint_optimizer.notify.confirmation_text import benchmark_column, headline, not_offered, today_column

APPROVE = "approve"
REJECT = "reject"
UNDO = "undo"
# The Undo button's block: `undo:<endpoint>` (the ledger is kept per endpoint; the value is the action id).
UNDO_BLOCK_PREFIX = "undo:"
# "You can include up to 50 blocks in each message" (docs.slack.dev/reference/block-kit/blocks, read 2026-11-30).
MAX_BLOCKS = 50


class SlackPostFailed(RuntimeError):
    pass


def usd(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:,.2f}"


@dataclass(frozen=True)
class ChangeNotes:
    """What a person weighs before approving an action: how risky, what downtime, how it comes back."""

    risk: str
    downtime: str
    rollback: str


# From docs/apply.md ("The rungs"): how each applied action acts, verifies and rolls back.
CHANGE_NOTES: dict[Action, ChangeNotes] = {
    Action.PARK: ChangeNotes(
        risk="medium: the endpoint is deleted (its config and models are kept)",
        downtime="it serves nothing until restored; restoring takes minutes (instances start)",
        rollback="`endpoint-optimizer restore {endpoint}` recreates it from the snapshot taken before",
    ),
    Action.SCALE_TO_ZERO: ChangeNotes(
        risk="low: capacity follows traffic, down to zero instances",
        downtime="none now; the first request after an idle spell waits for an instance to start (minutes)",
        rollback="Undo in the run summary (or `endpoint-optimizer undo {action_id}`) puts the capacities and "
        "policies back",
    ),
    Action.MIGRATE_SERVERLESS: ChangeNotes(
        risk="high: the endpoint is recreated on Serverless Inference (cold starts, memory and concurrency limits)",
        downtime="a few minutes, in the quietest hour of its traffic (delete and recreate with the same name)",
        rollback="a failed check recreates it on its instances at once; later, Undo in the run summary",
    ),
    Action.RIGHTSIZE: ChangeNotes(
        risk="medium: fewer or smaller instances serve the same traffic",
        downtime="none: blue/green update with a canary, a bake and auto-rollback alarms (5XX, p99 latency)",
        rollback="SageMaker rolls back by itself if an alarm fires during the bake; later, Undo in the run summary",
    ),
    Action.MIGRATE_GRAVITON: ChangeNotes(
        risk="medium: the model runs on the arm64 build of its image",
        downtime="none: blue/green update with a canary, a bake and auto-rollback alarms (5XX, p99 latency)",
        rollback="SageMaker rolls back by itself if an alarm fires during the bake; later, Undo in the run summary",
    ),
    Action.SCHEDULE: ChangeNotes(
        risk="low: scheduled actions lower the capacity off hours and raise it before business hours",
        downtime="none; off hours it serves with the floor capacity",
        rollback="Undo in the run summary deletes the schedules and restores the capacities",
    ),
}
REPORT_ONLY = ChangeNotes(risk="-", downtime="-", rollback="report only: nothing is applied")

# Traffic at a glance: one row per UTC day, one character per hour, scaled to the window's busiest hour.
SPARK = "▁▂▃▄▅▆▇█"
NO_TRAFFIC = "·"
HOURS_HEADER = "00    06    12    18    "


def sparkline(values: Sequence[float], top: float) -> str:
    """One character per value: `·` for none, else ▁ (a little) .. █ (`top`)."""
    if top <= 0:
        return NO_TRAFFIC * len(values)
    last = len(SPARK) - 1
    return "".join(
        NO_TRAFFIC if value <= 0 else SPARK[min(last, max(0, round(value / top * last)))] for value in values
    )


def traffic_chart(scan: ScanFacts) -> str | None:
    """The window's hourly invocations as rows of UTC days (hours before the window or after it blank),
    or None when the scan read no traffic series."""
    hourly = scan.hourly_invocations
    if hourly is None:
        return None
    start = scan.metrics_window_start
    top = max(hourly, default=0)
    total = sum(hourly)
    title = (
        f"*Traffic, {len(hourly) // 24} days* (invocations per hour, UTC; █ = {top:,}/h, · = none): "
        f"{total:,} in all, in {sum(1 for value in hourly if value > 0)} of {len(hourly)} hours"
    )
    if not hourly:
        return title
    lead = start.hour
    padded: list[float | None] = [None] * lead + [float(value) for value in hourly]
    padded += [None] * (-len(padded) % 24)
    first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = [f"          {HOURS_HEADER}".rstrip()]
    for day in range(len(padded) // 24):
        hours = padded[day * 24 : (day + 1) * 24]
        cells = "".join(" " if value is None else sparkline([value], top) for value in hours)
        rows.append(f"{(first_day + timedelta(days=day)).strftime('%a %m-%d')} {cells.rstrip()}")
    return title + "\n```\n" + "\n".join(rows) + "\n```"


def _percent(value: object) -> str | None:
    return f"{value:.0f} %" if isinstance(value, int | float) else None


def utilisation_line(finding: Finding) -> str | None:
    """Peak utilisation in the instance's terms (CloudWatch sums CPU over vCPUs: 96 % on 8 vCPUs is 12 %
    of the instance), from the numbers behind the finding."""
    evidence = finding.evidence
    parts: list[str] = []
    cpu = _percent(evidence.get("peak_cpu", evidence.get("peak_utilization")))
    if cpu is not None:
        published, vcpus = _percent(evidence.get("peak_cpu_published")), evidence.get("vcpus")
        detail = f" ({published} summed over {vcpus} vCPUs)" if published and vcpus else ""
        parts.append(f"CPU {cpu} of the instance{detail}")
    for key, name in (("peak_memory", "memory"), ("peak_gpu", "GPU")):
        if (value := _percent(evidence.get(key))) is not None:
            parts.append(f"{name} {value}")
    return "Peak " + ", ".join(parts) if parts else None


def latency_line(scan: ScanFacts | None) -> str | None:
    if scan is None or scan.model_latency_avg_us is None:
        return None
    return f"Model latency {scan.model_latency_avg_us / 1000:,.1f} ms (daily average, busiest day)"


def approval_card(
    finding: Finding,
    approval_id: str,
    expires_at: datetime,
    *,
    approvers: Sequence[str] = (),
    action_id: str | None = None,
    last_rejection: Rejection | None = None,
) -> list[Block]:
    """The approval request: the evidence at a glance (traffic, peak utilisation, latency), the change, its
    risk, downtime and way back, the benchmark when there is one, who may approve and until when; and who
    rejected the endpoint's last proposal, and why, when someone did."""
    reasons = "\n".join(f"• {reason}" for reason in finding.reasons)
    notes = CHANGE_NOTES.get(finding.action, REPORT_ONLY)
    rollback = notes.rollback.format(endpoint=finding.endpoint_name, action_id=action_id or "ACTION_ID")
    evidence = [
        line
        for line in (
            traffic_chart(finding.scan) if finding.scan else None,
            utilisation_line(finding),
            latency_line(finding.scan),
        )
        if line
    ]
    who = ", ".join(f"<@{user}>" for user in approvers) if approvers else "the app's approvers"
    blocks: list[Block] = [
        HeaderBlock(text=f"Approve: {finding.action.value} {finding.endpoint_name}?"[:150]),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Action*\n{finding.action.value}"),
                MarkdownTextObject(text=f"*Saves per month*\n{usd(finding.estimated_monthly_savings_usd)}"),
                MarkdownTextObject(text=f"*Costs per month now*\n{usd(finding.current_monthly_cost_usd)}"),
                MarkdownTextObject(text=f"*Where*\n{finding.account_id} / {finding.region}"),
                # Slack: at most 2,000 characters in each field (docs.slack.dev, section block, 2026-12-01).
                MarkdownTextObject(text=f"*Target*\n{finding.target or '-'}"[:2000]),
                MarkdownTextObject(text=f"*Confidence*\n{finding.confidence}"),
            ]
        ),
    ]
    if evidence:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(evidence)[:3000])))
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=f"*Why*\n{reasons}"[:3000])),
        *last_rejection_blocks(last_rejection),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Risk*\n{notes.risk}"[:2000]),
                MarkdownTextObject(text=f"*Expected downtime*\n{notes.downtime}"[:2000]),
                MarkdownTextObject(text=f"*How it rolls back*\n{rollback}"[:2000]),
                MarkdownTextObject(text=f"*Who may approve*\n{who}"[:2000]),
            ]
        ),
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
    return blocks


def undo_blocks(results: Sequence[ActionResult], keep: int) -> list[Block]:
    """One line and an Undo button per applied change that can be undone in one step (park is brought
    back by `endpoint-optimizer restore`): the button carries the action id, its block the endpoint."""
    undoable = [
        result
        for result in results
        if result.outcome == "applied" and result.action_id and result.action != Action.PARK
    ]
    blocks: list[Block] = []
    for result in undoable[:keep]:
        assert result.action_id is not None  # filtered above
        blocks.append(
            SectionBlock(
                block_id=f"{UNDO_BLOCK_PREFIX}{result.endpoint_name}",
                text=MarkdownTextObject(
                    text=f"Applied {result.action.value} on *{result.endpoint_name}*: saves "
                    f"{usd(result.estimated_monthly_savings_usd)}/month"[:3000]
                ),
                accessory=ButtonElement(
                    text="Undo",
                    action_id=UNDO,
                    value=result.action_id,
                    confirm=ConfirmObject(
                        title="Undo this change?",
                        text=f"Put {result.endpoint_name} back as it was before {result.action.value}"[:300],
                        confirm="Undo",
                        deny="Cancel",
                    ),
                ),
            )
        )
    if len(undoable) > keep:
        more = len(undoable) - keep
        blocks.append(section(f"... and {more} more: `endpoint-optimizer ledger` lists them with their undo"))
    return blocks


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


def escaped(text: str) -> str:
    """A person's words as mrkdwn shows them, never as a mention or link: Slack asks apps to escape &, < and
    > ("Formatting text for app surfaces", docs.slack.dev, read 2026-12-01)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(identity: str) -> str:
    """A Slack user id as a mention; anyone else (the CLI's IAM caller ARN) as written."""
    return f"<@{identity}>" if re.fullmatch(r"[UW][A-Z0-9]{2,}", identity) else escaped(identity)


def last_rejection_line(rejection: Rejection) -> str:
    """The line "Last rejected <date> by <who>: <reason>" (without a reason: the date and who)."""
    said = f": {escaped(rejection.reason)}" if rejection.reason else " (no reason given)"
    return f"*Last rejected* {rejection.rejected_at.strftime('%Y-%m-%d')} by {mention(rejection.rejected_by)}{said}"


def last_rejection_blocks(rejection: Rejection | None) -> list[Block]:
    if rejection is None:
        return []
    return [SectionBlock(text=MarkdownTextObject(text=last_rejection_line(rejection)[:3000]))]


# ---- the rejection-reason modal (needs the optional bot token: docs/slack.md) ------------------------
REJECT_CALLBACK = "reject_reason"  # the modal's callback_id: its view_submission is a rejection
REASON_BLOCK = "reason"  # the input block (and its element's action_id): where Slack shows an error
# Modal view (docs.slack.dev/reference/views/modal-views, read 2026-12-01): title, submit and close at most
# 24 characters, private_metadata at most 3,000; a plain_text_input holds at most 3,000 characters.
MODAL_TITLE_CHARS = 24


def short_action(action: Action) -> str:
    """The action in few words, for a modal title: "migrate_serverless" -> "serverless"."""
    return action.value.removeprefix("migrate_").replace("_", " ")


def rejection_modal(
    finding: Finding, private_metadata: str, *, cooldown_days: int, max_reason_chars: int
) -> View:
    """The modal a Reject click opens: what is rejected, and an optional reason (stored with the rejection
    and shown on the endpoint's next card). `private_metadata` comes back with the submission."""
    title = f"Reject {short_action(finding.action)}"
    if len(title) > MODAL_TITLE_CHARS:
        title = title[: MODAL_TITLE_CHARS - 1] + "…"
    return View(
        type="modal",
        callback_id=REJECT_CALLBACK,
        title=title,
        submit="Reject",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{finding.action.value} *{finding.endpoint_name}* ({finding.account_id} / "
                    f"{finding.region}): saves {usd(finding.estimated_monthly_savings_usd)} a month.\n"
                    f"It is left as it is, and not proposed again for {cooldown_days} days."[:3000]
                )
            ),
            InputBlock(
                block_id=REASON_BLOCK,
                label="Why not? (optional)",
                hint="Kept with the rejection and shown on this endpoint's next approval card.",
                optional=True,
                element=PlainTextInputElement(
                    action_id=REASON_BLOCK, multiline=True, max_length=max_reason_chars
                ),
            ),
        ],
    )


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
