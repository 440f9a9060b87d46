# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of the async dir: what the action plugins pass to modules as ``_async_dir``."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.asyncops.jobs.plugins.module_utils._async_dir import DEFAULT_ASYNC_DIR


def unexpanded_async_dir(action: ActionBase) -> str:
    """The shell option ``async_dir`` (``ansible_async_dir``) as set, ``~`` not expanded.

    Core's own async_status expands ``~`` with an extra ``echo ~`` round trip
    before every call; modules of this collection expand it on the target, for
    the user they run as, so a status call stays one round trip.
    """
    return str(action.get_shell_option('async_dir', default=DEFAULT_ASYNC_DIR))


def with_async_dir(action: ActionBase, module_args: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """A copy of a task's module arguments with ``_async_dir`` set; refused when the task sets it."""
    if '_async_dir' in module_args:
        raise AnsibleActionFail('_async_dir is internal: set the job directory with ansible_async_dir')
    return dict(module_args, _async_dir=unexpanded_async_dir(action))
