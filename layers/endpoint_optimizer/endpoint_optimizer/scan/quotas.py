"""The account's Serverless Inference quotas in the scanned region: two GetServiceQuota calls a region, by
quota code (models/scan.py), so the serverless rung can refuse a move the quota would refuse at apply.

A quota the scan cannot read never fails the scan: AccessDenied (a member role deployed before it granted
servicequotas:GetServiceQuota), NoSuchResource (Service Quotas has no applied value for it, or does not
know the quota in the region; the emulated AWS answers so for every SageMaker code), throttling after
botocore's retries, or any other error: the AWS default value is assumed, with a note that says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.models import (
    DEFAULT_SERVERLESS_CONCURRENCY_QUOTA,
    DEFAULT_SERVERLESS_ENDPOINTS_QUOTA,
    SERVERLESS_CONCURRENCY_QUOTA_CODE,
    SERVERLESS_ENDPOINTS_QUOTA_CODE,
    SERVICE_QUOTAS_SAGEMAKER,
    Quota,
    ServerlessQuotas,
)

CountCall = Callable[[str], None]
GET_SERVICE_QUOTA = "servicequotas:GetServiceQuota"  # the scan's cost report and the IAM action alike


def read_quota(service_quotas: Any, code: str, default: int, count: CountCall) -> Quota:
    """The applied value of SageMaker quota `code`, or `default` with the reason it was not read."""
    count(GET_SERVICE_QUOTA)
    try:
        answer = service_quotas.get_service_quota(ServiceCode=SERVICE_QUOTAS_SAGEMAKER, QuotaCode=code)
    except ClientError as error:
        reason = str(error.response.get("Error", {}).get("Code") or "ClientError")
        return Quota(code=code, value=default, source="default", note=reason)
    except BotoCoreError as error:  # e.g. no Service Quotas endpoint reachable in the region
        return Quota(code=code, value=default, source="default", note=type(error).__name__)
    value = (answer.get("Quota") or {}).get("Value")
    if not isinstance(value, int | float):
        return Quota(code=code, value=default, source="default", note="no value in the answer")
    return Quota(code=code, value=int(value))


def read_serverless_quotas(service_quotas: Any, count: CountCall) -> ServerlessQuotas:
    """Serverless endpoints per region and their total concurrency per region, as the account has them."""
    return ServerlessQuotas(
        endpoints=read_quota(
            service_quotas, SERVERLESS_ENDPOINTS_QUOTA_CODE, DEFAULT_SERVERLESS_ENDPOINTS_QUOTA, count
        ),
        concurrency=read_quota(
            service_quotas, SERVERLESS_CONCURRENCY_QUOTA_CODE, DEFAULT_SERVERLESS_CONCURRENCY_QUOTA, count
        ),
    )
