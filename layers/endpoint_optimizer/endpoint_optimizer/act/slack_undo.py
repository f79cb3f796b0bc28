"""Undo from Slack: the run summary's Undo button starts the undo of one applied change through the apply
workflow (an execution named `undo-<action_id>`), after the same signature check and approver list as an
approval click.

Exactly once: Step Functions refuses a second execution of a name a standard state machine has used
with ExecutionAlreadyExists -- unless the execution is still open and the input identical, when it answers
with the same execution ("StartExecution" and "ExecutionAlreadyExists", AWS Step Functions API reference,
read 2026-12-01). The input carries the click's own action_ts, so a second click (anyone's) is answered
"already started", and a retry of the same request finds the same execution. The undo itself then refuses
a change the ledger says is not applied any more.
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
# stepfunctions 2016-11-23 model; "undo-" leaves 75). Action ids are 16 hex digits (decide/plan.py).
_ACTION_ID = re.compile(r"[A-Za-z0-9_-]{1,75}")
# SageMaker endpoint names: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" (CreateEndpoint, botocore sagemaker model).
_ENDPOINT = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def apply_workflow_arn(function_arn: str, stack_name: str) -> str:
    """`<stack>-apply` (template.yaml ApplyStateMachine's Name) in the calling function's own partition,
    region and account (arn:<partition>:lambda:<region>:<account>:function:<name>)."""
    _, partition, _, region, account = function_arn.split(":")[:5]
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{stack_name}-apply"


def execution_name(action_id: str) -> str:
    return f"undo-{action_id}"


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
    name = execution_name(request.action_id)
    try:
        stepfunctions.start_execution(
            stateMachineArn=apply_state_machine_arn,
            name=name,
            input=json.dumps({"undo": request.model_dump(mode="json")}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return InteractionOutcome(
                HTTPStatus.OK,
                f"The undo of {request.endpoint_name} was already started ({name}); nothing more to do.",
            )
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; click again")
    except BotoCoreError:
        return InteractionOutcome(HTTPStatus.SERVICE_UNAVAILABLE, "could not reach the workflow; click again")
    return InteractionOutcome(
        HTTPStatus.OK, f"Undo of {request.endpoint_name} started by <@{user_id}> ({name})."
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
