"""The re-check right before a change: never act on a stale signal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from endpoint_optimizer.act.endpoint_state import ActionRefused
from endpoint_optimizer.models import Action, Finding
from endpoint_optimizer.scan.metrics import invocations_since

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sagemaker import SageMakerClient

# Actions that rest on "no traffic": any invocation since the scan refuses them.
IDLE_ACTIONS = (Action.PARK, Action.SCALE_TO_ZERO)


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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
