"""Logger, Tracer and Metrics, defined once, and
the few metrics a handler emits from what its step returned (names in `infra.metric_names`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from endpoint_optimizer.infra import metric_names as names

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

    from endpoint_optimizer.models import ActionResult, Approval, FleetAnalysis, ScanSnapshot

logger = Logger()
tracer = Tracer()
# The namespace and service are the code's constants (equal to the template's POWERTOOLS_* Globals, tested),
# not read from the environment at import: a process that imported this module without those variables
# (a CLI, a test, the emulated Lambdas sharing one interpreter) would otherwise flush with no namespace.
metrics = Metrics(namespace=names.NAMESPACE, service=names.SERVICE)


def account_id_of(function_arn: str) -> str:
    """arn:aws:lambda:<region>:<account>:function:<name> -> <account>."""
    return function_arn.split(":")[4]


def add_metric_by(name: str, category: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    """One data point of `name` with its category dimension (`metric_names.BY_DIMENSION`), flushed at once:
    Powertools' `metrics` holds one dimension set per invocation, so a metric counted by action or outcome
    is a metric of its own (single_metric). Same namespace and service as `metrics`."""
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=names.NAMESPACE,
        default_dimensions={"service": names.SERVICE},
    ) as metric:
        metric.add_dimension(name=names.BY_DIMENSION[name], value=category)


def add_counts_by(name: str, counts: Mapping[str, int]) -> None:
    for category, count in sorted(counts.items()):
        if count:
            add_metric_by(name, category, count)


class MetricSeriesCounter:
    """Counts the metric series a CloudWatch client requests (one per GetMetricData query: what it bills,
    "$0.01 per 1,000 metrics requested", /work/shared/facts/limits.md section 2), by a botocore hook on that
    client; `close()` removes the hook."""

    EVENT = "before-parameter-build.cloudwatch.GetMetricData"

    def __init__(self, cloudwatch: CloudWatchClient) -> None:
        self.series = 0
        self._events = cloudwatch.meta.events
        self._events.register(self.EVENT, self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        # Once per API call, before retries: a retried call is billed once.
        self.series += len(params.get("MetricDataQueries", []))

    def close(self) -> None:
        self._events.unregister(self.EVENT, self._count)


def record_scan(into: Metrics, snapshot: ScanSnapshot, *, series_read: int) -> None:
    """What one target's scan read and what it cost."""
    into.add_metric(name=names.ENDPOINTS_SCANNED, unit=MetricUnit.Count, value=len(snapshot.endpoints))
    # Always emitted (0 included): the "endpoints not scanned" alarm then sees every scan.
    into.add_metric(name=names.ENDPOINTS_NOT_SCANNED, unit=MetricUnit.Count, value=len(snapshot.unscanned))
    into.add_metric(name=names.SCAN_API_CALLS, unit=MetricUnit.Count, value=sum(snapshot.api_calls.values()))
    into.add_metric(name=names.METRIC_SERIES_READ, unit=MetricUnit.Count, value=series_read)
    if not snapshot.complete:
        into.add_metric(name=names.SCANS_CUT_BY_TIME_BUDGET, unit=MetricUnit.Count, value=1)


def record_analysis(into: Metrics, analysis: FleetAnalysis) -> None:
    """The run's findings by action and the monthly savings its plans propose (every target)."""
    findings: Counter[str] = Counter()
    for plan in analysis.plans:
        findings.update(plan.findings_by_action)
    add_counts_by(names.FINDINGS, findings)
    proposed = sum(plan.proposed_monthly_savings_usd for plan in analysis.plans)
    into.add_metric(name=names.PROPOSED_SAVINGS, unit=MetricUnit.NoUnit, value=round(proposed, 2))
    into.add_metric(name=names.ACTIONS_PROPOSED, unit=MetricUnit.Count, value=len(analysis.actions))


def record_apply_result(into: Metrics, result: ActionResult) -> None:
    """The end of one apply execution: its outcome, a rollback, and the saving a verified change brings."""
    add_metric_by(names.APPLIES, result.outcome, 1)
    # Always emitted (0 included), so the rollbacks alarm and the dashboard see every apply.
    into.add_metric(name=names.ROLLBACKS, unit=MetricUnit.Count, value=int(result.outcome == "rolled_back"))
    if result.outcome == "applied" and result.estimated_monthly_savings_usd is not None:
        into.add_metric(
            name=names.REALISED_SAVINGS, unit=MetricUnit.NoUnit, value=result.estimated_monthly_savings_usd
        )


def record_undo_result(result: ActionResult) -> None:
    """The end of an undo execution (the run summary's Undo button): counted with the applies as outcome
    `undone`. A refused undo (already undone, changed since) changed nothing and is not counted."""
    if result.outcome == "undone":
        add_metric_by(names.APPLIES, "undone", 1)


def record_expired_approvals(results: Iterable[ActionResult]) -> None:
    """Approvals nobody answered in time (the workflow's "Record expiry"): counted from the run summary."""
    expired = sum(1 for result in results if result.outcome == "expired")
    if expired:
        add_metric_by(names.APPROVALS, "expired", expired)


# What an answer to an approval card ended as, when no decision was recorded (its HTTP status).
_UNDECIDED = {
    HTTPStatus.FORBIDDEN: "not_an_approver",
    HTTPStatus.NOT_FOUND: "unknown",
    HTTPStatus.CONFLICT: "already_decided",
    HTTPStatus.GONE: "too_late",  # the wait had ended; the run summary counts it "expired"
    HTTPStatus.SERVICE_UNAVAILABLE: "workflow_unreachable",
}


def record_decision(status: HTTPStatus, decided: Approval | None) -> None:
    """One answer to an approval (a Slack click or the CLI): approved or rejected when it decided, else why
    not. A handful of values: the dimension stays low-cardinality."""
    if status == HTTPStatus.OK and decided is not None:
        outcome = decided.state.value
    else:
        outcome = _UNDECIDED.get(status, "refused")
    add_metric_by(names.APPROVALS, outcome, 1)
