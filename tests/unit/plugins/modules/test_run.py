# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of asyncops.jobs.run (plugins/modules/run.py)."""

from __future__ import annotations

import os
from unittest import mock

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.modules import run
from ansible_collections.asyncops.jobs.tests.unit.helpers import run_module, wait_gone


def call(capsys, **args):
    """Run the module's main() and return its result; os.environ is as it was after (main() changes it)."""
    with mock.patch.dict(os.environ):
        return run_module(run.main, capsys, args)[1]


@pytest.fixture
def async_dir(tmp_path, monkeypatch):
    """The job dir, in the module's environment as the action plugin puts it there."""
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', str(tmp_path / 'async'))
    return str(tmp_path / 'async')


PARAMS = dict(cmd=None, argv=None, shell=None, executable=None, chdir=None, env=None, stdin=None,
              stdin_add_newline=True, expand_argument_vars=True, creates=None, removes=None,
              output_limit=1048576, progress_regex=None, time_limit=None, kill_grace=5.0, strip_empty_ends=True)


# ---------------------------------------------------------------- building the job

def test_build_spec_cmd_is_split_and_expanded(monkeypatch):
    monkeypatch.setenv('ASYNCOPS_T', 'value')
    spec = run.build_spec(dict(PARAMS, cmd="echo '$ASYNCOPS_T a' ~/x"))
    assert spec.argv == ['echo', 'value a', os.path.expanduser('~/x')]
    assert spec.cmd == spec.argv
    spec = run.build_spec(dict(PARAMS, cmd='echo $ASYNCOPS_T', expand_argument_vars=False))
    assert spec.argv == ['echo', '$ASYNCOPS_T']


def test_build_spec_argv_shell_and_stdin():
    spec = run.build_spec(dict(PARAMS, argv=['printf', '%s', 'a b'], stdin='in'))
    assert spec.argv == ['printf', '%s', 'a b']
    assert spec.stdin == b'in\n'
    spec = run.build_spec(dict(PARAMS, shell='echo hi | cat', executable='/bin/bash', stdin='x',
                               stdin_add_newline=False))
    assert spec.argv == ['/bin/bash', '-c', 'echo hi | cat']
    assert spec.cmd == 'echo hi | cat'
    assert spec.stdin == b'x'
    with pytest.raises(ValueError, match='cannot split'):
        run.build_spec(dict(PARAMS, cmd='echo "unclosed'))
    with pytest.raises(ValueError, match='empty'):
        run.build_spec(dict(PARAMS, cmd='  '))


def test_build_spec_batch_item_inherits():
    params = dict(PARAMS, env={'A': 1, 'B': 'top'}, chdir='/tmp', time_limit=10.0, kill_grace=2.0, output_limit=50,
                  executable='/bin/bash')
    item = dict(name=None, cmd=None, argv=None, shell='echo $A', chdir=None, env={'B': 'item'}, stdin=None,
                creates='/x', removes=None, time_limit=None, kill_grace=0.5, output_limit=None, progress_regex=None)
    spec = run.build_spec(params, item)
    assert spec.argv == ['/bin/bash', '-c', 'echo $A']
    assert spec.env == {'A': '1', 'B': 'item'}
    assert spec.chdir == '/tmp'
    assert (spec.time_limit, spec.kill_grace, spec.output_limit) == (10.0, 0.5, 50)
    assert spec.creates == '/x'
    assert spec.name == 'echo $A'


def test_build_spec_strip_empty_ends_of_the_task_and_of_an_item():
    params = dict(PARAMS, cmd='true')
    assert run.build_spec(params).strip_empty_ends is True
    assert run.build_spec(dict(params, strip_empty_ends=False)).strip_empty_ends is False
    item = dict(cmd='true', strip_empty_ends=None)
    assert run.build_spec(dict(params, strip_empty_ends=False), item).strip_empty_ends is False  # inherited
    assert run.build_spec(params, dict(item, strip_empty_ends=False)).strip_empty_ends is False  # the item's own


# ---------------------------------------------------------------- the module

def test_check_mode_starts_nothing_and_returns_a_check_mode_jid(capsys, async_dir, tmp_path):
    result = call(capsys, cmd='touch %s' % (tmp_path / 'x'), time_limit=30, _ansible_check_mode=True)
    assert result['changed'] is True and result['started'] is False and result['finished'] is False
    assert _record.is_check_mode_jid(result['ansible_job_id']) and 'results_file' not in result
    assert result['msg'] == 'would start the job: touch %s' % (tmp_path / 'x')
    assert result['cmd'] == ['touch', str(tmp_path / 'x')]
    assert result['asyncops']['state'] == 'not_started' and result['asyncops']['check_mode'] is True
    assert result['asyncops']['kind'] == 'run' and result['asyncops']['time_limit'] == 30.0
    assert not os.path.exists(str(tmp_path / 'x')) and not os.path.exists(async_dir)
    again = call(capsys, cmd='true', _ansible_check_mode=True)
    assert again['ansible_job_id'] != result['ansible_job_id']


def test_check_mode_in_the_foreground_says_what_would_run_without_a_jid(capsys, async_dir, tmp_path):
    result = call(capsys, cmd='touch %s' % (tmp_path / 'x'), background=False, _ansible_check_mode=True)
    assert result['changed'] is True and result['msg'] == 'would run the job: touch %s' % (tmp_path / 'x')
    assert result['cmd'] == ['touch', str(tmp_path / 'x')]
    for key in ('ansible_job_id', 'started', 'finished', 'results_file'):
        assert key not in result
    assert result['asyncops']['state'] == 'not_started' and result['asyncops']['check_mode'] is True
    assert not os.path.exists(str(tmp_path / 'x')) and not os.path.exists(async_dir)


def test_check_mode_skip_stays_a_skip_with_a_check_mode_jid(capsys, async_dir, tmp_path):
    # outside check mode a skip returns a jid whose record is finished; in check mode a check-mode jid, finished
    result = call(capsys, cmd='touch %s' % (tmp_path / 'x'), creates=str(tmp_path), _ansible_check_mode=True)
    assert result['changed'] is False and result['rc'] == 0
    assert result['msg'] == "Would not run command since '%s' exists" % tmp_path
    assert result['stdout'] == 'skipped, since %s exists' % tmp_path
    assert _record.is_check_mode_jid(result['ansible_job_id'])
    assert result['started'] is False and result['finished'] is True
    assert result['asyncops']['state'] == 'not_started' and result['asyncops']['reason'] == 'skipped'
    result = call(capsys, cmd='true', removes=str(tmp_path / 'none'), background=False,
                  _ansible_check_mode=True)
    assert result['changed'] is False and 'ansible_job_id' not in result and 'finished' not in result
    assert not os.path.exists(str(tmp_path / 'x')) and not os.path.exists(async_dir)


def test_creates_skips_with_a_finished_record(capsys, async_dir, tmp_path):
    result = call(capsys, cmd='touch %s' % (tmp_path / 'x'), creates=str(tmp_path))
    assert not result['changed'] and result['finished'] and result['rc'] == 0
    assert result['msg'] == "Did not run command since '%s' exists" % tmp_path
    record = _record.read_record(async_dir, result['ansible_job_id'])
    assert _record.is_finished(record) and _record.record_state(record) == 'succeeded'
    assert record['asyncops']['reason'] == 'skipped'
    result = call(capsys, cmd='true', removes=str(tmp_path / 'none'), background=False)
    assert not result['changed'] and 'ansible_job_id' not in result


def test_launch_and_collect(capsys, async_dir):
    result = call(capsys, shell='echo "$FOO"', env={'FOO': 'bar'}, time_limit=30)
    assert result['changed'] and result['started'] and not result['finished']
    assert result['results_file'] == os.path.join(async_dir, result['ansible_job_id'])
    wait_gone(result['asyncops']['supervisor_pid'])
    record = _record.read_record(async_dir, result['ansible_job_id'])
    assert record['stdout'] == 'bar' and record['asyncops']['time_limit'] == 30.0


def test_the_job_inherits_the_tasks_own_async_dir_entry_not_the_action_plugins(capsys, async_dir, monkeypatch):
    """ANSIBLE_ASYNC_DIR only carries the async dir to the module: a command of the task sees the task's own, or none."""
    show = 'echo "${ANSIBLE_ASYNC_DIR-unset} ${ASYNCOPS_TASK_ASYNC_DIR-unset}"'
    outputs = []
    for task_dir in (None, '/the/tasks/own'):
        if task_dir:
            monkeypatch.setenv('ASYNCOPS_TASK_ASYNC_DIR', task_dir)
        result = call(capsys, shell=show)
        assert result['results_file'] == os.path.join(async_dir, result['ansible_job_id'])
        wait_gone(result['asyncops']['supervisor_pid'])
        outputs.append(_record.read_record(async_dir, result['ansible_job_id'])['stdout'])
    assert outputs == ['unset unset', '/the/tasks/own unset']


def test_foreground_returns_the_command_result(capsys, async_dir):
    result = call(capsys, argv=['sh', '-c', 'echo out; echo err >&2; exit 4'], background=False)
    assert result['failed'] and result['rc'] == 4 and result['msg'] == 'non-zero return code'
    assert result['stdout'] == 'out' and result['stderr'] == 'err'
    assert 'ansible_job_id' not in result and os.listdir(async_dir) == []
    result = call(capsys, cmd='sleep 5', time_limit=0.2, kill_grace=0, background=False, keep_record=True)
    assert result['failed'] and result['asyncops']['state'] == 'timeout'
    assert os.path.exists(result['results_file'])


def test_command_not_found(capsys, async_dir):
    result = call(capsys, cmd='/nonexistent/asyncops')
    assert result['failed'] and result['rc'] == 2 and 'No such file' in result['msg']


def test_bad_progress_regex_and_exclusive_options(capsys, async_dir):
    result = call(capsys, cmd='true', progress_regex='(?P<x>1)')
    assert result['failed'] and 'named group percent' in result['msg']
    result = call(capsys, cmd='true', argv=['true'])
    assert result['failed'] and 'mutually exclusive' in result['msg']
    result = call(capsys)
    assert result['failed'] and 'one of the following is required' in result['msg']
    result = call(capsys, batch=[{'cmd': 'true', 'shell': 'true'}])
    assert result['failed'] and 'mutually exclusive' in result['msg']


def test_background_is_the_switch_and_true_by_default(capsys, async_dir):
    explicit = call(capsys, cmd='true', background=True)
    assert explicit['started'] is True and explicit['finished'] is False and 'rc' not in explicit
    wait_gone(explicit['asyncops']['supervisor_pid'])
    by_default = call(capsys, cmd='true')
    assert by_default['started'] is True and by_default['finished'] is False and 'rc' not in by_default
    wait_gone(by_default['asyncops']['supervisor_pid'])
    assert os.path.exists(explicit['results_file']) and os.path.exists(by_default['results_file'])


def test_keep_record_warns_with_background_only(capsys, async_dir, monkeypatch):
    # the warnings themselves: where AnsibleModule.warn() sends them depends on what else the process imported
    warned = []
    monkeypatch.setattr(AnsibleModule, 'warn', lambda self, warning, **kwargs: warned.append(warning))
    result = call(capsys, cmd='true', keep_record=True, background=False)
    assert warned == [] and os.path.exists(result['results_file'])
    result = call(capsys, cmd='true', keep_record=True)
    assert warned == ['keep_record is used with background=false only; with background=true the record is always kept']
    wait_gone(result['asyncops']['supervisor_pid'])


def test_wait_is_no_name_of_the_switch(capsys, async_dir):
    # renamed background before 1.0 (download's name for the same switch): no alias is left, nothing starts
    for wait in (True, False):
        result = call(capsys, cmd='true', wait=wait)
        assert result['failed'] and 'Unsupported parameters' in result['msg'] and 'wait' in result['msg']
    assert not os.path.exists(async_dir)


def test_timeout_is_no_name_of_the_time_limit(capsys, async_dir):
    # renamed time_limit before 1.0 (timeout is download's HTTP timeout, as on get_url): no alias is left
    result = call(capsys, cmd='true', timeout=5)
    assert result['failed'] and 'Unsupported parameters' in result['msg'] and 'timeout' in result['msg']
    result = call(capsys, batch=[{'cmd': 'true', 'timeout': 5}])
    assert result['failed'] and 'timeout' in result['msg']
    assert not os.path.exists(async_dir)


def test_the_internal_async_dir_option_is_gone(capsys, async_dir, tmp_path):
    """The async dir comes in the module's environment: _async_dir is refused as any unknown option."""
    result = call(capsys, cmd='touch %s' % (tmp_path / 'x'), _async_dir=async_dir)
    assert result['failed'] and 'Unsupported parameters' in result['msg'] and '_async_dir' in result['msg']
    assert not os.path.exists(str(tmp_path / 'x')) and not os.path.exists(async_dir)


def test_batch(capsys, async_dir):
    result = call(capsys, batch=[{'name': 'a', 'cmd': 'echo a'}, {'argv': ['echo', 'b'], 'time_limit': 5}],
                  concurrency=1)
    assert result['changed'] and result['asyncops']['concurrency'] == 1
    assert 'concurrency' not in result and 'supervisor_pid' not in result
    assert [j['name'] for j in result['jobs']] == ['a', 'echo b']
    assert result['ansible_job_ids'] == [j['ansible_job_id'] for j in result['jobs']]
    wait_gone(result['asyncops']['supervisor_pid'])
    records = [_record.read_record(async_dir, jid) for jid in result['ansible_job_ids']]
    assert [r['stdout'] for r in records] == ['a', 'b']
    assert records[1]['asyncops']['time_limit'] == 5.0
    result = call(capsys, batch=[{'cmd': 'true'}, {'cmd': 'false'}], background=False)
    assert result['failed'] and result['msg'] == '1 of 2 jobs failed: false'
    assert [j['result']['rc'] for j in result['jobs']] == [0, 1]
    assert 'ansible_job_ids' not in result and all('ansible_job_id' not in j for j in result['jobs'])


def test_batch_in_check_mode_starts_nothing(capsys, async_dir, tmp_path):
    made = str(tmp_path / 'made')
    result = call(capsys, batch=[{'cmd': 'touch %s' % made}, {'name': 'b', 'shell': 'touch %s' % made}], concurrency=1,
                  _ansible_check_mode=True)
    assert result['changed'] is True and result['started'] is False and result['finished'] is False
    expected = [('touch %s' % made, ['touch', made]), ('b', 'touch %s' % made)]
    assert [(j['name'], j['cmd']) for j in result['jobs']] == expected
    assert result['ansible_job_ids'] == [j['ansible_job_id'] for j in result['jobs']]
    assert all(_record.is_check_mode_jid(jid) for jid in result['ansible_job_ids'])
    assert result['msg'] == 'would start 2 jobs, 1 at a time'
    assert result['asyncops'] == {'state': 'not_started', 'check_mode': True, 'concurrency': 1, 'size': 2}
    waited = call(capsys, batch=[{'cmd': 'touch %s' % made}], background=False, _ansible_check_mode=True)
    assert waited['changed'] is True and 'ansible_job_ids' not in waited
    assert waited['jobs'] == [{'name': 'touch %s' % made, 'cmd': ['touch', made]}]
    assert not os.path.exists(made) and not os.path.exists(async_dir)
