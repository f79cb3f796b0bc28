"""What the apply workflow (statemachines/apply.asl.json) carries between the steps of one change.

One approved action becomes one execution: Start (authorise, re-check, snapshot, intent) -> Act ->
Wait / Check progress (a Step Functions Wait loop with a deadline, never a sleeping Lambda) -> Verify
(and record) ; any failure after Act: Roll back -> Wait / Check rollback -> Record rollback. A `Change`
is the state of that execution: small JSON, everything else is in the state table (the way back under
SNAPSHOT#, the intent under INTENT#).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from endpoint_optimizer.models.findings import ProposedAction
from endpoint_optimizer.models.records import ActionResult
from endpoint_optimizer.models.scan import Action, Model

ProgressState = Literal["waiting", "stable", "failed"]


class Progress(Model):
    """What one "Check progress" / "Check rollback" call saw: keep waiting, stable, or failed (why)."""

    state: ProgressState
    detail: str = ""


class Change(Model):
    """One action's change in flight. `target` is the action's own plan (what Act creates and Verify
    expects: a config name, alarm names, capacities ...), made by its steps at Start from the finding and
    the way back; `deadline` ends the wait loop (past it, the change is rolled back)."""

    action_id: str
    action: Action
    endpoint_name: str
    snapshot_taken_at: datetime  # the way back (SNAPSHOT#) this change returns to
    started_at: datetime
    target: dict[str, Any] = Field(default_factory=dict)
    wait_seconds: int = Field(default=30, ge=0)
    deadline: datetime
    # When Act may run (a move that recreates the endpoint waits for the quietest hour of its traffic):
    # the workflow's "Wait for the quiet hour" waits until then; None acts at once.
    act_at: datetime | None = None
    # Set when Start did the whole change itself (park: DeleteEndpoint is verified within the call).
    result: ActionResult | None = None


class ApplyState(Model):
    """The apply workflow's state: every step takes it whole and returns it with its own part filled in
    (the Catch's ResultPath adds `error`). `result` ends the execution (its output to the optimize run)."""

    action: ProposedAction
    change: Change | None = None
    progress: Progress | None = None
    result: ActionResult | None = None
    error: dict[str, str | None] | None = None  # States' {"Error": ..., "Cause": ...} of a caught failure


class UndoRequest(Model):
    """Undo one applied change (the run summary's Undo button): the ledger is kept per endpoint."""

    endpoint_name: str
    action_id: str
    requested_by: str
    # The click's action_ts: two clicks are two different inputs, so Step Functions answers the second
    # ExecutionAlreadyExists (an identical input to a running execution would be accepted as the same one).
    clicked_at: str | None = None


class UndoState(Model):
    """The apply workflow's state when it undoes a change (execution `undo-<action_id>`): Start undo ->
    Wait / Check undo -> Record undo. `result` ends the execution (a refusal is a result too)."""

    undo: UndoRequest
    change: Change | None = None
    progress: Progress | None = None
    result: ActionResult | None = None
    error: dict[str, str | None] | None = None


def night_prefix(schedule_action_id: str) -> str:
    """Every night's park of one schedule change has an action id starting so (the ledger tells them apart
    from a park someone approved; realised savings count them within their schedule change)."""
    return f"{schedule_action_id}-night-"


class NightRequest(Model):
    """What a night-parking schedule (EventBridge Scheduler, act/schedule.py) starts the apply workflow with:
    park this endpoint for the night, or restore it in the morning, under the schedule change that made it."""

    endpoint_name: str
    schedule_action_id: str
    step: Literal["park", "restore"]


class NightState(Model):
    """The apply workflow's state on its night path: Park or restore for the night (one step for a park;
    a restore is called again after a Wait until the endpoint is back, or its deadline passes)."""

    night: NightRequest
    wait_seconds: int = Field(default=30, ge=0)
    deadline: datetime | None = None  # set by the first restore call
    result: ActionResult | None = None
    error: dict[str, str | None] | None = None
