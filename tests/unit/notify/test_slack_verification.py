"""Verifying that a Slack interaction request comes from Slack: anything unverifiable is refused, never raised.

The handler answers 401 on UnverifiedRequest (tests/e2e/test_slack_interactions.py goes through it); these
tests pin each refusal and the acceptance of a real signed click, with `now` fixed to the click's time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from endpoint_optimizer.notify.slack import UnverifiedRequest, verified_body

EVENT = Path(__file__).resolve().parents[3] / "events" / "slack_interaction.json"
SECRET = "sample-signing-secret"  # the secret events/slack_interaction.json is signed with


def sample() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(EVENT.read_text(encoding="utf-8"))
    return event


def signed_at(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(event["headers"]["x-slack-request-timestamp"]), UTC)


def verify(event: dict[str, Any], *, now: datetime | None = None, secret: str = SECRET) -> str:
    return verified_body(
        secret,
        body=event.get("body"),
        is_base64_encoded=bool(event.get("isBase64Encoded")),
        headers=event.get("headers"),
        now=now or signed_at(sample()),
    )


def sign(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """`event` carrying `body` (base64), signed over those raw bytes with the real secret."""
    timestamp = event["headers"]["x-slack-request-timestamp"].encode()
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp + b":" + body, hashlib.sha256).hexdigest()
    event["body"] = base64.b64encode(body).decode()
    event["headers"]["x-slack-signature"] = f"v0={digest}"
    return event


def test_a_click_signed_by_slack_within_five_minutes_is_verified_and_its_body_returned() -> None:
    event = sample()

    body = verify(event, now=signed_at(event) + timedelta(minutes=4))

    assert body == base64.b64decode(event["body"]).decode()
    assert body.startswith("payload=")


def test_headers_are_matched_whatever_their_case() -> None:
    event = sample()
    event["headers"] = {key.title(): value for key, value in event["headers"].items()}

    assert verify(event).startswith("payload=")


def test_a_click_signed_more_than_five_minutes_ago_is_refused_as_a_replay() -> None:
    event = sample()

    with pytest.raises(UnverifiedRequest, match="5 minutes"):
        verify(event, now=signed_at(event) + timedelta(minutes=5, seconds=1))


def test_a_click_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(UnverifiedRequest, match="signature"):
        verify(sample(), secret="not-the-secret")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-slack-request-timestamp", "abc"),
        ("x-slack-request-timestamp", ""),
        ("x-slack-request-timestamp", " 1700000000"),
        ("x-slack-request-timestamp", "-1700000000"),
        ("x-slack-request-timestamp", "\u0661\u0667" + "\u0660" * 8),  # Arabic-Indic digits: int() reads them
        ("x-slack-request-timestamp", "9" * 5000),  # more digits than int() converts
        ("x-slack-signature", "v0=é"),
        ("x-slack-signature", "v0="),
        ("x-slack-signature", "v1=" + "0" * 64),
        ("x-slack-signature", "v0=" + "A" * 64),
        ("x-slack-signature", "v0=" + "0" * 64 + ",v0=" + "0" * 64),  # a repeated header, comma-joined
    ],
)
def test_a_malformed_header_is_refused_before_slack_sdk_sees_it(header: str, value: str) -> None:
    event = sample()
    event["headers"][header] = value

    with pytest.raises(UnverifiedRequest, match="malformed"):
        verify(event)


@pytest.mark.parametrize("header", ["x-slack-request-timestamp", "x-slack-signature"])
def test_a_missing_header_is_refused(header: str) -> None:
    event = sample()
    del event["headers"][header]

    with pytest.raises(UnverifiedRequest, match="missing"):
        verify(event)


def test_a_request_without_any_header_is_refused() -> None:
    event = sample()
    del event["headers"]

    with pytest.raises(UnverifiedRequest, match="missing"):
        verify(event)


def test_a_body_that_is_not_base64_is_refused() -> None:
    event = sample()
    event["body"] = "payload=not*base64"

    with pytest.raises(UnverifiedRequest, match="base64"):
        verify(event)


def test_a_body_that_is_not_utf8_is_refused_even_when_its_hmac_is_right() -> None:
    event = sign(sample(), base64.b64decode(sample()["body"]) + b"\xff\xfe")

    with pytest.raises(UnverifiedRequest, match="UTF-8"):
        verify(event)


def test_a_plain_text_body_with_a_lone_surrogate_is_refused() -> None:
    event = sample()
    event["isBase64Encoded"] = False
    event["body"] = "payload=\ud800"

    with pytest.raises(UnverifiedRequest, match="UTF-8"):
        verify(event)


def test_a_plain_text_body_signed_by_slack_is_verified() -> None:
    event = sample()
    text = base64.b64decode(event["body"]).decode()
    event["isBase64Encoded"] = False
    event["body"] = text

    assert verify(event) == text


def test_an_empty_body_is_refused_by_its_signature_not_by_an_error() -> None:
    event = sample()
    event["body"] = None

    with pytest.raises(UnverifiedRequest, match="signature"):
        verify(event)
