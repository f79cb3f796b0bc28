"""Driving the loop from outside, as a person in Slack would: find approval cards, click buttons.

Shared by `make demo` and the end-to-end tests. Clicks go to the real `slack_interactions` Lambda
(through the emulated Lambda service), as signed Slack interaction requests.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver, signed_interaction_event
from emulated_aws.stack import Stack
from endpoint_optimizer.infra.artifacts import load_plan
from endpoint_optimizer.models import Finding, Plan

_HEADER = re.compile(r"^Approve: (?P<action>\S+) (?P<endpoint>.+)\?$")


@dataclass(frozen=True)
class ApprovalCard:
    approval_id: str
    action: str
    endpoint_name: str
    message: dict[str, Any]


def card_of(message: dict[str, Any]) -> ApprovalCard | None:
    body = message.get("body")
    if not isinstance(body, dict) or not message["path"].startswith("/services/"):
        return None
    blocks = body.get("blocks") or []
    header = next((b for b in blocks if b.get("type") == "header"), None)
    actions = next((b for b in blocks if b.get("type") == "actions"), None)
    if header is None or actions is None:
        return None
    matched = _HEADER.match(header["text"]["text"])
    if matched is None:
        return None
    return ApprovalCard(
        approval_id=actions["elements"][0]["value"],
        action=matched["action"],
        endpoint_name=matched["endpoint"],
        message=message,
    )


def approval_cards(slack: SlackReceiver) -> list[ApprovalCard]:
    return [card for card in map(card_of, slack.messages) if card is not None]


def wait_for_cards(slack: SlackReceiver, count: int, timeout_s: float = 30.0) -> list[ApprovalCard]:
    """Block until `count` distinct approval cards have arrived (condition variable, no polling)."""
    seen: dict[str, ApprovalCard] = {card.approval_id: card for card in approval_cards(slack)}
    while len(seen) < count:

        def is_new_card(message: dict[str, Any]) -> bool:
            card = card_of(message)
            return card is not None and card.approval_id not in seen

        card = card_of(slack.wait_for(is_new_card, timeout_s=timeout_s))
        assert card is not None
        seen[card.approval_id] = card
    return list(seen.values())


@dataclass(frozen=True)
class ClickAnswer:
    status: int
    message: str


def click(
    aws: EmulatedAws,
    stack: Stack,
    slack: SlackReceiver,
    *,
    approval_id: str,
    user_id: str,
    action_id: str = "approve",
    signing_secret: str,
    timestamp: int | None = None,
    signature: str | None = None,
    block_id: str = "approval",
    message_blocks: list[dict[str, Any]] | None = None,
) -> ClickAnswer:
    """Send a Slack button click to the deployed slack_interactions function; return its HTTP answer.
    `approval_id` is the button's value (an Undo button's: the action id); the response_url Slack gives the
    click is `slack.response_url(approval_id)`."""
    event = signed_interaction_event(
        signing_secret,
        user_id=user_id,
        action_id=action_id,
        value=approval_id,
        response_url=slack.response_url(approval_id),
        timestamp=timestamp,
        signature=signature,
        block_id=block_id,
        message_blocks=message_blocks,
    )
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names["SlackInteractionsFunction"], Payload=json.dumps(event).encode()
    )
    payload = json.loads(answer["Payload"].read())
    if "statusCode" not in payload:
        raise RuntimeError(f"slack_interactions failed: {payload}")
    body = json.loads(payload.get("body") or "{}")
    return ClickAnswer(status=int(payload["statusCode"]), message=str(body.get("message", "")))


@dataclass(frozen=True)
class UndoButton:
    """An Undo line of a run summary posted to Slack: its block, the action id it carries, the message."""

    block_id: str
    action_id: str
    endpoint_name: str
    message_blocks: list[dict[str, Any]]


def undo_buttons(slack: SlackReceiver) -> list[UndoButton]:
    """Every Undo button of the summaries posted through the incoming webhook, oldest first."""
    found = []
    for message in slack.messages_to("/services/"):
        body = message["body"]
        blocks: list[dict[str, Any]] = (body.get("blocks") or []) if isinstance(body, dict) else []
        for block in blocks:
            accessory = block.get("accessory") or {}
            if accessory.get("action_id") == "undo":
                found.append(
                    UndoButton(
                        block_id=block["block_id"],
                        action_id=accessory["value"],
                        endpoint_name=block["block_id"].removeprefix("undo:"),
                        message_blocks=blocks,
                    )
                )
    return found


def click_undo(
    aws: EmulatedAws,
    stack: Stack,
    slack: SlackReceiver,
    button: UndoButton,
    *,
    user_id: str,
    signing_secret: str,
) -> ClickAnswer:
    """Click an Undo button of a run summary (its response_url: `slack.response_url(button.action_id)`)."""
    return click(
        aws,
        stack,
        slack,
        approval_id=button.action_id,
        user_id=user_id,
        action_id="undo",
        signing_secret=signing_secret,
        block_id=button.block_id,
        message_blocks=button.message_blocks,
    )


def run_plans(aws: EmulatedAws, stack: Stack, output: dict[str, Any]) -> list[Plan]:
    """The plans a run wrote, one per target, read from S3 through the keys in the execution output."""
    s3 = aws.client("s3")
    return [load_plan(s3, stack.artifact_bucket, summary["plan_key"]) for summary in output["plans"]]


def run_findings(aws: EmulatedAws, stack: Stack, output: dict[str, Any]) -> dict[str, Finding]:
    """Every finding of a run, by endpoint name (names are unique in the tests' fleets)."""
    return {f.endpoint_name: f for plan in run_plans(aws, stack, output) for f in plan.findings}


@contextlib.contextmanager
def rollback_alarm_fires_on_update(endpoint_name: str, reason: str) -> Iterator[list[str]]:
    """While active, an UpdateEndpoint of `endpoint_name` that names AutoRollbackConfiguration alarms puts
    the first of them in ALARM as soon as the update is accepted (the endpoint is Updating), as 5XX errors
    on the new fleet would: the emulator then ends the update InService on the old config, as SageMaker's
    automatic rollback does (endpoint_updates.py). Yields the alarms it tripped."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.sagemaker.responses import SageMakerResponse

    tripped: list[str] = []
    response_class: Any = SageMakerResponse
    original = response_class.__dict__["update_endpoint"]

    def update_endpoint(self: Any) -> Any:
        answer = original(self)
        params = json.loads(self.body)
        if params.get("EndpointName") == endpoint_name:
            rollback = (params.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
            for alarm in (rollback.get("Alarms") or [])[:1]:
                backend = cloudwatch_backends[self.current_account][self.region]
                backend.set_alarm_state(alarm["AlarmName"], reason, "{}", "ALARM")
                tripped.append(alarm["AlarmName"])
        return answer

    response_class.update_endpoint = update_endpoint
    try:
        yield tripped
    finally:
        response_class.update_endpoint = original
