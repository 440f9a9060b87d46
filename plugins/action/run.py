# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The name ``asyncops.jobs.run`` in the action loader, so that ansible-core 2.19+ accepts a free-form command.

ansible-core runs ``_run`` (``meta/runtime.yml`` routes the module to it), but
it asks the action plugin the task's own name resolves to whether it takes
free-form arguments (``Task._post_validate_args``); this file answers with the
same class. ansible-lint's args rule finds this file before the module and
checks a task's options only when the file it finds has a ``main``: ``main``
validates them against the module's argument spec and runs nothing
(docs/architecture.md, "Action plugins").
"""

from __future__ import annotations

from ansible.module_utils import basic

from ansible_collections.asyncops.jobs.plugins.action._run import COMMAND_OPTIONS, ActionModule
from ansible_collections.asyncops.jobs.plugins.modules import run as run_module

__all__ = ['ActionModule', 'main']


def main() -> None:
    """Validate a task's options (read as a module reads them) as asyncops.jobs.run would take them; run nothing."""
    argument_spec = run_module._argument_spec()  # the one spec of the module
    argument_spec['_raw_params'] = dict(type='str')
    command_options = list(COMMAND_OPTIONS) + ['_raw_params']
    module = basic.AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[command_options],
                                 required_one_of=[command_options], supports_check_mode=True)
    module.exit_json(changed=False, msg='the options are valid; nothing was run')
