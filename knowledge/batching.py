"""Concurrent callers of one list-in, list-out function served by shared calls.

The encoder costs nearly as much for one short text as for several: a graph run has a fixed cost worth
about 15 tokens of text. So a caller puts its items in the queue;
whichever caller finds the function free runs it once over everything waiting (up to `max_items`) and
hands each caller its own rows. Under load the queue fills while the function runs, so batches form by
themselves and nobody waits for a timer; alone, a caller runs its own items at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Request(Generic[Item]):
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.rows: Any = None
        self.error: BaseException | None = None
        self.done = False


class Batcher(Generic[Item, Result]):
    """`batcher(items)` returns `function(items)`; concurrent calls share calls of `function`.

    `function` must return one row per item in order (a list or an array); each caller gets a slice of it.
    """

    def __init__(self, function: Callable[[list[Item]], Result], max_items: int = 128) -> None:
        self.function = function
        self.max_items = max_items
        self._pending: list[_Request[Item]] = []
        self._busy = False
        self._cond = threading.Condition()

    def __call__(self, items: Sequence[Item]) -> Result:
        request = _Request(list(items))
        with self._cond:
            self._pending.append(request)
            while not request.done and self._busy:
                self._cond.wait()
            if request.done:
                return self._result(request)
            self._busy = True
            self._pending.remove(request)  # its own items first, then whoever else is waiting
            batch, size = [request], len(request.items)
            while self._pending and size + len(self._pending[0].items) <= self.max_items:
                batch.append(self._pending.pop(0))
                size += len(batch[-1].items)
        failure: BaseException | None = None
        rows: Any = None
        try:
            rows = self.function([item for r in batch for item in r.items])
        except BaseException as error:  # every caller of the batch learns of it
            failure = error
        with self._cond:
            start = 0
            for r in batch:
                if failure is None:
                    r.rows = rows[start:start + len(r.items)]
                    start += len(r.items)
                r.error, r.done = failure, True
            self._busy = False
            self._cond.notify_all()
        return self._result(request)

    def pending(self) -> int:
        """Callers waiting for the function now (for tests and metrics)."""
        with self._cond:
            return len(self._pending)

    @staticmethod
    def _result(request: _Request[Item]) -> Any:
        if request.error is not None:
            raise request.error
        return request.rows


class AsyncBatcher(Generic[Item, Result]):
    """`await batcher(items)` from an event loop returns `function(items)`: a worker thread runs `function`
    over everything waiting (up to `max_items`) and settles each caller's future with its own rows. With
    `workers` threads, a batch forms while another runs (the encoder's lanes).

    A turn on the event loop then waits for the encoder without a thread of its own: no hop to a pool
    thread and back, and no pool threads contending for the GIL while they wait.
    """

    def __init__(self, function: Callable[[list[Item]], Result], max_items: int = 128, name: str = "batcher",
                 workers: int = 1) -> None:
        self.function = function
        self.max_items = max_items
        self.name = name
        self.workers = workers
        self._pending: deque[tuple[list[Item], asyncio.Future[Any], asyncio.AbstractEventLoop]] = deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    async def __call__(self, items: Sequence[Item]) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._cond:
            self._pending.append((list(items), future, loop))
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < self.workers:
                self._threads.append(threading.Thread(target=self._serve, daemon=True,
                                                      name=f"{self.name}-{len(self._threads) + 1}"))
                self._threads[-1].start()
            self._cond.notify()
        result: Result = await future
        return result

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = [self._pending.popleft()]
                size = len(batch[0][0])
                while self._pending and size + len(self._pending[0][0]) <= self.max_items:
                    batch.append(self._pending.popleft())
                    size += len(batch[-1][0])
            failure: BaseException | None = None
            rows: Any = None
            try:
                rows = self.function([item for items, _, _ in batch for item in items])
            except Exception as error:  # every caller of the batch learns of it
                failure = error
            start = 0
            for items, future, loop in batch:
                part = None if failure is not None else rows[start:start + len(items)]
                start += len(items)
                try:
                    loop.call_soon_threadsafe(_settle, future, part, failure)
                except RuntimeError:  # the caller's loop has closed: nobody is waiting any more
                    pass


def _settle(future: asyncio.Future[Any], rows: Any, failure: BaseException | None) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if failure is not None:
        future.set_exception(failure)
    else:
        future.set_result(rows)
