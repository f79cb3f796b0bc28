"""The run summary's Undo button: authorised like an approval, starts one undo execution, exactly once."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import boto3
from botocore.stub import Stubber

from endpoint_optimizer.act.approvals import BlockActions
from endpoint_optimizer.act.slack_undo import MAX_ATTEMPTS, execution_name, handle_undo_click, undone_summary
from tests.unit.fake_slack import RecordingSlack

APPLY_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:eo-apply"
APPROVERS = ["U0APPROVER"]
CLICKED_AT = "1796134799.123456"  # Slack's action_ts: unique per click


def click(
    user: str = "U0APPROVER", value: str = "9f2c61d0a4b7e385", block: str = "undo:fraud-scorer-prod"
) -> BlockActions:
    return BlockActions.model_validate(
        {
            "type": "block_actions",
            "user": {"id": user},
            "actions": [{"action_id": "undo", "value": value, "block_id": block, "action_ts": CLICKED_AT}],
            "response_url": "https://hooks.slack.com/actions/T/1/x",
            "message": {
                "blocks": [
                    {"type": "section", "block_id": block, "text": {"type": "mrkdwn", "text": "Applied"}}
                ]
            },
        }
    )


def expected_start(user: str = "U0APPROVER", name: str = "undo-9f2c61d0a4b7e385") -> dict[str, Any]:
    undo = {
        "endpoint_name": "fraud-scorer-prod",
        "action_id": "9f2c61d0a4b7e385",
        "requested_by": user,
        "clicked_at": CLICKED_AT,  # each click its own input: a second one is refused by name
    }
    return {
        "stateMachineArn": APPLY_ARN,
        "name": name,
        "input": json.dumps({"undo": undo}),
    }


def test_an_approvers_click_starts_the_undo_execution_named_after_the_action() -> None:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with Stubber(sfn) as stub:
        stub.add_response(
            "start_execution",
            {
                "executionArn": f"{APPLY_ARN}:undo-9f2c61d0a4b7e385".replace("stateMachine", "execution"),
                "startDate": 0,
            },
            expected_start(),
        )
        outcome = handle_undo_click(sfn, click(), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN)
        stub.assert_no_pending_responses()
    assert outcome.status == HTTPStatus.OK
    assert "undo-9f2c61d0a4b7e385" in outcome.message


def test_a_second_click_finds_the_same_execution_and_starts_nothing_more() -> None:
    """GIVEN the undo already started (by another approver) WHEN Undo is clicked again THEN Step Functions
    refuses the name and the answer says it was already started."""
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with Stubber(sfn) as stub:
        stub.add_client_error(
            "start_execution", "ExecutionAlreadyExists", expected_params=expected_start("U0OTHER")
        )
        stub.add_response(
            "describe_execution",
            described("undo-9f2c61d0a4b7e385", "RUNNING"),
            {"executionArn": arn_of("undo-9f2c61d0a4b7e385")},
        )
        outcome = handle_undo_click(
            sfn,
            click(user="U0OTHER"),
            approver_ids=[*APPROVERS, "U0OTHER"],
            apply_state_machine_arn=APPLY_ARN,
        )
    assert outcome.status == HTTPStatus.OK
    assert "already started" in outcome.message


def arn_of(name: str) -> str:
    return f"arn:aws:states:eu-west-1:123456789012:execution:eo-apply:{name}"


def described(name: str, status: str) -> dict[str, Any]:
    return {
        "executionArn": arn_of(name),
        "stateMachineArn": APPLY_ARN,
        "status": status,
        "startDate": 0,
    }


def test_a_click_after_a_failed_undo_says_so_and_starts_the_next_attempt() -> None:
    """GIVEN the undo's first execution FAILED (its name stays taken for 90 days) WHEN Undo is clicked
    again THEN the answer names the failure and a second execution, undo-<id>-2, starts."""
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    first, second = "undo-9f2c61d0a4b7e385", "undo-9f2c61d0a4b7e385-2"
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", "ExecutionAlreadyExists", expected_params=expected_start())
        stub.add_response("describe_execution", described(first, "FAILED"), {"executionArn": arn_of(first)})
        stub.add_response(
            "start_execution", {"executionArn": arn_of(second), "startDate": 0}, expected_start(name=second)
        )
        outcome = handle_undo_click(sfn, click(), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN)
        stub.assert_no_pending_responses()
    assert outcome.status == HTTPStatus.OK
    assert f"({second}) after {first} FAILED" in outcome.message


def test_a_click_while_the_retried_undo_runs_starts_nothing_more() -> None:
    """GIVEN the first undo TIMED_OUT and its retry undo-<id>-2 is RUNNING WHEN Undo is clicked
    THEN nothing more starts: the answer says already started (undo-<id>-2)."""
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    first, second = "undo-9f2c61d0a4b7e385", "undo-9f2c61d0a4b7e385-2"
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", "ExecutionAlreadyExists", expected_params=expected_start())
        stub.add_response(
            "describe_execution", described(first, "TIMED_OUT"), {"executionArn": arn_of(first)}
        )
        stub.add_client_error(
            "start_execution", "ExecutionAlreadyExists", expected_params=expected_start(name=second)
        )
        stub.add_response(
            "describe_execution", described(second, "RUNNING"), {"executionArn": arn_of(second)}
        )
        outcome = handle_undo_click(sfn, click(), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN)
        stub.assert_no_pending_responses()
    assert outcome.status == HTTPStatus.OK
    assert f"already started ({second})" in outcome.message


def test_after_the_last_attempt_failed_the_answer_sends_the_operator_to_the_cli() -> None:
    """GIVEN every attempt Slack may start has FAILED or was ABORTED WHEN Undo is clicked THEN nothing
    starts and the answer says to run `endpoint-optimizer undo <id>`."""
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with Stubber(sfn) as stub:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            name = execution_name("9f2c61d0a4b7e385", attempt)
            stub.add_client_error(
                "start_execution", "ExecutionAlreadyExists", expected_params=expected_start(name=name)
            )
            stub.add_response(
                "describe_execution", described(name, "ABORTED"), {"executionArn": arn_of(name)}
            )
        outcome = handle_undo_click(sfn, click(), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN)
        stub.assert_no_pending_responses()
    assert outcome.status == HTTPStatus.OK
    assert "run: endpoint-optimizer undo 9f2c61d0a4b7e385" in outcome.message


def test_someone_not_on_the_approver_list_is_refused_and_nothing_starts() -> None:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with Stubber(sfn):  # no response queued: any call would fail the test
        outcome = handle_undo_click(
            sfn, click(user="U0INTRUDER"), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN
        )
    assert outcome.status == HTTPStatus.FORBIDDEN


def test_a_value_that_cannot_name_an_execution_is_refused() -> None:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    with Stubber(sfn):
        bad_value = handle_undo_click(
            sfn, click(value="../x y"), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN
        )
        bad_block = handle_undo_click(
            sfn, click(block="approval:x"), approver_ids=APPROVERS, apply_state_machine_arn=APPLY_ARN
        )
    assert (bad_value.status, bad_block.status) == (HTTPStatus.BAD_REQUEST, HTTPStatus.BAD_REQUEST)


def test_the_summary_keeps_its_blocks_and_its_undo_line_becomes_the_verdict() -> None:
    blocks = undone_summary(
        [
            {"type": "header", "text": {"type": "plain_text", "text": "Endpoint optimizer"}},
            {
                "type": "section",
                "block_id": "undo:a",
                "text": {"type": "mrkdwn", "text": "Applied schedule on a"},
            },
        ],
        "undo:a",
        "Undo of a started by <@U0APPROVER>",
    )
    slack = RecordingSlack()
    slack.replace("https://hooks.slack.com/actions/T/1/x", "t", blocks)
    assert [b.get("text", {}).get("text") for b in slack.replaced[0].blocks] == [
        "Endpoint optimizer",
        "Undo of a started by <@U0APPROVER>",
    ]
