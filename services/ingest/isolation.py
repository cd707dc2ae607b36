"""Running a function in a throwaway child process with a time limit and an address-space cap."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar, cast

T = TypeVar("T")

# A fork server forks each child from a small, clean process: no copy of the caller's memory, threads or
# sockets, and the parsers imported once in the server rather than in every child.
_CONTEXT = multiprocessing.get_context("forkserver")
_JOIN_SECONDS = 5.0


class IsolationFailure(Exception):
    """The child produced no result."""


class IsolationTimeout(IsolationFailure):
    """The child ran past its time limit and was killed."""


class IsolationOutOfMemory(IsolationFailure):
    """The child ran out of its address space."""


class IsolationCrash(IsolationFailure):
    """The child died without answering (a signal or an exit), described in `detail`."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def preload(modules: Sequence[str]) -> None:
    """Modules the fork server imports once; only effective before the first child starts."""
    _CONTEXT.set_forkserver_preload(list(modules))


def run_isolated(
    function: Callable[..., T],
    *args: Any,
    max_seconds: float,
    max_memory_bytes: int,
    on_report: Callable[[Any], None] | None = None,
    max_extra_seconds: float = 0.0,
) -> T:
    """`function(*args)` in a child; its exceptions re-raised here, failures of the child as IsolationFailure.

    With `on_report`, the function is called with `report=`, a callable (payload, extra_seconds) that hands the
    payload to `on_report` here and extends the time limit by extra_seconds, up to `max_extra_seconds` in all."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    reports = on_report is not None
    limits = (max_seconds + max_extra_seconds, max_memory_bytes)
    child = _CONTEXT.Process(target=_child, args=(sender, function, args, limits, reports), daemon=True)
    try:
        child.start()
    except BaseException:
        receiver.close()
        raise
    finally:
        sender.close()  # our copy: the pipe reports EOF when the child dies
    try:
        deadline = time.monotonic() + max_seconds
        extra_left = max_extra_seconds
        while True:
            ready = wait([receiver, child.sentinel], timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise IsolationTimeout(f"no result within {max_seconds:g} s")
            try:
                message: tuple[str, Any] = receiver.recv() if receiver.poll() else ("died", None)
            except EOFError:
                message = ("died", None)
            if message[0] != "report":
                break
            payload, extra = message[1], message[2]  # type: ignore[misc]  # a report carries three items
            granted = min(max(0.0, float(extra)), extra_left)  # the child asks; our own limit decides
            extra_left -= granted
            deadline += granted
            if on_report is not None:
                on_report(payload)
    finally:
        if child.is_alive():
            child.kill()
        child.join(_JOIN_SECONDS)
        receiver.close()
    status, value = message
    if status == "ok":
        return cast(T, value)
    if status == "error" and isinstance(value, BaseException):
        raise value
    if status == "memory":
        raise IsolationOutOfMemory("the child ran out of memory")
    raise IsolationCrash(_describe_exit(child.exitcode))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exited with status {code}"


def _child(
    sender: Connection,
    function: Callable[..., object],
    args: tuple[object, ...],
    limits: tuple[float, int],
    reports: bool,
) -> None:
    """Cap the address space, CPU time (a backstop if the parent dies) and core dumps, then run."""
    seconds, memory = limits
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_CPU, math.ceil(seconds) + 5)
    _limit(resource.RLIMIT_CORE, 0)

    def report(payload: object, extra_seconds: float) -> None:
        sender.send(("report", payload, extra_seconds))

    try:
        result = function(*args, report=report) if reports else function(*args)
        message: tuple[str, object] = ("ok", result)
    except MemoryError:
        message = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        message = ("error", exc)
    try:
        sender.send(message)
    except MemoryError:
        sender.send(("memory", None))
    except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception still gets an answer
        sender.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


def _limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))
