# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of how the action plugins pass the async dir to their modules: ANSIBLE_ASYNC_DIR in the environment."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.asyncops.jobs.plugins.action import _async_status as async_status_action
from ansible_collections.asyncops.jobs.plugins.action import _download as download_action
from ansible_collections.asyncops.jobs.plugins.action import _run as run_action
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import execute_module_with_async_dir
from ansible_collections.asyncops.jobs.tests.unit.helpers import record_module_environments

LAUNCHERS = [
    (run_action.ActionModule, 'asyncops.jobs.run', {'cmd': 'true'}),
    (download_action.ActionModule, 'asyncops.jobs.download', {'url': 'http://127.0.0.1/x', 'dest': '/tmp/x'}),
    (async_status_action.ActionModule, 'asyncops.jobs.async_status', {'jid': 'j1.2'}),
]


def make_action(cls, args, async_dir=None, environment=None):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = False
    task.environment = list(environment or [])
    connection = MagicMock()
    connection._shell.tmpdir = None
    options = {} if async_dir is None else {'async_dir': async_dir}
    connection._shell.get_option.side_effect = lambda name: options[name]
    return cls(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())


@pytest.mark.parametrize('async_dir, expected', [('/srv/jobs', '/srv/jobs'), ('~/.jobs', '~/.jobs'), (None, '~/.ansible_async')])
def test_the_shell_option_goes_unexpanded_into_the_environment_of_that_one_call(async_dir, expected):
    action = make_action(run_action.ActionModule, {}, async_dir=async_dir, environment=[{'FOO': 'bar'}])
    environments = record_module_environments(action, {'changed': True})
    args = {'cmd': 'true'}
    assert execute_module_with_async_dir(action, 'asyncops.jobs.run', args, {}) == {'changed': True}
    assert environments == [{'FOO': 'bar', 'ANSIBLE_ASYNC_DIR': expected}]
    assert action._execute_module.call_args.kwargs['module_args'] == {'cmd': 'true'}
    assert action._task.environment == [{'FOO': 'bar'}]  # the entry was for that call only


def test_the_task_environment_cannot_override_it_and_is_passed_on():
    """Entries merge in order (the last wins), as core's _compute_environment_string does; the task's own goes on."""
    own = [{'ANSIBLE_ASYNC_DIR': '/play/level', 'FOO': 'play'}, {'ANSIBLE_ASYNC_DIR': '/task/level'}]
    action = make_action(run_action.ActionModule, {}, async_dir='~/.jobs', environment=own)
    environments = record_module_environments(action)
    execute_module_with_async_dir(action, 'asyncops.jobs.run', {'cmd': 'true'}, {})
    assert environments == [{'ANSIBLE_ASYNC_DIR': '~/.jobs', 'FOO': 'play', 'ASYNCOPS_TASK_ASYNC_DIR': '/task/level'}]
    assert action._task.environment == own


def test_the_entry_is_removed_when_the_call_fails():
    action = make_action(run_action.ActionModule, {}, async_dir='~/.jobs', environment=[{'FOO': 'bar'}])
    record_module_environments(action)
    action._execute_module.side_effect = RuntimeError('connection lost')
    with pytest.raises(RuntimeError, match='connection lost'):
        execute_module_with_async_dir(action, 'asyncops.jobs.run', {'cmd': 'true'}, {})
    assert action._task.environment == [{'FOO': 'bar'}]


@pytest.mark.parametrize('cls, module, args', LAUNCHERS)
def test_every_action_plugin_passes_it_in_the_environment_only(cls, module, args):
    action = make_action(cls, args, async_dir='~/.jobs')
    environments = record_module_environments(action, {'changed': False})
    action.run(task_vars={})
    assert environments == [{'ANSIBLE_ASYNC_DIR': '~/.jobs'}]
    kwargs = action._execute_module.call_args.kwargs
    assert kwargs['module_name'] == module and kwargs['module_args'] == args
    assert action._task.environment == []
