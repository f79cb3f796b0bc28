"""The action registry: every action by name, its rung on the fix ladder joined with its steps in act/.

One entry per action (like Cloud Custodian's action registry): the rung (`decide.rules`) owns the name,
the ladder position, the risk rank, what the scan must read for it to judge, what applying it calls in
IAM, whether it is applied or report only, and whether it takes capacity away; act/ owns the steps that
carry it out. The IAM of the scan, of the member-account role and of the apply function is derived from
here (`scan_reads`, `apply_permissions`) and compared with the templates by tests/unit/test_template.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from endpoint_optimizer.act.park import park, recover, restore
from endpoint_optimizer.decide.ladder import GUARD_READS
from endpoint_optimizer.decide.rules import LADDER, Rung
from endpoint_optimizer.models import Action

Step = Callable[..., Any]


@dataclass(frozen=True)
class RegisteredAction:
    rung: Rung
    apply: Step | None = None  # carries the change out (after the approval, with a re-check first)
    recover: Step | None = None  # the workflow's Catch: finishes or rolls back a change that died half-way
    undo: Step | None = None  # brings the endpoint back as it was (the operator's one-step way back)
    # A check after the change, when it is a step of its own. Park has none: `park` itself re-checks
    # before the change and waits for the endpoint to be gone after it, in the same call.
    verify: Step | None = None

    @property
    def name(self) -> str:
        return self.rung.name

    @property
    def applied(self) -> bool:
        return self.rung.applied


# The apply steps of each applied action (act/). Every other action is report only.
STEPS: dict[Action, dict[str, Step]] = {
    Action.PARK: {"apply": park, "recover": recover, "undo": restore},
}

ACTIONS: dict[str, RegisteredAction] = {
    entry.name: RegisteredAction(entry, **STEPS.get(entry.action, {})) for entry in LADDER
}


def scan_reads() -> frozenset[str]:
    """What the scan reads (in this account, and through the member role): what every decision reads and
    what each rung reads to judge."""
    return frozenset(GUARD_READS).union(*(action.rung.reads for action in ACTIONS.values()))


def apply_permissions() -> frozenset[str]:
    """What the apply function calls: the write permissions of the actions it carries out."""
    return frozenset().union(*(action.rung.writes for action in ACTIONS.values() if action.applied))
