"""Undo from Slack: the run summary's Undo button starts the undo of one applied change through the apply
workflow (an execution named `undo-<action_id>`), after the same signature check and approver list as an
approval click.

Exactly once: Step Functions refuses a second execution of a name a standard state machine has used
with ExecutionAlreadyExists -- unless the execution is still open and the input identical, when it answers
with the same execution ("StartExecution" and "ExecutionAlreadyExists", AWS Step Functions API reference,
read 2026-12-01). The input carries the click's own action_ts, so a second click (anyone's) is answered
"already started", and a retry of the same request finds the same execution. The undo itself then refuses
a change the ledger says is not applied any more.

A name stays taken for 90 days after its execution closed ("StartExecution", same reference), so an undo
that FAILED, TIMED_OUT or was ABORTED is retried under the next attempt's name, `undo-<action_id>-<n>`
(at most MAX_ATTEMPTS, then the CLI). Retrying is safe: every attempt re-checks the ledger and the endpoint.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from slack_sdk.models.blocks import Block

from endpoint_optimizer.act.approvals import BlockActions, InteractionOutcome
from endpoint_optimizer.models.change import UndoRequest
from endpoint_optimizer.notify import slack

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# Execution names: 1-80 characters of letters, digits, - and _ (StartExecution `name`, botocore
# stepfunctions 2016-11-23 model; "undo-" and a retry's "-<n>" leave 73). Action ids are 16 hex digits
# (decide/plan.py).
_ACTION_ID = re.compile(r"[A-Za-z0-9_-]{1,73}")
# SageMaker endpoint names: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" (CreateEndpoint, botocore sagemaker model).
_ENDPOINT = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def apply_workflow_arn(function_arn: str, stack_name: str) -> str:
    """`<stack>-apply` (template.yaml ApplyStateMachine's Name) in the calling function's own partition,
    region and account (arn:<partition>:lambda:<region>:<account>:function:<name>)."""
    _, partition, _, region, account = function_arn.split(":")[:5]
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{stack_name}-apply"


# Slack waits 3 seconds for the answer: each attempt found closed costs one DescribeExecution and one
# StartExecution more, so the attempts from Slack are few; past them the operator runs the CLI.
MAX_ATTEMPTS = 5
# DescribeExecution's status enum (botocore stepfunctions 2016-11-23 model, read 2026-12-01): these end an
# execution without its work done. PENDING_REDRIVE is an execution someone is redriving: still on its way.
_CLOSED_UNDONE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def execution_name(action_id: str, attempt: int = 1) -> str:
    """`undo-<action_id>` for the first attempt, `undo-<action_id>-<n>` after it."""
    return f"undo-{action_id}" if attempt == 1 else f"undo-{action_id}-{attempt}"


def execution_arn(apply_state_machine_arn: str, name: str) -> str:
    """arn:<partition>:states:<region>:<account>:execution:<state machine name>:<execution name>."""
    return f"{apply_state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def undo_request(interaction: BlockActions) -> UndoRequest | None:
    """The change the Undo button names (its value the action id, its block the endpoint), or None."""
    click = interaction.actions[0]
    endpoint = (click.block_id or "").removeprefix(slack.UNDO_BLOCK_PREFIX)
    if (
        click.action_id != slack.UNDO
        or not (click.block_id or "").startswith(slack.UNDO_BLOCK_PREFIX)
        or not _ACTION_ID.fullmatch(click.value)
        or not _ENDPOINT.fullmatch(endpoint)
    ):
        return None
    return UndoRequest(
        endpoint_name=endpoint,
        action_id=click.value,
        requested_by=interaction.user.id,
        clicked_at=click.action_ts,
    )


def handle_undo_click(
    stepfunctions: SFNClient,
    interaction: BlockActions,
    *,
    approver_ids: list[str],
    apply_state_machine_arn: str,
) -> InteractionOutcome:
    user_id = interaction.user.id
    if user_id not in approver_ids:
        return InteractionOutcome(HTTPStatus.FORBIDDEN, f"<@{user_id}> is not an approver for this app")
    request = undo_request(interaction)
    if request is None:
        return InteractionOutcome(HTTPStatus.BAD_REQUEST, "not an Undo button of a run summary")
    unreachable = InteractionOutcome(
        HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; click again"
    )
    earlier: list[str] = []  # the attempts found closed without the undo done, as "<name> <STATUS>"
    try:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            name = execution_name(request.action_id, attempt)
            try:
                stepfunctions.start_execution(
                    stateMachineArn=apply_state_machine_arn,
                    name=name,
                    input=json.dumps({"undo": request.model_dump(mode="json")}),
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                    return unreachable
                status = stepfunctions.describe_execution(
                    executionArn=execution_arn(apply_state_machine_arn, name)
                )["status"]
                if status in _CLOSED_UNDONE:
                    earlier.append(f"{name} {status}")
                    continue
                return InteractionOutcome(
                    HTTPStatus.OK,
                    f"The undo of {request.endpoint_name} was already started ({name}); nothing more to do.",
                )
            again = f" after {', '.join(earlier)}" if earlier else ""
            return InteractionOutcome(
                HTTPStatus.OK, f"Undo of {request.endpoint_name} started by <@{user_id}> ({name}){again}."
            )
    except (ClientError, BotoCoreError):
        return unreachable
    return InteractionOutcome(
        HTTPStatus.OK,
        f"The undo of {request.endpoint_name} did not finish in {MAX_ATTEMPTS} attempts "
        f"({', '.join(earlier)}); see why in the executions, then run: "
        f"endpoint-optimizer undo {request.action_id}",
    )


def undone_summary(message_blocks: list[dict[str, Any]], block_id: str, verdict: str) -> list[Block]:
    """The summary the click came from, its Undo line replaced by the verdict (the rest unchanged)."""
    blocks: list[Block] = []
    for raw in message_blocks:
        if raw.get("block_id") == block_id:
            blocks.append(slack.section(verdict))
        elif (parsed := Block.parse(raw)) is not None:
            blocks.append(parsed)
    return blocks


def update_summary(poster: slack.SlackPoster, interaction: BlockActions, outcome: InteractionOutcome) -> None:
    """Replace the Undo line the click came from with what happened (when Slack sent the message and a
    response_url; raises what the poster raises)."""
    click = interaction.actions[0]
    if outcome.status != HTTPStatus.OK or not interaction.response_url or interaction.message is None:
        return
    blocks = undone_summary(
        list(interaction.message.get("blocks") or []), click.block_id or "", outcome.message
    )
    poster.replace(interaction.response_url, text=outcome.message, blocks=blocks)
