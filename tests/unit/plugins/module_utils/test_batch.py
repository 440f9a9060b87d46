# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the batch runner (plugins/module_utils/_batch.py): real daemons, real jobs."""

from __future__ import annotations

import os
import signal

from ansible_collections.asyncops.jobs.plugins.module_utils import _batch
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor as S
from ansible_collections.asyncops.jobs.tests.unit.helpers import open_gate, wait_gone


def test_batch_runs_at_most_concurrency_at_once(async_dir):
    specs = [S.JobSpec(argv=['sh', '-c', 'sleep 0.3; echo %d' % i], name='n%d' % i) for i in range(5)]
    result = _batch.launch_batch(specs, async_dir, concurrency=2, wait=True, keep_record=True)
    assert not result['failed'] and result['finished']
    assert [j['name'] for j in result['jobs']] == ['n0', 'n1', 'n2', 'n3', 'n4']
    assert [j['result']['stdout'] for j in result['jobs']] == ['0', '1', '2', '3', '4']
    spans = [(j['result']['asyncops']['started_at'], j['result']['asyncops']['ended_at']) for j in result['jobs']]
    for start, dummy in spans:
        assert sum(1 for s, e in spans if s <= start < e) <= 2
    assert [j['result']['asyncops']['batch']['index'] for j in result['jobs']] == list(range(5))
    assert len(set(j['result']['asyncops']['supervisor_pid'] for j in result['jobs'])) == 5


def test_batch_queued_jobs_are_recorded_and_killable(async_dir, fifo, tmp_path):
    specs = [S.JobSpec(argv=['sh', '-c', 'read x < "%s"; echo $x' % fifo], name='first'),
             S.JobSpec(argv=['touch', str(tmp_path / 'second')], name='second'),
             S.JobSpec(argv=['touch', str(tmp_path / 'third')], name='third', creates=fifo)]
    launched = _batch.launch_batch(specs, async_dir, concurrency=1)
    assert launched['started'] and not launched['finished']
    jids = launched['ansible_job_ids']
    records = [_record.read_record(async_dir, jid) for jid in jids]
    assert all(not _record.is_finished(r) for r in records)
    assert [r['asyncops']['queued'] for r in records[1:]] == [True, True]
    second = records[1]['asyncops']
    assert second['pid'] is None and second['pgid'] is None
    assert _liveness.job_processes_alive(records[1], jids[1])
    os.kill(second['supervisor_pid'], signal.SIGTERM)
    wait_gone(second['supervisor_pid'])
    killed = _record.read_record(async_dir, jids[1])
    assert killed['asyncops']['state'] == 'killed' and killed['asyncops']['never_started']
    open_gate(fifo, b'go\n')
    wait_gone(launched['asyncops']['supervisor_pid'])
    done = [_record.read_record(async_dir, jid) for jid in jids]
    assert done[0]['stdout'] == 'go'
    assert done[2]['asyncops']['reason'] == 'skipped' and done[2]['rc'] == 0
    assert not (tmp_path / 'second').exists() and not (tmp_path / 'third').exists()


def test_batch_runner_sigterm_stops_every_job(async_dir):
    specs = [S.JobSpec(argv=['sleep', '30'], kill_grace=0.2) for dummy in range(3)]
    launched = _batch.launch_batch(specs, async_dir, concurrency=2)
    os.kill(launched['asyncops']['supervisor_pid'], signal.SIGTERM)
    wait_gone(launched['asyncops']['supervisor_pid'])
    states = [_record.read_record(async_dir, jid)['asyncops'] for jid in launched['ansible_job_ids']]
    assert [s['state'] for s in states] == ['killed', 'killed', 'killed']
    assert states[2].get('never_started')


# ---------------------------------------------------------------- check mode

def test_check_mode_batch_gives_each_job_its_own_jid(monkeypatch):
    given = iter(['j0.1', 'j0.1', 'j0.2', 'j0.3'])
    monkeypatch.setattr(_record, 'check_mode_jid', lambda: next(given))
    specs = [S.JobSpec(argv=['true'], cmd=['true'], name=name) for name in ('a', 'b', 'c')]
    result = _batch.check_mode_batch(specs, 2)
    assert result['ansible_job_ids'] == ['j0.1', 'j0.2', 'j0.3']
    assert [(j['name'], j['ansible_job_id']) for j in result['jobs']] == [('a', 'j0.1'), ('b', 'j0.2'), ('c', 'j0.3')]
    assert result['started'] is False and result['finished'] is False and result['msg'] == 'would start 3 jobs, 2 at a time'
    waited = _batch.check_mode_batch(specs, 2, wait=True)
    assert 'ansible_job_ids' not in waited and 'started' not in waited
    assert all('ansible_job_id' not in j for j in waited['jobs'])
