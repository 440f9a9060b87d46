# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The batch runner: many supervised jobs from one launch, at most ``concurrency`` running at once.

Also what a batch launch returns in check mode (``check_mode_batch``): it starts nothing and writes nothing.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and the collection's module_utils.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _output
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor


class BatchRunner(object):
    """The supervisor of supervisors: starts one Supervisor per command, at most ``concurrency`` running.

    Every command has its own jid, record and supervisor process from the
    start; a queued one waits for SIGUSR2 from this runner. Killing a queued
    supervisor (SIGTERM or SIGUSR1) records the job killed without running it;
    SIGTERM to the runner is passed on to every supervisor.
    """

    def __init__(self, specs: t.Sequence[_supervisor.JobSpec], async_dir: str, jids: t.Sequence[str], concurrency: int,
                 notify_fd: t.Optional[int] = None, wait: bool = False) -> None:
        self.specs = list(specs)
        self.async_dir = async_dir
        self.jids = list(jids)
        self.concurrency = max(1, int(concurrency))
        self.notify_fd = notify_fd
        self.wait = wait
        self.children = {}  # type: t.Dict[int, int]
        self.queue = []  # type: t.List[int]
        self.running = set()  # type: t.Set[int]
        self.signals = []  # type: t.List[int]
        self.stopping = False

    def _on_signal(self, signum: int, frame: t.Any) -> None:
        self.signals.append(signum)

    def run(self) -> int:
        me = os.getpid()
        ready_r, ready_w = os.pipe()
        os.set_inheritable(ready_r, False)
        size = len(self.specs)
        # Handlers first: a SIGTERM that comes as soon as the launcher has returned must not be lost.
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        # children inherit these until their Supervisor installs its own handlers
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        for index, (spec, jid) in enumerate(zip(self.specs, self.jids)):
            pid = os.fork()
            if pid == 0:
                code = 70
                try:
                    signal.set_wakeup_fd(-1)
                    for inherited in (ready_r, wake_r, wake_w, self.notify_fd):
                        _output.close_fd(inherited)
                    batch = {'runner_pid': me, 'index': index, 'size': size}
                    code = _supervisor.Supervisor(spec, self.async_dir, jid, queued=True, ready_fd=ready_w,
                                                  runner_pid=me, batch=batch).run()
                finally:
                    os._exit(code)
            self.children[pid] = index
            self.queue.append(pid)
        os.close(ready_w)
        ready = set()
        handshake = _supervisor.Handshake(ready_r)
        while True:
            message = handshake.read_message()
            if message is None:
                break
            if message.get('jid') in self.jids:
                ready.add(message['jid'])
        handshake.close()
        for index, jid in enumerate(self.jids):
            if jid not in ready:  # its supervisor died before its first record: nobody else writes it
                self._write_failed(index, jid)
        self._notify({'ok': True, 'jids': self.jids, 'supervisor_pid': me})
        if not self.wait:
            _output.close_fd(self.notify_fd)
            self.notify_fd = None
        poller = select.poll()
        poller.register(wake_r, select.POLLIN)
        first = True
        while self.children:
            if not first:
                poller.poll(-1)
            first = False
            try:
                while os.read(wake_r, 512):
                    pass
            except OSError:
                pass
            taken, self.signals[:] = list(self.signals), []
            for signum in taken:
                if signum in (signal.SIGTERM, signal.SIGINT):
                    self.stopping = True
                    for pid in list(self.children):
                        try:
                            os.kill(pid, signal.SIGTERM)
                        except OSError:
                            pass
            self._reap()
            self._fill()
        self._notify({'done': True, 'jids': self.jids})
        return 0

    def _notify(self, message: t.Mapping[str, t.Any]) -> None:
        if self.notify_fd is None:
            return
        try:
            _output.write_all(self.notify_fd, (json.dumps(message) + '\n').encode('utf-8'))
        except OSError:
            pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, dummy = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            except InterruptedError:
                continue
            if pid == 0:
                break
            self.children.pop(pid, None)
            self.running.discard(pid)
            if pid in self.queue:
                self.queue.remove(pid)

    def _fill(self) -> None:
        while self.queue and len(self.running) < self.concurrency and not self.stopping:
            pid = self.queue.pop(0)
            self.running.add(pid)
            try:
                os.kill(pid, signal.SIGUSR2)
            except OSError:
                self.running.discard(pid)

    def _write_failed(self, index: int, jid: str) -> None:
        spec = self.specs[index]
        now = time.time()
        block = _record.final_block(spec.job_block(), _record.FAILED, now, reason=_record.REASON_SUPERVISOR_FAILED,
                                    started_at=now)
        result = {'cmd': spec.cmd, 'rc': None, 'stdout': '', 'stderr': '', 'stdout_lines': [], 'stderr_lines': [],
                  'changed': False, 'msg': 'the supervisor of this job died before it could start it'}
        try:
            _record.write_record(self.async_dir, jid, _record.final_record(jid, result, block))
        except _record.JobError:
            pass


def launch_batch(specs: t.Sequence[_supervisor.JobSpec], async_dir: str, concurrency: int, wait: bool = False,
                 keep_record: bool = False) -> t.Dict[str, t.Any]:
    """Start a batch: one daemon runs every spec as its own job, at most concurrency at once.

    Returns at once with ``jobs`` (name, ansible_job_id, results_file),
    ``ansible_job_ids`` and ``asyncops`` (the runner's ``supervisor_pid``,
    ``concurrency``, ``size``); with wait, once all have ended, with their results.
    """
    _async_dir.ensure_async_dir(async_dir)
    _supervisor.preload_payload()
    jids = []  # type: t.List[str]
    while len(jids) < len(specs):
        jid = _record.new_jid()
        if jid not in jids:
            jids.append(jid)

    def body(notify_fd: int) -> int:
        return BatchRunner(specs, async_dir, jids, concurrency, notify_fd=notify_fd, wait=wait).run()

    first = _supervisor.run_daemon(body, 'the batch could not be started', wait)
    jobs = []  # type: t.List[t.Dict[str, t.Any]]
    for spec, jid in zip(specs, jids):
        job = {'name': spec.name, 'ansible_job_id': jid,
               'results_file': _record.job_paths(async_dir, jid).record}  # type: t.Dict[str, t.Any]
        if wait:
            job['result'] = _supervisor.collect(async_dir, jid, keep_record)
        jobs.append(job)
    result = {'changed': True, 'started': True, 'finished': bool(wait), 'jobs': jobs, 'ansible_job_ids': list(jids),
              'asyncops': {'supervisor_pid': first.get('supervisor_pid'), 'concurrency': concurrency,
                           'size': len(specs)}}  # type: t.Dict[str, t.Any]
    if wait:
        failed = [job['name'] for job in jobs if job['result'].get('failed')]
        result['failed'] = bool(failed)
        if failed:
            result['msg'] = '%d of %d jobs failed: %s' % (len(failed), len(jobs), ', '.join(map(str, failed)))
        if not keep_record:
            for job in jobs:
                job.pop('ansible_job_id')
                job.pop('results_file')
            result.pop('ansible_job_ids')
    return result


# ---------------------------------------------------------------- check mode: what a batch launch would start

def check_mode_batch(specs: t.Sequence[_supervisor.JobSpec], concurrency: int, wait: bool = False) -> _record.Record:
    """launch_batch's result in check mode: each job with a check-mode jid (none with wait: nothing to collect)."""
    jobs = [{'name': spec.name, 'cmd': spec.cmd} for spec in specs]  # type: t.List[t.Dict[str, t.Any]]
    result = {'changed': True, 'msg': 'would start %d jobs, %d at a time' % (len(specs), concurrency), 'jobs': jobs,
              _record.BLOCK_KEY: {'state': _record.NOT_STARTED, 'check_mode': True, 'concurrency': concurrency,
                                  'size': len(specs)}}  # type: _record.Record
    if not wait:
        jids = []  # type: t.List[str]
        while len(jids) < len(specs):
            jid = _record.check_mode_jid()
            if jid not in jids:
                jids.append(jid)
        for job, jid in zip(jobs, jids):
            job['ansible_job_id'] = jid
        result.update(started=False, finished=False, ansible_job_ids=jids)
    return result
