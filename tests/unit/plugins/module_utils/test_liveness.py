# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of liveness (plugins/module_utils/_liveness.py): a running record with no live process reads as lost."""

from __future__ import annotations

import os

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.tests.unit.helpers import kill_and_reap, spawn


def test_liveness_without_procfs(children, adir, monkeypatch, tmp_path):
    """No procfs (BSD, macOS, a container without /proc): pids still checked, nothing called lost on a guess."""
    monkeypatch.setattr(_proc, '_PROC', str(tmp_path / 'no-procfs'))
    assert not _proc.have_procfs()
    assert _proc.process_start_time(os.getpid()) == _proc.START_TIME_UNKNOWN
    assert _proc.pid_is(os.getpid(), _proc.START_TIME_UNKNOWN)
    assert _proc.pid_is(os.getpid(), '12345')       # a reused PID cannot be told apart here
    child = spawn(children)
    assert _proc.process_start_time(child.pid) == _proc.START_TIME_UNKNOWN
    record = _record.running_record('j1.2', {'pid': child.pid, 'pid_start': _proc.START_TIME_UNKNOWN})
    _record.write_record(adir, 'j1.2', record)
    assert _liveness.read_live_record(adir, 'j1.2') == record
    kill_and_reap(child)
    assert _proc.process_start_time(child.pid) is None
    assert not _proc.pid_is(child.pid, None)
    assert _record.record_state(_liveness.read_live_record(adir, 'j1.2')) == 'lost'
    # a core job: its processes cannot be found, so it is not judged
    wrapper = spawn(children, 'wrapper', 'j4242', '60')
    assert _proc.core_job_pids('j4242.1') == []
    core = _record.running_record('j4242.1')
    assert _liveness.job_processes_alive(core, 'j4242.1')
    _record.write_record(adir, 'j4242.1', core)
    assert _liveness.read_live_record(adir, 'j4242.1') == core
    kill_and_reap(wrapper)


def test_job_processes_alive_and_pid_reuse(children, adir):
    job = spawn(children)
    supervisor = spawn(children)
    ao = {'pid': job.pid, 'pid_start': _proc.process_start_time(job.pid),
          'supervisor_pid': supervisor.pid, 'supervisor_start': _proc.process_start_time(supervisor.pid)}
    record = _record.running_record('j1.2', ao)
    assert _liveness.job_processes_alive(record, 'j1.2')
    kill_and_reap(job)
    assert _liveness.job_processes_alive(record, 'j1.2')        # the supervisor still runs
    kill_and_reap(supervisor)
    assert not _liveness.job_processes_alive(record, 'j1.2')
    # only a pid, no supervisor
    alone = spawn(children)
    record = _record.running_record('j1.2', {'pid': alone.pid, 'pid_start': _proc.process_start_time(alone.pid)})
    assert _liveness.job_processes_alive(record, 'j1.2')
    kill_and_reap(alone)
    assert not _liveness.job_processes_alive(record, 'j1.2')
    # PID reuse: the recorded pid runs, but it is another process
    reused = _record.running_record('j1.2', {'pid': os.getpid(), 'pid_start': '1'})
    assert not _liveness.job_processes_alive(reused, 'j1.2')
    _record.write_record(adir, 'j1.2', reused)
    lost = _liveness.read_live_record(adir, 'j1.2')
    assert _record.record_state(lost) == 'lost' and lost['failed'] and lost['finished']
    assert lost['asyncops']['pid'] == os.getpid()
    same = _record.running_record('j1.2', {'pid': os.getpid(), 'pid_start': _proc.process_start_time(os.getpid())})
    _record.write_record(adir, 'j1.2', same)
    assert _liveness.read_live_record(adir, 'j1.2') == same


def test_read_live_record_reread_race(adir, monkeypatch):
    """The job finishes between the first read and the process check: finished, not lost."""
    running = _record.running_record('j1.2', {'pid': 1, 'pid_start': 'not-init'})
    finished = {'started': True, 'finished': True, 'rc': 0, 'ansible_job_id': 'j1.2'}
    reads = []

    def read_record(async_dir, jid):
        reads.append((async_dir, jid))
        return running if len(reads) == 1 else finished
    monkeypatch.setattr(_record, 'read_record', read_record)
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid: False)
    assert _liveness.read_live_record(adir, 'j1.2') == finished
    assert reads == [(adir, 'j1.2')] * 2
    # still running on the second read: lost
    del reads[:]
    finished = running
    assert _record.record_state(_liveness.read_live_record(adir, 'j1.2')) == 'lost'
    assert len(reads) == 2
