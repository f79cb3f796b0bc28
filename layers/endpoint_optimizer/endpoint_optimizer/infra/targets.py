"""Which accounts and regions one run scans (the `Targets` parameter), and through which role.

Pure: no boto3. The stack's own account is read with the scan function's own credentials (any region of
it); every other account through the read-only member role (docs/member-account-role.yaml), assumed with
the external id. Only the stack's own account *and* region is ever acted on: the apply function's
permissions and clients are scoped to them, so findings anywhere else are report-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from endpoint_optimizer.infra.artifacts import INLINE_BUDGET_BYTES
from endpoint_optimizer.models import Target

# One `account_id:region` pair; regions look like eu-west-1, us-gov-west-1, ap-southeast-5.
TARGET_PATTERN = re.compile(r"^(?P<account>\d{12}):(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)$")
# TARGETS is an environment variable, and "the total size of all environment variables" of a function is
# at most 4 KB (AWS Lambda quotas, docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, read
# 2026-11-30): about 170 pairs of 24 bytes at most. 150 leaves room for the other variables, and keeps the
# per-target summaries of one run well inside the 262,144-byte state payload (facts/limits.md section 3).
MAX_TARGETS = 150
# IAM role names: "[\w+=,.@-]+", 1 to 64 characters (botocore iam CreateRole roleNameType, read 2026-11-30).
ROLE_NAME_PATTERN = r"^[\w+=,.@-]+$"
ROLE_NAME_MAX = 64
# STS AssumeRole ExternalId: "[\w+=,.@:\/-]*", 2 to 1224 characters (botocore sts externalIdType,
# read 2026-11-30). Empty means "not configured".
EXTERNAL_ID_PATTERN = r"^[\w+=,.@:/-]*$"
EXTERNAL_ID_MIN, EXTERNAL_ID_MAX = 2, 1224


def parse_targets(value: str) -> list[tuple[str, str]]:
    """'111122223333:eu-west-1, 444455556666:us-east-1' -> [(account, region), ...]; '' -> [].

    Raises ValueError naming the first malformed or repeated pair.
    """
    pairs: list[tuple[str, str]] = []
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        matched = TARGET_PATTERN.match(item)
        if matched is None:
            raise ValueError(
                f"{item!r} is not account_id:region (12 digits, a colon, a region such as eu-west-1)"
            )
        pair = (matched["account"], matched["region"])
        if pair in pairs:
            raise ValueError(f"{item} is listed twice")
        pairs.append(pair)
    if len(pairs) > MAX_TARGETS:
        raise ValueError(f"{len(pairs)} targets listed; at most {MAX_TARGETS} fit one run")
    return pairs


@dataclass(frozen=True)
class Home:
    """The stack's own account and region: the only place anything is ever applied."""

    account_id: str
    region: str

    def covers(self, account_id: str, region: str) -> bool:
        return (account_id, region) == (self.account_id, self.region)


def member_role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


class TargetsOfRun(BaseModel):
    """What the Find targets step hands to the Scan targets map."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: list[Target] = Field(min_length=1)
    # Each target may return its snapshot inline up to this size; larger ones go to S3. The budget is
    # shared so that the map's combined result stays under the state payload limit.
    inline_limit_bytes: int = Field(ge=0)


def targets_of_run(
    pairs: list[tuple[str, str]],
    *,
    home: Home,
    partition: str,
    role_name: str,
    external_id: str,
) -> TargetsOfRun:
    """The targets of one run (no pairs = the stack's own account and region)."""
    chosen = pairs or [(home.account_id, home.region)]
    targets = [
        Target(account_id=account_id, region=region)
        if account_id == home.account_id
        else Target(
            account_id=account_id,
            region=region,
            role_arn=member_role_arn(partition, account_id, role_name),
            external_id=external_id,
        )
        for account_id, region in chosen
    ]
    return TargetsOfRun(targets=targets, inline_limit_bytes=INLINE_BUDGET_BYTES // len(targets))
