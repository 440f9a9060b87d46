# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of pruning (plugins/module_utils/_prune.py): prune_reason decides, prune_jobs removes."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _prune
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.tests.unit.helpers import populate_async_dir, run_status, write_job


def test_prune(adir, monkeypatch):
    now = time.time()
    populate_async_dir(adir, now)
    with pytest.raises(_record.JobError, match='invalid max_age'):
        run_status(adir, mode='prune', max_age='soon')
    before = sorted(os.listdir(adir))
    checked = run_status(adir, mode='prune', max_age='1d', check_mode=True)
    assert sorted(os.listdir(adir)) == before
    result = run_status(adir, mode='prune', max_age='1d')
    for r in (checked, result):
        assert sorted(r['removed']) == ['j1.1', 'j1.3']
        assert sorted(os.path.basename(p) for p in r['removed_files']) == [
            '.j1.4.abc123.tmp', 'j1.1', 'j1.1.out', 'j1.3', 'j1.6.err']
        assert r['changed'] is True
    # young jobs and garbage, damaged records and foreign files stay
    assert sorted(os.listdir(adir)) == ['README', 'j1.2', 'j1.5.tmp', 'j1.7']
    assert run_status(adir, mode='prune', max_age=0)['removed'] == ['j1.2']
    assert run_status(adir, mode='prune', max_age=0)['changed'] is False


def test_prune_never_removes_a_running_job(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid, core_prefixes=None: True)
    monkeypatch.setattr(_proc, 'core_wrapper_prefixes', lambda: None)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], None, None))
    write_job(adir, 'j1.2', {'started': True, 'finished': False}, mtime=time.time() - 30 * 86400)
    result = run_status(adir, mode='prune', max_age=0)
    assert result['removed'] == [] and result['kept_running'] == 1 and os.listdir(adir) == ['j1.2']


@pytest.mark.parametrize('state, age, max_age, removed', [
    ('succeeded', 100.0, 60.0, True),
    ('failed', 60.0, 60.0, True),       # exactly max_age old
    ('timeout', 100.0, 60.0, True),
    ('killed', 100.0, 60.0, True),
    ('lost', 100.0, 60.0, True),
    ('succeeded', 59.9, 60.0, False),   # too young
    ('running', 10 ** 9, 0.0, False),   # never, however old
    ('bogus', 100.0, 60.0, False),
    ('succeeded', None, 60.0, False),
])
def test_prune_reason_for_jobs(state, age, max_age, removed):
    reason = _prune.prune_reason(age, max_age, state=state)
    assert (reason is not None) is removed
    if removed:
        assert reason.startswith('%s job' % state)


@pytest.mark.parametrize('name, age, max_age, reason', [
    ('j1.2.tmp', 4000.0, 0.0, 'temp file'),                        # core's jwrite temp
    ('.j1.2.abc_123.tmp', 4000.0, 0.0, 'temp file'),               # atomic_write's
    ('.j1.2.progress.abc.tmp', 4000.0, 0.0, 'temp file'),
    ('j1.2.out', 4000.0, 0.0, 'sidecar without a record'),
    ('j1.2.progress', 4000.0, 0.0, 'sidecar without a record'),
    ('j1.2.tmp', 3599.0, 0.0, None),                                # younger than the safety age
    ('j1.2.tmp', 5000.0, 6000.0, None),                             # younger than max_age
    ('j1.2.tmp', 7000.0, 6000.0, 'temp file'),
    ('j1.2', 10 ** 6, 0.0, None),                                   # an unreadable record: left for a human
    ('README', 10 ** 6, 0.0, None),
    ('.notes.abc.tmp', 10 ** 6, 0.0, None),
])
def test_prune_reason_for_stray_files(name, age, max_age, reason):
    got = _prune.prune_reason(age, max_age, name=name)
    if reason is None:
        assert got is None
    else:
        assert got.startswith(reason + ', last written')


def test_prune_jobs_without_ansible(adir):
    """What the janitor role's script needs: dirs in, a report out."""
    now = time.time()
    populate_async_dir(adir, now)
    result = _prune.prune_jobs([adir], '2hours', now, check_mode=False)
    assert result['max_age'] == 7200.0
    assert sorted(result['removed']) == ['j1.1', 'j1.3'] and result['kept_running'] == 0
    assert sorted(os.listdir(adir)) == ['README', 'j1.2', 'j1.5.tmp', 'j1.7']
    # a damaged record is never removed, and is reported (the janitor's script exits 1 on it)
    assert [os.path.basename(u['path']) for u in result['kept_unreadable']] == ['j1.7']
    assert 'not a job record' in result['kept_unreadable'][0]['reason']
    with pytest.raises(_record.JobError, match="invalid max_age '2 fortnights'"):
        _prune.prune_jobs([adir], '2 fortnights', now, check_mode=False)
    scanned, garbage = _prune.scan([adir], now)
    assert [job.entry.jid for job in scanned] == ['j1.2']
    assert 55 <= scanned[0].age < 120
    assert [os.path.basename(g['path']) for g in garbage] == ['j1.5.tmp', 'j1.7']
