# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of asyncops.jobs.run: passes the async dir, then runs the module once."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import execute_module_with_async_dir


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False  # the module starts its own background job

    def run(self, tmp: t.Optional[str] = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        result = t.cast(t.Dict[str, t.Any], merge_hash(result, execute_module_with_async_dir(
            self, module_name='asyncops.jobs.run', module_args=dict(self._task.args), task_vars=task_vars)))

        # the job's supervisor needs nothing from the remote tmp dir (it imported everything before it forked)
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
