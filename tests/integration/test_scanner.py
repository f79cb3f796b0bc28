"""The scanner reads every kind of endpoint right, with the fewest calls, and never calls a silent
endpoint idle. Runs against the emulated AWS (moto with the harness patches)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from emulated_aws.fleet import EXECUTION_ROLE_ARN, VariantSpec, create_endpoint, put_hourly_metrics
from emulated_aws.proxy import LatencyProxy
from emulated_aws.server import EmulatedAws
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Quota, ScannedEndpoint, ScanSnapshot, ServerlessQuotas, VariantMetrics
from endpoint_optimizer.scan.region import scan_region
from endpoint_optimizer.scan.state import InMemoryScanState, LocalScanState

HOURS = 14 * 24
NOW = datetime.now(UTC)
WINDOW_START = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS)


@pytest.fixture
def emulated(aws: EmulatedAws) -> EmulatedAws:
    aws.reset()
    return aws


def endpoint(aws: EmulatedAws, name: str, *variants: VariantSpec, tags: dict[str, str] | None = None) -> None:
    create_endpoint(
        aws.client("sagemaker"),
        name=name,
        variants=list(variants) or [VariantSpec()],
        tags=tags or {},
        created_days_ago=30,
        now=NOW,
    )


def metrics(aws: EmulatedAws, name: str, variant: str = "AllTraffic", *, busy: bool) -> None:
    put_hourly_metrics(
        aws.client("cloudwatch"),
        endpoint=name,
        variant=variant,
        start=WINDOW_START,
        hours=HOURS,
        invocations=[12.0] * HOURS if busy else None,
        cpu=[30.0 if busy else 1.0] * HOURS,
        memory=[40.0] * HOURS,
    )


def scan(aws: EmulatedAws, **options: Any) -> ScanSnapshot:
    return scan_region(
        Clients(region="us-east-1"), account_id=aws.account_id, lookback_days=14, now=NOW, **options
    )


def by_name(snapshot: ScanSnapshot) -> dict[str, ScannedEndpoint]:
    return {item.endpoint.name: item for item in snapshot.endpoints}


def variant_metrics(snapshot: ScanSnapshot, endpoint_name: str, variant: str) -> VariantMetrics:
    return next(m for m in by_name(snapshot)[endpoint_name].metrics if m.variant_name == variant)


def test_multi_variant_endpoint_gets_metrics_per_variant(emulated: EmulatedAws) -> None:
    endpoint(emulated, "ab-test", VariantSpec(name="champion"), VariantSpec(name="challenger"))
    metrics(emulated, "ab-test", "champion", busy=True)
    metrics(emulated, "ab-test", "challenger", busy=False)
    snapshot = scan(emulated)
    assert variant_metrics(snapshot, "ab-test", "champion").invocations_total == 12.0 * HOURS
    assert variant_metrics(snapshot, "ab-test", "champion").hours_with_invocations == HOURS
    challenger = variant_metrics(snapshot, "ab-test", "challenger")
    assert (challenger.invocations_total, challenger.cpu_days_reported) == (0.0, 14)


def test_variant_not_named_alltraffic_is_read_with_its_own_name(emulated: EmulatedAws) -> None:
    endpoint(emulated, "forecast", VariantSpec(name="blue"))
    metrics(emulated, "forecast", "blue", busy=True)
    snapshot = scan(emulated)
    blue = variant_metrics(snapshot, "forecast", "blue")
    assert blue.invocations_total == 12.0 * HOURS
    assert blue.cpu_days_reported == 14
    assert blue.cpu_max_percent == 30.0


def test_endpoint_with_no_metrics_is_signal_missing_not_idle(emulated: EmulatedAws) -> None:
    endpoint(emulated, "legacy")
    item = variant_metrics(scan(emulated), "legacy", "AllTraffic")
    assert (item.invocation_datapoints, item.cpu_days_reported, item.cpu_max_percent) == (0, 0, None)


def test_serverless_endpoint_is_read_without_utilisation_queries(emulated: EmulatedAws) -> None:
    endpoint(emulated, "faq", VariantSpec(instance_type=None, serverless_memory_mb=2048))
    scanned = by_name(scan(emulated))["faq"]
    (variant,) = scanned.endpoint.variants
    assert (variant.serverless_memory_mb, variant.serverless_max_concurrency) == (2048, 5)
    assert variant.is_serverless


def test_async_endpoint_is_marked_async(emulated: EmulatedAws) -> None:
    sm = emulated.client("sagemaker")
    sm.create_model(
        ModelName="async-model", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": "img"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="async-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "async-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/async/"}},
    )
    sm.create_endpoint(EndpointName="async-batch", EndpointConfigName="async-config")
    assert by_name(scan(emulated))["async-batch"].endpoint.async_inference


def test_inference_component_endpoint_lists_its_components_and_reads_their_invocations(
    emulated: EmulatedAws,
) -> None:
    sm = emulated.client("sagemaker")
    sm.create_model(ModelName="llm", ExecutionRoleArn=EXECUTION_ROLE_ARN, PrimaryContainer={"Image": "img"})
    sm.create_endpoint_config(
        EndpointConfigName="ic-config",
        ExecutionRoleArn=EXECUTION_ROLE_ARN,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 2},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName="ic-endpoint", EndpointConfigName="ic-config")
    sm.create_inference_component(
        InferenceComponentName="llm-ic",
        EndpointName="ic-endpoint",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "llm",
            "Container": {"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:2.4"},
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 8192,
            },
        },
        RuntimeConfig={"CopyCount": 1},
    )
    emulated.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "InferenceComponentName", "Value": "llm-ic"}],
                "Timestamp": WINDOW_START + timedelta(hours=5),
                "Value": 7.0,
            }
        ],
    )
    scanned = by_name(scan(emulated))["ic-endpoint"]
    (component,) = scanned.endpoint.inference_components
    assert (component.name, component.current_copies, component.accelerators) == ("llm-ic", 1, 1)
    assert scanned.endpoint.variants[0].managed_min_instances == 1
    ic_metrics = next(m for m in scanned.metrics if m.scope == "inference_component")
    assert (ic_metrics.variant_name, ic_metrics.invocations_total) == ("llm-ic", 7.0)
    assert ic_metrics.invocations_by_hour == [(5, 7.0)]


def test_tags_come_from_the_tagging_api_without_listtags_per_endpoint(emulated: EmulatedAws) -> None:
    for index in range(3):
        endpoint(
            emulated,
            f"tagged-{index}",
            tags={"team": "search", "endpoint-optimizer:skip": str(index == 0).lower()},
        )
    endpoint(emulated, "untagged")
    snapshot = scan(emulated)
    assert by_name(snapshot)["tagged-0"].endpoint.tags == {
        "team": "search",
        "endpoint-optimizer:skip": "true",
    }
    assert by_name(snapshot)["untagged"].endpoint.tags == {}
    assert "sagemaker:ListTags" not in snapshot.api_calls
    assert snapshot.api_calls["tagging:GetResources"] == 1


def test_repeat_scan_of_an_unchanged_fleet_describes_nothing_again(emulated: EmulatedAws) -> None:
    for index in range(5):
        endpoint(emulated, f"steady-{index}")
        metrics(emulated, f"steady-{index}", busy=bool(index % 2))
    state = InMemoryScanState()
    first = scan(emulated, state=state)
    repeat = scan(emulated, state=state)
    assert first.api_calls["sagemaker:DescribeEndpoint"] == 5
    assert first.api_calls["sagemaker:DescribeEndpointConfig"] == 5
    assert "sagemaker:DescribeEndpoint" not in repeat.api_calls
    assert "sagemaker:DescribeEndpointConfig" not in repeat.api_calls
    assert repeat.endpoints == first.endpoints  # the same signal, read for the cost of list + tags + metrics

    # WHEN one endpoint changes THEN only that one is described again
    backend = emulated.backend("sagemaker")
    backend.endpoints["steady-3"].last_modified_time = datetime.now(UTC).replace(tzinfo=None)
    after_change = scan(emulated, state=state)
    assert after_change.api_calls["sagemaker:DescribeEndpoint"] == 1
    assert "sagemaker:DescribeEndpointConfig" not in after_change.api_calls  # configs are immutable


def test_cli_state_file_survives_between_runs(emulated: EmulatedAws, tmp_path: Any) -> None:
    endpoint(emulated, "kept")
    path = tmp_path / "state.json"
    scan(emulated, state=LocalScanState(path))
    assert path.exists()
    repeat = scan(emulated, state=LocalScanState(path))
    assert "sagemaker:DescribeEndpoint" not in repeat.api_calls


def test_deadline_gives_a_partial_snapshot_that_says_what_is_missing(emulated: EmulatedAws) -> None:
    names = [f"fleet-{index:02d}" for index in range(12)]
    for name in names:
        endpoint(emulated, name)
        metrics(emulated, name, busy=False)
    # A clock that jumps past the describe share of the budget once 5 endpoints have been described.
    clients = Clients(region="us-east-1")
    described: list[str] = []
    clients.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.DescribeEndpoint",
        lambda params, **_: described.append(params["EndpointName"]),
    )
    snapshot = scan_region(
        clients,
        account_id=emulated.account_id,
        lookback_days=14,
        now=NOW,
        time_budget_s=10,
        max_workers=1,
        clock=lambda: 8.0 if len(described) >= 5 else 0.0,
    )
    assert not snapshot.complete
    scanned = {item.endpoint.name for item in snapshot.endpoints}
    missing = {item.name: item.reason for item in snapshot.unscanned}
    assert scanned == set(described) and len(scanned) == 5
    assert scanned | set(missing) == set(names)
    assert not scanned & set(missing)
    assert all("time budget" in reason for reason in missing.values())
    assert all(item.metrics and item.metrics[0].cpu_days_reported == 14 for item in snapshot.endpoints)


def test_scan_reports_progress(emulated: EmulatedAws) -> None:
    for index in range(3):
        endpoint(emulated, f"p-{index}")
    seen: list[tuple[str, int, int]] = []
    scan(emulated, progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert [item for item in seen if item[0] == "describe"][-1] == ("describe", 3, 3)


def test_scan_throttled_mid_way_completes_with_every_endpoint(
    emulated: EmulatedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 30 endpoints behind a proxy that throttles DescribeEndpoint above 8 requests/s, on a clock
    # that moves 7/64 s per request: 7/8 of a token each, so about one request in eight is refused
    # (never two in a row) however fast or slow the machine is
    names = {f"throttled-{index:02d}" for index in range(30)}
    for name in sorted(names):
        endpoint(emulated, name)
        metrics(emulated, name, busy=False)
    ticks = itertools.count()
    with LatencyProxy(emulated.endpoint_url, latency_s=0.0, clock=lambda: next(ticks) * 7 / 64) as proxy:
        proxy.throttle(8, service="sagemaker", operation="DescribeEndpoint", burst=2)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        # WHEN the scanner runs with 8 workers (adaptive retries back off on the service's error)
        snapshot = scan(emulated, max_workers=8)
        counts = proxy.counts()
    # THEN it was throttled, retried, and every endpoint is in the snapshot with its signal
    assert counts.throttled_by_operation()["sagemaker:DescribeEndpoint"] >= 3
    assert snapshot.complete
    assert {item.endpoint.name for item in snapshot.endpoints} == names
    assert snapshot.unscanned == []
    assert all(item.metrics[0].cpu_days_reported == 14 for item in snapshot.endpoints)


def test_an_endpoint_whose_metric_query_did_not_complete_is_unscanned_never_idle(
    emulated: EmulatedAws,
) -> None:
    # GIVEN two endpoints that look idle (CPU every hour, no invocations), and CloudWatch answering the
    # Invocations query of one of them "InternalError" with no values (GetMetricData StatusCode is
    # Complete | InternalError | PartialData | Forbidden: botocore 1.43 cloudwatch model, read 2026-12-01)
    for name in ("quiet", "unreadable"):
        endpoint(emulated, name)
        metrics(emulated, name, busy=False)
    clients = Clients(region="us-east-1")
    invocation_queries: set[str] = set()

    def remember(params: dict[str, Any], **_: Any) -> None:
        for query in params["MetricDataQueries"]:
            metric = query["MetricStat"]["Metric"]
            dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            if metric["MetricName"] == "Invocations" and dimensions.get("EndpointName") == "unreadable":
                invocation_queries.add(query["Id"])

    def fail_them(parsed: dict[str, Any], **_: Any) -> None:
        for result in parsed["MetricDataResults"]:
            if result["Id"] in invocation_queries:
                result.update(StatusCode="InternalError", Timestamps=[], Values=[])

    clients.cloudwatch.meta.events.register("provide-client-params.cloudwatch.GetMetricData", remember)
    clients.cloudwatch.meta.events.register("after-call.cloudwatch.GetMetricData", fail_them)

    # WHEN the region is scanned
    snapshot = scan_region(clients, account_id=emulated.account_id, lookback_days=14, now=NOW)

    # THEN the endpoint with the incomplete query is listed as not read, with why, and carries no signal
    # that could read as zero traffic; the other is read as usual
    assert invocation_queries
    assert [(item.name, item.reason) for item in snapshot.unscanned] == [
        ("unreadable", "metrics not read: a GetMetricData query did not complete")
    ]
    assert set(by_name(snapshot)) == {"quiet"}
    assert variant_metrics(snapshot, "quiet", "AllTraffic").cpu_days_reported == 14


# ------------------------------------------------------------------ the serverless quotas, once a region
def test_the_scan_reads_the_serverless_quotas_once_per_region_and_assumes_the_aws_defaults_when_refused(
    emulated: EmulatedAws,
) -> None:
    # GIVEN three endpoints, one of them serverless, in a region whose Service Quotas knows no SageMaker
    # quota (the emulated AWS answers NoSuchResourceException for every sagemaker code)
    endpoint(emulated, "faq", VariantSpec(instance_type=None, serverless_memory_mb=2048))
    endpoint(emulated, "ranker")
    endpoint(emulated, "search")

    # WHEN the region is scanned
    snapshot = scan(emulated)

    # THEN the two quotas were asked for once each (per region, not per endpoint), and the snapshot
    # records the AWS defaults, saying why they were assumed
    assert snapshot.api_calls["servicequotas:GetServiceQuota"] == 2
    assert snapshot.serverless_quotas == ServerlessQuotas(
        endpoints=Quota(code="L-99AD19BF", value=5, source="default", note="NoSuchResourceException"),
        concurrency=Quota(code="L-96300102", value=10, source="default", note="NoSuchResourceException"),
    )


def test_the_scan_records_the_accounts_applied_serverless_quotas(emulated: EmulatedAws) -> None:
    # GIVEN an account whose Service Quotas answers its applied values (50 endpoints, 200 concurrency) for
    # the two serverless quota codes, exactly as asked
    endpoint(emulated, "ranker")
    clients = Clients(region="us-east-1")
    with Stubber(clients.service_quotas) as quotas:
        for code, value in (("L-99AD19BF", 50.0), ("L-96300102", 200.0)):
            quotas.add_response(
                "get_service_quota",
                {"Quota": {"ServiceCode": "sagemaker", "QuotaCode": code, "Value": value}},
                {"ServiceCode": "sagemaker", "QuotaCode": code},
            )

        # WHEN the region is scanned
        snapshot = scan_region(clients, account_id=emulated.account_id, lookback_days=14, now=NOW)
        quotas.assert_no_pending_responses()

    # THEN the snapshot carries them as read
    assert snapshot.serverless_quotas == ServerlessQuotas(
        endpoints=Quota(code="L-99AD19BF", value=50), concurrency=Quota(code="L-96300102", value=200)
    )
    assert snapshot.api_calls["servicequotas:GetServiceQuota"] == 2
