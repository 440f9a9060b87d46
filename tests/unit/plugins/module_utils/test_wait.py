# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of mode=wait (plugins/module_utils/_wait.py)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _wait
from ansible_collections.asyncops.jobs.tests.unit.helpers import linux_only, run_status, start_core, write_job


def _finish_later(adir, jid, delay, stamp):
    def write_final():
        time.sleep(delay)
        stamp.append(time.time())
        _record.write_record(adir, jid, {'rc': 0, 'ansible_job_id': jid})
    thread = threading.Thread(target=write_final)
    thread.start()
    return thread


def test_wait_sees_the_end_within_a_fraction_of_a_second(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_wait._Watch, 'check_alive', lambda self: None)
    write_job(adir, 'j1.2', {'started': True, 'finished': False})
    stamp = []
    thread = _finish_later(adir, 'j1.2', 0.5, stamp)
    result = run_status(adir, jid='j1.2', mode='wait', wait_timeout=30)
    thread.join()
    ours = result['asyncops']
    latency = ours['wait_ended_at'] - stamp[0]
    assert result['finished'] is True and ours['state'] == 'succeeded'
    assert 0.0 <= latency < 1.0, latency  # polls every 50 ms; generous for a loaded machine
    assert ours['waited'] >= 0.4 and ours['wait_started_at'] <= ours['wait_ended_at']
    # the wait's keys are ours: under asyncops, none at the top level
    assert not {'waited', 'wait_started_at', 'wait_ended_at', 'state'} & set(result)


def test_wait_runs_out(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_wait._Watch, 'check_alive', lambda self: None)
    write_job(adir, 'j1.2', {'started': True, 'finished': False})
    result = run_status(adir, jid='j1.2', mode='wait', wait_timeout=0.3)
    ours = result['asyncops']
    assert result['finished'] is False and ours['state'] == 'running' and 0.3 <= ours['waited'] < 5
    assert 'failed' not in result
    assert run_status(adir, jid='j1.2', mode='wait', wait_timeout=0)['asyncops']['waited'] < 1


def test_wait_any_and_all(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_wait._Watch, 'check_alive', lambda self: None)
    for jid in ('j1.1', 'j1.2', 'j1.3'):
        write_job(adir, jid, {'started': True, 'finished': False})
    stamp = []
    thread = _finish_later(adir, 'j1.2', 0.2, stamp)
    result = run_status(adir, jids=['j1.1', 'j1.2', 'j1.3'], mode='wait', wait_for='any', wait_timeout=30)
    thread.join()
    assert result['summary']['finished'] == 1 and result['summary']['running'] == 2
    assert result['jobs_by_jid']['j1.2']['finished'] is True and result['finished'] is False
    assert result['state'] == 'running' and result['jobs_by_jid']['j1.2']['asyncops']['state'] == 'succeeded'
    threads = [_finish_later(adir, jid, 0.1 * i, stamp) for i, jid in enumerate(('j1.1', 'j1.3'))]
    result = run_status(adir, jids=['j1.1', 'j1.2', 'j1.3'], mode='wait', wait_for='all', wait_timeout=30)
    for t_ in threads:
        t_.join()
    assert result['summary']['succeeded'] == 3 and result['finished'] is True and result['state'] == 'succeeded'
    assert result['asyncops']['wait_ended_at'] - max(stamp) < 1.0 and 'wait_ended_at' not in result
    assert set(result['asyncops']) == {'waited', 'wait_started_at', 'wait_ended_at'}


@linux_only
def test_wait_ends_as_lost_when_the_job_dies(adir, procs):
    jid = start_core(adir, procs)
    core = _proc.core_procs(jid)

    def murder():
        time.sleep(0.3)
        for p in core.watchers:
            os.kill(p.pid, signal.SIGKILL)
        os.killpg(core.runner.pid, signal.SIGKILL)
    thread = threading.Thread(target=murder)
    thread.start()
    result = run_status(adir, jid=jid, mode='wait', wait_timeout=30)
    thread.join()
    assert (result['asyncops']['state'], result['finished'], result['failed']) == ('lost', True, True)
    assert result['asyncops']['waited'] < 10


@linux_only
def test_wait_for_a_real_core_job(adir, procs):
    jid = start_core(adir, procs, kind='quick')
    result = run_status(adir, jid=jid, mode='wait', wait_timeout=30)
    assert result['asyncops']['state'] == 'succeeded' and result['rc'] == 0 and result['asyncops']['elapsed'] == 0.5


def test_wait_fails_when_the_record_disappears(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_wait._Watch, 'check_alive', lambda self: None)
    path = write_job(adir, 'j1.2', {'started': True, 'finished': False})
    threading.Timer(0.2, os.unlink, (path,)).start()
    with pytest.raises(_record.JobError, match='disappeared while waiting'):
        run_status(adir, jid='j1.2', mode='wait', wait_timeout=10)
