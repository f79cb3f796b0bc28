"""The key plan of the one state table (DynamoDB, `pk`/`sk` strings, TTL attribute `expiration`).

Paths in the last column are under infra/stores/, but the price cache (infra/price_cache.py) and the
idempotency records (Powertools, configured in functions/apply/app.py).

Every record kind has its own `pk` prefix, because each function's role may touch only the prefixes it
needs (dynamodb:LeadingKeys in template.yaml; tests/unit/test_template.py STATE_TABLE_KEY_PLAN pins them):

| pk                                        | sk                | what                                  | store          |
|-------------------------------------------|-------------------|---------------------------------------|----------------|
| `APPROVAL#<approval id>`                  | `APPROVAL`        | an approval and its decision          | approvals.py   |
| `LOCK#<account>#<region>#<endpoint>`      | `LOCK`            | the endpoint's one open approval      | holds.py       |
| `REJECTION#<account>#<region>#<endpoint>` | `REJECTION`       | a rejection and its cooldown          | holds.py       |
| `SNAPSHOT#<endpoint>`                     | `<taken at, ISO>` | the way back of a change              | snapshots.py   |
| `INTENT#<endpoint>`                       | `<action id>`     | a change under way (open/done/undone) | intents.py     |
| `LEDGER#<endpoint>`                       | `<time, ISO>`     | what changed, by whom                 | ledger.py      |
| `LEDGERMONTH#<yyyy-mm>`                   | `<time>#<endpt>`  | the same entry, by month recorded     | ledger.py      |
| `SCANCACHE#<account>#<region>`            | `E#`/`C#`/`I#`... | what a scan remembers                 | scan_cache.py  |
| `PRICECACHE#<region set>`                 | `PRICES`          | Price List answers for a day          | price_cache.py |
| `IDEMPOTENCY#apply`                       | `<hash>`          | Powertools idempotency records        | apply function |

Item bodies (`body`) are the pydantic models as JSON, so what is written is exactly what is read back;
the attributes beside it (`state`, `expires_at`, `approval_id`, `action_id`) exist for condition
expressions. Sort keys of times are ISO strings: they order as the times do (one time zone, UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from endpoint_optimizer.models import endpoint_key

# Approvals stay readable for audit well after they expire; DynamoDB TTL removes them later.
APPROVAL_RETENTION = timedelta(days=30)
# Snapshots and ledger entries are the way back and the record of what changed: kept for a year.
RECORD_RETENTION = timedelta(days=365)
# Rejections stay readable for audit a while after their cooldown; DynamoDB TTL removes them later.
REJECTION_RETENTION = timedelta(days=30)

Key = dict[str, Any]


def epoch(moment: datetime) -> str:
    """Whole seconds since the epoch, as DynamoDB's TTL and our condition expressions compare them."""
    return str(int(moment.timestamp()))


def approval_key(approval_id: str) -> Key:
    return {"pk": {"S": f"APPROVAL#{approval_id}"}, "sk": {"S": "APPROVAL"}}


def lock_key(account_id: str, region: str, endpoint_name: str) -> Key:
    return {"pk": {"S": f"LOCK#{endpoint_key(account_id, region, endpoint_name)}"}, "sk": {"S": "LOCK"}}


def rejection_key(account_id: str, region: str, endpoint_name: str) -> Key:
    return {
        "pk": {"S": f"REJECTION#{endpoint_key(account_id, region, endpoint_name)}"},
        "sk": {"S": "REJECTION"},
    }


def snapshot_pk(endpoint_name: str) -> str:
    return f"SNAPSHOT#{endpoint_name}"


def intent_pk(endpoint_name: str) -> str:
    return f"INTENT#{endpoint_name}"


def ledger_pk(endpoint_name: str) -> str:
    return f"LEDGER#{endpoint_name}"


def ledger_month_pk(month: date) -> str:
    """The month index of the ledger: every entry recorded in `month` (UTC), so the month's savings are
    read with a Query per month instead of a Scan of the whole table."""
    return f"LEDGERMONTH#{month:%Y-%m}"


def scan_cache_pk(account_id: str, region: str) -> str:
    return f"SCANCACHE#{account_id}#{region}"
