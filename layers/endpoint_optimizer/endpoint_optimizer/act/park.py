"""Changes to endpoints, each with a re-check first, a snapshot, an intent record and a way back.

`park`: re-check what the scan saw (status, LastModifiedTime, config, skip tag, traffic since the scan)
-> snapshot (endpoint config and models whole, tags, autoscaling) -> intent -> deregister scalable
targets -> DeleteEndpoint, keeping config and model -> verify gone -> ledger. `recover` is the workflow's
Catch: it finishes or rolls back a change that died half-way, from its intent. `restore` brings a
parked endpoint back from the snapshot its park recorded, recreating a deleted config or model; it is
resumable (an endpoint that is back but lacks its autoscaling gets it replayed).

Invariant (tests/integration/test_park_faults.py): whatever call fails, dies or loses its reply, the endpoint
ends serving as before with its autoscaling, or parked with a snapshot that restores it identically.

The steps live in their own modules (recheck, snapshot, restore, way_back, endpoint_state); their
public names stay importable from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from endpoint_optimizer.act.capture import capture_way_back, missing_autoscaling, replay_autoscaling
from endpoint_optimizer.act.endpoint_state import (
    ActionRefused,
    RestoreFailed,
    error_code,
    gone_or_deleting,
    is_missing,
)
from endpoint_optimizer.act.recheck import IDLE_ACTIONS, recheck
from endpoint_optimizer.act.restore import is_parked, parked_way_back, restore
from endpoint_optimizer.act.way_back import way_back_problems
from endpoint_optimizer.infra.stores import ChangeRecords
from endpoint_optimizer.models import (
    Action,
    ActionResult,
    Finding,
    Intent,
    LedgerEntry,
    ProposedAction,
    ScalableTarget,
    WayBack,
)

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = [
    "IDLE_ACTIONS",
    "ActionRefused",
    "RestoreFailed",
    "capture_way_back",
    "is_parked",
    "missing_autoscaling",
    "park",
    "parked_way_back",
    "recheck",
    "recover",
    "refused",
    "restore",
    "way_back_problems",
]


# ---- park ------------------------------------------------------------------------------------------
def park(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    cloudwatch: CloudWatchClient,
    table: ChangeRecords,
    action: ProposedAction,
    *,
    skip_tag_key: str,
    approved_by: str | None,
    now: datetime,
) -> ActionResult:
    finding = action.finding
    name = finding.endpoint_name
    # A change on this endpoint that died half-way (this action's earlier attempt, or an older one):
    # finish or undo it first, so what is snapshotted below is whole.
    for intent in table.intents(name):
        if intent.state == "open":
            own = intent.action_id == action.action_id
            settled = _settle(
                sagemaker,
                autoscaling,
                table,
                intent,
                approved_by=approved_by,
                now=now,
                finding=finding if own else None,
            )
            if settled == "parked":
                return _applied(finding, "already parked") if own else _skipped(finding, "already parked")

    try:
        described: dict[str, Any] = dict(sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if not is_missing(error):
            raise
        if is_parked(table, name):
            return _skipped(finding, "already parked; nothing changed")
        raise ActionRefused(f"{name} no longer exists; nothing to park") from None
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]}
    recheck(sagemaker, cloudwatch, finding, described, tags, skip_tag_key=skip_tag_key, now=now)
    if described.get("AsyncInferenceConfig"):
        raise ActionRefused(f"{name} is an async endpoint; parking is not its fix")
    if sagemaker.list_inference_components(EndpointNameEquals=name, MaxResults=1)["InferenceComponents"]:
        raise ActionRefused(f"{name} hosts inference components; parking would delete them")
    way_back = capture_way_back(sagemaker, autoscaling, described, tags, now)

    table.put_way_back(way_back)  # the way back is stored before anything changes
    intent = Intent(
        endpoint_name=name,
        action_id=action.action_id,
        action=Action.PARK,
        snapshot_taken_at=way_back.taken_at,
        started_at=now,
    )
    table.put_intent(intent)
    try:
        for target in way_back.scalable_targets:
            _deregister(autoscaling, target)
        sagemaker.delete_endpoint(EndpointName=name)
    except Exception:
        if not gone_or_deleting(sagemaker, name):
            _roll_back(autoscaling, table, intent, way_back, now=now)
            raise
        # The delete went through although the call reported an error (e.g. a lost reply): parked.
    if not gone_or_deleting(sagemaker, name):
        _roll_back(autoscaling, table, intent, way_back, now=now)
        raise RuntimeError(f"{name} is still serving after DeleteEndpoint; its autoscaling was put back")
    _record_parked(table, finding, intent, way_back, approved_by=approved_by, now=now)
    return _applied(finding, f"parked; restore with: endpoint-optimizer restore {name}")


def _deregister(autoscaling: ApplicationAutoScalingClient, target: ScalableTarget) -> None:
    try:
        autoscaling.deregister_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=target.resource_id,
            ScalableDimension=target.scalable_dimension,  # type: ignore[arg-type]
        )
    except ClientError as error:
        # Gone already (a retry after a lost reply): the goal of the call is met.
        if error_code(error) != "ObjectNotFoundException":
            raise


def _roll_back(
    autoscaling: ApplicationAutoScalingClient,
    table: ChangeRecords,
    intent: Intent,
    way_back: WayBack,
    *,
    now: datetime,
) -> None:
    """The endpoint still serves: give it back all its autoscaling (not only what this attempt knows it
    deregistered: a call whose reply was lost may have gone through)."""
    replay_autoscaling(autoscaling, way_back)
    table.resolve_intent(intent, "rolled_back", now=now)
    table.retire_way_back(way_back, now=now)  # not parked: the snapshot is history


def _record_parked(
    table: ChangeRecords,
    finding: Finding | None,
    intent: Intent,
    way_back: WayBack,
    *,
    approved_by: str | None,
    now: datetime,
) -> None:
    """Ledger entry naming the snapshot (once per snapshot, whichever path gets here first), then the
    intent is done."""
    entries = table.ledger(intent.endpoint_name)
    already = any(
        entry.action == Action.PARK and entry.snapshot_taken_at == way_back.taken_at for entry in entries
    )
    if not already:
        cost = finding.current_monthly_cost_usd if finding else None
        table.put_ledger_entry(
            LedgerEntry(
                endpoint_name=intent.endpoint_name,
                recorded_at=now,
                action=Action.PARK,
                outcome="applied",
                approved_by=approved_by,
                monthly_cost_before_usd=cost,
                monthly_cost_after_usd=0.0 if cost is not None else None,
                detail=f"deleted endpoint; kept config {way_back.config_name}; "
                f"deregistered {len(way_back.scalable_targets)} scalable target(s)",
                snapshot_taken_at=way_back.taken_at,
                action_id=intent.action_id,
            )
        )
    table.resolve_intent(intent, "done", now=now)


def _settle(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: ChangeRecords,
    intent: Intent,
    *,
    approved_by: str | None,
    now: datetime,
    finding: Finding | None = None,
) -> Literal["parked", "rolled_back"]:
    """Close an open intent from what is true now: gone -> parked (ledger); serving -> rolled back."""
    way_back = table.way_back(intent.endpoint_name, intent.snapshot_taken_at)
    if way_back is None:  # cannot happen: the snapshot is written before the intent
        raise RuntimeError(f"intent {intent.action_id} names a snapshot that is not stored")
    if gone_or_deleting(sagemaker, intent.endpoint_name):
        _record_parked(table, finding, intent, way_back, approved_by=approved_by, now=now)
        return "parked"
    _roll_back(autoscaling, table, intent, way_back, now=now)
    return "rolled_back"


def recover(
    sagemaker: SageMakerClient,
    autoscaling: ApplicationAutoScalingClient,
    table: ChangeRecords,
    action: ProposedAction,
    *,
    error: str,
    approved_by: str | None,
    now: datetime,
) -> ActionResult:
    """The workflow's Catch after apply failed or died: finish or undo this action's change."""
    finding = action.finding
    name = finding.endpoint_name
    intent = table.intent(name, action.action_id)
    if intent is None:
        detail = f"nothing was changed ({error})"
    elif intent.state == "done":
        return _applied(finding, "already parked")
    elif intent.state == "rolled_back":
        detail = f"rolled back: serving as before with its autoscaling ({error})"
    else:
        settled = _settle(
            sagemaker, autoscaling, table, intent, approved_by=approved_by, now=now, finding=finding
        )
        if settled == "parked":
            return _applied(
                finding, f"parked (finished after: {error}); restore with: endpoint-optimizer restore {name}"
            )
        detail = f"rolled back: serving as before with its autoscaling ({error})"
    return ActionResult(
        endpoint_name=name,
        action=finding.action,
        outcome="failed",
        estimated_monthly_savings_usd=None,
        detail=detail,
    )


def _applied(finding: Finding, detail: str) -> ActionResult:
    """This action's change is in place: its savings count (once: a retry finds its own work done)."""
    return ActionResult(
        endpoint_name=finding.endpoint_name,
        action=finding.action,
        outcome="applied",
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        detail=detail,
    )


def _skipped(finding: Finding, detail: str) -> ActionResult:
    """Nothing changed by this action (e.g. another one parked the endpoint): it saves nothing."""
    return ActionResult(
        endpoint_name=finding.endpoint_name,
        action=finding.action,
        outcome="skipped",
        estimated_monthly_savings_usd=None,
        detail=detail,
    )


def refused(action: ProposedAction, reason: str) -> ActionResult:
    """A refusal is an answer, not a failure: nothing was touched, and the run says why."""
    return ActionResult(
        endpoint_name=action.finding.endpoint_name,
        action=action.finding.action,
        outcome="refused",
        estimated_monthly_savings_usd=None,
        detail=reason,
    )
