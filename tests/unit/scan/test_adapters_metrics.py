"""CloudWatch GetMetricData at the wire: the exact queries (botocore Stubber: any other call, or other
parameters, fails the test), at most 500 a call, every NextToken page read (the emulated AWS never pages:
this is where paging is proven), and what an incomplete or refused answer becomes.

GetMetricData (botocore 1.43.127 cloudwatch/2010-08-01, read 2026-11-30): "as many as 500
MetricDataQuery structures" a call; more data continues with NextToken; each result has a StatusCode
(Complete, InternalError, PartialData, Forbidden)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from endpoint_optimizer.models import Endpoint, InferenceComponent, Variant
from endpoint_optimizer.scan.calls import CallCounter
from endpoint_optimizer.scan.metrics import invocations_since, read_metrics

START = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SAGEMAKER = "AWS/SageMaker"
UTILISATION = "/aws/sagemaker/Endpoints"


@pytest.fixture
def cloudwatch() -> Iterator[Stubber]:
    with Stubber(boto3.client("cloudwatch", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def sent_queries(stub: Stubber) -> list[list[dict[str, Any]]]:
    """The MetricDataQueries of every GetMetricData the client is asked to send, in order."""
    sent: list[list[dict[str, Any]]] = []
    stub.client.meta.events.register(
        "before-parameter-build.monitoring.GetMetricData",
        lambda params, **_: sent.append(list(params["MetricDataQueries"])),
    )
    return sent


def endpoint(name: str, *variants: Variant, components: tuple[str, ...] = ()) -> Endpoint:
    return Endpoint(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        account_id="123456789012",
        region="us-east-1",
        status="InService",
        created_at=START,
        last_modified_at=START,
        config_name=f"{name}-config",
        variants=list(variants),
        inference_components=[
            InferenceComponent(name=component, status="InService", created_at=START, last_modified_at=START)
            for component in components
        ],
    )


def on(instance_type: str, name: str = "AllTraffic") -> Variant:
    return Variant(name=name, instance_type=instance_type, instance_count=1)


def query(query_id: str, signal: tuple[str, str, str, int], dimensions: dict[str, str]) -> dict[str, Any]:
    """One MetricDataQuery of `signal` (namespace, metric, statistic, period in seconds)."""
    namespace, metric, stat, period = signal
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def result(query_id: str, hours: list[int], values: list[float], status: str = "Complete") -> dict[str, Any]:
    return {
        "Id": query_id,
        "Timestamps": [START + timedelta(hours=hour) for hour in hours],
        "Values": values,
        "StatusCode": status,
    }


def request(queries: Any, *, start: Any = START, end: Any = END, token: str | None = None) -> dict[str, Any]:
    params = {
        "MetricDataQueries": queries,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    return params | ({"NextToken": token} if token else {})


# ---- the scan's read ---------------------------------------------------------------------------------
def test_a_variant_is_asked_by_endpoint_and_variant_name_hourly_invocations_and_daily_utilisation(
    cloudwatch: Stubber,
) -> None:
    """GIVEN one CPU endpoint WHEN its metrics are read THEN one GetMetricData whose every query carries
    EndpointName AND VariantName: invocations an hourly Sum, latency, errors and utilisation daily."""
    variant = {"EndpointName": "fraud", "VariantName": "blue"}
    day, hour = 86400, 3600
    expected = [
        query("q0", (SAGEMAKER, "Invocations", "Sum", hour), variant),
        query("q1", (SAGEMAKER, "ModelLatency", "Average", day), variant),
        query("q2", (SAGEMAKER, "Invocation5XXErrors", "Sum", day), variant),
        query("q3", (UTILISATION, "CPUUtilization", "Maximum", day), variant),
        query("q4", (UTILISATION, "CPUUtilization", "Average", day), variant),
        query("q5", (UTILISATION, "MemoryUtilization", "Maximum", day), variant),
    ]
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("q0", [1, 30], [4.0, 6.0]), result("q3", [0], [37.0])]},
        request(expected),
    )
    metrics, skipped, failed = read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        [endpoint("fraud", on("ml.m5.large", "blue"))],
        start=START,
        end=END,
        max_workers=1,
    )
    (blue,) = metrics["fraud"]
    assert (blue.variant_name, blue.invocations_total, blue.invocations_by_hour) == (
        "blue",
        10.0,
        [(1, 4.0), (30, 6.0)],
    )
    assert (blue.cpu_max_percent, blue.memory_max_percent) == (37.0, None)  # no datapoint is not zero
    assert (skipped, failed) == (set(), set())


def test_a_gpu_variant_and_an_inference_component_add_their_own_queries(cloudwatch: Stubber) -> None:
    """GIVEN a GPU variant hosting an inference component WHEN metrics are read THEN GPU utilisation is asked
    for the variant, and the component is asked by InferenceComponentName alone (traffic, latency, errors)."""
    sent = sent_queries(cloudwatch)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": []}, request(ANY))
    read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        [endpoint("llm", on("ml.g5.2xlarge"), components=("ic-1",))],
        start=START,
        end=END,
        max_workers=1,
    )
    asked = [
        (
            q["MetricStat"]["Metric"]["MetricName"],
            [d["Name"] for d in q["MetricStat"]["Metric"]["Dimensions"]],
        )
        for q in sent[0]
    ]
    assert ("GPUUtilization", ["EndpointName", "VariantName"]) in asked
    assert ("GPUMemoryUtilization", ["EndpointName", "VariantName"]) in asked
    component = [metric for metric, dimensions in asked if dimensions == ["InferenceComponentName"]]
    assert component == ["Invocations", "ModelLatency", "Invocation5XXErrors"]
    assert len(asked) == 8 + 3


def test_queries_are_sent_at_most_500_a_call(cloudwatch: Stubber) -> None:
    """GIVEN 84 CPU endpoints (6 queries each: 504) WHEN their metrics are read THEN two GetMetricData calls,
    of 500 and 4 queries, with no query asked twice and none left out, each call counted."""
    endpoints = [endpoint(f"ep-{index:02d}", on("ml.m5.large")) for index in range(84)]
    sent = sent_queries(cloudwatch)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": []}, request(ANY))
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": []}, request(ANY))
    count = CallCounter()
    read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        endpoints,
        start=START,
        end=END,
        max_workers=1,
        count_call=count,
    )
    assert [len(batch) for batch in sent] == [500, 4]
    ids = [q["Id"] for batch in sent for q in batch]
    assert len(set(ids)) == len(ids) == 504
    assert count.counts == {"cloudwatch:GetMetricData": 2}


def test_every_next_token_page_is_read_and_a_partial_page_is_completed_by_the_next(
    cloudwatch: Stubber,
) -> None:
    """GIVEN a first page marked PartialData with a NextToken and the rest on a second page WHEN the metrics
    are read THEN the second call repeats the request with the token, the datapoints of both pages add up,
    the endpoint is not failed (the last page says Complete) and both calls are counted."""
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("q0", [0, 1], [1.0, 2.0], "PartialData")], "NextToken": "page-2"},
        request(ANY),
    )
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("q0", [2], [3.0])]},
        request(ANY, token="page-2"),
    )
    count = CallCounter()
    metrics, _, failed = read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        [endpoint("fraud", on("ml.c5.large"))],
        start=START,
        end=END,
        max_workers=1,
        count_call=count,
    )
    assert metrics["fraud"][0].invocations_total == 6.0
    assert metrics["fraud"][0].hours_with_invocations == 3
    assert failed == set()
    assert count.counts == {"cloudwatch:GetMetricData": 2}


@pytest.mark.parametrize("status", ["Forbidden", "InternalError", "PartialData"])
def test_a_query_that_ends_incomplete_leaves_its_endpoint_without_signal_never_with_zero(
    cloudwatch: Stubber, status: str
) -> None:
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("q0", [], [], status), result("q6", [3], [2.0])]},
        request(ANY),
    )
    metrics, skipped, failed = read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        [endpoint("denied", on("ml.m5.large")), endpoint("fine", on("ml.m5.large"))],
        start=START,
        end=END,
        max_workers=1,
    )
    assert (metrics["denied"], failed, skipped) == ([], {"denied"}, set())
    assert metrics["fine"][0].invocations_total == 2.0


def test_past_the_deadline_no_call_is_made_and_the_endpoints_are_skipped(cloudwatch: Stubber) -> None:
    metrics, skipped, _ = read_metrics(
        cloudwatch.client,  # type: ignore[arg-type]
        [endpoint("late", on("ml.m5.large"))],
        start=START,
        end=END,
        out_of_time=lambda: True,
    )
    assert (metrics, skipped) == ({"late": []}, {"late"})


def test_a_refused_get_metric_data_reaches_the_regions_scan(cloudwatch: Stubber) -> None:
    cloudwatch.add_client_error("get_metric_data", "AccessDenied", "not allowed", 403)
    with pytest.raises(ClientError, match="AccessDenied"):
        read_metrics(
            cloudwatch.client,  # type: ignore[arg-type]
            [endpoint("fraud", on("ml.m5.large"))],
            start=START,
            end=END,
            max_workers=1,
        )


# ---- the re-check's read ----------------------------------------------------------------------------
RECHECK_START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the scan's metrics window ended here


def test_traffic_since_the_scan_is_asked_by_the_minute_to_the_end_of_the_current_minute(
    cloudwatch: Stubber,
) -> None:
    """GIVEN a re-check at 12:47:30, under 15 days after the scan WHEN traffic since is read THEN one query per
    variant (endpoint and variant name) and per component (its name), one-minute Sums, from the scan's end
    to 12:48:00 (the unfinished minute counts); the values of every query and every page add up."""
    invocations = (SAGEMAKER, "Invocations", "Sum", 60)
    expected = [
        query("v0", invocations, {"EndpointName": "fraud", "VariantName": "blue"}),
        query("v1", invocations, {"EndpointName": "fraud", "VariantName": "green"}),
        query("c0", invocations, {"InferenceComponentName": "ic-1"}),
    ]
    end = datetime(2026, 11, 30, 12, 48, tzinfo=UTC)
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("v0", [0], [1.0], "PartialData")], "NextToken": "page-2"},
        request(expected, start=RECHECK_START, end=end),
    )
    cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                result("v0", [0], [2.0]),
                result("v1", [], []),
                result("c0", [0], [4.0]),
            ]
        },
        request(expected, start=RECHECK_START, end=end, token="page-2"),
    )
    total = invocations_since(
        cloudwatch.client,  # type: ignore[arg-type]
        "fraud",
        variants=["blue", "green"],
        inference_components=["ic-1"],
        start=RECHECK_START,
        end=datetime(2026, 11, 30, 12, 47, 30, tzinfo=UTC),
    )
    assert total == 7.0


def test_traffic_since_a_scan_older_than_15_days_is_asked_by_the_hour(cloudwatch: Stubber) -> None:
    """GIVEN a re-check 16 days after the scan (one-minute data is kept 15 days) THEN hourly Sums to the end
    of the current hour."""
    now = RECHECK_START + timedelta(days=16, minutes=5)
    expected = [
        query("v0", (SAGEMAKER, "Invocations", "Sum", 3600), {"EndpointName": "fraud", "VariantName": "blue"})
    ]
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("v0", [], [])]},
        request(expected, start=RECHECK_START, end=RECHECK_START + timedelta(days=16, hours=1)),
    )
    total = invocations_since(
        cloudwatch.client,  # type: ignore[arg-type]
        "fraud",
        variants=["blue"],
        start=RECHECK_START,
        end=now,
    )
    assert total == 0.0


@pytest.mark.parametrize(
    "results",
    [
        [result("v0", [], [], "Forbidden")],
        [result("v0", [0], [3.0], "PartialData")],
        [],  # no answer for the query at all
    ],
)
def test_traffic_since_that_cloudwatch_did_not_answer_completely_is_unknown_never_zero(
    cloudwatch: Stubber, results: list[dict[str, Any]]
) -> None:
    cloudwatch.add_response(
        "get_metric_data", {"MetricDataResults": results}, request(ANY, start=RECHECK_START, end=ANY)
    )
    total = invocations_since(
        cloudwatch.client,  # type: ignore[arg-type]
        "fraud",
        variants=["blue"],
        start=RECHECK_START,
        end=RECHECK_START + timedelta(minutes=5),
    )
    assert total is None


def test_traffic_since_needs_no_call_for_an_empty_window_and_is_unknown_with_nothing_to_ask(
    cloudwatch: Stubber,
) -> None:
    """The Stubber has no answer: any call would fail."""
    client: Any = cloudwatch.client
    assert (
        invocations_since(client, "fraud", variants=["blue"], start=RECHECK_START, end=RECHECK_START) == 0.0
    )
    later = RECHECK_START + timedelta(minutes=5)
    assert invocations_since(client, "fraud", variants=[], start=RECHECK_START, end=later) is None
