"""Settings are validated at cold start and name what is missing."""

from __future__ import annotations

import pytest

from endpoint_optimizer.infra.settings import ConfigurationError, Policy, SlackInteractionsSettings


def test_missing_variable_is_named_in_the_error() -> None:
    with pytest.raises(ConfigurationError, match="missing environment variable TABLE_NAME"):
        SlackInteractionsSettings.from_env({"SLACK_SIGNING_SECRET_ARN": "arn:x", "SLACK_APPROVER_IDS": "U1"})


def test_malformed_mode_is_refused_with_the_variable_name() -> None:
    env = {
        "MODE": "yolo",
        "LOOKBACK_DAYS": "14",
        "GRACE_DAYS": "7",
        "SKIP_TAG_KEY": "k",
        "MAX_ACTIONS_PER_RUN": "5",
        "APPROVAL_TIMEOUT_HOURS": "24",
    }
    with pytest.raises(ConfigurationError, match="environment variable MODE"):
        Policy.from_env(env)


def test_approver_ids_are_a_comma_separated_list() -> None:
    settings = SlackInteractionsSettings.from_env(
        {"TABLE_NAME": "t", "SLACK_SIGNING_SECRET_ARN": "arn:x", "SLACK_APPROVER_IDS": " U1, U2 ,,"}
    )
    assert settings.slack_approver_ids == ["U1", "U2"]
