"""Deciding without Slack: `endpoint-optimizer approvals list | approve | reject` against the deployed
stack, authorised by IAM (here the emulated account's caller), with the same transitions and audit
record as a click (act.approvals.decide)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from emulated_aws.loop import ApprovalCard, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from endpoint_optimizer.cli import main as cli
from tests.e2e.conftest import Fleet, start_run


@dataclass(frozen=True)
class Waiting:
    """A run waiting on one approval card; its endpoint is idle (a park)."""

    aws: EmulatedAws
    stack: Stack
    execution_arn: str
    card: ApprovalCard
    endpoint: str

    def cli(self, *argv: str) -> int:
        return cli([*argv, "--table", self.stack.table_name, "--region", self.aws.region])

    def item(self, pk: str, sk: str) -> dict[str, Any]:
        item: dict[str, Any] = self.aws.client("dynamodb").get_item(
            TableName=self.stack.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )["Item"]
        return item

    def approval(self) -> dict[str, Any]:
        return self.item(f"APPROVAL#{self.card.approval_id}", "APPROVAL")

    def ledger(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.aws.client("dynamodb").query(
            TableName=self.stack.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"LEDGER#{self.endpoint}"}},
        )["Items"]
        return items


@pytest.fixture
def waiting(aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet) -> Iterator[Waiting]:
    endpoint = fleet.endpoint("idle-decided-from-the-cli", traffic="idle")
    execution = start_run(aws, stack, "decided-from-the-cli")
    (card,) = wait_for_cards(slack, 1)
    yield Waiting(aws, stack, execution, card, endpoint)
    if aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING":
        aws.client("stepfunctions").stop_execution(executionArn=execution)


def caller_arn(aws: EmulatedAws) -> str:
    arn: str = aws.client("sts").get_caller_identity()["Arn"]
    return arn


def test_list_shows_the_open_approval_with_its_endpoint_action_savings_and_expiry(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a run waiting on one approval
    WHEN `approvals list` reads the stack's table
    THEN it prints the approval's id, endpoint, action, savings and when it expires."""
    assert waiting.cli("approvals", "list") == 0

    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "ENDPOINT", "ACTION", "SAVES/MONTH", "EXPIRES", "(UTC)"]
    assert row.split()[:3] == [waiting.card.approval_id, waiting.endpoint, "park"]
    assert row.split()[3].startswith("$")


def test_approve_from_the_cli_resumes_the_waiting_run_exactly_once(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a run waiting on an approval
    WHEN `approvals approve ID` is run twice
    THEN the first resumes the run, which parks the endpoint once and records the caller's IAM ARN as the
    approver (approval and ledger); the second is refused with a non-zero exit and changes nothing."""
    aws = waiting.aws

    first = waiting.cli("approvals", "approve", waiting.card.approval_id)
    second = waiting.cli("approvals", "approve", waiting.card.approval_id)
    described = aws.wait_for_execution(waiting.execution_arn)

    printed = capsys.readouterr()
    assert (first, second) == (0, 1)
    assert f"Approved by {caller_arn(aws)}: applying park." in printed.out
    assert f"approval {waiting.card.approval_id} is already approved" in printed.err
    assert described["status"] == "SUCCEEDED"
    approval = waiting.approval()
    assert (approval["state"]["S"], approval["decided_by"]["S"]) == ("approved", caller_arn(aws))
    (entry,) = waiting.ledger()
    recorded = json.loads(entry["body"]["S"])
    assert (recorded["outcome"], recorded["approved_by"]) == ("applied", caller_arn(aws))
    assert not aws.client("sagemaker").list_endpoints(NameContains=waiting.endpoint)["Endpoints"]
    assert waiting.cli("approvals", "list") == 0
    assert waiting.card.approval_id not in capsys.readouterr().out  # no longer open


def test_reject_from_the_cli_keeps_the_reason_and_leaves_the_endpoint_alone(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a run waiting on an approval
    WHEN `approvals reject ID --reason ...` is run
    THEN the run records the rejection and ends, nothing is applied, the endpoint's cooldown starts, and
    the reason is kept on the approval and on the rejection, with the caller as who rejected it."""
    aws = waiting.aws
    reason = "quarter-end batch scoring runs on it"

    code = waiting.cli("approvals", "reject", waiting.card.approval_id, "--reason", reason)
    described = aws.wait_for_execution(waiting.execution_arn)

    assert code == 0
    assert "is left as it is. Not proposed again before" in capsys.readouterr().out
    assert described["status"] == "SUCCEEDED"
    approval = waiting.approval()
    assert (approval["state"]["S"], approval["rejection_reason"]["S"]) == ("rejected", reason)
    assert approval["decided_by"]["S"] == caller_arn(aws)
    rejection = waiting.item(f"REJECTION#{aws.account_id}#{aws.region}#{waiting.endpoint}", "REJECTION")
    body = json.loads(rejection["body"]["S"])
    assert (body["reason"], body["rejected_by"]) == (reason, caller_arn(aws))
    aws.client("sagemaker").describe_endpoint(EndpointName=waiting.endpoint)  # still there
    assert [json.loads(item["body"]["S"])["outcome"] for item in waiting.ledger()] in ([], ["rejected"])


def test_deciding_an_unknown_approval_is_refused_with_a_non_zero_exit(
    waiting: Waiting, capsys: pytest.CaptureFixture[str]
) -> None:
    assert waiting.cli("approvals", "approve", "no-such-approval") == 1
    assert "no-such-approval: unknown approval" in capsys.readouterr().err
    assert waiting.approval()["state"]["S"] == "pending"
