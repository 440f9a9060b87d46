# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the action plugins of asyncops.jobs.run (controller side): the free-form command."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.asyncops.jobs.plugins.action import _run as action_mod
from ansible_collections.asyncops.jobs.plugins.action import run as same_named_action
from ansible_collections.asyncops.jobs.tests.unit.helpers import run_module


def make_action(args):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = False
    connection = MagicMock()
    connection._shell.tmpdir = None
    connection._shell.get_option.side_effect = {'async_dir': '~/.my_async'}.__getitem__
    action = action_mod.ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    action._execute_module = MagicMock(return_value={'changed': True})
    return action


def test_free_form_command_reaches_the_module_as_cmd():
    action = make_action({'_raw_params': 'make test', 'chdir': '/src'})
    action.run(task_vars={})
    module_args = action._execute_module.call_args.kwargs['module_args']
    assert module_args['cmd'] == 'make test'
    assert module_args['chdir'] == '/src'
    assert '_raw_params' not in module_args


def test_options_without_free_form_are_passed_unchanged():
    assert action_mod.free_form_as_cmd({'argv': ['make'], 'chdir': '/src'}) == {'argv': ['make'], 'chdir': '/src'}


@pytest.mark.parametrize('option, value', [('cmd', 'make all'), ('argv', ['make']), ('shell', 'make'), ('batch', [{'cmd': 'make'}])])
def test_free_form_with_another_command_option_is_refused(option, value):
    action = make_action({'_raw_params': 'make test', option: value})
    with pytest.raises(AnsibleActionFail, match='free-form command and %s are mutually exclusive' % option):
        action.run(task_vars={})
    action._execute_module.assert_not_called()


def test_the_same_named_action_plugin_takes_raw_params_and_is_the_routed_one():
    # ansible-core 2.19+ asks the plugin of the task's name; it runs the routed _run: one class for both
    assert same_named_action.ActionModule is action_mod.ActionModule
    assert action_mod.ActionModule.supports_raw_params is True


@pytest.mark.parametrize('args', [{'_raw_params': 'make test', 'chdir': '/src'}, {'cmd': 'make test', 'time_limit': 60}])
def test_lint_main_accepts_the_options_of_run_and_runs_nothing(capsys, args):
    code, result = run_module(same_named_action.main, capsys, args)
    assert code == 0
    assert result['changed'] is False
    assert 'nothing was run' in result['msg']


@pytest.mark.parametrize('args, message', [
    ({'_raw_params': 'make test', 'chdirr': '/src'}, 'Unsupported parameters'),
    ({'cmd': 'make test', 'timeout': 600}, 'Unsupported parameters'),
    ({'_raw_params': 'make test', 'cmd': 'make'}, 'mutually exclusive'),
    ({'chdir': '/src'}, 'one of the following is required'),
])
def test_lint_main_refuses_what_the_task_would_fail_on(capsys, args, message):
    code, result = run_module(same_named_action.main, capsys, args)
    assert code == 1
    assert message in result['msg']
