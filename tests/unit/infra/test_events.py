"""The sample events in events/ (used by `sam local invoke`) are valid input for their functions."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import TypeAdapter
from slack_sdk.signature import SignatureVerifier

from endpoint_optimizer.act.approvals import parse_interaction
from endpoint_optimizer.infra.events import (
    AnalyzeRequest,
    ApplyStepRequest,
    ApprovalRequest,
    NotifyRequest,
    ReportRequest,
    ScanRequest,
    SummaryRequest,
    TargetsRequest,
)
from tests.conftest import EVENTS, load_event


@pytest.mark.parametrize(
    ("event_file", "model"),
    [
        ("targets.json", TargetsRequest),
        ("scan.json", ScanRequest),
        ("analyze.json", AnalyzeRequest),
        ("notify_report.json", NotifyRequest),
        ("notify_summary.json", NotifyRequest),
        ("request_approval.json", ApprovalRequest),
        ("apply.json", ApplyStepRequest),
    ],
)
def test_sample_event_is_accepted_by_its_function(event_file: str, model: Any) -> None:
    TypeAdapter(model).validate_python(load_event(event_file))


def test_notify_events_select_report_or_summary_by_kind() -> None:
    adapter: TypeAdapter[ReportRequest | SummaryRequest] = TypeAdapter(NotifyRequest)
    assert isinstance(adapter.validate_python(load_event("notify_report.json")), ReportRequest)
    assert isinstance(adapter.validate_python(load_event("notify_summary.json")), SummaryRequest)


def test_every_sample_event_is_covered_by_a_test() -> None:
    covered = {"targets.json", "scan.json", "analyze.json", "notify_report.json", "notify_summary.json"}
    covered |= {"request_approval.json", "apply.json", "slack_interaction.json"}
    assert {path.name for path in EVENTS.glob("*.json")} == covered


def test_sample_slack_interaction_is_a_signed_block_actions_click() -> None:
    event = load_event("slack_interaction.json")
    body = base64.b64decode(event["body"]).decode()
    timestamp = int(event["headers"]["x-slack-request-timestamp"])

    class FrozenClock:
        def now(self) -> float:
            return float(timestamp)

    verifier = SignatureVerifier("sample-signing-secret", clock=FrozenClock())  # type: ignore[arg-type]
    assert verifier.is_valid_request(body, event["headers"])
    click = parse_interaction(body)
    assert (click.user.id, click.actions[0].action_id, click.actions[0].value) == (
        "U012AB3CD",
        "approve",
        "k3Jd9sLq0aZx",
    )


def test_malformed_event_is_refused_with_a_clear_error() -> None:
    event = load_event("apply.json")
    del event["state"]["action"]["finding"]["endpoint_name"]
    with pytest.raises(ValueError, match="endpoint_name"):
        ApplyStepRequest.model_validate(event)
