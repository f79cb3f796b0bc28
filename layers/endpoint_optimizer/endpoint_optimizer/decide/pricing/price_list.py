"""Live prices from the AWS Price List API (`pricing:GetProducts`, service code `AmazonSageMaker`), read
at most once a day through a `PriceCacheStore`.

A live row overrides the bundled row for the same key, and every row keeps its source and date. Any
failure of the live lookup falls back to the bundled table and says so in `PriceBook.notes`. The pricing
client is passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.decide.pricing.book import PriceBook, bundled_price_book
from endpoint_optimizer.decide.pricing.cache import CACHE_TTL, PriceCacheStore
from endpoint_optimizer.infra.price_cache import PriceRow

if TYPE_CHECKING:
    from botocore.client import BaseClient


# GetProducts (botocore 1.43.127 `pricing/2017-10-15/service-2.json`, read 2026-11-30): ServiceCode
# required; Filters of {Type, Field, Value} with Type TERM_MATCH among others; MaxResults 1..100; the answer
# is `PriceList`, a list of JSON *strings*, paginated with `NextToken` (paginators-1.json: input/output
# token NextToken, limit key MaxResults, result key PriceList). Errors include AccessDeniedException,
# ThrottlingException, InvalidParameterException, NotFoundException, ExpiredNextTokenException.
SERVICE_CODE = "AmazonSageMaker"
PAGE_SIZE = 100

# SageMaker hosting (real-time inference) instance-hours in the Price List, read 2026-11-30 from public
# code that queries it:
# - productFamily "ML Instance" and component "Hosting" with instanceName "ml.<type>" and regionCode
#   filters, unit "Hrs": awslabs/llmeter@cada484712337a198d8a0dbf5984123299335e7b
#   llmeter/callbacks/cost/providers/sagemaker.py (fetch_sm_hosting_od_price; pricing client in us-east-1).
# - instanceType values look like "ml.p3.2xlarge-Hosting": an Amazon sample (2019) filtering productFamily
#   "ML Instance" (search-index id 9139203682), and catchmeif404/aws-cost-calculator
#   backend/scripts/fetch_pricing.sh (productFamily "ML Instance", operation "RunInstance", instanceType
#   "<type>-Hosting"; the source of some bundled rows).
# - usagetype "<REGION PREFIX>-Host:ml.<type>", e.g. "USE1-Host:ml.m5.xlarge" (SKU JDZQJFUVUR8SUWHS,
#   $0.23/h, "AWS Pricing API, live 2026-06-27", search-index id 56200718818) and "USE1-Host:ml.m5.large"
#   ($0.115/h, read 2026-07-30, id 60876816424).
HOSTING_FILTERS = {"productFamily": "ML Instance", "component": "Hosting"}
HOSTING_OPERATION = "RunInstance"
HOSTING_USAGE = re.compile(r"^(?:[A-Z0-9]+(?:-[A-Z0-9]+)*-)?Host:(ml\.[a-z0-9-]+\.[a-z0-9-]+)$")
HOURLY_UNITS = frozenset({"hrs", "hr", "hours", "hour"})

# Serverless Inference on-demand compute: productFamily "ML Serverless", usagetype
# "<PREFIX>-ServerlessInf:Mem-<N>GB", a price per second for one memory size (search-index ids 69763478564,
# 51887457784, 54923595087; /work/shared/facts/serverless_pricing.md, gathered 2026-11-30). The unit string
# is not confirmed by a source we could read; units that are not seconds are skipped, never reinterpreted.
SERVERLESS_FILTERS = {"productFamily": "ML Serverless"}
SERVERLESS_USAGE = re.compile(r"^(?:[A-Z0-9]+(?:-[A-Z0-9]+)*-)?ServerlessInf:Mem-(\d+)GB$")
SECOND_UNITS = frozenset({"second", "seconds", "sec", "secs"})

MAX_REASON = 160  # characters of an error kept in a note


def live_price_book(
    pricing_client: BaseClient,
    regions: Sequence[str],
    cache: PriceCacheStore | None,
    now: datetime,
) -> PriceBook:
    """Bundled prices overridden by live Price List prices for `regions`, read at most once a day.

    `pricing_client` must be a `pricing` client in PRICE_LIST_API_REGION. A fresh cache (younger than 24 h)
    means no API call. Any failure of the lookup returns the bundled table with a note saying so.
    """
    bundled = bundled_price_book()
    wanted = sorted(set(regions))
    cached = _fresh_cache(cache, wanted, now)
    if cached is not None:
        return bundled.merged(cached)
    try:
        rows, notes = fetch_live_rows(pricing_client, wanted, now)
    except (BotoCoreError, ClientError) as error:
        return bundled.merged(
            [],
            [
                f"live prices unavailable (pricing:GetProducts failed: {_describe(error)}); "
                "using the bundled price table, whose rows name their source and date"
            ],
        )
    if rows and cache is not None:
        try:
            cache.save(now, rows)
        except (OSError, BotoCoreError, ClientError) as error:
            notes.append(f"live prices not cached ({_describe(error)}): the next run reads them again")
    return bundled.merged(rows, notes)


def _fresh_cache(cache: PriceCacheStore | None, regions: list[str], now: datetime) -> list[PriceRow] | None:
    if cache is None:
        return None
    try:
        loaded = cache.load()
    except (BotoCoreError, ClientError):
        return None  # an unreadable cache costs one live lookup
    if loaded is None:
        return None
    fetched_at, rows = loaded
    if not timedelta(0) <= now - fetched_at < CACHE_TTL:
        return None
    if not set(regions) <= {row.region for row in rows}:
        return None  # written for other regions (a shared path): read again rather than miss a region
    return rows


def fetch_live_rows(
    pricing_client: BaseClient, regions: list[str], now: datetime
) -> tuple[list[PriceRow], list[str]]:
    """Hosting and serverless rows for every region, and notes on what the answer lacked.

    Raises botocore's ClientError / BotoCoreError (access denied, throttled after the client's retries,
    endpoint unreachable, no credentials, a service the endpoint does not implement).
    """
    read_on = now.date().isoformat()
    rows: list[PriceRow] = []
    notes: list[str] = []
    for region in regions:
        hosting = _hosting_rows(_products(pricing_client, region, HOSTING_FILTERS), region, read_on)
        serverless = _serverless_row(_products(pricing_client, region, SERVERLESS_FILTERS), region, read_on)
        if not hosting:
            notes.append(
                f"the Price List API returned no SageMaker hosting prices for {region}: bundled rows used"
            )
        rows += hosting
        if serverless is not None:
            rows.append(serverless)
    return rows, notes


def _products(pricing_client: BaseClient, region: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every product matching the filters in `region`, each PriceList string parsed; unparseable ones skipped."""
    request_filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}] + [
        {"Type": "TERM_MATCH", "Field": name, "Value": value} for name, value in filters.items()
    ]
    pages = pricing_client.get_paginator("get_products").paginate(
        ServiceCode=SERVICE_CODE,
        Filters=request_filters,
        FormatVersion="aws_v1",
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    products: list[dict[str, Any]] = []
    for page in pages:
        for text in page.get("PriceList", []):
            try:
                product = json.loads(text)
            except (TypeError, ValueError):
                continue
            if isinstance(product, dict):
                products.append(product)
    return products


def _hosting_rows(products: list[dict[str, Any]], region: str, read_on: str) -> list[PriceRow]:
    found: dict[str, PriceRow] = {}
    for item in products:
        attributes = _attributes(item)
        if attributes.get("regionCode", region) != region:
            continue
        if attributes.get("operation", HOSTING_OPERATION) != HOSTING_OPERATION:
            continue
        usage = HOSTING_USAGE.match(attributes.get("usagetype", ""))
        if usage is None:
            continue  # not instance-hours of a real-time endpoint (storage, data, async, ...)
        instance_type = usage.group(1)
        if attributes.get("instanceName", instance_type) != instance_type:
            continue  # usage type and instance name disagree: trust neither
        price = _on_demand_usd(item, HOURLY_UNITS)
        if price is None:
            continue
        usd, effective = price
        row = PriceRow(
            kind="hosting",
            region=region,
            instance_type=instance_type,
            usd=usd,
            source=_live_source(read_on, attributes.get("usagetype", ""), item, effective),
            source_date=read_on,
        )
        previous = found.get(instance_type)
        if previous is None or row.usd < previous.usd:
            found[instance_type] = row  # two SKUs for one type: keep the lower, never overstate a saving
    return sorted(found.values(), key=lambda row: row.instance_type or "")


def _serverless_row(products: list[dict[str, Any]], region: str, read_on: str) -> PriceRow | None:
    """One GB-second rate from the per-second prices of each memory size; the highest rate if they differ
    (a serverless target then never looks cheaper than it may be)."""
    rates: dict[int, float] = {}
    for item in products:
        attributes = _attributes(item)
        if attributes.get("regionCode", region) != region:
            continue
        usage = SERVERLESS_USAGE.match(attributes.get("usagetype", ""))
        if usage is None or int(usage.group(1)) == 0:
            continue  # provisioned concurrency and other serverless lines
        price = _on_demand_usd(item, SECOND_UNITS)
        if price is None:
            continue
        memory_gb = int(usage.group(1))
        rates[memory_gb] = max(rates.get(memory_gb, 0.0), price[0] / memory_gb)
    if not rates:
        return None
    sizes = ", ".join(f"{size} GB" for size in sorted(rates))
    return PriceRow(
        kind="serverless",
        region=region,
        usd=max(rates.values()),
        source=f"AWS Price List API, read {read_on} (ML Serverless on-demand per-second prices at {sizes}, "
        "divided by their memory)",
        source_date=read_on,
    )


def _attributes(item: Mapping[str, Any]) -> dict[str, str]:
    product = item.get("product")
    attributes = product.get("attributes") if isinstance(product, dict) else None
    if not isinstance(attributes, dict):
        return {}
    return {str(key): str(value) for key, value in attributes.items()}


def _on_demand_usd(item: Mapping[str, Any], units: frozenset[str]) -> tuple[float, str] | None:
    """The one positive on-demand USD price in `units` and its effective date; None when there is none or
    more than one (a tiered or ambiguous product is not a price we can state)."""
    terms = item.get("terms")
    on_demand = terms.get("OnDemand") if isinstance(terms, dict) else None
    if not isinstance(on_demand, dict):
        return None
    found: set[float] = set()
    effective = ""
    for term in on_demand.values():
        if not isinstance(term, dict):
            continue
        for dimension in (term.get("priceDimensions") or {}).values():
            if not isinstance(dimension, dict) or str(dimension.get("unit", "")).lower() not in units:
                continue
            try:
                usd = float((dimension.get("pricePerUnit") or {})["USD"])
            except (KeyError, TypeError, ValueError):
                continue
            found.add(usd)
            effective = str(term.get("effectiveDate", ""))[:10]
    if len(found) != 1:
        return None
    (usd,) = found
    if usd <= 0:
        return None  # a zero line is a free-tier or placeholder line, not the hourly price
    return usd, effective


def _live_source(read_on: str, usage_type: str, item: Mapping[str, Any], effective: str) -> str:
    product = item.get("product")
    sku = product.get("sku", "") if isinstance(product, dict) else ""
    detail = ", ".join(
        part
        for part in (usage_type, f"SKU {sku}" if sku else "", effective and f"effective {effective}")
        if part
    )
    return f"AWS Price List API, read {read_on} ({detail})"


def _describe(error: Exception) -> str:
    """A short, one-line reason: an error body can be a whole HTML page (an emulator, a proxy)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        text = f"{details.get('Code', 'error')}: {details.get('Message', '')}"
    else:
        text = str(error) or type(error).__name__
    text = " ".join(re.sub(r"<[^>]*>", " ", text).split()).rstrip(": ")
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."
