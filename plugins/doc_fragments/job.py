# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The switch of the launchers, described once; the defaults differ by module (the sections below).
    # The argument spec is job_argument_spec(background=...) in plugins/module_utils/_supervisor.py.
    _BACKGROUND = r"""
options:
  background:
    description:
      - Whether the task starts a job and returns at once, or waits for the work to end and returns its result.
      - V(true) starts the work as a job of this collection, under a supervisor detached from the connection, and
        returns its job id (RV(ansible_job_id)) at once, like the C(async) keyword with C(poll=0). Collect the job
        with M(asyncops.jobs.async_status) (or M(ansible.builtin.async_status)). O(time_limit) and O(kill_grace)
        bound it.
      - V(false) returns the final result once the work has ended, as the built-in module the module stands beside
        does (M(ansible.builtin.command) for M(asyncops.jobs.run), M(ansible.builtin.get_url) for
        M(asyncops.jobs.download)). M(asyncops.jobs.run) still runs the command under its detached supervisor,
        within its limits, so a lost connection does not stop it and its record can be collected later;
        M(asyncops.jobs.download) downloads in the module itself (use the C(async) keyword to bound it).
      - The default is the purpose of the module. V(true) on M(asyncops.jobs.run), which exists to start background
        jobs; V(false) on M(asyncops.jobs.download), which stands in for M(ansible.builtin.get_url), which waits.
    type: bool
"""

    # Annotated, as ansible-test's yamllint parses every plain assignment of this class as a YAML literal;
    # validate-modules checks the built sections as each module gets them.
    BACKGROUND_DEFAULT_TRUE: str = _BACKGROUND + "    default: true\n"

    BACKGROUND_DEFAULT_FALSE: str = _BACKGROUND + "    default: false\n"

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
