"""A circuit breaker per provider: closed, open (skip at once), half-open (one trial call). No I/O."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after `failures_to_open` consecutive failures; after `reset_after_s` lets one trial call through.

    The trial's success closes the circuit, its failure re-opens it for another period. A trial that never
    reports (its caller was cancelled) stops blocking after `reset_after_s`, so the circuit cannot wedge.
    """

    def __init__(self, *, failures_to_open: int, reset_after_s: float, clock: Callable[[], float] = time.monotonic):
        if failures_to_open < 1 or reset_after_s < 0:
            raise ValueError("failures_to_open must be >= 1 and reset_after_s >= 0")
        self._failures_to_open = failures_to_open
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started: float | None = None

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._clock() - self._opened_at >= self._reset_after_s:
            return State.HALF_OPEN
        return State.OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open, exactly one trial call at a time."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.OPEN:
            return False
        now = self._clock()
        if self._trial_started is not None and now - self._trial_started < self._reset_after_s:
            return False
        self._trial_started = now
        return True

    def record_success(self) -> None:
        self._failures, self._opened_at, self._trial_started = 0, None, None

    def record_failure(self) -> None:
        self._trial_started = None
        if self._opened_at is not None:
            self._opened_at = self._clock()  # the trial failed: stay open for another period
            return
        self._failures += 1
        if self._failures >= self._failures_to_open:
            self._opened_at = self._clock()
