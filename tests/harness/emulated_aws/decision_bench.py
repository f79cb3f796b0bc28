"""`make bench` (decisions): the fix ladder against the labelled synthetic fleet.

Prints, per archetype and in total: agreement with the labels, harmful actions (a fix on an endpoint
that must be left alone, or one its limits forbid; advice counts as agreeing only while it is blocked),
and the cost of endpoints needing a fix that got an accepted, unblocked one. Exits non-zero when a
threshold of the issue is missed.

`--ladder PATH` grades another version of `endpoint_optimizer/decide/ladder.py` (e.g. `git show HEAD~1:...`) on
the same fleet: the before/after of a change to the decisions, per archetype.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from emulated_aws.labelled_fleet import generate, labelled_price_book
from endpoint_optimizer.decide import ladder as current_ladder
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import Action

POLICY = {
    "MODE": "approve",
    "LOOKBACK_DAYS": "14",
    "GRACE_DAYS": "7",
    "SKIP_TAG_KEY": "endpoint-optimizer:skip",
    "MAX_ACTIONS_PER_RUN": "5",
    "APPROVAL_TIMEOUT_HOURS": "24",
}


def _ladder(path: str | None) -> ModuleType:
    if path is None:
        return current_ladder
    spec = importlib.util.spec_from_file_location("ladder_under_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--ladder {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ladder", help="grade this copy of ladder.py instead of the installed one")
    args = parser.parse_args(argv)
    ladder = _ladder(args.ladder)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    policy = Policy.from_env(POLICY)
    prices = labelled_price_book()
    fleet = generate(now, copies=20, seed=2026)
    findings = ladder.consolidate(
        [ladder.decide(item.scanned, prices, policy, now) for item in fleet],
        [i.scanned for i in fleet],
        prices,
    )

    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    harmful: list[str] = []
    need_cost = covered_cost = missed_savings_endpoints = 0.0
    proposed_savings = 0.0
    for item, finding in zip(fleet, findings, strict=True):
        row = rows[item.archetype]
        row["endpoints"] += 1
        accepted = item.agrees(finding)
        row["agree"] += accepted
        if finding.action != Action.NONE and not accepted:
            harmful.append(f"{item.scanned.endpoint.name}: {finding.action.value}")
            row["harmful"] += 1
        cost = finding.current_monthly_cost_usd or 0.0
        if item.needs_action:
            need_cost += cost
            if accepted and finding.action != Action.NONE and not finding.blocked_by:
                covered_cost += cost
                proposed_savings += finding.estimated_monthly_savings_usd or 0.0
            else:
                missed_savings_endpoints += 1
        if finding.action != Action.NONE and not finding.blocked_by:  # blocked advice saves nothing
            row["savings"] += finding.estimated_monthly_savings_usd or 0.0

    print(f"{'archetype':34} {'n':>4} {'agree':>7} {'harmful':>8} {'savings/month':>14}")
    for archetype, row in sorted(rows.items()):
        print(
            f"{archetype:34} {row['endpoints']:4.0f} {row['agree'] / row['endpoints']:7.0%} "
            f"{row['harmful']:8.0f} {row['savings']:14,.2f}"
        )
    total = len(fleet)
    agreement = sum(row["agree"] for row in rows.values()) / total
    coverage = covered_cost / need_cost if need_cost else 1.0
    print(
        f"\n{total} endpoints: agreement {agreement:.1%}, harmful actions {len(harmful)}, "
        f"cost needing a fix {need_cost:,.2f} USD/month of which {coverage:.1%} covered by accepted actions; "
        f"{missed_savings_endpoints:.0f} endpoint(s) needing a fix missed; savings proposed {proposed_savings:,.2f} USD/month"
    )
    if args.ladder is not None:  # a comparison run never overwrites the record of the product's own
        return 0
    Path(".bench").mkdir(exist_ok=True)
    Path(".bench/decisions.json").write_text(
        json.dumps(
            {"endpoints": total, "agreement": agreement, "harmful": harmful, "cost_coverage": coverage},
            indent=2,
        )
    )
    ok = not harmful and agreement >= 0.95 and coverage >= 0.97
    print(
        "decision thresholds (0 harmful, >= 95 % agreement, >= 97 % cost coverage):",
        "met" if ok else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
