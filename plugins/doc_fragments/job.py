# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The options of a job started by this collection's supervisor; the argument
    # spec is JOB_ARGUMENT_SPEC in plugins/module_utils/_supervisor.py.
    DOCUMENTATION = r"""
options:
  time_limit:
    description:
      - How long the job may run, in seconds (fractions allowed). Past it the supervisor
        sends C(SIGTERM) to the job's whole process group, waits O(kill_grace) seconds,
        then sends C(SIGKILL), and records the job with state V(timeout).
      - The limit is enforced to within a fraction of a second, not in 5-second steps
        like the built-in C(async) keyword.
      - V(0) or unset means no limit.
      - The same name as C(asyncops.time_limit) in the job record. It is not called C(timeout), because on
        M(asyncops.jobs.download) that is the HTTP timeout, as on M(ansible.builtin.get_url).
    type: float
  kill_grace:
    description:
      - Seconds between C(SIGTERM) and C(SIGKILL) when the job is stopped (time limit,
        C(SIGTERM) to its supervisor), and after its main process has ended while other
        processes of its group are still running.
      - V(0) sends C(SIGKILL) right after C(SIGTERM).
    type: float
    default: 5
notes:
  - The job runs detached from the connection in its own session and process group, under a
    supervisor process that writes its record C(<async_dir>/<jid>) (mode C(0600) in a C(0700)
    directory) and exits with it. C(async_dir) is the shell option C(ansible_async_dir), default
    C(~/.ansible_async), expanded for the user the task runs as (the C(become) user).
  - The record is a superset of the one C(ansible.builtin.async_status) reads, so both that module
    and M(asyncops.jobs.async_status) collect it.
  - Sending C(SIGUSR1) to the supervisor (C(asyncops.supervisor_pid) in the record) tells it the job is
    being killed from outside (M(asyncops.jobs.async_status) C(mode=kill) does that before it signals
    the group), so the job is recorded as V(killed). C(SIGTERM) to the supervisor makes it stop the
    job itself (C(SIGTERM), grace, C(SIGKILL)) and record V(killed).
"""
