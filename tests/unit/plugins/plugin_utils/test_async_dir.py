# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of what the action plugins pass to their modules as _async_dir."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.asyncops.jobs.plugins.action import _download as download_action
from ansible_collections.asyncops.jobs.plugins.action import _run as run_action
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import with_async_dir


def make_action(cls, args, async_dir=None):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = False
    task.environment = []
    connection = MagicMock()
    connection._shell.tmpdir = None
    options = {} if async_dir is None else {'async_dir': async_dir}
    connection._shell.get_option.side_effect = lambda name: options[name]
    action = cls(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    action._execute_module = MagicMock(return_value={'changed': True})
    return action


@pytest.mark.parametrize('async_dir, expected', [('/srv/jobs', '/srv/jobs'), (None, '~/.ansible_async')])
def test_the_shell_option_goes_unexpanded(async_dir, expected):
    action = make_action(run_action.ActionModule, {}, async_dir=async_dir)
    args = {'cmd': 'true'}
    assert with_async_dir(action, args) == {'cmd': 'true', '_async_dir': expected}
    assert args == {'cmd': 'true'}  # the task's own arguments are left as they were


@pytest.mark.parametrize('cls, args', [
    (run_action.ActionModule, {'cmd': 'true'}),
    (download_action.ActionModule, {'url': 'http://127.0.0.1/x', 'dest': '/tmp/x'}),
])
def test_launchers_pass_it_and_refuse_it_from_a_task(cls, args):
    action = make_action(cls, args, async_dir='~/.jobs')
    action.run(task_vars={})
    assert action._execute_module.call_args.kwargs['module_args']['_async_dir'] == '~/.jobs'

    refused = make_action(cls, dict(args, _async_dir='/tmp/elsewhere'), async_dir='~/.jobs')
    with pytest.raises(AnsibleActionFail, match='_async_dir is internal'):
        refused.run(task_vars={})
    refused._execute_module.assert_not_called()
