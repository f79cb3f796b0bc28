"""Prices as the decisions read them: hosting per instance-hour by (region, instance type), serverless
per GB-second by region, each with its source and date, over a bundled and sourced fallback table.

- Hosting: the bundled rows in `data/hosting_prices.csv` carry their source and date, copied from the
  project's shared price points (../shared/data/sagemaker_realtime_prices.csv, read 2026-11-30).
- Serverless: USD per GB-second of on-demand compute by region.
- A negotiated discount (`PriceDiscountPercent`) is applied with `PriceBook.with_discount` and named in
  every discounted row's source.

A price that is in neither the live answer nor the bundled table is unknown: `hourly` returns None and the
caller says so. It is never guessed from a neighbouring size or region.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from endpoint_optimizer.infra.price_cache import PriceRow
from endpoint_optimizer.models import HOURS_PER_MONTH, Variant

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
