"""The approval card, updated in place after the decision and again with the apply outcome (issue 11)."""

from __future__ import annotations

import json

from emulated_aws.rungs import sporadic_async
from emulated_aws.server import EmulatedAws
from emulated_aws.slack import SlackReceiver
from emulated_aws.stack import Stack
from tests.e2e.conftest import APPROVER, Fleet
from tests.e2e.test_apply_every_rung import approve


def test_an_approved_card_is_replaced_with_the_verdict_and_then_with_the_apply_outcome(
    aws: EmulatedAws, stack: Stack, slack: SlackReceiver, fleet: Fleet
) -> None:
    """GIVEN an idle async endpoint the run proposes to scale to zero
    WHEN the approver clicks Approve on its card and the apply workflow applies it
    THEN the card's response_url received, in order, the verdict ("Approved by ...") and then the outcome
    ("Applied: ..." with the saving and the way back), each replacing the card in place.
    """
    name = sporadic_async(fleet)

    approved = approve(aws, stack, slack, name, "card-outcome")

    assert approved.result["outcome"] == "applied", approved.result
    card_url = slack.response_url(approved.card.approval_id)
    path = card_url.removeprefix(slack.base_url)
    replaced = [m["body"] for m in slack.messages if m["path"] == path]
    assert [body.get("replace_original") for body in replaced] == [True, True], replaced
    verdict, outcome = (json.dumps(body["blocks"]) for body in replaced)
    assert f"Approved by <@{APPROVER}>: applying scale_to_zero." in verdict
    assert f"Applied: scale_to_zero {name}. Saves $" in outcome
    assert f"endpoint-optimizer undo {approved.result['action_id']}" in outcome
    assert replaced[1]["text"].startswith(f"Applied: scale_to_zero {name}.")
