"""Moved: the state table is infra/stores/ now (one store per record kind; keys.py has the key plan).
These names stay importable from here for the importers not yet moved (functions/analyze, e2e tests)."""

from endpoint_optimizer.infra.stores import (
    LOCK_APPLY_MARGIN,
    ApprovalAlreadyDecided,
    ApprovalExpired,
    ApprovalNotFound,
    LockHeld,
    StateTable,
)

__all__ = [
    "LOCK_APPLY_MARGIN",
    "ApprovalAlreadyDecided",
    "ApprovalExpired",
    "ApprovalNotFound",
    "LockHeld",
    "StateTable",
]
