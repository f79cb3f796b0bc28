"""A Slack that records what the app posts (a SlackPoster, like notify.slack.WebhookPoster), and can be
made to fail the way the real one does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import Block


@dataclass(frozen=True)
class Posted:
    text: str
    blocks: list[dict[str, Any]]  # as Slack receives them (Block Kit JSON)
    response_url: str | None = None  # set when a clicked card was replaced


@dataclass
class RecordingSlack:
    posts: list[Posted] = field(default_factory=list)
    replaced: list[Posted] = field(default_factory=list)
    failure: Exception | None = None  # raised by every post and replace, e.g. SlackPostFailed or OSError

    def post(self, text: str, blocks: list[Block]) -> None:
        if self.failure is not None:
            raise self.failure
        self.posts.append(Posted(text, [block.to_dict() for block in blocks]))

    def replace(self, response_url: str, text: str, blocks: list[Block]) -> None:
        if self.failure is not None:
            raise self.failure
        self.replaced.append(Posted(text, [block.to_dict() for block in blocks], response_url))

    def buttons(self) -> list[str]:
        """The approval ids carried by the buttons of every posted card."""
        return [
            element["value"]
            for posted in self.posts
            for block in posted.blocks
            if block["type"] == "actions"
            for element in block["elements"]
        ]
