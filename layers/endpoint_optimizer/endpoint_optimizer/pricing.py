"""Hosting prices: a bundled, sourced fallback table (live Price List lookups come in a later issue).

Every row of `data/hosting_prices.csv` carries its source and date, copied from the project's shared
price points (../shared/data/sagemaker_realtime_prices.csv, read 2026-11-30). An instance type without
a row has an unknown price: it is reported as unknown, never guessed from a neighbour.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from endpoint_optimizer.models import HOURS_PER_MONTH, Variant


@dataclass(frozen=True)
class HostingPrice:
    region: str
    instance_type: str
    usd_per_hour: float
    source: str
    source_date: str


@dataclass(frozen=True)
class PriceBook:
    """Instance-hour prices by (region, instance type)."""

    prices: dict[tuple[str, str], HostingPrice]

    def hourly(self, region: str, instance_type: str) -> HostingPrice | None:
        return self.prices.get((region, instance_type))

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


@cache
def bundled_price_book() -> PriceBook:
    text = resources.files("endpoint_optimizer").joinpath("data/hosting_prices.csv").read_text("utf-8")
    prices = {}
    for row in csv.DictReader(text.splitlines()):
        price = HostingPrice(
            region=row["region"],
            instance_type=row["instance_type"],
            usd_per_hour=float(row["usd_per_hour"]),
            source=row["source"],
            source_date=row["source_date"],
        )
        prices[(price.region, price.instance_type)] = price
    return PriceBook(prices)
