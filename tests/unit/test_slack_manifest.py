"""The Slack app manifest (slack/manifest.yaml): the app it creates reaches this stack's interactivity route
and asks for no more than it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
# What the app does in Slack: post through an incoming webhook. A click is answered through its
# response_url, which needs no scope. The optional rejection-reason modal (views.open) needs the bot token,
# which the incoming-webhook bot scope already gives, and no scope of its own.
ALLOWED_BOT_SCOPES = {"incoming-webhook"}


def manifest() -> dict[str, Any]:
    # cfn-lint's YAML loader: plain YAML here (no tags), already a test dependency
    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "slack" / "manifest.yaml"))))
    return loaded


def slack_route() -> str:
    """The path of the HTTP API route the Slack interactions function serves (template.yaml)."""
    template = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))
    events = template["Resources"]["SlackInteractionsFunction"]["Properties"]["Events"]
    (route,) = [event["Properties"] for event in events.values() if event["Type"] == "HttpApi"]
    assert route["Method"] == "POST"
    path: str = route["Path"]
    return path


def test_the_manifest_parses_with_a_name_and_a_bot_user() -> None:
    app = manifest()
    assert app["display_information"]["name"]
    assert app["features"]["bot_user"]["display_name"]


def test_interactivity_is_enabled_and_points_at_the_stacks_route() -> None:
    # GIVEN the manifest's interactivity settings THEN button clicks go to the route the stack serves
    interactivity = manifest()["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    url = urlparse(interactivity["request_url"])
    assert url.scheme == "https"
    assert url.path == slack_route()
    # the host is a placeholder the installer replaces with the stack output, which says so
    assert "SlackInteractionsUrl" in url.netloc


def test_the_app_asks_for_no_scope_outside_what_it_uses() -> None:
    scopes = manifest()["oauth_config"]["scopes"]
    assert set(scopes.get("bot", [])) <= ALLOWED_BOT_SCOPES
    assert not scopes.get("user")  # it never acts as a person
