# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the supervisor's module jobs (plugins/module_utils/_supervisor.py, kind 'module').

A module job is what the async_wrapper replacement starts: its stdout is its
result, it ends with its main process unless it is being stopped, its record
has core's shape, the progress sidecar is folded into the running record, and
the task's tmp dir (cleanup_dir) and the sidecars go once the record is final.
The state machine is driven with made-up times; the rest starts real daemons
and waits for the supervisor's exit (a pidfd) or for a FIFO the job blocks on.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor as S
from ansible_collections.asyncops.jobs.tests.unit.helpers import alive, linux_only, open_gate, record_of, wait_for, wait_gone


def exited(code):
    return code << 8


def module_spec(script, **kw):
    """A module job running a Python script (dedented)."""
    kw.setdefault('kind', _record.KIND_MODULE)
    return S.JobSpec(argv=[sys.executable, '-c', textwrap.dedent(script)], **kw)


def finished(async_dir, launched):
    wait_gone(launched['asyncops']['supervisor_pid'])
    return record_of(async_dir, launched)


# ---------------------------------------------------------------- the state machine

class TestEndsWithLeader:

    def test_the_leader_s_exit_ends_the_job_even_if_its_group_lives(self):
        sm = S.Supervision(time_limit=10, kill_grace=2, ends_with_leader=True)
        sm.start(0.0)
        assert sm.leader_exited(exited(0), 1.0, group_alive=True) == []
        assert sm.done and sm.finished_at == 1.0
        assert sm.wakeup() is None and sm.tick(100.0) == []
        assert sm.outcome() == {'state': 'succeeded', 'reason': 'exited', 'rc': 0, 'signal': None, 'signals_sent': []}
        # a job of another kind ends with its group
        other = S.Supervision(time_limit=10, kill_grace=2)
        other.start(0.0)
        assert other.leader_exited(exited(0), 1.0, group_alive=True) == ['SIGTERM'] and not other.done

    def test_at_the_time_limit_it_waits_for_the_group(self):
        sm = S.Supervision(time_limit=10, kill_grace=2, ends_with_leader=True)
        sm.start(0.0)
        assert sm.tick(10.0) == ['SIGTERM']
        assert sm.leader_exited(signal.SIGTERM, 10.1, group_alive=True) == []
        assert not sm.done and sm.wakeup() == 12.0
        assert sm.group_changed(11.0, group_alive=True) == []
        assert sm.tick(12.0) == ['SIGKILL']
        assert sm.group_changed(12.1, group_alive=True) == [] and not sm.done
        assert sm.group_changed(12.2, group_alive=False) == []
        assert sm.done and sm.finished_at == 12.2
        assert sm.outcome() == {'state': 'timeout', 'reason': 'timeout', 'rc': -signal.SIGTERM, 'signal': 'SIGTERM',
                                'signals_sent': ['SIGTERM', 'SIGKILL']}

    def test_during_a_requested_stop_it_waits_for_the_group(self):
        sm = S.Supervision(kill_grace=1, ends_with_leader=True)
        sm.start(0.0)
        assert sm.stop_requested(5.0) == ['SIGTERM']
        assert sm.leader_exited(exited(0), 5.1, group_alive=True) == [] and not sm.done
        assert sm.group_changed(5.2, group_alive=False) == [] and sm.done
        out = sm.outcome()
        assert (out['state'], out['reason'], out['rc'], out['signals_sent']) == ('killed', 'killed', 0, ['SIGTERM'])


# ---------------------------------------------------------------- real module jobs

def test_jobspec_of_kind_module():
    spec = module_spec('pass', cleanup_dir='/tmp/ansible-tmp-1/x')
    assert spec.module and spec.cleanup_dir == '/tmp/ansible-tmp-1/x'
    assert not S.JobSpec(argv=['true']).module and S.JobSpec(argv=['true']).cleanup_dir is None
    assert spec.job_block()['kind'] == 'module'


@linux_only
def test_the_job_ends_with_its_main_process_what_it_left_lives_on(async_dir, procs):
    """As under core: a process left in the group, or in a session of its own, outlives the module's end."""
    spec = module_spec('''
        import json, subprocess
        in_group = subprocess.Popen(['sleep', '60'])  # keeps the result pipe open: the supervisor must not wait
        own_session = subprocess.Popen(['sleep', '60'], start_new_session=True, stdout=subprocess.DEVNULL)
        print(json.dumps({'changed': False, 'left': [in_group.pid, own_session.pid]}))
    ''', time_limit=60, kill_grace=0.5)
    launched = S.launch(spec, async_dir)
    procs.add(launched['asyncops']['pid'])
    record = finished(async_dir, launched)
    in_group, own_session = record['left']
    procs.add(in_group, own_session)
    ao = record['asyncops']
    assert (ao['state'], ao['reason'], ao['rc'], ao['signals_sent']) == ('succeeded', 'exited', 0, [])
    assert ao['ended_at'] - ao['started_at'] < 5.0
    assert alive(in_group) and os.getpgid(in_group) == ao['pgid']
    assert alive(own_session)
    for pid in (in_group, own_session):
        os.kill(pid, signal.SIGKILL)


@linux_only
def test_a_stop_waits_for_what_the_module_left_in_its_group(async_dir, procs):
    spec = module_spec('''
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen(['sleep', '60'])  # born ignoring SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        time.sleep(60)
    ''', time_limit=1, kill_grace=0.5)
    launched = S.launch(spec, async_dir)
    procs.add(launched['asyncops']['pid'])
    record = finished(async_dir, launched)
    ao = record['asyncops']
    assert (ao['state'], ao['signal'], ao['signals_sent']) == ('timeout', 'SIGTERM', ['SIGTERM', 'SIGKILL'])
    assert 1.5 <= ao['ended_at'] - ao['started_at'] < 2.0
    with pytest.raises(ProcessLookupError):
        os.killpg(ao['pgid'], 0)
    assert record['msg'] == ('Timeout exceeded: the job exceeded its time limit of 1s: SIGTERM was sent to its '
                             'process group, then SIGKILL after 0.5s')


@linux_only
def test_running_record_and_progress_folded_into_it(async_dir, tmp_path):
    gates = [str(tmp_path / 'gate1'), str(tmp_path / 'gate2')]
    for gate in gates:
        os.mkfifo(gate)
    spec = module_spec('''
        import json, os
        def report(percent):
            with open(os.environ['ASYNCOPS_PROGRESS_FILE'], 'w') as f:
                json.dump({'percent': percent, 'message': 'at %%d' %% percent}, f)
        report(30)
        open(%r).read()
        report(60)
        open(%r).read()
        print(json.dumps({'changed': True}))
    ''' % tuple(gates), name='fold')
    launched = S.launch(spec, async_dir)
    jid = launched['ansible_job_id']
    assert launched['asyncops']['kind'] == 'module' and launched['asyncops']['name'] == 'fold'

    def folded(percent):
        record = _record.read_record(async_dir, jid)
        progress = record['asyncops'].get('progress')
        return record if progress and progress['percent'] == percent else None

    record = wait_for(lambda: folded(30), 'the first report folded into the running record')
    assert set(record) == {'started', 'finished', 'ansible_job_id', 'asyncops'} and record['finished'] is False
    assert record['asyncops']['state'] == 'running' and record['asyncops']['pid'] == launched['asyncops']['pid']
    assert record['asyncops']['progress']['message'] == 'at 30'
    open_gate(gates[0])
    wait_for(lambda: folded(60), 'the second report folded into the running record')
    open_gate(gates[1])
    final = finished(async_dir, launched)
    assert final['changed'] is True and final['asyncops']['progress']['percent'] == 60
    assert 'started' not in final and 'failed' not in final
    assert os.listdir(async_dir) == [jid]  # the sidecars are gone, their content is in the record


@linux_only
def test_a_module_that_dies_of_a_signal_gets_core_s_failure(async_dir):
    spec = module_spec('''
        import os, signal, sys
        print('half a result {', flush=True)
        sys.stderr.write('dying\\n')
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    ''', cmd='the module')
    record = finished(async_dir, S.launch(spec, async_dir))
    assert set(record) == {'failed', 'cmd', 'data', 'stderr', 'msg', 'ansible_job_id', 'asyncops'}
    assert (record['failed'], record['cmd'], record['data']) == (True, 'the module', 'half a result {\n')
    assert record['stderr'] == 'dying\n' and record['msg'] == 'the job was killed by SIGKILL'
    ao = record['asyncops']
    assert (ao['state'], ao['reason'], ao['signal'], ao['rc']) == ('failed', 'signalled', 'SIGKILL', -9)


@linux_only
def test_an_exit_code_does_not_override_what_the_module_printed(async_dir):
    """Core reads the printed result whatever the exit code; the code is in the block."""
    spec = module_spec('import json, sys\nprint(json.dumps({"changed": True}))\nsys.exit(3)')
    record = finished(async_dir, S.launch(spec, async_dir))
    assert record['changed'] is True and 'failed' not in record
    assert record['asyncops']['state'] == 'succeeded' and record['asyncops']['rc'] == 3


@linux_only
def test_cleanup_dir_is_removed_once_the_record_is_final(async_dir, tmp_path):
    remote = tmp_path / 'ansible-tmp-1-2-3'
    remote.mkdir()
    (remote / 'AnsiballZ_x.py').write_text('')
    spec = module_spec('print("{}")', cleanup_dir=str(remote))
    record = finished(async_dir, S.launch(spec, async_dir))
    assert record['asyncops']['state'] == 'succeeded'
    assert not remote.exists()


@linux_only
def test_cleanup_dir_that_is_a_link_or_a_file_is_left_alone(async_dir, tmp_path):
    target = tmp_path / 'precious'
    target.mkdir()
    (target / 'keep').write_text('x')
    link = tmp_path / 'ansible-tmp-link'
    link.symlink_to(target)
    finished(async_dir, S.launch(module_spec('print("{}")', cleanup_dir=str(link)), async_dir))
    assert link.is_symlink() and (target / 'keep').exists()
    plain = tmp_path / 'ansible-tmp-file'
    plain.write_text('x')
    finished(async_dir, S.launch(module_spec('print("{}")', cleanup_dir=str(plain)), async_dir))
    assert plain.read_text() == 'x'


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a directory to another user')
def test_cleanup_dir_of_the_login_user_is_removed_by_root_as_core_does(async_dir, tmp_path):
    """Under become to root the task's tmp dir is the SSH login user's: core's wrapper removes it, so do we."""
    other = tmp_path / 'ansible-tmp-other'
    other.mkdir()
    (other / 'theirs').write_text('x')
    os.chown(str(other), 65534, 65534)
    finished(async_dir, S.launch(module_spec('print("{}")', cleanup_dir=str(other)), async_dir))
    assert not other.exists()


@linux_only
def test_launch_with_the_caller_s_jid(async_dir):
    launched = S.launch(module_spec('print("{}")'), async_dir, jid='j4242.%d' % os.getpid())
    assert launched['ansible_job_id'] == 'j4242.%d' % os.getpid()
    assert finished(async_dir, launched)['ansible_job_id'] == launched['ansible_job_id']
    os.unlink(os.path.join(async_dir, launched['ansible_job_id']))
    with pytest.raises(_record.InvalidJid):
        S.launch(module_spec('print("{}")'), async_dir, jid='../j1.2')
    assert os.listdir(async_dir) == []


@linux_only
def test_module_result_keys_when_the_output_is_not_json(async_dir):
    """The final record of a module job that printed junk and exited 0: failed, core's keys."""
    record = finished(async_dir, S.launch(module_spec('print("all good, no json")'), async_dir))
    assert record['failed'] is True and record['data'] == 'all good, no json\n' and record['stderr'] == ''
    assert 'No start of json char found' in record['msg']
    assert record['asyncops']['state'] == 'failed' and record['asyncops']['rc'] == 0
