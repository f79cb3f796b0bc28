"""The baseline at the wire: the two GetMetricData requests read_baseline sends (p99 ModelLatency over
the look-back, Invocations per minute over at most 14 days), NextToken followed, microseconds turned
into milliseconds, and no datapoints kept apart from zero."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.confirm.observed import read_baseline, read_variant_baseline
from endpoint_optimizer.models import Baseline, Endpoint, Variant, VariantFacts
from tests.conftest import NOW

DIMENSIONS = [{"Name": "EndpointName", "Value": "shop-ranker"}, {"Name": "VariantName", "Value": "blue"}]


def query(
    query_id: str, metric: str, stat: str, *, period: int, start_days: int, token: str | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "MetricDataQueries": [
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": DIMENSIONS},
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
        ],
        "StartTime": NOW - timedelta(days=start_days),
        "EndTime": NOW,
        "ScanBy": "TimestampAscending",
        "MaxDatapoints": 100_800,
    }
    if token:
        params["NextToken"] = token
    return params


def results(query_id: str, values: list[float], token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "MetricDataResults": [
            {"Id": query_id, "Values": values, "Timestamps": [NOW] * len(values), "StatusCode": "Complete"}
        ]
    }
    if token:
        answer["NextToken"] = token
    return answer


@pytest.fixture
def stub() -> Iterator[Stubber]:
    with Stubber(boto3.client("cloudwatch", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_the_baseline_is_the_p99_in_ms_and_the_busiest_minute_of_the_instance_variant(stub: Stubber) -> None:
    """GIVEN a finding's variant 'blue' that runs 2 x ml.c5.2xlarge
    WHEN its baseline is read over 30 days
    THEN p99 ModelLatency is asked for over the 30 days in one period and 41,250 us becomes 41.25 ms;
    Invocations Sum per minute is asked for over 14 days (1-minute data is kept 15), its second page
    followed, and the busiest minute is the peak."""
    stub.add_response(
        "get_metric_data",
        results("latency_p99", [41_250.0]),
        query("latency_p99", "ModelLatency", "p99", period=30 * 86_400, start_days=30),
    )
    stub.add_response(
        "get_metric_data",
        results("invocations_per_minute", [10.0, 95.0], token="page-2"),
        query("invocations_per_minute", "Invocations", "Sum", period=60, start_days=14),
    )
    stub.add_response(
        "get_metric_data",
        results("invocations_per_minute", [120.0, 3.0]),
        query("invocations_per_minute", "Invocations", "Sum", period=60, start_days=14, token="page-2"),
    )
    variant = VariantFacts(name="blue", instance_type="ml.c5.2xlarge", instance_count=2)
    baseline = read_variant_baseline(stub.client, "shop-ranker", variant, NOW, 30)  # type: ignore[arg-type]
    assert baseline == Baseline(
        instance_type="ml.c5.2xlarge",
        instance_count=2,
        observed_p99_latency_ms=41.25,
        observed_peak_invocations_per_minute=120.0,
    )


def test_no_datapoints_is_unknown_not_zero(stub: Stubber) -> None:
    """GIVEN an endpoint whose serverless variant comes first and whose instance variant 'blue' has no
    ModelLatency and no Invocations in CloudWatch
    WHEN its baseline is read over 7 days THEN 'blue' is read, and both observations are None (never 0
    ms, never 0 a minute)."""
    stub.add_response(
        "get_metric_data",
        results("latency_p99", []),
        query("latency_p99", "ModelLatency", "p99", period=7 * 86_400, start_days=7),
    )
    stub.add_response(
        "get_metric_data",
        results("invocations_per_minute", []),
        query("invocations_per_minute", "Invocations", "Sum", period=60, start_days=7),
    )
    endpoint = Endpoint(
        name="shop-ranker",
        arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/shop-ranker",
        account_id="123456789012",
        region="us-east-1",
        status="InService",
        created_at=NOW - timedelta(days=90),
        last_modified_at=NOW - timedelta(days=30),
        config_name="shop-ranker-config",
        variants=[
            Variant(name="green", serverless_memory_mb=2048),
            Variant(name="blue", instance_type="ml.m5.xlarge", instance_count=1),
        ],
    )
    baseline = read_baseline(stub.client, endpoint, NOW, 7)  # type: ignore[arg-type]
    assert (baseline.observed_p99_latency_ms, baseline.observed_peak_invocations_per_minute) == (None, None)
    assert (baseline.instance_type, baseline.instance_count) == ("ml.m5.xlarge", 1)
