"""The metrics the handlers emit, as CloudWatch receives them (EMF lines on stdout): names from
`metric_names`, low-cardinality dimensions (action, outcome; never an endpoint), the numbers of the step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from botocore.stub import Stubber

from endpoint_optimizer.infra import metric_names as names
from endpoint_optimizer.infra.observability import (
    MetricSeriesCounter,
    record_analysis,
    record_apply_result,
    record_decision,
    record_expired_approvals,
    record_scan,
    record_undo_result,
)
from endpoint_optimizer.models import Action, ActionResult, FleetAnalysis, ScanSnapshot
from endpoint_optimizer.models.findings import PlanSummary
from endpoint_optimizer.models.records import Approval, ApprovalState
from endpoint_optimizer.models.scan import UnscannedEndpoint
from tests.conftest import NOW, sample_snapshot


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    emitted = Metrics(namespace=names.NAMESPACE, service=names.SERVICE)
    emitted.clear_metrics()
    yield emitted
    emitted.clear_metrics()


def emf(capsys: pytest.CaptureFixture[str], metrics: Metrics) -> list[tuple[str, dict[str, str], float]]:
    """(metric name, dimensions, value) of every EMF line printed, after flushing `metrics`."""
    metrics.flush_metrics()
    points = []
    for line in capsys.readouterr().out.splitlines():
        blob: dict[str, Any] = json.loads(line)
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == names.NAMESPACE
        dimensions = {key: blob[key] for key in directive["Dimensions"][0]}
        for metric in directive["Metrics"]:
            value = blob[metric["Name"]]
            points.append((metric["Name"], dimensions, sum(value) if isinstance(value, list) else value))
    return points


SERVICE = {"service": names.SERVICE}


def test_a_scan_reports_endpoints_read_and_not_read_its_api_calls_and_metric_series(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    # GIVEN a scan cut by its time budget with two endpoints left unread
    snapshot: ScanSnapshot = sample_snapshot().model_copy(
        update={
            "complete": False,
            "unscanned": [UnscannedEndpoint(name=f"late-{i}", reason="time budget") for i in range(2)],
            "api_calls": {"DescribeEndpoint": 3, "GetMetricData": 2},
        }
    )
    # WHEN it is recorded
    record_scan(metrics, snapshot, series_read=41)
    # THEN every number is there, under the service dimension only
    assert sorted(emf(capsys, metrics)) == sorted(
        [
            (names.ENDPOINTS_SCANNED, SERVICE, len(snapshot.endpoints)),
            (names.ENDPOINTS_NOT_SCANNED, SERVICE, 2),
            (names.SCAN_API_CALLS, SERVICE, 5),
            (names.METRIC_SERIES_READ, SERVICE, 41),
            (names.SCANS_CUT_BY_TIME_BUDGET, SERVICE, 1),
        ]
    )


def test_a_complete_scan_still_says_zero_endpoints_were_left_unscanned(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    record_scan(metrics, sample_snapshot(), series_read=0)
    points = emf(capsys, metrics)
    assert (names.ENDPOINTS_NOT_SCANNED, SERVICE, 0) in points
    assert not [p for p in points if p[0] == names.SCANS_CUT_BY_TIME_BUDGET]


def plan(account: str, by_action: dict[str, int], savings: float) -> PlanSummary:
    return PlanSummary(
        account_id=account,
        region="us-east-1",
        plan_key=f"plans/{account}.json",
        lookback_days=14,
        endpoints=sum(by_action.values()),
        findings_by_action=by_action,
        proposed_monthly_savings_usd=savings,
        unknown_savings=0,
    )


def test_an_analysis_reports_findings_by_action_across_targets_and_the_savings_proposed(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    # GIVEN two targets' plans
    analysis = FleetAnalysis(
        plans=[
            plan("111111111111", {"park": 2, "none": 5}, 1200.5),
            plan("222222222222", {"park": 1, "rightsize": 1, "none": 0}, 300.25),
        ],
        actions=[],
    )
    # WHEN recorded
    record_analysis(metrics, analysis)
    points = emf(capsys, metrics)
    # THEN findings are counted per action over every target (a zero count is no data point)
    by_action = {p[1]["action"]: p[2] for p in points if p[0] == names.FINDINGS}
    assert by_action == {"park": 3, "rightsize": 1, "none": 5}
    assert all(set(p[1]) == {"service", "action"} for p in points if p[0] == names.FINDINGS)
    assert (names.PROPOSED_SAVINGS, SERVICE, 1500.75) in points
    assert (names.ACTIONS_PROPOSED, SERVICE, 0) in points


def result(outcome: str, savings: float | None = 250.0) -> ActionResult:
    return ActionResult.model_validate(
        {"endpoint_name": "idle-bert", "action": Action.PARK, "outcome": outcome,
         "estimated_monthly_savings_usd": savings}
    )  # fmt: skip


def test_an_applied_change_counts_as_applied_with_its_monthly_saving_and_no_rollback(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    record_apply_result(metrics, result("applied"))
    assert sorted(emf(capsys, metrics)) == sorted(
        [
            (names.APPLIES, {**SERVICE, "outcome": "applied"}, 1),
            (names.ROLLBACKS, SERVICE, 0),
            (names.REALISED_SAVINGS, SERVICE, 250.0),
        ]
    )


def test_a_rolled_back_change_counts_as_a_rollback_and_saves_nothing(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    record_apply_result(metrics, result("rolled_back", savings=None))
    points = emf(capsys, metrics)
    assert (names.APPLIES, {**SERVICE, "outcome": "rolled_back"}, 1) in points
    assert (names.ROLLBACKS, SERVICE, 1) in points
    assert not [p for p in points if p[0] == names.REALISED_SAVINGS]


def test_an_undone_change_counts_as_an_apply_outcome_undone_and_a_refused_undo_not_at_all(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    record_undo_result(result("undone", savings=None))
    record_undo_result(result("refused", savings=None))
    assert emf(capsys, metrics) == [(names.APPLIES, {**SERVICE, "outcome": "undone"}, 1)]


def approval(state: ApprovalState) -> Approval:
    return Approval.model_validate(
        {
            "approval_id": "a1",
            "task_token": "token",
            "action_id": "act-1",
            "finding": {"endpoint_name": "idle-bert", "account_id": "123456789012", "region": "us-east-1",
                        "action": "park"},
            "state": state,
            "requested_at": NOW,
            "expires_at": NOW,
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "decided", "outcome"),
    [
        (HTTPStatus.OK, approval(ApprovalState.APPROVED), "approved"),
        (HTTPStatus.OK, approval(ApprovalState.REJECTED), "rejected"),
        (HTTPStatus.FORBIDDEN, None, "not_an_approver"),
        (HTTPStatus.CONFLICT, None, "already_decided"),
        (HTTPStatus.GONE, None, "too_late"),
    ],
)
def test_an_answer_to_an_approval_counts_by_its_outcome_never_by_endpoint_or_user(
    capsys: pytest.CaptureFixture[str],
    metrics: Metrics,
    status: HTTPStatus,
    decided: Approval | None,
    outcome: str,
) -> None:
    record_decision(status, decided)
    assert emf(capsys, metrics) == [(names.APPROVALS, {**SERVICE, "outcome": outcome}, 1)]


def test_the_summary_counts_approvals_nobody_answered_in_time(
    capsys: pytest.CaptureFixture[str], metrics: Metrics
) -> None:
    record_expired_approvals([result("expired"), result("applied"), result("expired")])
    assert emf(capsys, metrics) == [(names.APPROVALS, {**SERVICE, "outcome": "expired"}, 2)]


def test_the_series_counter_counts_every_query_of_every_get_metric_data_call() -> None:
    # GIVEN a CloudWatch client asked for 3 then 2 series
    cloudwatch = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    counter = MetricSeriesCounter(cloudwatch)
    when = datetime(2026, 12, 1, tzinfo=UTC)
    with Stubber(cloudwatch) as stub:
        for count in (3, 2):
            queries = [
                {"Id": f"q{i}", "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations"},
                                               "Period": 3600, "Stat": "Sum"}}
                for i in range(count)
            ]  # fmt: skip
            stub.add_response("get_metric_data", {"MetricDataResults": []})
            cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=when, EndTime=when)  # type: ignore[arg-type]
        counter.close()
        # WHEN the counter is closed, later calls are not counted
        stub.add_response("get_metric_data", {"MetricDataResults": []})
        cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=when, EndTime=when)  # type: ignore[arg-type]
    # THEN it counted the series requested while open
    assert counter.series == 5


def test_the_metrics_namespace_does_not_depend_on_the_environment_the_module_was_imported_in() -> None:
    """GIVEN a process that imported the package without POWERTOOLS_METRICS_NAMESPACE (the CLI, a test run,
    the emulated Lambdas sharing one interpreter) THEN a handler's flush still has its namespace and service
    (it raised "Must contain a metric namespace." in every later Lambda of that process)."""
    from endpoint_optimizer.infra import metric_names
    from endpoint_optimizer.infra.observability import metrics

    assert (metrics.namespace, metrics.service) == (metric_names.NAMESPACE, metric_names.SERVICE)
