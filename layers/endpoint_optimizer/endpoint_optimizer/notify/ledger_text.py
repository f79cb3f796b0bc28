"""What the ledger says was applied and what it has saved so far: the CLI's `ledger`, as a table or JSON.

Savings to date are (monthly cost before - after) / 730 hours x the hours the change has been in effect:
from when it was applied until the endpoint's next restore or applied change, else until `now`. A park
restored later counts only the parked span; an entry without a cost saves "unknown", never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from endpoint_optimizer.models import HOURS_PER_MONTH, LedgerEntry
from endpoint_optimizer.notify.slack import usd


@dataclass(frozen=True)
class AppliedChange:
    """One applied entry of the ledger and how long it has held."""

    endpoint_name: str
    action: str
    applied_at: datetime
    approved_by: str | None
    monthly_cost_before_usd: float | None
    monthly_cost_after_usd: float | None
    in_effect_until: datetime | None  # None: still in effect
    savings_to_date_usd: float | None  # None: the cost before or after is not known

    def as_json(self) -> dict[str, object]:
        return {
            "endpoint_name": self.endpoint_name,
            "action": self.action,
            "applied_at": self.applied_at.isoformat(),
            "approved_by": self.approved_by,
            "monthly_cost_before_usd": self.monthly_cost_before_usd,
            "monthly_cost_after_usd": self.monthly_cost_after_usd,
            "in_effect_until": self.in_effect_until.isoformat() if self.in_effect_until else None,
            "savings_to_date_usd": self.savings_to_date_usd,
        }


def _ends_it(entry: LedgerEntry) -> bool:
    """A restore undoes the change before it; a later applied change replaces its cost."""
    return entry.outcome in ("applied", "restored")


def applied_changes(entries: Iterable[LedgerEntry], now: datetime) -> list[AppliedChange]:
    """The applied entries with their savings to date, oldest applied first."""
    by_endpoint: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_endpoint.setdefault(entry.endpoint_name, []).append(entry)
    changes: list[AppliedChange] = []
    for history in by_endpoint.values():
        history.sort(key=lambda e: e.recorded_at)
        for index, entry in enumerate(history):
            if entry.outcome != "applied" or entry.action == "restore":
                continue
            until = next((later.recorded_at for later in history[index + 1 :] if _ends_it(later)), None)
            changes.append(_change(entry, until, now))
    return sorted(changes, key=lambda c: (c.applied_at, c.endpoint_name))


def _change(entry: LedgerEntry, until: datetime | None, now: datetime) -> AppliedChange:
    before, after = entry.monthly_cost_before_usd, entry.monthly_cost_after_usd
    held = max((until or now) - entry.recorded_at, timedelta(0))
    savings = (
        None
        if before is None or after is None
        else (before - after) * held / timedelta(hours=HOURS_PER_MONTH)
    )
    return AppliedChange(
        endpoint_name=entry.endpoint_name,
        action=str(entry.action),  # Action is a StrEnum: its value
        applied_at=entry.recorded_at,
        approved_by=entry.approved_by,
        monthly_cost_before_usd=before,
        monthly_cost_after_usd=after,
        in_effect_until=until,
        savings_to_date_usd=savings,
    )


def ledger_table(changes: Iterable[AppliedChange]) -> str:
    """The changes as aligned columns, one a line, under a header."""
    rows = [("ENDPOINT", "ACTION", "APPLIED AT", "APPROVED BY", "COST/MONTH", "SAVED TO DATE")]
    for change in changes:
        rows.append(
            (
                change.endpoint_name,
                change.action,
                change.applied_at.isoformat(timespec="minutes"),
                change.approved_by or "-",
                f"{usd(change.monthly_cost_before_usd)} -> {usd(change.monthly_cost_after_usd)}",
                usd(change.savings_to_date_usd)
                + (
                    f" (until {change.in_effect_until.isoformat(timespec='minutes')})"
                    if change.in_effect_until
                    else ""
                ),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )
