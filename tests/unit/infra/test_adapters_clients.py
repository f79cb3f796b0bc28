"""Every AWS client is built from one botocore configuration: adaptive retries (client-side rate limiting on
top of back-off, so a throttled API slows the scan instead of failing it), bounded timeouts and the
product's user agent; the Price List and Slack-answer clients have their own, shorter ones.

botocore (1.43.127, `botocore/config.py`, read 2026-12-01): `max_attempts` counts retries, so
`{"max_attempts": 10}` is 11 attempts in all (`meta.config.retries` then shows `total_max_attempts`); the
retry mode "adaptive" is what installs the client-side rate limiter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError

from endpoint_optimizer.infra.clients import (
    PRICE_LIST_API_REGION,
    Clients,
    pricing_client,
    slack_answer_stepfunctions_client,
)

USER_AGENT = "sagemaker-endpoint-optimizer/0.1"
SERVICES = (
    "sagemaker",
    "cloudwatch",
    "autoscaling",
    "tagging",
    "dynamodb",
    "sns",
    "stepfunctions",
    "sts",
    "s3",
    "ecr",
)


@pytest.fixture
def session() -> boto3.Session:
    # Fake credentials: nothing below reaches AWS.
    return boto3.Session(
        region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def config_of(client: BaseClient) -> tuple[Any, ...]:
    config: Any = client.meta.config  # botocore's Config sets its options at run time
    return config.retries, config.connect_timeout, config.read_timeout, config.user_agent_extra


@pytest.mark.parametrize("service", SERVICES)
def test_every_client_retries_adaptively_11_attempts_with_bounded_timeouts(
    session: boto3.Session, service: str
) -> None:
    """GIVEN the clients of one session WHEN any one is built THEN adaptive retries of 11 attempts in all,
    5 s to connect, 30 s to read, and the product's user agent."""
    client = getattr(Clients(session), service)
    assert config_of(client) == ({"mode": "adaptive", "total_max_attempts": 11}, 5, 30, USER_AGENT)


def test_each_service_has_one_client_in_the_region_asked_for(session: boto3.Session) -> None:
    clients = Clients(session, region="ap-northeast-1")
    assert clients.sagemaker is clients.sagemaker
    assert clients.sagemaker.meta.region_name == "ap-northeast-1"
    assert Clients(session).cloudwatch.meta.region_name == "eu-west-1"  # no region: the session's


class _Body:
    """The raw body of a canned HTTP answer (what botocore reads with `stream()`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def test_a_call_that_keeps_failing_is_tried_11_times_backing_off_between_attempts(
    session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN SageMaker answering every ListEndpoints with HTTP 500 (a retryable server error) WHEN it is
    called THEN botocore sends it 11 times, pausing before each retry, then raises. (The pauses are
    recorded, not slept; a Stubber cannot show this: its answers skip the retry loop.)"""
    sagemaker = Clients(session).sagemaker
    sent: list[str] = []

    def server_error(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        body = b'{"__type": "InternalFailure", "message": "try again"}'
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(request.url, 500, headers, _Body(body))

    # A before-send handler that returns a response stands in for the HTTP call (botocore endpoint.py).
    sagemaker.meta.events.register("before-send.sagemaker.ListEndpoints", server_error)  # type: ignore[arg-type]
    pauses: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", pauses.append)
    with pytest.raises(ClientError, match="InternalFailure"):
        sagemaker.list_endpoints()
    assert len(sent) == 11
    assert len(pauses) == 10 and all(pause >= 0 for pause in pauses)


def test_the_price_list_client_is_in_its_api_region_and_gives_up_sooner(session: boto3.Session) -> None:
    """GIVEN a session in eu-west-1 WHEN the Price List client is built THEN it is in us-east-1 (the API's
    endpoint region) and retries 4 attempts in all with a 15 s read: a bundled table backs prices up."""
    client = pricing_client(session)
    assert client.meta.region_name == PRICE_LIST_API_REGION == "us-east-1"
    assert config_of(client) == ({"mode": "standard", "total_max_attempts": 4}, 5, 15, USER_AGENT)


def test_the_slack_answer_client_fits_slacks_three_seconds(session: boto3.Session) -> None:
    """2 attempts of at most 1 s to connect and 2 s to read: the click is answered in time, or asked again."""
    client = slack_answer_stepfunctions_client(session)
    assert config_of(client) == ({"mode": "standard", "total_max_attempts": 2}, 1, 2, USER_AGENT)
