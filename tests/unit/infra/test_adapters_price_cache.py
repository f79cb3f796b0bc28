"""The DynamoDB price cache, at the wire: one item PRICECACHE#<sorted region set> / PRICES per region set,
the exact GetItem/PutItem it sends (botocore Stubber: any other call, or other parameters, fails the test),
what an item it cannot read becomes, and that a DynamoDB error reaches the price book's reader (which
decides what it costs: decide/pricing/price_list.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from endpoint_optimizer.infra.price_cache import CachedPrices, DynamoDBPriceCache, PriceRow

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLE = "state"
# Regions given unsorted and repeated: the key is the sorted set, so every order shares one item.
REGIONS = ["us-east-1", "eu-west-1", "us-east-1"]
KEY = {"pk": {"S": "PRICECACHE#eu-west-1,us-east-1"}, "sk": {"S": "PRICES"}}
ROWS = [
    PriceRow(
        kind="hosting",
        region="eu-west-1",
        instance_type="ml.m5.large",
        usd=0.128,
        source="AWS Price List API, read 2026-11-30",
        source_date="2026-11-30",
    ),
    PriceRow(
        kind="serverless",
        region="us-east-1",
        usd=0.00002,
        source="AWS Price List API, read 2026-11-30",
        source_date="2026-11-30",
    ),
]


@pytest.fixture
def stub() -> Iterator[Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def cache(stub: Stubber) -> DynamoDBPriceCache:
    return DynamoDBPriceCache(stub.client, TABLE, REGIONS)  # type: ignore[arg-type]


def test_saving_prices_is_one_put_item_of_the_region_sets_item_expiring_a_day_later(stub: Stubber) -> None:
    """GIVEN live rows read now WHEN they are cached THEN one PutItem of PRICECACHE#<sorted regions> / PRICES
    holding the rows and their time as JSON, with the TTL attribute `expiration` 24 hours on (epoch seconds)."""
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": {
                **KEY,
                "body": {"S": CachedPrices(fetched_at=NOW, rows=ROWS).model_dump_json()},
                "expiration": {"N": str(int((NOW + timedelta(hours=24)).timestamp()))},
            },
        },
    )
    cache(stub).save(NOW, ROWS)


def test_loading_prices_is_one_get_item_of_the_same_key_and_returns_the_rows_and_their_time(
    stub: Stubber,
) -> None:
    stub.add_response(
        "get_item",
        {"Item": {**KEY, "body": {"S": CachedPrices(fetched_at=NOW, rows=ROWS).model_dump_json()}}},
        {"TableName": TABLE, "Key": KEY},
    )
    assert cache(stub).load() == (NOW, ROWS)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({}, "no item: never cached, or expired and removed"),
        ({"Item": {**KEY}}, "an item without a body"),
        ({"Item": {**KEY, "body": {"S": "{not json"}}}, "a body that is not JSON"),
        ({"Item": {**KEY, "body": {"S": '{"fetched_at": "2026-11-30T12:00:00Z"}'}}}, "a body without rows"),
        ({"Item": {**KEY, "body": {"N": "1"}}}, "a body of another type"),
    ],
)
def test_an_item_that_cannot_be_read_is_a_miss(stub: Stubber, answer: dict[str, object], why: str) -> None:
    """GIVEN the cache's item is absent or unreadable WHEN prices are loaded THEN it is a miss (one live
    lookup), not an error."""
    stub.add_response("get_item", answer, {"TableName": TABLE, "Key": KEY})
    assert cache(stub).load() is None, why


@pytest.mark.parametrize("operation", ["get_item", "put_item"])
def test_a_dynamodb_error_reaches_the_price_books_reader(stub: Stubber, operation: str) -> None:
    """GIVEN DynamoDB refuses (throttled past the retries, no permission) WHEN the cache is read or written
    THEN the ClientError reaches the caller unchanged: the price book's reader turns it into a live lookup
    or a note (see test_price_list_adapter.py)."""
    stub.add_client_error(operation, "ProvisionedThroughputExceededException", http_status_code=400)
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        if operation == "get_item":
            cache(stub).load()
        else:
            cache(stub).save(NOW, ROWS)
