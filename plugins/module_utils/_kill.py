# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kill protocol of asyncops.jobs.async_status mode=kill.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and the collection's module_utils.

This collection's jobs: SIGUSR1 to the supervisor ("killed from outside", it
records the state killed), SIGTERM to the job's process group, one grace for
every job, SIGKILL to what is left, then the supervisor's final record. Core's
jobs: the watchers are frozen (SIGSTOP) so none writes "Timeout exceeded" over
the result, the module's group and its strays are killed, the killed record is
written, and the watchers are let go. Every signal is verified against PID reuse and
goes only to processes of the user the task runs as (_proc.signal_verified, signal_group).
"""

from __future__ import annotations

import os
import signal
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

POLL_INTERVAL = 0.05      # how often the groups are looked at while they are given time to go
FINAL_RECORD_WAIT = 10.0  # how long to wait for a supervisor's final record
SIGKILL_WAIT = 5.0        # how long a group may take to vanish after SIGKILL
KILLED_BY = 'asyncops.jobs.async_status'
RECORDED_BY_SUPERVISOR = 'supervisor'
RECORDED_BY_JOB = 'job'


class KillOutcome(t.NamedTuple):
    """What mode=kill did to one job: its record afterwards, whether it changed anything, and how."""
    async_dir: str
    jid: str
    record: _record.Record
    changed: bool
    msg: str
    kill: t.Dict[str, t.Any]  # signal, kill_grace, supervisor_notified, recorded_by, ...


class _KillPlan:
    """Killing one job: who to signal, verified against PID reuse, and what happened."""

    def __init__(self, async_dir: str, jid: str, record: _record.Record) -> None:
        self.async_dir = async_dir
        self.jid = jid
        self.record = record
        self.supervised = _record.is_supervised(record)
        self.pgid = None  # type: t.Optional[int]
        self.leader = None  # type: t.Optional[t.Tuple[int, t.Any]]
        self.supervisor = None  # type: t.Optional[t.Tuple[int, t.Any]]
        self.supervisor_notified = False
        self.queued = False
        self.strays = []  # type: t.List[_proc.Proc]
        self.stopped_watchers = []  # type: t.List[_proc.Proc]
        self.core = None  # type: t.Optional[_proc.CoreProcs]
        self.signal = None  # type: t.Optional[str]
        self.notes = []  # type: t.List[str]
        self.recorded_by = None  # type: t.Optional[str]
        self.started_at = None  # type: t.Optional[float]
        self.term_sent_at = None  # type: t.Optional[float]
        self.kill_sent_at = None  # type: t.Optional[float]

    # -- phase 1
    def prepare(self) -> None:
        if self.supervised:
            self._prepare_supervised()
        else:
            self._prepare_core()

    def _prepare_supervised(self) -> None:
        block = _record.asyncops_block(self.record)
        started_at = block.get('started_at')
        self.started_at = started_at if isinstance(started_at, (int, float)) and not isinstance(started_at, bool) \
            else None
        sup, sup_start = block.get('supervisor_pid'), block.get('supervisor_start')
        if isinstance(sup, int) and _proc.pid_is(sup, sup_start):
            self.supervisor = (sup, sup_start)
        self.queued = bool(block.get('queued'))
        pid, pid_start = block.get('pid'), block.get('pid_start')
        pgid = block.get('pgid') if isinstance(block.get('pgid'), int) else pid
        if not isinstance(pgid, int) or isinstance(pgid, bool) or pgid <= 1:
            self.notes.append('the record names no process group to signal')
            return
        if isinstance(pid, int) and _proc.pid_is(pid, pid_start):
            try:
                actual = os.getpgid(pid)  # type: t.Optional[int]
            except ProcessLookupError:
                actual = None
            if actual == pgid:
                self.pgid = pgid
                self.leader = (pid, pid_start)
            else:
                self.notes.append('process %d left the job\'s process group %d; not signalled' % (pid, pgid))
            return
        # the leader is gone or its PID now belongs to another process
        if pgid == pid and _proc.process_start_time(pgid) is not None:
            self.notes.append('PID %d now belongs to another process (reused); not signalled' % pgid)
            return
        if _proc.group_alive(pgid):
            self.pgid = pgid  # the leader has exited; what is left of its group is the job's
        else:
            self.notes.append('no process of the job was left to signal')

    def _prepare_core(self) -> None:
        deadline = time.monotonic() + 1.0
        while True:
            core = _proc.core_procs(self.jid)
            # right after the start the watcher may not have made the runner a group leader yet
            if core.runner is not None or not core.watchers or time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        self.core = core
        self.started_at = core.started_at
        # freeze the watchers first so none can write "Timeout exceeded" over the killed record
        for w in core.watchers:
            if _proc.signal_verified(w.pid, w.start, signal.SIGSTOP):
                self.stopped_watchers.append(w)
        if core.runner is not None:
            self.pgid = core.runner.pid
            self.leader = (core.runner.pid, core.runner.start)
            strays = _proc.descendants_outside_group(core.runner.pid, core.runner.pid)
            self.strays = [p for p in strays if _proc.owned_by_me(p.pid) is not False]
            for p in strays:
                if p not in self.strays:
                    self.notes.append('process %d, started by the job, belongs to another user; not signalled' % p.pid)
        else:
            self.notes.append('the module process of the job was already gone')

    # -- phases 2 and 3
    def term(self) -> None:
        if self.supervisor is not None and (self.queued or (self.pgid is not None and self._group_still_ours())):
            # "killed from outside", told only now that the kill goes ahead: the supervisor records the state
            # killed on this signal alone, so a plan that stops before signalling must not have sent it
            self.supervisor_notified = _proc.signal_verified(self.supervisor[0], self.supervisor[1], signal.SIGUSR1)
        if self.pgid is not None and self._group_still_ours():
            if _proc.signal_group(self.pgid, signal.SIGTERM, self._leader_start()):
                self.signal = 'SIGTERM'
                self.term_sent_at = time.time()
        if self._signal_strays(signal.SIGTERM) and self.signal is None:
            self.signal = 'SIGTERM'
            self.term_sent_at = time.time()

    def gone(self) -> bool:
        group_gone = self.pgid is None or not _proc.group_alive(self.pgid)
        return group_gone and not any(_proc.pid_is(p.pid, p.start) for p in self.strays)

    def kill(self) -> None:
        if self.gone():
            return
        if self.pgid is not None and self._group_still_ours():
            if _proc.signal_group(self.pgid, signal.SIGKILL, self._leader_start()):
                self.signal = 'SIGKILL'
                self.kill_sent_at = time.time()
        if self._signal_strays(signal.SIGKILL):
            self.signal = 'SIGKILL'
            self.kill_sent_at = self.kill_sent_at or time.time()

    def _signal_strays(self, sig: int) -> bool:
        """Signal the job's processes outside its group (each checked against PID reuse)."""
        sent = False
        for p in self.strays:
            sent = _proc.signal_verified(p.pid, p.start, sig) or sent
        return sent

    def _leader_start(self) -> t.Any:
        return self.leader[1] if self.leader is not None else None

    def _group_still_ours(self) -> bool:
        if self.pgid is None:
            return False
        if self.leader is None:
            return True
        pid, token = self.leader
        current = _proc.process_start_time(pid)
        # the leader may have exited (its group lives on), but a new process with its PID is not the job
        return current is None or token is None or str(token) == current

    # -- phase 4
    def final_record_ready(self) -> bool:
        """For a supervised job: the supervisor wrote its final record, or it is gone."""
        try:
            record = _record.read_record(self.async_dir, self.jid)
        except _record.JobError:
            return True
        if _record.is_finished(record):
            self.record = record
            self.recorded_by = RECORDED_BY_SUPERVISOR
            return True
        return self.supervisor is None or not _proc.pid_is(*self.supervisor)

    def message(self, grace: float) -> str:
        if self.signal == 'SIGKILL':
            how = 'SIGTERM to process group %s, then SIGKILL after the %gs grace' % (self.pgid, grace)
        elif self.signal == 'SIGTERM':
            how = 'SIGTERM to process group %s' % self.pgid
        else:
            how = 'no process left to signal'
        return 'killed by %s (%s)' % (KILLED_BY, how)

    def finalize(self, grace: float, now: float) -> None:
        """Write the killed record where no other writer is alive; release or end the core watchers."""
        current = _record.read_record(self.async_dir, self.jid)
        if _record.is_finished(current):
            self.record = current
            if self.recorded_by is None:
                self.recorded_by = RECORDED_BY_SUPERVISOR if self.supervised else RECORDED_BY_JOB
        elif self.supervised and self.supervisor is not None and _proc.pid_is(*self.supervisor):
            self.record = current
            self.notes.append('the supervisor (pid %d) has not recorded the end yet; a later status will show it'
                              % self.supervisor[0])
        else:
            self.record = self.killed_record(current, grace, now)
            _record.write_record(self.async_dir, self.jid, self.record)
            self.recorded_by = KILLED_BY
        self._release_watchers(now)

    def killed_record(self, current: _record.Record, grace: float, now: float) -> _record.Record:
        """The final record the killer writes: the record it read, killed, in core's shape for a core job."""
        msg = self.message(grace)
        block = _record.final_block(
            _record.asyncops_block(current), _record.KILLED, now, signal=self.signal, reason=_record.REASON_KILLED,
            started_at=self.started_at, killed_by=KILLED_BY,
            time_limit=None if self.supervised or self.core is None else self.core.time_limit,
            pid=None if self.supervised or self.leader is None else self.leader[0])
        result = _record.job_result(current)
        result['msg'] = msg
        # a core job's record without 'started': a final result for the built-in async_status too
        return _record.final_record(self.jid, result, block, core_shape=not self.supervised)

    def _release_watchers(self, now: float) -> None:
        limit = self.core.time_limit if self.core is not None else None
        for w in self.stopped_watchers:
            began = _proc.start_epoch(w)
            # a watcher continued well before its time limit sees its module gone, removes its temp
            # dir and exits without writing; one near the limit might be about to write "Timeout exceeded"
            safe = bool(limit) and began is not None and limit is not None and now < began + limit - 6.0
            _proc.signal_verified(w.pid, w.start, signal.SIGCONT if safe else signal.SIGKILL)

    def abort(self) -> None:
        """Undo the freeze of core watchers (the kill was not carried out)."""
        for w in self.stopped_watchers:
            _proc.signal_verified(w.pid, w.start, signal.SIGCONT)


def _wait_until_gone(plans: t.Sequence[_KillPlan], seconds: float) -> None:
    deadline = time.monotonic() + max(seconds, 0.0)
    while not all(p.gone() for p in plans) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)


def kill_jobs(located: t.Sequence[t.Tuple[str, str]], kill_grace: float,
              check_mode: bool = False) -> t.List[KillOutcome]:
    """Kill jobs together: SIGUSR1 to supervisors, SIGTERM to every group, one grace, SIGKILL to what is left.

    Returns one outcome per (async_dir, jid) of located, in that order.
    """
    outcomes = {}  # type: t.Dict[str, KillOutcome]
    plans = []  # type: t.List[_KillPlan]
    untouched = {'signal': None, 'kill_grace': kill_grace, 'supervisor_notified': False, 'recorded_by': None}
    for d, jid in located:
        record = _liveness.read_live_record(d, jid)
        if _record.is_finished(record):
            outcomes[jid] = KillOutcome(d, jid, record, False, 'job %s already finished (state %s): nothing to kill'
                                        % (jid, _record.record_state(record)), dict(untouched))
        elif check_mode:
            outcomes[jid] = KillOutcome(d, jid, record, True, 'job %s is running: it would be killed (check mode)'
                                        % jid, dict(untouched))
        else:
            plans.append(_KillPlan(d, jid, record))
    try:
        for plan in plans:
            plan.prepare()
        for plan in plans:
            plan.term()
        _wait_until_gone(plans, kill_grace)
        for plan in plans:
            plan.kill()
        _wait_until_gone(plans, SIGKILL_WAIT)
        deadline = time.monotonic() + FINAL_RECORD_WAIT
        pending = [p for p in plans if p.supervised]
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not p.final_record_ready()]
            if pending:
                time.sleep(POLL_INTERVAL)
        for plan in plans:
            plan.finalize(kill_grace, time.time())
    except BaseException:
        for plan in plans:
            plan.abort()
        raise
    for plan in plans:
        msg = plan.message(kill_grace)
        if plan.notes:
            msg += '; ' + '; '.join(plan.notes)
        outcomes[plan.jid] = KillOutcome(
            plan.async_dir, plan.jid, plan.record, True, msg,
            {'signal': plan.signal, 'kill_grace': kill_grace, 'supervisor_notified': plan.supervisor_notified,
             'recorded_by': plan.recorded_by, 'pgid': plan.pgid,
             'term_sent_at': plan.term_sent_at, 'kill_sent_at': plan.kill_sent_at})
    return [outcomes[jid] for _d, jid in located]
