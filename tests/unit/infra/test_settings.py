"""Settings are validated at cold start and name what is missing."""

from __future__ import annotations

import pytest

from endpoint_optimizer.infra.settings import (
    ConfigurationError,
    Policy,
    RecommendSettings,
    RequestApprovalSettings,
    SlackInteractionsSettings,
)


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
        {
            "TABLE_NAME": "t",
            "SLACK_SIGNING_SECRET_ARN": "arn:x",
            "SLACK_APPROVER_IDS": " U1, U2 ,,",
            "STACK_NAME": "eo",
        }
    )
    card = RequestApprovalSettings.from_env(
        {"TABLE_NAME": "t", "SLACK_WEBHOOK_SECRET_ARN": "arn:y", "SLACK_APPROVER_IDS": "U1,U2"}
    )
    assert settings.slack_approver_ids == card.slack_approver_ids == ["U1", "U2"]


RECOMMEND_ENV = {
    "ARTIFACT_BUCKET": "artifacts",
    "AWS_REGION": "us-east-1",
    "RECOMMENDER_ROLE_ARN": "arn:aws:iam::123456789012:role/stack-RecommenderRole-ABC",
    "RECOMMENDER_REUSE_DAYS": "30",
    "RECOMMENDER_POLL_SECONDS": "300",
    "LOOKBACK_DAYS": "14",
}


def test_the_recommend_function_names_the_variable_it_misses_at_cold_start() -> None:
    """GIVEN the recommend function's environment without the recommender role
    WHEN its settings are read at cold start
    THEN the cold start fails naming RECOMMENDER_ROLE_ARN (no default hides a stack without the role).
    """
    env = {key: value for key, value in RECOMMEND_ENV.items() if key != "RECOMMENDER_ROLE_ARN"}

    with pytest.raises(ConfigurationError, match="missing environment variable RECOMMENDER_ROLE_ARN"):
        RecommendSettings.from_env(env)


def test_the_recommend_function_refuses_a_role_that_is_not_an_iam_role_arn_and_a_negative_poll() -> None:
    """GIVEN a recommender role that is a name, not an ARN, and a negative poll interval
    WHEN the settings are read
    THEN both variables are named; a poll of 0 (tests, the demo) is accepted.
    """
    bad = {**RECOMMEND_ENV, "RECOMMENDER_ROLE_ARN": "RecommenderRole", "RECOMMENDER_POLL_SECONDS": "-1"}

    with pytest.raises(ConfigurationError) as refused:
        RecommendSettings.from_env(bad)
    assert "RECOMMENDER_ROLE_ARN" in str(refused.value) and "RECOMMENDER_POLL_SECONDS" in str(refused.value)
    assert RecommendSettings.from_env({**RECOMMEND_ENV, "RECOMMENDER_POLL_SECONDS": "0"}).poll_seconds == 0
