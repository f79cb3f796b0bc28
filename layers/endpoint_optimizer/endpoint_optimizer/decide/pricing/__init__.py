"""Prices: live from the AWS Price List API, cached for a day, over a bundled and sourced fallback table.

- `book`: the price book the decisions read (hosting per instance-hour, serverless per GB-second, notes),
  the bundled table, a negotiated discount.
- `price_list`: the live lookup (`live_price_book`, `fetch_live_rows`), which falls back to the bundled
  table and says so.
- `cache`: what the lookup needs of a cache (`PriceCacheStore`); the stores are in infra/price_cache.py.
"""

from endpoint_optimizer.decide.pricing.book import (
    HostingPrice,
    PriceBook,
    ServerlessPrice,
    bundled_price_book,
)
from endpoint_optimizer.decide.pricing.cache import CACHE_TTL, PriceCacheStore
from endpoint_optimizer.decide.pricing.price_list import fetch_live_rows, live_price_book
from endpoint_optimizer.infra.price_cache import PriceRow

__all__ = [
    "CACHE_TTL",
    "HostingPrice",
    "PriceBook",
    "PriceCacheStore",
    "PriceRow",
    "ServerlessPrice",
    "bundled_price_book",
    "fetch_live_rows",
    "live_price_book",
]
