"""What a scan remembers between runs (`SCANCACHE#<account>#<region>` in the state table, a JSON file
on a laptop, or memory), so a repeat scan of an unchanged fleet costs only the list, the tag pages and
the metric series it must read again (the rolling history of the others is kept here, item `H#<name>`).

Endpoint configs are immutable once created, so a described config is valid forever. An endpoint's
description is reused while ListEndpoints reports the same LastModifiedTime. Tags, scalable targets and
scheduled actions can change without touching LastModifiedTime: they are read every run, in pages.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from endpoint_optimizer.infra.stores.keys import scan_cache_pk
from endpoint_optimizer.models import Endpoint, InferenceComponent, Variant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# BatchWriteItem takes at most 25 put or delete requests (DynamoDB API reference, read 2026-11-30).
DYNAMODB_BATCH = 25


class ConfigInfo(BaseModel):
    """What the scan needs from DescribeEndpointConfig (immutable once created)."""

    name: str
    variants: dict[str, Variant]
    shadow_variants: dict[str, Variant] = Field(default_factory=dict)
    data_capture: bool = False
    async_inference: bool = False
    vpc: bool = False
    network_isolation: bool = False


class CachedEndpoint(BaseModel):
    last_modified_at: datetime
    endpoint: Endpoint  # without tags, scalable targets, scheduled actions and inference components


class CachedComponent(BaseModel):
    last_modified_at: datetime
    endpoint_name: str
    component: InferenceComponent


class SeriesHistory(BaseModel):
    """One metric series as GetMetricData returned it: (timestamp, value) in time order, and the end of
    the window of its last read (`read_to`): what lies before it is known, what comes after is not."""

    points: list[tuple[datetime, float]] = Field(default_factory=list)
    read_to: datetime


class EndpointHistory(BaseModel):
    """The rolling look-back of every series of one endpoint (scan/history.py decides what to re-read).
    14 days of hourly Invocations are 336 points (~15 KB of JSON a variant): far under DynamoDB's 400 KB
    item limit, so one item per endpoint."""

    last_modified_at: datetime  # the endpoint's, when the series were read: a change reads them all again
    status: str | None = None  # the endpoint's too (Failed, Updating... change what it publishes)
    series: dict[str, SeriesHistory] = Field(default_factory=dict)  # by scan.history.series_key


class ScanMemory(BaseModel):
    endpoints: dict[str, CachedEndpoint] = Field(default_factory=dict)
    configs: dict[str, ConfigInfo] = Field(default_factory=dict)
    components: dict[str, CachedComponent] = Field(default_factory=dict)
    history: dict[str, EndpointHistory] = Field(default_factory=dict)  # metric series by endpoint name


class ScanStateStore(Protocol):
    def load(self) -> ScanMemory: ...

    def save(self, memory: ScanMemory) -> None: ...


class InMemoryScanState:
    def __init__(self) -> None:
        self._memory = ScanMemory()
        self._lock = threading.Lock()

    def load(self) -> ScanMemory:
        with self._lock:
            return self._memory.model_copy(deep=True)

    def save(self, memory: ScanMemory) -> None:
        with self._lock:
            self._memory = memory.model_copy(deep=True)


def default_state_path(account_id: str, region: str) -> Path:
    """The CLI's state file, under the user's cache directory (XDG_CACHE_HOME or ~/.cache)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "endpoint-optimizer" / f"scan-state-{account_id}-{region}.json"


class LocalScanState:
    """A JSON file: what the CLI keeps on a laptop (`endpoint-optimizer scan --state PATH`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ScanMemory:
        if not self.path.exists():
            return ScanMemory()
        try:
            return ScanMemory.model_validate_json(self.path.read_text(encoding="utf-8"))
        except ValueError:
            return ScanMemory()  # an unreadable cache costs one full scan, nothing else

    def save(self, memory: ScanMemory) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(memory.model_dump_json(), encoding="utf-8")
        temporary.replace(self.path)  # atomic: a crash never leaves half a file


class DynamoDBScanState:
    """One item per endpoint, config and component under `SCANCACHE#<account>#<region>` in the state table.

    Items, not one document: a fleet of 10,000 endpoints is megabytes, far over DynamoDB's 400 KB item
    limit. Only what changed since the last save is written.
    """

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, account_id: str, region: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._pk = scan_cache_pk(account_id, region)
        self._saved: dict[str, str] = {}

    def load(self) -> ScanMemory:
        memory = ScanMemory()
        request: dict[str, object] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": self._pk}},
        }
        while True:
            page = self._dynamodb.query(**request)  # type: ignore[arg-type]
            for item in page.get("Items", []):
                sort_key, body = item["sk"]["S"], item["body"]["S"]
                kind, name = sort_key.split("#", 1)
                if kind == "E":
                    memory.endpoints[name] = CachedEndpoint.model_validate_json(body)
                elif kind == "C":
                    memory.configs[name] = ConfigInfo.model_validate_json(body)
                elif kind == "I":
                    memory.components[name] = CachedComponent.model_validate_json(body)
                elif kind == "H":
                    memory.history[name] = EndpointHistory.model_validate_json(body)
                self._saved[sort_key] = body
            if "LastEvaluatedKey" not in page:
                return memory
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save(self, memory: ScanMemory) -> None:
        wanted: dict[str, str] = {}
        wanted.update({f"E#{name}": item.model_dump_json() for name, item in memory.endpoints.items()})
        wanted.update({f"C#{name}": item.model_dump_json() for name, item in memory.configs.items()})
        wanted.update({f"I#{name}": item.model_dump_json() for name, item in memory.components.items()})
        wanted.update({f"H#{name}": item.model_dump_json() for name, item in memory.history.items()})
        requests: list[dict[str, object]] = [
            {"PutRequest": {"Item": {"pk": {"S": self._pk}, "sk": {"S": key}, "body": {"S": body}}}}
            for key, body in wanted.items()
            if self._saved.get(key) != body
        ]
        requests += [
            {"DeleteRequest": {"Key": {"pk": {"S": self._pk}, "sk": {"S": key}}}}
            for key in self._saved
            if key not in wanted
        ]
        for offset in range(0, len(requests), DYNAMODB_BATCH):
            pending = {self._table: requests[offset : offset + DYNAMODB_BATCH]}
            while pending:  # BatchWriteItem may return UnprocessedItems under throttling
                answer = self._dynamodb.batch_write_item(RequestItems=pending)  # type: ignore[arg-type]
                pending = answer.get("UnprocessedItems") or {}  # type: ignore[assignment]
        self._saved = wanted
