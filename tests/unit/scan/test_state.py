"""The scan's memory in DynamoDB keeps everything it was given, even when DynamoDB takes a batch in parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from endpoint_optimizer.models import Endpoint, Variant
from endpoint_optimizer.scan.state import (
    DYNAMODB_BATCH,
    CachedEndpoint,
    ConfigInfo,
    DynamoDBScanState,
    ScanMemory,
)

CHANGED_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class PartialBatches:
    """The moto client, except that the first `partial` BatchWriteItem calls write only their first
    `taken` requests and hand the rest back as UnprocessedItems, as DynamoDB does under throttling."""

    def __init__(self, client: Any, *, partial: int, taken: int = 3) -> None:
        self._client = client
        self._partial = partial
        self._taken = taken
        self.batch_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]], **kwargs: Any) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.batch_sizes.append(len(requests))
        if self._partial <= 0:
            answer: dict[str, Any] = self._client.batch_write_item(RequestItems=RequestItems, **kwargs)
            return answer
        self._partial -= 1
        written, left = requests[: self._taken], requests[self._taken :]
        self._client.batch_write_item(RequestItems={table: written}, **kwargs)
        return {"UnprocessedItems": {table: left} if left else {}}


def endpoint(name: str) -> Endpoint:
    return Endpoint(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        account_id="123456789012",
        region="us-east-1",
        status="InService",
        created_at=CHANGED_AT,
        last_modified_at=CHANGED_AT,
        config_name=f"{name}-config",
        variants=[Variant(name="AllTraffic", instance_type="ml.m5.large", instance_count=1)],
    )


def memory(names: list[str]) -> ScanMemory:
    return ScanMemory(
        endpoints={n: CachedEndpoint(last_modified_at=CHANGED_AT, endpoint=endpoint(n)) for n in names},
        configs={f"{n}-config": ConfigInfo(name=f"{n}-config", variants={}) for n in names},
    )


def test_items_dynamodb_hands_back_unprocessed_are_written_again_until_all_are_saved(dynamodb: Any) -> None:
    # GIVEN a fleet whose memory needs two batches, and DynamoDB taking only 3 items of each of the
    # first three BatchWriteItem calls
    names = [f"ep-{index:02d}" for index in range(20)]  # 40 items: a batch of 25 and one of 15
    client = PartialBatches(dynamodb, partial=3)

    # WHEN the scan saves its memory
    DynamoDBScanState(client, "state", "123456789012", "us-east-1").save(memory(names))  # type: ignore[arg-type]

    # THEN what was handed back was sent again, and a fresh reader finds every endpoint and config
    assert client.batch_sizes == [DYNAMODB_BATCH, 22, 19, 16, 40 - DYNAMODB_BATCH]
    loaded = DynamoDBScanState(dynamodb, "state", "123456789012", "us-east-1").load()
    assert sorted(loaded.endpoints) == names
    assert sorted(loaded.configs) == [f"{n}-config" for n in names]
    assert loaded.endpoints["ep-07"].endpoint == endpoint("ep-07")


def test_a_repeat_save_writes_only_what_changed_and_deletes_what_was_forgotten(dynamodb: Any) -> None:
    # GIVEN a memory saved and read back by the next run
    DynamoDBScanState(dynamodb, "state", "123456789012", "us-east-1").save(memory(["kept", "gone"]))
    client = PartialBatches(dynamodb, partial=0)
    state = DynamoDBScanState(client, "state", "123456789012", "us-east-1")  # type: ignore[arg-type]
    state.load()

    # WHEN the next run saves a memory without "gone" and with a new endpoint
    state.save(memory(["kept", "new"]))

    # THEN one batch put the 2 new items and deleted the 2 forgotten ones; "kept" was not rewritten
    assert client.batch_sizes == [4]
    loaded = DynamoDBScanState(dynamodb, "state", "123456789012", "us-east-1").load()
    assert sorted(loaded.endpoints) == ["kept", "new"]
    assert sorted(loaded.configs) == ["kept-config", "new-config"]


def test_scan_memories_of_two_targets_share_the_table_without_mixing(dynamodb: Any) -> None:
    DynamoDBScanState(dynamodb, "state", "111111111111", "us-east-1").save(memory(["a"]))
    DynamoDBScanState(dynamodb, "state", "222222222222", "eu-west-1").save(memory(["b"]))

    assert list(DynamoDBScanState(dynamodb, "state", "111111111111", "us-east-1").load().endpoints) == ["a"]
    assert list(DynamoDBScanState(dynamodb, "state", "222222222222", "eu-west-1").load().endpoints) == ["b"]
