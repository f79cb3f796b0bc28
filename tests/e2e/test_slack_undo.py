"""Undo from Slack on the emulated AWS (issue 11): the run summary lists an applied change with an Undo
button; the approver's click starts the undo through the apply workflow (an execution named
`undo-<action_id>`), exactly once however often it is clicked, and the endpoint serves as before."""

from __future__ import annotations

import json
from typing import Any

from emulated_aws.loop import UndoButton, click_undo, undo_buttons
from emulated_aws.rungs import sporadic_async
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet
from tests.e2e.test_apply_every_rung import approve, ledger, serving_state

NOT_AN_APPROVER = "U0SOMEONEELSE"


def undo_executions(aws: EmulatedAws, stack: Stack) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.apply_state_machine_arn)["executions"]
    return [e for e in executions if e["name"].startswith("undo-")]


def summary_updates(slack: SlackReceiver, button: UndoButton) -> list[dict[str, Any]]:
    """What was posted to the Undo click's response_url (each replaces the summary the click came from)."""
    return [m["body"] for m in slack.messages if m["path"].startswith(f"/actions/T000/{button.action_id}/")]


def test_undo_from_slack_reverts_an_applied_change_exactly_once_however_often_it_is_clicked(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN a scale-to-zero applied through the real workflow (approved in Slack) and the run summary
    posted to Slack with its Undo button
    WHEN someone who is not an approver clicks Undo THEN the answer is 403 and nothing starts
    AND WHEN the approver clicks Undo twice
    THEN exactly one undo execution runs, the endpoint serves exactly as before the change, the ledger has
    one `undone` entry after the applied one, and the summary's Undo line was replaced with what happened
    (the second click says the undo was already started).
    """
    name = sporadic_async(fleet)
    before = serving_state(aws, name)
    approved = approve(aws, stack, slack, name, "apply-then-undo")
    assert approved.result["outcome"] == "applied", approved.result
    (button,) = [b for b in undo_buttons(slack) if b.endpoint_name == name]
    assert button.action_id == approved.result["action_id"]

    refused = click_undo(aws, stack, slack, button, user_id=NOT_AN_APPROVER, signing_secret=SIGNING_SECRET)

    assert refused.status == 403, refused
    assert undo_executions(aws, stack) == []
    assert [e["outcome"] for e in ledger(aws, stack, name)] == ["applied"]

    first = click_undo(aws, stack, slack, button, user_id=APPROVER, signing_secret=SIGNING_SECRET)
    second = click_undo(aws, stack, slack, button, user_id=APPROVER, signing_secret=SIGNING_SECRET)

    assert (first.status, second.status) == (200, 200), (first, second)
    assert "started" in first.message and "already started" in second.message
    (execution,) = undo_executions(aws, stack)
    assert execution["name"] == f"undo-{button.action_id}"
    described = aws.wait_for_execution(execution["executionArn"], timeout_s=120)
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    assert (result["endpoint_name"], result["outcome"], result["action_id"]) == (
        name,
        "undone",
        button.action_id,
    )
    assert serving_state(aws, name) == before
    assert [e["outcome"] for e in ledger(aws, stack, name)] == ["applied", "undone"]
    assert len(undo_executions(aws, stack)) == 1
    replaced = summary_updates(slack, button)
    assert replaced and all(body.get("replace_original") for body in replaced)
    lines = json.dumps(replaced[0]["blocks"])
    assert f"Undo of {name} started by <@{APPROVER}>" in lines and '"undo"' not in lines
