"""What a change reads from AWS before it touches anything, at the wire (botocore Stubber: any other call,
or other parameters, fails the test): the park's DescribeEndpoint by name and ListTags by ARN, the
re-check's GetMetricData of the traffic since the scan and, for an idle action, of each variant's CPU in
the last day, and the status read of endpoint_state; and what
each answer or error becomes (a refusal with a reason, "gone", or the error itself)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from endpoint_optimizer.act.endpoint_state import ActionRefused, endpoint_status, gone_or_deleting
from endpoint_optimizer.act.park import park
from endpoint_optimizer.act.recheck import recheck
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Action, Finding, ProposedAction, ScanFacts, VariantFacts
from tests.conftest import load_event

NAME = "idle-fraud-xgb"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{NAME}"
SKIP_TAG = "endpoint-optimizer:skip"
MODIFIED = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # where the scan's metrics stopped
NOW = datetime(2026, 12, 1, 9, 15, 20, tzinfo=UTC)  # the approval came the next morning
NEXT_MINUTE = datetime(2026, 12, 1, 9, 16, tzinfo=UTC)
THIS_HOUR = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def stubbed(service: str) -> Iterator[Stubber]:
    with Stubber(boto3.client(service, region_name="us-east-1")) as stubber:  # type: ignore[call-overload]
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sagemaker() -> Iterator[Stubber]:
    yield from stubbed("sagemaker")


@pytest.fixture
def cloudwatch() -> Iterator[Stubber]:
    yield from stubbed("cloudwatch")


@pytest.fixture
def autoscaling() -> Iterator[Stubber]:
    yield from stubbed("application-autoscaling")


def action(action: Action = Action.PARK, components: tuple[str, ...] = ()) -> ProposedAction:
    proposed = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    facts = ScanFacts(
        scanned_at=WINDOW_END,
        endpoint_last_modified_at=MODIFIED,
        config_name=f"{NAME}-config",
        variants=[VariantFacts(name="AllTraffic", instance_type="ml.m5.large", instance_count=1)],
        inference_components=list(components),
        metrics_window_start=WINDOW_END - timedelta(days=14),
        metrics_window_end=WINDOW_END,
    )
    finding = proposed.finding.model_copy(update={"scan": facts, "action": action})
    return proposed.model_copy(update={"finding": finding})


def finding(action_: Action = Action.PARK, components: tuple[str, ...] = ()) -> Finding:
    return action(action_, components).finding


def described(**changes: Any) -> dict[str, Any]:
    """DescribeEndpoint's answer for the endpoint as the scan saw it, with `changes`."""
    return {
        "EndpointName": NAME,
        "EndpointArn": ARN,
        "EndpointConfigName": f"{NAME}-config",
        "EndpointStatus": "InService",
        "CreationTime": MODIFIED,
        "LastModifiedTime": MODIFIED,
    } | changes


def traffic_query(query_id: str, dimensions: dict[str, str]) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def traffic_request(*queries: Any) -> dict[str, Any]:
    return {
        "MetricDataQueries": list(queries),
        "StartTime": WINDOW_END,
        "EndTime": NEXT_MINUTE,
        "ScanBy": "TimestampAscending",
    }


def traffic(*values: float, status: str = "Complete", query_id: str = "v0") -> dict[str, Any]:
    stamps = [WINDOW_END + timedelta(minutes=index) for index in range(len(values))]
    return {
        "MetricDataResults": [
            {"Id": query_id, "Timestamps": stamps, "Values": list(values), "StatusCode": status}
        ]
    }


def cpu_request() -> dict[str, Any]:
    """The idle action's CPU read: hourly Maximum of the variant's CPUUtilization from the scan's window start
    to the end of the current hour, newest first."""
    return {
        "MetricDataQueries": [
            {
                "Id": "cpu0",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "/aws/sagemaker/Endpoints",
                        "MetricName": "CPUUtilization",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": NAME},
                            {"Name": "VariantName", "Value": "AllTraffic"},
                        ],
                    },
                    "Period": 3600,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
        ],
        "StartTime": WINDOW_END - timedelta(days=14),
        "EndTime": THIS_HOUR + timedelta(hours=1),
        "ScanBy": "TimestampDescending",
    }


def cpu(*stamps: datetime, status: str = "Complete") -> dict[str, Any]:
    return {
        "MetricDataResults": [
            {"Id": "cpu0", "Timestamps": list(stamps), "Values": [1.5] * len(stamps), "StatusCode": status}
        ]
    }


def run_recheck(
    sagemaker: Stubber, cloudwatch: Stubber, found: Finding, answer: dict[str, Any], tags: dict[str, str]
) -> None:
    recheck(
        sagemaker.client,  # type: ignore[arg-type]
        cloudwatch.client,  # type: ignore[arg-type]
        found,
        answer,
        tags,
        skip_tag_key=SKIP_TAG,
        now=NOW,
    )


# ---- the park's reads --------------------------------------------------------------------------------
def test_a_park_reads_the_endpoint_by_name_and_its_tags_by_arn_and_stops_at_a_skip_tag(
    sagemaker: Stubber, cloudwatch: Stubber, autoscaling: Stubber
) -> None:
    """GIVEN an endpoint tagged to be skipped since the scan WHEN its park starts THEN DescribeEndpoint by
    name, ListTags by the ARN it returned, and a refusal naming the tag: no CloudWatch read and no change
    (the other Stubbers have no answer)."""
    sagemaker.add_response("describe_endpoint", described(), {"EndpointName": NAME})
    sagemaker.add_response(
        "list_tags", {"Tags": [{"Key": SKIP_TAG, "Value": " TRUE "}]}, {"ResourceArn": ARN}
    )
    with pytest.raises(ActionRefused, match=f"tagged {SKIP_TAG}=true now; left alone"):
        park(
            sagemaker.client,  # type: ignore[arg-type]
            autoscaling.client,  # type: ignore[arg-type]
            cloudwatch.client,  # type: ignore[arg-type]
            InMemoryStateTable(),
            action(),
            skip_tag_key=SKIP_TAG,
            approved_by="alice",
            now=NOW,
        )


def test_a_park_of_an_endpoint_sagemaker_no_longer_finds_is_refused_without_another_call(
    sagemaker: Stubber, cloudwatch: Stubber, autoscaling: Stubber
) -> None:
    """GIVEN DescribeEndpoint answers "Could not find endpoint" (a ValidationException) and the ledger holds
    no park WHEN the park starts THEN it is refused as gone, nothing else is asked."""
    sagemaker.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{NAME}".',
        400,
        expected_params={"EndpointName": NAME},
    )
    with pytest.raises(ActionRefused, match="no longer exists; nothing to park"):
        park(
            sagemaker.client,  # type: ignore[arg-type]
            autoscaling.client,  # type: ignore[arg-type]
            cloudwatch.client,  # type: ignore[arg-type]
            InMemoryStateTable(),
            action(),
            skip_tag_key=SKIP_TAG,
            approved_by="alice",
            now=NOW,
        )


def test_a_park_refused_by_sagemaker_reaches_the_caller_as_sagemakers_error(
    sagemaker: Stubber, cloudwatch: Stubber, autoscaling: Stubber
) -> None:
    sagemaker.add_client_error("describe_endpoint", "AccessDeniedException", "not allowed", 400)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        park(
            sagemaker.client,  # type: ignore[arg-type]
            autoscaling.client,  # type: ignore[arg-type]
            cloudwatch.client,  # type: ignore[arg-type]
            InMemoryStateTable(),
            action(),
            skip_tag_key=SKIP_TAG,
            approved_by="alice",
            now=NOW,
        )


# ---- the re-check ------------------------------------------------------------------------------------
def test_the_recheck_asks_for_each_variants_and_components_traffic_from_the_scans_end_to_the_next_minute(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    """GIVEN an endpoint unchanged since the scan, hosting a component WHEN the re-check runs THEN one
    GetMetricData: one-minute Sums per variant (endpoint and variant name) and per component, from where
    the scan's metrics stopped to the end of the current minute; no traffic, and CPU that reported an hour
    ago (the second GetMetricData), let the park go on."""
    cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "v0", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
                {"Id": "c0", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
            ]
        },
        traffic_request(
            traffic_query("v0", {"EndpointName": NAME, "VariantName": "AllTraffic"}),
            traffic_query("c0", {"InferenceComponentName": "ic-1"}),
        ),
    )
    cloudwatch.add_response("get_metric_data", cpu(THIS_HOUR - timedelta(hours=1)), cpu_request())
    run_recheck(sagemaker, cloudwatch, finding(components=("ic-1",)), described(), {})


def test_an_invocation_since_the_scan_refuses_a_park_and_names_the_count(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    variant = traffic_query("v0", {"EndpointName": NAME, "VariantName": "AllTraffic"})
    cloudwatch.add_response("get_metric_data", traffic(0.0, 3.0), traffic_request(variant))
    with pytest.raises(ActionRefused, match="in use since the scan: 3 invocations since 2026-11-30T12:00:00"):
        run_recheck(sagemaker, cloudwatch, finding(), described(), {})


def test_traffic_since_the_scan_does_not_refuse_an_action_that_does_not_rest_on_idleness(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    cloudwatch.add_response("get_metric_data", traffic(40.0), traffic_request(ANY))
    run_recheck(sagemaker, cloudwatch, finding(Action.RIGHTSIZE), described(), {})


@pytest.mark.parametrize("status", ["PartialData", "Forbidden", "InternalError"])
def test_traffic_cloudwatch_did_not_answer_completely_refuses_the_change(
    sagemaker: Stubber, cloudwatch: Stubber, status: str
) -> None:
    """GIVEN CloudWatch's last word on the query is not Complete THEN the traffic is unknown, never zero."""
    cloudwatch.add_response("get_metric_data", traffic(status=status), traffic_request(ANY))
    with pytest.raises(ActionRefused, match="traffic since the scan could not be read from CloudWatch"):
        run_recheck(sagemaker, cloudwatch, finding(), described(), {})


def test_a_refused_traffic_read_reaches_the_caller_as_cloudwatchs_error(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    cloudwatch.add_client_error("get_metric_data", "AccessDenied", "not allowed", 403)
    with pytest.raises(ClientError, match="AccessDenied"):
        run_recheck(sagemaker, cloudwatch, finding(), described(), {})


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (described(EndpointStatus="Updating"), "is Updating now, not InService"),
        (described(LastModifiedTime=MODIFIED + timedelta(hours=1)), "changed since the scan"),
        (
            described(LastModifiedTime=MODIFIED.replace(tzinfo=None) + timedelta(hours=1)),
            "changed since the scan",
        ),
        (described(EndpointConfigName="other-config"), "redeployed since the scan"),
    ],
)
def test_an_endpoint_not_as_the_scan_saw_it_is_refused_before_any_traffic_read(
    sagemaker: Stubber, cloudwatch: Stubber, answer: dict[str, Any], reason: str
) -> None:
    """The CloudWatch Stubber has no answer: a traffic read would fail the test."""
    with pytest.raises(ActionRefused, match=reason):
        run_recheck(sagemaker, cloudwatch, finding(), answer, {})


def test_a_naive_last_modified_time_is_read_as_utc(sagemaker: Stubber, cloudwatch: Stubber) -> None:
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    cloudwatch.add_response("get_metric_data", cpu(THIS_HOUR), cpu_request())
    run_recheck(
        sagemaker, cloudwatch, finding(), described(LastModifiedTime=MODIFIED.replace(tzinfo=None)), {}
    )


# ---- CPU still reporting (idle is not unmonitored) ---------------------------------------------------
@pytest.mark.parametrize("idle", [Action.PARK, Action.SCALE_TO_ZERO])
def test_an_idle_action_on_an_endpoint_whose_cpu_stopped_reporting_is_refused_naming_the_last_datapoint(
    sagemaker: Stubber, cloudwatch: Stubber, idle: Action
) -> None:
    """GIVEN no traffic since the scan but CPUUtilization last reported 2 days ago (the scan's history
    carried the series forward, so the finding still counts 14 of 14 days) WHEN an idle action is re-checked
    THEN it is refused: without its metrics an idle endpoint cannot be told from an unmonitored one."""
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    last = THIS_HOUR - timedelta(days=2)
    cloudwatch.add_response("get_metric_data", cpu(last, last - timedelta(hours=1)), cpu_request())
    with pytest.raises(
        ActionRefused,
        match="CPUUtilization has not reported since 2026-11-29T09:00:00\\+00:00 on variant AllTraffic: an "
        "endpoint without its metrics cannot be told apart from an unmonitored one",
    ):
        run_recheck(sagemaker, cloudwatch, finding(idle), described(), {})


def test_an_idle_action_on_an_endpoint_with_no_cpu_datapoint_at_all_is_refused(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    cloudwatch.add_response("get_metric_data", cpu(), cpu_request())
    with pytest.raises(ActionRefused, match="has not reported since before 2026-11-16T12:00:00\\+00:00"):
        run_recheck(sagemaker, cloudwatch, finding(), described(), {})


def test_cpu_that_reported_just_within_the_last_24_hours_lets_the_park_go_on(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    cloudwatch.add_response("get_metric_data", cpu(THIS_HOUR - timedelta(hours=24)), cpu_request())
    run_recheck(sagemaker, cloudwatch, finding(), described(), {})


@pytest.mark.parametrize("status", ["PartialData", "Forbidden", "InternalError"])
def test_cpu_cloudwatch_did_not_answer_completely_refuses_the_park(
    sagemaker: Stubber, cloudwatch: Stubber, status: str
) -> None:
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    cloudwatch.add_response("get_metric_data", cpu(THIS_HOUR, status=status), cpu_request())
    with pytest.raises(ActionRefused, match="CPUUtilization of variant AllTraffic could not be read"):
        run_recheck(sagemaker, cloudwatch, finding(), described(), {})


def test_an_action_that_does_not_rest_on_idleness_reads_no_cpu(
    sagemaker: Stubber, cloudwatch: Stubber
) -> None:
    """The CloudWatch Stubber has one answer: a CPU read would fail the test."""
    cloudwatch.add_response("get_metric_data", traffic(), traffic_request(ANY))
    run_recheck(sagemaker, cloudwatch, finding(Action.RIGHTSIZE), described(), {})


# ---- endpoint_state ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "gone"), [("InService", False), ("Deleting", True), ("Failed", False)])
def test_an_endpoints_status_is_one_describe_by_name(sagemaker: Stubber, status: str, gone: bool) -> None:
    sagemaker.add_response("describe_endpoint", described(EndpointStatus=status), {"EndpointName": NAME})
    sagemaker.add_response("describe_endpoint", described(EndpointStatus=status), {"EndpointName": NAME})
    assert endpoint_status(sagemaker.client, NAME) == status  # type: ignore[arg-type]
    assert gone_or_deleting(sagemaker.client, NAME) is gone  # type: ignore[arg-type]


def test_an_endpoint_sagemaker_cannot_find_has_no_status_and_is_gone(sagemaker: Stubber) -> None:
    missing = ("ValidationException", f'Could not find endpoint "{NAME}".', 400)
    sagemaker.add_client_error("describe_endpoint", *missing, expected_params={"EndpointName": NAME})
    sagemaker.add_client_error("describe_endpoint", *missing, expected_params={"EndpointName": NAME})
    assert endpoint_status(sagemaker.client, NAME) is None  # type: ignore[arg-type]
    assert gone_or_deleting(sagemaker.client, NAME) is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ValidationException", "1 validation error detected: Value at 'endpointName' failed"),
        ("ThrottlingException", "Rate exceeded"),
        ("AccessDeniedException", "Could not find credentials to authorize"),
    ],
)
def test_any_other_error_leaves_the_status_unknown_and_reaches_the_caller(
    sagemaker: Stubber, code: str, message: str
) -> None:
    """GIVEN SageMaker fails for any reason but "Could not find" WHEN the status is read THEN the error is
    raised: an endpoint is never taken for gone because its status could not be read."""
    sagemaker.add_client_error("describe_endpoint", code, message, 400)
    with pytest.raises(ClientError, match=code):
        gone_or_deleting(sagemaker.client, NAME)  # type: ignore[arg-type]
