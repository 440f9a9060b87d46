# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the read side of asyncops.jobs.async_status (plugins/module_utils/_status.py).

Jobs are records written here, plus real processes where liveness matters (see
tests/unit/helpers.py: a fake built-in wrapper and a fake supervisor of this collection).
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status
from ansible_collections.asyncops.jobs.tests.unit.helpers import (
    linux_only, populate_async_dir, run_status, start_core, start_supervised, wait_for, write_job)


def test_tail_lines(tmp_path):
    path = tmp_path / 'out'
    path.write_bytes(b''.join(b'line %d\n' % i for i in range(5000)))
    assert _status.tail_lines(str(path), 3) == ['line 4997', 'line 4998', 'line 4999']
    assert _status.tail_lines(str(path), 0) == []
    path.write_bytes(b'a\nb\nno newline')
    assert _status.tail_lines(str(path), 2) == ['b', 'no newline']
    assert _status.tail_lines(str(path), 10) == ['a', 'b', 'no newline']
    path.write_bytes(b'')
    assert _status.tail_lines(str(path), 5) == []
    path.write_bytes(b'\xff\xfe bad utf-8\r\n')
    assert _status.tail_lines(str(path), 5) == ['\ufffd\ufffd bad utf-8']
    assert _status.tail_lines(str(tmp_path / 'missing'), 5) is None


def test_tail_lines_reads_a_bounded_amount(tmp_path):
    path = tmp_path / 'out'
    path.write_bytes(b'x' * (3 << 20) + b'\nlast\n')  # one huge line
    lines = _status.tail_lines(str(path), 2, max_bytes=1 << 16)
    assert lines == ['last']


# ---------------------------------------------------------------- where jobs are

def test_context_searches_home_and_passwd_home_and_task_env(tmp_path, monkeypatch):
    monkeypatch.setattr(_async_dir, '_passwd_home', lambda: str(tmp_path / 'pw'))
    monkeypatch.setenv('HOME', str(tmp_path / 'env'))
    ctx = _status.Context({'ANSIBLE_ASYNC_DIR': '~/.ansible_async'}, False)
    assert ctx.dirs == [str(tmp_path / 'env' / '.ansible_async'), str(tmp_path / 'pw' / '.ansible_async')]
    ctx = _status.Context({}, False)  # no ANSIBLE_ASYNC_DIR: core's default
    assert ctx.dirs == [str(tmp_path / 'env' / '.ansible_async'), str(tmp_path / 'pw' / '.ansible_async')]
    monkeypatch.setenv('HOME', str(tmp_path / 'pw'))
    # the task's own environment entry, which the action plugin passes on under another name, comes after
    ctx = _status.Context({'ANSIBLE_ASYNC_DIR': '~/.ansible_async', 'ASYNCOPS_TASK_ASYNC_DIR': str(tmp_path / 'x')})
    assert ctx.dirs == [str(tmp_path / 'pw' / '.ansible_async'), str(tmp_path / 'x')]
    ctx = _status.Context({'ANSIBLE_ASYNC_DIR': str(tmp_path / 'x'), 'ASYNCOPS_TASK_ASYNC_DIR': str(tmp_path / 'x')})
    assert ctx.dirs == [str(tmp_path / 'x')]


def test_job_written_under_overridden_home_is_found(tmp_path, monkeypatch):
    """The built-in wrapper expands ~ with $HOME, the built-in status with the passwd entry."""
    monkeypatch.setattr(_async_dir, '_passwd_home', lambda: str(tmp_path / 'pw'))
    env_dir, pw_dir = tmp_path / 'env' / '.ansible_async', tmp_path / 'pw' / '.ansible_async'
    env_dir.mkdir(parents=True)
    pw_dir.mkdir(parents=True)
    write_job(str(env_dir), 'j1.2', {'rc': 0, 'ansible_job_id': 'j1.2'})
    write_job(str(pw_dir), 'j3.4', {'rc': 0, 'ansible_job_id': 'j3.4'})
    monkeypatch.setenv('HOME', str(tmp_path / 'env'))
    for jid, where in (('j1.2', env_dir), ('j3.4', pw_dir)):
        result = _status.run({'jid': jid}, environ={'ANSIBLE_ASYNC_DIR': '~/.ansible_async'})
        assert result['asyncops']['state'] == 'succeeded' and result['results_file'] == str(where / jid)
    # with HOME the passwd home, the record written under the other HOME is out of reach (as for the built-in)
    monkeypatch.setenv('HOME', str(tmp_path / 'pw'))
    with pytest.raises(_record.JobError, match='could not find job'):
        _status.run({'jid': 'j1.2'}, environ={'ANSIBLE_ASYNC_DIR': '~/.ansible_async'})


def test_unknown_job_fails_like_the_builtin(adir):
    with pytest.raises(_record.JobError) as e:
        run_status(adir, jid='j1.2')
    assert e.value.msg == 'could not find job'
    assert e.value.result['started'] is True and e.value.result['finished'] is True
    assert e.value.result['ansible_job_id'] == 'j1.2'
    assert e.value.result['results_file'] == os.path.join(adir, 'j1.2') and 'erased' not in e.value.result
    assert e.value.result['asyncops'] == {'searched': {'dirs': [adir], 'user': _record.user_name(os.geteuid())}}
    assert 'searched' not in e.value.result
    # cleanup names the record as erased, as the built-in's cleanup does
    with pytest.raises(_record.JobError) as e:
        run_status(adir, jid='j1.2', mode='cleanup')
    assert e.value.msg == 'could not find job'
    assert e.value.result['erased'] == os.path.join(adir, 'j1.2') and 'results_file' not in e.value.result


@pytest.mark.parametrize('mode', ['status', 'cleanup', 'wait', 'kill'])
def test_missing_async_dir_is_exactly_could_not_find_job(tmp_path, mode):
    missing = str(tmp_path / 'nope')
    with pytest.raises(_record.JobError) as e:
        run_status(missing, jid='j1.2', mode=mode)
    assert e.value.msg == 'could not find job'
    assert e.value.result['asyncops']['searched'] == {'dirs': [missing], 'user': _record.user_name(os.geteuid())}
    assert (e.value.result['started'], e.value.result['finished'], e.value.result['ansible_job_id']) == (
        True, True, 'j1.2')


BAD_JIDS = ['../canary', '../../canary', 'j1.2/../../canary', '/etc/passwd', '..', '.', '', ' j1.2', 'j1.2 ',
            'j1.2\n', 'j1.2\x00', 'j1..2', 'j1.2.3', 'x1.2', '１.２', 123, None, ['j1.2']]


@pytest.mark.parametrize('jid', BAD_JIDS)
@pytest.mark.parametrize('mode', ['status', 'cleanup', 'wait', 'kill'])
def test_bad_jid_refused_before_a_path_is_built(tmp_path, adir, jid, mode):
    canary = tmp_path / 'canary'
    canary.write_text('keep me')
    for params in ({'jid': jid}, {'jids': ['j1.2', jid]}):
        with pytest.raises(_record.JobError, match='invalid job id'):
            run_status(adir, mode=mode, **params)
    assert canary.read_text() == 'keep me'


def test_symlink_and_directory_records_are_refused(tmp_path, adir):
    target = tmp_path / 'elsewhere'
    target.write_text(json.dumps({'rc': 0}))
    os.symlink(str(target), os.path.join(adir, 'j1.2'))
    os.mkdir(os.path.join(adir, 'j3.4'))
    with pytest.raises(_record.JobError, match='not a regular file'):
        run_status(adir, jid='j1.2', mode='cleanup')
    with pytest.raises(_record.JobError, match='is a directory'):
        run_status(adir, jid='j3.4')
    assert target.exists()


@pytest.mark.parametrize('content, match', [
    ('not json', 'not a job record: not valid JSON'),
    ('[1, 2]', 'JSON list, not an object'),
    ('', 'is empty'),
])
def test_corrupt_record_fails_naming_the_file(adir, content, match):
    path = write_job(adir, 'j1.2', content)
    with pytest.raises(_record.JobError, match=match) as e:
        run_status(adir, jid='j1.2')
    assert path in e.value.msg


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads every file')
def test_record_of_another_user_is_a_clear_error(adir):  # pragma: no cover - runs as non-root only
    path = write_job(adir, 'j1.2', {'rc': 0})
    os.chmod(path, 0)
    with pytest.raises(_record.JobError, match='cannot read'):
        run_status(adir, jid='j1.2')


# ---------------------------------------------------------------- status

def test_core_finished_records(adir):
    write_job(adir, 'j1.2', {'rc': 0, 'changed': True, 'stdout': 'hi', 'delta': '0:00:02.500000', 'ansible_job_id': 'j1.2'})
    write_job(adir, 'j3.4', {'rc': 2, 'failed': True, 'msg': 'non-zero return code', 'ansible_job_id': 'j3.4'})
    write_job(adir, 'j5.6', {'msg': 'Timeout exceeded', 'failed': True, 'child_pid': 4242})
    ok = run_status(adir, jid='j1.2')
    ours = ok.pop('asyncops')
    # the record, plus exactly the keys the built-in adds
    assert ok == {'rc': 0, 'changed': True, 'stdout': 'hi', 'delta': '0:00:02.500000', 'ansible_job_id': 'j1.2',
                  'started': True, 'finished': True, 'results_file': os.path.join(adir, 'j1.2')}
    assert (ours['state'], ours['elapsed']) == ('succeeded', 2.5)
    failed = run_status(adir, jid='j3.4')
    assert failed['asyncops']['state'] == 'failed' and failed['failed'] is True and failed['finished'] is True
    assert failed['asyncops']['elapsed'] is None  # a finished built-in job without delta: not known
    timeout = run_status(adir, jid='j5.6')
    assert timeout['asyncops']['state'] == 'timeout' and timeout['failed'] is True
    assert timeout['ansible_job_id'] == 'j5.6' and timeout['child_pid'] == 4242
    relaxed = run_status(adir, jid='j3.4', fail_on_job_failure=False)
    assert relaxed['failed'] is False and relaxed['asyncops']['job_failed'] is True
    assert 'job_failed' not in run_status(adir, jid='j1.2', fail_on_job_failure=False)['asyncops']


@linux_only
def test_core_running_job(adir, procs):
    before = time.time()
    jid = start_core(adir, procs, limit=60)
    result = run_status(adir, jid=jid)
    ours = result['asyncops']
    assert (ours['state'], result['started'], result['finished']) == ('running', True, False)
    assert ours['time_limit'] == 60.0
    # started_at comes from the job's own processes: within this test's window
    assert 0.0 <= ours['elapsed'] <= time.time() - before + 1.0
    assert 55.0 <= ours['time_left'] <= 60.0
    assert ours['progress'] is None and 'stdout_tail' not in ours
    assert set(result) == {'started', 'finished', 'ansible_job_id', 'results_file', 'asyncops'}


@linux_only
def test_core_job_killed_from_outside_is_lost(adir, procs):
    jid = start_core(adir, procs)
    core = _proc.core_procs(jid)
    for p in core.watchers:
        os.kill(p.pid, signal.SIGKILL)
    os.killpg(core.runner.pid, signal.SIGKILL)
    wait_for(lambda: not _proc.group_alive(core.runner.pid), 'the group of the job to go', 10)
    deadline = time.time() + 10
    while _proc.core_job_pids(jid) and time.time() < deadline:
        time.sleep(0.05)
    result = run_status(adir, jid=jid)
    assert (result['asyncops']['state'], result['finished'], result['failed']) == ('lost', True, True)
    assert 'no process of it is alive' in result['msg']
    # the record on disk is unchanged: lost is what a reader concludes
    assert _record.read_record(adir, jid)['finished'] is False


def test_core_running_record_without_processes_is_lost(adir):
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2'})
    result = run_status(adir, jid='j1.2')
    assert (result['asyncops']['state'], result['finished'], result['failed']) == ('lost', True, True)
    assert 'no process of it is alive' in result['msg'] and 'state' not in result


def test_folded_progress_in_a_core_record(adir, monkeypatch):
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid, core_prefixes=None: True)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], 100.0, time.time() - 10))
    # as _progress folds it into core's running record: under asyncops, core's keys untouched
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2',
                             'asyncops': {'progress': {'current': 50, 'total': 200, 'unit': 'MB',
                                                       'message': 'copying', 'updated_at': time.time()}}})
    result = run_status(adir, jid='j1.2')
    ours = result['asyncops']
    assert ours['state'] == 'running' and 'state' not in result and 'progress' not in result
    p = ours['progress']
    assert (p['percent'], p['unit'], p['message']) == (25.0, 'MB', 'copying')
    assert 4.0 <= p['rate'] <= 6.0 and 25.0 <= p['eta'] <= 35.0
    assert ours['time_limit'] == 100.0 and 85.0 <= ours['time_left'] <= 91.0


def test_supervised_running_view(adir, monkeypatch):
    now = time.time()
    monkeypatch.setattr(_proc, 'pid_is', lambda pid, start: True)
    base = os.path.join(adir, 'j1.2')
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {
        'state': 'running', 'pid': 100, 'pgid': 100, 'supervisor_pid': 99, 'started_at': now - 20,
        'time_limit': 50, 'progress_file': base + '.progress', 'stdout_file': base + '.out',
        'stderr_file': base + '.err'}})
    with open(base + '.progress', 'w') as f:
        json.dump({'percent': 40, 'message': 'step 2', 'updated_at': now}, f)
    with open(base + '.out', 'w') as f:
        f.write(''.join('out %d\n' % i for i in range(20)))
    with open(base + '.err', 'w') as f:
        f.write('warning\n')
    result = run_status(adir, jid='j1.2', tail=3)
    ours = result['asyncops']
    assert ours['state'] == 'running' and result['finished'] is False
    assert 19.0 <= ours['elapsed'] <= 25.0 and ours['time_limit'] == 50
    assert 25.0 <= ours['time_left'] <= 31.0
    assert ours['progress']['percent'] == 40.0 and ours['progress']['eta'] == 30.0
    assert ours['stdout_tail'] == ['out 17', 'out 18', 'out 19'] and ours['stderr_tail'] == ['warning']
    assert (ours['pid'], ours['pgid'], ours['supervisor_pid']) == (100, 100, 99)  # the record's block, merged
    assert set(result) == {'started', 'finished', 'ansible_job_id', 'results_file', 'asyncops'}
    assert 'stdout_tail' not in run_status(adir, jid='j1.2', tail=0)['asyncops']


def test_sidecar_paths_in_a_record_are_ignored(adir, tmp_path, monkeypatch):
    """Sidecars are the jid's (job_paths): a record naming other files never makes us read them."""
    monkeypatch.setattr(_proc, 'pid_is', lambda pid, start: True)
    secret = tmp_path / 'secret'
    secret.write_text('root only\n')
    fake_progress = tmp_path / 'progress'
    fake_progress.write_text(json.dumps({'percent': 99, 'message': 'not the job'}))
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {
        'state': 'running', 'pid': 100, 'supervisor_pid': 99, 'started_at': time.time() - 5,
        'progress_file': str(fake_progress), 'stdout_file': str(secret), 'stderr_file': str(secret)}})
    ours = run_status(adir, jid='j1.2')['asyncops']
    assert 'stdout_tail' not in ours and 'stderr_tail' not in ours and ours['progress'] is None
    # the jid's own sidecars are read
    with open(os.path.join(adir, 'j1.2.out'), 'w') as f:
        f.write('mine\n')
    assert run_status(adir, jid='j1.2')['asyncops']['stdout_tail'] == ['mine']


def test_sidecars_that_are_links_or_not_ours_are_not_read(adir, tmp_path, monkeypatch):
    monkeypatch.setattr(_proc, 'pid_is', lambda pid, start: True)
    secret = tmp_path / 'secret'
    secret.write_text('root only\n')
    secret_progress = tmp_path / 'secret_progress'
    secret_progress.write_text(json.dumps({'percent': 99}))
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {
        'state': 'running', 'pid': 100, 'supervisor_pid': 99, 'started_at': time.time() - 5}})
    base = os.path.join(adir, 'j1.2')
    os.symlink(str(secret), base + '.out')
    linked = tmp_path / 'linked'
    linked.write_text('also root only\n')
    os.link(str(linked), base + '.err')  # a second name: not a file of a job
    os.symlink(str(secret_progress), base + '.progress')
    ours = run_status(adir, jid='j1.2')['asyncops']
    assert 'stdout_tail' not in ours and 'stderr_tail' not in ours and ours['progress'] is None
    assert _status.tail_lines(base + '.out', 5) is None and _status.tail_lines(str(secret), 5) == ['root only']


def test_supervised_final_states(adir):
    for jid, state, failed in (('j1.1', 'succeeded', False), ('j1.2', 'failed', True), ('j1.3', 'timeout', True),
                               ('j1.4', 'killed', True)):
        write_job(adir, jid, {'started': True, 'finished': True, 'ansible_job_id': jid, 'failed': failed, 'rc': 0,
                              'asyncops': {'state': state, 'pid': 1, 'started_at': 100.0, 'ended_at': 112.5}})
        result = run_status(adir, jid=jid, fail_on_job_failure=True)
        ours = result['asyncops']
        assert ours['state'] == state and ours['elapsed'] == 12.5 and result['finished'] is True
        assert bool(result.get('failed')) is failed and result['rc'] == 0


def test_a_jobs_own_keys_stay_at_the_top_level_untouched(adir):
    """The result rule: the job's state/elapsed/progress are its own; ours are under asyncops."""
    own = {'changed': True, 'state': 'directory', 'path': '/x', 'elapsed': 3, 'progress': 'x',
           'time_limit': 'own', 'stdout_tail': 'own', 'msg': 'done', 'rc': 0}
    write_job(adir, 'j1.2', dict(own, ansible_job_id='j1.2'))
    result = run_status(adir, jid='j1.2')
    ours = result.pop('asyncops')
    assert result == dict(own, ansible_job_id='j1.2', started=True, finished=True,
                          results_file=os.path.join(adir, 'j1.2'))
    assert ours['state'] == 'succeeded' and ours['progress'] is None and ours['elapsed'] != 3
    # a supervised record: its own block is merged under asyncops, the view over it
    write_job(adir, 'j3.4', dict(own, started=True, finished=True, ansible_job_id='j3.4', asyncops={
        'state': 'succeeded', 'pid': 7, 'rc': 0, 'reason': 'exited', 'started_at': 10.0, 'ended_at': 14.0}))
    result = run_status(adir, jid='j3.4')
    assert (result['state'], result['elapsed'], result['progress']) == ('directory', 3, 'x')
    assert result['asyncops']['state'] == 'succeeded' and result['asyncops']['elapsed'] == 4.0
    assert (result['asyncops']['pid'], result['asyncops']['reason']) == (7, 'exited')
    assert 'job_keys_shadowed' not in result


def test_cleanup_option_removes_finished_jobs_only(adir, monkeypatch):
    write_job(adir, 'j1.2', {'rc': 0})
    open(os.path.join(adir, 'j1.2.out'), 'w').close()
    checked = run_status(adir, jid='j1.2', cleanup=True, check_mode=True)
    assert checked['erased'] == os.path.join(adir, 'j1.2') and os.path.exists(checked['erased'])
    result = run_status(adir, jid='j1.2', cleanup=True)
    assert 'removed_files' not in result
    assert sorted(result['asyncops']['removed_files']) == [os.path.join(adir, n) for n in ('j1.2', 'j1.2.out')]
    assert os.listdir(adir) == []
    monkeypatch.setattr(_liveness, 'job_processes_alive', lambda record, jid, core_prefixes=None: True)
    monkeypatch.setattr(_proc, 'core_procs', lambda jid: _proc.CoreProcs(None, [], None, None))
    write_job(adir, 'j3.4', {'started': True, 'finished': False})
    result = run_status(adir, jid='j3.4', cleanup=True)
    assert 'erased' not in result and os.listdir(adir) == ['j3.4']


# ---------------------------------------------------------------- progress

@pytest.mark.parametrize('progress, started_at, now, rate, eta', [
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, 100.0, None, 5.0, 20.0),
    ({'current': 50, 'total': 150}, 100.0, 110.0, 5.0, 20.0),           # no updated_at: now
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, 100.0, 500.0, 5.0, 20.0),   # as of the last update
    ({'current': 150, 'total': 150, 'updated_at': 110.0}, 100.0, None, 15.0, 0.0),
    ({'current': 200, 'total': 150, 'updated_at': 110.0}, 100.0, None, 20.0, 0.0),
    ({'current': 50, 'updated_at': 110.0}, 100.0, None, 5.0, None),      # no total: no eta
    ({'current': 1, 'total': 3, 'updated_at': 103.0}, 100.0, None, 0.333, 6.0),
    ({'percent': 25.0, 'updated_at': 110.0}, 100.0, None, 2.5, 30.0),   # percent only
    ({'percent': 100.0, 'updated_at': 110.0}, 100.0, None, 10.0, 0.0),
    ({'percent': 0.0, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': 0, 'total': 10, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': -5, 'total': 10, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, None, None, None, None),   # start unknown
    ({'current': 50, 'total': 150, 'updated_at': 100.0}, 100.0, None, None, None),  # no time spent
    ({'current': 50, 'total': 150, 'updated_at': 90.0}, 100.0, None, None, None),   # clock went back
    ({}, 100.0, 110.0, None, None),
    # the writer's figures win over a rate from the job's start (a resumed download)
    ({'current': 50, 'total': 150, 'updated_at': 110.0, 'rate': 25.0, 'eta': 4.0}, 100.0, None, 25.0, 4.0),
    ({'current': 50, 'total': 150, 'updated_at': 110.0, 'rate': 25.0}, 100.0, None, 25.0, None),
])
def test_progress_with_rate(progress, started_at, now, rate, eta):
    given = dict(progress)
    out = _status.progress_with_rate(progress, started_at, now)
    assert out['rate'] == rate and out['eta'] == eta
    assert progress == given      # input untouched
    for key, value in progress.items():
        assert out[key] == value


def test_progress_with_rate_uses_clock(monkeypatch):
    monkeypatch.setattr(_status.time, 'time', lambda: 120.0)
    out = _status.progress_with_rate({'current': 40, 'total': 100}, 100.0)
    assert out['rate'] == 2.0 and out['eta'] == 30.0


# ---------------------------------------------------------------- cleanup mode

def test_cleanup_mode(adir):
    write_job(adir, 'j1.2', {'started': True, 'finished': False})
    for ext in ('.out', '.err', '.progress'):
        open(os.path.join(adir, 'j1.2' + ext), 'w').close()
    open(os.path.join(adir, 'j1.2.other'), 'w').close()
    checked = run_status(adir, jid='j1.2', mode='cleanup', check_mode=True)
    assert checked['changed'] is False and len(checked['asyncops']['removed_files']) == 4
    assert len(os.listdir(adir)) == 5
    result = run_status(adir, jid='j1.2', mode='cleanup')
    ours = result.pop('asyncops')
    # the built-in's cleanup keys at the top level (changed: true is ours, documented), the rest under asyncops
    assert result == {'ansible_job_id': 'j1.2', 'erased': os.path.join(adir, 'j1.2'), 'changed': False,
                      'started': False, 'finished': False}
    assert ours['state'] == 'lost'  # what it was when removed
    assert os.listdir(adir) == ['j1.2.other']
    with pytest.raises(_record.JobError, match='could not find job'):
        run_status(adir, jid='j1.2', mode='cleanup')


def test_cleanup_mode_removes_sidecars_left_without_a_record(adir):
    """Core's cleanup removes the record only: what it leaves can be cleaned up by jid."""
    for ext in ('.out', '.progress'):
        open(os.path.join(adir, 'j1.2' + ext), 'w').close()
    open(os.path.join(adir, 'j1.2.other'), 'w').close()
    result = run_status(adir, jid='j1.2', mode='cleanup')
    assert result['changed'] is False and result['asyncops']['state'] is None
    assert sorted(result['asyncops']['removed_files']) == [os.path.join(adir, 'j1.2.out'), os.path.join(adir, 'j1.2.progress')]
    assert os.listdir(adir) == ['j1.2.other']
    # only cleanup takes sidecars for a job
    open(os.path.join(adir, 'j1.3.progress'), 'w').close()
    for mode in ('status', 'wait', 'kill'):
        with pytest.raises(_record.JobError, match='could not find job'):
            run_status(adir, jid='j1.3', mode=mode)


def test_cleanup_mode_removes_a_damaged_record(adir):
    write_job(adir, 'j1.2', 'garbage')
    result = run_status(adir, jid='j1.2', mode='cleanup')
    assert result['asyncops']['state'] is None and os.listdir(adir) == []


# ---------------------------------------------------------------- many jobs

def test_many_jobs_status_summary_and_failure(adir, tmp_path):
    write_job(adir, 'j1.1', {'rc': 0})
    write_job(adir, 'j1.2', {'rc': 1, 'failed': True})
    write_job(adir, 'j1.3', {'started': True, 'finished': False})  # no process: lost
    with pytest.raises(_record.JobError, match='could not find job'):
        run_status(adir, jids=['j1.1', 'j9.9'])
    result = run_status(adir, jids=['j1.3', 'j1.1', 'j1.2', 'j1.1'], fail_on_job_failure=False)
    assert [j['ansible_job_id'] for j in result['jobs']] == ['j1.3', 'j1.1', 'j1.2']
    assert set(result['jobs_by_jid']) == {'j1.1', 'j1.2', 'j1.3'}
    assert result['summary'] == {'total': 3, 'running': 0, 'finished': 3, 'succeeded': 1, 'failed': 1,
                                 'timeout': 0, 'killed': 0, 'lost': 1}
    assert result['state'] == 'lost' and result['finished'] is True and 'failed' not in result
    # each entry is a single-job result: the job's own keys, ours under asyncops
    assert [j['asyncops']['state'] for j in result['jobs']] == ['lost', 'succeeded', 'failed']
    assert result['jobs_by_jid']['j1.2']['rc'] == 1 and 'state' not in result['jobs_by_jid']['j1.2']
    assert 'asyncops' not in result  # a status of many jobs adds nothing under asyncops at its top level
    failing = run_status(adir, jids=['j1.1', 'j1.2'])
    assert failing['failed'] is True and failing['msg'] == '1 of 2 jobs failed: j1.2 (failed)'
    assert run_status(adir, jids=['j1.1'])['state'] == 'succeeded'


def test_many_jobs_keep_their_own_keys_and_elapsed_aggregates_ours(adir):
    write_job(adir, 'j1.1', {'state': 'directory', 'elapsed': 300, 'delta': '0:00:02'})
    write_job(adir, 'j1.2', {'rc': 0, 'delta': '0:00:05'})
    result = run_status(adir, jids=['j1.1', 'j1.2'])
    assert result['jobs'][0]['state'] == 'directory' and result['jobs'][0]['elapsed'] == 300
    assert result['elapsed'] == 5.0 and result['state'] == 'succeeded'  # from asyncops.elapsed/state
    cleaned = run_status(adir, jids=['j1.1', 'j1.2'], mode='cleanup')
    assert [j['asyncops']['state'] for j in cleaned['jobs']] == ['succeeded', 'succeeded']
    assert cleaned['summary']['succeeded'] == 2 and cleaned['changed'] is False
    with pytest.raises(_record.JobError, match='jids is empty'):
        run_status(adir, jids=[])


# ---------------------------------------------------------------- check-mode jids (a launch in check mode)

@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('mode', ['status', 'cleanup', 'wait', 'kill'])
def test_check_mode_jid_is_not_started_and_nothing_is_looked_for(tmp_path, mode, check_mode):
    missing = str(tmp_path / 'nope')  # a real jid would fail "could not find job" here
    result = run_status(missing, jid='j0.77', mode=mode, wait_timeout=30, check_mode=check_mode)
    assert result == _record.not_started_result('j0.77')
    assert not os.path.exists(missing)


@pytest.mark.parametrize('mode', ['status', 'cleanup', 'wait', 'kill'])
def test_check_mode_jids_among_others_keep_their_place(adir, mode):
    write_job(adir, 'j1.1', {'rc': 0})
    result = run_status(adir, jids=['j0.5', 'j1.1', 'j0.6', 'j0.5'], mode=mode, wait_for='any', wait_timeout=30)
    assert [j['ansible_job_id'] for j in result['jobs']] == ['j0.5', 'j1.1', 'j0.6']
    assert result['jobs'][0] == _record.not_started_result('j0.5') == result['jobs_by_jid']['j0.5']
    assert result['jobs'][1]['asyncops']['state'] == 'succeeded'
    assert result['summary']['total'] == 3 and result['summary']['not_started'] == 2
    assert result['summary']['finished'] == 3 and result['summary']['succeeded'] == 1
    assert result['state'] == 'succeeded' and 'skipped' not in result and 'failed' not in result
    assert result['started'] is (mode != 'cleanup')


def test_only_check_mode_jids_wait_for_nothing(tmp_path):
    missing = str(tmp_path / 'nope')
    began = time.monotonic()
    for wait_for in ('all', 'any'):
        result = run_status(missing, jids=['j0.5', 'j0.6'], mode='wait', wait_for=wait_for, wait_timeout=60)
        assert [j['asyncops']['state'] for j in result['jobs']] == ['not_started', 'not_started']
        assert result['state'] == 'not_started' and result['skipped'] is True
        assert result['started'] is False and result['finished'] is True and result['changed'] is False
        assert result['summary'] == {'total': 2, 'running': 0, 'finished': 2, 'succeeded': 0, 'failed': 0,
                                     'timeout': 0, 'killed': 0, 'lost': 0, 'not_started': 2}
        assert 'asyncops' not in result  # nothing was waited for
    assert time.monotonic() - began < 30
    assert not os.path.exists(missing)


def test_with_not_started_needs_one_view_per_started_jid():
    views = [{'ansible_job_id': 'j1.1'}]
    merged = _status.with_not_started(['j0.1', 'j1.1'], views)
    assert merged == [_record.not_started_result('j0.1'), {'ansible_job_id': 'j1.1'}]
    with pytest.raises(ValueError):
        _status.with_not_started(['j0.1', 'j1.1', 'j1.2'], views)


@pytest.mark.parametrize('states, state', [
    (['not_started', 'not_started'], 'not_started'),
    (['not_started', 'running', 'succeeded'], 'running'),
    (['not_started', 'succeeded'], 'succeeded'),
    (['succeeded', 'not_started', 'failed'], 'failed'),
    ([], None),
])
def test_aggregate_state_leaves_out_jobs_not_started(states, state):
    assert _status.aggregate_state(states) == state


def test_summary_counts_not_started_only_when_there_are_some():
    assert 'not_started' not in _status.summarize(['succeeded'])
    assert _status.summarize(['not_started', 'running'])['not_started'] == 1


# ---------------------------------------------------------------- list

def test_list(adir):
    now = time.time()
    populate_async_dir(adir, now)
    result = run_status(adir, mode='list')
    by = result['jobs_by_jid']
    assert sorted(by) == ['j1.1', 'j1.2', 'j1.3']
    assert (by['j1.1']['state'], by['j1.2']['state'], by['j1.3']['state']) == ('succeeded', 'failed', 'lost')
    assert by['j1.1']['size'] == len(json.dumps({'rc': 0, 'delta': '0:00:01'})) + 5
    assert by['j1.1']['files'] == [os.path.join(adir, 'j1.1'), os.path.join(adir, 'j1.1.out')]
    assert by['j1.1']['elapsed'] == 1.0 and by['j1.1']['kind'] == 'builtin'
    assert 10 * 86400 - 5 <= by['j1.1']['age'] <= 10 * 86400 + 60
    assert 55 <= by['j1.2']['age'] < 120 and by['j1.2']['rc'] == 1 and by['j1.2']['failed'] is True
    garbage = {os.path.basename(g['path']): g['reason'] for g in result['garbage']}
    assert set(garbage) == {'.j1.4.abc123.tmp', 'j1.5.tmp', 'j1.6.err', 'j1.7'}
    assert 'not valid JSON' in garbage['j1.7']
    assert result['summary']['total'] == 3 and result['summary']['lost'] == 1
    assert [j['ansible_job_id'] for j in run_status(adir, mode='list', state_filter=['lost', 'failed'])['jobs']] == ['j1.2', 'j1.3']
    assert run_status(str(adir) + '-missing', mode='list')['jobs'] == []


@linux_only
def test_list_and_wait_many_supervised_jobs(adir, procs):
    jids = start_supervised(adir, procs, 'sh', '-c', 'echo out {i}; echo err {i} >&2; sleep 0.{i}', count=5)
    result = run_status(adir, jids=jids, mode='wait', wait_timeout=60)
    assert result['summary']['succeeded'] == 5
    for i, job in enumerate(result['jobs']):
        assert job['asyncops']['stdout_tail'] == ['out %d' % i] and job['asyncops']['stderr_tail'] == ['err %d' % i]
        assert 'stdout_tail' not in job and 'waited' not in job['asyncops']
    latest = max(j['asyncops']['ended_at'] for j in result['jobs'])
    assert 0 <= result['asyncops']['wait_ended_at'] - latest < 1.5
    assert 'wait_ended_at' not in result and 'waited' not in result
    listed = run_status(adir, mode='list')
    assert sorted(listed['jobs_by_jid']) == sorted(jids)
    assert all(j['kind'] == 'asyncops' and j['elapsed'] >= 0 for j in listed['jobs'])
