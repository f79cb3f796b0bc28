"""Slack messages as a person reads them in the channel (issue 11: the demo prints them readably).

Block Kit in, plain lines out: a header, a card's change and money, its traffic chart, its benchmark
headline and its buttons; a summary's text lines and buttons. Long explanations a card carries (why, risk,
way back, who may approve) are left to the JSON: the demo prints what a reader takes in at a glance.
Generic over the blocks, so a card that gains or loses a block still renders.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["readable"]

# The fields of an approval card a reader takes in first (their labels, as the card bolds them).
CARD_FIELDS = ("Target", "Saves per month", "Costs per month now", "Expected downtime")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")  # <url|label>
_BARE = re.compile(r"<([@#!]?)([^<>|]+)>")  # <@U123>, <url>
_NO_TRAFFIC = re.compile(r"in 0 of \d+ hours")


def plain(text: str) -> str:
    """mrkdwn as it reads: links by their label, mentions as @user, no bold or code marks."""
    text = _LINK.sub(r"\2", text)
    text = _BARE.sub(lambda m: ("@" if m[1] == "@" else "") + m[2], text)
    return text.replace("*", "").replace("`", "")


def _lines(text: str) -> list[str]:
    """A section's text, one line each, code fences dropped (their rows kept as they are)."""
    return [plain(line) for line in text.split("\n") if line.strip() != "```" and line.strip()]


def _field(field: dict[str, Any]) -> tuple[str, str]:
    label, _, value = str(field.get("text", "")).partition("\n")
    return plain(label).strip(), " ".join(_lines(value))


def _button(element: dict[str, Any]) -> str:
    return f"[{plain(str(element.get('text', {}).get('text', '')))}]"


def _card_section(block: dict[str, Any]) -> list[str]:
    """An approval card's section: the change and money fields; the traffic chart (its rows only when
    there was traffic: an idle endpoint's are all `·`); the benchmark's headline."""
    if block.get("fields"):
        shown = [f"{label}: {value}" for label, value in map(_field, block["fields"]) if label in CARD_FIELDS]
        return [" · ".join(shown)] if shown else []
    text = str(block.get("text", {}).get("text", ""))
    if text.startswith("*Traffic"):
        lines = _lines(text)
        if _NO_TRAFFIC.search(lines[0]):
            return [f"{lines[0]} (every hour ·)"] + [line for line in lines[1:] if not _is_chart_row(line)]
        return lines
    if text.startswith("*Benchmark*"):
        return _lines(text)[1:2]
    return []


def _is_chart_row(line: str) -> bool:
    """A row of the traffic chart: the hours' header or `Mon 11-16 ···`."""
    return line.lstrip().startswith("00 ") or bool(re.match(r"^\w{3} \d\d-\d\d", line))


def readable(body: Any) -> list[str]:
    """A posted message (webhook body or response_url body) as the lines Slack shows."""
    if not isinstance(body, dict):
        return _lines(str(body))
    blocks: list[dict[str, Any]] = body.get("blocks") or []
    if not blocks:
        return _lines(str(body.get("text", "")))
    card = any(
        b.get("type") == "header" and str(b["text"].get("text", "")).startswith("Approve:") for b in blocks
    )
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"▌ {plain(str(block['text'].get('text', '')))}")
        elif kind == "section":
            shown = (
                _card_section(block)
                if card
                else [
                    *_lines(str(block.get("text", {}).get("text", ""))),
                    *(f"{label}: {value}" for label, value in map(_field, block.get("fields") or [])),
                ]
            )
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button" and shown:
                shown[-1] = f"{shown[-1]}  {_button(accessory)}"
            lines += shown
        elif kind == "context" and not card:
            lines += [line for e in block.get("elements", []) for line in _lines(str(e.get("text", "")))]
        elif kind == "actions":
            lines.append(" ".join(_button(e) for e in block.get("elements", []) if e.get("type") == "button"))
    return lines
