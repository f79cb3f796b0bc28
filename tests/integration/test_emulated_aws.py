"""The emulated AWS's own tests: what the demo and the end-to-end tests rely on it to do."""

from __future__ import annotations

import base64
import json
import os
import sys
import textwrap
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from slack_sdk.signature import SignatureVerifier

from emulated_aws import moto_patches
from emulated_aws.fleet import (
    VariantSpec,
    create_endpoint,
    put_hourly_metrics,
    register_scalable_target,
    seed_demo_fleet,
)
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver, signed_interaction_event
from emulated_aws.stack import TemplateError, deploy_member_role, deploy_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.harness  # tests of the test harness itself: `pytest -m "not harness"` skips them


@pytest.fixture(scope="module")
def aws() -> Iterator[EmulatedAws]:
    with EmulatedAws() as emulated:
        yield emulated


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    with SlackReceiver() as receiver:
        yield receiver


def _query(qid: str, namespace: str, name: str, dims: dict[str, str], stat: str) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": 3600,
            "Stat": stat,
        },
    }


def _put(
    aws: EmulatedAws, namespace: str, name: str, dims: dict[str, str], points: list[tuple[datetime, float]]
) -> None:
    aws.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Timestamp": when,
                "Value": value,
            }
            for when, value in points
        ],
    )


# ---------------------------------------------------------------------------------------------------
# CloudWatch GetMetricData
# ---------------------------------------------------------------------------------------------------


def test_indexed_get_metric_data_agrees_with_motos_original_for_sum_average_maximum(aws: EmulatedAws) -> None:
    dims = {"EndpointName": "agree-ep", "VariantName": "AllTraffic"}
    start = NOW.replace(minute=0) - 6 * HOUR
    points = [(start + i * timedelta(minutes=20), float((i * 7) % 11)) for i in range(18)]
    _put(aws, "Agree/NS", "Load", dims, points)
    queries = [
        _query(f"q{stat.lower()}", "Agree/NS", "Load", dims, stat) for stat in ("Sum", "Average", "Maximum")
    ]
    end = start + 6 * HOUR

    patched = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )["MetricDataResults"]
    backend = aws.backend("cloudwatch")
    original = moto_patches._originals["CloudWatchBackend.get_metric_data"](
        backend,
        queries=queries,
        start_time=start.replace(tzinfo=None),
        end_time=end.replace(tzinfo=None),
        scan_by="TimestampAscending",
    )

    assert [r["Id"] for r in patched] == [r["id"] for r in original]
    for ours, theirs in zip(patched, original, strict=True):
        assert ours["Values"] == pytest.approx([float(v) for v in theirs["values"]])
        assert [t.astimezone(UTC).replace(tzinfo=None) for t in ours["Timestamps"]] == theirs["timestamps"]
        assert len(ours["Values"]) == 6


def test_get_metric_data_refuses_more_than_500_queries(aws: EmulatedAws) -> None:
    dims = {"EndpointName": "many", "VariantName": "AllTraffic"}
    queries = [_query(f"q{i}", "AWS/SageMaker", "Invocations", dims, "Sum") for i in range(501)]
    with pytest.raises(ClientError) as refused:
        aws.client("cloudwatch").get_metric_data(
            MetricDataQueries=queries, StartTime=NOW - timedelta(days=1), EndTime=NOW
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "500" in refused.value.response["Error"]["Message"]


def test_get_metric_data_pages_at_max_datapoints_and_next_token_loses_nothing(aws: EmulatedAws) -> None:
    start = NOW.replace(minute=0) - 48 * HOUR
    queries = []
    for series in range(3):
        dims = {"EndpointName": f"paged-{series}", "VariantName": "AllTraffic"}
        _put(aws, "AWS/SageMaker", "Invocations", dims, [(start + i * HOUR, float(i + 1)) for i in range(48)])
        queries.append(_query(f"q{series}", "AWS/SageMaker", "Invocations", dims, "Sum"))
    cw = aws.client("cloudwatch")
    whole = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=NOW)
    assert "NextToken" not in whole
    assert all(r["StatusCode"] == "Complete" and len(r["Values"]) == 48 for r in whole["MetricDataResults"])

    merged: dict[str, list[tuple[datetime, float]]] = {q["Id"]: [] for q in queries}
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = cw.get_metric_data(
            MetricDataQueries=queries,
            StartTime=start,
            EndTime=NOW,
            MaxDatapoints=50,
            **({"NextToken": token} if token else {}),
        )
        pages.append(page)
        assert sum(len(r["Values"]) for r in page["MetricDataResults"]) <= 50
        for result in page["MetricDataResults"]:
            merged[result["Id"]].extend(zip(result["Timestamps"], result["Values"], strict=True))
        token = page.get("NextToken")
        if token is None:
            break

    assert len(pages) == 3  # 144 datapoints, 50 a page
    assert any(r["StatusCode"] == "PartialData" for r in pages[0]["MetricDataResults"])
    for result in whole["MetricDataResults"]:
        assert merged[result["Id"]] == list(zip(result["Timestamps"], result["Values"], strict=True))
    # default ScanBy is TimestampDescending: newest first
    first = whole["MetricDataResults"][0]["Timestamps"]
    assert first == sorted(first, reverse=True)


def test_get_metric_data_refuses_a_next_token_from_another_request(aws: EmulatedAws) -> None:
    dims = {"EndpointName": "paged-0", "VariantName": "AllTraffic"}
    start = NOW.replace(minute=0) - 48 * HOUR
    cw = aws.client("cloudwatch")
    query = _query("q", "AWS/SageMaker", "Invocations", dims, "Sum")
    token = cw.get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=NOW, MaxDatapoints=10)[
        "NextToken"
    ]
    with pytest.raises(ClientError) as refused:
        cw.get_metric_data(MetricDataQueries=[query], StartTime=start - HOUR, EndTime=NOW, NextToken=token)
    assert refused.value.response["Error"]["Code"] == "InvalidNextToken"


def test_get_metric_data_matches_namespace_name_and_the_exact_dimension_set(aws: EmulatedAws) -> None:
    dims = {"EndpointName": "ns-ep", "VariantName": "AllTraffic"}
    when = NOW.replace(minute=0) - 2 * HOUR
    _put(aws, "/aws/sagemaker/Endpoints", "CPUUtilization", dims, [(when, 10.0)])
    _put(aws, "Custom/Other", "CPUUtilization", dims, [(when, 90.0)])
    _put(aws, "/aws/sagemaker/Endpoints", "CPUUtilization", {"EndpointName": "ns-ep"}, [(when, 50.0)])
    results = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            _query("real", "/aws/sagemaker/Endpoints", "CPUUtilization", dims, "Sum"),
            _query("other", "Custom/Other", "CPUUtilization", dims, "Sum"),
            _query(
                "endpointonly", "/aws/sagemaker/Endpoints", "CPUUtilization", {"EndpointName": "ns-ep"}, "Sum"
            ),
            _query("wrongns", "AWS/SageMaker", "CPUUtilization", dims, "Sum"),
        ],
        StartTime=NOW - timedelta(days=1),
        EndTime=NOW,
    )["MetricDataResults"]
    values = {r["Id"]: r["Values"] for r in results}
    assert values == {"real": [10.0], "other": [90.0], "endpointonly": [50.0], "wrongns": []}


def test_get_metric_data_buckets_align_to_start_time_and_compute_minimum_and_sample_count(
    aws: EmulatedAws,
) -> None:
    dims = {"EndpointName": "bucket-ep", "VariantName": "AllTraffic"}
    start = NOW.replace(minute=0) - 3 * HOUR
    _put(
        aws, "Bucket/NS", "M", dims, [(start + timedelta(minutes=m), float(m)) for m in (0, 10, 59, 60, 179)]
    )
    results = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            _query("mn", "Bucket/NS", "M", dims, "Minimum"),
            _query("sc", "Bucket/NS", "M", dims, "SampleCount"),
        ],
        StartTime=start,
        EndTime=start + 3 * HOUR,
        ScanBy="TimestampAscending",
    )["MetricDataResults"]
    by_id = {r["Id"]: r for r in results}
    assert by_id["mn"]["Values"] == [0.0, 60.0, 179.0]
    assert by_id["sc"]["Values"] == [3.0, 1.0, 1.0]
    assert [t.astimezone(UTC) for t in by_id["sc"]["Timestamps"]] == [start, start + HOUR, start + 2 * HOUR]


def test_put_hourly_metrics_writes_no_invocations_datapoint_for_an_hour_without_traffic(
    aws: EmulatedAws,
) -> None:
    start = NOW.replace(minute=0) - 4 * HOUR
    written = put_hourly_metrics(
        aws.client("cloudwatch"),
        endpoint="hourly-ep",
        variant="AllTraffic",
        start=start,
        hours=4,
        invocations=[0, 5, 0, 7],
        cpu=[1.0, 2.0, 3.0, 4.0],
        memory=None,
        gpu=None,
    )
    assert written == 2 + 4
    dims = {"EndpointName": "hourly-ep", "VariantName": "AllTraffic"}
    results = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            _query("inv", "AWS/SageMaker", "Invocations", dims, "Sum"),
            _query("cpu", "/aws/sagemaker/Endpoints", "CPUUtilization", dims, "Average"),
        ],
        StartTime=start,
        EndTime=start + 4 * HOUR,
        ScanBy="TimestampAscending",
    )["MetricDataResults"]
    assert {r["Id"]: r["Values"] for r in results} == {"inv": [5.0, 7.0], "cpu": [1.0, 2.0, 3.0, 4.0]}


# ---------------------------------------------------------------------------------------------------
# SageMaker and Application Auto Scaling patches
# ---------------------------------------------------------------------------------------------------


def test_sagemaker_accepts_current_instance_types_and_refuses_a_duplicate_endpoint(aws: EmulatedAws) -> None:
    sm = aws.client("sagemaker")
    variants = [
        VariantSpec(name="a", instance_type="ml.g6.xlarge"),
        VariantSpec(name="b", instance_type="ml.c7g.large"),
    ]
    create_endpoint(
        sm, name="patch-check-ep", variants=variants, tags={"k": "v"}, created_days_ago=10, now=NOW
    )
    described = sm.describe_endpoint(EndpointName="patch-check-ep")
    assert described["CreationTime"].astimezone(UTC) == NOW - timedelta(days=10)
    with pytest.raises(ClientError) as refused:
        sm.create_endpoint(EndpointName="patch-check-ep", EndpointConfigName="patch-check-ep-config")
    assert "Cannot create already existing endpoint" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        sm.create_endpoint_config(
            EndpointConfigName="bogus",
            ProductionVariants=[
                {
                    "VariantName": "x",
                    "ModelName": "patch-check-ep-a",
                    "InstanceType": "ml.bogus.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )


def test_application_autoscaling_accepts_inference_component_and_provisioned_concurrency(
    aws: EmulatedAws,
) -> None:
    aas = aws.client("application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic-demo",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/serverless-ep/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredProvisionedConcurrency",
        MinCapacity=1,
        MaxCapacity=10,
    )
    register_scalable_target(aas, "patch-check-ep", "a", min=1, max=3)
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert {t["ScalableDimension"] for t in targets} >= {
        "sagemaker:inference-component:DesiredCopyCount",
        "sagemaker:variant:DesiredProvisionedConcurrency",
        "sagemaker:variant:DesiredInstanceCount",
    }


# ---------------------------------------------------------------------------------------------------
# Lambda runner and Step Functions
# ---------------------------------------------------------------------------------------------------

HANDLER_SOURCE = textwrap.dedent(
    """
    import json
    import os
    import urllib.request

    import helper

    IMPORTED_WITH = os.environ.get("GREETING")


    class ApprovalRejected(Exception):
        pass


    def handler(event, context):
        if event.get("token"):
            body = json.dumps({"token": event["token"]}).encode()
            request = urllib.request.Request(event["post_token_to"], data=body, method="POST")
            urllib.request.urlopen(request, timeout=5).read()
            return {"posted": True}
        if event.get("decision") == "reject":
            raise ApprovalRejected("the approver said no")
        return {
            "greeting": os.environ["GREETING"],
            "imported_with": IMPORTED_WITH,
            "helper": helper.VALUE,
            "function_name": context.function_name,
            "region": os.environ["AWS_REGION"],
            "has_time_left": context.get_remaining_time_in_millis() > 0,
            "event": event,
        }
    """
)


@pytest.fixture(scope="module")
def demo_function(aws: EmulatedAws, tmp_path_factory: pytest.TempPathFactory) -> str:
    code_dir = tmp_path_factory.mktemp("fn")
    (code_dir / "app.py").write_text(HANDLER_SOURCE)
    (code_dir / "helper.py").write_text("VALUE = 42\n")
    role = aws.client("iam").create_role(RoleName="demo-fn-role", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    arn: str = aws.client("lambda").create_function(
        FunctionName="demo-fn",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": {"GREETING": "hello"}},
    )["FunctionArn"]
    moto_patches.register_function_source("demo-fn", code_dir)
    return arn


def test_lambda_runner_runs_the_handler_in_process_with_its_environment(
    aws: EmulatedAws, demo_function: str
) -> None:
    before = moto_patches.invocation_count("demo-fn")
    answer = aws.client("lambda").invoke(FunctionName="demo-fn", Payload=json.dumps({"n": 1}).encode())
    assert "FunctionError" not in answer
    payload = json.loads(answer["Payload"].read())
    assert payload == {
        "greeting": "hello",
        "imported_with": "hello",
        "helper": 42,
        "function_name": "demo-fn",
        "region": "us-east-1",
        "has_time_left": True,
        "event": {"n": 1},
    }
    assert moto_patches.invocation_count("demo-fn") == before + 1
    assert "GREETING" not in os.environ  # restored after the invocation
    assert "helper" not in sys.modules  # the function's own modules stay apart


def test_lambda_runner_returns_a_lambda_shaped_error_for_an_exception(
    aws: EmulatedAws, demo_function: str
) -> None:
    answer = aws.client("lambda").invoke(
        FunctionName="demo-fn", Payload=json.dumps({"decision": "reject"}).encode()
    )
    assert answer["FunctionError"] == "Unhandled"
    payload = json.loads(answer["Payload"].read())
    assert payload["errorType"] == "ApprovalRejected"
    assert payload["errorMessage"] == "the approver said no"
    assert payload["stackTrace"] and "app.py" in payload["stackTrace"][-1]


def _approval_machine(aws: EmulatedAws, function_arn: str, name: str, *, catch: bool) -> str:
    decide: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": {"decision.$": "$.approval.decision"}},
        "ResultSelector": {"payload.$": "$.Payload"},
        "ResultPath": "$.decided",
        "End": True,
    }
    if catch:
        decide["Catch"] = [
            {"ErrorEquals": ["ApprovalRejected"], "ResultPath": "$.rejection", "Next": "Record rejection"}
        ]
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                "ResultSelector": {"payload.$": "$.Payload"},
                "ResultPath": "$.described",
                "Next": "Wait for approval",
            },
            "Wait for approval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": function_arn,
                    "Payload": {"token.$": "$$.Task.Token", "post_token_to.$": "$.post_token_to"},
                },
                "TimeoutSeconds": 60,
                "ResultPath": "$.approval",
                "Next": "Decide",
            },
            "Decide": decide,
            "Record rejection": {"Type": "Pass", "End": True},
        },
    }
    arn: str = aws.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    return arn


@pytest.mark.parametrize(
    "case",
    [
        ("approve", False, "SUCCEEDED", None),
        ("reject", True, "SUCCEEDED", None),
        ("reject", False, "FAILED", "ApprovalRejected"),
    ],
    ids=["approved", "rejected-and-caught", "rejected-uncaught"],
)
def test_step_functions_waits_for_the_task_token_and_sees_the_handlers_error_type(
    aws: EmulatedAws, slack: SlackReceiver, demo_function: str, case: tuple[str, bool, str, str | None]
) -> None:
    decision, catch, status, error = case
    sfn = aws.client("stepfunctions")
    machine = _approval_machine(aws, demo_function, f"approval-{decision}-{catch}", catch=catch)
    execution = sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"post_token_to": slack.webhook_url})
    )
    assert not execution["executionArn"].endswith(":None")

    token = slack.wait_for(lambda m: "token" in m["body"], timeout_s=30)["body"]["token"]
    sfn.send_task_success(taskToken=token, output=json.dumps({"decision": decision}))
    described = aws.wait_for_execution(execution["executionArn"], timeout_s=30)
    events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]

    assert described["status"] == status, described
    assert described.get("error") == error
    # the wait ended on the token, with what was sent, never on its 60 s timeout
    waited = [
        json.loads(event["taskSucceededEventDetails"]["output"])
        for event in events
        if event.get("taskSucceededEventDetails", {}).get("resource") == "invoke.waitForTaskToken"
    ]
    assert waited == [{"decision": decision}]
    assert not [event["type"] for event in events if event["type"].endswith("TimedOut")]
    if status == "SUCCEEDED":
        output = json.loads(described["output"])
        assert output["described"]["payload"]["greeting"] == "hello"  # a handler's dict is $.Payload
        if catch:
            assert output["rejection"]["Error"] == "ApprovalRejected"
        else:
            assert output["decided"]["payload"]["event"] == {"decision": "approve"}


# ---------------------------------------------------------------------------------------------------
# Slack stand-in
# ---------------------------------------------------------------------------------------------------


def test_signed_interaction_event_verifies_with_slack_sdk_and_parses_with_powertools() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    event = signed_interaction_event(
        secret,
        user_id="U012AB3CD",
        action_id="approve",
        value="apr-123",
        response_url="http://127.0.0.1:1/actions/x",
    )
    raw_body = base64.b64decode(event["body"]).decode()
    headers = event["headers"]
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(raw_body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(raw_body, headers)
    forged = signed_interaction_event(
        secret, user_id="U012AB3CD", action_id="approve", value="apr-123", response_url="x", signature="v0=00"
    )
    assert not verifier.is_valid_request(base64.b64decode(forged["body"]).decode(), forged["headers"])

    app = APIGatewayHttpResolver()

    @app.post("/slack/interactions")
    def interactions() -> dict[str, Any]:
        form = urllib.parse.parse_qs(app.current_event.decoded_body or "")
        payload = json.loads(form["payload"][0])
        return {"user": payload["user"]["id"], "action": payload["actions"][0], "type": payload["type"]}

    answer = app.resolve(event, None)  # type: ignore[arg-type]
    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body["user"] == "U012AB3CD"
    assert body["type"] == "block_actions"
    assert body["action"]["action_id"] == "approve"
    assert body["action"]["value"] == "apr-123"


def test_slack_receiver_records_posts_and_wait_for_times_out_with_what_it_saw(slack: SlackReceiver) -> None:
    import urllib.request

    request = urllib.request.Request(slack.webhook_url, data=b'{"text": "hi"}', method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == b"ok"
    assert (
        slack.wait_for(lambda m: m["body"] == {"text": "hi"}, timeout_s=5)["path"]
        == "/services/T000/B000/XXXX"
    )
    with pytest.raises(TimeoutError, match="received 1"):
        slack.wait_for(lambda m: False, timeout_s=0.2)


# ---------------------------------------------------------------------------------------------------
# deploy_stack and the demo fleet
# ---------------------------------------------------------------------------------------------------

_FUNCTION_DIRS = ["scan", "analyze", "notify", "request_approval", "slack_interactions", "apply"]


@pytest.mark.skipif(
    not (REPO_ROOT / "template.yaml").is_file()
    or not all((REPO_ROOT / "functions" / d / "app.py").is_file() for d in _FUNCTION_DIRS),
    reason="template.yaml or a functions/*/app.py is not written yet",
)
def test_deploy_stack_creates_what_the_template_declares(aws: EmulatedAws) -> None:
    stack = deploy_stack(
        aws,
        REPO_ROOT,
        {"Mode": "approve", "SlackApproverIds": "U012AB3CD"},
        {"SlackWebhookSecret": "http://127.0.0.1:9/services/T/B/X", "SlackSigningSecret": "signing"},
        stack_name="emulator-selftest",
    )
    table = aws.client("dynamodb").describe_table(TableName=stack.table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {k["AttributeName"] for k in table["KeySchema"]} == {"pk", "sk"}
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    assert stack.topic_arn in [t["TopicArn"] for t in aws.client("sns").list_topics()["Topics"]]
    secrets = aws.client("secretsmanager")
    assert secrets.get_secret_value(SecretId=stack.signing_secret_arn)["SecretString"] == "signing"
    assert secrets.get_secret_value(SecretId=stack.webhook_secret_arn)["SecretString"].startswith("http://")

    assert set(stack.function_names) >= {
        "ScanFunction",
        "AnalyzeFunction",
        "NotifyFunction",
        "RequestApprovalFunction",
        "SlackInteractionsFunction",
        "ApplyFunction",
    }
    for logical_id, name in stack.function_names.items():
        config = aws.client("lambda").get_function_configuration(FunctionName=name)
        assert name == f"emulator-selftest-{logical_id}"
        assert config["Runtime"] == "python3.12"
        assert config["Architectures"] == ["arm64"]
        assert config["Environment"]["Variables"] == stack.function_environment(logical_id)
    interactions = stack.function_environment("SlackInteractionsFunction")
    assert interactions["TABLE_NAME"] == stack.table_name
    assert interactions["SLACK_SIGNING_SECRET_ARN"] == stack.signing_secret_arn
    assert interactions["SLACK_APPROVER_IDS"] == "U012AB3CD"
    assert interactions["POWERTOOLS_SERVICE_NAME"]  # from Globals

    machine = aws.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)
    assert machine["name"] == "emulator-selftest-optimize"
    assert "${" not in machine["definition"]
    assert stack.function_arns["ScanFunction"] in machine["definition"]

    # The artifact bucket carries the template's settings, and its TLS-only policy lets the SDK in.
    s3 = aws.client("s3")
    bucket = stack.artifact_bucket
    assert bucket == bucket.lower() and len(bucket) <= 63
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Expiration"] == {"Days": 90}
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    s3.put_object(Bucket=bucket, Key="plans/selftest.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="plans/selftest.json")["Body"].read() == b"{}"
    targets = stack.function_environment("TargetsFunction")
    assert (targets["HOME_ACCOUNT_ID"], targets["PARTITION"]) == (aws.account_id, "aws")
    assert stack.function_environment("ScanFunction")["ARTIFACT_BUCKET"] == bucket


MEMBER_ACCOUNT = "210987654321"


def test_the_member_role_template_deploys_into_a_member_account_and_sts_enforces_its_external_id(
    aws: EmulatedAws,
) -> None:
    # GIVEN docs/member-account-role.yaml deployed in a member account, as a StackSet instance would be
    role_arn = deploy_member_role(
        aws,
        REPO_ROOT,
        account_id=MEMBER_ACCOUNT,
        parameters={"OptimizerAccountId": aws.account_id, "ExternalId": "selftest-id"},
    )
    iam = aws.client("iam", account_id=MEMBER_ACCOUNT)
    assert role_arn == f"arn:aws:iam::{MEMBER_ACCOUNT}:role/endpoint-optimizer-read"
    assert iam.list_role_policies(RoleName="endpoint-optimizer-read")["PolicyNames"] == [
        "endpoint-optimizer-read"
    ]
    assert "endpoint-optimizer-read" not in [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]]
    sts = aws.client("sts")

    # WHEN it is assumed without, with a wrong, and with the right external id
    for wrong in ({}, {"ExternalId": "guessed-id"}):
        with pytest.raises(ClientError) as refused:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="selftest", **wrong)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):  # a role that does not exist cannot be assumed either
        sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER_ACCOUNT}:role/nobody", RoleSessionName="selftest")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="selftest", ExternalId="selftest-id")[
        "Credentials"
    ]

    # THEN only the right one gets credentials, and they act in the member account
    member_sts = boto3.client(
        "sts",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert member_sts.get_caller_identity()["Account"] == MEMBER_ACCOUNT
    # AND the member template's parameters are checked as CloudFormation would
    with pytest.raises(TemplateError, match="ExternalId has no Default"):
        deploy_member_role(
            aws, REPO_ROOT, account_id=MEMBER_ACCOUNT, parameters={"OptimizerAccountId": aws.account_id}
        )


def _in_process_function(aws: EmulatedAws, name: str, code_dir: Path) -> str:
    role = aws.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    arn: str = aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )["FunctionArn"]
    moto_patches.register_function_source(name, code_dir)
    return arn


def _map_definition(function_arn: str, threshold: dict[str, Any]) -> str:
    return json.dumps(
        {
            "StartAt": "Process each item",
            "States": {
                "Process each item": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrency": 2,
                    **threshold,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Run item",
                        "States": {
                            "Run item": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                                "OutputPath": "$.Payload",
                                "End": True,
                            }
                        },
                    },
                    "End": True,
                }
            },
        }
    )


@pytest.mark.parametrize(
    ("threshold", "status"),
    [
        ({}, "FAILED"),  # AWS default: 0 % tolerated
        ({"ToleratedFailurePercentage": 0}, "FAILED"),  # an integer parses
        ({"ToleratedFailurePercentage": 50}, "SUCCEEDED"),  # 1 of 3 failed: 33 %
        ({"ToleratedFailureCount": 1}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 10}, "FAILED"),  # either exceeded
    ],
)
def test_a_distributed_map_fails_when_its_children_fail_beyond_the_tolerated_threshold(
    aws: EmulatedAws, tmp_path: Path, threshold: dict[str, Any], status: str
) -> None:
    handler = tmp_path / "app.py"
    handler.write_text(
        "def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise RuntimeError('item failed')\n"
        "    return {'ok': event['n']}\n"
    )
    case = f"{len(threshold)}-{abs(hash(json.dumps(threshold, sort_keys=True))) % 10**8}"
    arn = _in_process_function(aws, f"map-item-{case}", tmp_path)
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"distributed-{case}",
        definition=_map_definition(arn, threshold),
        roleArn=f"arn:aws:iam::{aws.account_id}:role/sfn",
    )["stateMachineArn"]
    items = [{"n": 1}, {"n": 2, "fail": True}, {"n": 3}]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"items": items}))
    described = aws.wait_for_execution(execution["executionArn"])
    assert described["status"] == status
    if status == "FAILED":
        assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_demo_fleet_seeds_at_least_25_labelled_endpoints_in_full_metric_batches(aws: EmulatedAws) -> None:
    # GIVEN a count of the PutMetricData calls the seeding makes and the datums each carries
    batches: list[int] = []
    event, events = "provide-client-params.cloudwatch.PutMetricData", aws.client("cloudwatch").meta.events
    events.register(event, lambda params, **_: batches.append(len(params["MetricData"])), unique_id="seed")
    try:
        fleet = seed_demo_fleet(aws, NOW)
    finally:
        events.unregister(event, unique_id="seed")  # the client is shared with the other tests
    # THEN the 14 days of hourly metrics went in batches of up to 1,000 datums (PutMetricData's limit):
    # at most one call per namespace and variant beyond the full ones (what keeps `make demo` quick)
    variants = sum(len(member.variants) for member in fleet)
    assert max(batches) == 1000
    assert len(batches) <= -(-sum(batches) // 1000) + 2 * variants
    assert len(fleet) >= 25
    park = [m for m in fleet if m.expected == "park"]
    assert len(park) >= 6
    assert all(m.created_days_ago > 7 for m in park)
    assert any(v.instance_count == 2 for m in park for v in m.variants) and any(
        m.scalable_variants for m in park
    )
    assert any(all(v.name != "AllTraffic" for v in m.variants) for m in park)
    names = {e["EndpointName"] for e in aws.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]}
    assert names >= {m.name for m in fleet}

    # an idle member: CPU every hour of the 14 days, no Invocations datapoint at all
    end = NOW.replace(minute=0)
    dims = {"EndpointName": "demo-idle-fraud-xgb", "VariantName": "AllTraffic"}
    results = aws.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            _query("inv", "AWS/SageMaker", "Invocations", dims, "Sum"),
            _query("cpu", "/aws/sagemaker/Endpoints", "CPUUtilization", dims, "Average"),
        ],
        StartTime=end - timedelta(days=14),
        EndTime=end,
    )["MetricDataResults"]
    by_id = {r["Id"]: r["Values"] for r in results}
    assert by_id["inv"] == []
    assert len(by_id["cpu"]) == 14 * 24
    assert all(1.0 <= v <= 6.0 for v in by_id["cpu"])  # 0.5-3 % of each of 2 vCPUs, summed as AWS does
