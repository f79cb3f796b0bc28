"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import json
from typing import Any

from emulated_aws.server import EmulatedAws
from emulated_aws.stack import Stack
from tests.conftest import load_event
from tests.e2e.conftest import Fleet


def auto_apply_event() -> dict[str, Any]:
    """The sample apply event in auto mode (no approval record needed), to test one guard at a time."""
    event = load_event("apply.json")
    event["action"]["mode"] = "auto"
    event["action"]["approval"] = None
    return event


def invoke(aws: EmulatedAws, stack: Stack, logical_id: str, event: object) -> dict[str, object]:
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names[logical_id], Payload=json.dumps(event).encode()
    )
    payload: dict[str, object] = json.loads(answer["Payload"].read())
    payload["FunctionError"] = answer.get("FunctionError")
    return payload


def test_malformed_apply_event_fails_clearly_and_touches_no_endpoint(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = load_event("apply.json")
    event["action"]["finding"]["action"] = "delete_everything"
    answer = invoke(aws, stack, "ApplyFunction", event)
    assert answer["FunctionError"]
    assert answer["errorType"] == "ValidationError"
    assert "delete_everything" in str(answer["errorMessage"])
    aws.client("sagemaker").describe_endpoint(EndpointName=idle)
    assert aws.client("dynamodb").scan(TableName=stack.table_name)["Items"] == []


def test_apply_refuses_an_endpoint_opted_out_after_the_scan(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an approved park of an endpoint someone tagged with the skip tag after the scan
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    arn = aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointArn"]
    aws.client("sagemaker").add_tags(
        ResourceArn=arn, Tags=[{"Key": "endpoint-optimizer:skip", "Value": "true"}]
    )
    # WHEN apply runs THEN it refuses and the endpoint keeps serving
    answer = invoke(aws, stack, "ApplyFunction", auto_apply_event())
    assert answer["errorType"] == "ActionRefused"
    assert "tagged endpoint-optimizer:skip=true" in str(answer["errorMessage"])
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"


def test_missing_slack_secret_fails_the_notification_clearly(aws: EmulatedAws, stack: Stack) -> None:
    aws.client("secretsmanager").delete_secret(
        SecretId=stack.webhook_secret_arn, ForceDeleteWithoutRecovery=True
    )
    answer = invoke(aws, stack, "NotifyFunction", load_event("notify_report.json"))
    assert answer["FunctionError"]
    assert answer["errorType"] == "GetParameterError"
    assert "can't find the specified secret" in str(answer["errorMessage"])


def test_apply_refuses_an_endpoint_changed_since_the_scan(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an approval for an endpoint whose LastModifiedTime moved after the scan (updated, recreated)
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = auto_apply_event()
    event["action"]["finding"]["evidence"]["last_modified_at"] = "2020-01-01T00:00:00+00:00"
    # WHEN apply runs THEN it refuses and the endpoint keeps serving
    answer = invoke(aws, stack, "ApplyFunction", event)
    assert answer["errorType"] == "ActionRefused"
    assert "changed since the scan" in str(answer["errorMessage"])
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"


def test_apply_refuses_to_park_when_the_model_needed_to_restore_is_gone(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an idle endpoint whose model was deleted (SageMaker allows it while the endpoint runs)
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    sm = aws.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=idle)["EndpointConfigName"]
    )
    sm.delete_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    # WHEN apply runs THEN it refuses: parking now would leave no way back
    answer = invoke(aws, stack, "ApplyFunction", auto_apply_event())
    assert answer["errorType"] == "ActionRefused"
    assert "way back is missing" in str(answer["errorMessage"])
    assert sm.describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert aws.client("dynamodb").scan(TableName=stack.table_name)["Items"] == []


def test_apply_refuses_an_approve_mode_action_without_an_approved_record(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an approve-mode action whose approval id has no record (forged or replayed input)
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    answer = invoke(aws, stack, "ApplyFunction", load_event("apply.json"))
    # THEN nothing is applied
    assert answer["errorType"] == "ActionRefused"
    assert "does not exist" in str(answer["errorMessage"])
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"


def test_apply_refuses_a_finding_from_another_account(aws: EmulatedAws, stack: Stack, fleet: Fleet) -> None:
    fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = auto_apply_event()
    event["action"]["finding"]["account_id"] = "444455556666"
    answer = invoke(aws, stack, "ApplyFunction", event)
    assert answer["errorType"] == "ActionRefused"
    assert "acts only in 123456789012/us-east-1" in str(answer["errorMessage"])
