"""Run summaries: plain text for SNS (email), Block Kit for Slack. Same numbers, same reason text."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from endpoint_optimizer import slack
from endpoint_optimizer.models import Action, ActionResult, Plan, ProposedAction

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from slack_sdk.models.blocks import Block

# SNS Subject: "Constraints: Subjects must be ... less than 100 characters" (SNS Publish API reference).
MAX_SUBJECT = 99
TOP_FINDINGS = 10


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    blocks: list[Block]


def _total(values: list[float | None]) -> float:
    return round(sum(value for value in values if value is not None), 2)


def report_message(plan: Plan, actions: list[ProposedAction], deferred: list[str]) -> Message:
    counts = Counter(finding.action.value for finding in plan.findings)
    actionable = [finding for finding in plan.findings if finding.action != Action.NONE]
    proposed = _total([finding.estimated_monthly_savings_usd for finding in actionable])
    unknown = sum(1 for finding in actionable if finding.estimated_monthly_savings_usd is None)
    by_action = ", ".join(f"{action}: {count}" for action, count in sorted(counts.items()))
    lines = [
        f"Scanned {len(plan.findings)} endpoints in {plan.region} over {plan.lookback_days} days.",
        f"Findings by action: {by_action}.",
        f"Monthly savings proposed: {slack.usd(proposed)}"
        + (f" (+{unknown} with unknown price)" if unknown else "")
        + ".",
        f"Asking for approval of {len(actions)} action(s) this run"
        + (f"; {len(deferred)} deferred by MaxActionsPerRun." if deferred else "."),
    ]
    top = sorted(actionable, key=lambda f: -(f.estimated_monthly_savings_usd or 0))[:TOP_FINDINGS]
    detail = [
        f"- {f.action.value} {f.endpoint_name}: saves {slack.usd(f.estimated_monthly_savings_usd)}/month. "
        f"{f.reasons[0] if f.reasons else ''}"
        for f in top
    ]
    text = "\n".join(lines + (["", *detail] if detail else []))
    blocks = [
        slack.header(f"SageMaker endpoint scan: {slack.usd(proposed)}/month to save"),
        slack.section("\n".join(lines)),
    ]
    if detail:
        blocks += [slack.divider(), slack.section("\n".join(detail))]
    subject = (
        f"endpoint-optimizer: {len(actionable)} finding(s), {slack.usd(proposed)}/month in {plan.region}"
    )
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks)


def summary_message(plan: Plan, results: list[ActionResult], deferred: list[str]) -> Message:
    outcomes = Counter(result.outcome for result in results)
    applied = [result for result in results if result.outcome == "applied"]
    realised = _total([result.estimated_monthly_savings_usd for result in applied])
    actionable = [finding for finding in plan.findings if finding.action != Action.NONE]
    proposed = _total([finding.estimated_monthly_savings_usd for finding in actionable])
    lines = [
        f"Run finished for {plan.region}: {len(plan.findings)} endpoints scanned, {len(actionable)} finding(s).",
        "Outcomes: "
        + (", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())) or "no actions")
        + ".",
        f"Monthly savings proposed: {slack.usd(proposed)}; applied: {slack.usd(realised)}.",
    ]
    if deferred:
        lines.append(f"Deferred to a later run (MaxActionsPerRun): {', '.join(deferred)}.")
    detail = [
        f"- {result.endpoint_name}: {result.action.value} {result.outcome}"
        + (f" ({result.detail})" if result.detail else "")
        for result in results
    ]
    text = "\n".join(lines + (["", *detail] if detail else []))
    blocks = [
        slack.header(f"Endpoint optimizer: {slack.usd(realised)}/month saved this run"),
        slack.section("\n".join(lines)),
    ]
    if detail:
        blocks += [slack.divider(), slack.section("\n".join(detail[:40]))]
    subject = (
        f"endpoint-optimizer: {len(applied)} applied, {slack.usd(realised)}/month saved in {plan.region}"
    )
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks)


def send(sns: SNSClient, topic_arn: str, webhook_url: str, message: Message) -> None:
    sns.publish(TopicArn=topic_arn, Subject=message.subject, Message=message.text)
    slack.post(webhook_url, text=message.text, blocks=message.blocks)
