"""The DynamoDB stores of the way back (snapshots, intents), the ledger and the scan's memory, at the
wire: the exact request each sends (botocore Stubber) and what each DynamoDB error becomes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.infra.stores import (
    DynamoDBIntents,
    DynamoDBLedger,
    DynamoDBWayBacks,
    WayBackNotFound,
)
from endpoint_optimizer.infra.stores.scan_cache import ConfigInfo, DynamoDBScanState, ScanMemory
from endpoint_optimizer.models import Action, Intent, LedgerEntry, Variant, WayBack

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLE = "state"
NAME = "idle-fraud-xgb"
A_YEAR_ON = str(int((NOW + timedelta(days=365)).timestamp()))  # RECORD_RETENTION after NOW


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def way_back(taken_at: datetime = NOW) -> WayBack:
    return WayBack(
        endpoint_name=NAME,
        taken_at=taken_at,
        config_name="config-1",
        tags={},
        scalable_targets=[],
        variants=[Variant(name="AllTraffic", instance_count=1)],
    )


def intent() -> Intent:
    return Intent(
        endpoint_name=NAME, action_id="a1", action=Action.PARK, snapshot_taken_at=NOW, started_at=NOW
    )


def entry(at: datetime, detail: str = "") -> LedgerEntry:
    return LedgerEntry(
        endpoint_name=NAME, recorded_at=at, action=Action.PARK, outcome="applied", detail=detail
    )


def query(pk: str, **more: Any) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ScanIndexForward": True,
        "ConsistentRead": True,
        **more,
    }


# ---- snapshots ---------------------------------------------------------------------------------------
def test_a_snapshot_is_put_without_an_expiry(stub: Stubber) -> None:
    """GIVEN a snapshot WHEN stored THEN under SNAPSHOT#<endpoint> / <taken at>, and with no `expiration`:
    it is the way back for as long as the endpoint is parked."""
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                "pk": {"S": f"SNAPSHOT#{NAME}"},
                "sk": {"S": NOW.isoformat()},
                "body": {"S": way_back().model_dump_json()},
            },
        },
    )
    DynamoDBWayBacks(stub.client, TABLE).put_way_back(way_back())  # type: ignore[arg-type]


def test_the_latest_way_back_is_one_item_read_newest_first(stub: Stubber) -> None:
    stub.add_response(
        "query",
        {"Items": [{"body": {"S": way_back().model_dump_json()}}]},
        query(f"SNAPSHOT#{NAME}", ScanIndexForward=False, Limit=1),
    )
    assert DynamoDBWayBacks(stub.client, TABLE).latest_way_back(NAME) == way_back()  # type: ignore[arg-type]


def test_retiring_a_snapshot_sets_its_expiry_only_if_it_exists(stub: Stubber) -> None:
    """GIVEN a stored snapshot, then a missing one WHEN retired THEN an update of `expiration` a year on,
    conditional on the item existing; a missing one is SnapshotNotFound, any other error is raised."""
    request = {
        "TableName": TABLE,
        "Key": {"pk": {"S": f"SNAPSHOT#{NAME}"}, "sk": {"S": NOW.isoformat()}},
        "UpdateExpression": "SET expiration = :expiration",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeValues": {":expiration": {"N": A_YEAR_ON}},
    }
    stub.add_response("update_item", {}, request)
    stub.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
    stub.add_client_error("update_item", service_error_code="ThrottlingException")
    snapshots = DynamoDBWayBacks(stub.client, TABLE)  # type: ignore[arg-type]
    snapshots.retire_way_back(way_back(), now=NOW)
    with pytest.raises(WayBackNotFound):
        snapshots.retire_way_back(way_back(), now=NOW)
    with pytest.raises(ClientError, match="ThrottlingException"):
        snapshots.retire_way_back(way_back(), now=NOW)


# ---- intents -----------------------------------------------------------------------------------------
def test_an_open_intent_has_no_expiry_and_a_resolved_one_expires_with_the_ledger(stub: Stubber) -> None:
    key = {"pk": {"S": f"INTENT#{NAME}"}, "sk": {"S": "a1"}}
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {**key, "state": {"S": "open"}, "body": {"S": intent().model_dump_json()}},
        },
    )
    done = intent().model_copy(update={"state": "done"})
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **key,
                "state": {"S": "done"},
                "expiration": {"N": A_YEAR_ON},
                "body": {"S": done.model_dump_json()},
            },
        },
    )
    intents = DynamoDBIntents(stub.client, TABLE)  # type: ignore[arg-type]
    intents.put_intent(intent())
    intents.resolve_intent(intent(), "done", now=NOW)


def test_an_intent_is_read_consistently_by_its_action_id(stub: Stubber) -> None:
    request = {
        "TableName": TABLE,
        "Key": {"pk": {"S": f"INTENT#{NAME}"}, "sk": {"S": "a1"}},
        "ConsistentRead": True,
    }
    stub.add_response("get_item", {"Item": {"body": {"S": intent().model_dump_json()}}}, request)
    stub.add_response("get_item", {}, request)
    intents = DynamoDBIntents(stub.client, TABLE)  # type: ignore[arg-type]
    assert intents.intent(NAME, "a1") == intent()
    assert intents.intent(NAME, "a1") is None


# ---- ledger ------------------------------------------------------------------------------------------
def test_a_ledger_entry_and_its_month_index_are_written_together_and_kept_a_year(stub: Stubber) -> None:
    """GIVEN a ledger entry WHEN recorded THEN one transaction writes it under its endpoint and under the
    month it was recorded in (the month index the run summary reads), both kept a year."""
    body = {"body": {"S": entry(NOW).model_dump_json()}, "expiration": {"N": A_YEAR_ON}}
    stub.add_response(
        "transact_write_items",
        {},
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S": f"LEDGER#{NAME}"}, "sk": {"S": NOW.isoformat()}, **body},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {
                            "pk": {"S": f"LEDGERMONTH#{NOW:%Y-%m}"},
                            "sk": {"S": f"{NOW.isoformat()}#{NAME}"},
                            **body,
                        },
                    }
                },
            ]
        },
    )
    DynamoDBLedger(stub.client, TABLE).put_ledger_entry(entry(NOW))  # type: ignore[arg-type]


def test_the_ledger_is_read_to_its_last_page(stub: Stubber) -> None:
    """GIVEN a ledger DynamoDB returns in two pages WHEN read THEN the second page is asked from where
    the first ended, and every entry comes back in order."""
    first, second = entry(NOW, "first"), entry(NOW + timedelta(days=1), "second")
    last_key = {"pk": {"S": f"LEDGER#{NAME}"}, "sk": {"S": NOW.isoformat()}}
    stub.add_response(
        "query",
        {"Items": [{"body": {"S": first.model_dump_json()}}], "LastEvaluatedKey": last_key},
        query(f"LEDGER#{NAME}"),
    )
    stub.add_response(
        "query",
        {"Items": [{"body": {"S": second.model_dump_json()}}]},
        query(f"LEDGER#{NAME}", ExclusiveStartKey=last_key),
    )
    assert DynamoDBLedger(stub.client, TABLE).ledger(NAME) == [first, second]  # type: ignore[arg-type]


# ---- the scan's memory -------------------------------------------------------------------------------
def test_the_scans_memory_writes_only_what_changed_since_it_was_loaded(stub: Stubber) -> None:
    """GIVEN a memory of two configs, loaded WHEN one is kept as it was, one dropped and one added THEN
    one BatchWriteItem puts the added one and deletes the dropped one; the unchanged one is not written."""
    pk = {"S": "SCANCACHE#123456789012#us-east-1"}
    kept, dropped = ConfigInfo(name="kept", variants={}), ConfigInfo(name="dropped", variants={})
    stub.add_response(
        "query",
        {
            "Items": [
                {"pk": pk, "sk": {"S": "C#kept"}, "body": {"S": kept.model_dump_json()}},
                {"pk": pk, "sk": {"S": "C#dropped"}, "body": {"S": dropped.model_dump_json()}},
            ]
        },
        {"TableName": TABLE, "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}},
    )
    added = ConfigInfo(name="added", variants={}, vpc=True)
    stub.add_response(
        "batch_write_item",
        {},
        {
            "RequestItems": {
                TABLE: [
                    {
                        "PutRequest": {
                            "Item": {"pk": pk, "sk": {"S": "C#added"}, "body": {"S": added.model_dump_json()}}
                        }
                    },
                    {"DeleteRequest": {"Key": {"pk": pk, "sk": {"S": "C#dropped"}}}},
                ]
            }
        },
    )
    state = DynamoDBScanState(stub.client, TABLE, "123456789012", "us-east-1")  # type: ignore[arg-type]
    memory = state.load()
    assert memory == ScanMemory(configs={"kept": kept, "dropped": dropped})
    state.save(ScanMemory(configs={"kept": kept, "added": added}))
