"""The whole state table as one object, for handlers and the CLI: every store at once.

`StateTable` is the DynamoDB stores over one table, `InMemoryStateTable` their in-memory twins. The
logic asks for the narrowest protocol it needs: approvals take `ApprovalRecords`, a change takes
`ChangeRecords`, and the apply step (which checks the approval, then changes) takes `StateStore`.
"""

from __future__ import annotations

from typing import Protocol

from endpoint_optimizer.infra.stores.approvals import ApprovalStore, DynamoDBApprovals, InMemoryApprovals
from endpoint_optimizer.infra.stores.holds import DynamoDBHolds, HoldStore, InMemoryHolds
from endpoint_optimizer.infra.stores.intents import DynamoDBIntents, InMemoryIntents, IntentStore
from endpoint_optimizer.infra.stores.ledger import DynamoDBLedger, InMemoryLedger, LedgerStore
from endpoint_optimizer.infra.stores.way_backs import DynamoDBWayBacks, InMemoryWayBacks, WayBackStore


class ApprovalRecords(ApprovalStore, HoldStore, Protocol):
    """What asking for and deciding an approval touches: the approval, the endpoint's lock, a rejection."""


class ChangeRecords(WayBackStore, IntentStore, LedgerStore, Protocol):
    """What a change touches: its way back (snapshot), its intent, and the ledger."""


class StateStore(ApprovalRecords, ChangeRecords, Protocol):
    """Every record of the state table but the scan and price caches (their own stores)."""


class StateTable(DynamoDBApprovals, DynamoDBHolds, DynamoDBWayBacks, DynamoDBIntents, DynamoDBLedger):
    """The state table in DynamoDB: `StateTable(dynamodb, table_name)`. Each store keeps its own keys
    (keys.py); they share only the client and the table name."""


class InMemoryStateTable(InMemoryApprovals, InMemoryHolds, InMemoryWayBacks, InMemoryIntents, InMemoryLedger):
    """The same records in memory, with the same conditions and errors: for tests and dry runs."""
