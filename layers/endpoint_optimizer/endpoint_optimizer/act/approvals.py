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
from typing import TYPE_CHECKING, Literal
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
from endpoint_optimizer.models import Approval, ApprovalLock, ApprovalState, ProposedAction, Rejection
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
) -> Approval | ApprovalSkipped:
    """Post the approval card, unless another approval of the endpoint is open (one card per endpoint,
    whatever overlapping runs propose): its lock is taken first, with a conditional write."""
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
            blocks=slack.approval_card(finding, approval.approval_id, approval.expires_at),
        )
    except BaseException:
        # No card: the endpoint must not stay locked by an approval nobody can see.
        table.release_lock(
            finding.account_id, finding.region, finding.endpoint_name, approval_id=lock.approval_id
        )
        raise
    return approval


class _SlackUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    username: str | None = None


class _SlackAction(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action_id: Literal["approve", "reject"]
    value: str


class BlockActions(BaseModel):
    """The part of Slack's `block_actions` interaction payload this app relies on."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["block_actions"]
    user: _SlackUser
    actions: list[_SlackAction]
    response_url: str | None = None


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
    verdict = ApprovalState.APPROVED if click.action_id == slack.APPROVE else ApprovalState.REJECTED
    try:
        approval = table.decide_approval(click.value, verdict, user_id=user_id, now=now)
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
            message = f"Approved by <@{user_id}>: applying {approval.finding.action.value}."
        else:
            stepfunctions.send_task_failure(
                taskToken=approval.task_token, error=REJECTED_ERROR, cause=f"rejected in Slack by {user_id}"
            )
            message = f"Rejected by <@{user_id}>: {approval.finding.endpoint_name} is left as it is."
            message += _start_cooldown(table, approval, user_id=user_id, now=now)
    except ClientError as error:
        if error.response["Error"]["Code"] in TOKEN_GONE:
            # Step Functions stopped waiting (timeout) a moment before the click: nothing will be applied.
            table.mark_expired(approval.approval_id)
            _release(table, approval)
            return InteractionOutcome(
                HTTPStatus.GONE, "this approval expired before the click arrived; nothing changed"
            )
        table.reopen(approval.approval_id, decided_by=user_id)
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; click again")
    except BotoCoreError:
        # Not recorded as decided when the workflow never heard of it: the approver can click again.
        table.reopen(approval.approval_id, decided_by=user_id)
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; click again")
    return InteractionOutcome(HTTPStatus.OK, message, approval)


def _release(table: ApprovalRecords, approval: Approval) -> None:
    finding = approval.finding
    table.release_lock(
        finding.account_id, finding.region, finding.endpoint_name, approval_id=approval.approval_id
    )


def _start_cooldown(table: ApprovalRecords, approval: Approval, *, user_id: str, now: datetime) -> str:
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
    "BlockActions",
    "InteractionOutcome",
    "ValidationError",
    "handle_click",
    "invalid_request",
    "parse_interaction",
    "request_approval",
    "update_card",
]
