"""The re-check right before a change: never act on a stale signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.act.endpoint_state import ActionRefused
from endpoint_optimizer.models import Action, Finding, ScanFacts
from endpoint_optimizer.scan.metrics import HOUR, UTILIZATION_NAMESPACE, Query, Signal, invocations_since

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sagemaker import SageMakerClient

# Actions that rest on "no traffic": any invocation since the scan refuses them.
IDLE_ACTIONS = (Action.PARK, Action.SCALE_TO_ZERO)

# "Idle" is only told apart from "unmonitored" by utilisation still reporting. The scan's history carries a
# quiet series forward from its last read (scan/history.py), so its "CPU reported on N days" can count days
# it never saw: right before an idle action, CPUUtilization must have reported within this window.
CPU_FRESHNESS = timedelta(hours=24)
CPU_HOURLY_MAX = Signal("cpu_hourly_max", UTILIZATION_NAMESPACE, "CPUUtilization", "Maximum", HOUR)
# "Data points with a period of 3600 seconds (1 hour) are available for 455 days (15 months)" (botocore
# 1.43.127 cloudwatch/2010-08-01 StartTime documentation, read 2026-12-01): reading hourly back to the
# scan's window start is always in range.


def recheck(
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    finding: Finding,
    described: dict[str, Any],
    tags: dict[str, str],
    *,
    skip_tag_key: str,
    now: datetime,
) -> None:
    """Compare the endpoint as it is now with what the scan saw, and read its traffic since the scan's
    metrics window ended. Raises ActionRefused with a plain reason on any difference."""
    name = finding.endpoint_name
    facts = finding.scan
    if facts is None:
        raise ActionRefused(f"{name}: the finding carries no scan facts; scan again before acting")
    if tags.get(skip_tag_key, "").strip().lower() == "true":
        raise ActionRefused(f"{name} is tagged {skip_tag_key}=true now; left alone")
    if described["EndpointStatus"] != "InService":
        raise ActionRefused(f"{name} is {described['EndpointStatus']} now, not InService; left alone")
    modified = _aware(described["LastModifiedTime"])
    if modified != facts.endpoint_last_modified_at:
        raise ActionRefused(
            f"{name} changed since the scan (last modified {modified.isoformat()}, scanned "
            f"{facts.endpoint_last_modified_at.isoformat()}); left alone"
        )
    if described["EndpointConfigName"] != facts.config_name:
        raise ActionRefused(
            f"{name} was redeployed since the scan (config {described['EndpointConfigName']}, scanned "
            f"{facts.config_name}); left alone"
        )
    invocations = invocations_since(
        cloudwatch,
        name,
        variants=[variant.name for variant in facts.variants],
        inference_components=facts.inference_components,
        start=facts.metrics_window_end,
        end=now,
    )
    if invocations is None:
        raise ActionRefused(f"{name}: traffic since the scan could not be read from CloudWatch; left alone")
    # Park and scale to zero of idle inference components rest on "no traffic"; scale to zero of a sporadic
    # async endpoint rests on traffic being rare (its finding counts its invocations): one more request
    # since the scan does not change that, and it queues while an instance starts.
    rests_on_no_traffic = finding.action in IDLE_ACTIONS and not finding.evidence.get("invocations")
    if rests_on_no_traffic and invocations > 0:
        raise ActionRefused(
            f"{name} in use since the scan: {invocations:,.0f} invocations since "
            f"{facts.metrics_window_end.isoformat()}; left alone"
        )
    if finding.action in IDLE_ACTIONS:
        _refuse_without_recent_cpu(cloudwatch, name, facts, now)


def _refuse_without_recent_cpu(
    cloudwatch: CloudWatchClient, name: str, facts: ScanFacts, now: datetime
) -> None:
    """One GetMetricData: each instance variant's hourly CPUUtilization Maximum from the scan's window
    start (or 24 h back, if later) to the end of the current hour, newest first. Refuses when a variant has
    no datapoint in the last 24 h, naming the last one it had. Serverless variants publish no utilisation."""
    variants = [variant.name for variant in facts.variants if variant.instance_type]
    if not variants:
        return
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    cutoff = this_hour - CPU_FRESHNESS
    start = min(facts.metrics_window_start, cutoff)
    queries = [
        Query(f"cpu{i}", name, variant, "variant", CPU_HOURLY_MAX) for i, variant in enumerate(variants)
    ]
    request: dict[str, Any] = {
        "MetricDataQueries": [query.request() for query in queries],
        "StartTime": start,
        "EndTime": this_hour + timedelta(seconds=HOUR),
        "ScanBy": "TimestampDescending",
    }
    latest: dict[str, datetime] = {}
    status: dict[str, str] = {}
    while True:
        page = cloudwatch.get_metric_data(**request)
        for result in page["MetricDataResults"]:
            status[result["Id"]] = result.get("StatusCode", "Complete")
            for stamp in map(_aware, result.get("Timestamps", [])):
                latest[result["Id"]] = max(stamp, latest.get(result["Id"], stamp))
        token = page.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    for query in queries:
        if status.get(query.query_id) != "Complete":
            raise ActionRefused(
                f"{name}: CPUUtilization of variant {query.subject} could not be read from CloudWatch; "
                "left alone"
            )
        last = latest.get(query.query_id)
        if last is None or last < cutoff:
            since = last.isoformat() if last else f"before {start.isoformat()} (more than 24 h)"
            raise ActionRefused(
                f"{name}: CPUUtilization has not reported since {since} on variant {query.subject}: an "
                "endpoint without its metrics cannot be told apart from an unmonitored one; left alone"
            )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
