"""Prices: live from the AWS Price List API, cached for a day, over a bundled and sourced fallback table.

- Hosting: USD per instance-hour by (region, instance type). The bundled rows in
  `data/hosting_prices.csv` carry their source and date, copied from the project's shared price points
  (../shared/data/sagemaker_realtime_prices.csv, read 2026-11-30).
- Serverless: USD per GB-second of on-demand compute by region.
- Live prices (`live_price_book`) come from `pricing:GetProducts` (service code `AmazonSageMaker`); a live
  row overrides the bundled row for the same key, and every row keeps its source and date. Any failure of
  the live lookup falls back to the bundled table and says so in `PriceBook.notes`.
- A negotiated discount (`PriceDiscountPercent`) is applied with `PriceBook.with_discount` and named in
  every discounted row's source.

A price that is in neither the live answer nor the bundled table is unknown: `hourly` returns None and the
caller says so. It is never guessed from a neighbouring size or region.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from endpoint_optimizer.models import HOURS_PER_MONTH, Variant

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_dynamodb import DynamoDBClient

# ------------------------------------------------------------------------------------------------ facts


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

# Bundled serverless fallback, us-east-1 only: $0.00006 per second at 3072 MB (USE1-ServerlessInf:Mem-3GB,
# SKU PUE6HBQ8KFHBUN5T, "AWS Price List API checked September 9 ... effective September 1", a third-party
# reading; /work/shared/facts/serverless_pricing.md section 2). Divided by 3 GB: $0.00002 per GB-second.
# That division is ours (derived), not a rate AWS published. Other regions: unknown.
BUNDLED_SERVERLESS_USD_PER_SECOND_3GB = 0.00006
BUNDLED_SERVERLESS_SOURCE = (
    "derived: $0.00006 per second at 3072 MB (USE1-ServerlessInf:Mem-3GB, SKU PUE6HBQ8KFHBUN5T, "
    "AWS Price List API as read by a third party 2026-09-09) divided by 3 GB; "
    "shared facts/serverless_pricing.md"
)
BUNDLED_SERVERLESS_DATE = "2026-09-01 (price effective; read 2026-09-09)"

CACHE_TTL = timedelta(hours=24)
MAX_REASON = 160  # characters of an error kept in a note


# ------------------------------------------------------------------------------------------------ prices


@dataclass(frozen=True)
class HostingPrice:
    region: str
    instance_type: str
    usd_per_hour: float
    source: str
    source_date: str


@dataclass(frozen=True)
class ServerlessPrice:
    """On-demand Serverless Inference compute, per GB of configured memory per second.

    `derived` is True when the rate is our arithmetic on a price read elsewhere (the bundled fallback),
    not a rate read from the Price List for this region.
    """

    region: str
    usd_per_gb_second: float
    source: str
    source_date: str
    derived: bool = False


class PriceRow(BaseModel):
    """One price as cached: hosting (per instance-hour, `instance_type` set) or serverless (per GB-second)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["hosting", "serverless"]
    region: str
    instance_type: str | None = None
    usd: float
    source: str
    source_date: str
    derived: bool = False


class CachedPrices(BaseModel):
    fetched_at: datetime
    rows: list[PriceRow]


@dataclass(frozen=True)
class PriceBook:
    """Hosting prices by (region, instance type), serverless prices by region, and what the reader must
    know about where they came from (`notes`: a failed live lookup, a discount)."""

    prices: dict[tuple[str, str], HostingPrice]
    serverless: dict[str, ServerlessPrice] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def hourly(self, region: str, instance_type: str) -> HostingPrice | None:
        return self.prices.get((region, instance_type))

    def serverless_usd_per_gb_second(self, region: str) -> ServerlessPrice | None:
        return self.serverless.get(region)

    def monthly_cost(self, region: str, variants: list[Variant]) -> tuple[float | None, list[str]]:
        """Monthly cost of the instance variants (730 h); (None, unknown types) when any price is unknown."""
        total = 0.0
        unknown: list[str] = []
        for variant in variants:
            if variant.is_serverless or variant.instance_type is None:
                continue
            price = self.hourly(region, variant.instance_type)
            if price is None:
                unknown.append(variant.instance_type)
                continue
            total += price.usd_per_hour * variant.instance_count * HOURS_PER_MONTH
        if unknown:
            return None, sorted(set(unknown))
        return round(total, 2), []

    def with_discount(self, percent: float) -> PriceBook:
        """Every price x (1 - percent/100), the discount named in each row's source (PriceDiscountPercent)."""
        if not 0 <= percent < 100:
            raise ValueError(f"PriceDiscountPercent must be at least 0 and below 100, got {percent}")
        if percent == 0:
            return self
        factor = 1 - percent / 100
        label = f"less {percent:g}% negotiated discount (PriceDiscountPercent)"
        return PriceBook(
            prices={
                key: replace(
                    price, usd_per_hour=price.usd_per_hour * factor, source=f"{price.source}; {label}"
                )
                for key, price in self.prices.items()
            },
            serverless={
                region: replace(
                    price,
                    usd_per_gb_second=price.usd_per_gb_second * factor,
                    source=f"{price.source}; {label}",
                )
                for region, price in self.serverless.items()
            },
            notes=[*self.notes, f"prices are list prices {label}"],
        )

    def merged(self, rows: Iterable[PriceRow], notes: Iterable[str] = ()) -> PriceBook:
        """This book with `rows` overriding the prices they name (live over bundled)."""
        prices = dict(self.prices)
        serverless = dict(self.serverless)
        for row in rows:
            if row.kind == "hosting" and row.instance_type:
                prices[(row.region, row.instance_type)] = HostingPrice(
                    row.region, row.instance_type, row.usd, row.source, row.source_date
                )
            elif row.kind == "serverless":
                serverless[row.region] = ServerlessPrice(
                    row.region, row.usd, row.source, row.source_date, row.derived
                )
        return PriceBook(prices, serverless, [*self.notes, *notes])


@cache
def _bundled_rows() -> tuple[PriceRow, ...]:
    text = resources.files("endpoint_optimizer").joinpath("data/hosting_prices.csv").read_text("utf-8")
    rows = [
        PriceRow(
            kind="hosting",
            region=row["region"],
            instance_type=row["instance_type"],
            usd=float(row["usd_per_hour"]),
            source=row["source"],
            source_date=row["source_date"],
        )
        for row in csv.DictReader(text.splitlines())
    ]
    rows.append(
        PriceRow(
            kind="serverless",
            region="us-east-1",
            usd=BUNDLED_SERVERLESS_USD_PER_SECOND_3GB / 3,
            source=BUNDLED_SERVERLESS_SOURCE,
            source_date=BUNDLED_SERVERLESS_DATE,
            derived=True,
        )
    )
    return tuple(rows)


def bundled_price_book() -> PriceBook:
    """The offline table: a new book each call (the parsed rows are cached), so no caller shares notes."""
    return PriceBook({}).merged(_bundled_rows())


# ------------------------------------------------------------------------------------------------ cache


class PriceCacheStore(Protocol):
    def load(self) -> tuple[datetime, list[PriceRow]] | None: ...

    def save(self, fetched_at: datetime, rows: list[PriceRow]) -> None: ...


def region_set(regions: Iterable[str]) -> str:
    return ",".join(sorted(set(regions)))


def default_price_cache_path(regions: Iterable[str]) -> Path:
    """The CLI's price cache, under the user's cache directory (XDG_CACHE_HOME or ~/.cache)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "endpoint-optimizer" / f"prices-{region_set(regions).replace(',', '_')}.json"


class LocalPriceCache:
    """A JSON file: what the CLI keeps on a laptop. One file per region set (`default_price_cache_path`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[datetime, list[PriceRow]] | None:
        try:
            cached = CachedPrices.model_validate_json(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or unreadable: one live lookup, nothing else
        return cached.fetched_at, cached.rows

    def save(self, fetched_at: datetime, rows: list[PriceRow]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            CachedPrices(fetched_at=fetched_at, rows=rows).model_dump_json(), encoding="utf-8"
        )
        temporary.replace(self.path)  # atomic: a crash never leaves half a file


class DynamoDBPriceCache:
    """One item `PRICECACHE#<region set>` / `PRICES` in the state table; the TTL attribute `expiration`
    lets DynamoDB remove it once stale (freshness is still checked on read: TTL deletion is lazy)."""

    SORT_KEY = "PRICES"

    def __init__(self, dynamodb: DynamoDBClient, table_name: str, regions: Sequence[str]) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._key = {"pk": {"S": f"PRICECACHE#{region_set(regions)}"}, "sk": {"S": self.SORT_KEY}}

    def load(self) -> tuple[datetime, list[PriceRow]] | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=self._key).get("Item")
        if not item or "body" not in item:
            return None
        try:
            cached = CachedPrices.model_validate_json(item["body"]["S"])
        except (KeyError, ValueError):
            return None
        return cached.fetched_at, cached.rows

    def save(self, fetched_at: datetime, rows: list[PriceRow]) -> None:
        body = CachedPrices(fetched_at=fetched_at, rows=rows).model_dump_json()
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                **self._key,
                "body": {"S": body},
                "expiration": {"N": str(int((fetched_at + CACHE_TTL).timestamp()))},
            },
        )


# ------------------------------------------------------------------------------------------------ live


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
