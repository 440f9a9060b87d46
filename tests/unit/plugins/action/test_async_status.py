# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the action plugin asyncops.jobs.async_status (controller side)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.asyncops.jobs.plugins.action import _async_status as action_mod
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status
from ansible_collections.asyncops.jobs.tests.unit.helpers import record_module_environments, write_job

RUNNING = {'started': True, 'finished': False, 'ansible_job_id': 'j1.2',
           'results_file': '/root/.ansible_async/j1.2', 'asyncops': {'state': 'running', 'elapsed': 1.0}}
JOBS = [
    {'ansible_job_id': 'j1.1', 'state': 'running', 'elapsed': 900.5},
    {'ansible_job_id': 'j1.2', 'state': 'running', 'elapsed': 12.0},
    {'ansible_job_id': 'j1.3', 'state': 'failed', 'elapsed': 700.0},
]


def make_action(args, module_result=None, async_dir='~/.my_async', check_mode=False):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.action = 'asyncops.jobs.async_status'
    task.environment = []
    connection = MagicMock()
    connection._shell.tmpdir = None
    options = {'async_dir': async_dir}
    connection._shell.get_option.side_effect = lambda name: options[name]
    action = action_mod.ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    # what the plugin loader sets: the routed plugin, not the module's name
    action._load_name = 'ansible_collections.asyncops.jobs.plugins.action._async_status'
    action._execute_module = MagicMock(return_value=dict(module_result or {}))
    # every extra remote call would be a round trip more than the one module run
    action._remote_expand_user = MagicMock(side_effect=AssertionError('_remote_expand_user called'))
    action._low_level_execute_command = MagicMock(side_effect=AssertionError('extra remote command'))
    action._make_tmp_path = MagicMock(side_effect=AssertionError('temp dir made'))
    return action


def module_args(action):
    assert action._execute_module.call_count == 1
    kwargs = action._execute_module.call_args.kwargs
    assert kwargs['module_name'] == 'asyncops.jobs.async_status'
    return kwargs['module_args']


def test_status_is_one_module_run_with_the_unexpanded_async_dir():
    action = make_action({'jid': 'j1.2'}, RUNNING)
    environments = record_module_environments(action, RUNNING)
    result = action.run(task_vars={})
    assert module_args(action) == {'jid': 'j1.2'}
    assert environments == [{'ANSIBLE_ASYNC_DIR': '~/.my_async'}]
    assert result['started'] is True and result['finished'] is False and result['asyncops']['state'] == 'running'
    assert 'state' not in result
    # the built-in's defaults
    assert (result['stdout'], result['stderr'], result['stdout_lines'], result['stderr_lines']) == ('', '', [], [])


def test_default_async_dir():
    action = make_action({'jid': 'j1.2'}, RUNNING)
    action._connection._shell.get_option.side_effect = KeyError('async_dir')
    environments = record_module_environments(action, RUNNING)
    action.run(task_vars={})
    assert environments == [{'ANSIBLE_ASYNC_DIR': '~/.ansible_async'}]


def test_the_internal_option_is_gone():
    """The async dir comes in the module's environment: _async_dir fails as any unknown option, before the target."""
    action = make_action({'jid': 'j1.2', '_async_dir': '/tmp/elsewhere'}, RUNNING)
    result = action.run(task_vars={})
    assert result['failed'] is True and result['msg'].startswith('Unsupported parameters for (asyncops.jobs.async_status) module: ')
    assert '_async_dir' in result['msg']
    assert action._execute_module.call_count == 0


def test_started_and_finished_become_bools():
    action = make_action({'jid': 'j1.2'}, {'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'})
    result = action.run(task_vars={})
    assert result['started'] is True and result['finished'] is False


def test_job_result_keys_win_over_defaults():
    done = {'started': True, 'finished': True, 'stdout': 'out', 'stdout_lines': ['out'], 'rc': 0, 'state': 'directory',
            'asyncops': {'state': 'succeeded'}}
    result = make_action({'jid': 'j1.2'}, done).run(task_vars={})
    assert result['stdout'] == 'out' and result['stdout_lines'] == ['out'] and result['stderr'] == ''
    assert result['state'] == 'directory' and result['asyncops'] == {'state': 'succeeded'}


def test_query_runs_on_the_controller_and_is_not_sent():
    action = make_action({'mode': 'list', 'query': "[?state=='running' && elapsed > `600`].ansible_job_id"},
                         {'jobs': JOBS, 'changed': False})
    result = action.run(task_vars={})
    assert 'query' not in module_args(action)
    assert result['query_result'] == ['j1.1']
    assert 'stdout' not in result  # the built-in's shape is for one job


def test_query_on_many_jobs():
    action = make_action({'jids': ['j1.1', 'j1.2'], 'mode': 'wait', 'query': 'length([])'},
                         {'jobs': JOBS[:2], 'summary': {}})
    assert action.run(task_vars={})['query_result'] == 2


def test_query_over_jids_reads_the_entries_asyncops_state():
    # each jids entry is a single-job result: a file job's own state at the top, ours under asyncops
    jobs = [{'ansible_job_id': 'j1.1', 'state': 'directory', 'asyncops': {'state': 'running'}},
            {'ansible_job_id': 'j1.2', 'state': 'running', 'asyncops': {'state': 'succeeded'}}]
    action = make_action({'jids': ['j1.1', 'j1.2'], 'query': "[?asyncops.state=='running'].ansible_job_id"},
                         {'jobs': jobs, 'summary': {}})
    result = action.run(task_vars={})
    assert result['query_result'] == ['j1.1'] and 'stdout' not in result


@pytest.mark.parametrize('query, match', [
    ('[?state==', 'invalid JMESPath query'),
    ('[].elapsed | sum(@) | abs(@) | length(@)', 'failed on the jobs'),
])
def test_bad_query_is_a_clear_failure(query, match):
    action = make_action({'mode': 'list', 'query': query}, {'jobs': JOBS})
    result = action.run(task_vars={})
    assert result['failed'] is True and match in result['msg']


def test_bad_query_fails_before_anything_runs():
    action = make_action({'mode': 'list', 'query': '[?'}, {'jobs': JOBS})
    assert action.run(task_vars={})['failed'] is True
    assert action._execute_module.call_count == 0


def test_missing_jmespath_is_a_clear_failure(monkeypatch):
    monkeypatch.setattr(action_mod, 'HAS_JMESPATH', False)
    action = make_action({'mode': 'list', 'query': '[]'}, {'jobs': JOBS})
    result = action.run(task_vars={})
    assert result['failed'] is True and 'needs the Python library jmespath' in result['msg']
    assert action._execute_module.call_count == 0


@pytest.mark.parametrize('args', [{'jid': 'j1.2', 'query': '@'}, {'mode': 'prune', 'max_age': 5, 'query': '@'}])
def test_query_needs_a_jobs_list(args):
    result = make_action(args).run(task_vars={})
    assert result['failed'] is True and "'query' applies to the jobs" in result['msg']


@pytest.mark.parametrize('args', [
    {'jid': 'j1.2', 'jids': ['j1.2']},
    {'mode': 'wait'},
    {'mode': 'prune'},
    {'jid': 'j1.2', 'bogus': 1},
    {'jid': 'j1.2', 'wait_timeout': 'soon'},
    {'jid': 'j1.2', 'mode': 'wait', 'timeout': 5},     # renamed wait_timeout before 1.0
    {'jid': 'j1.2', 'mode': 'kill', 'grace': 5},       # renamed kill_grace before 1.0
    {'mode': 'list', 'state': ['running']},           # renamed state_filter before 1.0
])
def test_options_are_checked_on_the_controller(args):
    action = make_action(args)
    result = action.run(task_vars={})
    assert result['failed'] is True and result['msg']
    assert action._execute_module.call_count == 0


def test_only_the_given_options_are_sent():
    action = make_action({'jids': ['j1.1'], 'mode': 'wait', 'wait_timeout': 5}, {'jobs': []})
    action.run(task_vars={})
    assert module_args(action) == {'jids': ['j1.1'], 'mode': 'wait', 'wait_timeout': 5}


def test_check_mode_is_passed_through():
    action = make_action({'jid': 'j1.2', 'mode': 'kill'}, RUNNING, check_mode=True)
    action.run(task_vars={})
    assert action._execute_module.call_count == 1


def test_async_is_refused():
    action = make_action({'jid': 'j1.2'}, RUNNING)
    action._task.async_val = 10
    with pytest.raises(AnsibleActionFail, match='does not support async'):
        action.run(task_vars={})


def test_spec_is_the_modules():
    from ansible_collections.asyncops.jobs.plugins.module_utils import _status
    assert action_mod._status.ARGUMENT_SPEC is _status.ARGUMENT_SPEC


@pytest.mark.parametrize('args', [
    {'jid': '../f', 'mode': 'cleanup'},
    {'jid': 'j1.2\x00'},
    {'jids': ['j1.2', 'j1.2/../../x'], 'mode': 'wait'},
])
def test_bad_job_ids_are_refused_before_the_target_is_touched(args):
    action = make_action(args)
    result = action.run(task_vars={})
    assert result['failed'] is True and 'invalid job id' in result['msg']
    assert action._execute_module.call_count == 0


# ---------------------------------------------------------------- check-mode jids (a launch in check mode)

def module_on(adir):
    """An _execute_module that runs the module's logic on adir, as the module would on the target."""
    def execute(module_name, module_args, task_vars, wrap_async=False):
        try:
            return _status.run(module_args, environ={'ANSIBLE_ASYNC_DIR': adir})
        except _record.JobError as e:
            return dict(e.result, failed=True, msg=e.msg)
    return execute


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('mode', ['status', 'wait', 'kill', 'cleanup'])
def test_check_mode_jid_is_answered_without_the_module(mode, check_mode):
    action = make_action({'jid': 'j0.77', 'mode': mode}, check_mode=check_mode)
    result = action.run(task_vars={})
    assert action._execute_module.call_count == 0
    assert result == dict(_record.not_started_result('j0.77'), stdout='', stderr='', stdout_lines=[], stderr_lines=[])
    assert result['skipped'] is True and result['finished'] is True and result['started'] is False


def test_check_mode_jids_only_need_no_module():
    action = make_action({'jids': ['j0.1', 'j0.2', 'j0.1'], 'mode': 'wait', 'query': '[].asyncops.state'})
    result = action.run(task_vars={})
    assert action._execute_module.call_count == 0
    assert [j['ansible_job_id'] for j in result['jobs']] == ['j0.1', 'j0.2']
    assert result['skipped'] is True and result['finished'] is True and result['state'] == 'not_started'
    assert result['query_result'] == ['not_started', 'not_started'] and 'stdout' not in result


def test_mixed_jids_send_only_the_started_ones_and_merge_in_order(tmp_path):
    adir = str(tmp_path)
    write_job(adir, 'j1.1', {'rc': 0})
    write_job(adir, 'j1.2', {'rc': 1, 'failed': True})
    action = make_action({'jids': ['j0.5', 'j1.1', 'j0.6', 'j1.2'], 'mode': 'wait', 'wait_timeout': 30,
                          'query': '[].ansible_job_id'})
    action._execute_module = MagicMock(side_effect=module_on(adir))
    result = action.run(task_vars={})
    assert module_args(action)['jids'] == ['j1.1', 'j1.2']
    assert [j['ansible_job_id'] for j in result['jobs']] == ['j0.5', 'j1.1', 'j0.6', 'j1.2']
    assert result['query_result'] == ['j0.5', 'j1.1', 'j0.6', 'j1.2']
    assert result['jobs_by_jid']['j0.6'] == _record.not_started_result('j0.6')
    assert result['summary']['total'] == 4 and result['summary']['not_started'] == 2
    assert result['summary']['succeeded'] == 1 and result['summary']['failed'] == 1
    assert result['state'] == 'failed' and result['finished'] is True and result['started'] is True
    assert result['failed'] is True and result['msg'] == '1 of 4 jobs failed: j1.2 (failed)'
    assert 'skipped' not in result
    assert result['asyncops']['waited'] is not None  # the module's own wait block stays


def test_mixed_jids_keep_the_modules_failure(tmp_path):
    action = make_action({'jids': ['j0.5', 'j1.1']})
    action._execute_module = MagicMock(side_effect=module_on(str(tmp_path)))
    result = action.run(task_vars={})
    assert result['failed'] is True and result['msg'] == 'could not find job' and 'jobs' not in result


def test_mixed_jids_with_a_short_answer_fail_clearly():
    action = make_action({'jids': ['j0.5', 'j1.1', 'j1.2']}, {'jobs': [{'ansible_job_id': 'j1.1'}]})
    result = action.run(task_vars={})
    assert result['failed'] is True and 'returned 1 jobs for 2 job ids' in result['msg']
