# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of asyncops.jobs.download: the async keyword as ansible.builtin.normal handles it, plus the async dir."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import execute_module_with_async_dir


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: t.Optional[str] = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        wrap_async = self._task.async_val
        module_args = dict(self._task.args)
        if wrap_async and boolean(module_args.get('background', False), strict=False):
            raise AnsibleActionFail('background=true starts a job of its own; do not combine it with the async keyword')

        # under async, core's async_wrapper runs the module and removes the remote tmp dir itself
        # (the module result says so with _ansible_suppress_tmpdir_delete, which _execute_module honours)
        result = dict(merge_hash(result, execute_module_with_async_dir(
            self, module_name='asyncops.jobs.download', module_args=module_args, task_vars=task_vars,
            wrap_async=wrap_async)))

        if not wrap_async:
            # remove a temporary path we created
            self._remove_tmp_path(self._connection._shell.tmpdir)

        return result
