"""The slack_interactions handler's Reject path, through its HTTP route with signed requests: with a bot
token in its secret, Reject opens the modal (slack-sdk's WebClient replaced by a fake) and the modal's
submission rejects with the reason; with the secret's placeholder, Reject rejects at once, as before.

The handler module is loaded as Lambda would (functions/slack_interactions/app.py), and its table, Step
Functions client, Slack poster and secrets are replaced with in-memory twins."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber
from slack_sdk.signature import SignatureVerifier

from emulated_aws.slack import signed_interaction_event
from endpoint_optimizer.act import slack_reject
from endpoint_optimizer.act.approvals import REJECTED_ERROR
from endpoint_optimizer.act.slack_reject import RejectContext
from endpoint_optimizer.infra.stores import InMemoryStateTable
from endpoint_optimizer.models import Approval, ApprovalState, ProposedAction
from endpoint_optimizer.notify import slack
from tests.conftest import REPO_ROOT, load_event
from tests.unit.fake_slack import RecordingSlack

SIGNING_SECRET = "handler-test-signing-secret"
SIGNING_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:SlackSigningSecret-abc"
BOT_TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:SlackBotTokenSecret-abc"
BOT_TOKEN = "xoxb-1111-2222-handlertest"
PLACEHOLDER = "Qm9yZWRQbGFjZWhvbGRlcjEyMzQ1Njc4"  # what GenerateSecretString leaves
APPROVER = "U0APPROVER"
RESPONSE_URL = "https://hooks.slack.com/actions/T000/abc123/XXXX"
REASON = "customer demo on Friday; ask again next week"


@dataclass
class FakeWebClient:
    """slack_sdk.web.WebClient as SlackViews uses it: records how it was built and what it opened."""

    token: str | None = None
    timeout: int = 30
    base_url: str = ""
    retry_handlers: list[Any] | None = None
    opened: list[dict[str, Any]] = field(default_factory=list)

    def views_open(self, *, trigger_id: str, view: Any) -> dict[str, Any]:
        self.opened.append({"trigger_id": trigger_id, "view": view.to_dict()})
        return {"ok": True}


@dataclass
class Handler:
    module: ModuleType
    table: InMemoryStateTable
    cards: RecordingSlack
    secrets: dict[str, str]
    clients: list[FakeWebClient]

    def post(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.module.app.resolve(event, None)
        return answer


def load_handler() -> ModuleType:
    path = REPO_ROOT / "functions" / "slack_interactions" / "app.py"
    spec = importlib.util.spec_from_file_location("slack_interactions_app_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic looks models' modules up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Handler]:
    for name, value in {
        "TABLE_NAME": "state",
        "SLACK_SIGNING_SECRET_ARN": SIGNING_ARN,
        "SLACK_BOT_TOKEN_SECRET_ARN": BOT_TOKEN_ARN,
        "SLACK_APPROVER_IDS": APPROVER,
        "STACK_NAME": "eo",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "endpoint-optimizer",
        "POWERTOOLS_METRICS_NAMESPACE": "EndpointOptimizer",
    }.items():
        monkeypatch.setenv(name, value)
    module = load_handler()
    table = InMemoryStateTable()
    action = ProposedAction.model_validate(load_event("request_approval.json")["action"])
    now = datetime.now(UTC)  # the handler decides with the wall clock: the approval is open around it
    table.put_approval(
        Approval(
            approval_id="abc123",
            task_token="token-1",
            action_id=action.action_id,
            finding=action.finding,
            state=ApprovalState.PENDING,
            requested_at=now,
            expires_at=now + timedelta(hours=1),
            rejection_cooldown_days=14,
        )
    )
    cards = RecordingSlack()
    secrets = {SIGNING_ARN: SIGNING_SECRET, BOT_TOKEN_ARN: BOT_TOKEN}
    clients: list[FakeWebClient] = []

    def fake_web_client(**kwargs: Any) -> FakeWebClient:
        client = FakeWebClient(**kwargs)
        clients.append(client)
        return client

    class FakeParameters:
        @staticmethod
        def get_secret(name: str, max_age: int = 0) -> str:
            return secrets[name]

    monkeypatch.setattr(module, "table", table)
    monkeypatch.setattr(module, "slack_cards", cards)
    monkeypatch.setattr(module, "parameters", FakeParameters)
    monkeypatch.setattr(slack_reject, "WebClient", fake_web_client)
    yield Handler(module, table, cards, secrets, clients)
    sys.modules.pop("slack_interactions_app_under_test", None)


def reject_click_event() -> dict[str, Any]:
    return signed_interaction_event(
        SIGNING_SECRET, user_id=APPROVER, action_id="reject", value="abc123", response_url=RESPONSE_URL
    )


def submission_event(reason: str | None) -> dict[str, Any]:
    """The modal's view_submission, signed as Slack signs it, in the API Gateway event of a click."""
    payload = {
        "type": "view_submission",
        "user": {"id": APPROVER, "username": "ana"},
        "view": {
            "id": "V000",
            "type": "modal",
            "callback_id": slack.REJECT_CALLBACK,
            "private_metadata": RejectContext(
                approval_id="abc123", response_url=RESPONSE_URL
            ).model_dump_json(),
            "state": {
                "values": {
                    slack.REASON_BLOCK: {slack.REASON_BLOCK: {"type": "plain_text_input", "value": reason}}
                }
            },
        },
    }
    raw = urllib.parse.urlencode({"payload": json.dumps(payload)})
    event = reject_click_event()
    timestamp = event["headers"]["x-slack-request-timestamp"]
    event["headers"]["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body=raw
    )
    event["body"] = base64.b64encode(raw.encode()).decode()
    return event


def test_with_a_bot_token_reject_opens_the_modal_and_the_submission_rejects_with_the_reason(
    handler: Handler,
) -> None:
    """GIVEN the bot token secret holds a bot token WHEN an approver clicks Reject THEN views.open is called
    once, with the click's trigger_id, a 2 s timeout and no retries, and nothing is decided; WHEN the modal
    is submitted with a reason THEN the workflow is told once, the reason is kept, Slack gets an empty 200
    (the modal closes) and the card is replaced."""
    click = reject_click_event()
    answer = handler.post(click)

    assert answer["statusCode"] == 200
    (client,) = handler.clients
    assert (client.token, client.timeout, client.retry_handlers) == (BOT_TOKEN, 2, [])
    (opened,) = client.opened
    sent = json.loads(urllib.parse.parse_qs(base64.b64decode(click["body"]).decode())["payload"][0])
    assert opened["trigger_id"] == sent["trigger_id"]
    assert opened["view"]["callback_id"] == slack.REJECT_CALLBACK
    assert handler.table.get_approval("abc123").state == ApprovalState.PENDING

    with Stubber(handler.module.stepfunctions) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {
                "taskToken": "token-1",
                "error": REJECTED_ERROR,
                "cause": f"rejected in Slack by {APPROVER}: {REASON}",
            },
        )
        answer = handler.post(submission_event(REASON))
        stub.assert_no_pending_responses()

    assert (answer["statusCode"], answer["body"]) == (200, "")
    assert handler.table.get_approval("abc123").rejection_reason == REASON
    (replaced,) = handler.cards.replaced
    assert replaced.response_url == RESPONSE_URL


def test_a_second_submission_keeps_the_modal_open_with_the_reason_it_failed(handler: Handler) -> None:
    with Stubber(handler.module.stepfunctions) as stub:
        stub.add_response("send_task_failure", {}, None)
        handler.post(submission_event(REASON))
        again = handler.post(submission_event("another reason"))
        stub.assert_no_pending_responses()
    assert again["statusCode"] == 200
    body = json.loads(again["body"])
    assert body["response_action"] == "errors"
    assert "already rejected" in body["errors"][slack.REASON_BLOCK]


def test_without_a_bot_token_reject_rejects_at_once_as_before(handler: Handler) -> None:
    """GIVEN the bot token secret still holds its placeholder WHEN Reject is clicked THEN no modal: the
    approval is rejected at once, without a reason."""
    handler.secrets[BOT_TOKEN_ARN] = PLACEHOLDER
    with Stubber(handler.module.stepfunctions) as stub:
        stub.add_response(
            "send_task_failure",
            {},
            {"taskToken": "token-1", "error": REJECTED_ERROR, "cause": f"rejected in Slack by {APPROVER}"},
        )
        answer = handler.post(reject_click_event())
        stub.assert_no_pending_responses()

    assert answer["statusCode"] == 200
    assert handler.clients == []
    assert handler.table.get_approval("abc123").state == ApprovalState.REJECTED
    assert handler.table.get_approval("abc123").rejection_reason is None


def test_the_modal_is_not_reachable_with_a_forged_signature(handler: Handler) -> None:
    event = submission_event(REASON)
    event["headers"]["x-slack-signature"] = "v0=" + "0" * 64
    assert handler.post(event)["statusCode"] == 401
    assert handler.table.get_approval("abc123").state == ApprovalState.PENDING
