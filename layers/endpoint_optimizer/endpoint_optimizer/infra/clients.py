"""The one botocore configuration every client uses, and the client factory.

Adaptive retry mode adds client-side rate limiting on top of exponential back-off, so a throttled
API (SageMaker, CloudWatch) slows the scan down instead of failing it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.models import ScanFailure, Target

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient

# The Price List Query API answers only in us-east-1 and ap-south-1 ("AWS Price List Service API provides
# the following two endpoints: https://api.pricing.us-east-1.amazonaws.com,
# https://api.pricing.ap-south-1.amazonaws.com", service documentation of the `pricing` model, as quoted
# by docs.rs/aws-sdk-pricing; read 2026-11-30). It serves the prices of every region from there: build the
# client with region_name=PRICE_LIST_API_REGION whatever region is scanned.
PRICE_LIST_API_REGION = "us-east-1"

BOTO_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="sagemaker-endpoint-optimizer/0.1",
)


# Prices are optional (a bundled table backs them up): fail over fast instead of retrying for long.
PRICING_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=15,
    user_agent_extra="sagemaker-endpoint-optimizer/0.1",
)


# Slack waits 3 seconds for the answer to an interaction ("Handling user interaction", Slack API docs,
# docs.slack.dev/interactivity/handling-user-interaction, read 2026-12-01): the click's Step Functions call
# gives up in time (connect 1 s, read 2 s, 2 attempts in all) and the approver is asked to click again.
SLACK_ANSWER_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=1,
    read_timeout=2,
    user_agent_extra="sagemaker-endpoint-optimizer/0.1",
)


def slack_answer_stepfunctions_client(session: boto3.Session | None = None) -> SFNClient:
    """The Step Functions client of the Slack interactions handler, bounded by Slack's 3-second limit."""
    client: SFNClient = (session or boto3.Session()).client("stepfunctions", config=SLACK_ANSWER_CONFIG)
    return client


def pricing_client(session: boto3.Session | None = None) -> Any:
    """A Price List API client (always in PRICE_LIST_API_REGION, whatever region is scanned)."""
    return (session or boto3.Session()).client(
        "pricing", region_name=PRICE_LIST_API_REGION, config=PRICING_CONFIG
    )


class Clients:
    """Typed clients from one session; handlers build it once per cold start and pass it down."""

    def __init__(self, session: boto3.Session | None = None, region: str | None = None) -> None:
        self._session = session or boto3.Session()
        self._region = region
        self._cache: dict[str, Any] = {}

    @property
    def region(self) -> str:
        return self._region or self._session.region_name or ""

    def _client(self, service: str) -> Any:
        if service not in self._cache:
            self._cache[service] = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=self._region,
                config=BOTO_CONFIG,
            )
        return self._cache[service]

    @property
    def sagemaker(self) -> SageMakerClient:
        return self._client("sagemaker")  # type: ignore[no-any-return]

    @property
    def cloudwatch(self) -> CloudWatchClient:
        return self._client("cloudwatch")  # type: ignore[no-any-return]

    @property
    def autoscaling(self) -> ApplicationAutoScalingClient:
        return self._client("application-autoscaling")  # type: ignore[no-any-return]

    @property
    def service_quotas(self) -> Any:
        """Service Quotas (the serverless endpoint quotas a move to Serverless Inference must fit)."""
        return self._client("service-quotas")

    @property
    def sagemaker_runtime(self) -> Any:
        """The runtime API (a test invocation with the owner's sample payload after a move)."""
        return self._client("sagemaker-runtime")

    @property
    def tagging(self) -> ResourceGroupsTaggingAPIClient:
        return self._client("resourcegroupstaggingapi")  # type: ignore[no-any-return]

    @property
    def dynamodb(self) -> DynamoDBClient:
        return self._client("dynamodb")  # type: ignore[no-any-return]

    @property
    def sns(self) -> SNSClient:
        return self._client("sns")  # type: ignore[no-any-return]

    @property
    def stepfunctions(self) -> SFNClient:
        return self._client("stepfunctions")  # type: ignore[no-any-return]

    @property
    def sts(self) -> STSClient:
        return self._client("sts")  # type: ignore[no-any-return]

    @property
    def s3(self) -> S3Client:
        return self._client("s3")  # type: ignore[no-any-return]

    @property
    def ecr(self) -> ECRClient:
        return self._client("ecr")  # type: ignore[no-any-return]

    @property
    def scheduler(self) -> Any:
        """EventBridge Scheduler (the night-parking schedules, act/schedule.py)."""
        return self._client("scheduler")


# AssumeRole DurationSeconds is 900 to 43,200 (botocore sts roleDurationSecondsType, read 2026-11-30): the
# shortest, since one target's scan ends within its Lambda's 300-second timeout.
ASSUMED_ROLE_SECONDS = 900
# RoleSessionName: "[\w+=,.@-]*", 2 to 64 characters (botocore sts roleSessionNameType, read 2026-11-30).
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")


def role_session_name(execution_id: str) -> str:
    """`endpoint-optimizer-<execution name>`: shows in the member account's CloudTrail which run read it."""
    name = execution_id.rsplit(":", 1)[-1]
    return _SESSION_NAME_UNSAFE.sub("-", f"endpoint-optimizer-{name}")[:64]


def clients_for_target(target: Target, sts: STSClient, *, session_name: str) -> Clients:
    """Clients that read `target`: this function's own credentials in its own account (any region), the
    member role assumed with the external id in any other account."""
    if target.role_arn is None:
        return Clients(boto3.Session(region_name=target.region), region=target.region)
    request: dict[str, Any] = {
        "RoleArn": target.role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": ASSUMED_ROLE_SECONDS,
    }
    if target.external_id:
        request["ExternalId"] = target.external_id
    credentials = sts.assume_role(**request)["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )
    return Clients(session, region=target.region)


FAILURE_MESSAGE_CHARS = 300  # enough to say why; small, since every failure travels in the workflow state


def scan_failure(target: Target, error: BotoCoreError | ClientError) -> ScanFailure:
    """What the report says about a target AWS refused or failed to serve."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = str(details.get("Code") or "ClientError"), str(details.get("Message") or "")
    else:
        code, message = type(error).__name__, str(error)
    return ScanFailure(
        account_id=target.account_id,
        region=target.region,
        error=code,
        message=message[:FAILURE_MESSAGE_CHARS],
    )
