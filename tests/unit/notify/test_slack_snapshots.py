"""The Block Kit JSON people act on, compared exactly with snapshots under tests/unit/notify/snapshots/
(regenerate explicitly: UPDATE_SNAPSHOTS=1), and every message within Slack's limits."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from endpoint_optimizer.models import Action, ActionResult, Finding, PlanSummary, ScanFacts, VariantFacts
from endpoint_optimizer.notify import messages, slack

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCANNED_AT = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)
WINDOW_START = datetime(2026, 11, 17, 6, tzinfo=UTC)


def business_hours(days: int = 14) -> list[int]:
    """Weekday traffic from 09:00 to 18:00 UTC, quiet weekends: what the sparkline must make visible."""
    series = []
    for hour in range(days * 24):
        moment = WINDOW_START + timedelta(hours=hour)
        busy = moment.weekday() < 5 and 9 <= moment.hour < 18
        series.append(1200 + 40 * (moment.hour - 9) if busy else (3 if moment.hour % 6 == 0 else 0))
    return series


def rightsize_finding() -> Finding:
    return Finding(
        endpoint_name="fraud-scorer-prod",
        account_id="123456789012",
        region="eu-west-1",
        action=Action.RIGHTSIZE,
        target="2 x ml.m5.xlarge (from ml.m5.2xlarge)",
        current_monthly_cost_usd=1345.28,
        estimated_monthly_savings_usd=672.64,
        confidence="medium",
        reasons=[
            "peak CPU 96 % of 800 % = 12 % of the instance; peak memory 31 % on ml.m5.2xlarge (8 vCPU, 32 GiB)",
            "on ml.m5.xlarge (4 vCPU, 16 GiB) the peak would be about 24 % CPU and 62 % memory, under the 60 % target",
        ],
        evidence={
            "peak_cpu": 12.0,
            "peak_cpu_published": 96.0,
            "vcpus": 8,
            "peak_memory": 31.0,
            "cpu_after": 24.0,
        },
        scan=ScanFacts(
            scanned_at=SCANNED_AT,
            endpoint_last_modified_at=datetime(2026, 10, 2, tzinfo=UTC),
            config_name="fraud-scorer-prod-config",
            variants=[VariantFacts(name="AllTraffic", instance_type="ml.m5.2xlarge", instance_count=2)],
            metrics_window_start=WINDOW_START,
            metrics_window_end=WINDOW_START + timedelta(days=14),
            hourly_invocations=business_hours(),
            model_latency_avg_us=41_250.0,
        ),
    )


def as_json(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def matches_snapshot(name: str, payload: Any) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed: review, then UPDATE_SNAPSHOTS=1"


def approval_card() -> list[Block]:
    return slack.approval_card(
        rightsize_finding(),
        "Zk3pQ9rT2mXa",
        SCANNED_AT + timedelta(hours=24),
        approvers=["U0APPROVER", "U0ONCALL"],
        action_id="9f2c61d0a4b7e385",
    )


def summary_with_undo() -> messages.Message:
    plan = PlanSummary(
        account_id="123456789012",
        region="eu-west-1",
        plan_key="plans/optimize/run-1/123456789012-eu-west-1.json",
        lookback_days=14,
        endpoints=42,
        findings_by_action={"rightsize": 1, "schedule": 1, "park": 1, "none": 39},
        proposed_monthly_savings_usd=1290.5,
        unknown_savings=0,
    )
    results = [
        ActionResult(
            endpoint_name="fraud-scorer-prod",
            action=Action.RIGHTSIZE,
            outcome="applied",
            estimated_monthly_savings_usd=672.64,
            detail="InService on eo-fraud-scorer-prod-rs-9f2c; undo with: endpoint-optimizer undo 9f2c61d0a4b7e385",
            action_id="9f2c61d0a4b7e385",
        ),
        ActionResult(
            endpoint_name="batch-embedder",
            action=Action.SCHEDULE,
            outcome="applied",
            estimated_monthly_savings_usd=402.86,
            detail="off hours 19:00-06:30 Europe/Dublin",
            action_id="0c7d9e21b5a3f468",
        ),
        ActionResult(
            endpoint_name="old-demo",
            action=Action.PARK,
            outcome="applied",
            estimated_monthly_savings_usd=215.0,
            detail="parked; restore with: endpoint-optimizer restore old-demo",
        ),
        ActionResult(
            endpoint_name="chat-ranker",
            action=Action.SCALE_TO_ZERO,
            outcome="refused",
            detail="in use since the scan: 9,812 invocations",
        ),
    ]
    return messages.summary_message([plan], results, [])


def test_approval_card_snapshot() -> None:
    """GIVEN a rightsize of a business-hours endpoint WHEN its approval card is built THEN the Block Kit
    JSON is exactly the reviewed one: traffic sparkline, peaks, latency, change, risk, downtime, way back,
    approvers, expiry."""
    matches_snapshot("approval_card", as_json(approval_card()))


def test_summary_with_undo_snapshot() -> None:
    """GIVEN a run that applied a rightsize, a schedule and a park WHEN its Slack summary is built THEN
    each undoable change has an Undo button carrying its action id (park: restore, no button)."""
    matches_snapshot("summary_with_undo", as_json(summary_with_undo().blocks))


def test_undo_buttons_carry_the_action_id_and_name_the_endpoint_in_their_block() -> None:
    blocks = as_json(summary_with_undo().blocks)
    undo = [b for b in blocks if b.get("accessory", {}).get("action_id") == slack.UNDO]
    assert [(b["block_id"], b["accessory"]["value"]) for b in undo] == [
        ("undo:fraud-scorer-prod", "9f2c61d0a4b7e385"),
        ("undo:batch-embedder", "0c7d9e21b5a3f468"),
    ]


def test_sparkline_shows_weekday_business_hours_and_quiet_weekends() -> None:
    chart = slack.traffic_chart(rightsize_finding().scan)  # type: ignore[arg-type]
    assert chart is not None
    rows = chart.split("```")[1].strip("\n").splitlines()
    assert len(rows) == 1 + 15  # the hours header, then 15 UTC days (the window starts at 06:00)
    saturday = next(row for row in rows if row.startswith("Sat"))
    monday = next(row for row in rows if row.startswith("Mon"))
    assert set(saturday[10:]) <= {"·", "▁", " "}  # quiet
    assert "█" in monday and monday[10 + 3] in {"·", "▁"}  # busy by day, quiet at 03:00


def test_sparkline_levels() -> None:
    assert slack.sparkline([0, 1, 50, 100], 100) == "·▁▅█"
    assert slack.sparkline([0, 0], 0) == "··"


# ---- Slack's limits ----------------------------------------------------------------------------------
# docs.slack.dev/reference/block-kit/blocks (read 2026-12-01): at most 50 blocks; a section's text 3,000
# characters, each field 2,000, at most 10 fields; a header's text 150; a button's value 2,000, its text 75;
# block_id 255; a confirm's title 100 and text 300.


def within_slack_limits(blocks: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(blocks) > messages.SLACK_MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks")
    for block in blocks:
        if len(block.get("block_id", "")) > 255:
            problems.append("block_id over 255")
        if block["type"] == "header" and len(block["text"]["text"]) > 150:
            problems.append("header over 150")
        if block["type"] == "section":
            if len(block.get("text", {}).get("text", "")) > messages.SLACK_SECTION_CHARS:
                problems.append("section text over 3000")
            fields = block.get("fields", [])
            if len(fields) > 10 or any(len(field["text"]) > 2000 for field in fields):
                problems.append("section fields over limits")
        buttons = [block.get("accessory", {}), *block.get("elements", [])]
        for button in (b for b in buttons if b.get("type") == "button"):
            if len(button["text"]["text"]) > 75 or len(button.get("value", "")) > 2000:
                problems.append("button over limits")
            confirm = button.get("confirm")
            if confirm and (len(confirm["title"]["text"]) > 100 or len(confirm["text"]["text"]) > 300):
                problems.append("confirm over limits")
    return problems


def huge_finding() -> Finding:
    finding = rightsize_finding()
    return finding.model_copy(
        update={
            "endpoint_name": "e" * 63,
            "reasons": ["x" * 5000] * 40,
            "target": "t" * 3000,
            "blocked_by": ["b" * 500] * 50,
        }
    )


@pytest.mark.parametrize("finding", [rightsize_finding(), huge_finding()], ids=["typical", "huge"])
def test_approval_card_is_within_slacks_limits(finding: Finding) -> None:
    blocks = as_json(slack.approval_card(finding, "Zk3pQ9rT2mXa", SCANNED_AT, approvers=["U1"] * 500))
    assert within_slack_limits(blocks) == []


def test_summary_with_many_applied_changes_is_within_slacks_limits() -> None:
    plan = summary_with_undo()
    results = [
        ActionResult(
            endpoint_name=f"endpoint-{index:04d}-" + "n" * 40,
            action=Action.SCHEDULE,
            outcome="applied",
            estimated_monthly_savings_usd=100.0,
            detail="d" * 800,
            action_id=f"{index:016x}",
        )
        for index in range(500)
    ]
    message = messages.summary_message(
        [
            PlanSummary(
                account_id="123456789012",
                region="eu-west-1",
                plan_key="plans/x/run/p.json",
                lookback_days=14,
                endpoints=5000,
                findings_by_action={"schedule": 500},
                proposed_monthly_savings_usd=50000.0,
                unknown_savings=0,
            )
        ],
        results,
        [],
    )
    blocks = as_json(message.blocks)
    assert within_slack_limits(blocks) == []
    assert sum(1 for b in blocks if b.get("accessory", {}).get("action_id") == slack.UNDO) == 10
    assert plan.blocks  # the typical summary too
    assert within_slack_limits(as_json(plan.blocks)) == []
