# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: supervise
type: aggregate
author:
  - asyncops.jobs developers (@asyncops)
short_description: Run every async task under this collection's supervisor
version_added: 0.2.0
description:
  - Turns on the collection's replacement for ansible-core's C(async_wrapper) for every task run with C(async),
    whatever its module. ansible-core runs such a task through the module it resolves as
    C(ansible.legacy.async_wrapper); this callback puts the collection's replacement first in that lookup
    when it is loaded, and does nothing else (it prints nothing and reads no result).
  - "Under the replacement a module's job gets what M(asyncops.jobs.run) jobs get: the time limit enforced to a
    fraction of a second with SIGTERM to the job's process group (and to the processes it started outside it),
    then SIGKILL after a grace period; C(asyncops.state) V(timeout), V(killed) or V(lost); rc, signal, reason and
    resource use; C(mode=kill), C(list), C(wait) and C(prune) of M(asyncops.jobs.async_status); lost-job
    detection; and progress from modules that use the collection's progress helper, also under C(poll)."
  - Results keep ansible-core's shape; what the collection adds is under the key C(asyncops).
  - "A task or play opts out with C(ASYNCOPS_SUPERVISE: false) in its C(environment): its module then runs the way
    ansible-core's own wrapper runs it. C(ASYNCOPS_KILL_GRACE) in the C(environment) sets the seconds between
    SIGTERM and SIGKILL (default 5)."
requirements:
  - Enable it with O(ignore:callbacks_enabled=asyncops.jobs.supervise) in the C([defaults]) section of
    C(ansible.cfg), or E(ANSIBLE_CALLBACKS_ENABLED=asyncops.jobs.supervise).
  - The C(ansible) ad-hoc command loads callbacks only with E(ANSIBLE_LOAD_CALLBACK_PLUGINS=true).
notes:
  - A module named C(async_wrapper) in a playbook's or role's C(library) directory would be found first; the
    callback warns when the lookup does not end at its replacement.
seealso:
  - module: asyncops.jobs.async_status
  - ref: playbooks_async
    description: Asynchronous actions and polling.
"""

import os
import typing as t

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import module_loader

WRAPPER_NAME = 'ansible.legacy.async_wrapper'
# the directory of the replacement: plugins/async_wrapper/ of this collection, wherever it is installed
WRAPPER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), 'async_wrapper')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'asyncops.jobs.supervise'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: t.Any = None) -> None:
        super().__init__(display=display)
        module_loader.add_directory(WRAPPER_DIR)
        found = module_loader.find_plugin(WRAPPER_NAME)
        if found is None or os.path.dirname(os.path.realpath(found)) != WRAPPER_DIR:
            self._display.warning('asyncops.jobs.supervise: %s resolves to %s, not to the replacement in %s; '
                                  'async tasks are not supervised' % (WRAPPER_NAME, found, WRAPPER_DIR))
