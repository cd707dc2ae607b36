"""The circuit breaker, on an injected clock."""

from __future__ import annotations

import pytest

from services.analysis.breaker import CircuitBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(b: CircuitBreaker) -> State:
    """Read afresh each time (the property changes with the clock; mypy would pin its first value)."""
    return b.state


def breaker(clock: Clock, failures: int = 3, reset_s: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(failures_to_open=failures, reset_after_s=reset_s, clock=clock)


def test_a_new_breaker_is_closed_and_lets_calls_through() -> None:
    b = breaker(Clock())
    assert state(b) is State.CLOSED and b.allow()


def test_it_opens_after_consecutive_failures_only() -> None:
    clock = Clock()
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()  # the run is broken: counting starts again
    b.record_failure()
    b.record_failure()
    assert state(b) is State.CLOSED
    b.record_failure()
    assert state(b) is State.OPEN and not b.allow()


def test_after_the_reset_period_exactly_one_trial_goes_through() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    b.record_failure()
    clock.now += 29.9
    assert not b.allow()
    clock.now += 0.1
    assert state(b) is State.HALF_OPEN
    assert b.allow()
    assert not b.allow()  # a second caller waits for the trial's outcome


def test_a_successful_trial_closes_the_circuit() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    b.record_failure()
    clock.now += 30
    assert b.allow()
    b.record_success()
    assert state(b) is State.CLOSED and b.allow() and b.allow()


def test_a_failed_trial_opens_it_for_another_full_period() -> None:
    clock = Clock()
    b = breaker(clock, failures=1)
    b.record_failure()
    clock.now += 30
    assert b.allow()
    b.record_failure()
    assert state(b) is State.OPEN
    clock.now += 29
    assert not b.allow()
    clock.now += 1
    assert b.allow()


def test_a_trial_that_never_reports_does_not_wedge_the_circuit() -> None:
    clock = Clock()
    b = breaker(clock, failures=1, reset_s=10)
    b.record_failure()
    clock.now += 10
    assert b.allow()  # the trial's caller is cancelled and never reports
    clock.now += 5
    assert not b.allow()
    clock.now += 5
    assert b.allow()


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures_to_open=0, reset_after_s=1)
