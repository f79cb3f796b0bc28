"""The fix ladder's rungs, one module each, in ladder order (each rung's `position`).

Importing a rung module registers it (`base.rung`); this package imports every one, so `LADDER` is
complete wherever it is read. Keyed by action in `RUNGS`.
"""

from endpoint_optimizer.decide.rules import (  # noqa: F401  (imported to register their rungs)
    consolidate,
    graviton,
    park,
    rightsize,
    scale_to_zero,
    schedule,
    serverless,
)
from endpoint_optimizer.decide.rules.base import REGISTERED, Context, Proposal, Rung
from endpoint_optimizer.decide.rules.park import PARK_PERMISSIONS
from endpoint_optimizer.models import Action

LADDER: tuple[Rung, ...] = tuple(sorted(REGISTERED.values(), key=lambda entry: entry.position))
RUNGS: dict[Action, Rung] = {entry.action: entry for entry in LADDER}


def rung_for(action: Action) -> Rung | None:
    return RUNGS.get(action)


def risk_rank(action: Action) -> int:
    """Blast radius of `action` when choosing what to act on; an action without a rung ranks last."""
    entry = RUNGS.get(action)
    return entry.risk_rank if entry is not None else len(RUNGS)


__all__ = ["LADDER", "PARK_PERMISSIONS", "RUNGS", "Context", "Proposal", "Rung", "risk_rank", "rung_for"]
