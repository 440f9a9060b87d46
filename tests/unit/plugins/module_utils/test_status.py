# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the logic of asyncops.jobs.async_status (plugins/module_utils/_status.py).

Jobs are records written here, plus real processes where liveness or signals
matter: a fake built-in wrapper (watcher + module runner in its own process
group, argv ``<prefix> <time limit>`` as core's) and a fake supervisor of this
collection (SIGUSR1 = killed from outside, final record when the job ends).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs
from ansible_collections.asyncops.jobs.plugins.module_utils import _status

linux_only = pytest.mark.skipif(not os.path.exists('/proc/self/stat'), reason='needs procfs')

# A stand-in for core's async_wrapper: the launcher prints the jid once the running record
# exists and exits; the watcher (not a group leader) keeps argv "<prefix> <limit>" and waits
# for the runner; the runner leads its own process group and runs the job's command.
FAKE_CORE = textwrap.dedent(r'''
    import json, os, subprocess, sys, time
    prefix, limit, async_dir, kind = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    jid = '%s.%d' % (prefix, os.getpid())
    path = os.path.join(async_dir, jid)

    def jwrite(obj):
        with open(path + '.tmp', 'w') as f:
            json.dump(obj, f)
        os.rename(path + '.tmp', path)

    r, w = os.pipe()
    if os.fork():
        os.close(w)
        os.read(r, 1)
        print(jid, flush=True)
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    for fd in (0, 1, 2):
        os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    runner = os.fork()
    if runner == 0:
        os.setpgid(0, 0)
        jwrite({'started': True, 'finished': False, 'ansible_job_id': jid})
        os.write(w, b'x')
        cmd = {'sleep': ['sleep', '60'], 'trap': ['sh', '-c', "trap '' TERM; sleep 60"],
               'quick': ['sleep', '0.5']}[kind]
        p = subprocess.Popen(cmd)
        p.wait()
        jwrite({'rc': p.returncode, 'changed': True, 'ansible_job_id': jid, 'delta': '0:00:00.500000'})
        os._exit(0)
    try:
        os.setpgid(runner, runner)
    except OSError:
        pass
    while os.waitpid(runner, os.WNOHANG) == (0, 0):
        time.sleep(0.05)
    os._exit(0)
''')

FAKE_SUPERVISOR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'integration', 'targets',
                               'async_status', 'files', 'fake_supervisor.py')


def _pids_of_job(record):
    ao = record.get('asyncops') or {}
    return [p for p in (ao.get('pid'), ao.get('supervisor_pid')) if isinstance(p, int)]


@pytest.fixture
def adir(tmp_path):
    d = tmp_path / 'async'
    d.mkdir(mode=0o700)
    return str(d)


class _Tracked(list):
    """(pid, start token) of the processes a test started."""

    def add(self, *pids):
        for pid in pids:
            token = _jobs.process_start_time(pid)
            if token is not None:
                self.append((pid, token))


@pytest.fixture
def procs():
    """Processes started by a test, ended at teardown by pid (and their process group) if still the same."""
    tracked = _Tracked()
    yield tracked
    for pid, token in tracked:
        if _jobs.process_start_time(pid) != token:
            continue
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start_core(adir, procs, kind='sleep', limit=60):
    prefix = 'j%d' % (int(time.time() * 1000) % 10 ** 11 + os.getpid())
    out = subprocess.run([sys.executable, '-c', FAKE_CORE, prefix, str(limit), adir, kind],
                         stdout=subprocess.PIPE, check=True, timeout=30).stdout.decode().strip()
    jid = out.splitlines()[-1]
    core = _status.core_procs(jid)
    procs.add(*([p.pid for p in core.watchers] + ([core.runner.pid] if core.runner else [])))
    return jid


def start_supervised(adir, procs, *cmd, **kw):
    if not os.path.exists(FAKE_SUPERVISOR):
        pytest.skip('fake supervisor of the integration target not found')
    args = [sys.executable, FAKE_SUPERVISOR, '--async-dir', adir, '--count', str(kw.get('count', 1))]
    out = subprocess.run(args + ['--'] + list(cmd), stdout=subprocess.PIPE, check=True, timeout=60).stdout
    jids = json.loads(out.decode())
    for jid in jids:
        procs.add(*_pids_of_job(_jobs.read_record(adir, jid)))
    return jids


def write(adir, jid, obj, mtime=None):
    path = os.path.join(adir, jid)
    with open(path, 'w') as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def alive(pid):
    return _jobs.process_start_time(pid) is not None


def run(adir, **params):
    params.setdefault('_async_dir', adir)
    return _status.run(params, check_mode=params.pop('check_mode', False), environ={})


# ---------------------------------------------------------------- helpers

@pytest.mark.parametrize('value, seconds', [
    (600, 600.0), (0, 0.0), ('600', 600.0), ('30m', 1800.0), ('2h', 7200.0), ('7d', 604800.0), ('1w', 604800.0),
    ('1h30m', 5400.0), ('1.5h', 5400.0), (' 90 s ', 90.0), ('2 days', 172800.0),
])
def test_parse_age(value, seconds):
    assert _status.parse_age(value) == seconds


@pytest.mark.parametrize('value', ['', 'soon', '5x', '-5', -1, None, True, '1h junk'])
def test_parse_age_refuses(value):
    with pytest.raises(_status.StatusFailure, match='invalid max_age'):
        _status.parse_age(value)


@pytest.mark.parametrize('value, seconds', [
    ('0:00:01.500000', 1.5), ('1:02:03', 3723.0), ('1 day, 0:00:01', 86401.0), ('junk', None), (None, None),
])
def test_parse_delta(value, seconds):
    assert _status.parse_delta(value) == seconds


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
    monkeypatch.setattr(_jobs, '_passwd_home', lambda: str(tmp_path / 'pw'))
    monkeypatch.setenv('HOME', str(tmp_path / 'env'))
    ctx = _status.Context('~/.ansible_async', {}, False)
    assert ctx.dirs == [str(tmp_path / 'env' / '.ansible_async'), str(tmp_path / 'pw' / '.ansible_async')]
    monkeypatch.setenv('HOME', str(tmp_path / 'pw'))
    ctx = _status.Context('~/.ansible_async', {'ANSIBLE_ASYNC_DIR': str(tmp_path / 'x')})
    assert ctx.dirs == [str(tmp_path / 'pw' / '.ansible_async'), str(tmp_path / 'x')]
    ctx = _status.Context(None, {'ANSIBLE_ASYNC_DIR': str(tmp_path / 'x')})
    assert ctx.dirs == [str(tmp_path / 'x')]


def test_job_written_under_overridden_home_is_found(tmp_path, monkeypatch):
    """The built-in wrapper expands ~ with $HOME, the built-in status with the passwd entry."""
    monkeypatch.setattr(_jobs, '_passwd_home', lambda: str(tmp_path / 'pw'))
    env_dir, pw_dir = tmp_path / 'env' / '.ansible_async', tmp_path / 'pw' / '.ansible_async'
    env_dir.mkdir(parents=True)
    pw_dir.mkdir(parents=True)
    write(str(env_dir), 'j1.2', {'rc': 0, 'ansible_job_id': 'j1.2'})
    write(str(pw_dir), 'j3.4', {'rc': 0, 'ansible_job_id': 'j3.4'})
    monkeypatch.setenv('HOME', str(tmp_path / 'env'))
    for jid, where in (('j1.2', env_dir), ('j3.4', pw_dir)):
        result = _status.run({'jid': jid, '_async_dir': '~/.ansible_async'}, environ={})
        assert result['state'] == 'succeeded' and result['results_file'] == str(where / jid)
    # with HOME the passwd home, the record written under the other HOME is out of reach (as for the built-in)
    monkeypatch.setenv('HOME', str(tmp_path / 'pw'))
    with pytest.raises(_status.StatusFailure, match='could not find job'):
        _status.run({'jid': 'j1.2', '_async_dir': '~/.ansible_async'}, environ={})


def test_unknown_job_fails_like_the_builtin(adir):
    with pytest.raises(_status.StatusFailure) as e:
        run(adir, jid='j1.2')
    assert e.value.msg == 'could not find job'
    assert e.value.result['started'] is True and e.value.result['finished'] is True
    assert e.value.result['ansible_job_id'] == 'j1.2'
    assert e.value.result['searched'] == [adir]


def test_missing_async_dir_is_named(tmp_path):
    missing = str(tmp_path / 'nope')
    with pytest.raises(_status.StatusFailure, match='could not find job j1.2: the async dir .*nope does not exist'):
        run(missing, jid='j1.2')


BAD_JIDS = ['../canary', '../../canary', 'j1.2/../../canary', '/etc/passwd', '..', '.', '', ' j1.2', 'j1.2 ',
            'j1.2\n', 'j1.2\x00', 'j1..2', 'j1.2.3', 'x1.2', '１.２', 123, None, ['j1.2']]


@pytest.mark.parametrize('jid', BAD_JIDS)
@pytest.mark.parametrize('mode', ['status', 'cleanup', 'wait', 'kill'])
def test_bad_jid_refused_before_a_path_is_built(tmp_path, adir, jid, mode):
    canary = tmp_path / 'canary'
    canary.write_text('keep me')
    for params in ({'jid': jid}, {'jids': ['j1.2', jid]}):
        with pytest.raises(_status.StatusFailure, match='invalid job id'):
            run(adir, mode=mode, **params)
    assert canary.read_text() == 'keep me'


def test_symlink_and_directory_records_are_refused(tmp_path, adir):
    target = tmp_path / 'elsewhere'
    target.write_text(json.dumps({'rc': 0}))
    os.symlink(str(target), os.path.join(adir, 'j1.2'))
    os.mkdir(os.path.join(adir, 'j3.4'))
    with pytest.raises(_status.StatusFailure, match='not a regular file'):
        run(adir, jid='j1.2', mode='cleanup')
    with pytest.raises(_status.StatusFailure, match='is a directory'):
        run(adir, jid='j3.4')
    assert target.exists()


@pytest.mark.parametrize('content, match', [
    ('not json', 'not a job record: not valid JSON'),
    ('[1, 2]', 'JSON list, not an object'),
    ('', 'is empty'),
])
def test_corrupt_record_fails_naming_the_file(adir, content, match):
    path = write(adir, 'j1.2', content)
    with pytest.raises(_status.StatusFailure, match=match) as e:
        run(adir, jid='j1.2')
    assert path in e.value.msg


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads every file')
def test_record_of_another_user_is_a_clear_error(adir):  # pragma: no cover - runs as non-root only
    path = write(adir, 'j1.2', {'rc': 0})
    os.chmod(path, 0)
    with pytest.raises(_status.StatusFailure, match='cannot read'):
        run(adir, jid='j1.2')


# ---------------------------------------------------------------- status

def test_core_finished_records(adir):
    write(adir, 'j1.2', {'rc': 0, 'changed': True, 'stdout': 'hi', 'delta': '0:00:02.500000', 'ansible_job_id': 'j1.2'})
    write(adir, 'j3.4', {'rc': 2, 'failed': True, 'msg': 'non-zero return code', 'ansible_job_id': 'j3.4'})
    write(adir, 'j5.6', {'msg': 'Timeout exceeded', 'failed': True, 'child_pid': 4242})
    ok = run(adir, jid='j1.2')
    assert (ok['started'], ok['finished'], ok['state'], ok['elapsed'], ok['stdout']) == (True, True, 'succeeded', 2.5, 'hi')
    assert ok['changed'] is True and 'failed' not in ok
    failed = run(adir, jid='j3.4')
    assert failed['state'] == 'failed' and failed['failed'] is True and failed['finished'] is True
    assert failed['elapsed'] is None  # a finished built-in job without delta: not known
    timeout = run(adir, jid='j5.6')
    assert timeout['state'] == 'timeout' and timeout['failed'] is True and timeout['ansible_job_id'] == 'j5.6'
    assert run(adir, jid='j3.4', fail_on_job_failure=False)['failed'] is False


@linux_only
def test_core_running_job(adir, procs):
    before = time.time()
    jid = start_core(adir, procs, limit=60)
    result = run(adir, jid=jid)
    assert (result['state'], result['started'], result['finished']) == ('running', True, False)
    assert result['time_limit'] == 60.0
    # started_at comes from the job's own processes: within this test's window
    assert 0.0 <= result['elapsed'] <= time.time() - before + 1.0
    assert 55.0 <= result['time_left'] <= 60.0
    assert result['progress'] is None and 'stdout_tail' not in result


@linux_only
def test_core_job_killed_from_outside_is_lost(adir, procs):
    jid = start_core(adir, procs)
    core = _status.core_procs(jid)
    for p in core.watchers:
        os.kill(p.pid, signal.SIGKILL)
    os.killpg(core.runner.pid, signal.SIGKILL)
    assert _status.wait_group_gone(core.runner.pid, 10)
    deadline = time.time() + 10
    while _jobs.core_job_pids(jid) and time.time() < deadline:
        time.sleep(0.05)
    result = run(adir, jid=jid)
    assert (result['state'], result['finished'], result['failed']) == ('lost', True, True)
    assert 'no process of it is alive' in result['msg']
    # the record on disk is unchanged: lost is what a reader concludes
    assert _jobs.read_record(adir, jid)['finished'] is False


def test_core_running_record_without_processes_is_lost(adir):
    write(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2'})
    result = run(adir, jid='j1.2')
    assert (result['state'], result['finished'], result['failed']) == ('lost', True, True)


def test_folded_progress_in_a_core_record(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], 100.0, time.time() - 10))
    write(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2',
                         'progress': {'current': 50, 'total': 200, 'unit': 'MB', 'message': 'copying',
                                      'updated_at': time.time()}})
    result = run(adir, jid='j1.2')
    p = result['progress']
    assert (p['percent'], p['unit'], p['message']) == (25.0, 'MB', 'copying')
    assert 4.0 <= p['rate'] <= 6.0 and 25.0 <= p['eta'] <= 35.0
    assert result['time_limit'] == 100.0 and 85.0 <= result['time_left'] <= 91.0


def test_supervised_running_view(adir, monkeypatch):
    now = time.time()
    monkeypatch.setattr(_jobs, 'pid_is', lambda pid, start: True)
    base = os.path.join(adir, 'j1.2')
    write(adir, 'j1.2', {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {
        'state': 'running', 'pid': 100, 'pgid': 100, 'supervisor_pid': 99, 'started_at': now - 20,
        'time_limit': 50, 'progress_file': base + '.progress', 'stdout_file': base + '.out',
        'stderr_file': base + '.err'}})
    with open(base + '.progress', 'w') as f:
        json.dump({'percent': 40, 'message': 'step 2', 'updated_at': now}, f)
    with open(base + '.out', 'w') as f:
        f.write(''.join('out %d\n' % i for i in range(20)))
    with open(base + '.err', 'w') as f:
        f.write('warning\n')
    result = run(adir, jid='j1.2', tail=3)
    assert result['state'] == 'running' and result['finished'] is False
    assert 19.0 <= result['elapsed'] <= 25.0 and result['time_limit'] == 50
    assert 25.0 <= result['time_left'] <= 31.0
    assert result['progress']['percent'] == 40.0 and result['progress']['eta'] == 30.0
    assert result['stdout_tail'] == ['out 17', 'out 18', 'out 19'] and result['stderr_tail'] == ['warning']
    assert 'stdout_tail' not in run(adir, jid='j1.2', tail=0)


def test_supervised_final_states(adir):
    for jid, state, failed in (('j1.1', 'succeeded', False), ('j1.2', 'failed', True), ('j1.3', 'timeout', True),
                               ('j1.4', 'killed', True)):
        write(adir, jid, {'started': True, 'finished': True, 'ansible_job_id': jid, 'failed': failed, 'rc': 0,
                          'asyncops': {'state': state, 'pid': 1, 'started_at': 100.0, 'ended_at': 112.5}})
        result = run(adir, jid=jid, fail_on_job_failure=True)
        assert result['state'] == state and result['elapsed'] == 12.5 and result['finished'] is True
        assert bool(result.get('failed')) is failed


def test_job_keys_that_the_view_sets_are_kept_aside(adir):
    write(adir, 'j1.2', {'changed': True, 'state': 'directory', 'path': '/x', 'elapsed': 3, 'ansible_job_id': 'j1.2'})
    result = run(adir, jid='j1.2')
    assert result['state'] == 'succeeded' and result['path'] == '/x'
    assert result['job_keys_shadowed'] == {'state': 'directory', 'elapsed': 3}


def test_cleanup_option_removes_finished_jobs_only(adir, monkeypatch):
    write(adir, 'j1.2', {'rc': 0})
    open(os.path.join(adir, 'j1.2.out'), 'w').close()
    checked = run(adir, jid='j1.2', cleanup=True, check_mode=True)
    assert checked['erased'] == os.path.join(adir, 'j1.2') and os.path.exists(checked['erased'])
    result = run(adir, jid='j1.2', cleanup=True)
    assert sorted(result['removed_files']) == [os.path.join(adir, n) for n in ('j1.2', 'j1.2.out')]
    assert os.listdir(adir) == []
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], None, None))
    write(adir, 'j3.4', {'started': True, 'finished': False})
    result = run(adir, jid='j3.4', cleanup=True)
    assert 'erased' not in result and os.listdir(adir) == ['j3.4']


# ---------------------------------------------------------------- cleanup mode

def test_cleanup_mode(adir):
    write(adir, 'j1.2', {'started': True, 'finished': False})
    for ext in ('.out', '.err', '.progress'):
        open(os.path.join(adir, 'j1.2' + ext), 'w').close()
    open(os.path.join(adir, 'j1.2.other'), 'w').close()
    checked = run(adir, jid='j1.2', mode='cleanup', check_mode=True)
    assert checked['changed'] is True and len(checked['removed_files']) == 4 and len(os.listdir(adir)) == 5
    result = run(adir, jid='j1.2', mode='cleanup')
    assert result['erased'] == os.path.join(adir, 'j1.2') and result['changed'] is True
    assert result['state'] == 'lost'  # what it was when removed
    assert os.listdir(adir) == ['j1.2.other']
    with pytest.raises(_status.StatusFailure, match='could not find job'):
        run(adir, jid='j1.2', mode='cleanup')


def test_cleanup_mode_removes_sidecars_left_without_a_record(adir):
    """Core's cleanup removes the record only: what it leaves can be cleaned up by jid."""
    for ext in ('.out', '.progress'):
        open(os.path.join(adir, 'j1.2' + ext), 'w').close()
    open(os.path.join(adir, 'j1.2.other'), 'w').close()
    result = run(adir, jid='j1.2', mode='cleanup')
    assert result['changed'] is True and result['state'] is None
    assert sorted(result['removed_files']) == [os.path.join(adir, 'j1.2.out'), os.path.join(adir, 'j1.2.progress')]
    assert os.listdir(adir) == ['j1.2.other']
    # only cleanup takes sidecars for a job
    open(os.path.join(adir, 'j1.3.progress'), 'w').close()
    for mode in ('status', 'wait', 'kill'):
        with pytest.raises(_status.StatusFailure, match='could not find job'):
            run(adir, jid='j1.3', mode=mode)


def test_cleanup_mode_removes_a_damaged_record(adir):
    write(adir, 'j1.2', 'garbage')
    result = run(adir, jid='j1.2', mode='cleanup')
    assert result['state'] is None and os.listdir(adir) == []


# ---------------------------------------------------------------- many jobs

def test_many_jobs_status_summary_and_failure(adir, tmp_path):
    write(adir, 'j1.1', {'rc': 0})
    write(adir, 'j1.2', {'rc': 1, 'failed': True})
    write(adir, 'j1.3', {'started': True, 'finished': False})  # no process: lost
    with pytest.raises(_status.StatusFailure, match='could not find job'):
        run(adir, jids=['j1.1', 'j9.9'])
    result = run(adir, jids=['j1.3', 'j1.1', 'j1.2', 'j1.1'], fail_on_job_failure=False)
    assert [j['ansible_job_id'] for j in result['jobs']] == ['j1.3', 'j1.1', 'j1.2']
    assert set(result['jobs_by_jid']) == {'j1.1', 'j1.2', 'j1.3'}
    assert result['summary'] == {'total': 3, 'running': 0, 'finished': 3, 'succeeded': 1, 'failed': 1,
                                 'timeout': 0, 'killed': 0, 'lost': 1}
    assert result['state'] == 'lost' and result['finished'] is True and 'failed' not in result
    failing = run(adir, jids=['j1.1', 'j1.2'])
    assert failing['failed'] is True and failing['msg'] == '1 of 2 jobs failed: j1.2 (failed)'
    assert run(adir, jids=['j1.1'])['state'] == 'succeeded'
    with pytest.raises(_status.StatusFailure, match='jids is empty'):
        run(adir, jids=[])


# ---------------------------------------------------------------- wait

def _finish_later(adir, jid, delay, stamp):
    def write_final():
        time.sleep(delay)
        stamp.append(time.time())
        _jobs.write_record(adir, jid, {'rc': 0, 'ansible_job_id': jid})
    thread = threading.Thread(target=write_final)
    thread.start()
    return thread


def test_wait_sees_the_end_within_a_fraction_of_a_second(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_status._Watch, 'check_alive', lambda self: None)
    write(adir, 'j1.2', {'started': True, 'finished': False})
    stamp = []
    thread = _finish_later(adir, 'j1.2', 0.5, stamp)
    result = run(adir, jid='j1.2', mode='wait', timeout=30)
    thread.join()
    latency = result['wait_ended_at'] - stamp[0]
    assert result['finished'] is True and result['state'] == 'succeeded'
    assert 0.0 <= latency < 1.0, latency  # polls every 50 ms; generous for a loaded machine
    assert result['waited'] >= 0.4


def test_wait_runs_out(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_status._Watch, 'check_alive', lambda self: None)
    write(adir, 'j1.2', {'started': True, 'finished': False})
    result = run(adir, jid='j1.2', mode='wait', timeout=0.3)
    assert result['finished'] is False and result['state'] == 'running' and 0.3 <= result['waited'] < 5
    assert 'failed' not in result
    assert run(adir, jid='j1.2', mode='wait', timeout=0)['waited'] < 1


def test_wait_any_and_all(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], None, None))
    monkeypatch.setattr(_status._Watch, 'check_alive', lambda self: None)
    for jid in ('j1.1', 'j1.2', 'j1.3'):
        write(adir, jid, {'started': True, 'finished': False})
    stamp = []
    thread = _finish_later(adir, 'j1.2', 0.2, stamp)
    result = run(adir, jids=['j1.1', 'j1.2', 'j1.3'], mode='wait', wait_for='any', timeout=30)
    thread.join()
    assert result['summary']['finished'] == 1 and result['summary']['running'] == 2
    assert result['jobs_by_jid']['j1.2']['finished'] is True and result['finished'] is False
    assert result['state'] == 'running'
    threads = [_finish_later(adir, jid, 0.1 * i, stamp) for i, jid in enumerate(('j1.1', 'j1.3'))]
    result = run(adir, jids=['j1.1', 'j1.2', 'j1.3'], mode='wait', wait_for='all', timeout=30)
    for t_ in threads:
        t_.join()
    assert result['summary']['succeeded'] == 3 and result['finished'] is True and result['state'] == 'succeeded'
    assert result['wait_ended_at'] - max(stamp) < 1.0


@linux_only
def test_wait_ends_as_lost_when_the_job_dies(adir, procs):
    jid = start_core(adir, procs)
    core = _status.core_procs(jid)

    def murder():
        time.sleep(0.3)
        for p in core.watchers:
            os.kill(p.pid, signal.SIGKILL)
        os.killpg(core.runner.pid, signal.SIGKILL)
    thread = threading.Thread(target=murder)
    thread.start()
    result = run(adir, jid=jid, mode='wait', timeout=30)
    thread.join()
    assert (result['state'], result['finished'], result['failed']) == ('lost', True, True)
    assert result['waited'] < 10


@linux_only
def test_wait_for_a_real_core_job(adir, procs):
    jid = start_core(adir, procs, kind='quick')
    result = run(adir, jid=jid, mode='wait', timeout=30)
    assert result['state'] == 'succeeded' and result['rc'] == 0 and result['elapsed'] == 0.5


def test_wait_fails_when_the_record_disappears(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_status._Watch, 'check_alive', lambda self: None)
    path = write(adir, 'j1.2', {'started': True, 'finished': False})
    threading.Timer(0.2, os.unlink, (path,)).start()
    with pytest.raises(_status.StatusFailure, match='disappeared while waiting'):
        run(adir, jid='j1.2', mode='wait', timeout=10)


# ---------------------------------------------------------------- kill

@linux_only
def test_kill_core_job(adir, procs):
    jid = start_core(adir, procs)
    core = _status.core_procs(jid)
    result = run(adir, jid=jid, mode='kill', grace=5)
    assert result['changed'] is True and result['state'] == 'killed' and result['finished'] is True
    assert result['kill']['signal'] == 'SIGTERM' and result['kill']['recorded_by'] == _status.KILLED_BY
    assert result['failed'] is False and result['job_failed'] is True
    assert not _status.group_alive(core.runner.pid)
    record = _jobs.read_record(adir, jid)
    assert 'started' not in record and record['failed'] is True and record['asyncops']['state'] == 'killed'
    # the watcher was let go: it sees its module gone and exits without writing
    deadline = time.time() + 15
    while _jobs.core_job_pids(jid) and time.time() < deadline:
        time.sleep(0.05)
    assert _jobs.core_job_pids(jid) == []
    assert _jobs.read_record(adir, jid) == record
    later = run(adir, jid=jid)
    assert later['state'] == 'killed' and later['failed'] is True
    again = run(adir, jid=jid, mode='kill')
    assert again['changed'] is False and 'nothing to kill' in again['msg']


@linux_only
def test_kill_core_job_that_ignores_sigterm(adir, procs):
    jid = start_core(adir, procs, kind='trap')
    time.sleep(0.2)  # let sh install its trap: SIGTERM before that would end it at once
    begin = time.monotonic()
    result = run(adir, jid=jid, mode='kill', grace=1)
    spent = time.monotonic() - begin
    assert result['kill']['signal'] == 'SIGKILL' and result['state'] == 'killed'
    assert spent >= 1.0
    assert 'SIGKILL after the 1s grace' in result['msg']


@linux_only
def test_kill_check_mode_signals_nothing(adir, procs):
    jid = start_core(adir, procs)
    core = _status.core_procs(jid)
    result = run(adir, jid=jid, mode='kill', check_mode=True)
    assert result['changed'] is True and result['state'] == 'running' and 'check mode' in result['msg']
    assert alive(core.runner.pid) and all(alive(w.pid) for w in core.watchers)
    assert _jobs.read_record(adir, jid)['finished'] is False


@linux_only
def test_kill_supervised_job(adir, procs):
    jid, = start_supervised(adir, procs, 'sleep', '60')
    record = _jobs.read_record(adir, jid)
    result = run(adir, jid=jid, mode='kill', grace=5)
    assert result['state'] == 'killed' and result['kill']['supervisor_notified'] is True
    assert result['kill']['recorded_by'] == 'supervisor' and result['kill']['signal'] == 'SIGTERM'
    assert result['asyncops']['reason'] == 'killed from outside'
    assert not alive(record['asyncops']['pid'])


@linux_only
def test_kill_many_supervised_jobs_ignoring_sigterm_with_one_grace(adir, procs):
    jids = start_supervised(adir, procs, 'sh', '-c', "trap '' TERM; sleep 60", count=4)
    time.sleep(0.3)  # let sh install its trap
    begin = time.monotonic()
    result = run(adir, jids=jids, mode='kill', grace=1)
    spent = time.monotonic() - begin
    assert result['summary']['killed'] == 4 and all(j['kill']['signal'] == 'SIGKILL' for j in result['jobs'])
    assert 1.0 <= spent < 1.0 + _status.SIGKILL_WAIT + _status.FINAL_RECORD_WAIT  # one grace, not four
    assert 'failed' not in result  # killing is what was asked


@linux_only
def test_kill_job_whose_supervisor_is_gone(adir, procs):
    jid, = start_supervised(adir, procs, 'sleep', '60')
    ao = _jobs.read_record(adir, jid)['asyncops']
    os.kill(ao['supervisor_pid'], signal.SIGKILL)
    deadline = time.time() + 10
    while alive(ao['supervisor_pid']) and time.time() < deadline:
        time.sleep(0.05)
    result = run(adir, jid=jid, mode='kill', grace=5)
    assert result['state'] == 'killed' and result['kill']['recorded_by'] == _status.KILLED_BY
    record = _jobs.read_record(adir, jid)
    assert record['finished'] is True and record['asyncops']['state'] == 'killed'
    assert record['asyncops']['pid'] == ao['pid'] and not alive(ao['pid'])


@linux_only
def test_kill_never_signals_a_reused_pid(adir, procs, monkeypatch):
    """The supervisor lives; the job's PID now belongs to another process: that one is left alone."""
    supervisor = subprocess.Popen([sys.executable, '-c', 'import signal, time\n'
                                   'signal.signal(signal.SIGUSR1, signal.SIG_IGN)\ntime.sleep(60)'],
                                  start_new_session=True)
    stranger = subprocess.Popen(['sleep', '60'], start_new_session=True)
    time.sleep(0.2)
    procs.add(supervisor.pid, stranger.pid)
    write(adir, 'j1.2', {'started': True, 'finished': False, 'asyncops': {
        'state': 'running', 'pid': stranger.pid, 'pgid': stranger.pid, 'pid_start': 'not-its-token',
        'supervisor_pid': supervisor.pid, 'supervisor_start': _jobs.process_start_time(supervisor.pid)}})
    monkeypatch.setattr(_status, 'FINAL_RECORD_WAIT', 0.5)  # the fake supervisor never writes one
    result = run(adir, jid='j1.2', mode='kill', grace=0.2)
    assert stranger.poll() is None  # still running: never signalled
    assert 'reused' in result['msg']
    assert result['kill']['signal'] is None
    for p in (supervisor, stranger):
        p.kill()
        p.wait()


@linux_only
def test_signal_verified_checks_the_start_token(procs):
    p = subprocess.Popen(['sleep', '60'])
    procs.add(p.pid)
    assert _status.signal_verified(p.pid, 'wrong', signal.SIGTERM) is False
    assert p.poll() is None
    assert _status.signal_verified(p.pid, _jobs.process_start_time(p.pid), signal.SIGTERM) is True
    assert p.wait(10) == -signal.SIGTERM
    assert _status.signal_verified(p.pid, None, signal.SIGTERM) is False  # reaped: gone


def test_kill_of_a_finished_job_is_a_no_op(adir):
    write(adir, 'j1.2', {'rc': 0})
    result = run(adir, jid='j1.2', mode='kill')
    assert result['changed'] is False and result['state'] == 'succeeded' and 'nothing to kill' in result['msg']
    lost = write(adir, 'j3.4', {'started': True, 'finished': False})
    result = run(adir, jid='j3.4', mode='kill')
    assert result['changed'] is False and result['state'] == 'lost'
    assert json.load(open(lost)) == {'started': True, 'finished': False}


# ---------------------------------------------------------------- list and prune

def _populate(adir, now):
    old = now - 10 * 86400
    write(adir, 'j1.1', {'rc': 0, 'delta': '0:00:01'}, mtime=old)
    write(adir, 'j1.2', {'rc': 1, 'failed': True}, mtime=now - 60)
    write(adir, 'j1.3', {'started': True, 'finished': False, 'ansible_job_id': 'j1.3'}, mtime=old)  # lost
    with open(os.path.join(adir, 'j1.1.out'), 'w') as f:
        f.write('12345')
    os.utime(os.path.join(adir, 'j1.1.out'), (old, old))
    for name, mtime in (('.j1.4.abc123.tmp', old), ('j1.5.tmp', now), ('j1.6.err', old)):
        open(os.path.join(adir, name), 'w').close()
        os.utime(os.path.join(adir, name), (mtime, mtime))
    write(adir, 'j1.7', 'corrupt', mtime=old)
    open(os.path.join(adir, 'README'), 'w').close()


def test_list(adir):
    now = time.time()
    _populate(adir, now)
    result = run(adir, mode='list')
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
    assert [j['ansible_job_id'] for j in run(adir, mode='list', state=['lost', 'failed'])['jobs']] == ['j1.2', 'j1.3']
    assert run(str(adir) + '-missing', mode='list')['jobs'] == []


def test_prune(adir, monkeypatch):
    now = time.time()
    _populate(adir, now)
    with pytest.raises(_status.StatusFailure, match='invalid max_age'):
        run(adir, mode='prune', max_age='soon')
    before = sorted(os.listdir(adir))
    checked = run(adir, mode='prune', max_age='1d', check_mode=True)
    assert sorted(os.listdir(adir)) == before
    result = run(adir, mode='prune', max_age='1d')
    for r in (checked, result):
        assert sorted(r['removed']) == ['j1.1', 'j1.3']
        assert sorted(os.path.basename(p) for p in r['removed_files']) == [
            '.j1.4.abc123.tmp', 'j1.1', 'j1.1.out', 'j1.3', 'j1.6.err']
        assert r['changed'] is True
    # young jobs and garbage, damaged records and foreign files stay
    assert sorted(os.listdir(adir)) == ['README', 'j1.2', 'j1.5.tmp', 'j1.7']
    assert run(adir, mode='prune', max_age=0)['removed'] == ['j1.2']
    assert run(adir, mode='prune', max_age=0)['changed'] is False


def test_prune_never_removes_a_running_job(adir, monkeypatch):
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: True)
    monkeypatch.setattr(_jobs, 'core_wrapper_prefixes', lambda: None)
    monkeypatch.setattr(_status, 'core_procs', lambda jid: _status.CoreProcs(None, [], None, None))
    write(adir, 'j1.2', {'started': True, 'finished': False}, mtime=time.time() - 30 * 86400)
    result = run(adir, mode='prune', max_age=0)
    assert result['removed'] == [] and result['kept_running'] == 1 and os.listdir(adir) == ['j1.2']


@linux_only
def test_list_and_wait_many_supervised_jobs(adir, procs):
    jids = start_supervised(adir, procs, 'sh', '-c', 'echo out {i}; echo err {i} >&2; sleep 0.{i}', count=5)
    result = run(adir, jids=jids, mode='wait', timeout=60)
    assert result['summary']['succeeded'] == 5
    for i, job in enumerate(result['jobs']):
        assert job['stdout_tail'] == ['out %d' % i] and job['stderr_tail'] == ['err %d' % i]
    latest = max(j['asyncops']['ended_at'] for j in result['jobs'])
    assert 0 <= result['wait_ended_at'] - latest < 1.5
    listed = run(adir, mode='list')
    assert sorted(listed['jobs_by_jid']) == sorted(jids)
    assert all(j['kind'] == 'asyncops' and j['elapsed'] >= 0 for j in listed['jobs'])


RACE = textwrap.dedent(r"""
    import os, sys, time
    r, w = os.pipe()
    runner = os.fork()
    if runner == 0:
        child = os.fork()
        if child == 0:
            os.execvp('sleep', ['sleep', '300'])   # started before the runner left the group
        os.setpgid(0, 0)                           # the runner moves into a group of its own
        os.write(w, b'%d %d\n' % (os.getpid(), child))
        time.sleep(300)
    print(os.read(r, 100).decode().strip(), flush=True)
    time.sleep(300)
""")


@linux_only
def test_descendants_left_in_the_old_group_are_found():
    """Core's wrapper moves its runner into a new group after the fork: earlier children stay behind."""
    p = subprocess.Popen([sys.executable, '-c', RACE], stdout=subprocess.PIPE, universal_newlines=True,
                         start_new_session=True)
    runner = None
    try:
        runner, child = map(int, p.stdout.readline().split())
        root = _status.read_proc(runner)
        assert root.pgrp == runner
        strays = _status.descendants_outside_group(root)
        assert [s.pid for s in strays] == [child]
        assert strays[0].pgrp == p.pid
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        if runner:
            os.killpg(runner, signal.SIGKILL)
        p.wait()
