"""Targets: which accounts and regions a run scans, how a member account is reached, and what a bad
TARGETS value does (it fails the cold start, naming TARGETS)."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from endpoint_optimizer.infra.artifacts import INLINE_BUDGET_BYTES
from endpoint_optimizer.infra.clients import ASSUMED_ROLE_SECONDS, clients_for_target, role_session_name
from endpoint_optimizer.infra.settings import ConfigurationError, TargetsSettings
from endpoint_optimizer.infra.targets import MAX_TARGETS, Home, parse_targets, targets_of_run
from endpoint_optimizer.models import Target

HOME = "123456789012"
MEMBER = "210987654321"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:endpoint-optimizer-optimize:daily-2026-11-30"


def settings(**overrides: str) -> TargetsSettings:
    env = {
        "TARGETS": "",
        "HOME_ACCOUNT_ID": HOME,
        "AWS_REGION": "us-east-1",
        "PARTITION": "aws",
        "MEMBER_ROLE_NAME": "endpoint-optimizer-read",
        "MEMBER_EXTERNAL_ID": "",
        **overrides,
    }
    return TargetsSettings.from_env(env)


def test_empty_targets_mean_this_stacks_own_account_and_region_read_without_a_role() -> None:
    # GIVEN no Targets WHEN the run's targets are planned
    chosen = settings()
    run = targets_of_run(chosen.targets, home=chosen.home, partition="aws", role_name="r", external_id="")
    # THEN the one target is this account and region, read with the function's own credentials
    assert run.targets == [Target(account_id=HOME, region="us-east-1")]
    assert run.inline_limit_bytes == INLINE_BUDGET_BYTES


def test_member_accounts_are_read_through_the_member_role_and_this_account_directly_in_any_region() -> None:
    # GIVEN this account in two regions and a member account
    chosen = settings(
        TARGETS=f"{HOME}:us-east-1, {HOME}:eu-west-1 ,{MEMBER}:ap-northeast-1",
        MEMBER_EXTERNAL_ID="optimizer-7f3a",
        PARTITION="aws-cn",
    )
    # WHEN the targets are planned
    run = targets_of_run(
        chosen.targets,
        home=chosen.home,
        partition=chosen.partition,
        role_name=chosen.member_role_name,
        external_id=chosen.member_external_id,
    )
    # THEN only the member account has a role (in the stack's partition) and the external id
    assert [(t.label, t.role_arn, t.external_id) for t in run.targets] == [
        (f"{HOME} us-east-1", None, None),
        (f"{HOME} eu-west-1", None, None),
        (
            f"{MEMBER} ap-northeast-1",
            f"arn:aws-cn:iam::{MEMBER}:role/endpoint-optimizer-read",
            "optimizer-7f3a",
        ),
    ]
    # AND the inline snapshot budget is shared, so the map's result fits one state
    assert run.inline_limit_bytes * 3 <= INLINE_BUDGET_BYTES


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1234:us-east-1", "is not account_id:region"),
        (f"{MEMBER}-eu-west-1", "is not account_id:region"),
        (f"{MEMBER}:Europe", "is not account_id:region"),
        (f"{MEMBER}:eu-west-1,{MEMBER}:eu-west-1", "listed twice"),
    ],
)
def test_a_malformed_targets_value_fails_the_cold_start_naming_targets(value: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=f"environment variable TARGETS: .*{why}"):
        settings(TARGETS=value, MEMBER_EXTERNAL_ID="optimizer-7f3a")


def test_more_targets_than_one_run_holds_are_refused() -> None:
    too_many = ",".join(f"{index:012d}:us-east-1" for index in range(1, MAX_TARGETS + 2))
    with pytest.raises(ValueError, match=f"at most {MAX_TARGETS}"):
        parse_targets(too_many)


def test_member_accounts_without_an_external_id_fail_the_cold_start_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=f"MEMBER_EXTERNAL_ID: .*required.*{MEMBER}"):
        settings(TARGETS=f"{HOME}:us-east-1,{MEMBER}:us-east-1")


def test_this_accounts_other_regions_need_no_external_id() -> None:
    assert settings(TARGETS=f"{HOME}:eu-west-1").targets == [(HOME, "eu-west-1")]


def test_home_covers_only_the_stacks_own_account_and_region() -> None:
    home = Home(account_id=HOME, region="us-east-1")
    assert home.covers(HOME, "us-east-1")
    assert not home.covers(HOME, "eu-west-1")
    assert not home.covers(MEMBER, "us-east-1")


def test_a_member_target_is_read_with_the_assumed_role_and_the_external_id() -> None:
    # GIVEN a member-account target and this function's STS client
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    target = Target(
        account_id=MEMBER,
        region="ap-northeast-1",
        role_arn=f"arn:aws:iam::{MEMBER}:role/endpoint-optimizer-read",
        external_id="optimizer-7f3a",
    )
    expires = dt.datetime(2026, 11, 30, 13, 0, tzinfo=dt.UTC)
    with Stubber(sts) as stub:
        # THEN AssumeRole is called with the role, the external id and a session name naming the run
        stub.add_response(
            "assume_role",
            {
                "Credentials": {
                    "AccessKeyId": "ASIAMEMBEREXAMPLE",
                    "SecretAccessKey": "secret",
                    "SessionToken": "token",
                    "Expiration": expires,
                }
            },
            {
                "RoleArn": target.role_arn,
                "RoleSessionName": "endpoint-optimizer-daily-2026-11-30",
                "ExternalId": "optimizer-7f3a",
                "DurationSeconds": ASSUMED_ROLE_SECONDS,
            },
        )
        # WHEN the target's clients are built
        clients = clients_for_target(target, sts, session_name=role_session_name(EXECUTION))
        stub.assert_no_pending_responses()
    # AND they act in the target's region with the temporary credentials
    assert clients.region == "ap-northeast-1"
    credentials = clients.sagemaker._request_signer._credentials  # type: ignore[attr-defined]
    assert (credentials.access_key, credentials.token) == ("ASIAMEMBEREXAMPLE", "token")
    assert clients.sagemaker.meta.region_name == "ap-northeast-1"


def test_this_accounts_target_is_read_without_calling_sts() -> None:
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(sts) as stub:
        clients = clients_for_target(
            Target(account_id=HOME, region="eu-west-1"), sts, session_name="endpoint-optimizer-x"
        )
        stub.assert_no_pending_responses()
    assert clients.sagemaker.meta.region_name == "eu-west-1"


def test_role_session_names_keep_to_the_sts_alphabet_and_length() -> None:
    name = role_session_name("arn:aws:states:us-east-1:1:execution:m:" + "run with spaces/and:colons" * 5)
    assert len(name) <= 64
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
