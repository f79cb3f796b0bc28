"""The one apply workflow's steps, for every applied action (statemachines/apply.asl.json).

Start: authorise (the stack's mode, the approval record, this stack's account and region) -> re-check
(act/recheck.py) -> the action's own refusals -> snapshot (the whole way back) -> the action's plan ->
intent (written before anything changes). Act -> Check progress (the workflow's Wait loop, with a
deadline) -> Verify and record. On any failure after Start: Roll back -> Check rollback -> Record
rollback. The action's steps (act/steps.py, one module per action) do the action's part; this module
owns what they share.

Park is one step: Start parks (park() re-checks, snapshots, deletes and sees the endpoint gone within
the call) and its rollback is park's own `recover`.

Invariant (tests/integration/test_apply_faults.py): whatever step fails, dies or loses its reply, the
endpoint ends serving as before, or at the verified target, with its way back stored; 0 lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from endpoint_optimizer.act.authorise import Mode, authorise
from endpoint_optimizer.act.capture import capture_way_back
from endpoint_optimizer.act.endpoint_state import ActionRefused, is_missing
from endpoint_optimizer.act.park import park, refused
from endpoint_optimizer.act.park import recover as recover_park
from endpoint_optimizer.act.recheck import recheck
from endpoint_optimizer.act.steps import ChangeSteps
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import StateStore
from endpoint_optimizer.models import (
    Action,
    ActionResult,
    Intent,
    LedgerEntry,
    ProposedAction,
    WayBack,
)
from endpoint_optimizer.models.change import Change, Progress


class ChangeFailed(RuntimeError):
    """The change did not settle at its target (deadline, a failed status, a verify that found the
    endpoint elsewhere): the workflow's Catch rolls it back."""


class RollbackFailed(RuntimeError):
    """The rollback did not settle: the intent stays open, the way back stays stored; a person runs
    `endpoint-optimizer undo ACTION_ID` (the run's summary says so)."""


# ---- Start ------------------------------------------------------------------------------------------
def start(
    clients: Clients,
    table: StateStore,
    action: ProposedAction,
    *,
    steps: ChangeSteps | None,
    mode: Mode,
    auto_applies: bool,
    skip_tag_key: str,
    now: datetime,
    home: tuple[str, str] | None = None,
    wait_seconds: int = 30,
    max_wait: timedelta = timedelta(hours=2),
) -> Change:
    """Authorise, re-check, snapshot, plan and write the intent. Nothing changes here (except for park,
    which is one step). A refusal is an answer: the Change carries it as its result."""
    finding = action.finding
    name = finding.endpoint_name
    try:
        authorise(table, action, mode=mode, auto_applies=auto_applies, home=home)
        if finding.action == Action.PARK:
            result = park(
                clients.sagemaker,
                clients.autoscaling,
                clients.cloudwatch,
                table,
                action,
                skip_tag_key=skip_tag_key,
                approved_by=_approver(action),
                now=now,
            )
            return _done(action, now, result)
        if steps is None:
            raise ActionRefused(f"action {finding.action.value} cannot be applied (report only)")
        own = table.intent(name, action.action_id)
        if own is not None:  # a retry of this Start whose reply was lost: carry on from its intent
            return _change_of(action, own, wait_seconds)
        unfinished = [intent for intent in table.intents(name) if intent.state == "open"]
        if unfinished:
            raise ActionRefused(
                f"{name}: change {unfinished[0].action_id} ({unfinished[0].action.value}) on this endpoint "
                "is unfinished; its rollback (or `endpoint-optimizer undo`) comes first"
            )
        try:
            described: dict[str, Any] = dict(clients.sagemaker.describe_endpoint(EndpointName=name))
        except ClientError as error:
            if is_missing(error):
                raise ActionRefused(f"{name} no longer exists; nothing to change") from None
            raise
        tags = {
            t["Key"]: t["Value"]
            for t in clients.sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        }
        recheck(
            clients.sagemaker,
            clients.cloudwatch,
            finding,
            described,
            tags,
            skip_tag_key=skip_tag_key,
            now=now,
        )
        steps.refuse(described, tags, finding)
        way_back = capture_way_back(clients.sagemaker, clients.autoscaling, described, tags, now)
        target = steps.plan(clients, action, way_back, now)
    except ActionRefused as refusal:
        return _done(action, now, refused(action, str(refusal)))
    act_at = _act_at(target, now)
    table.put_way_back(way_back)  # the way back is stored before anything changes
    intent = Intent(
        endpoint_name=name,
        action_id=action.action_id,
        action=finding.action,
        snapshot_taken_at=way_back.taken_at,
        started_at=now,
        target=target,
        deadline=(act_at or now) + max_wait,
    )
    table.put_intent(intent)
    return _change_of(action, intent, wait_seconds)


def _act_at(target: dict[str, Any], now: datetime) -> datetime | None:
    """A later start the action's plan asked for (`act_at`), or None to act at once."""
    value = target.get("act_at")
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment > now else None


def _change_of(action: ProposedAction, intent: Intent, wait_seconds: int) -> Change:
    act_at = intent.target.get("act_at")
    return Change(
        action_id=action.action_id,
        action=intent.action,
        endpoint_name=intent.endpoint_name,
        snapshot_taken_at=intent.snapshot_taken_at,
        started_at=intent.started_at,
        target=intent.target,
        wait_seconds=wait_seconds,
        deadline=intent.deadline or intent.started_at,
        act_at=datetime.fromisoformat(str(act_at)) if act_at else None,
    )


def _done(action: ProposedAction, now: datetime, result: ActionResult) -> Change:
    finding = action.finding
    return Change(
        action_id=action.action_id,
        action=finding.action,
        endpoint_name=finding.endpoint_name,
        snapshot_taken_at=now,
        started_at=now,
        deadline=now,
        result=result,
    )


# ---- Act, Check progress, Verify --------------------------------------------------------------------
def way_back_of(table: StateStore, change: Change) -> WayBack:
    way_back = table.way_back(change.endpoint_name, change.snapshot_taken_at)
    if way_back is None:  # cannot happen: Start stores the way back before the intent
        raise RuntimeError(
            f"{change.endpoint_name}: snapshot {change.snapshot_taken_at.isoformat()} is not stored"
        )
    return way_back


def act(clients: Clients, table: StateStore, steps: ChangeSteps, change: Change) -> Change:
    way_back = way_back_of(table, change)
    if change.act_at is not None:
        _still_as_snapshotted(clients, change, way_back)
    steps.act(clients, change, way_back)
    return change


def _still_as_snapshotted(clients: Clients, change: Change, way_back: WayBack) -> None:
    """After a wait (the quiet hour), the endpoint must still be as Start re-checked and snapshotted it."""
    described = clients.sagemaker.describe_endpoint(EndpointName=change.endpoint_name)
    if described["EndpointStatus"] != "InService" or described["EndpointConfigName"] != way_back.config_name:
        raise ChangeFailed(
            f"{change.endpoint_name} changed while the change waited for {change.act_at} (now "
            f"{described['EndpointStatus']} on {described['EndpointConfigName']}); nothing was changed"
        )


def progress(clients: Clients, steps: ChangeSteps, change: Change, *, now: datetime) -> Progress:
    """Waiting or stable; raises ChangeFailed when the change cannot settle (the Catch rolls it back)."""
    seen = steps.progress(clients, change)
    if seen.state == "failed":
        raise ChangeFailed(f"{change.endpoint_name}: {seen.detail}")
    if seen.state == "waiting" and now >= change.deadline:
        raise ChangeFailed(
            f"{change.endpoint_name} had not settled by {change.deadline.isoformat()} ({seen.detail or 'still changing'})"
        )
    return seen


def verify(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps,
    action: ProposedAction,
    change: Change,
    *,
    now: datetime,
) -> ActionResult:
    """At the target: record it applied (ledger with before/after cost), remove the change's temporary
    resources. Anywhere else -- including a rollback SageMaker made by itself -- raises ChangeFailed: the
    workflow rolls back (a no-op when SageMaker already did) and records it rolled back, never as savings."""
    way_back = way_back_of(table, change)
    at_target, detail = steps.verify(clients, change, way_back)
    if not at_target:
        raise ChangeFailed(f"{change.endpoint_name}: {detail}")
    steps.finish(clients, change)
    intent = table.intent(change.endpoint_name, change.action_id)
    finding = action.finding
    if not _recorded(table, change, "applied"):
        before = finding.current_monthly_cost_usd
        savings = finding.estimated_monthly_savings_usd
        table.put_ledger_entry(
            LedgerEntry(
                endpoint_name=change.endpoint_name,
                recorded_at=now,
                action=change.action,
                outcome="applied",
                approved_by=_approver(action),
                monthly_cost_before_usd=before,
                monthly_cost_after_usd=None
                if before is None or savings is None
                else round(before - savings, 2),
                detail=detail,
                snapshot_taken_at=change.snapshot_taken_at,
                action_id=change.action_id,
                target=change.target,
            )
        )
    if intent is not None and intent.state == "open":
        table.resolve_intent(intent, "done", now=now)
    return ActionResult(
        endpoint_name=change.endpoint_name,
        action=change.action,
        outcome="applied",
        estimated_monthly_savings_usd=finding.estimated_monthly_savings_usd,
        detail=f"{detail}; undo with: endpoint-optimizer undo {change.action_id}",
        action_id=change.action_id,
    )


def _recorded(table: StateStore, change: Change, outcome: str) -> bool:
    return any(
        entry.action_id == change.action_id and entry.outcome == outcome
        for entry in table.ledger(change.endpoint_name)
    )


# ---- Roll back, Check rollback, Record rollback -----------------------------------------------------
def roll_back(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps | None,
    action: ProposedAction,
    change: Change | None,
    *,
    error: str,
    now: datetime,
    wait_seconds: int = 30,
    max_wait: timedelta = timedelta(hours=2),
) -> Change:
    """Start taking the change back. Without a Change (Start failed or died), from this action's intent;
    without an intent, nothing was changed. Park's rollback is its `recover` (one step)."""
    finding = action.finding
    if finding.action == Action.PARK:
        result = recover_park(
            clients.sagemaker,
            clients.autoscaling,
            table,
            action,
            error=error,
            approved_by=_approver(action),
            now=now,
        )
        return _done(action, now, result)
    intent = table.intent(finding.endpoint_name, action.action_id)
    if intent is None:
        return _done(action, now, _failed(action, f"nothing was changed ({error})"))
    if intent.state == "rolled_back":
        return _done(action, now, _rolled_back(action, error))
    change = change or _change_of(action, intent, wait_seconds)
    # The rollback has a wait of its own: the change's deadline may be what ended it.
    change = change.model_copy(update={"deadline": now + max_wait, "wait_seconds": wait_seconds})
    if steps is None:  # cannot happen: Start refuses an action without steps before its intent
        raise RollbackFailed(f"{finding.endpoint_name}: no steps to roll back {change.action.value}")
    steps.roll_back(clients, change, way_back_of(table, change))
    return change


def rollback_progress(
    clients: Clients, table: StateStore, steps: ChangeSteps, change: Change, *, now: datetime
) -> Progress:
    seen = steps.rollback_progress(clients, change, way_back_of(table, change))
    if seen.state == "failed" or (seen.state == "waiting" and now >= change.deadline):
        raise RollbackFailed(
            f"{change.endpoint_name}: the rollback did not settle ({seen.detail or 'still changing'}); its way "
            f"back is stored: endpoint-optimizer undo {change.action_id}"
        )
    return seen


def record_rollback(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps,
    action: ProposedAction,
    change: Change,
    *,
    error: str,
    now: datetime,
) -> ActionResult:
    """Back as before: the change's temporary resources removed, the intent closed, the ledger says
    rolled back (and, when the change had been recorded applied, that its savings end here)."""
    steps.finish(clients, change)
    if not _recorded(table, change, "rolled_back"):
        table.put_ledger_entry(
            LedgerEntry(
                endpoint_name=change.endpoint_name,
                recorded_at=now,
                action=change.action,
                outcome="rolled_back",
                approved_by=_approver(action),
                detail=f"rolled back: {error}"[:500],
                snapshot_taken_at=change.snapshot_taken_at,
                action_id=change.action_id,
                target=change.target,
            )
        )
    intent = table.intent(change.endpoint_name, change.action_id)
    if intent is not None and intent.state != "rolled_back":
        table.resolve_intent(intent, "rolled_back", now=now)
    return _rolled_back(action, error)


# ---- results ----------------------------------------------------------------------------------------
def _approver(action: ProposedAction) -> str | None:
    return action.approval.approved_by if action.approval else None


def _failed(action: ProposedAction, detail: str) -> ActionResult:
    return ActionResult(
        endpoint_name=action.finding.endpoint_name,
        action=action.finding.action,
        outcome="failed",
        estimated_monthly_savings_usd=None,
        detail=detail[:500],
    )


def _rolled_back(action: ProposedAction, error: str) -> ActionResult:
    return ActionResult(
        endpoint_name=action.finding.endpoint_name,
        action=action.finding.action,
        outcome="rolled_back",
        estimated_monthly_savings_usd=None,  # never counted as savings
        detail=f"rolled back, serving as before: {error}"[:500],
    )


# ---- Undo -------------------------------------------------------------------------------------------
class UndoRefused(RuntimeError):
    """Nothing was undone, and why (no such change, already undone, the endpoint changed since)."""


def applied_entry(table: StateStore, action_id: str) -> LedgerEntry:
    """The ledger's last word on the change `action_id`: it must be applied (not yet undone)."""
    entries = sorted(
        (entry for entry in table.all_ledger_entries() if entry.action_id == action_id),
        key=lambda entry: entry.recorded_at,
    )
    if not entries:
        raise UndoRefused(f"no change {action_id} in the ledger (see: endpoint-optimizer ledger)")
    last = entries[-1]
    if last.outcome != "applied":
        raise UndoRefused(f"change {action_id} on {last.endpoint_name} is {last.outcome}; nothing to undo")
    return last


def applied_change(table: StateStore, endpoint_name: str, action_id: str) -> LedgerEntry:
    """As `applied_entry`, reading only the endpoint's ledger (a Query, not a Scan of the table)."""
    entries = [entry for entry in table.ledger(endpoint_name) if entry.action_id == action_id]
    if not entries:
        raise UndoRefused(f"no change {action_id} on {endpoint_name} in the ledger")
    last = max(entries, key=lambda entry: entry.recorded_at)
    if last.outcome != "applied":
        raise UndoRefused(f"change {action_id} on {endpoint_name} is {last.outcome}; nothing to undo")
    return last


def undone_entry(table: StateStore, endpoint_name: str, action_id: str) -> LedgerEntry | None:
    """The change's `undone` entry, once its undo is recorded (a retried Record undo finds its own work)."""
    return next(
        (
            entry
            for entry in table.ledger(endpoint_name)
            if entry.action_id == action_id and entry.outcome == "undone"
        ),
        None,
    )


def _undo_change(entry: LedgerEntry, *, now: datetime, wait_seconds: int = 30) -> Change:
    if entry.action_id is None or entry.snapshot_taken_at is None:
        raise UndoRefused(f"the ledger entry of {entry.endpoint_name} names no change to undo")
    return Change(
        action_id=entry.action_id,
        action=Action(entry.action),
        endpoint_name=entry.endpoint_name,
        snapshot_taken_at=entry.snapshot_taken_at,
        started_at=entry.recorded_at,
        target=entry.target,
        wait_seconds=wait_seconds,
        deadline=now,
    )


def undo_start(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps,
    entry: LedgerEntry,
    *,
    now: datetime,
    wait_seconds: int = 30,
    max_wait: timedelta = timedelta(hours=2),
) -> Change:
    """The undo of an applied change, checked: only while the endpoint is still as the change left it
    (else nobody's later change is overwritten). The change's deadline bounds the wait. Reads only:
    `undo_roll_back`, its own step, starts the way back -- a retry of this step (its reply lost) then
    never finds the rollback under way and refuses it while the ledger still says applied."""
    change = _undo_change(entry, now=now, wait_seconds=wait_seconds)
    at_target, detail = steps.verify(clients, change, way_back_of(table, change))
    if not at_target:
        raise UndoRefused(
            f"{entry.endpoint_name} is no longer as change {entry.action_id} left it ({detail}); nothing undone"
        )
    return change.model_copy(update={"deadline": now + max_wait})


def undo_roll_back(clients: Clients, table: StateStore, steps: ChangeSteps, change: Change) -> Change:
    """Start bringing the endpoint back to the way back; idempotent, so a retried step is harmless."""
    steps.roll_back(clients, change, way_back_of(table, change))
    return change


def undo_progress(
    clients: Clients, table: StateStore, steps: ChangeSteps, change: Change, *, now: datetime
) -> Progress:
    seen = steps.rollback_progress(clients, change, way_back_of(table, change))
    if seen.state == "failed" or (seen.state == "waiting" and now >= change.deadline):
        raise RollbackFailed(
            f"{change.endpoint_name}: undo did not settle ({seen.detail or 'still changing'}); run "
            f"`endpoint-optimizer undo {change.action_id}` to follow it"
        )
    return seen


def undo_record(
    clients: Clients, table: StateStore, steps: ChangeSteps, entry: LedgerEntry, *, now: datetime
) -> LedgerEntry:
    """Back: the change's temporary resources removed, the ledger says undone (its savings end here)."""
    change = _undo_change(entry, now=now)
    steps.finish(clients, change)
    way_back = way_back_of(table, change)
    undone = LedgerEntry(
        endpoint_name=entry.endpoint_name,
        recorded_at=now,
        action=entry.action,
        outcome="undone",
        monthly_cost_before_usd=entry.monthly_cost_after_usd,
        monthly_cost_after_usd=entry.monthly_cost_before_usd,
        detail=f"undone: back to config {way_back.config_name} as of {way_back.taken_at.isoformat()}",
        snapshot_taken_at=entry.snapshot_taken_at,
        action_id=entry.action_id,
        target=entry.target,
    )
    table.put_ledger_entry(undone)
    return undone


def undo(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps,
    entry: LedgerEntry,
    *,
    now: datetime,
    pause: Callable[[], None],
    polls: int = 240,
) -> LedgerEntry:
    """The operator's undo (`endpoint-optimizer undo`): the workflow's undo steps in one call, polling
    with `pause` between reads."""
    change = undo_roll_back(clients, table, steps, undo_start(clients, table, steps, entry, now=now))
    way_back = way_back_of(table, change)
    for _ in range(polls):
        seen = steps.rollback_progress(clients, change, way_back)
        if seen.state == "stable":
            break
        if seen.state == "failed":
            raise RollbackFailed(
                f"{entry.endpoint_name}: undo did not settle ({seen.detail}); run undo again"
            )
        pause()
    else:
        raise RollbackFailed(f"{entry.endpoint_name}: undo still in progress; run undo again to follow it")
    return undo_record(clients, table, steps, entry, now=now)
