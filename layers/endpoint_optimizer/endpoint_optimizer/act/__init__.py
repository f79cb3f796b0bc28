"""Change things: approvals, and one module per applied action."""
