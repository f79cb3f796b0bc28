"""What one scan shares between its worker threads: the count of its API calls, the endpoint configs it
has described, and its time budget."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from endpoint_optimizer.scan.state import ConfigInfo

# Describes stop at 75 % of the budget: the metric batches get the rest, so a partial snapshot still
# carries signal for every endpoint it describes.
DESCRIBE_SHARE = 0.75


class CallCounter:
    """API calls made by this scan, by operation (thread-safe): the scan's own cost report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, operation: str) -> None:
        with self._lock:
            self.counts[operation] = self.counts.get(operation, 0) + 1


class TimeBudget:
    """Seconds the scan may spend from its start on `clock` (None: no limit). Past it no new work starts."""

    def __init__(self, seconds: float | None, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._started = clock()

    def spent(self) -> bool:
        return self._seconds is not None and self._clock() - self._started > self._seconds

    def describe_share_spent(self) -> bool:
        return self._seconds is not None and self._clock() - self._started > DESCRIBE_SHARE * self._seconds


class Configs:
    """Endpoint configs, described at most once per scan and remembered across scans (immutable)."""

    def __init__(self, known: dict[str, ConfigInfo], describe: Callable[[str], ConfigInfo]) -> None:
        self._known = dict(known)
        self._describe = describe
        self._lock = threading.Lock()
        self._pending: dict[str, Future[ConfigInfo]] = {}

    def get(self, name: str) -> ConfigInfo:
        with self._lock:
            if name in self._known:
                return self._known[name]
            future = self._pending.get(name)
            owner = future is None
            if future is None:
                future = Future()
                self._pending[name] = future
        if owner:
            try:
                info = self._describe(name)
            except BaseException as error:
                future.set_exception(error)
                with self._lock:
                    self._pending.pop(name, None)
                raise
            with self._lock:
                self._known[name] = info
            future.set_result(info)
        return future.result()

    def remembered(self, in_use: set[str]) -> dict[str, ConfigInfo]:
        """Configs still referenced by an endpoint (described or cached); the rest are forgotten."""
        with self._lock:
            return {name: info for name, info in self._known.items() if name in in_use}
