"""The scan benchmark's harness: the latency proxy (forwarding, counting, latency, throttling that botocore
recognises and retries) and the bench's fleet, moto gaps and adapters on small fleets."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import Loader
from botocore.parsers import create_parser
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from emulated_aws import bench
from emulated_aws.fleet import EXECUTION_ROLE_ARN, SKIP_TAG_KEY
from emulated_aws.proxy import (
    Counts,
    LatencyProxy,
    RequestName,
    TokenBucket,
    classify_request,
    throttling_response,
)
from endpoint_optimizer.scan.state import LocalScanState

AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260302/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
)
ADAPTIVE = Config(retries={"mode": "adaptive", "max_attempts": 10})
pytestmark = pytest.mark.harness  # tests of the test harness itself: `pytest -m "not harness"` skips them


SEEDED = 500  # endpoints seeded in the module's emulator (over 100 scalable targets among them)


@pytest.fixture(scope="module")
def remote() -> Iterator[bench.RemoteAws]:
    """The bench's emulator process (moto + a transparent proxy, seeded with the bench fleet).

    Out of this process on purpose: an in-process EmulatedAws would share moto's global patches with
    the session fixture's."""
    with bench.RemoteAws(latency_s=0) as running:
        running.seed(SEEDED, "test", bench.HOUR_S)
        yield running


@pytest.fixture
def proxy(remote: bench.RemoteAws) -> Iterator[LatencyProxy]:
    with LatencyProxy(remote.url, latency_s=0) as running:
        yield running


def direct(remote: bench.RemoteAws, service: str) -> Any:
    """A client of the emulator that bypasses the proxy under test."""
    session = bench.emulator_session(remote.region)
    return session.client(service, endpoint_url=remote.url)  # type: ignore[call-overload]


def client(proxy: LatencyProxy, service: str, config: Config | None = None) -> Any:
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name="us-east-1",
    )
    return session.client(service, endpoint_url=proxy.url, config=config)  # type: ignore[call-overload]


def _legacy_throttling_codes() -> set[str]:
    """The error codes botocore's legacy retry handler (_retry.json) treats as throttling."""
    retry = Loader().load_data("_retry")
    return {
        policy["applies_when"]["response"]["service_error_code"]
        for name, policy in retry["definitions"].items()
        if "throttl" in name and "service_error_code" in policy.get("applies_when", {}).get("response", {})
    }


# ---------------------------------------------------------------------------------------------------
# naming requests and answering in the service's dialect
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "path", "body", "expected"),
    [
        (
            {"X-Amz-Target": "SageMaker.DescribeEndpoint", "Authorization": AUTH.format("sagemaker")},
            "/",
            b"{}",
            RequestName("sagemaker", "DescribeEndpoint", "json"),
        ),
        (  # what botocore 1.43 sends for CloudWatch: JSON 1.0 with the query-compatible header
            {
                "X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData",
                "x-amzn-query-mode": "true",
                "Authorization": AUTH.format("monitoring"),
            },
            "/",
            b"{}",
            RequestName("cloudwatch", "GetMetricData", "json", query_compatible=True),
        ),
        (  # smithy RPC v2 CBOR: the operation is in the path
            {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"},
            "/service/GraniteServiceVersion20100801/operation/GetMetricData",
            b"\xa0",
            RequestName("cloudwatch", "GetMetricData", "rpc-v2-cbor"),
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded", "Authorization": AUTH.format("sts")},
            "/",
            b"Action=GetCallerIdentity&Version=2011-06-15",
            RequestName("sts", "GetCallerIdentity", "query"),
        ),
        (
            {"X-Amz-Target": "ResourceGroupsTaggingAPI_20170126.GetResources"},
            "/",
            b"{}",
            RequestName("tagging", "GetResources", "json"),
        ),
        (
            {"Authorization": AUTH.format("lambda")},
            "/2015-03-31/functions/scan/invocations",
            b"{}",
            RequestName("lambda", "POST /2015-03-31/functions/scan/invocations", "rest"),
        ),
    ],
)
def test_requests_are_named_by_service_and_operation(
    headers: dict[str, str], path: str, body: bytes, expected: RequestName
) -> None:
    assert classify_request("POST", path, headers, body) == expected


@pytest.mark.parametrize(
    ("name", "protocol", "expected_code"),
    [
        (RequestName("sagemaker", "DescribeEndpoint", "json"), "json", "ThrottlingException"),
        (RequestName("cloudwatch", "GetMetricData", "json", True), "json", "Throttling"),
        (RequestName("cloudwatch", "GetMetricData", "rpc-v2-cbor", True), "smithy-rpc-v2-cbor", "Throttling"),
        (
            RequestName("cloudwatch", "GetMetricData", "rpc-v2-cbor"),
            "smithy-rpc-v2-cbor",
            "ThrottlingException",
        ),
        (RequestName("sts", "GetCallerIdentity", "query"), "query", "Throttling"),
        (RequestName("lambda", "POST /x", "rest"), "rest-json", "ThrottlingException"),
    ],
)
def test_the_throttling_error_parses_as_a_throttling_code_botocore_retries(
    name: RequestName, protocol: str, expected_code: str
) -> None:
    status, headers, body = throttling_response(name)
    response = {"status_code": status, "headers": {k.lower(): v for k, v in headers}, "body": body}
    service, operation = {
        "sagemaker": ("sagemaker", "DescribeEndpoint"),
        "cloudwatch": ("cloudwatch", "GetMetricData"),
        "sts": ("sts", "GetCallerIdentity"),
        "lambda": ("lambda", "Invoke"),
    }[name.service]
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    assert model.output_shape is not None
    parsed = create_parser(protocol).parse(response, model.output_shape)

    assert parsed["Error"]["Code"] == expected_code
    assert parsed["Error"]["Message"] == "Rate exceeded"
    assert ThrottledRetryableChecker().is_retryable(RetryContext(attempt_number=1, parsed_response=parsed))
    assert expected_code in _legacy_throttling_codes()


def test_token_bucket_admits_the_rate_and_refills_with_time() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0])

    assert [bucket.try_take() for _ in range(3)] == [True, True, False]
    now[0] += 0.1  # one token back
    assert [bucket.try_take() for _ in range(2)] == [True, False]
    now[0] += 10.0  # never more than the burst
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]


# ---------------------------------------------------------------------------------------------------
# the proxy on the emulated AWS
# ---------------------------------------------------------------------------------------------------


def test_proxy_forwards_every_request_and_counts_per_operation(
    remote: bench.RemoteAws, proxy: LatencyProxy
) -> None:
    direct(remote, "sagemaker").create_model(
        ModelName="forwarded", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": "i"}
    )
    sagemaker = client(proxy, "sagemaker")
    expected = direct(remote, "sagemaker").describe_model(ModelName="forwarded")
    through = sagemaker.describe_model(ModelName="forwarded")
    sagemaker.list_endpoints()
    sagemaker.list_endpoints()
    client(proxy, "cloudwatch").describe_alarms()
    client(proxy, "sts").get_caller_identity()
    client(proxy, "resourcegroupstaggingapi").get_resources()
    client(proxy, "application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    with pytest.raises(sagemaker.exceptions.ClientError) as missing:  # errors pass through as they are
        sagemaker.describe_endpoint(EndpointName="nope")

    counts = proxy.counts(reset=True)
    assert through["ModelArn"] == expected["ModelArn"]
    assert "Could not find endpoint" in str(missing.value)
    assert counts.by_operation() == {
        "sagemaker:ListEndpoints": 2,
        "application-autoscaling:DescribeScalableTargets": 1,
        "cloudwatch:DescribeAlarms": 1,
        "sagemaker:DescribeEndpoint": 1,
        "sagemaker:DescribeModel": 1,
        "sts:GetCallerIdentity": 1,
        "tagging:GetResources": 1,
    }
    assert counts.total == 8
    assert counts.total_throttled == 0
    assert proxy.counts() == Counts()


def test_proxy_adds_its_latency_to_every_request(remote: bench.RemoteAws) -> None:
    # GIVEN a proxy whose network delay is recorded instead of slept (how long a sleep lasts is the
    # operating system's business; `make bench` measures it)
    slept: list[float] = []
    with LatencyProxy(remote.url, latency_s=0, sleep=slept.append) as proxy:
        sagemaker = client(proxy, "sagemaker")
        sagemaker.list_endpoints()  # at latency 0: no delay at all
        # WHEN the latency is set and requests of two services go through
        proxy.latency_s = 0.05
        for _ in range(10):
            sagemaker.list_endpoints()
        client(proxy, "sts").get_caller_identity()
        counts = proxy.counts()

    # THEN every request after the change was delayed by the latency, once, and the first was not
    assert counts.total == 12
    assert slept == [0.05] * 11


@pytest.mark.parametrize(
    ("service", "operation", "call"),
    [
        ("sagemaker", "ListEndpoints", lambda c: c.list_endpoints()),
        (
            "cloudwatch",
            "DescribeAlarms",
            lambda c: c.describe_alarms(),
        ),  # not ListMetrics: O(datapoints) in moto
        ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity()),
    ],
)
def test_throttled_calls_are_retried_by_botocore_until_they_succeed(
    remote: bench.RemoteAws, service: str, operation: str, call: Callable[[Any], Any]
) -> None:
    # GIVEN a throttle of 16 requests/s (bucket of 1) on a clock that moves 1/32 s per look: half a token
    # per request, so exactly every other request is refused, however fast or slow the machine is
    ticks = itertools.count()
    with LatencyProxy(remote.url, latency_s=0, clock=lambda: next(ticks) / 32) as proxy:
        proxy.throttle(16, service=service, operation=operation, burst=1)
        throttled_client = client(proxy, service, ADAPTIVE)

        # WHEN four calls are made
        answers = [call(throttled_client) for _ in range(4)]
        counts = proxy.counts()

    # THEN the first went through, each of the other three was refused once and retried by botocore
    assert counts.forwarded == {(service, operation): 4}
    assert counts.throttled == {(service, operation): 3}
    assert [answer["ResponseMetadata"]["RetryAttempts"] for answer in answers] == [0, 1, 1, 1]


def test_a_throttle_applies_to_each_operation_separately(remote: bench.RemoteAws) -> None:
    with LatencyProxy(remote.url, latency_s=0, clock=lambda: 0.0) as proxy:  # time stands still
        proxy.throttle(0.1, burst=1)  # every operation: one request, then none until time moves
        sagemaker = client(proxy, "sagemaker", Config(retries={"mode": "standard", "total_max_attempts": 1}))

        sagemaker.list_endpoints()
        sagemaker.list_models()
        with pytest.raises(sagemaker.exceptions.ClientError) as error:
            sagemaker.list_endpoints()

        assert error.value.response["Error"]["Code"] == "ThrottlingException"
        assert proxy.counts().throttled == {("sagemaker", "ListEndpoints"): 1}
        proxy.clear_throttles()
        sagemaker.list_endpoints()


# ---------------------------------------------------------------------------------------------------
# the bench: fleet, moto gaps, adapters
# ---------------------------------------------------------------------------------------------------


def test_the_bench_fleet_is_deterministic_and_mixed() -> None:
    fleet = bench.generate_fleet(400)

    assert fleet == bench.generate_fleet(400)
    kinds = {
        "serverless": sum(any(v.is_serverless for v in e.variants) for e in fleet),
        "multi-variant": sum(len(e.variants) > 1 for e in fleet),
        "autoscaled": sum(bool(e.scalable_variants) for e in fleet),
        "untagged": sum(not e.tags for e in fleet),
        "skip-tagged": sum(SKIP_TAG_KEY in e.tags for e in fleet),
        "shared config": sum(e.shares_config for e in fleet),
        "young": sum(e.created_days_ago < bench.LOOKBACK_DAYS for e in fleet),
        "not in service": sum(e.status != "InService" for e in fleet),
        "idle": sum(e.traffic[0] == "idle" for e in fleet),
        "busy": sum(e.traffic[0] == "busy" for e in fleet),
    }
    assert all(count > 0 for count in kinds.values()), kinds
    assert len({e.name for e in fleet}) == len(fleet)


def test_seeded_fleet_is_read_alike_by_the_scanner_and_the_baseline(
    remote: bench.RemoteAws, proxy: LatencyProxy, tmp_path: Path
) -> None:
    fleet = bench.generate_fleet(SEEDED)  # what the emulator process seeded
    names = [e.name for e in fleet]
    state = LocalScanState(tmp_path / "state.json")
    with bench.pointed_at(proxy.url, remote.region):
        scan = partial(bench.run_scanner, region=remote.region, account_id=remote.account_id, state=state)
        first = scan(bench.emulator_session(remote.region))
        first_calls = proxy.counts(reset=True).total
        repeat = scan(bench.emulator_session(remote.region))
        repeat_calls = proxy.counts(reset=True).total
        baseline = bench.run_baseline(bench.emulator_session(remote.region), sample=25)

    first_outcome = bench.scan_outcome(first, names)
    assert first_outcome.failed == 0
    assert bench.scan_outcome(repeat, names).fingerprints == first_outcome.fingerprints
    assert repeat_calls < first_calls / 10
    assert baseline.sample == 25
    assert baseline.series >= 2 * 25
    # the baseline's GetMetricStatistics (the bench's indexed one) sums the hourly Invocations the scanner sums
    scanned = {item.endpoint.name: item for item in first.endpoints}
    busy = [e for e in fleet if e.traffic[0] == "busy" and e.status == "InService" and len(e.variants) == 1]
    end = bench.NOW.replace(minute=0, second=0, microsecond=0)
    cloudwatch = direct(remote, "cloudwatch")
    for member in busy[:5]:
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "EndpointName", "Value": member.name},
                {"Name": "VariantName", "Value": member.variants[0].name},
            ],
            StartTime=end - timedelta(days=bench.LOOKBACK_DAYS),
            EndTime=end,
            Period=3600,
            Statistics=["Sum"],
        )
        total = sum(m.invocations_total for m in scanned[member.name].metrics)
        assert total > 0
        assert sum(point["Sum"] for point in answer["Datapoints"]) == pytest.approx(total)


def test_bench_patches_page_scalable_targets_past_100_and_cap_get_metric_statistics(
    remote: bench.RemoteAws,
) -> None:
    expected = sum(len(e.scalable_variants) for e in bench.generate_fleet(SEEDED))
    pages = direct(remote, "application-autoscaling").get_paginator("describe_scalable_targets")
    cloudwatch = direct(remote, "cloudwatch")
    end = bench.NOW.replace(minute=0, second=0, microsecond=0)

    listed = [t for page in pages.paginate(ServiceNamespace="sagemaker") for t in page["ScalableTargets"]]
    with pytest.raises(cloudwatch.exceptions.ClientError, match="1,440"):
        cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            StartTime=end - timedelta(days=61),
            EndTime=end,
            Period=3600,
            Statistics=["Sum"],
        )

    assert expected > 100
    assert len({t["ResourceId"] for t in listed}) == expected


def test_make_bench_runs_end_to_end_on_a_small_fleet(tmp_path: Path) -> None:
    output = tmp_path / "scan.json"
    code = bench.main(
        [
            "--latency-ms=1",
            "--scan-fleet=40",
            "--inventory-fleet=60",
            "--baseline-sample=10",
            "--throttle-rps=20",
            f"--output={output}",
        ]
    )

    document = json.loads(output.read_text())
    assert code == (0 if document["passed"] else 1)
    assert [s["name"].split(":")[0] for s in document["scenarios"]] == ["scan"] * 4 + ["inventory"] * 2
    assert all(s["failed"] == 0 for s in document["scenarios"])
    throttled = next(s for s in document["scenarios"] if "req/s" in s["name"])
    assert throttled["throttled"] > 0
    assert {f["fleet"] for f in document["fleets"]} == {"scan", "inventory"}
