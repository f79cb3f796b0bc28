"""`endpoint-optimizer scan --report --table`: the HTML report shows what the applied changes saved this
month, read from the stack's ledger (its month index, as the run summary reads it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulated_aws.server import EmulatedAws
from endpoint_optimizer import cli as cli_module
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.infra.clients import Clients
from endpoint_optimizer.infra.stores import StateTable
from endpoint_optimizer.models import Action, LedgerEntry, ScanSnapshot
from tests.conftest import sample_snapshot
from tests.integration.parkable import TABLE, create_state_table

SCANNED_AT = datetime(2026, 12, 11, 0, 0, tzinfo=UTC)


class _Clock(datetime):
    """The CLI's clock, fixed at SCANNED_AT."""

    @classmethod
    def now(cls, tz: Any = None) -> _Clock:
        return cls.fromtimestamp(SCANNED_AT.timestamp(), tz)


@pytest.fixture
def scanned_sample(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample fleet as what the scan reads (no metrics to seed), at a fixed time, with a state table."""
    aws.reset()
    create_state_table(aws)

    def scan_of_the_sample(clients: Any, **_: Any) -> ScanSnapshot:
        return sample_snapshot()

    monkeypatch.setattr(cli_module, "scan_region", scan_of_the_sample)
    monkeypatch.setattr(cli_module, "datetime", _Clock)


def scan_with_report(aws: EmulatedAws, tmp_path: Path, *extra: str) -> str:
    report = tmp_path / "report.html"
    args = ["scan", "--region", aws.region, "--offline-prices", "--state", str(tmp_path / "s.json")]
    assert cli([*args, "--report", str(report), *extra]) == 0
    return report.read_text()


def test_the_report_shows_this_months_realised_savings_from_the_stacks_ledger(
    scanned_sample: None, aws: EmulatedAws, tmp_path: Path
) -> None:
    """GIVEN a rightsize from $730 to $365 a month applied on 20 November and never undone
    WHEN the CLI scans on 11 December with --report and --table
    THEN the report's realised savings of 2026-12 count it from 1 December: 10 days, $120.00."""
    StateTable(Clients(region=aws.region).dynamodb, TABLE).put_ledger_entry(
        LedgerEntry(
            endpoint_name="ranker",
            recorded_at=datetime(2026, 11, 20, tzinfo=UTC),
            action=Action.RIGHTSIZE,
            outcome="applied",
            monthly_cost_before_usd=730.0,
            monthly_cost_after_usd=365.0,
            action_id="a-1",
        )
    )

    html = scan_with_report(aws, tmp_path, "--table", TABLE)

    assert "Realised savings, 2026-12: $120.00" in html
    assert "<td>ranker</td><td>rightsize</td>" in html


def test_without_a_table_the_report_has_no_realised_savings(
    scanned_sample: None, aws: EmulatedAws, tmp_path: Path
) -> None:
    """GIVEN a scan from a laptop with no stack named WHEN it writes its report THEN there is no realised
    savings section (no ledger was read)."""
    assert "Realised savings" not in scan_with_report(aws, tmp_path)
