"""Slack clicks that must be refused: each gets the right HTTP status and changes nothing."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from emulated_aws import moto_patches
from emulated_aws.loop import ApprovalCard, ClickAnswer, click, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver, signed_interaction_event
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


@dataclass(frozen=True)
class PendingApproval:
    aws: EmulatedAws
    stack: Stack
    slack: SlackReceiver
    execution_arn: str
    card: ApprovalCard
    endpoint: str

    def signed_event(self) -> dict[str, Any]:
        """The API Gateway event of the approver's click on this card, correctly signed."""
        return signed_interaction_event(
            SIGNING_SECRET,
            user_id=APPROVER,
            action_id="approve",
            value=self.card.approval_id,
            response_url=self.slack.response_url(self.card.approval_id),
        )

    def send(self, event: dict[str, Any]) -> ClickAnswer:
        """POST `event` to the deployed slack_interactions function as API Gateway would; its HTTP answer."""
        answer = self.aws.client("lambda").invoke(
            FunctionName=self.stack.function_names["SlackInteractionsFunction"],
            Payload=json.dumps(event).encode(),
        )
        payload = json.loads(answer["Payload"].read())
        assert "statusCode" in payload, f"the handler failed instead of answering: {payload}"
        body = json.loads(payload.get("body") or "{}")
        return ClickAnswer(status=int(payload["statusCode"]), message=str(body.get("message", "")))

    def click(self, **overrides: Any) -> ClickAnswer:
        """The approver's click on this card, signed with the app's secret, unless `overrides` say otherwise."""
        request: dict[str, Any] = {
            "approval_id": self.card.approval_id,
            "user_id": APPROVER,
            "signing_secret": SIGNING_SECRET,
            **overrides,
        }
        return click(self.aws, self.stack, self.slack, **request)


@pytest.fixture
def pending(aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet) -> Iterator[PendingApproval]:
    endpoint = fleet.endpoint("idle-awaiting-approval", traffic="idle")
    execution = start_run(aws, stack, "awaiting-approval")
    (card,) = wait_for_cards(slack, 1)
    yield PendingApproval(aws, stack, slack, execution, card, endpoint)
    aws.client("stepfunctions").stop_execution(executionArn=execution)


def approval_state(aws: EmulatedAws, stack: Stack, approval_id: str) -> str:
    item = aws.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}}
    )["Item"]
    state: str = item["state"]["S"]
    return state


def assert_nothing_changed(pending: PendingApproval) -> None:
    aws = pending.aws
    assert approval_state(aws, pending.stack, pending.card.approval_id) == "pending"
    status = aws.client("stepfunctions").describe_execution(executionArn=pending.execution_arn)["status"]
    assert status == "RUNNING"
    aws.client("sagemaker").describe_endpoint(EndpointName=pending.endpoint)  # still there


def test_forged_signature_is_refused_with_401(pending: PendingApproval) -> None:
    assert pending.click(signature="v0=" + "0" * 64).status == 401
    assert_nothing_changed(pending)


def test_request_signed_with_another_secret_is_refused_with_401(pending: PendingApproval) -> None:
    assert pending.click(signing_secret="not-the-secret").status == 401
    assert_nothing_changed(pending)


def test_stale_timestamp_is_refused_with_401(pending: PendingApproval) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    assert pending.click(timestamp=six_minutes_ago).status == 401
    assert_nothing_changed(pending)


def test_user_who_is_not_an_approver_is_refused_with_403(pending: PendingApproval) -> None:
    assert pending.click(user_id="U0INTRUDER").status == 403
    assert_nothing_changed(pending)


def test_unknown_approval_id_is_refused_with_404(pending: PendingApproval) -> None:
    assert pending.click(approval_id="no-such-id").status == 404
    assert_nothing_changed(pending)


def test_malformed_body_is_refused_with_400(pending: PendingApproval) -> None:
    assert pending.click(action_id="delete-everything").status == 400
    assert_nothing_changed(pending)


def test_replayed_click_is_refused_with_409_and_the_action_runs_once(
    aws: EmulatedAws, stack: Stack, pending: PendingApproval
) -> None:
    first = pending.click()
    replay = pending.click(action_id="reject")
    described = aws.wait_for_execution(pending.execution_arn)
    assert (first.status, replay.status) == (200, 409)
    assert approval_state(aws, stack, pending.card.approval_id) == "approved"
    assert described["status"] == "SUCCEEDED"
    ledger = aws.client("dynamodb").query(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"LEDGER#{pending.endpoint}"}},
    )["Items"]
    assert len(ledger) == 1


# ---- requests that cannot be verified: always 401, never a 500 (issue 7) -------------------------------


def _raw_body(event: dict[str, Any]) -> bytes:
    return base64.b64decode(event["body"])


def _resigned(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """`event` carrying `body`, signed over its raw bytes with the app's real secret (HMAC as Slack does)."""
    timestamp = event["headers"]["x-slack-request-timestamp"]
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    event["body"] = base64.b64encode(body).decode()
    event["headers"]["x-slack-signature"] = "v0=" + digest.hexdigest()
    return event


def _timestamp_not_a_number(event: dict[str, Any]) -> dict[str, Any]:
    # Correctly signed over the junk timestamp: only the replay window can refuse it, and it cannot be read.
    body = _raw_body(event).decode()
    event["headers"]["x-slack-request-timestamp"] = "abc"
    event["headers"]["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp="abc", body=body
    )
    return event


def _signature_not_ascii(event: dict[str, Any]) -> dict[str, Any]:
    event["headers"]["x-slack-signature"] = "v0=é"
    return event


def _signature_of_the_wrong_shape(event: dict[str, Any]) -> dict[str, Any]:
    event["headers"]["x-slack-signature"] = event["headers"]["x-slack-signature"].upper()
    return event


def _body_not_base64(event: dict[str, Any]) -> dict[str, Any]:
    event["body"] = "payload=%7B%22type%22*not base64*"
    return event


def _body_not_utf8(event: dict[str, Any]) -> dict[str, Any]:
    return _resigned(event, _raw_body(event) + b"\xff\xfe")


def _no_signature_header(event: dict[str, Any]) -> dict[str, Any]:
    del event["headers"]["x-slack-signature"]
    return event


def _no_timestamp_header(event: dict[str, Any]) -> dict[str, Any]:
    del event["headers"]["x-slack-request-timestamp"]
    return event


def _no_headers_at_all(event: dict[str, Any]) -> dict[str, Any]:
    del event["headers"]
    return event


MALFORMED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "timestamp abc": _timestamp_not_a_number,
    "signature v0=é": _signature_not_ascii,
    "signature in capitals": _signature_of_the_wrong_shape,
    "body not base64": _body_not_base64,
    "body not UTF-8": _body_not_utf8,
    "no signature header": _no_signature_header,
    "no timestamp header": _no_timestamp_header,
    "no headers": _no_headers_at_all,
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_request_that_cannot_be_verified_is_refused_with_401_and_changes_nothing(
    pending: PendingApproval, case: str
) -> None:
    """GIVEN a card waiting for approval
    WHEN a request to approve it arrives that cannot be verified (malformed header, body or signature)
    THEN the answer is 401, not an unhandled error, and the approval, the workflow and the endpoint are as
    they were.
    """
    forged = MALFORMED[case](copy.deepcopy(pending.signed_event()))

    answer = pending.send(forged)

    assert (answer.status, answer.message) == (401, "invalid Slack signature or stale timestamp")
    assert_nothing_changed(pending)


def test_the_same_click_correctly_signed_is_accepted(pending: PendingApproval) -> None:
    """GIVEN the event the malformed cases above start from
    WHEN it is sent unchanged
    THEN it approves the card (so each 401 above comes from what the case broke, not from the event).
    """
    assert pending.send(pending.signed_event()).status == 200
    assert approval_state(pending.aws, pending.stack, pending.card.approval_id) == "approved"


def test_the_handlers_step_functions_client_gives_up_within_slacks_three_seconds(
    pending: PendingApproval,
) -> None:
    """GIVEN the deployed slack_interactions function, warm after a click
    WHEN the Step Functions client it resumes the workflow with is read
    THEN it connects within 1 s, reads within 2 s and makes 2 attempts in all (not the shared 30 s, 10 tries).
    """
    pending.click()
    module = moto_patches.warm_handler_module(pending.stack.function_names["SlackInteractionsFunction"])
    assert module is not None

    config = module.stepfunctions.meta.config

    assert (config.connect_timeout, config.read_timeout) == (1, 2)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert module.stepfunctions is not module.clients.stepfunctions
