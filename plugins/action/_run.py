# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of asyncops.jobs.run: takes a free-form command as ``cmd``, passes the async dir, then runs the module once."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import execute_module_with_async_dir

# what a free-form command stands for: the options that give the command
COMMAND_OPTIONS = ('cmd', 'argv', 'shell', 'batch')


def free_form_as_cmd(task_args: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """A copy of a task's options with its free-form command (``_raw_params``) as ``cmd``, as ansible.builtin.command takes it."""
    module_args = dict(task_args)
    if '_raw_params' not in module_args:
        return module_args
    command = module_args.pop('_raw_params')
    given = [key for key in COMMAND_OPTIONS if module_args.get(key) is not None]
    if given:
        raise AnsibleActionFail('a free-form command and %s are mutually exclusive: give the command once' % ', '.join(given))
    module_args['cmd'] = command
    return module_args


class ActionModule(ActionBase):

    # ansible-core 2.19+ reads this from the action plugin the task's name resolves to: plugins/action/run.py
    supports_raw_params = True
    _supports_check_mode = True
    _supports_async = False  # the module starts its own background job

    def run(self, tmp: t.Optional[str] = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        result = t.cast(t.Dict[str, t.Any], merge_hash(result, execute_module_with_async_dir(
            self, module_name='asyncops.jobs.run', module_args=free_form_as_cmd(self._task.args), task_vars=task_vars)))

        # the job's supervisor needs nothing from the remote tmp dir (it imported everything before it forked)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
