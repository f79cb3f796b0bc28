"""`endpoint-optimizer`: read-only scans of a real account from a laptop, and restore.

The embedded demo is development tooling: `make demo` in a source checkout (docs/architecture.md).

Uses the default boto3 credential chain (profiles, SSO, environment), so it also honours
AWS_ENDPOINT_URL for emulated AWS.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.act.park import RestoreFailed, restore
from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.decide.pricing import bundled_price_book, live_price_book
from endpoint_optimizer.infra.clients import Clients, pricing_client
from endpoint_optimizer.infra.price_cache import LocalPriceCache, default_price_cache_path
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Plan
from endpoint_optimizer.notify.report import render_report
from endpoint_optimizer.notify.slack import usd
from endpoint_optimizer.plan_contract import write_plan
from endpoint_optimizer.scan.region import scan_region
from endpoint_optimizer.scan.state import LocalScanState, default_state_path

TABLE_ENV = "ENDPOINT_OPTIMIZER_TABLE"


def _session(args: argparse.Namespace) -> boto3.Session:
    return boto3.Session(profile_name=args.profile, region_name=args.region)


def render_plan(plan: Plan, out: TextIO) -> None:
    rows = [("ENDPOINT", "ACTION", "COST/MONTH", "SAVES/MONTH", "WHY")]
    for finding in sorted(plan.findings, key=lambda f: (f.action.value == "none", f.endpoint_name)):
        rows.append(
            (
                finding.endpoint_name,
                finding.action.value,
                usd(finding.current_monthly_cost_usd),
                usd(finding.estimated_monthly_savings_usd),
                finding.reasons[0] if finding.reasons else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        out.write("  ".join(cells) + "  " + row[4] + "\n")
    savings = sum(f.estimated_monthly_savings_usd or 0 for f in plan.findings)
    out.write(f"\n{len(plan.findings)} endpoint(s) in {plan.region}; {usd(savings)} a month to save.\n")


class ProgressBar:
    """A one-line progress bar on a terminal (stderr); silent when stderr is not a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        line = f"\r{phase:9} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        if line != self._last:
            self.stream.write(line)
            self.stream.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\n")
            self.stream.flush()


def cmd_scan(args: argparse.Namespace) -> int:
    session = _session(args)
    clients = Clients(session, region=session.region_name)
    if not clients.region:
        print("error: no region: pass --region or set AWS_REGION / a profile region", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    account_id = clients.sts.get_caller_identity()["Account"]
    state_path = Path(args.state) if args.state else default_state_path(account_id, clients.region)
    bar = ProgressBar(sys.stderr)
    try:
        snapshot = scan_region(
            clients,
            account_id=account_id,
            lookback_days=args.lookback_days,
            now=now,
            state=LocalScanState(state_path),
            max_workers=args.workers,
            progress=bar,
        )
    finally:
        bar.close()
    policy = Policy(
        MODE="report",
        LOOKBACK_DAYS=args.lookback_days,
        GRACE_DAYS=args.grace_days,
        SKIP_TAG_KEY=args.skip_tag_key,
        MAX_ACTIONS_PER_RUN=0,
        APPROVAL_TIMEOUT_HOURS=24,
    )
    prices = (
        bundled_price_book()
        if args.offline_prices
        else live_price_book(
            pricing_client(session),
            [clients.region],
            LocalPriceCache(default_price_cache_path([clients.region])),
            now,
        )
    )
    if args.discount:
        prices = prices.with_discount(args.discount)
    for note in prices.notes:
        print(f"note: {note}", file=sys.stderr)
    # The Analyze Lambda's own path (analyze_fleet runs it per target), without its holds: the CLI only
    # reports, and nothing here is report-only as the stack's home would make it.
    plan, _ = analyze_target(snapshot, prices, policy, now)
    render_plan(plan, sys.stdout)
    if args.output:
        write_plan(plan, Path(args.output))
        print(f"plan written to {args.output}")
    if args.report:
        Path(args.report).write_text(render_report(plan, snapshot), encoding="utf-8")
        print(f"report written to {args.report}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    table_name = args.table or os.environ.get(TABLE_ENV)
    if not table_name:
        print(f"error: pass --table (the stack output StateTableName) or set {TABLE_ENV}", file=sys.stderr)
        return 2
    session = _session(args)
    clients = Clients(session, region=session.region_name)
    table = StateTable(clients.dynamodb, table_name)
    try:
        snapshot = restore(
            clients.sagemaker,
            clients.autoscaling,
            table,
            args.endpoint,
            s3=clients.s3,
            ecr=clients.ecr,
            now=datetime.now(UTC),
            restored_by=os.environ.get("USER"),
            wait=not args.no_wait,
        )
    except RestoreFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.no_wait:
        print(
            f"creating {args.endpoint} from config {snapshot.config_name}; run the same restore again once "
            f"it is InService to put back its {len(snapshot.scalable_targets)} scalable target(s)"
        )
        return 0
    print(
        f"restored {args.endpoint} from config {snapshot.config_name} "
        f"with {len(snapshot.scalable_targets)} scalable target(s)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="endpoint-optimizer", description="Find and fix idle or oversized SageMaker endpoints."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="read-only scan of one region; prints findings, writes the plan")
    scan.add_argument("--region")
    scan.add_argument("--profile")
    scan.add_argument("--lookback-days", type=int, default=14)
    scan.add_argument("--grace-days", type=int, default=7)
    scan.add_argument("--skip-tag-key", default="endpoint-optimizer:skip")
    scan.add_argument("--output", help="write the plan JSON (schema_version 1) here")
    scan.add_argument(
        "--discount", type=float, default=0.0, help="negotiated discount on SageMaker prices, in percent"
    )
    scan.add_argument(
        "--offline-prices",
        action="store_true",
        help="use only the bundled price table (no pricing:GetProducts)",
    )
    scan.add_argument("--report", help="write a self-contained HTML report here (e.g. report.html)")
    scan.add_argument(
        "--state",
        help="incremental scan state (default: endpoint-optimizer/ under the user's cache directory); "
        "a repeat scan only describes endpoints that changed",
    )
    scan.add_argument("--workers", type=int, default=8, help="concurrent API calls (default 8)")
    scan.set_defaults(func=cmd_scan)

    restore_cmd = sub.add_parser("restore", help="bring a parked endpoint back with the same name and config")
    restore_cmd.add_argument("endpoint")
    restore_cmd.add_argument("--table", help=f"the stack's StateTableName output (or ${TABLE_ENV})")
    restore_cmd.add_argument("--region")
    restore_cmd.add_argument("--profile")
    restore_cmd.add_argument("--no-wait", action="store_true", help="do not wait for InService")
    restore_cmd.set_defaults(func=cmd_restore)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
