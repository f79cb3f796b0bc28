"""`make demo`: the whole loop on the emulated AWS, in one process, in well under two minutes.

Starts moto with its Step Functions interpreter, deploys template.yaml into it, seeds a fleet with
14 days of hourly metrics, starts the real state machine as the schedule would, answers the Slack
cards with signed interaction requests to the real slack_interactions handler, and prints the result.
Handler logs (Powertools JSON) go to .demo/lambda.log, as they would go to CloudWatch Logs.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from emulated_aws.fleet import seed_demo_fleet, seed_member_fleet
from emulated_aws.loop import click, run_plans, wait_for_cards
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import deploy_member_role, deploy_stack
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.cli import render_plan
from endpoint_optimizer.notify.confirmation_text import summary as benchmark_summary
from endpoint_optimizer.notify.slack import usd

REPO_ROOT = Path(__file__).resolve().parents[3]
APPROVER = "U0DEMOAPPROVER"
SIGNING_SECRET = "demo-signing-secret"
MAX_ACTIONS = 3
# A member account read through its read-only role (docs/member-account-role.yaml): reported, never changed.
MEMBER_ACCOUNT = "210987654321"
MEMBER_REGION = "ap-northeast-1"
EXTERNAL_ID = "demo-optimizer-external-id"
# The oversized endpoint whose rightsize move the demo benchmarks (its payload tagged; the others have none).
BENCHMARKED = "demo-oversized-gpu-translation"
PAYLOAD_TAG = "endpoint-optimizer:sample-payload"
OBSERVED_P99_MS = 30.0


def prepare_benchmark(aws: EmulatedAws, bucket: str, endpoint: str, now: datetime) -> str:
    """A one-request .tar.gz in the artifact bucket, named by the endpoint's sample-payload tag, and the
    p99 latency it answers in today (ModelLatency, microseconds), which the benchmark must keep."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "ModelLatency",
                "Dimensions": dimensions,
                "Timestamp": now - timedelta(hours=hours),
                "Value": OBSERVED_P99_MS * 1000,
                "Unit": "Microseconds",
            }
            for hours in range(1, 14 * 24, 12)
        ],
    )
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        body = b"0.31,0.12,0.77,0.05\n"
        info = tarfile.TarInfo("request-0001.csv")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    key = "recommender/demo/requests.tar.gz"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    sagemaker = aws.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": PAYLOAD_TAG, "Value": f"s3://{bucket}/{key}"}])
    return key


def run_demo(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    log_dir = REPO_ROOT / ".demo"
    log_dir.mkdir(exist_ok=True)
    started = time.monotonic()

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    def step(text: str) -> None:
        say(f"\n[{time.monotonic() - started:5.1f}s] {text}")

    with (
        (log_dir / "lambda.log").open("w", encoding="utf-8") as lambda_log,
        contextlib.redirect_stdout(lambda_log),
        EmulatedAws(region="us-east-1") as aws,
        SlackReceiver() as slack,
    ):
        step("Emulated AWS is up (moto with its Step Functions interpreter; Lambdas run in-process).")
        stack = deploy_stack(
            aws,
            REPO_ROOT,
            parameters={
                "SlackApproverIds": APPROVER,
                "MaxActionsPerRun": str(MAX_ACTIONS),
                "Targets": f"{aws.account_id}:{aws.region},{MEMBER_ACCOUNT}:{MEMBER_REGION}",
                "MemberExternalId": EXTERNAL_ID,
            },
            secrets={"SlackWebhookSecret": slack.webhook_url, "SlackSigningSecret": SIGNING_SECRET},
            # Inference Recommender jobs age one tick per read in the emulator: poll without waiting.
            environment={
                "RecommendFunction": {"RECOMMENDER_POLL_SECONDS": "0"},
                "ApplyFunction": {"APPLY_POLL_SECONDS": "0"},
            },
        )
        say(f"  deployed template.yaml as stack {stack.stack_name}: {len(stack.function_names)} functions,")
        say(f"  state machine {stack.state_machine_arn.rsplit(':', 1)[-1]}, table {stack.table_name}")
        say(f"  Mode=approve, MaxActionsPerRun={MAX_ACTIONS}, approver {APPROVER}")
        deploy_member_role(
            aws,
            REPO_ROOT,
            account_id=MEMBER_ACCOUNT,
            parameters={"OptimizerAccountId": aws.account_id, "ExternalId": EXTERNAL_ID},
        )
        say(
            f"  Targets: this account ({aws.account_id} {aws.region}) and member {MEMBER_ACCOUNT} {MEMBER_REGION},"
        )
        say("  read through docs/member-account-role.yaml deployed there (as a StackSet would)")

        now = datetime.now(UTC)
        fleet = seed_demo_fleet(aws, now)
        member_fleet = seed_member_fleet(aws, now, account_id=MEMBER_ACCOUNT, region=MEMBER_REGION)
        step(
            f"Seeded {len(fleet)} endpoints here and {len(member_fleet)} in the member account, "
            "with 14 days of hourly CloudWatch metrics."
        )
        prepare_benchmark(aws, stack.artifact_bucket, BENCHMARKED, now)
        say(f"  {BENCHMARKED} is tagged {PAYLOAD_TAG}: its rightsize move gets an Inference Recommender job")

        sfn = aws.client("stepfunctions")
        execution = sfn.start_execution(
            stateMachineArn=stack.state_machine_arn, name=f"scheduled-{now:%Y%m%dT%H%M%S}", input="{}"
        )["executionArn"]
        step("Started the workflow as the daily EventBridge schedule does; waiting for Slack cards...")
        # Map iterations post in any order; sort so every demo run approves and rejects the same cards.
        cards = sorted(wait_for_cards(slack, MAX_ACTIONS, timeout_s=60), key=lambda card: card.endpoint_name)
        for card in cards:
            say(f"  Slack card {card.approval_id}: {card.action} {card.endpoint_name}")

        step("Clicking in Slack (signed interaction requests to the real slack_interactions handler):")
        forged = click(
            aws,
            stack,
            slack,
            approval_id=cards[0].approval_id,
            user_id=APPROVER,
            signing_secret="guessed-secret",
        )
        say(f"  forged signature           -> HTTP {forged.status} ({forged.message})")
        outsider = click(
            aws,
            stack,
            slack,
            approval_id=cards[0].approval_id,
            user_id="U0OUTSIDER",
            signing_secret=SIGNING_SECRET,
        )
        say(f"  click by a non-approver    -> HTTP {outsider.status} ({outsider.message})")
        decisions = ["approve"] * (len(cards) - 1) + ["reject"]
        for card, decision in zip(cards, decisions, strict=True):
            answer = click(
                aws,
                stack,
                slack,
                approval_id=card.approval_id,
                user_id=APPROVER,
                action_id=decision,
                signing_secret=SIGNING_SECRET,
            )
            say(f"  {decision:7} {card.endpoint_name:27} -> HTTP {answer.status} ({answer.message})")
        replay = click(
            aws,
            stack,
            slack,
            approval_id=cards[0].approval_id,
            user_id=APPROVER,
            signing_secret=SIGNING_SECRET,
        )
        say(f"  replayed click             -> HTTP {replay.status} ({replay.message})")

        described = aws.wait_for_execution(execution, timeout_s=60)
        output = json.loads(described.get("output") or "{}")
        step(f"Execution {described['status']}.")
        if described["status"] != "SUCCEEDED":
            say(f"  error: {described.get('error')}: {described.get('cause')}")
            return 1

        plans = run_plans(aws, stack, output)
        for summary, plan in zip(output["plans"], plans, strict=True):
            where = f"{summary['account_id']} {summary['region']}"
            report_only = " - report only: nothing is changed there" if summary["report_only"] else ""
            step(
                f"Findings for {where}{report_only} (plan from s3://{stack.artifact_bucket}/{summary['plan_key']}):"
            )
            render_plan(plan, out)
        findings = {f.endpoint_name: f for plan in plans for f in plan.findings}
        step(f"Inference Recommender benchmark of {BENCHMARKED} (emulated; the plan's confirmation):")
        for line in (benchmark_summary(findings[BENCHMARKED]) or "no benchmark").split("\n"):
            say(f"  {line}")
        unconfirmed = sorted(
            n for n, f in findings.items() if any(b.startswith("unconfirmed:") for b in f.blocked_by)
        )
        say(
            f"  not benchmarked this run (each plan says why, e.g. how to add a payload): {', '.join(unconfirmed)}"
        )

        results = output["results"]
        step("What happened to each proposed action:")
        for result in results:
            say(f"  {result['outcome']:9} {result['action']} {result['endpoint_name']}: {result['detail']}")
        if output["deferred"]:
            say(
                f"  deferred to later runs by MaxActionsPerRun={MAX_ACTIONS}: {', '.join(output['deferred'])}"
            )

        live = {
            item["EndpointName"]
            for page in aws.client("sagemaker").get_paginator("list_endpoints").paginate()
            for item in page["Endpoints"]
        }
        # Every rung is applied now (issue 10): only a park takes the endpoint out of ListEndpoints.
        parked = [r["endpoint_name"] for r in results if r["outcome"] == "applied" and r["action"] == "park"]
        changed = [r for r in results if r["outcome"] == "applied" and r["action"] != "park"]
        assert not set(parked) & live, "a parked endpoint is still listed"
        assert all(r["endpoint_name"] in live for r in changed), "a changed (not parked) endpoint is gone"
        applied = sum(r["estimated_monthly_savings_usd"] or 0 for r in results if r["outcome"] == "applied")
        step(f"Parked {len(parked)} endpoint(s), gone from ListEndpoints: {', '.join(parked)}")
        for r in changed:
            say(f"  {r['action']} applied to {r['endpoint_name']}, still serving: {r['detail']}")
        say(f"  savings applied: {usd(applied)} a month; {len(live)} endpoints still serving")

        step("Slack messages received (webhook posts and card updates):")
        for message in slack.messages:
            body = message["body"]
            text = body.get("text", "") if isinstance(body, dict) else str(body)
            say(f"  {message['path'].split('/')[1]:9} {text.splitlines()[0][:110] if text else ''}")
        step("SNS messages published (plain text, e.g. to email):")
        for message in aws.published_sns_messages(stack.topic_arn):
            say(f"  Subject: {message['subject']}")
            for line in message["message"].splitlines()[:4]:
                say(f"    {line}")

        if parked:
            chosen = max(parked, key=lambda name: "autoscaled" in name)  # shows scalable targets coming back
            step(f"endpoint-optimizer restore {chosen} (from its snapshot):")
            with contextlib.redirect_stdout(out):
                code = cli(["restore", chosen, "--table", stack.table_name])
            if code != 0:
                return code

        def verdict(name: str) -> str:
            finding = findings[name]
            # Advice blocked on a precondition (e.g. "needs an arm64 image") changes nothing: "none". Report
            # only, or not yet benchmarked ("unconfirmed: ..."), the advice stands.
            standing = ("report only", "unconfirmed:")
            blocked_advice = finding.blocked_by and not any(
                s in b for b in finding.blocked_by for s in standing
            )
            return "none" if blocked_advice else finding.action.value

        mismatches = [
            (member.name, member.expected, verdict(member.name))
            for member in [*fleet, *member_fleet[:1]]  # the member's idle endpoint: park, report-only
            if verdict(member.name) != member.expected
        ]
        checked = len(fleet) + 1
        step(f"Decisions matching the fleet's labels: {checked - len(mismatches)} of {checked}.")
        for name, expected, actual in mismatches:
            say(f"  MISMATCH {name}: expected {expected}, got {actual}")
        say(f"\nDone in {time.monotonic() - started:.1f} s. Handler logs: .demo/lambda.log")
        return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(run_demo())
