"""`make bench` (decisions): the fix ladder against the labelled synthetic fleet.

Prints, per archetype and in total: agreement with the labels, harmful actions (a fix on an endpoint
that must be left alone, or one its limits forbid; advice counts as agreeing only while it is blocked),
and the cost of endpoints needing a fix that got an accepted, unblocked one. Exits non-zero when a
threshold of the issue is missed.

`--ref GIT_REF` grades the product at another commit (e.g. `--ref HEAD~1`) on the same fleet: the
before/after of a change to the decisions, per archetype. The package of that commit is taken with
`git archive` into a temporary directory and imported from there in a subprocess, so the whole decide
package (ladder, rungs, signals, prices) is the one of that commit, and this fleet and its labels are
today's. Any commit since the package split (decide/) can be graded.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import endpoint_optimizer
from emulated_aws.labelled_fleet import generate, labelled_price_book
from endpoint_optimizer.decide import ladder
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.models import Action

REPO = Path(__file__).resolve().parents[3]
LAYER = "layers/endpoint_optimizer"  # the directory that holds the endpoint_optimizer package
POLICY = {
    "MODE": "approve",
    "LOOKBACK_DAYS": "14",
    "GRACE_DAYS": "7",
    "SKIP_TAG_KEY": "endpoint-optimizer:skip",
    "MAX_ACTIONS_PER_RUN": "5",
    "APPROVAL_TIMEOUT_HOURS": "24",
}


def graded_at(ref: str) -> int:
    """This bench in a subprocess that imports endpoint_optimizer as it was at `ref`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, f"{LAYER}/endpoint_optimizer"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"--ref {ref}: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="decision-bench-") as copy:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(copy, filter="data")
        # PYTHONPATH comes before the editable install's path: the copy is the package imported.
        path = os.pathsep.join([str(Path(copy) / LAYER), str(REPO / "tests" / "harness")])
        env = {**os.environ, "PYTHONPATH": path}
        command = [sys.executable, "-m", "emulated_aws.decision_bench", "--comparison", ref]
        return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="grade the package of this git commit instead of the checkout's")
    parser.add_argument("--comparison", help=argparse.SUPPRESS)  # set by --ref in its subprocess
    args = parser.parse_args(argv)
    if args.ref is not None:
        return graded_at(args.ref)
    if args.comparison is not None:
        print(f"graded: endpoint_optimizer at {args.comparison} ({Path(endpoint_optimizer.__file__).parent})")
    # Commits before the action registry called the fleet-level rung (consolidate) directly.
    decide_fleet = vars(ladder).get("decide_fleet") or vars(ladder)["consolidate"]
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    policy = Policy.from_env(POLICY)
    prices = labelled_price_book()
    fleet = generate(now, copies=20, seed=2026)
    findings = decide_fleet(
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
    if args.comparison is not None:  # a comparison run never overwrites the record of the product's own
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
