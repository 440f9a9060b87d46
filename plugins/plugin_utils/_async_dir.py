# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of the async dir: the action plugins put it in their module's environment."""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.asyncops.jobs.plugins.module_utils._async_dir import ASYNC_DIR_ENV, DEFAULT_ASYNC_DIR, TASK_ASYNC_DIR_ENV


def unexpanded_async_dir(action: ActionBase) -> str:
    """The shell option ``async_dir`` (``ansible_async_dir``) as set, ``~`` not expanded.

    Core's own async_status expands ``~`` with an extra ``echo ~`` round trip
    before every call; modules of this collection expand it on the target, for
    the user they run as, so a status call stays one round trip.
    """
    return str(action.get_shell_option('async_dir', default=DEFAULT_ASYNC_DIR))


def execute_module_with_async_dir(action: ActionBase, module_name: str, module_args: t.Dict[str, t.Any],
                                  task_vars: t.Optional[t.Dict[str, t.Any]], wrap_async: bool = False) -> t.Dict[str, t.Any]:
    """One ``_execute_module`` call with the async dir in the module's environment as ``ANSIBLE_ASYNC_DIR``.

    As core does for its async_wrapper: an entry appended to the task's environment
    for this call only. The environment entries are merged in order, so this last one
    wins over an ``ANSIBLE_ASYNC_DIR`` of the task's own ``environment``; that one is
    passed on as ``ASYNCOPS_TASK_ASYNC_DIR``, a directory async_status searches too.
    """
    own_environment = {}  # type: t.Dict[str, t.Any]
    action._compute_environment_string(own_environment)
    entry = {ASYNC_DIR_ENV: unexpanded_async_dir(action)}
    if own_environment.get(ASYNC_DIR_ENV):
        entry[TASK_ASYNC_DIR_ENV] = str(own_environment[ASYNC_DIR_ENV])
    environments = action._task.environment
    position = len(environments)
    environments.append(entry)
    try:
        return dict(action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars,
                                           wrap_async=wrap_async))
    finally:
        del environments[position]
