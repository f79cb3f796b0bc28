"""Many accounts and regions: the real workflow scans every target through a Distributed Map, reads member
accounts through their read-only role, and acts only in this stack's own account and region."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from emulated_aws.loop import approval_cards, click, run_plans, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack, deploy_member_role, deploy_stack
from endpoint_optimizer.decide.plan import REPORT_ONLY_MEMBER_ACCOUNT, REPORT_ONLY_OTHER_REGION
from endpoint_optimizer.models import Action
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import APPROVER, SIGNING_SECRET, Fleet, start_run

MEMBER = "210987654321"
MEMBER_REGION = "ap-northeast-1"  # priced in the bundled table: the member's savings are known
OTHER_REGION = "eu-west-1"
EXTERNAL_ID = "e2e-optimizer-7f3a"


def deploy(aws: EmulatedAws, slack: SlackReceiver, *, member_external_id: str = EXTERNAL_ID) -> Stack:
    """This account in two regions plus a member account; the member role deployed as a StackSet would."""
    aws.reset()
    stack = deploy_stack(
        aws,
        REPO_ROOT,
        parameters={
            "SlackApproverIds": APPROVER,
            "Targets": f"{aws.account_id}:us-east-1,{aws.account_id}:{OTHER_REGION},{MEMBER}:{MEMBER_REGION}",
            "MemberExternalId": EXTERNAL_ID,
        },
        secrets={"SlackWebhookSecret": slack.webhook_url, "SlackSigningSecret": SIGNING_SECRET},
        environment={"ApplyFunction": {"APPLY_POLL_SECONDS": "0"}},
    )
    deploy_member_role(
        aws,
        REPO_ROOT,
        account_id=MEMBER,
        parameters={"OptimizerAccountId": aws.account_id, "ExternalId": member_external_id},
    )
    return stack


def endpoint_names(aws: EmulatedAws, region: str | None = None, account_id: str | None = None) -> set[str]:
    pages = aws.client("sagemaker", region, account_id).get_paginator("list_endpoints").paginate()
    return {item["EndpointName"] for page in pages for item in page["Endpoints"]}


def report_text(aws: EmulatedAws, stack: Stack) -> str:
    (report, *_) = aws.published_sns_messages(stack.topic_arn)
    text: str = report["message"]
    return text


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


def test_member_account_and_other_region_findings_are_report_only_while_this_regions_idle_endpoint_is_parked(
    aws: EmulatedAws, slack: SlackReceiver, now: datetime
) -> None:
    # GIVEN the same idle endpoint here, in another region of this account and in a member account,
    # and a member fleet whose snapshot is larger than its share of the workflow state
    stack = deploy(aws, slack)
    fleet = Fleet(aws=aws, now=now)
    home_idle = fleet.endpoint("idle-home", traffic="idle")
    fleet.endpoint("idle-other-region", traffic="idle", region=OTHER_REGION)
    fleet.endpoint("idle-member", traffic="idle", region=MEMBER_REGION, account_id=MEMBER)
    for index in range(12):
        fleet.endpoint(f"busy-member-{index:02d}", traffic="busy", region=MEMBER_REGION, account_id=MEMBER)

    # WHEN the scheduled run asks in Slack and the approver approves the one card
    execution = start_run(aws, stack, "three-targets")
    (card,) = wait_for_cards(slack, 1)
    answer = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret=SIGNING_SECRET
    )
    described = aws.wait_for_execution(execution)

    # THEN the only approval card was for this region's idle endpoint, and only it was parked
    assert (answer.status, described["status"]) == (200, "SUCCEEDED")
    assert [c.endpoint_name for c in approval_cards(slack)] == [home_idle]
    assert home_idle not in endpoint_names(aws)
    assert "idle-other-region" in endpoint_names(aws, OTHER_REGION)
    assert "idle-member" in endpoint_names(aws, MEMBER_REGION, MEMBER)
    output = json.loads(described["output"])
    assert [(r["endpoint_name"], r["outcome"]) for r in output["results"]] == [(home_idle, "applied")]

    # AND each target has its own plan in S3, the other two marked report-only with their findings kept
    summaries = {(p["account_id"], p["region"]): p for p in output["plans"]}
    assert {key: p["report_only"] for key, p in summaries.items()} == {
        (aws.account_id, "us-east-1"): False,
        (aws.account_id, OTHER_REGION): True,
        (MEMBER, MEMBER_REGION): True,
    }
    findings = {f.endpoint_name: f for plan in run_plans(aws, stack, output) for f in plan.findings}
    assert findings["idle-member"].action == Action.PARK
    assert findings["idle-member"].blocked_by == [REPORT_ONLY_MEMBER_ACCOUNT]
    assert findings["idle-member"].estimated_monthly_savings_usd == pytest.approx(108.77)
    assert findings["idle-other-region"].blocked_by == [REPORT_ONLY_OTHER_REGION]
    assert summaries[(MEMBER, MEMBER_REGION)]["endpoints"] == 13

    # AND the member account was read through its role, with the external id
    (assumed,) = aws.backend("sts", "aws", MEMBER).assumed_roles
    assert assumed.role_arn == f"arn:aws:iam::{MEMBER}:role/endpoint-optimizer-read"
    assert (assumed.external_id, assumed.session_name) == (EXTERNAL_ID, "endpoint-optimizer-three-targets")
    # AND the member snapshot, too large for its share of the state, travelled as an S3 key
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=stack.artifact_bucket)["Contents"]]
    assert [k for k in keys if k.startswith("snapshots/")] == [
        f"snapshots/{stack.stack_name}-optimize/three-targets/{MEMBER}-{MEMBER_REGION}.json"
    ]
    # AND the report has a line per target
    (member_line,) = [line for line in report_text(aws, stack).splitlines() if line.startswith(f"- {MEMBER}")]
    assert member_line.startswith(f"- {MEMBER} {MEMBER_REGION}: 13 endpoints; ")
    assert "park: 1" in member_line and member_line.endswith("(report only)")


def test_a_member_account_that_refuses_the_role_is_reported_and_fails_the_run_after_the_others(
    aws: EmulatedAws, slack: SlackReceiver, now: datetime
) -> None:
    # GIVEN a member role that requires another external id than the stack presents
    stack = deploy(aws, slack, member_external_id="someone-elses-id")
    fleet = Fleet(aws=aws, now=now)
    fleet.endpoint("busy-home", traffic="busy")
    fleet.endpoint("idle-member", traffic="idle", region=MEMBER_REGION, account_id=MEMBER)

    # WHEN the run goes
    described = aws.wait_for_execution(start_run(aws, stack, "refused"))

    # THEN every other target was scanned, reported and summarized, and the run ends failed, naming why
    assert (described["status"], described.get("error")) == ("FAILED", "TargetsNotScanned")
    report = report_text(aws, stack)
    assert "Scanned 1 endpoints in 2 targets" in report
    assert f"- {MEMBER} {MEMBER_REGION}: AccessDenied" in report
    subjects = [m["subject"] for m in aws.published_sns_messages(stack.topic_arn)]
    assert len(subjects) == 2  # the report and the summary went out before the run failed
    assert aws.backend("sts", "aws", MEMBER).assumed_roles == []


def test_a_malformed_targets_value_fails_the_first_step_naming_targets(
    aws: EmulatedAws, slack: SlackReceiver
) -> None:
    # GIVEN a TARGETS value that slipped past the template's pattern (set on the function directly)
    stack = deploy(aws, slack)
    lam = aws.client("lambda")
    name = stack.function_names["TargetsFunction"]
    env: dict[str, Any] = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**env, "TARGETS": "123456789012/eu-west-1"}}
    )
    # WHEN the function is invoked and the workflow runs
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(answer["Payload"].read())
    described = aws.wait_for_execution(start_run(aws, stack, "malformed-targets"))
    # THEN the cold start fails naming TARGETS, and nothing is scanned
    assert answer.get("FunctionError")
    assert "environment variable TARGETS" in payload["errorMessage"]
    assert "123456789012/eu-west-1" in payload["errorMessage"]
    assert described["status"] == "FAILED"
    assert "TARGETS" in described.get("cause", "")
    assert aws.published_sns_messages(stack.topic_arn) == []
