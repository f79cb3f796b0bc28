"""Run summaries: plain text for SNS (email), Block Kit for Slack. Same numbers, same reason text."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from endpoint_optimizer import slack
from endpoint_optimizer.models import (
    TOP_FINDINGS,
    Action,
    ActionResult,
    Finding,
    PlanSummary,
    ProposedAction,
    ScanFailure,
)

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from slack_sdk.models.blocks import Block

# SNS Subject: "Constraints: Subjects must be ... less than 100 characters" (SNS Publish API reference).
MAX_SUBJECT = 99


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    blocks: list[Block]


def _total(values: list[float | None]) -> float:
    return round(sum(value for value in values if value is not None), 2)


def _where(plans: list[PlanSummary]) -> str:
    """One target: its region (as the messages always said); several: how many."""
    return plans[0].region if len(plans) == 1 else f"{len(plans)} targets"


def _by_action(counts: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{action}: {count}" for action, count in sorted(counts.items()))


def _with_action(plan: PlanSummary) -> int:
    return sum(count for action, count in plan.findings_by_action.items() if action != Action.NONE.value)


def _per_target(plans: list[PlanSummary]) -> list[str]:
    """One line per target when there are several."""
    if len(plans) < 2:
        return []
    return ["Per target:"] + [
        f"- {plan.account_id} {plan.region}: {plan.endpoints} endpoints; {_by_action(plan.findings_by_action)}; "
        f"{slack.usd(plan.proposed_monthly_savings_usd)}/month proposed"
        + (" (report only)" if plan.report_only else "")
        for plan in plans
    ]


def _not_scanned(unscanned: list[ScanFailure]) -> list[str]:
    if not unscanned:
        return []
    return [f"Not scanned ({len(unscanned)} target(s); the run ends failed):"] + [
        f"- {failure.account_id} {failure.region}: {failure.error}"
        + (f": {failure.message}" if failure.message else "")
        for failure in unscanned
    ]


def report_message(
    plans: list[PlanSummary],
    actions: list[ProposedAction],
    deferred: list[str],
    *,
    top_findings: list[Finding],
    unscanned: list[ScanFailure] | None = None,
) -> Message:
    counts: Counter[str] = Counter()
    for plan in plans:
        counts.update(plan.findings_by_action)
    with_action = sum(_with_action(plan) for plan in plans)
    proposed = _total([plan.proposed_monthly_savings_usd for plan in plans])
    unknown = sum(plan.unknown_savings for plan in plans)
    several = len(plans) > 1
    over = f" over {plans[0].lookback_days} days" if plans else ""
    lines = [
        f"Scanned {sum(plan.endpoints for plan in plans)} endpoints in {_where(plans)}{over}.",
        f"Findings by action: {_by_action(counts)}.",
        f"Monthly savings proposed: {slack.usd(proposed)}"
        + (f" (+{unknown} with unknown price)" if unknown else "")
        + ".",
        f"Asking for approval of {len(actions)} action(s) this run"
        + (f"; {len(deferred)} deferred by MaxActionsPerRun." if deferred else "."),
    ]
    targets = _per_target(plans) + _not_scanned(unscanned or [])
    detail = [
        f"- {f.action.value} {f.endpoint_name}"
        + (f" ({f.account_id} {f.region})" if several else "")
        + f": saves {slack.usd(f.estimated_monthly_savings_usd)}/month. "
        + f"{f.reasons[0] if f.reasons else ''}"
        + (f" [{'; '.join(f.blocked_by)}]" if f.blocked_by else "")
        for f in top_findings[:TOP_FINDINGS]
    ]
    text = "\n".join(lines + targets + (["", *detail] if detail else []))
    blocks = [
        slack.header(f"SageMaker endpoint scan: {slack.usd(proposed)}/month to save"),
        slack.section("\n".join(lines)),
    ]
    if targets:
        blocks.append(slack.section("\n".join(targets)))
    if detail:
        blocks += [slack.divider(), slack.section("\n".join(detail))]
    subject = f"endpoint-optimizer: {with_action} finding(s), {slack.usd(proposed)}/month in {_where(plans)}"
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks)


def summary_message(
    plans: list[PlanSummary],
    results: list[ActionResult],
    deferred: list[str],
    *,
    unscanned: list[ScanFailure] | None = None,
) -> Message:
    outcomes = Counter(result.outcome for result in results)
    applied = [result for result in results if result.outcome == "applied"]
    realised = _total([result.estimated_monthly_savings_usd for result in applied])
    proposed = _total([plan.proposed_monthly_savings_usd for plan in plans])
    lines = [
        f"Run finished for {_where(plans)}: {sum(plan.endpoints for plan in plans)} endpoints scanned, "
        f"{sum(_with_action(plan) for plan in plans)} finding(s).",
        "Outcomes: "
        + (", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())) or "no actions")
        + ".",
        f"Monthly savings proposed: {slack.usd(proposed)}; applied: {slack.usd(realised)}.",
    ]
    if deferred:
        lines.append(f"Deferred to a later run (MaxActionsPerRun): {', '.join(deferred)}.")
    targets = _per_target(plans) + _not_scanned(unscanned or [])
    detail = [
        f"- {result.endpoint_name}: {result.action.value} {result.outcome}"
        + (f" ({result.detail})" if result.detail else "")
        for result in results
    ]
    text = "\n".join(lines + targets + (["", *detail] if detail else []))
    blocks = [
        slack.header(f"Endpoint optimizer: {slack.usd(realised)}/month saved this run"),
        slack.section("\n".join(lines)),
    ]
    if targets:
        blocks.append(slack.section("\n".join(targets)))
    if detail:
        blocks += [slack.divider(), slack.section("\n".join(detail[:40]))]
    subject = (
        f"endpoint-optimizer: {len(applied)} applied, {slack.usd(realised)}/month saved in {_where(plans)}"
    )
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks)


def send(sns: SNSClient, topic_arn: str, webhook_url: str, message: Message) -> None:
    sns.publish(TopicArn=topic_arn, Subject=message.subject, Message=message.text)
    slack.post(webhook_url, text=message.text, blocks=message.blocks)
