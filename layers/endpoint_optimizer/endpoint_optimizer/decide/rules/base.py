"""What a rung is: its place on the ladder, its risk, the IAM it needs to be judged and to be applied,
and the pure function that judges one endpoint (or, for a fleet rung, every endpoint of a target).

Each rung module registers itself with `@rung` / `@fleet_rung`; `decide.rules` collects them in ladder
order. The registry is keyed by the action: one rung per action, one position per rung.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from endpoint_optimizer.decide.changes import Change
from endpoint_optimizer.decide.pricing import PriceBook
from endpoint_optimizer.decide.signals import Reading, Traffic, reading, unreadable_types
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import (
    Action,
    Confidence,
    Finding,
    ScannedEndpoint,
    Variant,
    VariantMetrics,
)


@dataclass(frozen=True)
class Context:
    scanned: ScannedEndpoint
    prices: PriceBook
    policy: Policy
    now: datetime
    age_days: float
    changed_days: float
    monthly_cost: float | None
    unknown_prices: list[str]
    variant_metrics: dict[str, VariantMetrics]
    component_metrics: list[VariantMetrics]
    traffic: Traffic
    changes: list[Change] = field(default_factory=list)

    @property
    def endpoint_name(self) -> str:
        return self.scanned.endpoint.name

    @property
    def region(self) -> str:
        return self.scanned.endpoint.region

    @property
    def instance_variants(self) -> list[Variant]:
        return [v for v in self.scanned.endpoint.variants if not v.is_serverless]

    def peak(self, signal: str) -> Reading | None:
        """The highest share of its instance that `signal` reached on any instance variant (None when no
        variant reported it in terms of its instance)."""
        found = [
            item
            for v in self.instance_variants
            if v.name in self.variant_metrics
            and (item := reading(self.variant_metrics[v.name], v, signal)) is not None
        ]
        return max(found, key=lambda item: item.share) if found else None

    @property
    def unreadable_types(self) -> list[str]:
        return unreadable_types(self.instance_variants)

    def hourly(self, instance_type: str | None) -> float | None:
        if instance_type is None:
            return None
        price = self.prices.hourly(self.region, instance_type)
        return price.usd_per_hour if price else None


@dataclass(frozen=True)
class Proposal:
    target: str
    savings: float | None
    reasons: list[str]
    evidence: dict[str, float | int | str | None]
    confidence: Confidence = "high"
    blocked_by: list[str] = field(default_factory=list)


Judge = Callable[[Context], Proposal | None]
# Every finding of a target, its scanned endpoints and the prices -> the findings, some replaced.
FleetJudge = Callable[[list[Finding], list[ScannedEndpoint], PriceBook], list[Finding]]


@dataclass(frozen=True)
class Rung:
    action: Action
    position: int  # place on the ladder: `decide` walks the rungs from the lowest and takes the first fix
    risk_rank: int  # blast radius when choosing a run's actions: reversible in one step and small first
    # What the scan must read, beyond what every decision reads (ladder.GUARD_READS), for this rung to judge.
    reads: tuple[str, ...]
    # What applying this fix calls in IAM, its own checks and reads included (checked against the template).
    writes: tuple[str, ...]
    applied: bool  # whether the apply step carries it out today (otherwise report only)
    # Takes capacity away (fewer or smaller instances, none at times, or none at all): held while the
    # traffic has just changed (`changes_of`).
    reduces_capacity: bool
    evaluate: Judge | None = None  # judges one endpoint
    evaluate_fleet: FleetJudge | None = None  # judges every endpoint of a target together

    @property
    def name(self) -> str:
        return self.action.value


REGISTERED: dict[Action, Rung] = {}


def register(entry: Rung) -> None:
    """One rung per action and per position: a second one is a mistake, not an override."""
    if entry.action in REGISTERED:
        raise ValueError(f"rung {entry.name} registered twice")
    taken = {other.position: other.name for other in REGISTERED.values()}
    if entry.position in taken:
        raise ValueError(f"rungs {taken[entry.position]} and {entry.name} share position {entry.position}")
    REGISTERED[entry.action] = entry


def rung(
    action: Action,
    *,
    position: int,
    risk_rank: int,
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...],
    applied: bool = False,
    reduces_capacity: bool = True,
) -> Callable[[Judge], Judge]:
    """Registers a rung that judges one endpoint at a time."""

    def decorate(evaluate: Judge) -> Judge:
        register(
            Rung(
                action=action,
                position=position,
                risk_rank=risk_rank,
                reads=reads,
                writes=writes,
                applied=applied,
                reduces_capacity=reduces_capacity,
                evaluate=evaluate,
            )
        )
        return evaluate

    return decorate


def fleet_rung(
    action: Action,
    *,
    position: int,
    risk_rank: int,
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...] = (),
    reduces_capacity: bool = True,
) -> Callable[[FleetJudge], FleetJudge]:
    """Registers a rung that judges a target's endpoints together, after every endpoint was decided.
    Report only: nothing applies a fleet-level change."""

    def decorate(evaluate_fleet: FleetJudge) -> FleetJudge:
        register(
            Rung(
                action=action,
                position=position,
                risk_rank=risk_rank,
                reads=reads,
                writes=writes,
                applied=False,
                reduces_capacity=reduces_capacity,
                evaluate_fleet=evaluate_fleet,
            )
        )
        return evaluate_fleet

    return decorate


def round_usd(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} %"
