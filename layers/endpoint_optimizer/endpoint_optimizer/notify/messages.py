"""Run summaries: plain text for SNS (email), Block Kit for Slack. Same numbers, same reason text.

Every message stays under its service's limits whatever the fleet: long lists (deferred endpoints,
endpoints left for later, targets, results) are cut to their first lines and say how many more there
are and where the whole list is (the run's S3 folder). Savings count only what was applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from endpoint_optimizer.models import (
    TOP_FINDINGS,
    Action,
    ActionResult,
    Finding,
    LeftForLater,
    PlanSummary,
    ProposedAction,
    ScanFailure,
)
from endpoint_optimizer.notify import slack
from endpoint_optimizer.notify.ledger_text import MonthSavings

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from slack_sdk.models.blocks import Block

# SNS Subject: "Constraints: Subjects must be ... less than 100 characters" (SNS Publish API reference).
MAX_SUBJECT = 99
# SNS Message: "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not
# 262,144 characters)" (SNS Publish API reference, as quoted by the AWS SDK docs; read 2026-12-01). The
# notify Lambda also returns the text to the workflow as a task result, itself limited to 262,144 bytes
# of JSON (where a newline is two bytes): the text keeps well under both.
SNS_MESSAGE_LIMIT_BYTES = 262_144
MAX_TEXT_BYTES = 100_000
# Slack (docs.slack.dev/reference/block-kit/blocks, read 2026-12-01; slack-sdk 3.48.0 validators): a
# section's text at most 3,000 characters, a header's 150, at most 50 blocks a message. Slack also
# refuses a message whose blocks hold too much text in all ("msg_blocks_too_long", reported at about
# 13,200 characters in slackapi/bolt-js#2509, 2025), and truncates a `text` over 40,000 characters
# (api.slack.com changelog 2018-04 "truncating really long messages"): we stay far below both.
SLACK_SECTION_CHARS = 3_000
SLACK_MAX_BLOCKS = slack.MAX_BLOCKS
SLACK_TOTAL_CHARS = 12_000
SLACK_TEXT_CHARS = 3_000
# Lines of each long list shown: in the email (SNS) and in Slack.
SNS_LIST_LINES = 50
SLACK_LIST_LINES = 10
# Applied changes given an Undo button in the Slack summary (the rest: `endpoint-optimizer ledger`).
SLACK_UNDO_BUTTONS = 10
RESULTS_WHERE = "the execution's output"


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    blocks: list[Block]
    slack_text: str = ""  # Slack's notification text (the headline); the blocks carry the rest


def _total(values: list[float | None]) -> float:
    return round(sum(value for value in values if value is not None), 2)


def _where(plans: list[PlanSummary]) -> str:
    """One target: its region (as the messages always said); several: how many."""
    return plans[0].region if len(plans) == 1 else f"{len(plans)} targets"


def _by_action(counts: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{action}: {count}" for action, count in sorted(counts.items()))


def _with_action(plan: PlanSummary) -> int:
    return sum(count for action, count in plan.findings_by_action.items() if action != Action.NONE.value)


def _more(count: int, where: str | None) -> str:
    return f"... and {count:,} more" + (f"; the whole list is in {where}" if where else "")


def cut(lines: Sequence[str], keep: int, *, total: int | None = None, where: str | None = None) -> list[str]:
    """The first `keep` lines, then one line saying how many more there are (of `total`) and where."""
    shown = list(lines[:keep])
    more = max(total if total is not None else 0, len(lines)) - len(shown)
    return [*shown, _more(more, where)] if more > 0 else shown


def cut_inline(names: Sequence[str], keep: int, *, total: int, where: str | None) -> str:
    """Names on one line: `a, b, c ... and 4,480 more; the whole list is in s3://...`."""
    shown = ", ".join(names[:keep])
    more = max(total, len(names)) - min(len(names), keep)
    return f"{shown} {_more(more, where)}" if more > 0 else shown


@dataclass(frozen=True)
class _Later:
    """Endpoints left for later, from the state's cut lists and their totals."""

    deferred: list[str]
    deferred_total: int
    waiting: list[str]
    waiting_total: int
    where: str | None

    @classmethod
    def of(cls, deferred: list[str], later: LeftForLater | None) -> _Later:
        later = later or LeftForLater()
        return cls(
            deferred=deferred,
            deferred_total=max(later.deferred_total, len(deferred)),
            waiting=later.waiting,
            waiting_total=max(later.waiting_total, len(later.waiting)),
            where=later.whole_list,
        )

    def deferred_line(self, keep: int) -> list[str]:
        if not self.deferred_total:
            return []
        names = cut_inline(self.deferred, keep, total=self.deferred_total, where=self.where)
        # Two reasons put an action off: the run's limits, or a move no benchmark confirmed this run (no
        # sample payload, the spend cap, more moves than jobs); each plan says which.
        return [
            f"Deferred to a later run (MaxActionsPerRun, MaxMonthlyChangeUSD, or a move awaiting its "
            f"benchmark: each plan says why): {names}."
        ]

    def waiting_lines(self, keep: int) -> list[str]:
        if not self.waiting_total:
            return []
        heading = f"Left for later ({self.waiting_total:,}): an approval is pending or was rejected recently:"
        return [
            heading,
            *cut([f"- {line}" for line in self.waiting], keep, total=self.waiting_total, where=self.where),
        ]


def _per_target(plans: list[PlanSummary], keep: int) -> list[str]:
    """One line per target when there are several."""
    if len(plans) < 2:
        return []
    lines = [
        f"- {plan.account_id} {plan.region}: {plan.endpoints} endpoints; {_by_action(plan.findings_by_action)}; "
        f"{slack.usd(plan.proposed_monthly_savings_usd)}/month proposed"
        + (" (report only)" if plan.report_only else "")
        for plan in plans
    ]
    folder = plans[0].plan_key.rsplit("/", 1)[0]
    return ["Per target:", *cut(lines, keep, where=f"the run's plans, one per target, under {folder}/")]


def _not_scanned(unscanned: list[ScanFailure], keep: int) -> list[str]:
    if not unscanned:
        return []
    lines = [
        f"- {failure.account_id} {failure.region}: {failure.error}"
        + (f": {failure.message[:300]}" if failure.message else "")
        for failure in unscanned
    ]
    return [f"Not scanned ({len(unscanned)} target(s); the run ends failed):", *cut(lines, keep)]


def _fit_text(lines: list[str]) -> str:
    """The lines, dropping from the end (with a note) if they would pass MAX_TEXT_BYTES."""
    text = "\n".join(lines)
    if len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
        return text
    note = "... (cut to stay under the message size limit; see the plans and the execution's output)"
    kept: list[str] = []
    size = len(note.encode("utf-8"))
    for line in lines:
        size += len(line.encode("utf-8")) + 1
        if size > MAX_TEXT_BYTES:
            break
        kept.append(line)
    return "\n".join([*kept, note])


def slack_blocks(
    header: str, groups: list[list[str]], detail: list[str], *, buttons: Sequence[Block] = ()
) -> list[Block]:
    """A header, each group of lines in sections of at most 3,000 characters, then a divider and the
    detail, then `buttons` (the Undo lines, kept whole: they are what a person acts on); within Slack's
    50 blocks and SLACK_TOTAL_CHARS, what does not fit ends in one note."""
    note = "... more in the email report (SNS) and in the run's plans (S3)."
    budget = SLACK_TOTAL_CHARS - len(note) - sum(len(str(block.to_dict())) for block in buttons)
    texts = [text for group in groups for text in _pack(group)]
    if detail:
        texts += ["", *_pack(detail)]  # "" stands for the divider
    blocks: list[Block] = [slack.header(header)]
    used = len(header)
    for text in texts:
        if len(blocks) >= SLACK_MAX_BLOCKS - 1 - len(buttons) or used + len(text) > budget:
            blocks.append(slack.section(note))
            break
        blocks.append(slack.section(text) if text else slack.divider())
        used += len(text)
    return [*blocks, *([slack.divider(), *buttons] if buttons else [])][:SLACK_MAX_BLOCKS]


def _pack(lines: list[str]) -> list[str]:
    """Lines joined into texts of at most SLACK_SECTION_CHARS characters, never splitting a line."""
    texts: list[str] = []
    current: list[str] = []
    length = 0
    for whole in lines:
        line = whole if len(whole) < SLACK_SECTION_CHARS else whole[: SLACK_SECTION_CHARS - 2] + " …"
        if current and length + 1 + len(line) > SLACK_SECTION_CHARS:
            texts.append("\n".join(current))
            current, length = [], 0
        length += len(line) + (1 if current else 0)
        current.append(line)
    if current:
        texts.append("\n".join(current))
    return texts


def report_message(
    plans: list[PlanSummary],
    actions: list[ProposedAction],
    deferred: list[str],
    *,
    top_findings: list[Finding],
    unscanned: list[ScanFailure] | None = None,
    later: LeftForLater | None = None,
) -> Message:
    left = _Later.of(deferred, later)
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
        + (
            f"; {left.deferred_total:,} deferred (run limits, or awaiting a benchmark)."
            if left.deferred_total
            else "."
        ),
    ]
    detail = [
        f"- {f.action.value} {f.endpoint_name}"
        + (f" ({f.account_id} {f.region})" if several else "")
        + f": saves {slack.usd(f.estimated_monthly_savings_usd)}/month. "
        + f"{f.reasons[0] if f.reasons else ''}"
        + (f" [{'; '.join(f.blocked_by)}]" if f.blocked_by else "")
        for f in top_findings[:TOP_FINDINGS]
    ]

    def lists(keep: int) -> list[list[str]]:
        return [left.waiting_lines(keep), _per_target(plans, keep) + _not_scanned(unscanned or [], keep)]

    email = lists(SNS_LIST_LINES)
    text = _fit_text(lines + email[0] + email[1] + (["", *detail] if detail else []))
    header = f"SageMaker endpoint scan: {slack.usd(proposed)}/month to save"
    blocks = slack_blocks(header, [lines, *lists(SLACK_LIST_LINES)], detail)
    subject = f"endpoint-optimizer: {with_action} finding(s), {slack.usd(proposed)}/month in {_where(plans)}"
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks, slack_text="\n".join(lines))


def summary_message(
    plans: list[PlanSummary],
    results: list[ActionResult],
    deferred: list[str],
    *,
    unscanned: list[ScanFailure] | None = None,
    later: LeftForLater | None = None,
    realised_month: MonthSavings | None = None,
) -> Message:
    """`realised_month`: what the ledger's applied changes saved this month so far (ledger_text.realised_savings),
    one line under the run's own savings."""
    left = _Later.of(deferred, later)
    outcomes = Counter(result.outcome for result in results)
    # Savings are what was applied, once: a skip ("already parked"), a refusal or a failure saves nothing.
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
    if realised_month is not None:
        lines.append(realised_month.headline() + ".")
    results_lines = [
        f"- {result.endpoint_name}: {result.action.value} {result.outcome}"
        + (f" ({result.detail})" if result.detail else "")
        for result in results
    ]

    def lists(keep: int) -> list[list[str]]:
        return [
            left.deferred_line(keep) + left.waiting_lines(keep),
            _per_target(plans, keep) + _not_scanned(unscanned or [], keep),
        ]

    email = lists(SNS_LIST_LINES)
    detail = cut(results_lines, SNS_LIST_LINES, where=RESULTS_WHERE)
    text = _fit_text(lines + email[0] + email[1] + (["", *detail] if detail else []))
    header = f"Endpoint optimizer: {slack.usd(realised)}/month saved this run"
    blocks = slack_blocks(
        header,
        [lines, *lists(SLACK_LIST_LINES)],
        cut(results_lines, SLACK_LIST_LINES, where=RESULTS_WHERE),
        buttons=slack.undo_blocks(results, SLACK_UNDO_BUTTONS),
    )
    subject = (
        f"endpoint-optimizer: {len(applied)} applied, {slack.usd(realised)}/month saved in {_where(plans)}"
    )
    return Message(subject=subject[:MAX_SUBJECT], text=text, blocks=blocks, slack_text="\n".join(lines))


def send(sns: SNSClient, topic_arn: str, poster: slack.SlackPoster, message: Message) -> None:
    sns.publish(TopicArn=topic_arn, Subject=message.subject, Message=message.text)
    poster.post(text=(message.slack_text or message.text)[:SLACK_TEXT_CHARS], blocks=message.blocks)
