# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the async_wrapper replacement (plugins/module_utils/_async_wrapper.py), without Ansible.

The command lines are those ansible-core builds in ActionBase._execute_module:
2.19 and later ``<interpreter> <wrapper> <jid> <limit> true|false <module> <interpreter> <module> [<args>]``,
2.17 and 2.18 ``<interpreter> <wrapper> <jid> <limit> <module> <args>|_ [-preserve_tmp]``.
The end-to-end tests run a fake module (a Python script in a directory named as
core names a task's remote tmp dir) and wait for the supervisor's exit (a pidfd)
before they read the final record. The opt-out (ASYNCOPS_SUPERVISE=false) is in test_core_wrapper.py.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_wrapper as W
from ansible_collections.asyncops.jobs.plugins.module_utils import _module_result
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor
from ansible_collections.asyncops.jobs.tests.unit.helpers import alive, linux_only, open_gate, run_status, wait_for, wait_gone
from ansible_collections.asyncops.jobs.tests.unit.plugins.module_utils.async_wrapper_fakes import (
    COLLECTIONS_ROOT, WRAPPER_SCRIPT, Task)


@pytest.fixture
def task(tmp_path):
    return Task(tmp_path)


def env_of(async_dir, **knobs):
    return dict({'ANSIBLE_ASYNC_DIR': async_dir}, **knobs)


def start(task, argv, async_dir, procs, **knobs):
    """Run the wrapper in this process; the start result (exit code 0 asserted)."""
    result, code = W.run(argv, env_of(async_dir, **knobs))
    assert code == 0, result
    procs.add(result['asyncops']['supervisor_pid'], result['asyncops']['pid'])
    return result


def final(async_dir, started):
    """The final record once the job's supervisor is gone (it cleans up before it exits)."""
    wait_gone(started['asyncops']['supervisor_pid'])
    return _record.read_record(async_dir, started['ansible_job_id'])


# ---------------------------------------------------------------- parse_argv

def test_parse_the_command_line_of_core_2_19_and_later():
    module = '/home/u/.ansible/tmp/ansible-tmp-1-2-3/AnsiballZ_ping.py'
    argv = ['/home/u/.ansible/tmp/ansible-tmp-1-2-3/AnsiballZ_async_wrapper.py', 'j123456', '45', 'false', module,
            '/usr/bin/python3.12', module]
    assert W.parse_argv(argv) == W.WrapperArgs('j123456', 45.0, False, module, ['/usr/bin/python3.12', module],
                                               '/usr/bin/python3.12 ' + module, True)
    with_args = W.parse_argv(argv[:3] + ['True'] + argv[4:] + ['/home/u/.ansible/tmp/ansible-tmp-1-2-3/args'])
    assert with_args.preserve_tmp is True and with_args.booleans is True
    assert with_args.module_argv == ['/usr/bin/python3.12', module, '/home/u/.ansible/tmp/ansible-tmp-1-2-3/args']
    # the command of core's failure results, quoted as a shell would need it
    spaced = W.parse_argv(argv[:6] + ['/tmp/a dir/m.py'])
    assert spaced.cmd == "/usr/bin/python3.12 '/tmp/a dir/m.py'" and shlex.split(spaced.cmd) == spaced.module_argv


def test_2_19_form_preserve_is_what_core_said_whatever_the_directory():
    """From 2.19 core decides (keep_remote_files); the '-tmp-' rule is the older cores' only."""
    argv = ['w', '123', '5', 'FALSE', '/srv/modules/m.py', '/usr/bin/python3', '/srv/modules/m.py']
    assert W.parse_argv(argv).preserve_tmp is False
    assert W.parse_argv(argv[:3] + ['true'] + argv[4:]).preserve_tmp is True


def test_parse_the_command_line_of_core_2_17(tmp_path):
    tmpdir = tmp_path / 'ansible-tmp-1764760000.1-77-88'
    tmpdir.mkdir()
    module = str(tmpdir / 'AnsiballZ_command.py')
    with open(module, 'w') as f:
        f.write('#!/usr/bin/env  python3 -u\n# -*- coding: utf-8 -*-\n')
    parsed = W.parse_argv(['wrapper.py', 'j98765', '3600', module, '_'])
    assert parsed == W.WrapperArgs('j98765', 3600.0, False, module, ['/usr/bin/env', 'python3', '-u', module], module,
                                   False)
    args = str(tmpdir / 'args')
    parsed = W.parse_argv(['wrapper.py', 'j98765', '3600', module, args])
    assert parsed.module_argv == ['/usr/bin/env', 'python3', '-u', module, args]
    assert parsed.cmd == '%s %s' % (module, args) and parsed.preserve_tmp is False
    assert W.parse_argv(['wrapper.py', 'j98765', '3600', module, args, '-preserve_tmp']).preserve_tmp is True
    assert W.parse_argv(['wrapper.py', 'j98765', '3600', module, '_', '-other']).preserve_tmp is False


def test_2_17_form_a_directory_that_is_not_a_task_tmp_dir_is_preserved(tmp_path):
    module = str(tmp_path / 'AnsiballZ_x.py')
    assert '-tmp-' not in str(tmp_path)
    assert W.parse_argv(['w', 'j1', '10', module, '_']).preserve_tmp is True


def test_2_17_form_interpreter_from_the_shebang_only(tmp_path):
    plain = tmp_path / 'binary_module'
    plain.write_bytes(b'\x7fELF\x02\x01\x01\n')
    assert W.parse_argv(['w', 'j1', '10', str(plain), '_']).module_argv == [str(plain)]
    unterminated = tmp_path / 'no_newline'
    unterminated.write_bytes(b'#!/usr/bin/python3' + b' ' * 2000)
    assert W.parse_argv(['w', 'j1', '10', str(unterminated), '_']).module_argv == [str(unterminated)]
    missing = str(tmp_path / 'missing.py')
    assert W.parse_argv(['w', 'j1', '10', missing, '_']).module_argv == [missing]


@pytest.mark.parametrize('argv', [
    [],
    ['w'],
    ['w', 'j1', '10', 'false'],                     # too few
    ['w', 'j1', '10', 'true', '/tmp/m.py'],         # 2.19 form without the module's command
])
def test_too_few_arguments(argv):
    with pytest.raises(W.UsageError) as e:
        W.parse_argv(argv)
    assert str(e.value) == W.USAGE


@pytest.mark.parametrize('prefix', ['abc', '', 'j12.3', '../j1', 'j1 ', 'J1', 'j' + '1' * 21])
def test_a_bad_jid_prefix(prefix):
    with pytest.raises(W.UsageError, match='is not a job id prefix'):
        W.parse_argv(['w', prefix, '10', 'false', '/tmp/m.py', 'python3', '/tmp/m.py'])


@pytest.mark.parametrize('limit', ['soon', '', '1m', '10s'])
def test_a_bad_time_limit(limit):
    with pytest.raises(W.UsageError, match='the time limit .* is not a number'):
        W.parse_argv(['w', 'j1', limit, 'false', '/tmp/m.py', 'python3', '/tmp/m.py'])


def test_a_time_limit_that_is_not_a_number_of_seconds():
    with pytest.raises(W.UsageError, match="'nan'"):
        W.parse_argv(['w', 'j1', 'nan', 'false', '/tmp/m.py', 'python3', '/tmp/m.py'])


# ---------------------------------------------------------------- the environment knobs

@pytest.mark.parametrize('value', ['false', 'False', ' OFF ', 'no', '0', 'off'])
def test_opt_out_values(value):
    assert W.supervised({W.SUPERVISE_ENV: value}) is False


@pytest.mark.parametrize('value', [None, '', 'true', 'yes', '1', 'on', 'anything'])
def test_supervised_unless_opted_out(value):
    assert W.supervised({} if value is None else {W.SUPERVISE_ENV: value}) is True


@pytest.mark.parametrize('value, seconds', [(None, _supervisor.DEFAULT_KILL_GRACE), ('', _supervisor.DEFAULT_KILL_GRACE),
                                            ('10', 10.0), ('10s', 10.0), ('1m', 60.0), (' 2.5 ', 2.5), ('0', 0.0)])
def test_kill_grace(value, seconds):
    assert W.kill_grace({} if value is None else {W.KILL_GRACE_ENV: value}) == seconds


@pytest.mark.parametrize('value', ['abc', '-1', '5 parsecs', 'inf'])
def test_a_bad_kill_grace_is_a_usage_error(value):
    with pytest.raises(W.UsageError) as e:
        W.kill_grace({W.KILL_GRACE_ENV: value})
    assert str(e.value).startswith('ASYNCOPS_KILL_GRACE=%s: invalid duration' % value.strip())


# ---------------------------------------------------------------- start_result

def test_start_result_of_core_2_19_and_later_has_booleans():
    args = W.parse_argv(['w', 'j1', '10', 'false', '/t/ansible-tmp-1/m.py', 'python3', '/t/ansible-tmp-1/m.py'])
    result = W.start_result(args, 'j1.42', '/a/j1.42')
    assert result == {'failed': False, 'started': True, 'finished': False, 'ansible_job_id': 'j1.42',
                      'results_file': '/a/j1.42', '_ansible_suppress_tmpdir_delete': True}
    assert all(isinstance(result[k], bool) for k in ('failed', 'started', 'finished'))


def test_start_result_of_core_2_17_has_ones_and_zeros(tmp_path):
    args = W.parse_argv(['w', 'j1', '10', str(tmp_path / 'm.py'), '_'])
    result = W.start_result(args, 'j1.42', '/a/j1.42')
    assert result == {'failed': 0, 'started': 1, 'finished': 0, 'ansible_job_id': 'j1.42',
                      'results_file': '/a/j1.42', '_ansible_suppress_tmpdir_delete': False}
    assert not any(isinstance(result[k], bool) for k in ('failed', 'started', 'finished'))  # 1/0, not True/False


# ---------------------------------------------------------------- run(): refusals launch nothing

@pytest.mark.parametrize('argv', [['w'], ['w', 'bad', '10', 'false', '/m.py', 'python3', '/m.py'],
                                  ['w', 'j1', 'ten', 'false', '/m.py', 'python3', '/m.py']])
def test_usage_errors_exit_1_and_launch_nothing(async_dir, argv):
    result, code = W.run(argv, env_of(async_dir))
    assert code == 1 and set(result) == {'failed', 'msg'} and result['failed'] is True
    assert W.USAGE in result['msg']
    assert not os.path.exists(async_dir)


def test_a_bad_kill_grace_exits_1_and_launches_nothing(async_dir, task):
    result, code = W.run(task.argv_new(), env_of(async_dir, ASYNCOPS_KILL_GRACE='soon'))
    assert code == 1 and result['failed'] is True
    assert result['msg'].startswith('ASYNCOPS_KILL_GRACE=soon: ')
    assert not os.path.exists(async_dir)


def test_a_negative_time_limit_exits_1_and_launches_nothing(async_dir, task):
    result, code = W.run(task.argv_new(limit=-5), env_of(async_dir))
    assert (code, result) == (1, {'failed': True, 'msg': 'time_limit must not be negative'})
    assert not os.path.exists(async_dir)


def test_an_untrusted_async_dir_exits_1(tmp_path, task):
    real = tmp_path / 'elsewhere'
    real.mkdir(mode=0o700)
    link = tmp_path / 'link'
    link.symlink_to(real)
    result, code = W.run(task.argv_new(), env_of(str(link)))
    assert code == 1 and result['failed'] is True and 'symbolic link' in result['msg']
    assert os.listdir(str(real)) == []


def test_a_2_17_module_that_cannot_be_started(async_dir, task):
    """No interpreter in the command, no such file: the launch fails at once, with core's cmd and rc."""
    os.unlink(task.module)
    result, code = W.run(task.argv_old(args_file=False), env_of(async_dir))
    assert code == 1
    assert set(result) == {'failed', 'msg', 'rc', 'cmd'} and result['failed'] is True
    assert result['rc'] == 2 and result['cmd'] == task.module and 'No such file or directory' in result['msg']
    assert os.listdir(async_dir) == []


# ---------------------------------------------------------------- end to end, supervised

@linux_only
def test_a_module_s_result_is_its_record_in_core_s_shape(async_dir, task, procs):
    printed = {'changed': True, 'msg': 'done', 'answer': 42, 'nested': {'a': [1, None]}, 'warnings': ['mine']}
    task.configure(gate=task.gate, result=printed, before='motd\n', after='\ntrailing junk\n')
    started = start(task, task.argv_new(limit=60), async_dir, procs)
    jid = task.jid()
    # core's start result, booleans as 2.19+ writes them; the job's details under asyncops only
    assert set(started) == {'failed', 'started', 'finished', 'ansible_job_id', 'results_file',
                            '_ansible_suppress_tmpdir_delete', 'asyncops'}
    assert (started['failed'], started['started'], started['finished']) == (False, True, False)
    assert started['ansible_job_id'] == jid and started['results_file'] == os.path.join(async_dir, jid)
    assert started['_ansible_suppress_tmpdir_delete'] is True
    ao = started['asyncops']
    assert set(ao) == {'state', 'started_at', 'pid', 'supervisor_pid', 'cmd', 'kind', 'name'}
    assert (ao['state'], ao['kind'], ao['name']) == ('running', 'module', None)
    assert ao['cmd'] == shlex.join([sys.executable, task.module])
    assert ao['pid'] == int(task.note('pid')) and ao['supervisor_pid'] not in (os.getpid(), ao['pid'])
    assert stat.S_IMODE(os.stat(async_dir).st_mode) == 0o700
    running = _record.read_record(async_dir, jid)
    assert set(running) == {'started', 'finished', 'ansible_job_id', 'asyncops'}
    assert (running['started'], running['finished'], running['ansible_job_id']) == (True, False, jid)
    assert running['asyncops']['kind'] == 'module' and running['asyncops']['pid'] == ao['pid']
    assert running['asyncops']['time_limit'] == 60.0 and running['asyncops']['kill_grace'] == 5.0
    open_gate(task.gate)
    record = final(async_dir, started)
    # the module's keys verbatim (core's junk warning appended), the jid, the block; no started/finished
    expected = dict(printed, warnings=['mine', _module_result.JUNK_AFTER_JSON % 'trailing junk'])
    assert set(record) == set(expected) | {'ansible_job_id', 'asyncops'}
    assert {k: record[k] for k in expected} == expected
    assert record['ansible_job_id'] == jid and 'failed' not in record
    block = record['asyncops']
    assert (block['state'], block['reason'], block['rc'], block['signal']) == ('succeeded', 'exited', 0, None)
    assert block['signals_sent'] == [] and block['kind'] == 'module'
    assert _record.is_finished(record) and _record.record_state(record) == 'succeeded'
    # the sidecars went with the end (their content is in the record), the task's tmp dir too
    assert os.listdir(async_dir) == [jid]
    assert not os.path.exists(task.tmpdir)


@linux_only
def test_a_module_that_says_it_failed(async_dir, task, procs):
    task.configure(result={'failed': True, 'msg': 'nope', 'rc': 3}, rc=1)
    record = final(async_dir, start(task, task.argv_new(), async_dir, procs))
    assert record['failed'] is True and record['msg'] == 'nope' and record['rc'] == 3
    assert record['asyncops']['state'] == 'failed' and record['asyncops']['rc'] == 1


@linux_only
def test_a_module_s_stderr_is_added(async_dir, task, procs):
    task.configure(result={'changed': False}, stderr='a deprecation warning')
    record = final(async_dir, start(task, task.argv_new(), async_dir, procs))
    assert record['stderr'] == 'a deprecation warning' and record['changed'] is False


@linux_only
def test_a_module_s_stderr_is_kept_as_written(async_dir, task, procs):
    """Not as ansible.builtin.command's stderr (trailing newline stripped): as core's wrapper records it."""
    task.configure(result={'changed': False}, stderr='line one\nline two\n')
    record = final(async_dir, start(task, task.argv_new(), async_dir, procs))
    assert record['stderr'] == 'line one\nline two\n'


@linux_only
def test_a_module_that_prints_no_json_gets_core_s_failure(async_dir, task, procs):
    task.configure(before='Traceback (most recent call last):\n  oops\n', stderr='it broke', rc=1)
    started = start(task, task.argv_new(), async_dir, procs)
    record = final(async_dir, started)
    assert set(record) == {'failed', 'cmd', 'data', 'stderr', 'msg', 'ansible_job_id', 'asyncops'}
    assert record['failed'] is True and record['cmd'] == shlex.join([sys.executable, task.module])
    assert record['data'] == 'Traceback (most recent call last):\n  oops\n' and record['stderr'] == 'it broke'
    assert 'No start of json char found' in record['msg']
    assert record['asyncops']['state'] == 'failed' and record['asyncops']['rc'] == 1
    assert os.listdir(async_dir) == [started['ansible_job_id']]


@linux_only
def test_preserve_tmp_keeps_the_task_s_tmp_dir(async_dir, task, procs):
    task.configure(result={'changed': False})
    started = start(task, task.argv_new(preserve='true'), async_dir, procs)
    assert started['_ansible_suppress_tmpdir_delete'] is False
    assert final(async_dir, started)['changed'] is False
    assert os.path.isfile(task.module)


@linux_only
def test_core_2_17_command_line_end_to_end(async_dir, task, procs):
    """The args file and the interpreter from the shebang (the module is not executable); 1/0 as 2.17 writes."""
    task.configure(result={'changed': True, 'via': 'args file'})
    os.unlink(os.path.join(task.tmpdir, 'fake.json'))  # only the args file tells the module what to do
    started = start(task, task.argv_old(limit=30), async_dir, procs)
    assert (started['failed'], started['started'], started['finished']) == (0, 1, 0)
    assert not isinstance(started['started'], bool) and started['_ansible_suppress_tmpdir_delete'] is True
    assert started['asyncops']['cmd'] == '%s %s' % (task.module, task.args_file)
    record = final(async_dir, started)
    assert record['via'] == 'args file' and record['asyncops']['state'] == 'succeeded'
    assert record['asyncops']['time_limit'] == 30.0
    assert not os.path.exists(task.tmpdir)


@linux_only
def test_core_2_17_preserve_tmp(async_dir, task, procs):
    task.configure(result={'changed': False})
    started = start(task, task.argv_old(preserve=True), async_dir, procs)
    assert started['_ansible_suppress_tmpdir_delete'] is False
    final(async_dir, started)
    assert os.path.isfile(task.args_file)


@linux_only
def test_timeout_term_then_kill_after_the_grace_reaches_a_setsid_child(async_dir, task, procs):
    """The module and the child it started in a session of its own both ignore SIGTERM: SIGKILL ends both."""
    task.configure(ignore_term=True, stray=True, sleep=60)
    started = start(task, task.argv_new(limit=2), async_dir, procs, ASYNCOPS_KILL_GRACE='1')
    stray = int(task.note('stray'))
    procs.add(stray)
    assert os.getsid(stray) == stray != os.getpgid(started['asyncops']['pid'])
    record = final(async_dir, started)
    assert set(record) == {'failed', 'msg', 'child_pid', 'ansible_job_id', 'asyncops'}
    assert record['failed'] is True and record['child_pid'] == started['asyncops']['pid']
    assert record['msg'] == ('Timeout exceeded: the job exceeded its time limit of 2s: SIGTERM was sent to its '
                             'process group, then SIGKILL after 1s')
    ao = record['asyncops']
    assert (ao['state'], ao['reason'], ao['signal'], ao['rc']) == ('timeout', 'timeout', 'SIGKILL', -9)
    assert ao['signals_sent'] == ['SIGTERM', 'SIGKILL'] and ao['kill_grace'] == 1.0 and ao['time_limit'] == 2.0
    overshoot = ao['ended_at'] - ao['started_at'] - 2.0 - 1.0
    assert -0.05 < overshoot < 0.5
    assert _record.record_state(record) == 'timeout'
    assert not alive(stray) and not alive(started['asyncops']['pid'])
    assert os.listdir(async_dir) == [started['ansible_job_id']] and not os.path.exists(task.tmpdir)


@linux_only
def test_timeout_obeyed_ends_at_the_sigterm(async_dir, task, procs):
    task.configure(sleep=60)
    started = start(task, task.argv_new(limit=1), async_dir, procs)
    task.note('pid')
    record = final(async_dir, started)
    assert record['msg'] == 'Timeout exceeded: the job exceeded its time limit of 1s: SIGTERM was sent to its process group'
    ao = record['asyncops']
    assert (ao['state'], ao['signal'], ao['signals_sent']) == ('timeout', 'SIGTERM', ['SIGTERM'])
    assert ao['ended_at'] - ao['started_at'] - 1.0 < 0.5


@linux_only
def test_mode_kill_and_status_of_a_module_job(async_dir, task, procs):
    task.configure(gate=task.gate, result={'changed': True})
    started = start(task, task.argv_new(), async_dir, procs)
    jid = started['ansible_job_id']
    task.note('pid')
    status = run_status(async_dir, jid=jid)
    assert status['asyncops']['state'] == 'running' and status['finished'] is False
    listed = run_status(async_dir, mode='list')['jobs_by_jid']
    assert sorted(listed) == [jid] and listed[jid]['state'] == 'running' and listed[jid]['kind'] == 'asyncops'
    killed = run_status(async_dir, jid=jid, mode='kill', kill_grace=2)
    assert killed['asyncops']['state'] == 'killed' and killed['asyncops']['kill']['recorded_by'] == 'supervisor'
    record = final(async_dir, started)
    assert 'started' not in record and record['failed'] is True
    assert set(record) == {'failed', 'cmd', 'data', 'stderr', 'msg', 'ansible_job_id', 'asyncops'}
    assert record['msg'] == 'the job was killed from outside (asyncops.jobs.async_status mode=kill)'
    assert record['asyncops']['state'] == 'killed' and not alive(started['asyncops']['pid'])
    assert os.listdir(async_dir) == [jid]


@linux_only
def test_a_module_job_killed_with_its_supervisor_is_lost_at_the_next_status(async_dir, task, procs):
    task.configure(gate=task.gate, result={'changed': True})
    started = start(task, task.argv_new(), async_dir, procs)
    task.note('pid')
    for pid in (started['asyncops']['supervisor_pid'], started['asyncops']['pid']):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)
    status = run_status(async_dir, jid=started['ansible_job_id'])
    assert status['asyncops']['state'] == 'lost' and status['failed'] is True


@linux_only
def test_main_prints_one_json_line_and_exits_with_the_code(async_dir, task, procs):
    """The wrapper script as core runs it; its progress reaches the record (the supervisor is not core's wrapper)."""
    task.configure(gate=task.gate, result={'changed': True}, progress=COLLECTIONS_ROOT)
    env = dict(os.environ, ANSIBLE_ASYNC_DIR=async_dir, PYTHONPATH=COLLECTIONS_ROOT)
    for name in (_record.PROGRESS_ENV, _record.JID_ENV, W.SUPERVISE_ENV, W.KILL_GRACE_ENV):
        env.pop(name, None)
    argv = task.argv_new()
    done = subprocess.run([sys.executable, WRAPPER_SCRIPT] + argv[1:], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == b''
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    started = json.loads(lines[0])
    procs.add(started['asyncops']['supervisor_pid'], started['asyncops']['pid'])
    jid = started['ansible_job_id']
    assert jid.startswith(task.prefix + '.') and jid != task.jid()  # the pid of the wrapper process
    # the module's reporter found the supervisor's sidecar, not core's record: the supervisor folds it in
    assert task.note('progress_mode') == 'supervisor'

    def folded():
        return _record.read_record(async_dir, jid)['asyncops'].get('progress')

    progress = wait_for(folded, 'the progress to be folded into the running record')
    assert (progress['current'], progress['total'], progress['percent'], progress['message']) == (4, 10, 40.0, 'four')
    assert _record.read_progress(_record.job_paths(async_dir, jid).progress)['current'] == 4
    open_gate(task.gate)
    record = final(async_dir, started)
    assert record['changed'] is True and record['asyncops']['progress']['current'] == 4
    assert os.listdir(async_dir) == [jid]
    usage = subprocess.run([sys.executable, WRAPPER_SCRIPT, 'j1'], env=env, stdout=subprocess.PIPE, timeout=60,
                           check=False)
    assert usage.returncode == 1 and json.loads(usage.stdout.decode()) == {'failed': True, 'msg': W.USAGE}


def test_the_wrapper_script_is_alone_in_its_directory():
    """Every file beside it would become a module of the controller's module path."""
    assert sorted(n for n in os.listdir(os.path.dirname(WRAPPER_SCRIPT)) if n != '__pycache__') == ['async_wrapper.py']
    with open(WRAPPER_SCRIPT) as f:
        assert 'from ansible_collections.asyncops.jobs.plugins.module_utils._async_wrapper import main' in f.read()
