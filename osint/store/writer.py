"""Batched writes for the enrichment engine: one transaction per batch, off the event loop.

An observation's id is handed back only once its transaction has committed, so a source never
parses an answer that is not yet safely stored. A crash loses at most the batch in flight: those
questions have no stored answer and are simply asked again by the next run.

A batch the database refuses is written again row by row, so one row it cannot take (a value no
cleaning foresaw) fails only its own question, never the run. A lost connection is retried with
backoff by the store (EvidenceStore._retrying); if it does not come back, every waiting question gets
StoreUnreachable and the run stops, resumable.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import logging

import sqlalchemy as sa

from .evidence import EvidenceStore, StoreUnreachable
from .observation import NewObservation

log = logging.getLogger("osint.store")


class RowRefused(Exception):
    """The database refused this one row even on its own."""

MAX_BATCH = 500
_STOP = object()


class BatchWriter:
    def __init__(self, store: EvidenceStore, loop: asyncio.AbstractEventLoop):
        self.store = store
        self.loop = loop
        self._queue: queue.Queue = queue.Queue()
        self._dead: StoreUnreachable | None = None
        self._thread = threading.Thread(target=self._work, name="osint-store-writer", daemon=True)
        self._thread.start()

    async def observation(self, observation: NewObservation) -> int:
        future = self.loop.create_future()
        self._queue.put(("obs", observation, future))
        return await future

    def parse(self, observation_id: int, parser: str, parsed: dict[str, Any]) -> None:
        self._queue.put(("parse", (observation_id, parser, parsed), None))

    async def close(self) -> None:
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[str, Any, Any]]) -> None:
        if self._dead is not None:  # the store is gone: do not wait RETRY_S again for every batch
            self._fail_all(batch, self._dead)
            return
        try:
            done = self.store._retrying(lambda: self._write_together(batch), convert=False)
        except StoreUnreachable as exc:
            self._dead = exc
            self._fail_all(batch, exc)
            return
        except sa.exc.DBAPIError as exc:
            log.warning("a batch of %d rows was refused (%s); writing them one by one", len(batch),
                        self.store._why(exc))
            done = []
            for item in batch:
                try:
                    done += self.store._retrying(lambda: self._write_together([item]), convert=False)
                except StoreUnreachable as exc2:
                    self._dead = exc2
                    self._fail_all([item], exc2)
                except sa.exc.DBAPIError as exc2:
                    why = self.store._why(exc2)
                    log.warning("the store refused one row (%s): %s", item[0], why)
                    if item[2] is not None:
                        self.loop.call_soon_threadsafe(_fail, item[2], RowRefused(why))
        except Exception as exc:  # noqa: BLE001 - handed to every waiting question, never swallowed
            self._fail_all(batch, exc)
            return
        for future, oid in done:
            self.loop.call_soon_threadsafe(_resolve, future, oid)

    def _write_together(self, batch: list[tuple[str, Any, Any]]) -> list[tuple[Any, int]]:
        done: list[tuple[Any, int]] = []
        with self.store.engine.begin() as conn:
            for kind, payload, future in batch:
                if kind == "obs":
                    done.append((future, self.store.insert_observation(conn, payload)))
                else:
                    self.store.insert_parse(conn, *payload)
        return done

    def _fail_all(self, batch: list[tuple[str, Any, Any]], exc: BaseException) -> None:
        for _, _, future in batch:
            if future is not None:
                self.loop.call_soon_threadsafe(_fail, future, exc)


def _resolve(future: asyncio.Future, value: int) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
