"""Reject with a reason: with the optional bot token, a Reject click opens a modal (views.open) asking why,
and its submission (view_submission) rejects through the same `decide` as a click or the CLI, so the
reason is kept on the approval and the rejection, and shown on the endpoint's next card.

Without a bot token (or when the modal cannot open), Reject rejects at once, without a reason.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, field_validator
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.views import View
from slack_sdk.web import WebClient

from endpoint_optimizer.act.approvals import (
    MAX_REASON_CHARS,
    Approver,
    BlockActions,
    InteractionOutcome,
    decide,
    handle_click,
    parse_interaction,
)
from endpoint_optimizer.infra.stores import (
    ApprovalAlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    ApprovalRecords,
)
from endpoint_optimizer.infra.stores.approvals import check_open
from endpoint_optimizer.models import ApprovalState
from endpoint_optimizer.notify import slack

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# A bot token starts "xoxb-" (docs.slack.dev/authentication/tokens, read 2026-12-01); the secret's
# placeholder (GenerateSecretString) never does, so it means "no token".
BOT_TOKEN_PREFIX = "xoxb-"  # noqa: S105 -- a prefix to recognise, not a credential
# views.open must use the click's trigger_id within 3 s of the click, and Slack wants the click answered
# within 3 s (docs.slack.dev/interactivity/handling-user-interaction, read 2026-12-01): one attempt, 2 s.
VIEWS_OPEN_TIMEOUT_S = 2


def is_bot_token(secret: str | None) -> bool:
    return bool(secret) and str(secret).strip().startswith(BOT_TOKEN_PREFIX)


class ReasonDialogFailed(RuntimeError):
    """The modal did not open (Slack refused it, or did not answer in time)."""


class ReasonDialog(Protocol):
    """Where the rejection-reason modal opens: Slack's views.open (SlackViews); tests pass a fake."""

    def open(self, trigger_id: str, view: View) -> None:
        """Open `view` for the user whose click minted `trigger_id` (ReasonDialogFailed if not)."""
        ...


class SlackViews:
    """slack-sdk's WebClient with the bot token: views.open only (it needs no scope beyond the token)."""

    def __init__(
        self, bot_token: str, *, timeout_s: int = VIEWS_OPEN_TIMEOUT_S, base_url: str = WebClient.BASE_URL
    ) -> None:
        # No retries: a second attempt would come after the trigger_id has expired. slack-sdk redacts the
        # Authorization header in its debug log; the token is never logged here.
        self._client = WebClient(token=bot_token, timeout=timeout_s, base_url=base_url, retry_handlers=[])

    def open(self, trigger_id: str, view: View) -> None:
        try:
            self._client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:  # e.g. expired_trigger_id, invalid_auth
            raise ReasonDialogFailed(f"Slack refused views.open: {error.response.get('error')}") from None
        except (SlackClientError, OSError) as error:  # timeouts, connection errors
            raise ReasonDialogFailed(f"views.open failed: {type(error).__name__}") from None


class RejectContext(BaseModel):
    """The modal's private_metadata: which approval, and the card to update (the click's response_url:
    a view_submission carries none of its own)."""

    approval_id: str
    response_url: str | None = None


class _Submitter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str


class _InputValue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    value: str | None = None  # an optional input left empty comes back as null


class _SubmittedView(BaseModel):
    model_config = ConfigDict(extra="ignore")
    callback_id: Literal["reject_reason"]  # slack.REJECT_CALLBACK: only the rejection modal is handled
    private_metadata: RejectContext  # sent as a JSON string (at most 3,000 characters)
    state: dict[str, Any] = Field(default_factory=dict)

    @field_validator("private_metadata", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        return RejectContext.model_validate_json(value) if isinstance(value, str) else value


class ReasonSubmission(BaseModel):
    """The part of Slack's `view_submission` payload of the rejection modal this app relies on."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["view_submission"]
    user: _Submitter
    view: _SubmittedView

    @property
    def context(self) -> RejectContext:
        return self.view.private_metadata

    @property
    def reason(self) -> str | None:
        """view.state.values[block_id][action_id].value, both `reason` (slack.REASON_BLOCK)."""
        values = self.view.state.get("values", {})
        entered = _InputValue.model_validate(values.get(slack.REASON_BLOCK, {}).get(slack.REASON_BLOCK, {}))
        return (entered.value or "").strip() or None


def parse_request(body: str) -> BlockActions | ReasonSubmission:
    """A button click (block_actions) or the rejection modal's submission (view_submission); Slack posts
    either as `payload=<url-encoded JSON>`. ValueError / ValidationError for anything else."""
    payload = parse_qs(body, strict_parsing=False).get("payload")
    if not payload:
        raise ValueError("no payload field in the request body")
    parsed = json.loads(payload[0])
    if isinstance(parsed, dict) and parsed.get("type") == "view_submission":
        return ReasonSubmission.model_validate(parsed)
    return parse_interaction(body)


@dataclass(frozen=True)
class ReasonAsked:
    """The modal is open: nothing is decided until it is submitted."""

    approval_id: str


def ask_for_reason(
    table: ApprovalRecords,
    stepfunctions: SFNClient,
    dialog: ReasonDialog,
    interaction: BlockActions,
    *,
    approver_ids: list[str],
    now: datetime,
) -> ReasonAsked | InteractionOutcome:
    """A Reject click with a bot token: refuse it as any click would (not an approver, unknown, decided,
    expired: one GetItem), else open the modal. If the modal cannot open, reject at once (a reason is
    optional; a Reject that does nothing is not)."""
    click = interaction.actions[0]
    user_id = interaction.user.id
    if user_id not in approver_ids or click.action_id != slack.REJECT or not interaction.trigger_id:
        return handle_click(table, stepfunctions, interaction, approver_ids=approver_ids, now=now)
    try:
        approval = table.get_approval(click.value)
        check_open(approval, now)
    except ApprovalNotFound:
        return InteractionOutcome(HTTPStatus.NOT_FOUND, "unknown approval")
    except ApprovalAlreadyDecided as error:
        return InteractionOutcome(HTTPStatus.CONFLICT, str(error))
    except ApprovalExpired as error:
        return InteractionOutcome(HTTPStatus.GONE, str(error))
    context = RejectContext(approval_id=approval.approval_id, response_url=interaction.response_url)
    view = slack.rejection_modal(
        approval.finding,
        context.model_dump_json(),
        cooldown_days=approval.rejection_cooldown_days,
        max_reason_chars=MAX_REASON_CHARS,
    )
    try:
        dialog.open(interaction.trigger_id, view)
    except ReasonDialogFailed as failure:
        outcome = handle_click(table, stepfunctions, interaction, approver_ids=approver_ids, now=now)
        return dataclasses.replace(outcome, message=f"{outcome.message} (No reason asked: {failure}.)")
    return ReasonAsked(approval.approval_id)


def reject_with_reason(
    table: ApprovalRecords,
    stepfunctions: SFNClient,
    submission: ReasonSubmission,
    *,
    approver_ids: list[str],
    now: datetime,
) -> InteractionOutcome:
    """The modal's submission: the same approver list, then `decide(..., rejected, reason=...)`."""
    user_id = submission.user.id
    if user_id not in approver_ids:
        return InteractionOutcome(HTTPStatus.FORBIDDEN, f"<@{user_id}> is not an approver for this app")
    return decide(
        table,
        stepfunctions,
        submission.context.approval_id,
        ApprovalState.REJECTED,
        approver=Approver.slack_user(user_id),
        now=now,
        reason=submission.reason,
    )


# Slack shows an input block's error under it; keep it short (a sentence).
MAX_ERROR_CHARS = 150


def submission_answer(outcome: InteractionOutcome) -> dict[str, Any] | None:
    """What Slack gets back for the submission, with HTTP 200: nothing (the modal closes) when it was
    decided, else `response_action: errors` on the reason input saying why the modal stays open
    (docs.slack.dev/surfaces/modals, "Displaying errors in views", read 2026-12-01)."""
    if outcome.status == HTTPStatus.OK:
        return None
    return {"response_action": "errors", "errors": {slack.REASON_BLOCK: outcome.message[:MAX_ERROR_CHARS]}}


def update_rejected_card(
    poster: slack.SlackPoster, submission: ReasonSubmission, outcome: InteractionOutcome
) -> None:
    """Replace the card the Reject click came from with the verdict (its response_url travelled in the
    modal's metadata; Slack accepts it up to 5 times within 30 minutes of the click)."""
    response_url = submission.context.response_url
    if outcome.approval is None or not response_url:
        return
    finding = outcome.approval.finding
    reason = outcome.approval.rejection_reason
    verdict = outcome.message + (f"\nReason: {slack.escaped(reason)}" if reason else "")
    poster.replace(
        response_url,
        text=outcome.message,
        blocks=slack.decided_card(f"{finding.action.value} *{finding.endpoint_name}*", verdict),
    )


__all__ = [
    "BOT_TOKEN_PREFIX",
    "ReasonAsked",
    "ReasonDialog",
    "ReasonDialogFailed",
    "ReasonSubmission",
    "RejectContext",
    "SlackViews",
    "ask_for_reason",
    "is_bot_token",
    "parse_request",
    "reject_with_reason",
    "submission_answer",
    "update_rejected_card",
]
