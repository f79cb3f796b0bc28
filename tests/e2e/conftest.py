"""End-to-end fixtures: one emulated AWS per test process, a fresh stack and Slack per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

# Fleet (where to seed and when "now" is) and the look-back live in the harness: the demo seeds with them too.
from emulated_aws.rungs import LOOKBACK_HOURS, Fleet
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack, deploy_stack
from tests.conftest import REPO_ROOT

__all__ = ["APPROVER", "LOOKBACK_HOURS", "SIGNING_SECRET", "Fleet", "start_run"]  # what the e2e tests import

SIGNING_SECRET = "e2e-signing-secret-7f3a"
APPROVER = "U0APPROVER"


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver


@pytest.fixture
def stack(aws: EmulatedAws, slack: SlackReceiver) -> Stack:
    aws.reset()
    return deploy_stack(
        aws,
        REPO_ROOT,
        parameters={"SlackApproverIds": APPROVER, "MaxActionsPerRun": "5"},
        secrets={"SlackWebhookSecret": slack.webhook_url, "SlackSigningSecret": SIGNING_SECRET},
        # Emulated Inference Recommender jobs age per read, not per second: poll them without waiting.
        environment={
            "RecommendFunction": {"RECOMMENDER_POLL_SECONDS": "0"},
            "ApplyFunction": {"APPLY_POLL_SECONDS": "0"},
        },
    )


@pytest.fixture
def fleet(aws: EmulatedAws, stack: Stack) -> Fleet:
    return Fleet(aws=aws, now=datetime.now(UTC))


def start_run(aws: EmulatedAws, stack: Stack, name: str) -> str:
    """Start the workflow as the schedule does (Scheduler target Input is "{}")."""
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=name, input="{}"
    )
    arn: str = started["executionArn"]
    return arn
