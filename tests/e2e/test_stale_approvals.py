"""An approval that comes after the endpoint changed parks nothing: the real workflow scans, analyzes and
asks in Slack; the endpoint then gets traffic or is redeployed; the approver clicks Approve days later.
No evidence is made by hand: the finding is the one Analyze wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from emulated_aws.fleet import put_invocations, redeploy
from emulated_aws.loop import click, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run


def scalable_targets(aws: EmulatedAws) -> list[str]:
    found = aws.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    return [target["ResourceId"] for target in found["ScalableTargets"]]


def approve_and_wait(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, execution: str, approval_id: str
) -> dict:  # type: ignore[type-arg]
    answer = click(
        aws, stack, slack, approval_id=approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    assert answer.status == 200
    described = aws.wait_for_execution(execution)
    assert described["status"] == "SUCCEEDED"
    return described


def test_approval_after_the_endpoint_started_serving_parks_nothing_and_says_why(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint with autoscaling, proposed for parking, and a card waiting in Slack
    idle = fleet.endpoint("idle-then-busy", traffic="idle", autoscaling=True)
    execution = start_run(aws, stack, "stale-traffic")
    (card,) = wait_for_cards(slack, 1)
    assert card.endpoint_name == idle
    assert "Scanned 20" in json.dumps(card.message["body"])  # the card says when the numbers were true
    # AND after the scan it started serving 5,000 requests an hour
    put_invocations(
        aws.client("cloudwatch"), endpoint=idle, variant="AllTraffic", at=datetime.now(UTC), count=5000.0
    )

    # WHEN the approver clicks Approve
    described = approve_and_wait(aws, stack, slack, execution, card.approval_id)

    # THEN nothing was deleted, and the run reports why
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert scalable_targets(aws) == [f"endpoint/{idle}/variant/AllTraffic"]
    (result,) = json.loads(described["output"])["results"]
    assert (result["endpoint_name"], result["outcome"]) == (idle, "refused")
    assert "in use since the scan: 5,000 invocations" in result["detail"]
    summary = aws.published_sns_messages(stack.topic_arn)[-1]
    assert "in use since the scan: 5,000 invocations" in summary["message"]


def test_approval_after_the_endpoint_was_redeployed_parks_nothing_and_says_why(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    idle = fleet.endpoint("idle-then-redeployed", traffic="idle")
    execution = start_run(aws, stack, "stale-redeploy")
    (card,) = wait_for_cards(slack, 1)
    # AND after the scan a new model version was deployed to it (UpdateEndpoint)
    new_config = redeploy(aws.client("sagemaker"), name=idle, now=datetime.now(UTC))

    described = approve_and_wait(aws, stack, slack, execution, card.approval_id)

    endpoint = aws.client("sagemaker").describe_endpoint(EndpointName=idle)
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", new_config)
    (result,) = json.loads(described["output"])["results"]
    assert (result["endpoint_name"], result["outcome"]) == (idle, "refused")
    assert "changed since the scan" in result["detail"]


def test_a_park_that_fails_half_way_is_undone_by_the_workflow_and_the_endpoint_keeps_its_autoscaling(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an idle endpoint with autoscaling, and DeleteEndpoint failing after the targets are deregistered
    idle = fleet.endpoint("idle-delete-fails", traffic="idle", autoscaling=True)
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    def delete_fails(self: object, endpoint_name: str) -> None:
        raise ValidationError(message=f"injected: DeleteEndpoint of {endpoint_name} failed")

    monkeypatch.setattr(SageMakerModelBackend, "delete_endpoint", delete_fails)
    execution = start_run(aws, stack, "delete-fails")
    (card,) = wait_for_cards(slack, 1)

    # WHEN the park is approved and fails
    described = approve_and_wait(aws, stack, slack, execution, card.approval_id)

    # THEN the apply workflow's "Roll back" (park's recover) reports it failed and rolled back, and the endpoint
    # serves with its scalable target and policy as before
    (result,) = json.loads(described["output"])["results"]
    assert (result["endpoint_name"], result["outcome"]) == (idle, "failed")
    assert result["detail"].startswith("rolled back: serving as before with its autoscaling")
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert scalable_targets(aws) == [f"endpoint/{idle}/variant/AllTraffic"]
    policies = aws.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")
    assert [p["ResourceId"] for p in policies["ScalingPolicies"]] == [f"endpoint/{idle}/variant/AllTraffic"]
    (applied,) = aws.client("stepfunctions").list_executions(stateMachineArn=stack.apply_state_machine_arn)[
        "executions"
    ]
    history = aws.client("stepfunctions").get_execution_history(executionArn=applied["executionArn"])[
        "events"
    ]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert "Roll back" in entered
