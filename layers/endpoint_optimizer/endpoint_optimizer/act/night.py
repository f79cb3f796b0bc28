"""Park at night, restore in the morning: what the night-parking schedules (act/schedule.py) start.

The schedules start the apply workflow with `{"night": {...}}` (models/change.py NightRequest). The park is
park's own (act/park.py: re-check, whole snapshot, deregister, delete, see it gone), against the endpoint as
it is now: the night's "scan" is a fresh DescribeEndpoint, and the re-check's traffic window is the last
hour, so an endpoint invoked in the last hour is not parked tonight (the result says why). The restore is
restore's own (act/restore.py), called until the endpoint is back; it restores only a park this schedule
made (never a park someone approved), and is a no-op when the endpoint is not parked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.authorise import Mode
from endpoint_optimizer.act.endpoint_state import ActionRefused, is_missing
from endpoint_optimizer.act.park import park, refused
from endpoint_optimizer.act.restore import is_parked, restore
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import ChangeRecords
from endpoint_optimizer.models import (
    Action,
    ActionResult,
    Finding,
    Outcome,
    ProposedAction,
    ScanFacts,
    VariantFacts,
)
from endpoint_optimizer.models.change import NightRequest, night_prefix

# The re-check's traffic window at night: invoked within the last hour -> not parked tonight.
RECENT_TRAFFIC = timedelta(hours=1)


def night_action_id(request: NightRequest, now: datetime) -> str:
    """One id per night: a second start the same night (Scheduler's retry) finds its own park done."""
    return f"{night_prefix(request.schedule_action_id)}{now:%Y%m%d}"


def parked_by_schedule(table: ChangeRecords, endpoint_name: str, schedule_action_id: str) -> bool:
    """The endpoint is parked, and the park is one of this schedule change's nights."""
    if not is_parked(table, endpoint_name):
        return False
    last = next(
        (
            e
            for e in reversed(table.ledger(endpoint_name))
            if e.action == Action.PARK and e.outcome == "applied"
        ),
        None,
    )
    return last is not None and (last.action_id or "").startswith(night_prefix(schedule_action_id))


def _schedule_in_force(table: ChangeRecords, request: NightRequest) -> str | None:
    """Why the schedule change no longer stands (undone, rolled back, unknown), or None."""
    entries = [e for e in table.ledger(request.endpoint_name) if e.action_id == request.schedule_action_id]
    if not entries:
        return f"no schedule change {request.schedule_action_id} on {request.endpoint_name} in the ledger"
    last = max(entries, key=lambda entry: entry.recorded_at)
    if last.outcome != "applied":
        return f"schedule change {request.schedule_action_id} is {last.outcome}"
    return None


def _night_finding(clients: Clients, described: dict[str, Any], *, now: datetime) -> Finding:
    """A park finding from the endpoint as it is now (the night's scan): the re-check then compares it
    with itself and reads only the skip tag, the status and the traffic of the last hour."""
    arn = str(described["EndpointArn"])
    account_id, region = arn.split(":")[4], arn.split(":")[3]
    modified = described["LastModifiedTime"]
    return Finding(
        endpoint_name=described["EndpointName"],
        account_id=account_id,
        region=region,
        action=Action.PARK,
        target="parked for the night",
        reasons=["night parking (tag endpoint-optimizer:park-at-night)"],
        scan=ScanFacts(
            scanned_at=now,
            endpoint_last_modified_at=modified,
            config_name=described["EndpointConfigName"],
            variants=[
                VariantFacts(
                    name=v["VariantName"],
                    instance_type=(v.get("CurrentInstanceType") or v.get("InstanceType")),
                    instance_count=int(v.get("CurrentInstanceCount", 0)),
                )
                for v in described.get("ProductionVariants") or []
            ],
            metrics_window_start=now - RECENT_TRAFFIC,
            metrics_window_end=now - RECENT_TRAFFIC,
        ),
    )


def park_tonight(
    clients: Clients,
    table: ChangeRecords,
    request: NightRequest,
    *,
    mode: Mode,
    skip_tag_key: str,
    now: datetime,
) -> ActionResult:
    """Park the endpoint for the night through park() itself, or say why not tonight (a refusal or a skip
    is a result: the workflow succeeds, nothing changed)."""
    name = request.endpoint_name

    def answer(outcome: Outcome, detail: str) -> ActionResult:
        return ActionResult(
            endpoint_name=name,
            action=Action.PARK,
            outcome=outcome,
            detail=detail[:500],
            action_id=night_action_id(request, now),
        )

    if mode == "report":
        return answer("refused", f"not parked tonight: {name}: this stack is deployed in report mode")
    stale = _schedule_in_force(table, request)
    if stale:
        return answer("skipped", f"not parked tonight: {stale}; nothing changed")
    other = [i for i in table.intents(name) if i.state == "open" and i.action != Action.PARK]
    if other:
        return answer(
            "refused",
            f"not parked tonight: change {other[0].action_id} ({other[0].action.value}) on {name} is unfinished",
        )
    try:
        described: dict[str, Any] = dict(clients.sagemaker.describe_endpoint(EndpointName=name))
    except ClientError as error:
        if not is_missing(error):
            raise
        if is_parked(table, name):
            return answer("skipped", f"{name} is parked already; nothing changed")
        return answer("refused", f"not parked tonight: {name} no longer exists")
    action = ProposedAction(
        action_id=night_action_id(request, now),
        finding=_night_finding(clients, described, now=now),
        mode="auto",
        approval_timeout_seconds=0,
    )
    try:
        result = park(
            clients.sagemaker,
            clients.autoscaling,
            clients.cloudwatch,
            table,
            action,
            skip_tag_key=skip_tag_key,
            approved_by=f"night schedule of change {request.schedule_action_id}",
            now=now,
        )
    except ActionRefused as refusal:
        result = refused(action, f"not parked tonight: {refusal}")
    return result.model_copy(update={"action_id": action.action_id})


def restore_morning(
    clients: Clients, table: ChangeRecords, request: NightRequest, *, now: datetime
) -> ActionResult | None:
    """Bring back a park this schedule made (restore() itself, one call at a time: None while the endpoint
    is coming back). Not parked by this schedule: nothing to do. RestoreFailed propagates (the workflow
    fails, which the stack's apply-failed alarm reports)."""
    name = request.endpoint_name
    if not parked_by_schedule(table, name, request.schedule_action_id):
        return ActionResult(
            endpoint_name=name,
            action=Action.PARK,
            outcome="skipped",
            detail=f"{name} is not parked by its night schedule; nothing to restore",
        )
    way_back = restore(
        clients.sagemaker,
        clients.autoscaling,
        table,
        name,
        s3=clients.s3,
        ecr=clients.ecr,
        now=now,
        restored_by=f"morning schedule of change {request.schedule_action_id}",
        wait=False,
    )
    if is_parked(table, name):
        return None  # CreateEndpoint issued; autoscaling is replayed once it is InService
    return ActionResult(
        endpoint_name=name,
        action=Action.PARK,
        outcome="restored",
        detail=f"restored for the day from config {way_back.config_name} "
        f"(snapshot {way_back.taken_at.isoformat()})",
    )
