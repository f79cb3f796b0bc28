"""Tell people: Slack cards and messages, SNS summaries, the HTML report."""
