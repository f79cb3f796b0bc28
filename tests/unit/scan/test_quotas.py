"""The serverless quotas at the wire: GetServiceQuota by quota code, once each (botocore Stubber: any other
call or parameter fails the test), each counted as one call, and every refusal turned into AWS's default
value with the error code as the note -- a quota the scan cannot read never fails the scan."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.models import Quota, ServerlessQuotas
from endpoint_optimizer.scan.calls import CallCounter
from endpoint_optimizer.scan.quotas import read_serverless_quotas

ENDPOINTS, CONCURRENCY = "L-99AD19BF", "L-96300102"


@pytest.fixture
def service_quotas() -> Iterator[Stubber]:
    with Stubber(boto3.client("service-quotas", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def asked(code: str) -> dict[str, str]:
    return {"ServiceCode": "sagemaker", "QuotaCode": code}


def test_the_applied_values_are_read_by_quota_code_one_call_each(service_quotas: Stubber) -> None:
    # GIVEN an account with 20 serverless endpoints and a total concurrency of 400 applied
    for code, value in ((ENDPOINTS, 20.0), (CONCURRENCY, 400.0)):
        service_quotas.add_response(
            "get_service_quota", {"Quota": {"QuotaCode": code, "Value": value}}, asked(code)
        )
    count = CallCounter()

    # WHEN the quotas are read
    read = read_serverless_quotas(service_quotas.client, count)

    # THEN both are the account's values, read in two calls
    assert read == ServerlessQuotas(
        endpoints=Quota(code=ENDPOINTS, value=20), concurrency=Quota(code=CONCURRENCY, value=400)
    )
    assert count.counts == {"servicequotas:GetServiceQuota": 2}


@pytest.mark.parametrize(
    "error", ["AccessDeniedException", "NoSuchResourceException", "TooManyRequestsException"]
)
def test_a_refused_read_assumes_the_aws_default_and_says_why(service_quotas: Stubber, error: str) -> None:
    # GIVEN Service Quotas refusing the endpoints quota (no grant, no applied value, throttled after
    # botocore's retries) and answering the concurrency quota
    service_quotas.add_client_error("get_service_quota", error, expected_params=asked(ENDPOINTS))
    service_quotas.add_response(
        "get_service_quota", {"Quota": {"QuotaCode": CONCURRENCY, "Value": 200.0}}, asked(CONCURRENCY)
    )

    # WHEN the quotas are read
    read = read_serverless_quotas(service_quotas.client, CallCounter())

    # THEN the refused one is AWS's default (5 serverless endpoints), noted with the error; the other is read
    assert read.endpoints == Quota(code=ENDPOINTS, value=5, source="default", note=error)
    assert read.concurrency == Quota(code=CONCURRENCY, value=200)
