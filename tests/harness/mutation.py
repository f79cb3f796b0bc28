"""`make mutation`: mutmut over the apply, approval and guard code, failed above a survivor budget.

    python tests/harness/mutation.py [--source DIR] [--work DIR] [--max-children N] [--no-budget]

Copies the tree at --source (default: this checkout) to --work (default: build/mutation), with the
package also at src/endpoint_optimizer so mutmut names its mutants `endpoint_optimizer.<module>.<fn>`,
runs `mutmut run` there on the mutants named by MUTANTS (its settings are [tool.mutmut] in
pyproject.toml: the files, and the fast test selection), then counts the results per file and exits 1
when a file has more survivors than BUDGET allows. docs/mutation.md says what counts and why.

Nothing here is product code.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path("layers/endpoint_optimizer/endpoint_optimizer")

# The code that changes or guards customer endpoints: the mutants of the apply, approval and ledger
# code, and of the guards that decide whether an endpoint may get a proposal at all. Each group names
# its files (under src/endpoint_optimizer, where mutmut keeps a .meta per file) and their mutants.
_ACT = ("park", "recheck", "capture", "restore", "way_back", "endpoint_state")
# The state table's DynamoDB stores (what infra/table.py was), not their in-memory twins (test code's
# stand-ins: a mutant there is caught, or not, by the contract test, which says nothing of production).
# mutmut 3.7 names a method's mutants x<U+01C1><class><U+01C1><method>__mutmut_<n> (trampoline_templates.py).
METHOD = "\u01c1"
_STORES = ("approvals", "holds", "way_backs", "intents", "ledger", "dynamodb", "keys")
MUTANTS: dict[str, dict[str, list[str]]] = {
    "actions.py": {f"act/{m}.py": [f"endpoint_optimizer.act.{m}.*"] for m in _ACT},
    "approvals.py": {"act/approvals.py": ["endpoint_optimizer.act.approvals.*"]},
    "ledger.py": {
        f"infra/stores/{m}.py": [
            f"endpoint_optimizer.infra.stores.{m}.x_*",
            f"endpoint_optimizer.infra.stores.{m}.x{METHOD}DynamoDB*",
        ]
        for m in _STORES
    },
    "ladder.py": {
        "decide/ladder.py": [
            "endpoint_optimizer.decide.ladder.x_decide__mutmut_*",
            "endpoint_optimizer.decide.ladder.x_utilization_present__mutmut_*",
            "endpoint_optimizer.decide.ladder.x__expected_days__mutmut_*",
        ]
    },
}
# By default one mutant in five is run: those whose number (mutmut numbers each function's mutants 1,
# 2, ...) ends in 1 or 6. --all runs every one (about 5 times as long: docs/mutation.md).
SAMPLE = "[16]"
# The most undetected mutants (survived + no tests + suspicious) each file may keep in the sample: the
# counts of 2026-12-01 (docs/mutation.md), to be lowered as tests are added, never raised.
BUDGET = {"actions.py": 65, "approvals.py": 14, "ledger.py": 24, "ladder.py": 14}

# mutmut 3.7's exit codes of a mutant's test run (mutmut/__main__.py status_by_exit_code; importing it
# reads the configuration of the working directory, so it is copied here). Any other code: suspicious.
STATUS = {0: "survived", 1: "killed", 3: "killed", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= {36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout"}
STATUS |= {37: "caught by type check", -11: "segfault", -9: "segfault"}
# A test noticed the mutant: it failed, hung past mutmut's time limit, or crashed. Any other status
# (survived, no tests, suspicious, skipped) is a mutant that no test noticed.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
# mutmut 3.7 reads `item._nodeid`, gone in pytest 9 (mutmut 3.8 reads `nodeid`, but needs click>=8.4.2,
# and aws-sam-cli 1.170.0 pins click==8.1.8): put the old name back, then run mutmut's own CLI.
MUTMUT = (
    "import _pytest.nodes as nodes; nodes.Node._nodeid = property(lambda node: node.nodeid); "
    "from mutmut.__main__ import cli; cli(prog_name='mutmut')"
)
IGNORED = {".git", ".venv", "build", ".aws-sam", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".bench"}


def stage(source: Path, work: Path) -> None:
    """A fresh copy of `source` at `work`, the package also at src/ (where mutmut looks for it)."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(
        source,
        work,
        ignore=lambda _, names: [
            n for n in names if n in IGNORED or n.endswith(".egg-info") or n == "__pycache__"
        ],
    )
    shutil.copytree(work / PACKAGE, work / "src" / "endpoint_optimizer")


def statuses(work: Path, *, sample: bool) -> dict[str, dict[str, str]]:
    """{file: {mutant: status}} of the mutants that MUTANTS names (and SAMPLE picks)."""
    found: dict[str, dict[str, str]] = {}
    for name, files in MUTANTS.items():
        found[name] = {}
        for file, named in files.items():
            patterns = [p + SAMPLE for p in named] if sample else named
            meta = work / "mutants" / "src" / "endpoint_optimizer" / f"{file}.meta"
            codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
            found[name] |= {
                key: "not checked" if code is None else STATUS.get(code, "suspicious")
                for key, code in codes.items()
                if any(fnmatch.fnmatch(key, p) for p in patterns)
            }
    return found


def tally(work: Path, *, sample: bool) -> dict[str, Counter[str]]:
    """How many mutants of each status, per file."""
    return {name: Counter(found.values()) for name, found in statuses(work, sample=sample).items()}


def undetected(counts: Counter[str]) -> int:
    return sum(n for state, n in counts.items() if state not in DETECTED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=REPO_ROOT)
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "mutation")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-budget", action="store_true", help="report only, never fail")
    parser.add_argument("--files", nargs="+", choices=sorted(MUTANTS), default=sorted(MUTANTS))
    parser.add_argument("--all", action="store_true", help="every mutant, not the one-in-five sample")
    args = parser.parse_args(argv)
    work = args.work.resolve()

    started = time.monotonic()
    stage(args.source.resolve(), work)
    # The staged harness, not the checkout's (the editable install maps emulated_aws to the checkout).
    env = {**os.environ, "PYTHONPATH": str(work / "tests" / "harness")}
    patterns = [
        p if args.all else p + SAMPLE
        for name in args.files
        for named in MUTANTS[name].values()
        for p in named
    ]
    command = [sys.executable, "-c", MUTMUT, "run", "--max-children", str(args.max_children), *patterns]
    print(f"mutmut run over {', '.join(args.files)} (log: {work / 'mutmut.log'}) ...", flush=True)
    with (work / "mutmut.log").open("w") as log:
        run = subprocess.run(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if run.returncode != 0:
        print((work / "mutmut.log").read_text()[-3000:])
        print(f"mutmut run failed (exit {run.returncode})", file=sys.stderr)
        return 2

    counts = {name: states for name, states in tally(work, sample=not args.all).items() if name in args.files}
    print(f"\nmutation: {time.monotonic() - started:.0f} s, {args.max_children} workers, work dir {work}")
    print(f"{'file':<14} {'mutants':>8} {'killed':>7} {'timeout':>8} {'survived':>9} {'no tests':>9} "
          f"{'undetected':>11} {'budget':>7}")  # fmt: skip
    over = []
    for name, states in counts.items():
        total, missed = sum(states.values()), undetected(states)
        print(f"{name:<14} {total:>8} {states['killed']:>7} {states['timeout']:>8} {states['survived']:>9} "
              f"{states['no tests']:>9} {missed:>11} {BUDGET[name]:>7}")  # fmt: skip
        if total == 0 or states["not checked"]:
            over.append(f"{name}: {total} mutants, {states['not checked']} not checked")
        elif missed > BUDGET[name]:
            over.append(f"{name}: {missed} undetected > budget {BUDGET[name]}")
    listed = work / "undetected.txt"
    listed.write_text(
        "".join(
            f"{state:<12} {mutant}\n"
            for name, found in statuses(work, sample=not args.all).items()
            if name in args.files
            for mutant, state in sorted(found.items())
            if state not in DETECTED
        )
    )
    print(f"undetected mutants: {listed}; see one: cd {work} && mutmut show NAME")
    if over and not args.no_budget:
        print("FAILED: " + "; ".join(over))
        return 1
    print("PASSED" if not over else "over budget (not enforced): " + "; ".join(over))
    return 0


if __name__ == "__main__":
    sys.exit(main())
