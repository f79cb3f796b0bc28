"""End-to-end fixtures: one emulated AWS per test process, a fresh stack and Slack per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulated_aws.fleet import VariantSpec, create_endpoint, put_hourly_metrics, register_scalable_target
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack, deploy_stack
from tests.conftest import REPO_ROOT

SIGNING_SECRET = "e2e-signing-secret-7f3a"
APPROVER = "U0APPROVER"
LOOKBACK_HOURS = 14 * 24


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


@dataclass(frozen=True)
class Fleet:
    aws: EmulatedAws
    now: datetime

    @property
    def window_start(self) -> datetime:
        return self.now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=LOOKBACK_HOURS)

    def endpoint(
        self,
        name: str,
        *,
        traffic: str,
        days_old: float = 30,
        tags: dict[str, str] | None = None,
        instance_type: str = "ml.m5.large",
        autoscaling: bool = False,
        region: str | None = None,
        account_id: str | None = None,
    ) -> str:
        """traffic: idle (CPU every hour, no invocations) | busy | silent (no metrics at all).

        `region` and `account_id` default to the stack's own; another account is a member account.
        """
        account_id = account_id or self.aws.account_id

        def client(service: str) -> Any:
            return self.aws.client(service, region, account_id)

        create_endpoint(
            client("sagemaker"),
            name=name,
            variants=[VariantSpec(instance_type=instance_type)],
            tags=tags or {},
            created_days_ago=days_old,
            now=self.now,
            account_id=account_id,
        )
        series: dict[str, Any] = {
            "idle": {"cpu": [1.5] * LOOKBACK_HOURS, "memory": [22.0] * LOOKBACK_HOURS},
            "busy": {
                "invocations": [250.0] * LOOKBACK_HOURS,
                "cpu": [45.0] * LOOKBACK_HOURS,
                "memory": [40.0] * LOOKBACK_HOURS,
            },
            "silent": {},
        }[traffic]
        if series:
            put_hourly_metrics(
                client("cloudwatch"),
                endpoint=name,
                variant="AllTraffic",
                start=self.window_start,
                hours=LOOKBACK_HOURS,
                **series,
            )
        if autoscaling:
            register_scalable_target(client("application-autoscaling"), name, "AllTraffic", 1, 4)
        return name


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
