"""Human approval: a Slack card per action, and the click that resumes (or rejects) the workflow.

The task token never leaves DynamoDB. A click is accepted once: the approval moves pending ->
approved/rejected with a conditional write before Step Functions hears of it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, ValidationError

from endpoint_optimizer.infra.stores import (
    LOCK_APPLY_MARGIN,
    ApprovalAlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    ApprovalRecords,
    LockHeld,
)
from endpoint_optimizer.models import (
    Approval,
    ApprovalLock,
    ApprovalState,
    Finding,
    ProposedAction,
    Rejection,
)
from endpoint_optimizer.notify import slack

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# Step Functions error name the workflow catches to record a rejection (statemachines/optimize.asl.json).
REJECTED_ERROR = "ApprovalRejected"
# ... and to record an action skipped because another approval of the endpoint is open.
ALREADY_OPEN_ERROR = "ApprovalAlreadyOpen"
# SendTaskSuccess/SendTaskFailure errors meaning the workflow no longer waits for this token
# (botocore 1.43.127 stepfunctions/2016-11-23 service model, read 2026-11-30).
TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


def new_approval_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 random bits: opaque and short for a button value


@dataclass(frozen=True)
class ApprovalSkipped:
    """No card was posted: another approval is open for the endpoint. The waiting task was failed with
    ALREADY_OPEN_ERROR and `reason`, which the workflow records as a skipped action."""

    reason: str


def already_open(action: ProposedAction, holder: ApprovalLock | None) -> str:
    name = action.finding.endpoint_name
    if holder is None:
        return f"an approval is already open for {name}"
    asked = holder.requested_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"an approval is already open for {name} (approval {holder.approval_id}, asked {asked})"


def request_approval(
    table: ApprovalRecords,
    stepfunctions: SFNClient,
    poster: slack.SlackPoster,
    action: ProposedAction,
    *,
    task_token: str,
    now: datetime,
    approvers: list[str] | None = None,
) -> Approval | ApprovalSkipped:
    """Post the approval card, unless another approval of the endpoint is open (one card per endpoint,
    whatever overlapping runs propose): its lock is taken first, with a conditional write. `approvers`:
    the Slack user ids the card names as who may approve (the stack's SlackApproverIds)."""
    finding = action.finding
    approval = Approval(
        approval_id=new_approval_id(),
        task_token=task_token,
        action_id=action.action_id,
        finding=finding,
        state=ApprovalState.PENDING,
        requested_at=now,
        expires_at=now + timedelta(seconds=action.approval_timeout_seconds),
        rejection_cooldown_days=action.rejection_cooldown_days,
    )
    lock = ApprovalLock(
        account_id=finding.account_id,
        region=finding.region,
        endpoint_name=finding.endpoint_name,
        approval_id=approval.approval_id,
        action_id=action.action_id,
        requested_at=now,
        expires_at=approval.expires_at + LOCK_APPLY_MARGIN,  # held through the apply that may follow
    )
    try:
        table.take_lock(lock, now=now)
    except LockHeld as held:
        reason = already_open(action, held.holder)
        try:  # the workflow waits for this token: end the wait as "skipped" (its Catch)
            stepfunctions.send_task_failure(taskToken=task_token, error=ALREADY_OPEN_ERROR, cause=reason)
        except ClientError as error:
            if error.response["Error"]["Code"] not in TOKEN_GONE:
                raise
        return ApprovalSkipped(reason)
    try:
        table.put_approval(approval)  # before the card: a button must never point at a missing approval
        poster.post(
            text=f"Approve {finding.action.value} of {finding.endpoint_name}? "
            f"Saves {slack.usd(finding.estimated_monthly_savings_usd)} a month.",
            blocks=slack.approval_card(
                finding,
                approval.approval_id,
                approval.expires_at,
                approvers=approvers or (),
                action_id=action.action_id,
                last_rejection=_last_rejection(table, finding),
            ),
        )
    except BaseException:
        # No card: the endpoint must not stay locked by an approval nobody can see.
        table.release_lock(
            finding.account_id, finding.region, finding.endpoint_name, approval_id=lock.approval_id
        )
        raise
    return approval


def _last_rejection(table: ApprovalRecords, finding: Finding) -> Rejection | None:
    """Who said no to this endpoint last time, and why (one GetItem; kept REJECTION_RETENTION past its
    cooldown). Only shown on the card: a failed read leaves it off rather than the card unposted."""
    try:
        return table.last_rejection(finding.account_id, finding.region, finding.endpoint_name)
    except (BotoCoreError, ClientError):
        return None


class _SlackUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    username: str | None = None


class _SlackAction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action_id: Literal["approve", "reject", "undo"]
    value: str
    block_id: str | None = None
    action_ts: str | None = None  # when the button was clicked ("1733011200.123456"): unique per click


class BlockActions(BaseModel):
    """The part of Slack's `block_actions` interaction payload this app relies on."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["block_actions"]
    user: _SlackUser
    actions: list[_SlackAction]
    response_url: str | None = None
    message: dict[str, Any] | None = None  # the message the button is on (Undo updates its own line)
    trigger_id: str | None = None  # opens the rejection-reason modal (views.open, within 3 s)


@dataclass(frozen=True)
class InteractionOutcome:
    status: HTTPStatus
    message: str
    approval: Approval | None = None


def parse_interaction(body: str) -> BlockActions:
    """Slack posts `payload=<url-encoded JSON>` as application/x-www-form-urlencoded."""
    payload = parse_qs(body, strict_parsing=False).get("payload")
    if not payload:
        raise ValueError("no payload field in the request body")
    parsed = BlockActions.model_validate(json.loads(payload[0]))
    if len(parsed.actions) != 1:
        raise ValueError(f"expected one action, got {len(parsed.actions)}")
    return parsed


@dataclass(frozen=True)
class Approver:
    """Who decides an approval: `identity` is what the audit records (the approval's `decided_by`, the
    rejection's `rejected_by`, the ledger's `approved_by`), `shown_as` how the answer names them, `via`
    where the decision came from."""

    identity: str
    shown_as: str
    via: str

    @classmethod
    def slack_user(cls, user_id: str) -> Approver:
        return cls(identity=user_id, shown_as=f"<@{user_id}>", via="in Slack")

    @classmethod
    def iam_caller(cls, arn: str) -> Approver:
        """The CLI's caller: whoever IAM lets read the table and call SendTaskSuccess (STS GetCallerIdentity)."""
        return cls(identity=arn, shown_as=arn, via="from the CLI")


# What a person may decide: the other states are the workflow's (pending, expired).
Verdict = Literal[ApprovalState.APPROVED, ApprovalState.REJECTED]

# Step Functions SendTaskFailure `cause`: at most 32,768 characters (botocore 1.43.127 stepfunctions
# 2016-11-23 SensitiveCause, read 2026-12-01); a person's reason is kept far shorter than that.
MAX_REASON_CHARS = 500


def handle_click(
    table: ApprovalRecords,
    stepfunctions: SFNClient,
    interaction: BlockActions,
    *,
    approver_ids: list[str],
    now: datetime,
) -> InteractionOutcome:
    click = interaction.actions[0]
    user_id = interaction.user.id
    if user_id not in approver_ids:
        return InteractionOutcome(HTTPStatus.FORBIDDEN, f"<@{user_id}> is not an approver for this app")
    if click.action_id not in (slack.APPROVE, slack.REJECT):  # an Undo click is act/slack_undo.py's
        return InteractionOutcome(HTTPStatus.BAD_REQUEST, f"{click.action_id} is not an approval decision")
    verdict: Verdict = ApprovalState.APPROVED if click.action_id == slack.APPROVE else ApprovalState.REJECTED
    return decide(
        table,
        stepfunctions,
        click.value,
        verdict,
        approver=Approver.slack_user(user_id),
        now=now,
        card_url=interaction.response_url,
    )


def decide(
    table: ApprovalRecords,
    stepfunctions: SFNClient,
    approval_id: str,
    verdict: Verdict,
    *,
    approver: Approver,
    now: datetime,
    reason: str | None = None,
    card_url: str | None = None,
) -> InteractionOutcome:
    """Decide an approval once and resume (or reject) its waiting workflow: a Slack click and the CLI's
    `approvals approve|reject` both come here, so both make the same transitions and the same record.
    The caller has authorised `approver` (Slack: the approver list; the CLI: IAM). `card_url`: the clicked
    card's response_url, kept with an approval so the apply outcome can update the card."""
    reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
    user_id = approver.identity
    try:
        approval = table.decide_approval(
            approval_id,
            verdict,
            user_id=user_id,
            now=now,
            reason=reason,
            card_url=card_url if verdict == ApprovalState.APPROVED else None,
        )
    except ApprovalNotFound:
        return InteractionOutcome(HTTPStatus.NOT_FOUND, "unknown approval")
    except ApprovalAlreadyDecided as error:
        return InteractionOutcome(HTTPStatus.CONFLICT, str(error))
    except ApprovalExpired as error:
        return InteractionOutcome(HTTPStatus.GONE, str(error))

    try:
        if verdict == ApprovalState.APPROVED:
            stepfunctions.send_task_success(
                taskToken=approval.task_token,
                output=json.dumps({"approval_id": approval.approval_id, "approved_by": user_id}),
            )
            message = f"Approved by {approver.shown_as}: applying {approval.finding.action.value}."
        else:
            cause = f"rejected {approver.via} by {user_id}" + (f": {reason}" if reason else "")
            stepfunctions.send_task_failure(taskToken=approval.task_token, error=REJECTED_ERROR, cause=cause)
            message = f"Rejected by {approver.shown_as}: {approval.finding.endpoint_name} is left as it is."
            message += _start_cooldown(table, approval, user_id=user_id, reason=reason, now=now)
    except ClientError as error:
        if error.response["Error"]["Code"] in TOKEN_GONE:
            # Step Functions stopped waiting (timeout) a moment before the decision: nothing will be applied.
            table.mark_expired(approval.approval_id)
            _release(table, approval)
            return InteractionOutcome(
                HTTPStatus.GONE, "this approval expired before the decision arrived; nothing changed"
            )
        table.reopen(approval.approval_id, decided_by=user_id)
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; try again")
    except BotoCoreError:
        # Not recorded as decided when the workflow never heard of it: the approver can decide again.
        table.reopen(approval.approval_id, decided_by=user_id)
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; try again")
    return InteractionOutcome(HTTPStatus.OK, message, approval)


def _release(table: ApprovalRecords, approval: Approval) -> None:
    finding = approval.finding
    table.release_lock(
        finding.account_id, finding.region, finding.endpoint_name, approval_id=approval.approval_id
    )


def _start_cooldown(
    table: ApprovalRecords, approval: Approval, *, user_id: str, reason: str | None, now: datetime
) -> str:
    """A rejection keeps the endpoint out of the next runs' proposals for the cooldown, and ends the
    approval's hold on it. The workflow has been told already: a failure here is said, not raised."""
    finding = approval.finding
    until = now + timedelta(days=approval.rejection_cooldown_days)
    try:
        table.put_rejection(
            Rejection(
                account_id=finding.account_id,
                region=finding.region,
                endpoint_name=finding.endpoint_name,
                approval_id=approval.approval_id,
                rejected_by=user_id,
                rejected_at=now,
                expires_at=until,
                reason=reason,
            )
        )
        _release(table, approval)
    except (BotoCoreError, ClientError) as error:
        return f" (The cooldown could not be recorded, so it may be proposed again: {error})"
    return f" Not proposed again before {until.astimezone(UTC).strftime('%Y-%m-%d')}."


def update_card(poster: slack.SlackPoster, interaction: BlockActions, outcome: InteractionOutcome) -> None:
    """Replace the clicked card with the verdict, when a decision was made and Slack gave a response_url
    (raises what the poster raises: the caller decides whether a stale card matters)."""
    if outcome.approval is None or not interaction.response_url:
        return
    finding = outcome.approval.finding
    poster.replace(
        interaction.response_url,
        text=outcome.message,
        blocks=slack.decided_card(f"{finding.action.value} *{finding.endpoint_name}*", outcome.message),
    )


def invalid_request(reason: str) -> InteractionOutcome:
    return InteractionOutcome(HTTPStatus.BAD_REQUEST, reason)


__all__ = [
    "ALREADY_OPEN_ERROR",
    "REJECTED_ERROR",
    "ApprovalSkipped",
    "Approver",
    "BlockActions",
    "InteractionOutcome",
    "ValidationError",
    "decide",
    "handle_click",
    "invalid_request",
    "parse_interaction",
    "request_approval",
    "update_card",
]
