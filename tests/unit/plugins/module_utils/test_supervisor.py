# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the supervisor (plugins/module_utils/_supervisor.py).

The state machine is driven with made-up times and wait statuses; the rest
starts real daemons and jobs in a temporary async dir, and waits for events
(a FIFO the test writes to, the supervisor's exit seen through a pidfd).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import typing as t
import zipfile

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _output
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor as S
from ansible_collections.asyncops.jobs.tests.unit.helpers import alive, open_gate, record_of, wait_gone


def finished_record(async_dir: str, launched: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The record of a launched job once its supervisor is gone (the launch result has it under asyncops)."""
    wait_gone(launched['asyncops']['supervisor_pid'])
    return record_of(async_dir, launched)


LINUX = sys.platform.startswith('linux')
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(S.__file__), *(['..'] * 5)))


def exited(code):
    return code << 8


def killed_by(signum):
    return signum


# ---------------------------------------------------------------- helpers for real jobs


# ---------------------------------------------------------------- the state machine

class TestSupervision:

    def test_exit_zero(self):
        sm = S.Supervision(time_limit=10, kill_grace=2)
        assert sm.wakeup() is None
        sm.start(100.0)
        assert sm.wakeup() == 110.0
        assert sm.tick(105.0) == []
        assert sm.leader_exited(exited(0), 106.0, group_alive=False) == []
        assert sm.done and sm.finished_at == 106.0
        assert sm.wakeup() is None
        assert sm.tick(200.0) == []
        assert sm.outcome() == {'state': 'succeeded', 'reason': 'exited', 'rc': 0, 'signal': None,
                                'signals_sent': []}

    def test_exit_nonzero(self):
        sm = S.Supervision()
        sm.start(0.0)
        sm.leader_exited(exited(3), 1.0, False)
        assert sm.outcome()['state'] == 'failed'
        assert sm.outcome()['rc'] == 3
        assert sm.outcome()['reason'] == 'exited'

    def test_killed_by_a_signal_of_its_own(self):
        sm = S.Supervision()
        sm.start(0.0)
        sm.leader_exited(killed_by(signal.SIGSEGV), 1.0, False)
        assert sm.outcome() == {'state': 'failed', 'reason': 'signalled', 'rc': -signal.SIGSEGV,
                                'signal': 'SIGSEGV', 'signals_sent': []}

    def test_no_time_limit_never_wakes(self):
        sm = S.Supervision(time_limit=None)
        sm.start(0.0)
        assert sm.wakeup() is None
        assert sm.tick(1e9) == []
        assert S.Supervision(time_limit=0).time_limit is None

    def test_timeout_term_then_kill_after_grace(self):
        sm = S.Supervision(time_limit=1.0, kill_grace=2.0)
        sm.start(0.0)
        assert sm.tick(0.999) == []
        assert sm.tick(1.0) == ['SIGTERM']
        assert sm.wakeup() == 3.0
        assert sm.tick(2.999) == []
        assert sm.tick(3.0) == ['SIGKILL']
        assert sm.wakeup() is None
        assert sm.tick(4.0) == []
        sm.leader_exited(killed_by(signal.SIGKILL), 3.01, False)
        assert sm.outcome() == {'state': 'timeout', 'reason': 'timeout', 'rc': -9, 'signal': 'SIGKILL',
                                'signals_sent': ['SIGTERM', 'SIGKILL']}

    def test_timeout_obeyed_needs_no_kill(self):
        sm = S.Supervision(time_limit=1.0, kill_grace=2.0)
        sm.start(0.0)
        assert sm.tick(1.5) == ['SIGTERM']
        sm.leader_exited(killed_by(signal.SIGTERM), 1.51, False)
        assert sm.done
        assert sm.tick(10.0) == []
        out = sm.outcome()
        assert (out['state'], out['signal'], out['signals_sent']) == ('timeout', 'SIGTERM', ['SIGTERM'])

    def test_timeout_with_a_job_that_exits_on_its_own_after_term(self):
        sm = S.Supervision(time_limit=1.0, kill_grace=2.0)
        sm.start(0.0)
        sm.tick(1.0)
        sm.leader_exited(exited(0), 1.2, False)  # it trapped SIGTERM and exited 0
        assert sm.outcome()['state'] == 'timeout'
        assert sm.outcome()['rc'] == 0

    def test_zero_grace_sends_both_at_once(self):
        sm = S.Supervision(time_limit=1.0, kill_grace=0)
        sm.start(0.0)
        assert sm.tick(1.0) == ['SIGTERM', 'SIGKILL']
        assert sm.wakeup() is None

    def test_leftovers_after_the_main_process_are_stopped(self):
        sm = S.Supervision(time_limit=None, kill_grace=0.5)
        sm.start(0.0)
        assert sm.leader_exited(exited(0), 5.0, group_alive=True) == ['SIGTERM']
        assert not sm.done
        assert sm.wakeup() == 5.5
        assert sm.tick(5.5) == ['SIGKILL']
        assert sm.group_changed(5.6, group_alive=False) == []
        assert sm.done and sm.finished_at == 5.6
        out = sm.outcome()
        assert (out['state'], out['reason'], out['signals_sent']) == ('succeeded', 'exited', ['SIGTERM', 'SIGKILL'])

    def test_group_changed_before_the_leader_exits_is_ignored(self):
        sm = S.Supervision()
        sm.start(0.0)
        assert sm.group_changed(1.0, False) == []
        assert not sm.done

    def test_stop_requested(self):
        sm = S.Supervision(time_limit=100, kill_grace=1)
        sm.start(0.0)
        assert sm.stop_requested(5.0) == ['SIGTERM']
        assert sm.stop_requested(5.5) == []
        assert sm.tick(6.0) == ['SIGKILL']
        sm.leader_exited(killed_by(signal.SIGKILL), 6.0, False)
        assert sm.outcome()['state'] == 'killed'
        assert sm.outcome()['reason'] == 'killed'
        assert not sm.external

    def test_stop_requested_before_the_start_sends_nothing(self):
        sm = S.Supervision()
        assert sm.stop_requested(0.0) == []
        assert sm.reason == 'killed'

    def test_stop_requested_when_done_changes_nothing(self):
        sm = S.Supervision()
        sm.start(0.0)
        sm.leader_exited(exited(0), 1.0, False)
        assert sm.stop_requested(2.0) == []
        assert sm.outcome()['state'] == 'succeeded'

    def test_killed_from_outside(self):
        sm = S.Supervision(time_limit=100)
        sm.start(0.0)
        sm.killed_externally()
        assert sm.tick(1.0) == []  # the killer signals the group, not us
        sm.leader_exited(killed_by(signal.SIGTERM), 1.0, False)
        out = sm.outcome()
        assert (out['state'], out['reason'], out['signal'], out['rc']) == ('killed', 'killed', 'SIGTERM', -15)
        assert sm.external

    def test_the_first_reason_wins(self):
        sm = S.Supervision(time_limit=1.0)
        sm.start(0.0)
        sm.tick(1.0)
        sm.killed_externally()
        sm.leader_exited(killed_by(signal.SIGTERM), 1.1, False)
        assert sm.outcome()['state'] == 'timeout'


# ---------------------------------------------------------------- pieces


def test_skip_message(tmp_path):
    (tmp_path / 'made-1').write_text('')
    assert S.skip_message(str(tmp_path / 'made-*'), None) == (
        "Did not run command since '%s/made-*' exists" % tmp_path, 'skipped, since %s/made-* exists' % tmp_path)
    assert S.skip_message('made-1', None, chdir=str(tmp_path), check_mode=True)[0] == \
        "Would not run command since 'made-1' exists"
    assert S.skip_message(None, 'gone-*', chdir=str(tmp_path))[1] == 'skipped, since gone-* does not exist'
    assert S.skip_message('gone', 'made-1', chdir=str(tmp_path)) is None
    assert S.skip_message(None, None) is None


def test_jobspec_validation():
    with pytest.raises(ValueError):
        S.JobSpec(argv=['x'], target=dict)
    with pytest.raises(ValueError):
        S.JobSpec()
    with pytest.raises(ValueError):
        S.JobSpec(argv=[])
    with pytest.raises(ValueError):
        S.JobSpec(argv=['x'], time_limit=-1)
    with pytest.raises(ValueError):
        S.JobSpec(argv=['x'], kill_grace=-1)
    with pytest.raises(ValueError):
        S.JobSpec(argv=['x'], output_limit=0)
    spec = S.JobSpec(argv=['echo', 'a b'], time_limit=0, kill_grace=None, output_limit=None)
    assert spec.time_limit is None
    assert spec.kill_grace == S.DEFAULT_KILL_GRACE
    assert spec.output_limit == S.DEFAULT_OUTPUT_LIMIT
    assert spec.display == "echo 'a b'"
    assert S.JobSpec(argv=['sh'], cmd='echo hi').display == 'echo hi'


def test_job_argument_spec_is_a_copy():
    spec = S.job_argument_spec(background=True)
    spec['time_limit']['aliases'] = ['timeout']
    assert 'aliases' not in S.JOB_ARGUMENT_SPEC['time_limit']
    assert set(spec) == {'time_limit', 'kill_grace', 'background'}


@pytest.mark.parametrize('background', [True, False])
def test_job_argument_spec_background_defaults_to_the_modules_default(background):
    assert S.job_argument_spec(background)['background'] == {'type': 'bool', 'default': background}
    assert 'background' not in S.JOB_ARGUMENT_SPEC


def test_handshake_messages():
    r, w = os.pipe()
    os.write(w, b'{"ok": true}\n{"done"')
    hs = S.Handshake(r)
    assert hs.read_message(1) == {'ok': True}
    assert hs.read_message(0.05) is None  # half a line: not yet
    os.write(w, b': true}\nnot json\n[1]\n')
    assert hs.read_message(1) == {'done': True}
    assert hs.read_message(1)['ok'] is False
    assert hs.read_message(1)['ok'] is False
    os.close(w)
    assert hs.read_message(1) is None
    hs.close()


def test_preload_payload_imports_module_utils_of_a_zip(tmp_path, monkeypatch):
    zpath = str(tmp_path / 'payload.zip')
    with zipfile.ZipFile(zpath, 'w') as z:
        z.writestr('ansible_collections/__init__.py', '')
        z.writestr('ansible_collections/probe/__init__.py', '')
        z.writestr('ansible_collections/probe/c/__init__.py', '')
        z.writestr('ansible_collections/probe/c/plugins/__init__.py', '')
        z.writestr('ansible_collections/probe/c/plugins/module_utils/__init__.py', '')
        z.writestr('ansible_collections/probe/c/plugins/module_utils/lazy_probe.py', 'VALUE = 42\n')
        z.writestr('ansible_collections/probe/c/plugins/module_utils/broken_probe.py', 'raise ImportError("no")\n')
        z.writestr('ansible_collections/probe/c/plugins/modules/not_a_util.py', 'raise SystemExit(1)\n')
    monkeypatch.syspath_prepend(zpath)
    name = 'ansible_collections.probe.c.plugins.module_utils.lazy_probe'
    for mod in list(sys.modules):
        if mod.startswith('ansible_collections.probe'):
            monkeypatch.delitem(sys.modules, mod)
    # the test environment's collection loader may answer for ansible_collections.*; a plain zip
    # import is what AnsiballZ does, so only check that the payload's module_utils is loaded when it can be
    count = S.preload_payload()
    if name in sys.modules:
        assert sys.modules[name].VALUE == 42
        assert count >= 1
    assert 'ansible_collections.probe.c.plugins.modules.not_a_util' not in sys.modules


# ---------------------------------------------------------------- real jobs


def test_launch_returns_once_the_record_exists_and_streams_output(async_dir, fifo):
    spec = S.JobSpec(argv=['sh', '-c', 'echo first; echo oops >&2; read x < "%s"; echo "got $x $ASYNCOPS_JOB_ID"' % fifo])
    launched = S.launch(spec, async_dir)
    jid = launched['ansible_job_id']
    assert launched['started'] and not launched['finished'] and launched['changed']
    assert launched['results_file'] == os.path.join(async_dir, jid)
    record = _record.read_record(async_dir, jid)  # exists when launch returns
    ao = record['asyncops']
    assert not _record.is_finished(record)
    assert ao['state'] == 'running' and ao['pid'] == launched['asyncops']['pid'] == ao['pgid']
    assert ao['pid_start'] == _proc.process_start_time(ao['pid'])
    assert ao['supervisor_pid'] == launched['asyncops']['supervisor_pid'] != os.getpid()
    # the launch says when the job really started, as the record does
    assert launched['asyncops'] == {'state': 'running', 'started_at': ao['started_at'], 'pid': ao['pid'],
                                    'supervisor_pid': ao['supervisor_pid'], 'cmd': ao['cmd'], 'kind': 'run',
                                    'name': None}
    # the result contract: core's async launch keys at the top level, nothing else
    assert set(launched) == {'changed', 'started', 'finished', 'ansible_job_id', 'results_file', 'asyncops'}
    assert _liveness.job_processes_alive(record, jid)
    assert os.getpgid(ao['pid']) == ao['pid']
    assert os.getsid(ao['supervisor_pid']) != os.getsid(0)  # detached from our session
    assert stat.S_IMODE(os.stat(async_dir).st_mode) == 0o700
    paths = _record.job_paths(async_dir, jid)
    # the output is in the sidecars while the job still blocks on the FIFO
    deadline = time.monotonic() + 10
    while os.path.getsize(paths.out) < 6 or os.path.getsize(paths.err) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert open(paths.out).read() == 'first\n'
    assert open(paths.err).read() == 'oops\n'
    open_gate(fifo, b'it\n')
    record = finished_record(async_dir, launched)
    assert record['finished'] and record['started'] and record['ansible_job_id'] == jid
    assert record['stdout'] == 'first\ngot it %s' % jid
    assert record['stdout_lines'] == ['first', 'got it %s' % jid]
    assert record['stderr'] == 'oops'
    assert record['rc'] == 0 and not record['failed'] and record['changed']
    assert record['asyncops']['state'] == 'succeeded'
    assert record['asyncops']['ended_at'] >= record['asyncops']['started_at']
    assert set(record['asyncops']['resources']) == {'cpu_user', 'cpu_system', 'max_rss_kb'}
    # one shape: the running block plus how it ended, every key declared in _record.AsyncopsBlock
    assert set(ao) <= set(record['asyncops']) <= set(_record.AsyncopsBlock.__annotations__)
    assert record['asyncops']['reason'] == 'exited' and record['asyncops']['signals_sent'] == []
    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_launch_does_not_hold_the_callers_pipes(async_dir, tmp_path):
    """The property that keeps a connection free: the launcher's stdout/stderr reach EOF while the job runs."""
    script = textwrap.dedent('''
        import json, sys
        sys.path.insert(0, %r)
        from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor as S
        print(json.dumps(S.launch(S.JobSpec(argv=['sleep', '30'], time_limit=20, kill_grace=0), %r)))
    ''' % (COLLECTIONS_ROOT, async_dir))
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.PIPE, timeout=20, check=True)
    spent = time.monotonic() - t0
    launched = json.loads(done.stdout.decode())
    assert spent < 10
    record = record_of(async_dir, launched)
    assert not _record.is_finished(record)
    os.kill(launched['asyncops']['supervisor_pid'], signal.SIGTERM)
    record = finished_record(async_dir, launched)
    assert record['asyncops']['state'] == 'killed'


def test_time_limit_term_grace_kill_with_grandchildren(async_dir):
    spec = S.JobSpec(argv=['sh', '-c', 'trap "" TERM; sleep 30 & echo $!; sleep 30'], time_limit=0.5, kill_grace=0.4)
    result = S.launch(spec, async_dir, wait=True)
    ao = result['asyncops']
    assert ao['state'] == 'timeout' and ao['reason'] == 'timeout'
    assert ao['signal'] == 'SIGKILL' and ao['signals_sent'] == ['SIGTERM', 'SIGKILL']
    assert result['rc'] == -9 and result['failed']
    assert result['msg'] == ('the job exceeded its time limit of 0.5s: SIGTERM was sent to its process group, '
                             'then SIGKILL after 0.4s')
    overshoot = ao['ended_at'] - ao['started_at'] - ao['time_limit'] - ao['kill_grace']
    assert -0.01 < overshoot < 0.5
    grandchild = int(result['stdout'])
    assert not alive(grandchild)
    with pytest.raises(ProcessLookupError):
        os.killpg(ao['pgid'], 0)


def test_time_limit_obeyed_is_immediate(async_dir):
    result = S.launch(S.JobSpec(argv=['sleep', '30'], time_limit=0.3, kill_grace=5), async_dir, wait=True)
    ao = result['asyncops']
    assert ao['state'] == 'timeout' and ao['signal'] == 'SIGTERM' and ao['signals_sent'] == ['SIGTERM']
    assert ao['ended_at'] - ao['started_at'] - 0.3 < 0.5


@pytest.mark.skipif(not LINUX, reason='orphans are reaped by the subreaper on Linux')
def test_processes_left_in_the_group_are_stopped(async_dir):
    # the child ignores SIGTERM from birth (no race with the main process's exit)
    spec = S.JobSpec(argv=['sh', '-c', 'trap "" TERM; sleep 30 & echo $!'], kill_grace=0.3)
    result = S.launch(spec, async_dir, wait=True)
    ao = result['asyncops']
    assert ao['state'] == 'succeeded' and result['rc'] == 0
    assert ao['signals_sent'] == ['SIGTERM', 'SIGKILL']
    assert ao['ended_at'] - ao['started_at'] >= 0.3
    assert not alive(int(result['stdout']))


def test_stdin_env_chdir_and_output_limit(async_dir, tmp_path):
    spec = S.JobSpec(argv=['sh', '-c', 'cat; echo "$FOO $(pwd)"; i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done'],
                     stdin=b'fed\n', env={'FOO': 'bar'}, chdir=str(tmp_path), output_limit=200)
    result = S.launch(spec, async_dir, wait=True, keep_record=True)
    assert result['stdout_lines'][-1] == 'line299'
    assert len(result['stdout']) <= 200
    assert result['asyncops']['stdout_truncated'] > 1000
    assert 'fed' not in result['stdout']
    with open(result['asyncops']['stdout_file'], 'rb') as f:
        assert len(f.read()) == 200
    spec = S.JobSpec(argv=['sh', '-c', 'cat; echo "$FOO $(pwd)"'], stdin=b'x' * 200000, env={'FOO': 'bar'},
                     chdir=str(tmp_path))
    result = S.launch(spec, async_dir, wait=True)
    assert result['stdout'] == 'x' * 200000 + 'bar %s' % tmp_path
    assert result['asyncops']['record_removed']
    assert not os.path.exists(result['asyncops']['stdout_file'])


@pytest.mark.parametrize('strip_empty_ends, stdout, stderr', [
    (True, 'out\n\nmore', 'err'),
    (False, 'out\n\nmore\n\n\n', 'err\r\n\n'),
])
def test_strip_empty_ends_in_the_record(async_dir, strip_empty_ends, stdout, stderr):
    spec = S.JobSpec(argv=['sh', '-c', r'printf "out\n\nmore\n\n\n"; printf "err\r\n\n" >&2'], strip_empty_ends=strip_empty_ends)
    record = finished_record(async_dir, S.launch(spec, async_dir))
    assert (record['stdout'], record['stderr']) == (stdout, stderr)
    assert record['stdout_lines'] == stdout.splitlines() and record['stderr_lines'] == stderr.splitlines()


def test_progress_through_the_environment(async_dir):
    script = ('test "$ASYNCOPS_PROGRESS_FILE" = "$(dirname "$ASYNCOPS_PROGRESS_FILE")/$ASYNCOPS_JOB_ID.progress" && '
              'echo \'{"percent": 40, "message": "copying"}\' > "$ASYNCOPS_PROGRESS_FILE"')
    result = S.launch(S.JobSpec(argv=['sh', '-c', script]), async_dir, wait=True, keep_record=True)
    assert result['rc'] == 0
    progress = _record.read_progress(result['asyncops']['progress_file'])
    assert progress['percent'] == 40 and progress['message'] == 'copying'
    assert result['asyncops']['progress_writer'] == 'job'
    assert stat.S_IMODE(os.stat(result['asyncops']['progress_file']).st_mode) == 0o600


def test_no_progress_path_is_given_when_the_sidecar_cannot_be_made_ours(async_dir, monkeypatch):
    real = _output.create_private

    def refuse_progress(path):
        if path.endswith('.progress'):
            raise _record.UntrustedFile('%s is a symbolic link, not a job record' % path, path)
        return real(path)

    monkeypatch.setattr(_output, 'create_private', refuse_progress)
    result = S.launch(S.JobSpec(argv=['sh', '-c', 'echo "${ASYNCOPS_PROGRESS_FILE:-none}"']), async_dir, wait=True)
    assert result['rc'] == 0 and result['stdout_lines'] == ['none']


def test_progress_regex_makes_the_supervisor_the_writer(async_dir):
    spec = S.JobSpec(argv=['sh', '-c', 'echo "${ASYNCOPS_PROGRESS_FILE:-none}"; printf "10%%\\r55%%\\n" >&2; echo "100% done" >&2'],
                     progress_regex=r'(?P<percent>\d+)%( (?P<message>\w+))?')
    result = S.launch(spec, async_dir, wait=True, keep_record=True)
    assert result['stdout_lines'][0] == 'none'
    progress = _record.read_progress(result['asyncops']['progress_file'])
    assert progress['percent'] == 100 and progress['message'] == 'done'
    assert result['asyncops']['progress_writer'] == 'supervisor'


def test_sigterm_to_the_supervisor_kills_the_job(async_dir):
    launched = S.launch(S.JobSpec(argv=['sleep', '30'], kill_grace=0.5), async_dir)
    os.kill(launched['asyncops']['supervisor_pid'], signal.SIGTERM)
    record = finished_record(async_dir, launched)
    ao = record['asyncops']
    assert (ao['state'], ao['reason'], ao['signal']) == ('killed', 'killed', 'SIGTERM')
    assert record['msg'] == 'the job was killed: its supervisor was asked to stop it (SIGTERM)'
    assert not alive(launched['asyncops']['pid'])


def test_sigusr1_then_the_killer_signals_the_group(async_dir):
    launched = S.launch(S.JobSpec(argv=['sleep', '30']), async_dir)
    os.kill(launched['asyncops']['supervisor_pid'], signal.SIGUSR1)
    try:
        os.killpg(launched['asyncops']['pid'], signal.SIGTERM)
    except ProcessLookupError:
        pass  # on SIGUSR1 the supervisor stops the group too, and may have been first
    record = finished_record(async_dir, launched)
    assert record['asyncops']['state'] == 'killed'
    assert record['msg'] == 'the job was killed from outside (asyncops.jobs.async_status mode=kill)'


def test_a_command_that_cannot_start_fails_the_launch_and_leaves_nothing(async_dir):
    with pytest.raises(S.LaunchError) as e:
        S.launch(S.JobSpec(argv=['/nonexistent/command']), async_dir)
    assert 'No such file or directory' in e.value.msg
    assert e.value.result['rc'] == 2
    assert os.listdir(async_dir) == []
    with pytest.raises(S.LaunchError):
        S.launch(S.JobSpec(argv=['true'], chdir='/nonexistent/dir'), async_dir)
    assert os.listdir(async_dir) == []


def test_target_jobs_run_in_a_fork(async_dir):
    def body():
        return {'changed': True, 'seen': os.environ[_record.PROGRESS_ENV], 'pgid': os.getpgid(0), 'pid': os.getpid()}
    result = S.launch(S.JobSpec(target=body, kind='download', base_result={'dest': '/x', 'url': 'u'}), async_dir,
                      wait=True, keep_record=True)
    assert result['changed'] and not result['failed']
    assert result['seen'] == result['asyncops']['progress_file']
    assert result['pgid'] == result['pid'] == result['asyncops']['pid']
    assert result['dest'] == '/x' and result['asyncops']['kind'] == 'download'
    assert 'stdout' not in result and 'cmd' not in result

    def broken():
        raise RuntimeError('boom')
    result = S.launch(S.JobSpec(target=broken, kind='download'), async_dir, wait=True)
    assert result['failed'] and result['msg'] == 'the job raised RuntimeError: boom'
    assert result['asyncops']['state'] == 'failed'

    def slow():
        time.sleep(30)
        return {}
    result = S.launch(S.JobSpec(target=slow, kind='download', time_limit=0.3, base_result={'dest': '/y'}),
                      async_dir, wait=True)
    assert result['asyncops']['state'] == 'timeout' and result['failed']
    assert result['dest'] == '/y' and 'time limit' in result['msg']


def test_daemon_is_detached(tmp_path):
    def body(fd):
        facts = {'sid': os.getsid(0), 'pid': os.getpid(), 'ppid': os.getppid(),
                 'stdin': os.readlink('/proc/self/fd/0') if LINUX else os.devnull,
                 'stdout': os.readlink('/proc/self/fd/1') if LINUX else os.devnull}
        os.write(fd, (json.dumps(facts) + '\n').encode())
        return 0
    facts, handshake = S.daemonize(body, timeout=10)
    handshake.close()
    assert facts['sid'] != os.getsid(0) and facts['sid'] != facts['pid']
    assert facts['ppid'] != os.getpid()
    assert facts['stdin'] == os.devnull and facts['stdout'] == os.devnull


def test_daemon_failure_is_reported():
    def body(fd):
        raise RuntimeError('cannot')
    first, handshake = S.daemonize(body, timeout=10)
    handshake.close()
    assert first['ok'] is False and 'RuntimeError: cannot' in first['msg']

    def silent(fd):
        return 0
    first, handshake = S.daemonize(silent, timeout=10)
    handshake.close()
    assert first['ok'] is False and 'did not report' in first['msg']


def test_a_missed_sigchld_still_ends_the_job(async_dir, monkeypatch):
    # A SIGCHLD that never reaches the wake-up pipe once left a job without a time limit
    # unreaped: its record said running until the wait timed out.
    take = S.Supervisor._take_signals
    monkeypatch.setattr(S.Supervisor, '_take_signals',
                        lambda self: [sig for sig in take(self) if sig != signal.SIGCHLD])
    launched = S.launch(S.JobSpec(argv=['true']), async_dir)
    record = finished_record(async_dir, launched)
    assert record['asyncops']['state'] == 'succeeded' and record['rc'] == 0


# ---------------------------------------------------------------- faults: the record's size, a full disk

FLOOD_JOBS = {
    'random bytes': 'import os, sys; sys.stdout.buffer.write(os.urandom(300000)); sys.stderr.buffer.write(os.urandom(300000))',
    'NUL bytes': 'import sys; sys.stdout.buffer.write(bytes(300000))',
    'one 10 MB line': 'import sys; sys.stdout.buffer.write(b"x" * 10 * 1024 * 1024)',
    'empty lines': 'import sys; sys.stdout.buffer.write(b"\\n" * 300000); sys.stderr.buffer.write(b"\\r\\n" * 300000)',
}


@pytest.mark.parametrize('kind', sorted(FLOOD_JOBS))
def test_the_final_record_stays_in_its_budget(async_dir, kind):
    limit = 20000
    spec = S.JobSpec(argv=[sys.executable, '-c', FLOOD_JOBS[kind]], output_limit=limit)
    result = S.launch(spec, async_dir, wait=True, keep_record=True)
    with open(result['results_file'], 'rb') as f:
        record_size = len(f.read())
    output_size = sum(len(json.dumps(result[key])) for key in ('stdout', 'stdout_lines', 'stderr', 'stderr_lines'))
    assert output_size <= 2 * limit
    assert record_size <= 2 * limit + 4096  # the rest of the record is small and does not grow with the output
    ao = result['asyncops']
    assert ao['state'] == 'succeeded' and result['rc'] == 0
    # what was dropped is counted: the kept text is the end of the output
    assert ao['stdout_truncated'] > 0
    assert os.path.getsize(ao['stdout_file']) == limit  # the sidecar keeps the whole byte tail
    if kind == 'one 10 MB line':
        assert ao['stdout_truncated'] == 10 * 1024 * 1024 - len(result['stdout'])
        assert len(result['stdout']) > limit * 0.9  # plain text: twice (text and lines) fits the budget


def _failing_final_writes(monkeypatch, record_path_of, failures):
    """Make the first `failures` writes of a final record fail as on a full disk (in the daemon, a fork)."""
    write = _record.atomic_write
    state = {'left': failures}

    def atomic_write(path, data, mode=0o600):
        if os.path.basename(path) == record_path_of() and b'"finished": true' in data and state['left'] > 0:
            state['left'] -= 1
            raise _record.JobError('cannot write %s: no space left on device; the previous content is '
                                   'unchanged' % path, path)
        return write(path, data, mode)

    monkeypatch.setattr(_record, 'atomic_write', atomic_write)


@pytest.mark.parametrize('code', [0, 3])
def test_a_full_disk_loses_the_tails_first(async_dir, monkeypatch, code):
    jid = _record.new_jid()
    monkeypatch.setattr(_record, 'new_jid', lambda: jid)
    _failing_final_writes(monkeypatch, lambda: jid, 1)
    spec = S.JobSpec(argv=['sh', '-c', 'echo out; echo err >&2; exit %d' % code])
    record = finished_record(async_dir, S.launch(spec, async_dir))
    ao = record['asyncops']
    assert ao['state'] == ('succeeded' if code == 0 else 'failed') and ao['rc'] == code == record['rc']
    assert ao['reason'] == 'exited'
    assert record['stdout'] == '' and record['stdout_lines'] == [] and record['stderr'] == ''
    assert S.NO_SPACE_TAILS_MSG in record['msg'] and ao['warnings'] == [S.NO_SPACE_TAILS_MSG]
    assert ao['stdout_truncated'] == 4 and ao['stderr_truncated'] == 4


@pytest.mark.parametrize('code', [0, 3])
def test_a_full_disk_leaves_a_minimal_record_in_the_reserved_space(async_dir, monkeypatch, fifo, code):
    jid = _record.new_jid()
    monkeypatch.setattr(_record, 'new_jid', lambda: jid)
    _failing_final_writes(monkeypatch, lambda: jid, 2)
    spec = S.JobSpec(argv=['sh', '-c', 'echo out; read x < "%s"; exit %d' % (fifo, code)], time_limit=60)
    launched = S.launch(spec, async_dir)
    running_size = os.path.getsize(launched['results_file'])
    open_gate(fifo)
    record = finished_record(async_dir, launched)
    ao = record['asyncops']
    assert ao['state'] == ('succeeded' if code == 0 else 'failed') and ao['rc'] == code == record['rc']
    assert record['failed'] == (code != 0) and record['finished']
    assert record['msg'].startswith(S.NO_SPACE_MINIMAL_MSG) and 'no space left on device' in record['msg']
    assert ao['warnings'] == [S.NO_SPACE_MINIMAL_MSG]
    assert _record.record_state(record) == ao['state'] != 'lost'
    # still the keys ansible.builtin.command returns, without the output
    assert (record['stdout'], record['stdout_lines'], record['stderr'], record['stderr_lines']) == ('', [], '', [])
    assert record['cmd'] == spec.cmd and record['changed'] and 'delta' in record
    assert os.path.getsize(launched['results_file']) < running_size  # written in place, then cut
    assert running_size >= S.Supervisor(spec, async_dir, jid).reserve_size() - S.RESERVE_MARGIN


def test_the_running_record_reserves_room_and_still_reads(async_dir, fifo):
    spec = S.JobSpec(argv=['sh', '-c', 'read x < "%s"' % fifo], cmd='x' * 5000)
    launched = S.launch(spec, async_dir)
    path = launched['results_file']
    with open(path, 'rb') as f:
        data = f.read()
    body = data.rstrip(b' ')
    record = _record.read_record(async_dir, launched['ansible_job_id'])
    assert record['asyncops']['state'] == 'running'
    minimal = S.Supervisor(spec, async_dir, launched['ansible_job_id']).reserve_size()
    assert len(data) >= minimal and len(data) > len(body)  # padded with blanks JSON allows
    open_gate(fifo)
    assert finished_record(async_dir, launched)['asyncops']['state'] == 'succeeded'


def _mount_tmpfs(path, size):
    if os.geteuid() != 0 or not LINUX:
        pytest.skip('mounting a tmpfs needs root on Linux')
    os.makedirs(path)
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0700' % size, 'tmpfs', path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        pytest.skip('cannot mount a tmpfs here: %s' % done.stdout.decode('utf-8', 'replace').strip())


def _fill(directory):
    """Write a file in directory until the disk is full (64 KiB, then page by page); its size."""
    size = 0
    with open(os.path.join(directory, 'filler'), 'wb', buffering=0) as f:
        for chunk in (65536, 4096, 1):
            while True:
                try:
                    size += f.write(b'\0' * chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    return size


@pytest.mark.parametrize('code', [0, 3])
def test_a_job_on_a_full_tmpfs_keeps_its_rc(tmp_path, fifo, code):
    mountpoint = str(tmp_path / 'small')
    _mount_tmpfs(mountpoint, '2m')
    try:
        async_dir = os.path.join(mountpoint, 'async')
        spec = S.JobSpec(argv=['sh', '-c', 'echo started; read x < "%s"; i=0; while [ $i -lt 2000 ]; do '
                                           'echo "line $i"; i=$((i+1)); done; exit %d' % (fifo, code)])
        launched = S.launch(spec, async_dir)
        _fill(mountpoint)
        open_gate(fifo)
        record = finished_record(async_dir, launched)
        ao = record['asyncops']
        assert ao['rc'] == code == record['rc'], record
        assert ao['state'] == ('succeeded' if code == 0 else 'failed') != 'lost'
        assert 'no space left on device' in record['msg']
        # nothing could be written but over the running record's reserved blocks
        assert ao['warnings'] == [S.NO_SPACE_MINIMAL_MSG] and record['msg'].startswith(S.NO_SPACE_MINIMAL_MSG)
    finally:
        subprocess.run(['umount', '-l', mountpoint], check=True)


def test_a_host_without_procfs_is_told_in_the_record(async_dir, fifo, monkeypatch):
    """Without /proc the strays of a job cannot be found: the record says so from the start to the end."""
    monkeypatch.setattr(_proc, 'have_procfs', lambda: False)
    launched = S.launch(S.JobSpec(argv=['sh', '-c', 'read x < "%s"' % fifo]), async_dir)
    running = _record.read_record(async_dir, launched['ansible_job_id'])
    assert running['asyncops']['warnings'] == [S.NO_PROCFS_MSG]
    open_gate(fifo)
    final = finished_record(async_dir, launched)
    assert final['asyncops']['state'] == 'succeeded' and final['asyncops']['warnings'] == [S.NO_PROCFS_MSG]


def test_with_procfs_the_record_has_no_such_warning(async_dir):
    launched = S.launch(S.JobSpec(argv=['true']), async_dir)
    assert 'warnings' not in finished_record(async_dir, launched)['asyncops']


# ---------------------------------------------------------------- check mode

def test_check_mode_launch_names_no_record(async_dir):
    spec = S.JobSpec(argv=['true'], cmd=['true'], name='t', time_limit=5.0, kill_grace=1.0)
    result = S.check_mode_launch(spec, 'would start it')
    assert (result['changed'], result['started'], result['finished'], result['msg']) == (True, False, False,
                                                                                         'would start it')
    assert _record.is_check_mode_jid(result['ansible_job_id'])
    assert result['asyncops'] == {'state': 'not_started', 'check_mode': True, 'kind': 'run', 'name': 't',
                                  'cmd': 'true', 'time_limit': 5.0, 'kill_grace': 1.0}
    assert not os.path.exists(async_dir)
