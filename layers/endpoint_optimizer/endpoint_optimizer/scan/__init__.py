"""Read AWS into a snapshot: inventory, metrics, the incremental scan state."""
