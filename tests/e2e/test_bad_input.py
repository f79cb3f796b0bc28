"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from emulated_aws.server import EmulatedAws
from emulated_aws.stack import Stack
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Approval, ApprovalState, ProposedAction
from tests.conftest import load_event
from tests.e2e.conftest import Fleet


def approved_apply_event(aws: EmulatedAws, stack: Stack, endpoint_name: str) -> dict[str, Any]:
    """The sample apply event fitted to a fleet endpoint as the scan saw it, with its approval on record:
    every guard before the one under test passes, so each test exercises one guard."""
    event = load_event("apply.json")
    described = aws.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
    now = datetime.now(UTC)
    scan = event["state"]["action"]["finding"]["scan"]
    scan["endpoint_last_modified_at"] = described["LastModifiedTime"].astimezone(UTC).isoformat()
    scan["config_name"] = described["EndpointConfigName"]
    scan["metrics_window_end"] = now.replace(minute=0, second=0, microsecond=0).isoformat()
    action = ProposedAction.model_validate(event["state"]["action"])
    assert action.approval is not None
    StateTable(aws.client("dynamodb"), stack.table_name).put_approval(
        Approval(
            approval_id=action.approval.approval_id,
            task_token="sample-task-token",
            action_id=action.action_id,
            finding=action.finding,
            state=ApprovalState.APPROVED,
            requested_at=now,
            expires_at=now + timedelta(hours=1),
            decided_by=action.approval.approved_by,
        )
    )
    return event


def changes_recorded(aws: EmulatedAws, stack: Stack) -> list[str]:
    items = aws.client("dynamodb").scan(TableName=stack.table_name)["Items"]
    return [
        item["pk"]["S"] for item in items if item["pk"]["S"].startswith(("SNAPSHOT#", "INTENT#", "LEDGER#"))
    ]


def invoke(aws: EmulatedAws, stack: Stack, logical_id: str, event: object) -> dict[str, object]:
    answer = aws.client("lambda").invoke(
        FunctionName=stack.function_names[logical_id], Payload=json.dumps(event).encode()
    )
    payload: dict[str, object] = json.loads(answer["Payload"].read())
    payload["FunctionError"] = answer.get("FunctionError")
    return payload


def result_of(answer: dict[str, object]) -> dict[str, object]:
    """The apply step's answer: the workflow state, whose `result` ends the execution (a refusal)."""
    result = answer["result"]
    assert isinstance(result, dict), answer
    return result


def test_malformed_apply_event_fails_clearly_and_touches_no_endpoint(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = load_event("apply.json")
    event["state"]["action"]["finding"]["action"] = "delete_everything"
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
    answer = invoke(aws, stack, "ApplyFunction", approved_apply_event(aws, stack, idle))
    assert result_of(answer)["outcome"] == "refused"
    assert "tagged endpoint-optimizer:skip=true" in str(result_of(answer)["detail"])
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert changes_recorded(aws, stack) == []


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
    event = approved_apply_event(aws, stack, idle)
    event["state"]["action"]["finding"]["scan"]["endpoint_last_modified_at"] = "2020-01-01T00:00:00+00:00"
    # WHEN apply runs THEN it refuses and the endpoint keeps serving
    answer = invoke(aws, stack, "ApplyFunction", event)
    assert result_of(answer)["outcome"] == "refused"
    assert "changed since the scan" in str(result_of(answer)["detail"])
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
    answer = invoke(aws, stack, "ApplyFunction", approved_apply_event(aws, stack, idle))
    assert result_of(answer)["outcome"] == "refused"
    assert "way back is missing" in str(result_of(answer)["detail"])
    assert sm.describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"
    assert changes_recorded(aws, stack) == []


def test_apply_refuses_an_approve_mode_action_without_an_approved_record(
    aws: EmulatedAws, stack: Stack, fleet: Fleet
) -> None:
    # GIVEN an approve-mode action whose approval id has no record (forged or replayed input)
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    answer = invoke(aws, stack, "ApplyFunction", load_event("apply.json"))
    # THEN nothing is applied
    assert result_of(answer)["outcome"] == "refused"
    assert "does not exist" in str(result_of(answer)["detail"])
    assert aws.client("sagemaker").describe_endpoint(EndpointName=idle)["EndpointStatus"] == "InService"


def test_apply_refuses_a_finding_from_another_account(aws: EmulatedAws, stack: Stack, fleet: Fleet) -> None:
    idle = fleet.endpoint("idle-fraud-xgb", traffic="idle")
    event = approved_apply_event(aws, stack, idle)
    event["state"]["action"]["finding"]["account_id"] = "444455556666"
    answer = invoke(aws, stack, "ApplyFunction", event)
    assert result_of(answer)["outcome"] == "refused"
    assert "acts only in 123456789012/us-east-1" in str(result_of(answer)["detail"])
