"""The apply workflow (statemachines/apply.asl.json) run in-process, step by step, as Step Functions runs it:
Start -> Act -> Check progress (loop) -> Verify; any failure after Start (or of Start itself) -> Roll back ->
Check rollback (loop) -> Record rollback. tests/unit/test_apply_workflow.py checks the ASL has exactly
these transitions, so a trial here is a trial of the workflow.

A fault (tests/integration/faults.py) ends when the Catch runs (the outage is over by then: the rollback's
own retries are the workflow's Retry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from endpoint_optimizer.act import apply
from endpoint_optimizer.act.authorise import Mode
from endpoint_optimizer.act.steps import ChangeSteps
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import StateStore
from endpoint_optimizer.models import ActionResult, ProposedAction
from endpoint_optimizer.models.change import Change
from tests.integration.faults import Faults, LambdaDied

SKIP_TAG = "endpoint-optimizer:skip"
MAX_POLLS = 20


@dataclass
class Trace:
    """The states an execution went through, in order (for assertions and the fault table)."""

    states: list[str] = field(default_factory=list)
    change: Change | None = None


def drive(
    clients: Clients,
    table: StateStore,
    steps: ChangeSteps | None,
    action: ProposedAction,
    *,
    now: datetime,
    mode: Mode = "auto",
    auto_applies: bool = True,
    faults: Faults | None = None,
    trace: Trace | None = None,
) -> ActionResult:
    trace = trace if trace is not None else Trace()
    change: Change | None = None
    try:
        trace.states.append("Start")
        change = apply.start(
            clients,
            table,
            action,
            steps=steps,
            mode=mode,
            auto_applies=auto_applies,
            skip_tag_key=SKIP_TAG,
            now=now,
        )
        trace.change = change
        if change.result is not None:
            return change.result
        assert steps is not None
        trace.states.append("Act")
        apply.act(clients, table, steps, change)
        for _ in range(MAX_POLLS):
            trace.states.append("Check progress")
            if apply.progress(clients, steps, change, now=now).state == "stable":
                break
        else:
            raise apply.ChangeFailed("the emulated change never settled")
        trace.states.append("Verify")
        return apply.verify(clients, table, steps, action, change, now=now)
    except (LambdaDied, Exception) as error:
        if faults is not None:
            faults.active = False
        trace.states.append("Roll back")
        back = apply.roll_back(
            clients, table, steps, action, change, error=f"{type(error).__name__}: {error}", now=now
        )
        if back.result is not None:
            return back.result
        assert steps is not None
        for _ in range(MAX_POLLS):
            trace.states.append("Check rollback")
            if apply.rollback_progress(clients, table, steps, back, now=now).state == "stable":
                break
        else:
            raise apply.RollbackFailed("the emulated rollback never settled") from error
        trace.states.append("Record rollback")
        return apply.record_rollback(
            clients, table, steps, action, back, error=f"{type(error).__name__}: {error}", now=now
        )
