"""Prices: live from the Price List API (Stubber on a real pricing client), cached a day, bundled fallback.

The PriceList items below follow the layout of a real GetProducts answer: the AWS CLI example
`awscli/examples/pricing/get-products.rst` (a verbatim AmazonEC2 answer: product.productFamily,
product.attributes, product.sku, serviceCode, terms.OnDemand.<sku>.<offerTermCode>.priceDimensions.
<rateCode>.{unit, endRange, description, appliesTo, rateCode, beginRange, pricePerUnit.USD}, sku,
effectiveDate, offerTermCode "JRTCKXETXF", termAttributes, version, publicationDate), each item a JSON
*string* (botocore `pricing` model: PriceList is a list of strings). The SageMaker attribute values are
the ones public code reads from the API (see the comments in endpoint_optimizer/decide/pricing/price_list.py): usagetype
"USE1-Host:ml.m5.xlarge", SKU JDZQJFUVUR8SUWHS at $0.23/h (read live 2026-06-27, search-index id
56200718818); "USE1-ServerlessInf:Mem-3GB", SKU PUE6HBQ8KFHBUN5T at $0.00006/s (read 2026-09-09, id
69640604893). The other SKUs are placeholders, marked as such.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from endpoint_optimizer.decide.pricing import PriceRow, bundled_price_book, live_price_book
from endpoint_optimizer.infra.clients import PRICE_LIST_API_REGION
from endpoint_optimizer.infra.price_cache import DynamoDBPriceCache, LocalPriceCache, default_price_cache_path
from endpoint_optimizer.models import Variant

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
REGION = "us-east-1"
HOSTING_FILTERS = [
    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
    {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
    {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
]
SERVERLESS_FILTERS = [
    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
    {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Serverless"},
]


def price_item(
    sku: str,
    family: str,
    *,
    attributes: dict[str, str],
    usd: str,
    unit: str,
    description: str,
) -> str:
    """One PriceList entry as the API sends it: a JSON string."""
    term = f"{sku}.JRTCKXETXF"
    rate = f"{term}.6YS6EN2CT7"
    return json.dumps(
        {
            "product": {
                "productFamily": family,
                "attributes": {
                    "servicecode": "AmazonSageMaker",
                    "servicename": "Amazon SageMaker",
                    "location": "US East (N. Virginia)",
                    "locationType": "AWS Region",
                    "regionCode": REGION,
                    **attributes,
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            rate: {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": description,
                                "appliesTo": [],
                                "rateCode": rate,
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-09-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20260901000000",
            "publicationDate": "2026-09-01T00:00:00Z",
        }
    )


def hosting(sku: str, instance_type: str, usd: str) -> str:
    return price_item(
        sku,
        "ML Instance",
        attributes={
            "component": "Hosting",
            "instanceName": instance_type,
            "instanceType": f"{instance_type}-Hosting",
            "operation": "RunInstance",
            "usagetype": f"USE1-Host:{instance_type}",
        },
        usd=usd,
        unit="Hrs",
        description=f"${float(usd):.3f} per Hosting {instance_type} instance hour",
    )


def serverless(sku: str, memory_gb: int, usd: str) -> str:
    # The unit string of serverless lines is not confirmed by a source we could read; "Second" is assumed.
    return price_item(
        sku,
        "ML Serverless",
        attributes={"usagetype": f"USE1-ServerlessInf:Mem-{memory_gb}GB"},
        usd=usd,
        unit="Second",
        description=f"${usd} per second of Serverless Inference at {memory_gb} GB",
    )


M5_XLARGE = hosting("JDZQJFUVUR8SUWHS", "ml.m5.xlarge", "0.2300000000")  # real SKU and price (2026-06-27)
M5_LARGE = hosting("PLACEHOLDER0M5LG", "ml.m5.large", "0.1150000000")  # placeholder SKU
# Hosting-component line that is not instance-hours: must be skipped.
DATA_IN = price_item(
    "PLACEHOLDERDATAI",
    "ML Instance",
    attributes={"component": "Hosting", "usagetype": "USE1-Host:Data-Bytes-In", "operation": "RunInstance"},
    usd="0.0160000000",
    unit="GB",
    description="$0.016 per GB for Endpoint Data IN",
)
MEM_3GB = serverless("PUE6HBQ8KFHBUN5T", 3, "0.0000600000")  # real SKU and price (2026-09-09)
MEM_1GB = serverless("PLACEHOLDERMEM1G", 1, "0.0000200000")  # placeholder SKU


def request(filters: list[dict[str, str]], token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": filters,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def answer(*items: str, token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": list(items)}
    if token:
        page["NextToken"] = token
    return page


@pytest.fixture
def pricing() -> BaseClient:
    # A real botocore client for the Price List API endpoint region; Stubber answers instead of AWS.
    client: BaseClient = boto3.client(
        "pricing",
        region_name=PRICE_LIST_API_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # fake: nothing is sent
    )
    return client


def stub_full_answer(stub: Stubber) -> None:
    stub.add_response("get_products", answer(M5_XLARGE, M5_LARGE, DATA_IN), request(HOSTING_FILTERS))
    stub.add_response("get_products", answer(MEM_3GB, MEM_1GB), request(SERVERLESS_FILTERS))


# ------------------------------------------------------------------------------------------------ parsing


def test_live_prices_are_parsed_from_a_get_products_answer_and_override_bundled_rows(
    pricing: BaseClient,
) -> None:
    # GIVEN a GetProducts answer with two hosting instance-hour products, a data line and serverless prices
    with Stubber(pricing) as stub:
        stub_full_answer(stub)
        # WHEN the live price book is built for us-east-1 without a cache
        book = live_price_book(pricing, [REGION], None, NOW)
        stub.assert_no_pending_responses()
    # THEN the live price replaces the bundled one and names the API, the read date, the usage type and SKU
    m5_xlarge = book.hourly(REGION, "ml.m5.xlarge")
    assert m5_xlarge is not None
    assert m5_xlarge.usd_per_hour == pytest.approx(0.23)
    assert m5_xlarge.source.startswith("AWS Price List API, read 2026-11-30")
    assert "USE1-Host:ml.m5.xlarge" in m5_xlarge.source
    assert "SKU JDZQJFUVUR8SUWHS" in m5_xlarge.source
    assert m5_xlarge.source_date == "2026-11-30"
    # AND the data line is not mistaken for an instance type
    assert all(key[1].startswith("ml.") for key in book.prices)
    # AND a type the API did not return keeps its bundled row, source and date
    g5 = book.hourly(REGION, "ml.g5.xlarge")
    assert g5 is not None
    assert g5.source == bundled_price_book().prices[(REGION, "ml.g5.xlarge")].source
    # AND the serverless rate is read (not derived): $0.00006/s at 3 GB = $0.00002 per GB-second
    rate = book.serverless_usd_per_gb_second(REGION)
    assert rate is not None
    assert rate.usd_per_gb_second == pytest.approx(0.00002)
    assert not rate.derived
    assert rate.source.startswith("AWS Price List API, read 2026-11-30")
    assert book.notes == []


def test_every_page_of_a_paginated_answer_is_read(pricing: BaseClient) -> None:
    # GIVEN hosting products split over two pages joined by NextToken
    with Stubber(pricing) as stub:
        stub.add_response("get_products", answer(M5_XLARGE, token="page-2"), request(HOSTING_FILTERS))
        stub.add_response("get_products", answer(M5_LARGE), request(HOSTING_FILTERS, token="page-2"))
        stub.add_response("get_products", answer(MEM_3GB), request(SERVERLESS_FILTERS))
        # WHEN the live price book is built
        book = live_price_book(pricing, [REGION], None, NOW)
        stub.assert_no_pending_responses()
    # THEN products from both pages are priced live
    assert {book.prices[(REGION, name)].source_date for name in ("ml.m5.xlarge", "ml.m5.large")} == {
        "2026-11-30"
    }


def test_a_product_with_two_different_on_demand_prices_is_not_a_price(pricing: BaseClient) -> None:
    item = json.loads(M5_XLARGE)
    term = next(iter(item["terms"]["OnDemand"].values()))
    term["priceDimensions"]["second"] = {"unit": "Hrs", "pricePerUnit": {"USD": "0.5"}}
    with Stubber(pricing) as stub:
        stub.add_response("get_products", answer(json.dumps(item)), request(HOSTING_FILTERS))
        stub.add_response("get_products", answer(), request(SERVERLESS_FILTERS))
        book = live_price_book(pricing, [REGION], None, NOW)
    # the bundled row stays (its source is not the API): an ambiguous product is skipped, not averaged
    price = book.hourly(REGION, "ml.m5.xlarge")
    assert price is not None
    assert not price.source.startswith("AWS Price List API")


# ------------------------------------------------------------------------------------------------ cache


def test_fresh_cache_means_no_api_call(pricing: BaseClient, tmp_path: Path) -> None:
    # GIVEN prices cached an hour ago
    cache = LocalPriceCache(tmp_path / "prices.json")
    cached = PriceRow(
        kind="hosting",
        region=REGION,
        instance_type="ml.m5.large",
        usd=0.1,
        source="AWS Price List API, read 2026-11-30",
        source_date="2026-11-30",
    )
    cache.save(NOW - timedelta(hours=1), [cached])
    # WHEN the live price book is built with a Stubber that has no responses (any call would fail)
    with Stubber(pricing):
        book = live_price_book(pricing, [REGION], cache, NOW)
    # THEN the cached price is used
    price = book.hourly(REGION, "ml.m5.large")
    assert price is not None
    assert price.usd_per_hour == pytest.approx(0.1)
    assert book.notes == []


def test_stale_cache_is_read_again_and_rewritten(pricing: BaseClient, tmp_path: Path) -> None:
    # GIVEN prices cached 25 hours ago
    cache = LocalPriceCache(tmp_path / "prices.json")
    old = PriceRow(
        kind="hosting", region=REGION, instance_type="ml.m5.xlarge", usd=9.9, source="old", source_date="x"
    )
    cache.save(NOW - timedelta(hours=25), [old])
    # WHEN the live price book is built
    with Stubber(pricing) as stub:
        stub_full_answer(stub)
        book = live_price_book(pricing, [REGION], cache, NOW)
        stub.assert_no_pending_responses()
    # THEN the API was asked, its price is used and the cache now holds it with today's time
    price = book.hourly(REGION, "ml.m5.xlarge")
    assert price is not None
    assert price.usd_per_hour == pytest.approx(0.23)
    loaded = cache.load()
    assert loaded is not None
    assert loaded[0] == NOW
    assert any(row.instance_type == "ml.m5.xlarge" and row.usd == pytest.approx(0.23) for row in loaded[1])


def test_cache_written_for_other_regions_is_not_a_hit(pricing: BaseClient, tmp_path: Path) -> None:
    cache = LocalPriceCache(tmp_path / "prices.json")
    row = PriceRow(
        kind="hosting", region="eu-west-1", instance_type="ml.m5.large", usd=0.1, source="s", source_date="d"
    )
    cache.save(NOW - timedelta(hours=1), [row])
    with Stubber(pricing) as stub:
        stub_full_answer(stub)
        live_price_book(pricing, [REGION], cache, NOW)
        stub.assert_no_pending_responses()


def test_unreadable_cache_file_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{not json", encoding="utf-8")
    assert LocalPriceCache(path).load() is None
    assert LocalPriceCache(tmp_path / "missing.json").load() is None


def test_default_cache_path_is_per_region_set_under_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = default_price_cache_path(["us-east-1", "eu-west-1", "us-east-1"])
    assert path == tmp_path / "endpoint-optimizer" / "prices-eu-west-1_us-east-1.json"


def test_dynamodb_cache_keeps_one_item_per_region_set_with_a_ttl(dynamodb: Any) -> None:
    # GIVEN a DynamoDB price cache for two regions
    cache = DynamoDBPriceCache(dynamodb, "state", ["us-east-1", "eu-west-1"])
    assert cache.load() is None
    row = PriceRow(
        kind="serverless", region="eu-west-1", usd=0.00002, source="AWS Price List API", source_date="d"
    )
    # WHEN rows are saved
    cache.save(NOW, [row])
    # THEN they load back, in one item keyed by the sorted region set, expiring a day later
    assert cache.load() == (NOW, [row])
    item = dynamodb.get_item(
        TableName="state", Key={"pk": {"S": "PRICECACHE#eu-west-1,us-east-1"}, "sk": {"S": "PRICES"}}
    )["Item"]
    assert int(item["expiration"]["N"]) == int((NOW + timedelta(hours=24)).timestamp())


# ------------------------------------------------------------------------------------------------ failure


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "ThrottlingException", "UnknownOperationException"]
)
def test_failed_lookup_falls_back_to_the_bundled_table_and_says_so(
    pricing: BaseClient, tmp_path: Path, code: str
) -> None:
    # GIVEN the Price List API refuses (no permission, throttled after retries, not implemented by an emulator)
    cache = LocalPriceCache(tmp_path / "prices.json")
    with Stubber(pricing) as stub:
        stub.add_client_error(
            "get_products", service_error_code=code, service_message="no", http_status_code=400
        )
        # WHEN the live price book is built
        book = live_price_book(pricing, [REGION], cache, NOW)
    # THEN the bundled prices are used, the book says why, and nothing is cached
    assert book.prices == bundled_price_book().prices
    assert len(book.notes) == 1
    assert "live prices unavailable" in book.notes[0]
    assert code in book.notes[0]
    assert cache.load() is None


def test_unreachable_endpoint_falls_back_to_the_bundled_table(tmp_path: Path) -> None:
    client = boto3.client(
        "pricing",
        region_name=PRICE_LIST_API_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com/")

    client.meta.events.register("before-send.pricing.GetProducts", unreachable)
    book = live_price_book(client, [REGION], LocalPriceCache(tmp_path / "p.json"), NOW)
    assert book.prices == bundled_price_book().prices
    assert "Could not connect" in book.notes[0]


# ------------------------------------------------------------------------------------------------ book


def test_discount_applies_to_every_price_and_is_named_in_the_source() -> None:
    # GIVEN the bundled prices and a 10 % negotiated discount
    book = bundled_price_book().with_discount(10)
    # THEN ml.m5.large costs 0.115 x 0.9 per hour, and the source and notes say why
    price = book.hourly(REGION, "ml.m5.large")
    assert price is not None
    assert price.usd_per_hour == pytest.approx(0.1035)
    assert price.source.endswith("less 10% negotiated discount (PriceDiscountPercent)")
    cost, unknown = book.monthly_cost(
        REGION, [Variant(name="v", instance_type="ml.m5.large", instance_count=2)]
    )
    assert cost == pytest.approx(0.1035 * 2 * 730, abs=0.01)
    assert unknown == []
    rate = book.serverless_usd_per_gb_second(REGION)
    assert rate is not None
    assert rate.usd_per_gb_second == pytest.approx(0.000018)
    assert book.notes == ["prices are list prices less 10% negotiated discount (PriceDiscountPercent)"]
    # AND no discount changes nothing; a discount of 100 % or more is refused
    assert bundled_price_book().with_discount(0).prices == bundled_price_book().prices
    with pytest.raises(ValueError, match="PriceDiscountPercent"):
        bundled_price_book().with_discount(100)


def test_unknown_instance_type_stays_unknown_after_a_live_lookup(pricing: BaseClient) -> None:
    with Stubber(pricing) as stub:
        stub_full_answer(stub)
        book = live_price_book(pricing, [REGION], None, NOW)
    assert book.hourly(REGION, "ml.r5.24xlarge") is None
    variants = [Variant(name="v", instance_type="ml.r5.24xlarge", instance_count=1)]
    assert book.monthly_cost(REGION, variants) == (None, ["ml.r5.24xlarge"])


def test_bundled_serverless_price_is_derived_for_us_east_1_and_unknown_elsewhere() -> None:
    book = bundled_price_book()
    rate = book.serverless_usd_per_gb_second("us-east-1")
    assert rate is not None
    assert rate.usd_per_gb_second == pytest.approx(0.00002)
    assert rate.derived
    assert rate.source.startswith("derived:")
    assert book.serverless_usd_per_gb_second("eu-west-1") is None


def test_bundled_book_is_a_new_object_each_time() -> None:
    book = bundled_price_book()
    book.notes.append("changed by a caller")
    assert bundled_price_book().notes == []
