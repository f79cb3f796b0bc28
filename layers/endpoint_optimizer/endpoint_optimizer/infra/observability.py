"""Logger, Tracer and Metrics, defined once (service name and namespace come from the environment)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def account_id_of(function_arn: str) -> str:
    """arn:aws:lambda:<region>:<account>:function:<name> -> <account>."""
    return function_arn.split(":")[4]
