"""Cancel the running task when something outside it happens (a timeout, a client that went
away) and tell afterwards whether that was the reason.

``asyncio.wait_for`` and a ``wait`` on two tasks do the same with two or three extra tasks per
request; on a server answering thousands of one-sentence requests a second, those tasks were
a measurable share of the event loop's time. Here the request's own task is cancelled.
"""

from __future__ import annotations

import asyncio


class CancelTrigger:
    """Created inside the task it cancels; ``fire`` cancels it once."""

    def __init__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("CancelTrigger needs a running task")
        self._task = task
        self.fired = False

    def fire(self) -> None:
        if not self.fired:
            self.fired = True
            self._task.cancel()

    def caused(self, error: asyncio.CancelledError) -> bool:
        """Whether ``error`` comes from ``fire``; if so the cancellation is taken back (the
        caller turns it into its own error), so outer scopes do not see it as theirs."""
        if not self.fired:
            return False
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        if uncancel is not None:
            uncancel()
        return True
