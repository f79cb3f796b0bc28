"""Where live prices are kept for a day: a JSON file for the CLI, an item of the state table for the
stack. The row format (`PriceRow`) is the one the Price List reader writes and the price book merges.

Storage only: what counts as fresh, and what to do when a cache cannot be read, is decided by the
price book's reader (decide/pricing/price_list.py), which takes any `PriceCacheStore`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CACHE_TTL = timedelta(hours=24)


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
