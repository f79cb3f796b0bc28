"""What the ledger says was applied and what it has saved so far: the CLI's `ledger`, as a table or JSON.

Savings to date are (monthly cost before - after) / 730 hours x the hours the change has been in effect:
from when it was applied until the endpoint's next restore or applied change, or the change's own undo
or rollback, else until `now`. A park restored later counts only the parked span; an entry without a
cost saves "unknown", never 0. A schedule change's night parks and morning restores are part of it (its
after-cost counts the parked hours): they neither end it nor count as changes.

Realised savings of a month (`realised_savings`) are the same hours cut to that calendar month (UTC):
the CLI's `ledger --month`, the weekly summary and the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from endpoint_optimizer.infra.stores.ledger import MONTHS_KEPT, LedgerStore, month_of
from endpoint_optimizer.models import HOURS_PER_MONTH, Action, LedgerEntry
from endpoint_optimizer.models.change import night_prefix
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


def _ends_it(applied: LedgerEntry, later: LedgerEntry) -> bool:
    """A restore undoes the (park) change before it; a later applied change replaces its cost; the
    change's own undo or rollback takes it back. Another change's rollback leaves this one in effect.
    (After a later change is undone the endpoint is as this change left it, but its savings are not
    counted again: the ledger under-states rather than over-states.)"""
    if later.outcome in ("applied", "restored"):
        return True
    if later.outcome in ("undone", "rolled_back"):
        return applied.action_id is None or later.action_id in (None, applied.action_id)
    return False


def _nights(history: list[LedgerEntry]) -> list[LedgerEntry]:
    """The entries of night parking on one endpoint: each night's park (action id `night_prefix(<schedule
    change>)...`, act/night.py) and the restore that brought it back (same snapshot). They are part of the
    schedule change, whose after-cost already counts the parked hours (decide/rules/schedule.py), so they
    neither end it nor count as changes of their own."""
    prefixes = tuple(
        night_prefix(e.action_id)
        for e in history
        if e.action == Action.SCHEDULE and e.outcome == "applied" and e.action_id
    )
    if not prefixes:
        return []
    parks = [e for e in history if e.action == Action.PARK and (e.action_id or "").startswith(prefixes)]
    snapshots = {e.snapshot_taken_at for e in parks if e.snapshot_taken_at is not None}
    restores = [e for e in history if e.outcome == "restored" and e.snapshot_taken_at in snapshots]
    return parks + restores


def _applied_spans(entries: Iterable[LedgerEntry]) -> list[tuple[LedgerEntry, datetime | None]]:
    """Each applied change with when it stopped being in effect (None: still is)."""
    by_endpoint: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_endpoint.setdefault(entry.endpoint_name, []).append(entry)
    spans: list[tuple[LedgerEntry, datetime | None]] = []
    for everything in by_endpoint.values():
        nights = {id(e) for e in _nights(everything)}
        history = sorted((e for e in everything if id(e) not in nights), key=lambda e: e.recorded_at)
        for index, entry in enumerate(history):
            if entry.outcome != "applied" or entry.action == "restore":
                continue
            later = history[index + 1 :]
            until = next((e.recorded_at for e in later if _ends_it(entry, e)), None)
            spans.append((entry, until))
    return spans


def applied_changes(entries: Iterable[LedgerEntry], now: datetime) -> list[AppliedChange]:
    """The applied entries with their savings to date, oldest applied first."""
    changes = [_change(entry, until, now) for entry, until in _applied_spans(entries)]
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


# ---- realised savings of a calendar month -------------------------------------------------------------


def parse_month(text: str) -> date:
    """`2026-12` -> the month's first day (ValueError otherwise)."""
    year, dash, month = text.partition("-")
    try:
        if dash and len(year) == 4 and len(month) == 2:
            return date(int(year), int(month), 1)
    except ValueError:
        pass
    raise ValueError(f"expected a month as YYYY-MM, got {text!r}")


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, following


@dataclass(frozen=True)
class RealisedChange:
    """One applied change over the part of a month it was in effect, and what the endpoint cost then
    before and after it (the ledger's monthly prices / 730 hours x those hours)."""

    endpoint_name: str
    action: str
    action_id: str | None
    applied_at: datetime
    counted_from: datetime
    counted_until: datetime
    ended: bool  # undone, rolled back, restored or replaced within the month
    cost_before_usd: float | None
    cost_after_usd: float | None

    @property
    def hours(self) -> float:
        return (self.counted_until - self.counted_from) / timedelta(hours=1)

    @property
    def days(self) -> float:
        return self.hours / 24

    @property
    def saved_usd(self) -> float | None:
        if self.cost_before_usd is None or self.cost_after_usd is None:
            return None
        return self.cost_before_usd - self.cost_after_usd

    def as_json(self) -> dict[str, object]:
        return {
            "endpoint_name": self.endpoint_name,
            "action": self.action,
            "action_id": self.action_id,
            "applied_at": self.applied_at.isoformat(),
            "counted_from": self.counted_from.isoformat(),
            "counted_until": self.counted_until.isoformat(),
            "ended": self.ended,
            "days": round(self.days, 4),
            "cost_before_usd": _cents(self.cost_before_usd),
            "cost_after_usd": _cents(self.cost_after_usd),
            "saved_usd": _cents(self.saved_usd),
        }


def _cents(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 2)


@dataclass(frozen=True)
class MonthSavings:
    """What the ledger's applied changes saved in one calendar month (UTC), up to `now` for the month
    under way. A change without a cost before or after is listed and left out of the total, never 0."""

    month: date
    changes: list[RealisedChange]

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def total_saved_usd(self) -> float:
        return sum(saved for change in self.changes if (saved := change.saved_usd) is not None)

    @property
    def priced(self) -> list[RealisedChange]:
        return [change for change in self.changes if change.saved_usd is not None]

    @property
    def unpriced(self) -> list[RealisedChange]:
        return [change for change in self.changes if change.saved_usd is None]

    def as_json(self) -> dict[str, object]:
        return {
            "month": self.label,
            "total_saved_usd": round(self.total_saved_usd, 2),
            "changes": [change.as_json() for change in self.changes],
        }

    def headline(self) -> str:
        """The summary's one line, e.g. "Saved this month so far: $120.00 across 2 changes"."""
        count = len(self.priced)
        line = (
            f"Saved this month so far: {usd(self.total_saved_usd)} across {count} change{'s' * (count != 1)}"
        )
        if self.unpriced:
            line += f" ({len(self.unpriced)} more without a known cost)"
        return line


def realised_savings(entries: Iterable[LedgerEntry], month: date, now: datetime) -> MonthSavings:
    """Per applied change, the cost before and after over the hours of `month` it stayed applied: from
    when it was applied (or the month's start) until its undo, rollback, restore or a later change on the
    endpoint (or the month's end, or `now`). Oldest applied first."""
    start, following = _month_bounds(month)
    changes: list[RealisedChange] = []
    for entry, until in _applied_spans(entries):
        counted_from = max(entry.recorded_at, start)
        counted_until = min(until or following, following, now)
        if counted_until <= counted_from:
            continue
        share = (counted_until - counted_from) / timedelta(hours=HOURS_PER_MONTH)
        before, after = entry.monthly_cost_before_usd, entry.monthly_cost_after_usd
        changes.append(
            RealisedChange(
                endpoint_name=entry.endpoint_name,
                action=str(entry.action),
                action_id=entry.action_id,
                applied_at=entry.recorded_at,
                counted_from=counted_from,
                counted_until=counted_until,
                ended=until is not None and until <= counted_until,
                cost_before_usd=None if before is None else before * share,
                cost_after_usd=None if after is None else after * share,
            )
        )
    changes.sort(key=lambda c: (c.applied_at, c.endpoint_name))
    return MonthSavings(month=month.replace(day=1), changes=changes)


def month_so_far(ledger: LedgerStore, now: datetime) -> MonthSavings:
    """What the applied changes have saved in the month of `now` (UTC) until `now`: the run summary's line.
    Read from the ledger's month index back to the retention (MONTHS_KEPT), since a change applied months
    ago and never undone still saves this month."""
    month = month_of(now)
    return realised_savings(ledger.entries_since(month, MONTHS_KEPT), month, now)


def month_table(savings: MonthSavings) -> str:
    """The month's changes as aligned columns under a header, then the total."""
    rows = [("ENDPOINT", "ACTION", "IN EFFECT (UTC)", "DAYS", "COST BEFORE", "COST AFTER", "SAVED")]
    for change in savings.changes:
        rows.append(
            (
                change.endpoint_name,
                change.action,
                f"{change.counted_from:%m-%d %H:%M} -> {change.counted_until:%m-%d %H:%M}"
                + (" (ended)" if change.ended else ""),
                f"{change.days:.1f}",
                usd(change.cost_before_usd),
                usd(change.cost_after_usd),
                usd(change.saved_usd),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    count = len(savings.priced)
    total = f"TOTAL {savings.label}: {usd(savings.total_saved_usd)} saved across {count} change(s)"
    if savings.unpriced:
        total += f"; {len(savings.unpriced)} without a known cost, not counted"
    return "\n".join([*lines, total])
