"""A circuit breaker per provider: closed, open (skip at once), half-open (one trial call)."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, *, failures_to_open: int, reset_after_s: float, clock: Callable[[], float] = time.monotonic):
        self._failures_to_open = failures_to_open
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._clock() - self._opened_at >= self._reset_after_s:
            return State.HALF_OPEN
        return State.OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open, exactly one trial call does."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures, self._opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        self._trial_running = False
        if self._opened_at is not None:
            self._opened_at = self._clock()  # the trial failed: stay open for another period
            return
        self._failures += 1
        if self._failures >= self._failures_to_open:
            self._opened_at = self._clock()
