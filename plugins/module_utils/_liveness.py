# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether a record's job is alive, and a record as it reads once that is known (running or lost).

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library, ``_record`` and ``_proc``.
"""

from __future__ import annotations

import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record


def job_processes_alive(record: t.Mapping[str, t.Any], jid: str,
                        core_prefixes: t.Optional[t.AbstractSet[str]] = None) -> bool:
    """Whether a process of the job is alive.

    This collection's jobs: the supervisor or the job's leader, each checked
    with its start time. Core's jobs: a process whose argv holds the jid's
    prefix and a time limit (``core_prefixes``, from one
    ``_proc.core_wrapper_prefixes()`` scan, answers that for a whole listing).
    Without procfs a core job's processes cannot be seen: it is never called
    dead on a guess.
    """
    if _record.is_supervised(record):
        block = _record.asyncops_block(record)
        return (_proc.pid_is(block.get('supervisor_pid'), block.get('supervisor_start'))
                or _proc.pid_is(block.get('pid'), block.get('pid_start')))
    if core_prefixes is not None:
        return _record.jid_prefix(jid) in core_prefixes
    if not _proc.have_procfs():
        return True
    return bool(_proc.core_job_pids(jid))


def read_live_record(async_dir: str, jid: str) -> _record.Record:
    """The record, with a running record whose processes are all gone reported as lost (_record.lost_record).

    Re-reads once after finding no process: the job may have written its final
    record and exited between the first read and the process check.
    """
    record = _record.read_record(async_dir, jid)
    if _record.is_finished(record) or job_processes_alive(record, jid):
        return record
    record = _record.read_record(async_dir, jid)
    if _record.is_finished(record):
        return record
    return _record.lost_record(record, jid)
