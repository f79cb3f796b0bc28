"""What the price book's reader needs of a price cache. The stores themselves (a JSON file, a state-table
item) are in infra/price_cache.py: reading and writing them is I/O, not a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from endpoint_optimizer.infra.price_cache import CACHE_TTL, PriceRow

__all__ = ["CACHE_TTL", "PriceCacheStore"]


class PriceCacheStore(Protocol):
    def load(self) -> tuple[datetime, list[PriceRow]] | None: ...

    def save(self, fetched_at: datetime, rows: list[PriceRow]) -> None: ...
