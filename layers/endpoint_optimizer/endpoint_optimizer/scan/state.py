"""What a scan remembers between runs: the records and their stores live with the state table's other
stores (infra/stores/scan_cache.py); the names stay importable from here, where the scan uses them."""

from __future__ import annotations

import json

from endpoint_optimizer.infra.stores.scan_cache import (
    DYNAMODB_BATCH,
    CachedComponent,
    CachedEndpoint,
    ConfigInfo,
    DynamoDBScanState,
    EndpointHistory,
    InMemoryScanState,
    LocalScanState,
    ScanMemory,
    ScanStateStore,
    SeriesHistory,
    default_state_path,
)

__all__ = [
    "DYNAMODB_BATCH",
    "CachedComponent",
    "CachedEndpoint",
    "ConfigInfo",
    "DynamoDBScanState",
    "EndpointHistory",
    "InMemoryScanState",
    "LocalScanState",
    "ScanMemory",
    "ScanStateStore",
    "SeriesHistory",
    "default_state_path",
    "snapshot_size",
]


def snapshot_size(memory: ScanMemory) -> int:
    return len(json.dumps(memory.model_dump(mode="json")))
