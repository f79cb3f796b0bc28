"""One settings class per Lambda, validated at cold start from environment variables.

A missing or malformed variable fails the cold start with a message that names the variable, instead
of a default that hides misconfiguration. Secrets are never settings: only their ARNs are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from endpoint_optimizer.infra.targets import (
    EXTERNAL_ID_MAX,
    EXTERNAL_ID_MIN,
    EXTERNAL_ID_PATTERN,
    ROLE_NAME_MAX,
    ROLE_NAME_PATTERN,
    Home,
    parse_targets,
)
from endpoint_optimizer.models import ACCOUNT_ID_PATTERN, DEFAULT_REJECTION_COOLDOWN_DAYS


class ConfigurationError(RuntimeError):
    """The function's environment is not usable; the message names the variable."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=False, extra="ignore")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        try:
            return cls.model_validate(dict(env))
        except ValidationError as error:
            problems = []
            for item in error.errors():
                variable = ".".join(str(part) for part in item["loc"])
                if item["type"] == "missing":
                    problems.append(f"missing environment variable {variable}")
                else:
                    problems.append(f"environment variable {variable}: {item['msg']}")
            raise ConfigurationError(f"{cls.__name__}: " + "; ".join(problems)) from None


def _split_ids(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ScanSettings(_Settings):
    lookback_days: int = Field(alias="LOOKBACK_DAYS", ge=1, le=63)
    region: str = Field(alias="AWS_REGION", min_length=1)
    artifact_bucket: str = Field(alias="ARTIFACT_BUCKET", min_length=3)
    table_name: str = Field(alias="TABLE_NAME", min_length=1)  # incremental scan state
    max_workers: int = Field(alias="SCAN_MAX_WORKERS", ge=1, le=64)


class Policy(_Settings):
    """What the analyzer may propose. Shared by the Analyze Lambda and the CLI."""

    mode: Literal["report", "approve", "auto"] = Field(alias="MODE")
    lookback_days: int = Field(alias="LOOKBACK_DAYS", ge=1, le=63)
    grace_days: int = Field(alias="GRACE_DAYS", ge=0)
    skip_tag_key: str = Field(alias="SKIP_TAG_KEY", min_length=1)
    max_actions_per_run: int = Field(alias="MAX_ACTIONS_PER_RUN", ge=0)
    # Hours (the template allows 1..168; fractions are accepted so tests can expire an approval fast).
    approval_timeout_hours: float = Field(alias="APPROVAL_TIMEOUT_HOURS", gt=0, le=168)
    # Blast radius in money: the current monthly cost of the endpoints changed in one run.
    max_monthly_change_usd: float = Field(alias="MAX_MONTHLY_CHANGE_USD", ge=0, default=5000)
    # Days after a person rejects a change during which the endpoint is not proposed again
    # (RejectionCooldownDays); 0 proposes it again on the next run.
    rejection_cooldown_days: int = Field(
        alias="REJECTION_COOLDOWN_DAYS", ge=0, le=365, default=DEFAULT_REJECTION_COOLDOWN_DAYS
    )

    @property
    def approval_timeout_seconds(self) -> int:
        return max(1, round(self.approval_timeout_hours * 3600))


class NotifySettings(_Settings):
    topic_arn: str = Field(alias="TOPIC_ARN", min_length=1)
    slack_webhook_secret_arn: str = Field(alias="SLACK_WEBHOOK_SECRET_ARN", min_length=1)
    table_name: str = Field(alias="TABLE_NAME", min_length=1)  # the ledger's month index (realised savings)


class RequestApprovalSettings(_Settings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    slack_webhook_secret_arn: str = Field(alias="SLACK_WEBHOOK_SECRET_ARN", min_length=1)
    # The card says who may approve (the same list slack_interactions authorises clicks against).
    slack_approver_ids: list[str] = Field(alias="SLACK_APPROVER_IDS")

    _split = field_validator("slack_approver_ids", mode="before")(_split_ids)


class SlackInteractionsSettings(_Settings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    slack_signing_secret_arn: str = Field(alias="SLACK_SIGNING_SECRET_ARN", min_length=1)
    # An empty list is valid and means nobody may approve: every click is refused with 403.
    slack_approver_ids: list[str] = Field(alias="SLACK_APPROVER_IDS")
    # The stack: an Undo click starts its apply workflow, `<stack>-apply` (an execution undo-<action_id>).
    stack_name: str = Field(alias="STACK_NAME", min_length=1)
    # The optional bot token's secret (the template always sets it; its placeholder means "no token"):
    # with a token, Reject opens a modal asking why. Unset, as unconfigured: Reject rejects at once.
    slack_bot_token_secret_arn: str | None = Field(default=None, alias="SLACK_BOT_TOKEN_SECRET_ARN")

    _split = field_validator("slack_approver_ids", mode="before")(_split_ids)


class ApplySettings(_Settings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    skip_tag_key: str = Field(alias="SKIP_TAG_KEY", min_length=1)
    # The stack's mode (template parameter Mode), never the event's: an event cannot skip the approval.
    mode: Literal["report", "approve", "auto"] = Field(alias="MODE")
    # The apply workflow's Wait between two reads of a changing endpoint (the template allows 10..600; 0 is
    # accepted so tests and the demo poll without waiting), and how long a change may take to settle
    # before it is rolled back (blue/green bake and termination waits included).
    poll_seconds: int = Field(alias="APPLY_POLL_SECONDS", ge=0, le=600)
    max_wait_minutes: int = Field(alias="APPLY_MAX_WAIT_MINUTES", ge=10, le=480)
    # Night parking (act/schedule.py): the schedule group, the role EventBridge Scheduler starts the apply
    # workflow with, and the apply workflow. Empty: the stack has no night parking (such a change is refused).
    night_schedule_group: str = Field(default="", alias="NIGHT_PARK_SCHEDULE_GROUP")
    night_scheduler_role_arn: str = Field(default="", alias="NIGHT_PARK_SCHEDULER_ROLE_ARN")
    stack_name: str = Field(default="", alias="STACK_NAME")  # the apply workflow is <stack>-apply


class TargetsSettings(_Settings):
    """The accounts and regions to scan (TARGETS), and how to reach the member accounts among them."""

    targets: list[tuple[str, str]] = Field(alias="TARGETS")
    home_account_id: str = Field(alias="HOME_ACCOUNT_ID", pattern=ACCOUNT_ID_PATTERN)
    region: str = Field(alias="AWS_REGION", min_length=1)
    partition: str = Field(alias="PARTITION", min_length=1)
    member_role_name: str = Field(
        alias="MEMBER_ROLE_NAME", pattern=ROLE_NAME_PATTERN, max_length=ROLE_NAME_MAX
    )
    # Not a secret: a confused-deputy guard the member role's trust policy requires (see the template).
    member_external_id: str = Field(
        alias="MEMBER_EXTERNAL_ID", pattern=EXTERNAL_ID_PATTERN, max_length=EXTERNAL_ID_MAX
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _parse_targets(cls, value: object) -> object:
        return parse_targets(value) if isinstance(value, str) else value

    @field_validator("member_external_id")
    @classmethod
    def _required_for_member_accounts(cls, value: str, info: ValidationInfo) -> str:
        if 0 < len(value) < EXTERNAL_ID_MIN:
            raise ValueError(f"an external id has at least {EXTERNAL_ID_MIN} characters")
        home = info.data.get("home_account_id")
        members = [account for account, _ in info.data.get("targets") or [] if account != home]
        if members and not value:
            raise ValueError(
                f"required because TARGETS lists other accounts ({', '.join(sorted(set(members)))})"
            )
        return value

    @property
    def home(self) -> Home:
        return Home(account_id=self.home_account_id, region=self.region)


class AnalyzeSettings(_Settings):
    """Where plans go, and which account and region are this stack's own (the only ones acted on)."""

    artifact_bucket: str = Field(alias="ARTIFACT_BUCKET", min_length=3)
    home_account_id: str = Field(alias="HOME_ACCOUNT_ID", pattern=ACCOUNT_ID_PATTERN)
    region: str = Field(alias="AWS_REGION", min_length=1)
    table_name: str = Field(alias="TABLE_NAME", min_length=1)  # the day's price cache
    price_discount_percent: float = Field(alias="PRICE_DISCOUNT_PERCENT", ge=0, le=100)
    # The estimated cost of the run's Inference Recommender jobs stays under this (MaxRecommenderSpendUSD).
    max_recommender_spend_usd: float = Field(alias="MAX_RECOMMENDER_SPEND_USD", ge=0)

    @property
    def home(self) -> Home:
        return Home(account_id=self.home_account_id, region=self.region)


# An IAM role ARN in any partition (arn:aws, arn:aws-cn, arn:aws-us-gov), paths allowed.
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"


class RecommendSettings(_Settings):
    """Confirming moves with Inference Recommender: where payloads are packed and plans are, the role the
    jobs run with, how long a completed job is reused and how often a running one is read."""

    artifact_bucket: str = Field(alias="ARTIFACT_BUCKET", min_length=3)
    region: str = Field(alias="AWS_REGION", min_length=1)
    recommender_role_arn: str = Field(alias="RECOMMENDER_ROLE_ARN", pattern=ROLE_ARN_PATTERN)
    reuse_days: int = Field(alias="RECOMMENDER_REUSE_DAYS", ge=0, le=365)
    # Seconds (the template allows 30..3600; 0 is accepted so tests and the demo poll without waiting).
    poll_seconds: int = Field(alias="RECOMMENDER_POLL_SECONDS", ge=0, le=3600)
    lookback_days: int = Field(alias="LOOKBACK_DAYS", ge=1, le=63)  # the baseline's p99 latency window
