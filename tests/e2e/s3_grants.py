"""The recommend function's S3 grants in template.yaml, and which of them a recorded S3 request needs: how
tests/e2e/test_confirm_moves.py compares the S3 calls of the confirmation steps with the IAM, both ways.
Also Data Capture on an emulated endpoint (the sample payload packed from it).

Nothing here is product code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from emulated_aws.botocore_validation import RecordedRequest
from emulated_aws.server import EmulatedAws
from emulated_aws.stack import Stack, load_template
from tests.conftest import REPO_ROOT

FUNCTION = "RecommendFunction"
# The IAM action each S3 operation the steps send is authorized by, and on what: the bucket or the
# object ("Actions, resources, and condition keys for Amazon S3", Service Authorization Reference:
# ListObjectsV2 -> s3:ListBucket on the bucket; GetObject, HeadObject -> s3:GetObject and PutObject ->
# s3:PutObject on the object; read 2026-12-01). An operation not listed fails the test: add it.
ACTION_OF_OPERATION: Mapping[str, tuple[str, bool]] = {
    "ListObjectsV2": ("s3:ListBucket", False),
    "GetObject": ("s3:GetObject", True),
    "HeadObject": ("s3:GetObject", True),
    "PutObject": ("s3:PutObject", True),
}


@dataclass(frozen=True)
class S3Grant:
    """One action of one S3 statement of the function's policy, its resources resolved for the stack."""

    sid: str
    action: str
    resources: tuple[str, ...]
    resource_account: str | None  # the statement's s3:ResourceAccount condition, if any

    def allows(self, action: str, resource: str, resource_account: str) -> bool:
        if action != self.action:
            return False
        if self.resource_account is not None and self.resource_account != resource_account:
            return False
        return any(_arn_pattern(pattern).fullmatch(resource) for pattern in self.resources)

    @property
    def name(self) -> str:
        return f"{self.sid}/{self.action}"


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    """IAM's resource wildcards: * any characters (slashes too), ? one character."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def _resolve(value: Any, variables: Mapping[str, str]) -> str:
    """A string, a !Ref or a !Sub of only the variables given; nothing else is expected in these statements."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = {"Fn::Sub": f"${{{value['Ref']}}}"}
    text = value.get("Fn::Sub") if isinstance(value, dict) and set(value) == {"Fn::Sub"} else value
    if not isinstance(text, str):
        raise AssertionError(f"{FUNCTION}'s S3 statements: cannot resolve {value!r}")

    def replace(match: re.Match[str]) -> str:
        if match[1] not in variables:
            raise AssertionError(f"{FUNCTION}'s S3 statements: unknown variable ${{{match[1]}}} in {text!r}")
        return variables[match[1]]

    return re.sub(r"\$\{([^}]+)\}", replace, text)


def s3_grants(stack: Stack) -> list[S3Grant]:
    """Every (statement, s3 action) of the recommend function's policies in template.yaml, resolved."""
    template = load_template(REPO_ROOT)
    variables = {
        "AWS::Partition": "aws",
        "AWS::AccountId": stack.account_id,
        "AWS::Region": stack.region,
        "ArtifactBucket.Arn": f"arn:aws:s3:::{stack.artifact_bucket}",
    }
    grants: list[S3Grant] = []
    for policy in template["Resources"][FUNCTION]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            s3_actions = [action for action in actions if str(action).startswith("s3:")]
            if not s3_actions:
                continue
            assert statement["Effect"] == "Allow", statement
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            condition = statement.get("Condition") or {}
            account = None
            if condition:
                assert set(condition) == {"StringEquals"} and set(condition["StringEquals"]) == {
                    "s3:ResourceAccount"
                }, f"{statement['Sid']}: a condition this comparison does not evaluate: {condition}"
                account = _resolve(condition["StringEquals"]["s3:ResourceAccount"], variables)
            grants.extend(
                S3Grant(
                    sid=str(statement["Sid"]),
                    action=str(action),
                    resources=tuple(_resolve(resource, variables) for resource in resources),
                    resource_account=account,
                )
                for action in s3_actions
            )
    return grants


def needed(request: RecordedRequest) -> tuple[str, str]:
    """The IAM action and resource ARN one recorded S3 request is authorized against."""
    if request.operation not in ACTION_OF_OPERATION:
        raise AssertionError(f"no IAM action known for s3:{request.operation}: add it to ACTION_OF_OPERATION")
    action, on_object = ACTION_OF_OPERATION[request.operation]
    bucket = request.params["Bucket"]
    return action, f"arn:aws:s3:::{bucket}/{request.params['Key']}" if on_object else f"arn:aws:s3:::{bucket}"


def grants_for(
    requests: Iterable[RecordedRequest], grants: list[S3Grant], *, account_id: str
) -> dict[str, list[str]]:
    """For each recorded S3 request ("GetObject s3://bucket/key"), the grants that allow it (every bucket
    of the emulator is in `account_id`)."""
    allowed: dict[str, list[str]] = {}
    for request in requests:
        action, resource = needed(request)
        label = f"{request.operation} {resource.removeprefix('arn:aws:s3:::')}"
        allowed[label] = [grant.name for grant in grants if grant.allows(action, resource, account_id)]
    return allowed


def enable_data_capture(aws: EmulatedAws, endpoint: str, bucket: str, *, records: list[str]) -> None:
    """`endpoint` captures its input to s3://bucket/datacapture, where one hourly file holds `records`
    (one JSON line each, as SageMaker writes them). moto has no UpdateEndpoint: the capture settings are
    set on the endpoint and its config as CreateEndpointConfig's DataCaptureConfig would have."""
    from moto.backends import get_backend

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key=f"datacapture/{endpoint}/AllTraffic/2026/12/01/10/capture-0001.jsonl",
        Body="\n".join(records).encode(),
    )
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": f"s3://{bucket}/datacapture",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    backend = get_backend("sagemaker")[aws.account_id][aws.region]
    described = backend.endpoints[endpoint]
    described.data_capture_config = capture
    backend.endpoint_configs[described.endpoint_config_name].data_capture_config = capture


def captured_record(csv_line: str) -> str:
    """One Data Capture record of a CSV request."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": csv_line,
                    "encoding": "CSV",
                }
            },
            "eventMetadata": {"eventId": "e2e", "inferenceTime": "2026-12-01T10:00:00Z"},
            "eventVersion": "0",
        }
    )
