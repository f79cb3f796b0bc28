"""The demo prints Slack messages as the channel shows them (emulated_aws.slack_text, issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from emulated_aws.slack_text import readable

pytestmark = pytest.mark.harness


def _card(chart: str) -> dict[str, Any]:
    def field(label: str, value: str) -> dict[str, str]:
        return {"type": "mrkdwn", "text": f"*{label}*\n{value}"}

    return {
        "text": "Approve rightsize of fraud-xgb?",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Approve: rightsize fraud-xgb?"}},
            {
                "type": "section",
                "fields": [
                    field("Action", "rightsize"),
                    field("Saves per month", "$83.95"),
                    field("Target", "1 x ml.m5.large (from 1 x ml.m5.xlarge)"),
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": chart}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Why*\n• peak CPU 10 %"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Benchmark*\nConfirmed by job eo-1\nmore"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Approval `a1` expires soon."}]},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "value": "a1"},
                    {"type": "button", "text": {"type": "plain_text", "text": "Reject"}, "value": "a1"},
                ],
            },
        ],
    }


BUSY_CHART = (
    "*Traffic, 14 days* (invocations per hour, UTC; █ = 250/h, · = none): 84,000 in all, in 336 of 336 hours\n"
    "```\n          00    06    12    18\nTue 11-17 ████\nWed 11-18 ██████\n```\nPeak CPU 10 % of the instance"
)
IDLE_CHART = (
    "*Traffic, 14 days* (invocations per hour, UTC; █ = 0/h, · = none): 0 in all, in 0 of 336 hours\n"
    "```\n          00    06    12    18\nTue 11-17 ······\n```"
)


def test_a_card_reads_as_its_header_change_money_chart_benchmark_and_buttons() -> None:
    """GIVEN an approval card's Block Kit WHEN it is rendered THEN a person reads the header, the change and
    savings on one line, the traffic chart's rows, the benchmark's headline and the buttons; not the long
    explanations (why, expiry)."""
    assert readable(_card(BUSY_CHART)) == [
        "▌ Approve: rightsize fraud-xgb?",
        "Saves per month: $83.95 · Target: 1 x ml.m5.large (from 1 x ml.m5.xlarge)",
        "Traffic, 14 days (invocations per hour, UTC; █ = 250/h, · = none): 84,000 in all, in 336 of 336 hours",
        "          00    06    12    18",
        "Tue 11-17 ████",
        "Wed 11-18 ██████",
        "Peak CPU 10 % of the instance",
        "Confirmed by job eo-1",
        "[Approve] [Reject]",
    ]


def test_an_idle_endpoints_chart_is_its_title_alone() -> None:
    """GIVEN a card whose traffic chart has no request in any hour WHEN it is rendered THEN the chart is one
    line saying so (its rows would all be `·`)."""
    lines = readable(_card(IDLE_CHART))
    assert lines[2].endswith("in 0 of 336 hours (every hour ·)")
    assert not [line for line in lines if line.startswith(("Tue", "          00"))]


def test_a_summary_reads_as_its_lines_with_mentions_links_and_undo_buttons() -> None:
    """GIVEN a run summary with an Undo button and a card update by response_url WHEN rendered THEN every
    text line is kept, mentions and links read as words, the button follows its line."""
    summary = {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Run finished.\nOutcomes: applied: 1."}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Applied schedule on *router*: saves $1.00/month"},
                "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Undo"}, "value": "x"},
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "See <https://example.com|the report>."}],
            },
        ]
    }
    assert readable(summary) == [
        "Run finished.",
        "Outcomes: applied: 1.",
        "Applied schedule on router: saves $1.00/month  [Undo]",
        "See the report.",
    ]
    assert readable({"text": "Approved by <@U0APPROVER>: applying park."}) == [
        "Approved by @U0APPROVER: applying park."
    ]
