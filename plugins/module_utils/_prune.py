# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listing the jobs of async dirs, and pruning them: ``prune_reason`` is the only decision of what goes.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and the collection's module_utils (the janitor role's script
can use it without Ansible).
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

SAFETY_AGE = 3600.0  # a stray file younger than this may belong to a write in flight: never removed


class ScannedJob(t.NamedTuple):
    """One job found by scan(): where, its files, its record as it reads (lost detected), its age."""
    async_dir: str
    entry: _record.JobEntry
    record: _record.Record
    age: float  # seconds since the job last wrote its record or a sidecar


def last_activity(entry: _record.JobEntry) -> float:
    """When the job last wrote anything: its record or one of its sidecars."""
    times = [entry.mtime] + [m for m in (_record.mtime(p) for p in entry.sidecars.values()) if m is not None]
    return max(times)


def scan(dirs: t.Iterable[str], now: float) -> t.Tuple[t.List[ScannedJob], t.List[t.Dict[str, t.Any]]]:
    """Every job of the async dirs (one entry each) and the garbage found there.

    A record that cannot be read is listed as garbage with the error as its reason (prune leaves it to a human).
    """
    jobs, garbage = [], []
    core_prefixes = _proc.core_wrapper_prefixes()
    for d in dirs:
        try:
            entries, trash = _record.list_jobs(d)
        except _record.JobError as e:
            raise _record.JobError(e.msg, e.path, {'async_dir': d}) from None
        for g in trash:
            garbage.append({'path': g.path, 'reason': g.reason, 'size': g.size, 'age': round(now - g.mtime, 3),
                            'async_dir': d})
        for entry in entries:
            try:
                record = _record.read_record(d, entry.jid)
                if not _record.is_finished(record) and not _liveness.job_processes_alive(record, entry.jid,
                                                                                         core_prefixes):
                    record = _liveness.read_live_record(d, entry.jid)  # confirm the job is lost
            except _record.JobError as err:
                garbage.append({'path': entry.record, 'reason': err.msg, 'size': entry.size,
                                'age': round(now - entry.mtime, 3), 'async_dir': d})
                continue
            jobs.append(ScannedJob(d, entry, record, now - last_activity(entry)))
    return jobs, garbage


def prune_reason(age: t.Optional[float], max_age: float, state: t.Optional[str] = None,
                 name: t.Optional[str] = None) -> t.Optional[str]:
    """Why a prune removes a job (its state given) or a stray file (its name given); None when it is kept.

    A job goes when it has finished (lost included) and last wrote at least
    max_age ago: a running job never goes. A stray file goes when it is a temp
    file or a sidecar without a record, and last written at least max_age and
    SAFETY_AGE ago; any other file (an unreadable record) is left for a human.
    """
    if age is None:
        return None
    if state is not None:
        if state not in _record.FINISHED_STATES or age < max_age:
            return None
        return '%s job, last written %ds ago' % (state, age)
    if name is None:
        return None
    if _record.is_temp_name(name):
        kind = _record.GARBAGE_TEMP
    elif _record.sidecar_of(name) is not None:
        kind = _record.GARBAGE_ORPHAN
    else:
        return None
    if age < max(max_age, SAFETY_AGE):
        return None
    return '%s, last written %ds ago' % (kind, age)


def remove_files(async_dir: str, jid: str, check_mode: bool) -> t.List[str]:
    """Remove a job's record and sidecars (check_mode: only say which exist)."""
    paths = [p for p in _record.job_paths(async_dir, jid) if os.path.lexists(p)]
    if check_mode:
        return paths
    try:
        return _record.remove_job(async_dir, jid)
    except _record.JobError as e:
        raise _record.JobError(e.msg, e.path, {'ansible_job_id': jid, 'path': e.path}) from None


def prune_jobs(dirs: t.Iterable[str], max_age: t.Any, now: float, check_mode: bool) -> t.Dict[str, t.Any]:
    """Remove what prune_reason says goes; a job is read again (with its processes) right before it is removed."""
    try:
        age_limit = _durations.parse_duration(max_age, 'max_age')
    except ValueError as e:
        raise _record.JobError(str(e)) from None
    jobs, garbage = scan(dirs, now)
    removed, removed_files, kept_running = [], [], 0
    for job in jobs:
        state = _record.record_state(job.record)
        if prune_reason(job.age, age_limit, state=state) is None:
            if state == _record.RUNNING:
                kept_running += 1
            continue
        jid = job.entry.jid
        if not check_mode:
            try:
                record = _liveness.read_live_record(job.async_dir, jid)  # never remove a job that runs after all
            except _record.JobNotFound:
                continue
            except _record.JobError as e:
                raise _record.JobError(e.msg, e.path, {'path': e.path}) from None
            if prune_reason(job.age, age_limit, state=_record.record_state(record)) is None:
                kept_running += 1
                continue
        files = remove_files(job.async_dir, jid, check_mode)
        if files:
            removed.append(jid)
            removed_files.extend(files)
    removed_garbage, kept_unreadable = [], []
    for g in garbage:
        name = os.path.basename(g['path'])
        if prune_reason(g['age'], age_limit, name=name) is None:
            if _record.is_record_name(name):  # a record that cannot be read or trusted: left for a human
                kept_unreadable.append({'path': g['path'], 'reason': g['reason']})
            continue
        if not check_mode:
            try:
                os.unlink(g['path'])
            except FileNotFoundError:
                continue
            except OSError as e:
                raise _record.JobError('cannot remove %s: %s' % (g['path'], e.strerror or e), g['path'],
                                       {'path': g['path']}) from None
        removed_garbage.append(g['path'])
        removed_files.append(g['path'])
    return {'removed': removed, 'removed_files': removed_files, 'removed_garbage': removed_garbage,
            'kept_running': kept_running, 'kept_unreadable': kept_unreadable, 'max_age': age_limit,
            'changed': bool(removed_files)}
