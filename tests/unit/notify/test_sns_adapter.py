"""Sending a run message, at the wire: one SNS Publish to the topic (botocore Stubber: any other call, or
other parameters, fails the test) whose Subject and Message keep to SNS's limits, then the Slack post; and
what an SNS error does to the Slack post.

SNS Publish (API reference, read 2026-12-01): Subject "must be ... less than 100 characters"; Message "at
most 256 KB in size (262,144 bytes, not 262,144 characters)"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import TypeAdapter

from endpoint_optimizer.infra.events import NotifyRequest, ReportRequest, SummaryRequest
from endpoint_optimizer.models import ScanFailure
from endpoint_optimizer.notify.messages import Message, report_message, send, summary_message
from tests.conftest import load_event
from tests.unit.fake_slack import RecordingSlack

TOPIC = "arn:aws:sns:us-east-1:123456789012:endpoint-optimizer-notifications"
SUBJECT_LIMIT_CHARS = 99
MESSAGE_LIMIT_BYTES = 262_144
NOTIFY: TypeAdapter[ReportRequest | SummaryRequest] = TypeAdapter(NotifyRequest)


@pytest.fixture
def sns() -> Iterator[Stubber]:
    client = boto3.client("sns", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def published(stub: Stubber) -> list[dict[str, Any]]:
    """The parameters of every Publish the client is asked to send (recorded beside the Stubber's check)."""
    sent: list[dict[str, Any]] = []
    stub.client.meta.events.register(
        "before-parameter-build.sns.Publish", lambda params, **_: sent.append(dict(params))
    )
    return sent


def report() -> Message:
    event = NOTIFY.validate_python(load_event("notify_report.json"))
    assert isinstance(event, ReportRequest)
    return report_message(event.plans, event.actions, event.deferred, top_findings=event.top_findings)


def publish(message: Message) -> dict[str, str]:
    return {"TopicArn": TOPIC, "Subject": message.subject, "Message": message.text}


def test_a_message_is_one_publish_to_the_topic_with_its_subject_and_text_then_one_slack_post(
    sns: Stubber,
) -> None:
    """GIVEN the run report WHEN it is sent THEN SNS gets one Publish of the topic, the subject and the
    plain text, and Slack one post of the headline and the blocks."""
    message = report()
    sns.add_response("publish", {"MessageId": "m-1"}, publish(message))
    slack = RecordingSlack()
    send(sns.client, TOPIC, slack, message)  # type: ignore[arg-type]
    assert message.subject == "endpoint-optimizer: 1 finding(s), $83.95/month in us-east-1"
    assert [(post.text, len(post.blocks)) for post in slack.posts] == [
        (message.slack_text, len(message.blocks))
    ]


def test_a_subject_that_would_pass_snss_limit_is_published_cut_to_99_characters(sns: Stubber) -> None:
    """GIVEN a saving so large its figure alone runs past SNS's subject limit WHEN the report is sent THEN
    the Subject published is its first 99 characters (SNS refuses 100 or more)."""
    event = NOTIFY.validate_python(load_event("notify_report.json"))
    assert isinstance(event, ReportRequest)
    plans = [plan.model_copy(update={"proposed_monthly_savings_usd": 1e90}) for plan in event.plans]
    message = report_message(plans, event.actions, event.deferred, top_findings=event.top_findings)
    sent = published(sns)
    sns.add_response("publish", {"MessageId": "m-1"}, publish(message))
    send(sns.client, TOPIC, RecordingSlack(), message)  # type: ignore[arg-type]
    assert len(sent) == 1
    assert len(sent[0]["Subject"]) == SUBJECT_LIMIT_CHARS
    assert sent[0]["Subject"].startswith("endpoint-optimizer: 1 finding(s), $")
    assert "/month in us-east-1" not in sent[0]["Subject"]  # the end is what is cut


def test_a_summary_naming_thousands_of_failed_targets_is_published_within_snss_message_size(
    sns: Stubber,
) -> None:
    """GIVEN 3,000 targets that could not be read, each with a long reason WHEN the summary is sent THEN the
    one Message published is under 256 KB (the list is cut, saying how many more)."""
    event = NOTIFY.validate_python(load_event("notify_summary.json"))
    assert isinstance(event, SummaryRequest)
    unscanned = [
        ScanFailure(account_id=f"{index:012d}", region="eu-west-1", error="AccessDenied", message="m" * 300)
        for index in range(3_000)
    ]
    message = summary_message(event.plans, event.results, [], unscanned=unscanned)
    sent = published(sns)
    sns.add_response("publish", {"MessageId": "m-1"}, publish(message))
    send(sns.client, TOPIC, RecordingSlack(), message)  # type: ignore[arg-type]
    assert len(sent) == 1
    assert len(sent[0]["Message"].encode("utf-8")) < MESSAGE_LIMIT_BYTES
    assert "... and 2,950 more" in sent[0]["Message"]


def test_a_refused_publish_fails_the_send_before_slack_is_posted(sns: Stubber) -> None:
    """GIVEN SNS refuses the Publish (the topic's policy, a deleted topic) WHEN a message is sent THEN the
    ClientError reaches the handler (the workflow's Catch records it) and Slack is not posted."""
    sns.add_client_error(
        "publish", "AuthorizationError", "not allowed", 403, expected_params=publish(report())
    )
    slack = RecordingSlack()
    with pytest.raises(ClientError, match="AuthorizationError"):
        send(sns.client, TOPIC, slack, report())  # type: ignore[arg-type]
    assert slack.posts == []
