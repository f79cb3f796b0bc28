"""AWS and storage plumbing: clients, settings, the state table, artifacts, handler events."""
