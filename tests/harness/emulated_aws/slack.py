"""A local stand-in for Slack: a webhook receiver, and signed interaction requests as API Gateway sends them."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

from emulated_aws.lifecycle import Service

__all__ = ["INTERACTIONS_PATH", "SlackReceiver", "signed_interaction_event"]

INTERACTIONS_PATH = "/slack/interactions"


class SlackReceiver(Service):
    """Records every POST (incoming webhooks, response_url updates) and answers 200 `ok`, like Slack.

    Each recorded message is {"path": str, "body": parsed JSON (or the raw text), "headers": dict}.
    """

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("SlackReceiver is already running")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self._record))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- addresses ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackReceiver is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def webhook_url(self) -> str:
        """An incoming-webhook URL (what the Slack webhook secret holds)."""
        return f"{self.base_url}/services/T000/B000/XXXX"

    def response_url(self, name: str = "interaction") -> str:
        """A response_url as Slack puts in an interaction payload, on this receiver."""
        return f"{self.base_url}/actions/T000/{urllib.parse.quote(name, safe='')}/XXXX"

    # -- what arrived -------------------------------------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._messages)

    def messages_to(self, path_prefix: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["path"].startswith(path_prefix)]

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 10.0
    ) -> dict[str, Any]:
        """The first message (already received or arriving before the deadline) matching `predicate`."""
        found: list[dict[str, Any]] = []

        def match() -> bool:
            found[:] = [m for m in self._messages if predicate(m)][:1]
            return bool(found)

        with self._changed:
            if self._changed.wait_for(match, timeout=timeout_s):
                return found[0]
            seen = [{"path": m["path"], "body": m["body"]} for m in self._messages]
        raise TimeoutError(f"no matching Slack message within {timeout_s} s; received {len(seen)}: {seen}")

    def _record(self, message: dict[str, Any]) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()


def _handler_class(record: Callable[[dict[str, Any]], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            body: Any
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            record({"path": self.path, "body": body, "headers": dict(self.headers.items())})
            reply = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def signed_interaction_event(
    signing_secret: str,
    *,
    user_id: str,
    action_id: str,
    value: str,
    response_url: str,
    timestamp: int | None = None,
    signature: str | None = None,
    user_name: str | None = None,
    team_id: str = "T000",
    channel_id: str = "C000",
    message_ts: str | None = None,
    block_id: str = "approval",
    message_blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a Slack button click on POST /slack/interactions.

    The body is what Slack sends (`payload=<urlencoded block_actions JSON>`), base64-encoded by API Gateway;
    x-slack-signature is computed over the raw body with the signing secret unless `signature` forges it.
    `block_id` and `message_blocks` are the clicked button's block and the message it is on (Slack sends
    both: an Undo click updates its own line of the run summary).
    """
    timestamp = int(time.time()) if timestamp is None else timestamp
    message_ts = message_ts or f"{timestamp}.000100"
    user_name = user_name or f"user-{user_id.lower()}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": "A000",
        "token": "legacy-verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{timestamp}.{uuid.uuid4().int % 10**12}",
        "team": {"id": team_id, "domain": "example"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "endpoint-optimizer"},
        "message": {
            "type": "message",
            "ts": message_ts,
            "text": "approval request",
            "blocks": message_blocks or [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{timestamp}.{uuid.uuid4().int % 10**6:06d}",  # Slack's: unique per click
            }
        ],
    }
    raw_body = urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    if signature is None:
        signature = SignatureVerifier(signing_secret).generate_signature(
            timestamp=str(timestamp), body=raw_body
        )
    now = datetime.now(UTC)
    request_id = base64.b32encode(uuid.uuid4().bytes)[:16].decode()
    return {
        "version": "2.0",
        "routeKey": f"POST {INTERACTIONS_PATH}",
        "rawPath": INTERACTIONS_PATH,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json,*/*",
            "accept-encoding": "gzip,deflate",
            "content-length": str(len(raw_body.encode())),
            "content-type": "application/x-www-form-urlencoded",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-amzn-trace-id": f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}",
            "x-forwarded-for": "54.80.0.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-slack-request-timestamp": str(timestamp),
            "x-slack-signature": signature,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": INTERACTIONS_PATH,
                "protocol": "HTTP/1.1",
                "sourceIp": "54.80.0.1",
                "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
            "requestId": request_id,
            "routeKey": f"POST {INTERACTIONS_PATH}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": base64.b64encode(raw_body.encode()).decode(),
        "isBase64Encoded": True,
    }
