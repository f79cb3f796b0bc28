"""`endpoint-optimizer`: read-only scans of a real account from a laptop; restore, undo, the ledger and
its realised savings; approvals decided without Slack.

The embedded demo is development tooling: `make demo` in a source checkout (docs/architecture.md).

Uses the default boto3 credential chain (profiles, SSO, environment), so it also honours
AWS_ENDPOINT_URL for emulated AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from endpoint_optimizer.act.apply import RollbackFailed, UndoRefused, applied_entry, undo
from endpoint_optimizer.act.approvals import Approver, Verdict, decide
from endpoint_optimizer.act.park import RestoreFailed, restore
from endpoint_optimizer.analysis import analyze_target
from endpoint_optimizer.confirm.endpoint import (
    Started,
    finish_confirmation,
    recommend_document,
    scan_endpoint,
    start_confirmation,
)
from endpoint_optimizer.confirm.jobs import TERMINAL, describe, stop
from endpoint_optimizer.decide.pricing import bundled_price_book, live_price_book
from endpoint_optimizer.infra.clients import Clients, pricing_client
from endpoint_optimizer.infra.price_cache import LocalPriceCache, default_price_cache_path
from endpoint_optimizer.infra.settings import Policy
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import COMPLETED, Action, ApprovalState, Confirmation, Plan
from endpoint_optimizer.notify.ledger_text import (
    applied_changes,
    ledger_table,
    month_so_far,
    month_table,
    parse_month,
    realised_savings,
)
from endpoint_optimizer.notify.report import render_report
from endpoint_optimizer.notify.slack import usd
from endpoint_optimizer.plan_contract import write_plan
from endpoint_optimizer.registry import steps_for
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
        # With the stack's table, the report also shows what the applied changes saved this month (the
        # ledger's month index, as the run summary reads it).
        realised = month_so_far(StateTable(clients.dynamodb, args.table), now) if args.table else None
        Path(args.report).write_text(render_report(plan, snapshot, realised=realised), encoding="utf-8")
        print(f"report written to {args.report}")
    return 0


def _state_table(args: argparse.Namespace) -> tuple[Clients, StateTable] | None:
    """The stack's state table (--table, else ENDPOINT_OPTIMIZER_TABLE) with the operator's clients."""
    table_name = args.table or os.environ.get(TABLE_ENV)
    if not table_name:
        print(f"error: pass --table (the stack output StateTableName) or set {TABLE_ENV}", file=sys.stderr)
        return None
    session = _session(args)
    clients = Clients(session, region=session.region_name)
    return clients, StateTable(clients.dynamodb, table_name)


def cmd_restore(args: argparse.Namespace) -> int:
    opened = _state_table(args)
    if opened is None:
        return 2
    clients, table = opened
    try:
        way_back = restore(
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
            f"creating {args.endpoint} from config {way_back.config_name}; run the same restore again once "
            f"it is InService to put back its {len(way_back.scalable_targets)} scalable target(s)"
        )
        return 0
    print(
        f"restored {args.endpoint} from config {way_back.config_name} "
        f"with {len(way_back.scalable_targets)} scalable target(s)"
    )
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    """Revert one applied change from its way back (a park: restore it), and record it undone."""
    opened = _state_table(args)
    if opened is None:
        return 2
    clients, table = opened
    try:
        entry = applied_entry(table, args.action_id)
        if entry.action == Action.PARK:
            args.endpoint, args.no_wait = entry.endpoint_name, False
            return cmd_restore(args)
        steps = steps_for(Action(entry.action))
        if steps is None:
            raise UndoRefused(f"{entry.action} cannot be undone by this version (no steps registered)")
        undone = undo(
            clients,
            table,
            steps,
            entry,
            now=datetime.now(UTC),
            pause=lambda: args.sleep(args.poll_seconds),
        )
    except (UndoRefused, RollbackFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"undid {entry.action} of {entry.endpoint_name} ({args.action_id}): {undone.detail}")
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    opened = _state_table(args)
    if opened is None:
        return 2
    _, table = opened
    now = datetime.now(UTC)
    if args.month is not None:
        month = realised_savings(table.all_ledger_entries(), args.month, now)
        print(json.dumps(month.as_json(), indent=2) if args.json else month_table(month))
        return 0
    changes = applied_changes(table.all_ledger_entries(), now)
    if args.json:
        print(json.dumps([change.as_json() for change in changes], indent=2))
    else:
        print(ledger_table(changes))
    return 0


def cmd_approvals_list(args: argparse.Namespace) -> int:
    """The approvals still waiting for a decision: id, endpoint, action, savings, when each expires."""
    opened = _state_table(args)
    if opened is None:
        return 2
    _, table = opened
    waiting = table.open_approvals(datetime.now(UTC))
    rows = [("ID", "ENDPOINT", "ACTION", "SAVES/MONTH", "EXPIRES (UTC)")]
    rows += [
        (
            approval.approval_id,
            approval.finding.endpoint_name,
            approval.finding.action.value,
            usd(approval.finding.estimated_monthly_savings_usd),
            approval.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        )
        for approval in waiting
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if not waiting:
        print("no approval is waiting for a decision")
    return 0


def _decide_from_cli(args: argparse.Namespace, verdict: Verdict) -> int:
    """The same decision as a Slack click (act.approvals.decide), by the caller's IAM identity: whoever
    may read and write the state table and call SendTaskSuccess/SendTaskFailure may decide. Exit 0 when
    decided, 1 when refused (unknown, already decided, expired), 2 when the workflow could not be told."""
    opened = _state_table(args)
    if opened is None:
        return 2
    clients, table = opened
    caller = clients.sts.get_caller_identity()["Arn"]
    outcome = decide(
        table,
        clients.stepfunctions,
        args.approval_id,
        verdict,
        approver=Approver.iam_caller(caller),
        reason=getattr(args, "reason", None),
        now=datetime.now(UTC),
    )
    if outcome.status == HTTPStatus.OK:
        print(outcome.message)
        return 0
    print(f"error: {args.approval_id}: {outcome.message}", file=sys.stderr)
    return 2 if outcome.status == HTTPStatus.SERVICE_UNAVAILABLE else 1


def cmd_approvals_approve(args: argparse.Namespace) -> int:
    return _decide_from_cli(args, ApprovalState.APPROVED)


def cmd_approvals_reject(args: argparse.Namespace) -> int:
    return _decide_from_cli(args, ApprovalState.REJECTED)


def _wait_for(clients: Clients, started: Started, args: argparse.Namespace) -> dict[str, object]:
    """Poll the job to a terminal status, a status line on a terminal; past its deadline, stop it."""
    sleep: Callable[[float], None] = args.sleep
    shown = sys.stderr.isatty()
    while True:
        described = describe(clients.sagemaker, started.job_name)
        status = str(described.get("Status"))
        if shown:
            sys.stderr.write(f"\r{started.job_name}: {status:<12}")
            sys.stderr.flush()
        if status in TERMINAL:
            if shown:
                sys.stderr.write("\n")
            return described
        if started.deadline is not None and datetime.now(UTC) >= started.deadline and status != "STOPPING":
            stop(clients.sagemaker, started.job_name)
        sleep(args.poll_seconds)


def cmd_recommend(args: argparse.Namespace) -> int:
    session = _session(args)
    clients = Clients(session, region=session.region_name)
    if not clients.region:
        print("error: no region: pass --region or set AWS_REGION / a profile region", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    account_id = clients.sts.get_caller_identity()["Account"]
    snapshot = scan_endpoint(
        clients, args.endpoint, account_id=account_id, now=now, lookback_days=args.lookback_days
    )
    policy = Policy(
        MODE="report",
        LOOKBACK_DAYS=args.lookback_days,
        GRACE_DAYS=7,
        SKIP_TAG_KEY="endpoint-optimizer:skip",
        MAX_ACTIONS_PER_RUN=0,
        APPROVAL_TIMEOUT_HOURS=24,
    )
    plan, _ = analyze_target(snapshot, bundled_price_book(), policy, now)
    outcome = start_confirmation(
        clients.sagemaker,
        clients.cloudwatch,
        clients.s3,
        plan.findings[0],
        role_arn=args.role_arn,
        now=now,
        lookback_days=args.lookback_days,
        reuse_days=args.reuse_days,
        bucket=args.bucket,
        payload_url=args.payload,
    )
    if isinstance(outcome, Started):
        verb = "reusing" if outcome.reused else "started"
        print(f"{verb} Inference Recommender job {outcome.job_name}", file=sys.stderr)
        described = (
            _wait_for(clients, outcome, args) if args.wait else describe(clients.sagemaker, outcome.job_name)
        )
        confirmation: Confirmation = finish_confirmation(
            clients.sagemaker, outcome.job_name, outcome.baseline, reused=outcome.reused, described=described
        )
    else:
        confirmation = outcome
    document = recommend_document(args.endpoint, confirmation)
    if args.output:
        Path(args.output).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"confirmation written to {args.output}", file=sys.stderr)
    for reason in confirmation.reasons:
        print(reason)
    if confirmation.status == COMPLETED:
        return 0
    if confirmation.status in TERMINAL or confirmation.job_name is None:
        print(f"error: no completed benchmark for {args.endpoint} ({confirmation.status})", file=sys.stderr)
        return 1
    print(
        f"job {confirmation.job_name} is {confirmation.status}: run the same command with --wait to wait "
        "for it (a second run reuses the job)",
        file=sys.stderr,
    )
    return 3


def _month(text: str) -> date:
    try:
        return parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
        "--table",
        help="the stack's StateTableName output: the --report then shows this month's realised savings "
        "from its ledger",
    )
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

    undo_cmd = sub.add_parser(
        "undo",
        help="revert an applied change (its ACTION_ID is in `ledger` and the run summary) from its way back",
    )
    undo_cmd.add_argument("action_id")
    undo_cmd.add_argument("--table", help=f"the stack's StateTableName output (or ${TABLE_ENV})")
    undo_cmd.add_argument("--region")
    undo_cmd.add_argument("--profile")
    undo_cmd.add_argument(
        "--poll-seconds", type=float, default=30.0, help="between two reads while it settles"
    )
    undo_cmd.set_defaults(func=cmd_undo)

    ledger_cmd = sub.add_parser("ledger", help="the applied actions in the ledger and what they saved so far")
    ledger_cmd.add_argument("--table", help=f"the stack's StateTableName output (or ${TABLE_ENV})")
    ledger_cmd.add_argument("--region")
    ledger_cmd.add_argument("--profile")
    ledger_cmd.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    ledger_cmd.add_argument(
        "--month",
        type=_month,
        help="realised savings of one calendar month (UTC), e.g. 2026-12: per applied change, the cost "
        "before and after over the days it stayed applied, and the total",
    )
    ledger_cmd.set_defaults(func=cmd_ledger)

    approvals_cmd = sub.add_parser(
        "approvals", help="decide approvals without Slack: list, approve or reject (authorised by IAM)"
    )
    approvals_sub = approvals_cmd.add_subparsers(dest="approvals_command", required=True)
    for name, help_text, func in (
        ("list", "the approvals waiting for a decision", cmd_approvals_list),
        (
            "approve",
            "approve one: resumes the waiting workflow, which applies the change",
            cmd_approvals_approve,
        ),
        (
            "reject",
            "reject one: nothing is applied and the endpoint is not proposed again for a while",
            cmd_approvals_reject,
        ),
    ):
        decision = approvals_sub.add_parser(name, help=help_text)
        if name != "list":
            decision.add_argument("approval_id", help="the approval's id (`approvals list`)")
        if name == "reject":
            decision.add_argument("--reason", help="why, kept with the rejection")
        decision.add_argument("--table", help=f"the stack's StateTableName output (or ${TABLE_ENV})")
        decision.add_argument("--region")
        decision.add_argument("--profile")
        decision.set_defaults(func=func)

    recommend = sub.add_parser(
        "recommend",
        help="confirm the endpoint's rightsize/Graviton/serverless move with an Inference Recommender job",
    )
    recommend.add_argument("endpoint")
    recommend.add_argument("--region")
    recommend.add_argument("--profile")
    recommend.add_argument("--role-arn", required=True, help="the role Inference Recommender runs the job as")
    recommend.add_argument(
        "--payload", help="s3:// URL of a .tar.gz of sample requests (else tag or Data Capture)"
    )
    recommend.add_argument("--wait", action="store_true", help="poll until the job ends")
    recommend.add_argument("--output", help="write the confirmation JSON (schema_version 1) here")
    recommend.add_argument("--lookback-days", type=int, default=14)
    recommend.add_argument("--reuse-days", type=int, default=30, help="reuse a job this recent (0: never)")
    recommend.add_argument(
        "--bucket", help="where a payload packed from Data Capture is written (default: the capture bucket)"
    )
    recommend.add_argument("--poll-seconds", type=float, default=60.0)
    recommend.set_defaults(func=cmd_recommend)

    return parser


def main(argv: Sequence[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """`sleep` waits between two polls of `recommend --wait` (tests pass one that does not sleep)."""
    args = build_parser().parse_args(argv)
    args.sleep = sleep
    try:
        code: int = args.func(args)
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
