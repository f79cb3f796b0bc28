"""`make demo`: the whole loop on the emulated AWS, in one process, in well under two minutes.

Starts moto with its Step Functions interpreter, deploys template.yaml into it, seeds a fleet with
14 days of hourly metrics (the labelled demo fleet, a member account, and one endpoint for each rung the
demo fleet lacks: emulated_aws.rungs), starts the real state machine as the schedule would, answers the
Slack cards with signed interaction requests to the real slack_interactions handler, and prints the result.
The approver approves one card of every rung (park, scale_to_zero, migrate_serverless, rightsize,
migrate_graviton, schedule) and one more rightsize whose blue/green update's own alarm fires while the
endpoint is Updating, so SageMaker rolls it back; every other card is rejected. The demo checks what it
prints (each rung applied and at its target, the rollback serving as before, the decisions matching the
fleet's labels) and exits 1 when any of it does not hold.
Handler logs (Powertools JSON) go to .demo/lambda.log, as they would go to CloudWatch Logs.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tarfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from emulated_aws.fleet import seed_demo_fleet, seed_member_fleet
from emulated_aws.loop import ApprovalCard, approval_cards, click, rollback_alarm_fires_on_update, run_plans
from emulated_aws.rungs import (
    FIXTURE_PRICE_SOURCE,
    GRAVITON_FIXTURE_PRICES,
    QUIET_HOUR_LEAD_MINUTES,
    Fleet,
    idle_inference_components,
    on_x86,
    oversized,
    sporadic_small_model,
)
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.slack_text import readable
from emulated_aws.stack import Stack, deploy_member_role, deploy_stack
from endpoint_optimizer.cli import main as cli
from endpoint_optimizer.cli import render_plan
from endpoint_optimizer.notify.confirmation_text import summary as benchmark_summary
from endpoint_optimizer.notify.slack import usd

REPO_ROOT = Path(__file__).resolve().parents[3]
APPROVER = "U0DEMOAPPROVER"
SIGNING_SECRET = "demo-signing-secret"
# Room for one card of every rung in one run (the demo fleet's idle endpoints alone are 7 priced parks):
# the approver approves one per rung and rejects the rest.
MAX_ACTIONS = 15
MAX_MONTHLY_CHANGE_USD = 20_000
# A member account read through its read-only role (docs/member-account-role.yaml): reported, never changed.
MEMBER_ACCOUNT = "210987654321"
MEMBER_REGION = "ap-northeast-1"
EXTERNAL_ID = "demo-optimizer-external-id"
# The demo fleet's oversized endpoint whose rightsize move is benchmarked (its payload tagged; the demo fleet's
# other moves have none and stay unconfirmed, so they are never sent for approval).
BENCHMARKED = "demo-oversized-gpu-translation"
PAYLOAD_TAG = "endpoint-optimizer:sample-payload"
OBSERVED_P99_MS = 30.0
APPLIED_RUNGS = ("schedule", "scale_to_zero", "park", "rightsize", "migrate_graviton", "migrate_serverless")
PARKED = "demo-idle-recsys-autoscaled"  # the park approved (and restored at the end): its scalable target too
ROLLED_BACK = "oversized-fraud-xgb"  # a second rightsize: its own 5XX alarm fires while it is Updating
# The rungs the demo fleet does not show, one endpoint each (emulated_aws.rungs), and the label of each.
RUNG_SEEDERS: list[tuple[Callable[[Fleet], str], str, str]] = [
    (idle_inference_components, "scale_to_zero", "idle, hosting an inference component: scale it to zero"),
    (sporadic_small_model, "migrate_serverless", "a few requests a day, small CPU model, payload tagged"),
    (on_x86, "migrate_graviton", "ml.c5.xlarge at 50 % on XGBoost 1.5-1 (arm64 build known), payload tagged"),
    (oversized, "rightsize", "ml.m5.xlarge at 10 % CPU, payload tagged; its update will be rolled back"),
]


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


def cut(line: str, width: int = 180) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def wait_for_the_hour_to_turn_if_it_is_about_to(say: Callable[[str], None]) -> None:
    """The serverless move is applied in its endpoint's quietest hour, which the seeded traffic makes the
    hour the fleet is seeded in (emulated_aws.rungs.sporadic_small_model); the run reaches the apply some
    30 s after seeding. Seeded in the hour's last minutes, the quiet hour is the next one
    (QUIET_HOUR_LEAD_MINUTES) and the apply would wait for it: the demo waits for the hour to turn instead."""
    left = 3600 - (time.time() % 3600)
    if left < QUIET_HOUR_LEAD_MINUTES * 60:
        say(f"  waiting {left:.0f} s for the hour to turn (the serverless move waits for its quiet hour)")
        time.sleep(left + 1)


class DemoFailed(AssertionError):
    """What the demo claims does not hold: `make demo` exits 1 and says which claim."""


def check(holds: bool, claim: str) -> None:
    if not holds:
        raise DemoFailed(claim)


def _image_tag(sagemaker: Any, model_name: str | None) -> str | None:
    if not model_name:
        return None
    image = str(sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Image"])
    return image.rsplit("/", 1)[-1]


def serving(aws: EmulatedAws, name: str) -> dict[str, Any]:
    """What the endpoint serves on now, as the emulated AWS describes it ({"listed": False} once deleted)."""
    sagemaker = aws.client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError:
        return {"listed": False}
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    components = [
        c["InferenceComponentName"]
        for c in sagemaker.list_inference_components(EndpointNameEquals=name)["InferenceComponents"]
    ]
    resources = [f"endpoint/{name}/variant/{v['VariantName']}" for v in config["ProductionVariants"]]
    resources += [f"inference-component/{component}" for component in components]
    autoscaling = aws.client("application-autoscaling")
    return {
        "listed": True,
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "variants": [
            (
                v.get("InstanceType"),
                v.get("InitialInstanceCount"),
                (v.get("ServerlessConfig") or {}).get("MemorySizeInMB"),
                (v.get("ManagedInstanceScaling") or {}).get("MinInstanceCount"),
                _image_tag(sagemaker, v.get("ModelName")),
            )
            for v in config["ProductionVariants"]
        ],
        "components": components,
        "scaling": sorted(
            (t["ResourceId"].split("/")[1], t["MinCapacity"], t["MaxCapacity"])
            for t in autoscaling.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=resources
            )["ScalableTargets"]
        ),
        "scheduled": sorted(
            a["ScheduledActionName"]
            for a in autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
            if a["ResourceId"] in resources
        ),
    }


def described(state: dict[str, Any]) -> str:
    """One line: how the endpoint serves."""
    if not state["listed"]:
        return "not in ListEndpoints (deleted; its config and model kept)"
    parts = []
    for instance_type, count, memory_mb, managed_min, image in state["variants"]:
        size = f"serverless {memory_mb} MB" if memory_mb else f"{count} x {instance_type}"
        managed = f", managed instance scaling from {managed_min}" if managed_min is not None else ""
        parts.append(f"{size}{f' ({image})' if image else ''}{managed}")
    parts += [f"autoscaled {resource} {low}-{high}" for resource, low, high in state["scaling"]]
    if state["scheduled"]:
        parts.append("scheduled: " + ", ".join(state["scheduled"]))
    return f"{state['status']} on {state['config']}: " + "; ".join(parts)


def at_target(action: str, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Why `after` is not what `action` makes of `before` on the emulated AWS, or None when it is."""
    if action == "park":
        return None if not after["listed"] else "still listed"
    if not after["listed"] or after["status"] != "InService":
        return f"not serving: {after.get('status', 'not listed')}"
    if action == "scale_to_zero":
        return None if any(low == 0 for _, low, _ in after["scaling"]) else "no capacity scales to 0"
    if action == "schedule":
        return None if after["scheduled"] else "no scheduled action"
    (instance_type, _, memory_mb, _, image), (was_type, *_, was_image) = (
        after["variants"][0],
        before["variants"][0],
    )
    if action == "migrate_serverless":
        return None if memory_mb else "not serverless"
    if action == "rightsize":
        return None if instance_type != was_type else f"still {was_type}"
    if action == "migrate_graviton":
        family = str(instance_type).removeprefix("ml.").split(".")[0]
        on_graviton = family.endswith("g") and image != was_image
        return None if on_graviton else f"{instance_type} ({image}) is not the arm64 build on Graviton"
    return f"no check for {action}"


def answer_cards(
    aws: EmulatedAws,
    stack: Stack,
    slack: SlackReceiver,
    execution: str,
    say: Callable[[str], None],
) -> dict[str, tuple[ApprovalCard, str]]:
    """Answer every card as it arrives (the Map asks at most 5 at a time) until the run ends: approve one
    card of each rung and the rollback's, reject the others. Returns {approval id: (card, decision)}."""
    answered: dict[str, tuple[ApprovalCard, str]] = {}
    approved_rungs: set[str] = set()
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        waiting = [c for c in approval_cards(slack) if c.approval_id not in answered]
        if not waiting:
            if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                return answered
            with contextlib.suppress(TimeoutError):  # a new card, or look at the run again
                slack.wait_for(lambda m: len(approval_cards(slack)) > len(answered), timeout_s=0.5)
            continue
        for card in sorted(waiting, key=lambda c: c.endpoint_name):
            if not answered:
                say_checks_on(aws, stack, slack, card, say)
            wanted = card.endpoint_name in (PARKED, ROLLED_BACK) or (
                card.action != "park" and card.action not in approved_rungs
            )
            decision = "approve" if wanted else "reject"
            if wanted and card.endpoint_name != ROLLED_BACK:
                approved_rungs.add(card.action)
            answer = click(
                aws,
                stack,
                slack,
                approval_id=card.approval_id,
                user_id=APPROVER,
                action_id=decision,
                signing_secret=SIGNING_SECRET,
            )
            answered[card.approval_id] = (card, decision)
            clicked = f"{decision:7} {card.action:18} {card.endpoint_name:32}"
            say(cut(f"  {clicked} -> HTTP {answer.status} ({answer.message})", 150))
    raise DemoFailed("the run did not end within 180 s of its first card")


def say_checks_on(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, card: ApprovalCard, say: Callable[[str], None]
) -> None:
    """What a click without the signing secret, or by someone not on the approver list, gets."""
    forged = click(
        aws, stack, slack, approval_id=card.approval_id, user_id=APPROVER, signing_secret="guessed-secret"
    )
    say(f"  {'forged signature':61} -> HTTP {forged.status} ({forged.message})")
    check(forged.status == 401, "a forged click is refused")
    outsider = click(
        aws, stack, slack, approval_id=card.approval_id, user_id="U0OUTSIDER", signing_secret=SIGNING_SECRET
    )
    say(f"  {'click by a non-approver':61} -> HTTP {outsider.status} ({outsider.message})")
    check(outsider.status == 403, "a non-approver's click is refused")


def run_demo(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        return _run_demo(out)
    except DemoFailed as failed:
        out.write(f"\nDEMO FAILED: {failed}\n")
        return 1


def _run_demo(out: TextIO) -> int:
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
        warnings.catch_warnings(),
        EmulatedAws(region="us-east-1") as aws,
        SlackReceiver() as slack,
    ):
        # The handlers' warnings (e.g. Powertools' "No application metrics to publish") go where their logs
        # go, as a Lambda's stderr goes to CloudWatch Logs.
        def log_warning(message: Any, category: Any, filename: str, lineno: int, *_: Any, **__: Any) -> None:
            lambda_log.write(warnings.formatwarning(message, category, filename, lineno))

        warnings.showwarning = log_warning
        step("Emulated AWS is up (moto with its Step Functions interpreter; Lambdas run in-process).")
        stack = deploy_stack(
            aws,
            REPO_ROOT,
            parameters={
                "SlackApproverIds": APPROVER,
                "MaxActionsPerRun": str(MAX_ACTIONS),
                "MaxMonthlyChangeUSD": str(MAX_MONTHLY_CHANGE_USD),
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
        say(
            f"  Mode=approve, MaxActionsPerRun={MAX_ACTIONS}, MaxMonthlyChangeUSD={MAX_MONTHLY_CHANGE_USD}, "
            f"approver {APPROVER}"
        )
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

        wait_for_the_hour_to_turn_if_it_is_about_to(say)
        now = datetime.now(UTC)
        fleet = seed_demo_fleet(aws, now)
        member_fleet = seed_member_fleet(aws, now, account_id=MEMBER_ACCOUNT, region=MEMBER_REGION)
        rung_fleet = Fleet(aws=aws, now=now, scanned_regions=(aws.region, MEMBER_REGION))
        labels = {member.name: member.expected for member in [*fleet, *member_fleet[:1]]}
        seeded = [(seed(rung_fleet), expected, why) for seed, expected, why in RUNG_SEEDERS]
        labels |= {name: expected for name, expected, _ in seeded}
        step(
            f"Seeded {len(fleet) + len(seeded)} endpoints here and {len(member_fleet)} in the member account, "
            "with 14 days of hourly CloudWatch metrics."
        )
        say("  Besides the labelled demo fleet, one endpoint for each rung it lacks (emulated_aws.rungs):")
        for name, expected, why in seeded:
            say(f"  {name:27} {expected:18} {why}")
        prepare_benchmark(aws, stack.artifact_bucket, BENCHMARKED, now)
        say(f"  {BENCHMARKED} is tagged {PAYLOAD_TAG} too: its rightsize move gets a benchmark")
        prices = ", ".join(f"{t} ${usd}/h" for t, usd in GRAVITON_FIXTURE_PRICES.items())
        say(f"  Graviton prices cached for the day as a live lookup would: {prices}")
        say(f"  (FIXTURE prices, not AWS's: source {FIXTURE_PRICE_SOURCE!r})")

        moved = [name for name, _, _ in seeded] + [BENCHMARKED, "demo-busy-support-business-hours", PARKED]
        before = {name: serving(aws, name) for name in moved}
        sfn = aws.client("stepfunctions")
        with rollback_alarm_fires_on_update(ROLLED_BACK, "5XX errors on the new instances") as tripped:
            execution = sfn.start_execution(
                stateMachineArn=stack.state_machine_arn, name=f"scheduled-{now:%Y%m%dT%H%M%S}", input="{}"
            )["executionArn"]
            step(
                "Started the workflow as the daily EventBridge schedule does; answering its Slack cards as they come"
            )
            say(
                "  (signed interaction requests to the real slack_interactions handler): one approval per rung, and"
            )
            say(
                f"  {ROLLED_BACK}, whose update's own 5XX alarm will fire while it is Updating; the others rejected."
            )
            answered = answer_cards(aws, stack, slack, execution, say)
            described_run = aws.wait_for_execution(execution, timeout_s=60)
        output = json.loads(described_run.get("output") or "{}")
        step(f"Execution {described_run['status']}.")
        if described_run["status"] != "SUCCEEDED":
            say(f"  error: {described_run.get('error')}: {described_run.get('cause')}")
            return 1
        first_approved = next(card for card, decision in answered.values() if decision == "approve")
        replay = click(
            aws,
            stack,
            slack,
            approval_id=first_approved.approval_id,
            user_id=APPROVER,
            signing_secret=SIGNING_SECRET,
        )
        say(f"  replayed click on {first_approved.endpoint_name} -> HTTP {replay.status} ({replay.message})")
        check(replay.status == 409, "a replayed click is refused")

        plans = run_plans(aws, stack, output)
        for summary, plan in zip(output["plans"], plans, strict=True):
            where = f"{summary['account_id']} {summary['region']}"
            report_only = " - report only: nothing is changed there" if summary["report_only"] else ""
            step(
                f"Findings for {where}{report_only} (plan from s3://{stack.artifact_bucket}/{summary['plan_key']}):"
            )
            render_plan(plan, out)
        findings = {f.endpoint_name: f for plan in plans for f in plan.findings}
        step("Inference Recommender benchmarks (emulated), each move's confirmation:")
        for name, finding in sorted(findings.items()):
            if finding.confirmation is not None:
                say(f"  {name}:")
                for line in (benchmark_summary(finding) or "no benchmark").split("\n"):
                    say(f"    {line}")
        unconfirmed = sorted(
            n for n, f in findings.items() if any(b.startswith("unconfirmed:") for b in f.blocked_by)
        )
        say(
            f"  not benchmarked this run (each plan says why, e.g. how to add a payload): {', '.join(unconfirmed)}"
        )

        results = output["results"]
        step("What happened to each proposed action:")
        for result in results:
            say(
                cut(
                    f"  {result['outcome']:11} {result['action']} {result['endpoint_name']}: {result['detail']}"
                )
            )
        if output["deferred"]:
            say(f"  deferred to later runs: {', '.join(output['deferred'])}")

        by_name = {r["endpoint_name"]: r for r in results}
        step("Each rung, applied once and verified (the apply workflow's verify step; checked again here):")
        for card, decision in answered.values():
            if decision != "approve" or card.endpoint_name == ROLLED_BACK:
                continue
            result, name = by_name[card.endpoint_name], card.endpoint_name
            after = serving(aws, name)
            check(result["outcome"] == "applied", f"{card.action} {name} is applied: {result['outcome']}")
            wrong = at_target(card.action, before[name], after)
            check(wrong is None, f"{card.action} {name} is at its target on the emulated AWS: {wrong}")
            saves = usd(result["estimated_monthly_savings_usd"])
            say(f"  {card.action} {name}: {result['outcome']}, verified, saves {saves} a month")
            say(f"    was: {described(before[name])}")
            say(f"    now: {described(after)}")
        applied = [r["action"] for r in results if r["outcome"] == "applied"]
        check(
            sorted(applied) == sorted(APPLIED_RUNGS),
            f"each rung applied exactly once: {sorted(applied)}",
        )

        rolled_back, after = by_name[ROLLED_BACK], serving(aws, ROLLED_BACK)
        step(f"The automatic rollback: {rolled_back['action']} {ROLLED_BACK}")
        check(
            tripped == [a for a in tripped if a.endswith("-5xx")] and len(tripped) == 1,
            f"one alarm fired: {tripped}",
        )
        check(
            rolled_back["outcome"] == "rolled_back", f"{ROLLED_BACK} is rolled_back: {rolled_back['outcome']}"
        )
        check(after == before[ROLLED_BACK], f"{ROLLED_BACK} serves as before: {described(after)}")
        check(rolled_back["estimated_monthly_savings_usd"] is None, "a rollback counts no savings")
        leftover = [
            a["AlarmName"]
            for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
            if ROLLED_BACK in a["AlarmName"]
        ]
        check(not leftover, f"the change's alarms are removed: {leftover}")
        say(f"  alarm {tripped[0]} went to ALARM while the endpoint was Updating; SageMaker rolled it back")
        say(f"  {rolled_back['outcome']}, serving as before, no savings: {described(after)}")

        live = {
            item["EndpointName"]
            for page in aws.client("sagemaker").get_paginator("list_endpoints").paginate()
            for item in page["Endpoints"]
        }
        savings = sum(r["estimated_monthly_savings_usd"] or 0 for r in results if r["outcome"] == "applied")
        say(f"\n  savings applied: {usd(savings)} a month; {len(live)} endpoints still serving")

        step(
            "Slack messages received, as the channel shows them (webhook posts; card updates by response_url):"
        )
        for message in slack.messages:
            where = "posted" if message["path"].startswith("/services/") else "card updated"
            lines = readable(message["body"])
            say(cut(f"  -- {where}: {lines[0] if lines else ''}"))
            for line in lines[1:]:
                say(cut(f"     {line}"))
        step("SNS messages published (plain text, e.g. to email):")
        for message in aws.published_sns_messages(stack.topic_arn):
            say(f"  Subject: {message['subject']}")
            for line in message["message"].splitlines()[:4]:
                say(f"    {line}")

        step(f"endpoint-optimizer restore {PARKED} (from its snapshot):")
        with contextlib.redirect_stdout(out):
            code = cli(["restore", PARKED, "--table", stack.table_name])
        check(code == 0, f"restore {PARKED} exits 0")
        check(
            serving(aws, PARKED) == before[PARKED],
            f"{PARKED} serves as before: {described(serving(aws, PARKED))}",
        )

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
            (name, expected, verdict(name)) for name, expected in labels.items() if verdict(name) != expected
        ]
        step(f"Decisions matching the fleet's labels: {len(labels) - len(mismatches)} of {len(labels)}.")
        for name, expected, actual in mismatches:
            say(f"  MISMATCH {name}: expected {expected}, got {actual}")
        say(f"\nDone in {time.monotonic() - started:.1f} s. Handler logs: .demo/lambda.log")
        return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(run_demo())
