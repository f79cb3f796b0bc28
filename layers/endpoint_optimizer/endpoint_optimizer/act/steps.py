"""What each applied action supplies to the one apply workflow (act/apply.py, statemachines/apply.asl.json).

An action's steps are plain functions of the clients, the change in flight and its way back; the
runner owns everything they share: authorising the action, the re-check, the snapshot, the intent, the
wait loop's deadline, the ledger. Every step is idempotent: Step Functions retries a Lambda whose reply
was lost, so a step finds its own work done and says so instead of doing it twice.

Undo is the rollback run later: `still_at_target` checks nobody changed the endpoint since (else undo
refuses), then `roll_back` and `rollback_progress` bring it back to the way back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.models import Finding, ProposedAction, WayBack
from endpoint_optimizer.models.change import Change, Progress


class ChangeSteps(Protocol):
    """One applied action's steps. Raise `ActionRefused` (nothing touched) from `refuse` or `plan`."""

    def refuse(self, described: dict[str, Any], tags: dict[str, str], finding: Finding) -> None:
        """The action's own reasons not to act on the endpoint as it is now (raise ActionRefused)."""
        ...

    def plan(
        self, clients: Clients, action: ProposedAction, way_back: WayBack, now: datetime
    ) -> dict[str, Any]:
        """What Act creates and Verify expects (Change.target), from the finding and the way back.
        Reads only: nothing is changed before the intent is stored."""
        ...

    def act(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        """Issue the change (idempotent: a retry finds its own work done)."""
        ...

    def progress(self, clients: Clients, change: Change) -> Progress:
        """Waiting while the endpoint changes, stable when it has settled, failed when it cannot settle."""
        ...

    def verify(self, clients: Clients, change: Change, way_back: WayBack) -> tuple[bool, str]:
        """(at target, detail): False with the reason when the endpoint is not at the target -- e.g. a
        blue/green update SageMaker rolled back silently (InService on the old config)."""
        ...

    def finish(self, clients: Clients, change: Change) -> None:
        """Remove what the change needed only while in flight (its rollback alarms); idempotent."""
        ...

    def roll_back(self, clients: Clients, change: Change, way_back: WayBack) -> None:
        """Start bringing the endpoint back to the way back (idempotent; also the undo)."""
        ...

    def rollback_progress(self, clients: Clients, change: Change, way_back: WayBack) -> Progress:
        """Stable once the endpoint is back as the way back describes it."""
        ...
