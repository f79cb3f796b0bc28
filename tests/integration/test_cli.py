"""The CLI on a laptop: a read-only scan through the default credential chain (here AWS_ENDPOINT_URL)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from emulated_aws.fleet import seed_idle_and_busy
from emulated_aws.server import EmulatedAws
from endpoint_optimizer import cli as cli_module
from endpoint_optimizer.analysis import analyze_fleet
from endpoint_optimizer.cli import ProgressBar
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.decide.pricing import bundled_price_book
from endpoint_optimizer.infra.artifacts import load_plan, store_snapshot
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.infra.targets import Home
from endpoint_optimizer.models import Approval, ApprovalState, Holds, ScanSnapshot
from endpoint_optimizer.plan_contract import plan_document, plan_schema
from tests.conftest import policy, sample_snapshot
from tests.integration.parkable import NAME, TABLE, fresh, park, scanned_park_action
from tests.integration.parkable import NOW as PARKED_AT

HOURS = 14 * 24


@pytest.fixture
def two_endpoints(aws: EmulatedAws) -> None:
    seed_idle_and_busy(aws, "cli", hours=HOURS)


def test_scan_prints_findings_and_writes_a_plan_that_matches_the_schema(
    two_endpoints: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_path = tmp_path / "plan.json"
    state = str(tmp_path / "state.json")
    assert cli(["scan", "--region", "us-east-1", "--output", str(plan_path), "--state", state]) == 0
    printed = capsys.readouterr().out
    assert "cli-idle" in printed and "park" in printed
    assert "$83.95 a month to save" in printed
    plan = json.loads(plan_path.read_text())
    jsonschema.validate(plan, plan_schema())
    actions = {f["endpoint_name"]: (f["action"], f["blocked_by"]) for f in plan["findings"]}
    assert actions["cli-idle"] == ("park", [])
    # busy x86 endpoint: at most advice that needs an arm64 image, never an unblocked change
    assert actions["cli-busy"][0] in {"none", "migrate_graviton"}
    assert actions["cli-busy"][0] == "none" or actions["cli-busy"][1]


def test_scan_changes_nothing(two_endpoints: None, aws: EmulatedAws, tmp_path: Path) -> None:
    before = aws.client("sagemaker").list_endpoints()["Endpoints"]
    assert cli(["scan", "--region", "us-east-1", "--state", str(tmp_path / "state.json")]) == 0
    assert aws.client("sagemaker").list_endpoints()["Endpoints"] == before


def test_restore_without_a_table_says_what_to_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["restore", "anything"]) == 2
    assert "--table" in capsys.readouterr().err


def test_scan_keeps_its_incremental_state_under_the_user_cache_directory(
    two_endpoints: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cli(["scan", "--region", "us-east-1"]) == 0
    assert (tmp_path / "endpoint-optimizer" / "scan-state-123456789012-us-east-1.json").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_drawn_on_a_terminal_only() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = ProgressBar(stream)
        for done in range(1, 5):
            bar("describe", done, 4)
        bar.close()
    assert "describe  [" + "#" * 30 + "] 4/4" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")
    assert pipe.getvalue() == ""


def test_scan_writes_a_self_contained_html_report(
    two_endpoints: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    args = ["scan", "--region", "us-east-1", "--state", str(tmp_path / "s.json"), "--report", str(report)]
    assert cli(args) == 0
    html = report.read_text()
    assert "cli-idle" in html and "cli-busy" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    # the emulator has no Price List API: the scan says it fell back to the bundled table
    assert "note:" in capsys.readouterr().err


def test_discount_lowers_every_price(two_endpoints: None, tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    args = ["scan", "--region", "us-east-1", "--state", str(tmp_path / "s.json"), "--offline-prices"]
    assert cli([*args, "--output", str(plan_path), "--discount", "20"]) == 0
    idle = next(f for f in json.loads(plan_path.read_text())["findings"] if f["endpoint_name"] == "cli-idle")
    assert idle["current_monthly_cost_usd"] == pytest.approx(83.95 * 0.8, abs=0.01)


def test_the_cli_and_the_analyze_lambda_make_the_same_plan_of_the_same_snapshot(
    aws: EmulatedAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the sample fleet (events/analyze.json) as what the scan of this account and region reads
    aws.reset()
    snapshot = sample_snapshot()
    scanned_at: list[datetime] = []

    def scan_of_the_sample(clients: Any, *, now: datetime, **_: Any) -> ScanSnapshot:
        scanned_at.append(now)
        return snapshot

    monkeypatch.setattr(cli_module, "scan_region", scan_of_the_sample)
    # WHEN the CLI scans with its defaults and the bundled prices
    plan_path = tmp_path / "plan.json"
    args = ["scan", "--region", "us-east-1", "--offline-prices", "--state", str(tmp_path / "s.json")]
    assert cli([*args, "--output", str(plan_path)]) == 0
    # AND the Analyze Lambda analyzes the same snapshot at the same moment, with the template's defaults,
    # from this account and region, no approval open
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="artifacts")
    run = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:same-plan"
    ref = store_snapshot(s3, "artifacts", snapshot, execution_id=run, inline_limit_bytes=0)
    analysis = analyze_fleet(
        s3,
        "artifacts",
        [ref],
        prices=bundled_price_book(),
        policy=policy(),
        now=scanned_at[0],
        run_id=run,
        home=Home(account_id=snapshot.account_id, region=snapshot.region),
        read_holds=lambda findings: Holds(),
    )
    # THEN both plans are the same, finding for finding, and every endpoint has its finding
    lambda_plan = plan_document(load_plan(s3, "artifacts", analysis.plans[0].plan_key))
    cli_plan = json.loads(plan_path.read_text())
    assert cli_plan["findings"] == lambda_plan["findings"]
    assert cli_plan == lambda_plan
    names = {finding["endpoint_name"] for finding in cli_plan["findings"]}
    assert names == {item.endpoint.name for item in snapshot.endpoints} | {
        item.name for item in snapshot.unscanned
    }


def test_ledger_lists_a_parked_endpoint_with_its_savings_to_date(
    aws: EmulatedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an idle endpoint parked on the emulated AWS (in auto mode: no approver)
    WHEN `endpoint-optimizer ledger --json` reads the state table
    THEN it lists the park, its cost before -> 0 and a positive saving to date."""
    fresh(aws)
    scanned = scanned_park_action(aws)
    assert park(Clients(region=aws.region), scanned).outcome == "applied"
    capsys.readouterr()

    assert cli(["ledger", "--table", TABLE, "--region", aws.region, "--json"]) == 0

    (row,) = json.loads(capsys.readouterr().out)
    before = scanned.finding.current_monthly_cost_usd
    assert before is not None and before > 0
    # parked in auto mode (tests/integration/parkable.py): nobody approved it, and the ledger says so
    assert (row["endpoint_name"], row["action"], row["approved_by"]) == (NAME, "park", None)
    assert (row["monthly_cost_before_usd"], row["monthly_cost_after_usd"]) == (before, 0.0)
    assert row["applied_at"] == PARKED_AT.isoformat()
    assert row["in_effect_until"] is None
    assert row["savings_to_date_usd"] > 0


def test_ledger_month_gives_the_realised_savings_of_that_month(
    aws: EmulatedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an idle endpoint parked on 30 November at noon, still parked
    WHEN `endpoint-optimizer ledger --month 2026-11 --json` reads the state table
    THEN November counts its last 12 hours: the cost before for those hours, 0 after, all of it saved;
    the table form ends with the month's total."""
    fresh(aws)
    scanned = scanned_park_action(aws)
    assert park(Clients(region=aws.region), scanned).outcome == "applied"
    before = scanned.finding.current_monthly_cost_usd
    assert before is not None
    capsys.readouterr()

    assert cli(["ledger", "--table", TABLE, "--region", aws.region, "--month", "2026-11", "--json"]) == 0
    november = json.loads(capsys.readouterr().out)
    assert cli(["ledger", "--table", TABLE, "--region", aws.region, "--month", "2026-11"]) == 0
    table = capsys.readouterr().out.splitlines()

    twelve_hours = round(before * 12 / 730, 2)
    assert (november["month"], november["total_saved_usd"]) == ("2026-11", twelve_hours)
    (change,) = november["changes"]
    assert (change["endpoint_name"], change["action"], change["days"]) == (NAME, "park", 0.5)
    assert (change["cost_before_usd"], change["cost_after_usd"]) == (twelve_hours, 0.0)
    assert table[-1] == f"TOTAL 2026-11: ${twelve_hours:,.2f} saved across 1 change(s)"


def test_ledger_refuses_a_month_that_is_not_yyyy_mm(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["ledger", "--table", TABLE, "--month", "december"])
    assert exited.value.code == 2
    assert "expected a month as YYYY-MM" in capsys.readouterr().err


def test_approving_an_expired_approval_from_the_cli_is_refused_and_changes_nothing(
    aws: EmulatedAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an approval whose time ran out an hour ago (its run no longer waits)
    WHEN `endpoint-optimizer approvals approve ID` is run
    THEN it exits 1 saying it expired, Step Functions is not called, the record is unchanged, and
    `approvals list` does not offer it."""
    fresh(aws)
    scanned = scanned_park_action(aws)
    asked = datetime.now(UTC) - timedelta(hours=2)
    StateTable(aws.client("dynamodb"), TABLE).put_approval(
        Approval(
            approval_id="expired-1",
            task_token="token-of-a-run-that-stopped-waiting",
            action_id=scanned.action_id,
            finding=scanned.finding,
            state=ApprovalState.PENDING,
            requested_at=asked,
            expires_at=asked + timedelta(hours=1),
        )
    )

    code = cli(["approvals", "approve", "expired-1", "--table", TABLE, "--region", aws.region])

    assert code == 1
    assert "error: expired-1: approval expired-1 expired at" in capsys.readouterr().err
    stored = StateTable(aws.client("dynamodb"), TABLE).get_approval("expired-1")
    assert (stored.state, stored.decided_by) == (ApprovalState.PENDING, None)
    assert cli(["approvals", "list", "--table", TABLE, "--region", aws.region]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no approval is waiting for a decision"
