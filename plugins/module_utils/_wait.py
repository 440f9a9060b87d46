# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Waiting on the target for one, all or any of several jobs (asyncops.jobs.async_status mode=wait).

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and the collection's module_utils.

Each record's ``stat`` is compared every POLL_INTERVAL and read again only when
it changed; the jobs' processes are checked every LIVENESS_INTERVAL, so a job
that dies mid-wait ends the wait as lost.
"""

from __future__ import annotations

import os
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

POLL_INTERVAL = 0.05      # how often a record's stat is compared (seconds)
LIVENESS_INTERVAL = 0.25  # how often the jobs' processes are checked
WAIT_ALL = 'all'
WAIT_ANY = 'any'


class _Watch:
    """One job being waited for: a cheap stat of its record, and cheap liveness probes."""

    def __init__(self, async_dir: str, jid: str) -> None:
        self.async_dir = async_dir
        self.jid = jid
        self.path = _record.job_paths(async_dir, jid).record
        self.sig = None  # type: t.Optional[t.Tuple[int, int, int, int]]
        self.record = {}  # type: _record.Record
        self.finished = False
        self.probes = None  # type: t.Optional[t.List[t.Tuple[int, t.Any]]]

    def _failure(self, msg: str) -> _record.JobError:
        return _record.job_error(_record.JobError(msg, self.path), self.jid)

    def refresh(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            raise self._failure('the record of job %s (%s) disappeared while waiting for it'
                                % (self.jid, self.path)) from None
        except OSError as e:
            raise self._failure('cannot stat %s: %s' % (self.path, e.strerror or e)) from None
        sig = (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)
        if sig == self.sig:
            return
        self.sig = sig
        self.record = _record.read_record(self.async_dir, self.jid)
        self.finished = _record.is_finished(self.record)
        self.probes = None  # the record may name new processes

    def _make_probes(self) -> t.List[t.Tuple[int, t.Any]]:
        block = _record.asyncops_block(self.record)
        if _record.is_supervised(self.record):
            pairs = [(block.get('supervisor_pid'), block.get('supervisor_start')),
                     (block.get('pid'), block.get('pid_start'))]
            return [(p, s) for p, s in pairs if isinstance(p, int) and not isinstance(p, bool)]
        procs = _proc.core_procs(self.jid)
        return [(p.pid, p.start) for p in ([procs.runner] if procs.runner else []) + procs.watchers]

    def check_alive(self) -> None:
        """Mark the job lost if none of its processes is alive (confirmed by _liveness.read_live_record)."""
        if self.finished:
            return
        if self.probes is None:
            self.probes = self._make_probes()
        if any(_proc.pid_is(pid, token) for pid, token in self.probes):
            return
        self.record = _liveness.read_live_record(self.async_dir, self.jid)
        self.finished = _record.is_finished(self.record)
        self.probes = None


def wait_for_jobs(located: t.Sequence[t.Tuple[str, str]], wait_timeout: float, wait_for: str = WAIT_ALL,
                  poll: float = POLL_INTERVAL) -> t.Tuple[t.Dict[str, _record.Record], float]:
    """Block until all (or any) of the jobs finished or wait_timeout passed; returns their records and the wait."""
    begin = time.monotonic()
    deadline = begin + max(wait_timeout, 0.0)
    watches = [_Watch(d, jid) for d, jid in located]
    next_liveness = begin
    while True:
        for w in watches:
            if not w.finished:
                w.refresh()
        now = time.monotonic()
        if now >= next_liveness:
            for w in watches:
                w.check_alive()
            next_liveness = now + LIVENESS_INTERVAL
        done = [w.finished for w in watches]
        if (all(done) if wait_for == WAIT_ALL else any(done)):
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(poll, left))
    return {w.jid: w.record for w in watches}, time.monotonic() - begin
