"""The state table's stores: one protocol per record kind, each with a DynamoDB implementation and an
in-memory twin that behaves the same (tests/unit/infra/test_stores_contract.py runs both). keys.py is the
table's key plan."""

from endpoint_optimizer.infra.stores.approvals import (
    ApprovalAlreadyDecided,
    ApprovalAlreadyExists,
    ApprovalExpired,
    ApprovalNotFound,
    ApprovalNotReopened,
    ApprovalStore,
    DynamoDBApprovals,
    InMemoryApprovals,
)
from endpoint_optimizer.infra.stores.holds import (
    LOCK_APPLY_MARGIN,
    DynamoDBHolds,
    HoldStore,
    InMemoryHolds,
    LockHeld,
)
from endpoint_optimizer.infra.stores.intents import DynamoDBIntents, InMemoryIntents, IntentStore
from endpoint_optimizer.infra.stores.keys import APPROVAL_RETENTION, RECORD_RETENTION, REJECTION_RETENTION
from endpoint_optimizer.infra.stores.ledger import DynamoDBLedger, InMemoryLedger, LedgerStore
from endpoint_optimizer.infra.stores.table import (
    ApprovalRecords,
    ChangeRecords,
    InMemoryStateTable,
    StateStore,
    StateTable,
)
from endpoint_optimizer.infra.stores.way_backs import (
    DynamoDBWayBacks,
    InMemoryWayBacks,
    WayBackNotFound,
    WayBackStore,
)

__all__ = [
    "APPROVAL_RETENTION",
    "LOCK_APPLY_MARGIN",
    "RECORD_RETENTION",
    "REJECTION_RETENTION",
    "ApprovalAlreadyDecided",
    "ApprovalAlreadyExists",
    "ApprovalExpired",
    "ApprovalNotFound",
    "ApprovalNotReopened",
    "ApprovalRecords",
    "ApprovalStore",
    "ChangeRecords",
    "DynamoDBApprovals",
    "DynamoDBHolds",
    "DynamoDBIntents",
    "DynamoDBLedger",
    "DynamoDBWayBacks",
    "HoldStore",
    "InMemoryApprovals",
    "InMemoryHolds",
    "InMemoryIntents",
    "InMemoryLedger",
    "InMemoryStateTable",
    "InMemoryWayBacks",
    "IntentStore",
    "LedgerStore",
    "LockHeld",
    "StateStore",
    "StateTable",
    "WayBackNotFound",
    "WayBackStore",
]
