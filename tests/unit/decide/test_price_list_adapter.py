"""The Price List reader at the wire, beside what test_pricing.py already pins (one region's exact
GetProducts request, two pages, an error on the first call): several regions, an error part-way through
the pages, and the DynamoDB price cache around the lookup (botocore Stubber on both clients: any other
call, or other parameters, fails the test).

Products follow the layout of a real GetProducts answer (the AWS CLI example
`awscli/examples/pricing/get-products.rst`: product.attributes, product.sku, terms.OnDemand.<sku>.
<offerTermCode>.priceDimensions.<rateCode>.{unit, pricePerUnit.USD}, effectiveDate), each a JSON string;
only the fields the reader looks at are filled. SKUs are placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import ANY, Stubber

from endpoint_optimizer.decide.pricing import bundled_price_book, live_price_book
from endpoint_optimizer.infra.clients import PRICE_LIST_API_REGION
from endpoint_optimizer.infra.price_cache import CachedPrices, DynamoDBPriceCache, PriceRow

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLE = "state"
LIVE = "AWS Price List API, read 2026-11-30"


def hosting(region: str, usage_prefix: str, instance_type: str, usd: str) -> str:
    """One instance-hour product of SageMaker hosting in `region`, as GetProducts sends it (a JSON string)."""
    sku = f"PLACEHOLDER{usage_prefix}"
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "regionCode": region,
                    "component": "Hosting",
                    "operation": "RunInstance",
                    "instanceName": instance_type,
                    "usagetype": f"{usage_prefix}-Host:{instance_type}",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": usd}},
                        },
                        "effectiveDate": "2026-09-01T00:00:00Z",
                    }
                }
            },
        }
    )


def request(region: str, family: str, token: str | None = None) -> dict[str, Any]:
    """The GetProducts request for one region and product family (hosting also by component)."""
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family},
    ]
    if family == "ML Instance":
        filters.append({"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"})
    params: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": filters,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    return params | ({"NextToken": token} if token else {})


def answer(*items: str, token: str | None = None) -> dict[str, Any]:
    return {"FormatVersion": "aws_v1", "PriceList": list(items)} | ({"NextToken": token} if token else {})


@pytest.fixture
def pricing() -> Iterator[Stubber]:
    client: BaseClient = boto3.client(
        "pricing",
        region_name=PRICE_LIST_API_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # fake: the Stubber answers, nothing is sent
    )
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def dynamodb() -> Iterator[Stubber]:
    with Stubber(boto3.client("dynamodb", region_name="us-east-1")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def cache_key(regions: str) -> dict[str, Any]:
    return {"pk": {"S": f"PRICECACHE#{regions}"}, "sk": {"S": "PRICES"}}


def price_cache(dynamodb: Stubber, regions: list[str]) -> DynamoDBPriceCache:
    return DynamoDBPriceCache(dynamodb.client, TABLE, regions)  # type: ignore[arg-type]


def expect_cache_write(dynamodb: Stubber, regions: str) -> None:
    expires = str(int((NOW + timedelta(hours=24)).timestamp()))
    item = {**cache_key(regions), "body": {"S": ANY}, "expiration": {"N": expires}}
    dynamodb.add_response("put_item", {}, {"TableName": TABLE, "Item": item})


def test_each_region_is_asked_once_in_order_hosting_then_serverless(pricing: Stubber) -> None:
    """GIVEN regions named out of order and twice WHEN the live book is built THEN GetProducts is sent per
    region (sorted, once each), hosting then serverless, each filtered by that region's code."""
    pricing.add_response(
        "get_products",
        answer(hosting("eu-west-1", "EU", "ml.m5.large", "0.1280000000")),
        request("eu-west-1", "ML Instance"),
    )
    pricing.add_response("get_products", answer(), request("eu-west-1", "ML Serverless"))
    pricing.add_response(
        "get_products",
        answer(hosting("us-west-2", "USW2", "ml.m5.large", "0.1150000000")),
        request("us-west-2", "ML Instance"),
    )
    pricing.add_response("get_products", answer(), request("us-west-2", "ML Serverless"))
    book = live_price_book(pricing.client, ["us-west-2", "eu-west-1", "us-west-2"], None, NOW)
    # THEN each region's price is its own, read live
    eu, us = book.hourly("eu-west-1", "ml.m5.large"), book.hourly("us-west-2", "ml.m5.large")
    assert eu is not None and us is not None
    assert eu.usd_per_hour == pytest.approx(0.128)
    assert us.usd_per_hour == pytest.approx(0.115)
    assert eu.source.startswith(LIVE) and "EU-Host:ml.m5.large" in eu.source
    assert book.notes == []


def test_an_error_on_a_later_page_keeps_no_live_price_and_caches_nothing(
    pricing: Stubber, dynamodb: Stubber
) -> None:
    """GIVEN a cache miss and a first page of prices, then the second page throttled past the retries WHEN
    the live book is built THEN the whole bundled table is used (never half a live answer), the note names
    the error, and nothing is written to the cache (no PutItem is stubbed: one would fail the test)."""
    dynamodb.add_response("get_item", {}, {"TableName": TABLE, "Key": cache_key("us-east-1")})
    pricing.add_response(
        "get_products",
        answer(hosting("us-east-1", "USE1", "ml.m5.large", "0.0990000000"), token="page-2"),
        request("us-east-1", "ML Instance"),
    )
    pricing.add_client_error("get_products", "ThrottlingException", "Rate exceeded", 400)
    book = live_price_book(pricing.client, ["us-east-1"], price_cache(dynamodb, ["us-east-1"]), NOW)
    assert book.prices == bundled_price_book().prices
    assert len(book.notes) == 1
    assert "live prices unavailable" in book.notes[0]
    assert "ThrottlingException: Rate exceeded" in book.notes[0]


def test_a_fresh_cache_item_answers_without_a_get_products_call(pricing: Stubber, dynamodb: Stubber) -> None:
    """GIVEN the region set's item written an hour ago WHEN the live book is built THEN one GetItem and no
    GetProducts (the pricing Stubber has no answer), and the cached price is used."""
    row = PriceRow(
        kind="hosting", region="us-east-1", instance_type="ml.m5.large", usd=0.1, source=LIVE, source_date="d"
    )
    body = CachedPrices(fetched_at=NOW - timedelta(hours=1), rows=[row]).model_dump_json()
    dynamodb.add_response(
        "get_item",
        {"Item": {**cache_key("us-east-1"), "body": {"S": body}}},
        {"TableName": TABLE, "Key": cache_key("us-east-1")},
    )
    book = live_price_book(pricing.client, ["us-east-1"], price_cache(dynamodb, ["us-east-1"]), NOW)
    price = book.hourly("us-east-1", "ml.m5.large")
    assert price is not None and price.usd_per_hour == pytest.approx(0.1)


def test_an_unreadable_cache_costs_one_live_lookup_whose_prices_are_cached(
    pricing: Stubber, dynamodb: Stubber
) -> None:
    """GIVEN GetItem refused WHEN the live book is built THEN the API is asked, its price used, and the
    prices written back to the region set's item with a day's TTL."""
    dynamodb.add_client_error("get_item", "AccessDeniedException", "not allowed", 400)
    pricing.add_response(
        "get_products",
        answer(hosting("us-east-1", "USE1", "ml.m5.large", "0.0990000000")),
        request("us-east-1", "ML Instance"),
    )
    pricing.add_response("get_products", answer(), request("us-east-1", "ML Serverless"))
    expect_cache_write(dynamodb, "us-east-1")
    book = live_price_book(pricing.client, ["us-east-1"], price_cache(dynamodb, ["us-east-1"]), NOW)
    price = book.hourly("us-east-1", "ml.m5.large")
    assert price is not None and price.usd_per_hour == pytest.approx(0.099)
    assert book.notes == []


def test_a_refused_cache_write_keeps_the_live_prices_and_says_the_next_run_reads_again(
    pricing: Stubber, dynamodb: Stubber
) -> None:
    dynamodb.add_response("get_item", {}, {"TableName": TABLE, "Key": cache_key("us-east-1")})
    pricing.add_response(
        "get_products",
        answer(hosting("us-east-1", "USE1", "ml.m5.large", "0.0990000000")),
        request("us-east-1", "ML Instance"),
    )
    pricing.add_response("get_products", answer(), request("us-east-1", "ML Serverless"))
    dynamodb.add_client_error("put_item", "AccessDeniedException", "not allowed", 400)
    book = live_price_book(pricing.client, ["us-east-1"], price_cache(dynamodb, ["us-east-1"]), NOW)
    price = book.hourly("us-east-1", "ml.m5.large")
    assert price is not None and price.source.startswith(LIVE)
    assert book.notes == [
        "live prices not cached (AccessDeniedException: not allowed): the next run reads them again"
    ]


def test_a_region_without_hosting_prices_keeps_its_bundled_rows_and_says_so(pricing: Stubber) -> None:
    """GIVEN an answer with no hosting product (only an entry that is not JSON) WHEN the live book is built
    THEN the entry is skipped, not fatal, and a note names the region whose bundled rows stand."""
    pricing.add_response("get_products", answer("{not json"), request("us-east-1", "ML Instance"))
    pricing.add_response("get_products", answer(), request("us-east-1", "ML Serverless"))
    book = live_price_book(pricing.client, ["us-east-1"], None, NOW)
    assert book.prices == bundled_price_book().prices
    assert book.notes == [
        "the Price List API returned no SageMaker hosting prices for us-east-1: bundled rows used"
    ]
