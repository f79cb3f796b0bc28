"""The one context-manager protocol of the harness's background services (start on enter, stop on exit)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """Subclasses implement start() and stop(); `with Service() as s:` runs it for the block."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
