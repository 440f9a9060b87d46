# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read side of asyncops.jobs.async_status: locating a job, what a job's status shows, the many-job summary.

Private to the collection. Runs on the target (Python 3.8+), imports only the
standard library and the collection's module_utils; the module is a thin shell
around ``run()``, the entry point, which hands waiting to ``_wait``, killing to
``_kill`` and listing and pruning to ``_prune``. The option spec lives here too,
so the module and its action plugin share one source of truth.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _kill
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _prune
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _wait

# ---------------------------------------------------------------- options (one source of truth)

STATUS, CLEANUP, WAIT, KILL, LIST, PRUNE = 'status', 'cleanup', 'wait', 'kill', 'list', 'prune'
MODES = (STATUS, CLEANUP, WAIT, KILL, LIST, PRUNE)
JOB_MODES = (STATUS, CLEANUP, WAIT, KILL)  # the modes that take jid or jids

ARGUMENT_SPEC = {
    'jid': {'type': 'str'},
    'jids': {'type': 'list', 'elements': 'str'},
    'mode': {'type': 'str', 'default': STATUS, 'choices': list(MODES)},
    'wait_timeout': {'type': 'float', 'default': 300.0},
    'wait_for': {'type': 'str', 'default': _wait.WAIT_ALL, 'choices': [_wait.WAIT_ALL, _wait.WAIT_ANY]},
    'kill_grace': {'type': 'float', 'default': 5.0},
    'cleanup': {'type': 'bool', 'default': False},
    'tail': {'type': 'int', 'default': 10},
    'state_filter': {'type': 'list', 'elements': 'str', 'choices': list(_record.STATES)},
    'max_age': {'type': 'raw'},
    'fail_on_job_failure': {'type': 'bool', 'default': True},
    'query': {'type': 'str'},
}  # type: t.Dict[str, t.Dict[str, t.Any]]
MUTUALLY_EXCLUSIVE = [['jid', 'jids']]
REQUIRED_IF = [['mode', m, ['jid', 'jids'], True] for m in JOB_MODES] + [['mode', PRUNE, ['max_age']]]

TAIL_MAX_BYTES = 1 << 20  # tails: never read more than this from the end of a sidecar

NOT_FOUND_MSG = 'could not find job'  # exactly the built-in's


# ---------------------------------------------------------------- small helpers

def _num(value: t.Any) -> t.Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _round(value: t.Optional[float]) -> t.Optional[float]:
    return None if value is None else round(value, 3)


def tail_lines(path: str, count: int, max_bytes: int = TAIL_MAX_BYTES) -> t.Optional[t.List[str]]:
    """The last count lines of a sidecar of ours (None when there is none or it is not ours); reads from the end.

    Opened with _record.open_private: a link, another user's file or anything
    but a regular file is never read.
    """
    if count <= 0:
        return []
    try:
        fd = _record.open_private(path)
    except _record.JobError:
        return None
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        data = b''
        pos = end
        while pos > 0 and data.count(b'\n') <= count and end - pos < max_bytes:
            step = min(8192, pos)
            pos -= step
            os.lseek(fd, pos, os.SEEK_SET)
            data = _record.read_fd(fd, path, step) + data
    except (OSError, _record.JobError):
        return None
    finally:
        os.close(fd)
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    if pos > 0 and lines:
        lines.pop(0)  # the first line read is probably partial
    return [line.decode('utf-8', 'replace').rstrip('\r') for line in lines[-count:]]


def _failure(msg: str, **result: t.Any) -> _record.JobError:
    return _record.JobError(msg, result=result)


# ---------------------------------------------------------------- where jobs are

class Context:
    """The async dirs to search, for one module call."""

    def __init__(self, environ: t.Optional[t.Mapping[str, str]] = None, check_mode: bool = False) -> None:
        environ = os.environ if environ is None else environ
        dirs = _async_dir.candidate_async_dirs(environ=environ)
        # a task environment entry ANSIBLE_ASYNC_DIR (how cores before 2.8 set the dir) is searched too
        task_dir = environ.get(_async_dir.TASK_ASYNC_DIR_ENV)
        if task_dir:
            for d in _async_dir.candidate_async_dirs(task_dir, environ):
                if d not in dirs:
                    dirs.append(d)
        self.dirs = dirs
        self.check_mode = check_mode

    @property
    def primary(self) -> str:
        return self.dirs[0]

    def trusted(self, path: str) -> bool:
        """Whether the async dir path exists; a task failure when it is not ours to trust (a link, another user's)."""
        try:
            return _async_dir.check_async_dir(path, tighten=not self.check_mode)
        except _record.JobError as e:
            raise _failure(e.msg, async_dir=path) from None

    def existing_dirs(self) -> t.List[str]:
        seen, out = set(), []
        for d in self.dirs:
            if not self.trusted(d):
                continue
            try:
                st = os.stat(d)
            except FileNotFoundError:
                continue
            except OSError as e:
                raise _failure('cannot access async dir %s: %s' % (d, e.strerror or e), async_dir=d) from None
            if not stat.S_ISDIR(st.st_mode):
                raise _failure('async dir %s exists but is not a directory' % d, async_dir=d)
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out

    def locate(self, jid: t.Any, or_sidecars: bool = False) -> str:
        """The async dir that holds jid's record; fails like the built-in for an unknown job.

        With or_sidecars (mode=cleanup), a dir holding only sidecars of jid will
        do (what cleanup removes), and a failure names the record as ``erased``
        where status names it ``results_file``, as the built-in does.
        """
        try:
            _record.validate_jid(jid)
        except _record.InvalidJid as e:
            raise _failure(e.msg, ansible_job_id=jid if isinstance(jid, str) else None,
                           started=False, finished=False) from None
        path_key = 'erased' if or_sidecars else 'results_file'
        for d in self.dirs:
            path = _record.job_paths(d, jid).record
            found = {'ansible_job_id': jid, path_key: path, 'started': True, 'finished': True}
            if not self.trusted(d):
                continue
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except PermissionError:
                raise _failure('cannot look for job %s in %s: permission denied for %s; run the status task as '
                               'the user that started the job (become_user)'
                               % (jid, d, _record.user_name(os.geteuid())), **found) from None
            except OSError as e:
                raise _failure('cannot look for job %s in %s: %s' % (jid, d, e.strerror or e), **found) from None
            if stat.S_ISDIR(st.st_mode):
                raise _failure('%s is a directory, not a job record' % path, **found)
            if not stat.S_ISREG(st.st_mode):
                raise _failure('%s is not a regular file, not a job record (refusing to follow it)' % path, **found)
            return d
        if or_sidecars:
            for d in self.dirs:
                if self.trusted(d) and any(os.path.lexists(path) for path in _record.job_paths(d, jid)[1:]):
                    return d
        # exactly the built-in's failure (whether the dir exists or not); where we looked is under asyncops
        raise _failure(NOT_FOUND_MSG, **{
            'ansible_job_id': jid, path_key: _record.job_paths(self.primary, jid).record,
            'started': True, 'finished': True,
            _record.BLOCK_KEY: {'searched': {'dirs': list(self.dirs), 'user': _record.user_name(os.geteuid())}}})


# ---------------------------------------------------------------- what a job's status shows

class Timing(t.NamedTuple):
    started_at: t.Optional[float]
    ended_at: t.Optional[float]
    elapsed: t.Optional[float]
    time_limit: t.Optional[float]
    time_left: t.Optional[float]


def job_timing(async_dir: str, jid: str, record: t.Mapping[str, t.Any], now: float,
               core: t.Optional[_proc.CoreProcs] = None) -> Timing:
    """elapsed, time_limit and time_left where they can be known."""
    block = _record.asyncops_block(record)
    state = _record.record_state(record)
    paths = _record.job_paths(async_dir, jid)
    started_at, ended_at = _num(block.get('started_at')), _num(block.get('ended_at'))
    time_limit = _num(block.get('time_limit'))
    if not _record.is_supervised(record) and state == _record.RUNNING:
        # a running job of the built-in wrapper: its processes tell when it started and its time limit
        core = _proc.core_procs(jid) if core is None else core
        started_at = started_at or core.started_at or _record.mtime(paths.record)
        time_limit = time_limit if time_limit is not None else core.time_limit
    elapsed = None  # type: t.Optional[float]
    if state == _record.RUNNING:
        if started_at is not None:
            elapsed = now - started_at
    elif state == _record.LOST:
        if started_at is not None:
            # up to the last sign of life: the newest of the record and its sidecars
            seen = [m for m in (_record.mtime(p) for p in paths) if m is not None]
            elapsed = max(seen + [started_at]) - started_at
    else:
        if ended_at is None:
            ended_at = _record.mtime(paths.record)  # a final record is written when the job ends
        if started_at is not None and ended_at is not None:
            elapsed = ended_at - started_at
        else:
            elapsed = _durations.parse_delta(record.get('delta'))
    if elapsed is not None:
        elapsed = max(elapsed, 0.0)
    time_left = None
    if state == _record.RUNNING and time_limit and started_at is not None:
        time_left = max(started_at + time_limit - now, 0.0)
    return Timing(started_at, ended_at, _round(elapsed), time_limit, _round(time_left))


def progress_with_rate(progress: t.Mapping[str, t.Any], started_at: t.Optional[float],
                       now: t.Optional[float] = None) -> t.Dict[str, t.Any]:
    """progress with ``rate`` and ``eta``: the writer's own, else computed from the job's start (rate_and_eta).

    The time spent runs to the last update (updated_at), else to now.
    """
    out = dict(progress)
    if out.get('rate') is not None:
        out.setdefault('eta', None)
        return out
    at = out.get('updated_at') or (time.time() if now is None else now)
    out['rate'], out['eta'] = _durations.rate_and_eta(out.get('current'), out.get('total'), out.get('percent'),
                                                      (at - started_at) if started_at else None)
    return out


def job_progress(async_dir: str, jid: str, record: t.Mapping[str, t.Any],
                 started_at: t.Optional[float], now: float) -> t.Optional[t.Dict[str, t.Any]]:
    """The job's progress (its sidecar, else asyncops.progress of its record) with rate and eta.

    The sidecar's path comes from the jid only (never from the record), and
    _record.read_progress opens it with _record.open_private.
    """
    block = _record.asyncops_block(record)
    progress = _record.read_progress(_record.job_paths(async_dir, jid).progress)
    if progress is None and isinstance(block.get('progress'), dict):
        progress = _record.normalize_progress(block['progress'])  # folded into a core running record
    if progress is None:
        return None
    return progress_with_rate(progress, started_at, now)


def read_live(async_dir: str, jid: str) -> _record.Record:
    """The record with lost detection; errors name the job (_record.read_record)."""
    return _liveness.read_live_record(async_dir, jid)


def job_view(result: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The ``asyncops`` block of a single-job result (status_view, cleanup_job): what this collection adds."""
    block = result.get(_record.BLOCK_KEY)
    return block if isinstance(block, dict) else {}


def status_view(async_dir: str, jid: str, record: t.Mapping[str, t.Any], tail: int = 10,
                now: t.Optional[float] = None, core: t.Optional[_proc.CoreProcs] = None) -> t.Dict[str, t.Any]:
    """What status returns for one job (the result rule).

    The top level is the record as the built-in returns it: the job's own keys
    untouched, plus ``ansible_job_id``, ``started``, ``finished`` and
    ``results_file``. Under ``asyncops``: the record's own block, with the view
    (state, elapsed, time_limit, time_left, progress, stdout_tail, stderr_tail)
    over it. Sidecar paths come from the jid only, never from the record.
    """
    now = time.time() if now is None else now
    result = {k: v for k, v in record.items() if k != _record.BLOCK_KEY}
    if 'started' not in record:
        result['finished'] = True  # core's rule: no 'started' key means a final module result
    elif 'finished' not in record:
        result['finished'] = False
    result['finished'] = bool(result['finished'])
    result['started'] = True
    result['ansible_job_id'] = jid
    paths = _record.job_paths(async_dir, jid)
    result['results_file'] = paths.record
    state = _record.record_state(record)
    timing = job_timing(async_dir, jid, record, now, core)
    view = dict(_record.asyncops_block(record))  # type: t.Dict[str, t.Any]
    view.update(state=state, elapsed=timing.elapsed, time_limit=timing.time_limit, time_left=timing.time_left,
                progress=job_progress(async_dir, jid, record, timing.started_at, now))
    for key in ('stdout_tail', 'stderr_tail'):
        view.pop(key, None)
    if tail > 0:
        for path, key in ((paths.out, 'stdout_tail'), (paths.err, 'stderr_tail')):
            lines = tail_lines(path, tail)
            if lines is not None:
                view[key] = lines
    if state in _record.FAILED_STATES:
        result['failed'] = True  # a lost (or killed, timed-out) job fails as the built-in's watcher's jobs do
    result[_record.BLOCK_KEY] = view
    return result


def kill_views(outcomes: t.Sequence[_kill.KillOutcome], tail: int) -> t.List[t.Dict[str, t.Any]]:
    """The status of each job mode=kill was given, with what the kill did (under asyncops)."""
    now = time.time()
    views = []
    for o in outcomes:
        view = status_view(o.async_dir, o.jid, o.record, tail, now)
        view['changed'] = o.changed
        # the job's own msg stays; what the kill did is under asyncops.kill. The kill succeeded; the job's
        # failure is its own (and failed=false keeps the controller from reading a killed job's rc -15
        # as a failure of this task)
        job_view(view).update(kill=dict(o.kill, msg=o.msg), job_failed=bool(view.get('failed', False)))
        view['failed'] = False
        views.append(view)
    return views


# ---------------------------------------------------------------- cleanup

def cleanup_job(async_dir: str, jid: str, check_mode: bool, now: float) -> t.Dict[str, t.Any]:
    """mode=cleanup: remove the record and its sidecars whatever the job's state (as the built-in does)."""
    record_path = _record.job_paths(async_dir, jid).record
    state, elapsed = None, None
    try:
        record = _liveness.read_live_record(async_dir, jid)
        state = _record.record_state(record)
        elapsed = job_timing(async_dir, jid, record, now).elapsed
    except _record.JobError:
        pass  # a damaged record is removed all the same: cleaning it up is what was asked
    removed = _prune.remove_files(async_dir, jid, check_mode)
    # changed stays false, as the built-in reports it: what was removed is under asyncops
    return {'ansible_job_id': jid, 'erased': record_path, 'changed': False,
            'started': False, 'finished': False,
            _record.BLOCK_KEY: {'state': state, 'elapsed': elapsed, 'removed_files': removed}}


# ---------------------------------------------------------------- many jobs

def summarize(states: t.Iterable[t.Optional[str]]) -> t.Dict[str, int]:
    """Counts of jobs by state (total, running, finished and one per state), from each job's state.

    Jobs launched in check mode (never started, finished for a wait) count as finished and, only when
    there are any, under not_started.
    """
    summary = {'total': 0, 'running': 0, 'finished': 0}
    for s in _record.STATES:
        summary.setdefault(s, 0)
    for state in states:
        summary['total'] += 1
        if state == _record.NOT_STARTED:
            summary.setdefault(state, 0)
        if state in summary:
            summary[str(state)] += 1
        if state != _record.RUNNING:
            summary['finished'] += 1
    return summary


def aggregate_state(states: t.Sequence[t.Optional[str]]) -> t.Optional[str]:
    """running while any job runs; succeeded when all did; else the state of the first job that did not succeed.

    Jobs launched in check mode are left out (the others decide), unless there are no others: not_started.
    """
    if not states:
        return None
    started = [s for s in states if s != _record.NOT_STARTED]
    if not started:
        return _record.NOT_STARTED
    if _record.RUNNING in started:
        return _record.RUNNING
    for s in started:
        if s != _record.SUCCEEDED:
            return s
    return _record.SUCCEEDED


def many_result(mode: str, views: t.List[t.Dict[str, t.Any]], fail_on_job_failure: bool) -> t.Dict[str, t.Any]:
    """The result of jids: its own top level (jobs, jobs_by_jid, summary, aggregates); each entry a single-job result."""
    states = [job_view(v).get('state') for v in views]
    elapsed = [e for e in (job_view(v).get('elapsed') for v in views) if e is not None]
    result = {
        'jobs': views,
        'jobs_by_jid': {v['ansible_job_id']: v for v in views},
        'summary': summarize(states),
        'state': aggregate_state(states),
        'elapsed': max(elapsed) if elapsed else None,
        'started': mode != CLEANUP and any(v.get('started') for v in views),
        'finished': all(v.get('finished') for v in views) if mode != CLEANUP else False,
        'changed': any(bool(v.get('changed')) for v in views),
    }  # type: t.Dict[str, t.Any]
    if views and all(state == _record.NOT_STARTED for state in states):
        result['skipped'] = True  # as for one such jid: every job was launched in check mode
    if mode in (STATUS, WAIT):
        failed = [(v, state) for v, state in zip(views, states) if v.get('finished') and v.get('failed')]
        if failed and fail_on_job_failure:
            result['failed'] = True
            result['msg'] = '%d of %d jobs failed: %s' % (
                len(failed), len(views), ', '.join('%s (%s)' % (v['ansible_job_id'], state) for v, state in failed))
    return result


def with_not_started(jids: t.Sequence[str], views: t.Sequence[t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """The views of the jobs of jids (one per jid that is not a check-mode jid, in order), with the
    not-started result of each check-mode jid in its place."""
    started = list(views)
    if len(started) != sum(1 for jid in jids if not _record.is_check_mode_jid(jid)):
        raise ValueError('one view per jid that is not a check-mode jid is needed')
    started.reverse()
    return [_record.not_started_result(jid) if _record.is_check_mode_jid(jid) else started.pop() for jid in jids]


def list_entry(job: _prune.ScannedJob, now: float) -> t.Dict[str, t.Any]:
    """One job of mode=list."""
    async_dir, entry, record = job.async_dir, job.entry, job.record
    timing = job_timing(async_dir, entry.jid, record, now)
    state = _record.record_state(record)
    return {
        'ansible_job_id': entry.jid,
        'state': state,
        'finished': state != _record.RUNNING,
        'failed': state in _record.FAILED_STATES,
        'kind': 'asyncops' if _record.is_supervised(record) else 'builtin',
        'started_at': timing.started_at,
        'ended_at': timing.ended_at,
        'elapsed': timing.elapsed,
        'time_limit': timing.time_limit,
        'time_left': timing.time_left,
        'age': _round(job.age),
        'progress': job_progress(async_dir, entry.jid, record, timing.started_at, now),
        'size': entry.size,
        'files': [entry.record] + sorted(entry.sidecars.values()),
        'results_file': entry.record,
        'async_dir': async_dir,
        'rc': record.get('rc') if isinstance(record.get('rc'), int) else None,
        'msg': record.get('msg') if isinstance(record.get('msg'), str) else None,
    }


def list_jobs(ctx: Context, states: t.Optional[t.Sequence[str]], now: float) -> t.Dict[str, t.Any]:
    """mode=list: every job of the async dirs (filtered by state), the garbage, a summary."""
    scanned, garbage = _prune.scan(ctx.existing_dirs(), now)
    jobs = [list_entry(job, now) for job in scanned]
    if states:
        jobs = [j for j in jobs if j['state'] in states]
    return {'jobs': jobs, 'jobs_by_jid': {j['ansible_job_id']: j for j in jobs}, 'garbage': garbage,
            'summary': summarize(j['state'] for j in jobs), 'async_dirs': list(ctx.dirs), 'changed': False}


# ---------------------------------------------------------------- entry point

def dedupe_jids(jids: t.Sequence[t.Any]) -> t.List[t.Any]:
    """jids in order, each once (the order of a jids result's jobs)."""
    seen, out = set(), []
    for j in jids:
        key = j if isinstance(j, str) else repr(j)
        if key not in seen:
            seen.add(key)
            out.append(j)
    return out


def _check_numbers(params: t.Mapping[str, t.Any]) -> None:
    for key in ('wait_timeout', 'kill_grace', 'tail'):
        value = params.get(key)
        if value is not None and value < 0:
            raise _failure('%s must not be negative (got %r)' % (key, value))


def run(params: t.Mapping[str, t.Any], check_mode: bool = False,
        environ: t.Optional[t.Mapping[str, str]] = None) -> t.Dict[str, t.Any]:
    """Carry out one call of the module; raises _record.JobError (msg, result) for a failed task."""
    _check_numbers(params)
    mode = params.get('mode') or STATUS
    ctx = Context(environ, check_mode)
    tail = params.get('tail')
    tail = 10 if tail is None else tail
    now = time.time()
    if mode == LIST:
        return list_jobs(ctx, params.get('state_filter'), now)
    if mode == PRUNE:
        result = _prune.prune_jobs(ctx.existing_dirs(), params.get('max_age'), now, check_mode)
        result['async_dirs'] = list(ctx.dirs)
        return result

    single = params.get('jids') is None
    jids = [params.get('jid')] if single else dedupe_jids(params.get('jids') or [])
    if not jids:
        raise _failure('jids is empty: give at least one job id')
    checked = []  # type: t.List[str]
    for jid in jids:  # every jid is checked before any path is built from any of them
        try:
            checked.append(_record.validate_jid(jid))
        except _record.InvalidJid as e:
            raise _failure(e.msg, ansible_job_id=jid if isinstance(jid, str) else None,
                           started=False, finished=False) from None
    if single and _record.is_check_mode_jid(checked[0]):
        return _record.not_started_result(checked[0])
    # a check-mode jid names no record: nothing is looked for, waited for, killed or removed for it
    located = [(ctx.locate(jid, or_sidecars=mode == CLEANUP), jid) for jid in checked
               if not _record.is_check_mode_jid(jid)]
    fail_on_job_failure = params.get('fail_on_job_failure', True)
    fail_on_job_failure = True if fail_on_job_failure is None else fail_on_job_failure

    if mode == CLEANUP:
        views = [cleanup_job(d, jid, check_mode, now) for d, jid in located]
        return views[0] if single else many_result(mode, with_not_started(checked, views), fail_on_job_failure)

    if mode == KILL:
        kill_grace = params.get('kill_grace')
        views = kill_views(_kill.kill_jobs(located, 5.0 if kill_grace is None else kill_grace, check_mode), tail)
        return views[0] if single else many_result(mode, with_not_started(checked, views), fail_on_job_failure)

    waited = None
    wait_started_at = time.time()
    if mode == WAIT and located:
        wait_timeout = params.get('wait_timeout')
        records, waited = _wait.wait_for_jobs(located, 300.0 if wait_timeout is None else wait_timeout,
                                              params.get('wait_for') or _wait.WAIT_ALL)
    else:
        records = {jid: read_live(d, jid) for d, jid in located}
    now = time.time()
    views = []
    for d, jid in located:
        record = records[jid]
        view = status_view(d, jid, record, tail, now)
        if params.get('cleanup') and view['finished']:
            view['erased'] = _record.job_paths(d, jid).record
            job_view(view)['removed_files'] = _prune.remove_files(d, jid, check_mode)
        views.append(view)
    if single:
        result = views[0]
        if not fail_on_job_failure and result.get('failed'):
            # the task succeeds; that the job failed is said under asyncops, as mode=kill says it
            job_view(result)['job_failed'] = True
            result['failed'] = False
    else:
        result = many_result(mode, with_not_started(checked, views), fail_on_job_failure)
    if mode == WAIT and located:
        block = result.setdefault(_record.BLOCK_KEY, {})
        block.update(waited=_round(waited), wait_started_at=wait_started_at, wait_ended_at=now)
    return result


def emit_job_result(result: t.Mapping[str, t.Any]) -> None:
    """Print a module result that carries a job's result, and exit, the way the built-in async_status does.

    AnsibleModule.exit_json would treat the job's own keys as this module's:
    re-emit its ``warnings``/``deprecations`` (deprecated in core 2.19+), stat
    its ``path`` and overwrite ``state`` with the file type.
    """
    print('\n%s' % json.dumps(result))  # pylint: disable=ansible-bad-function
    sys.stdout.flush()
    sys.exit(0)  # pylint: disable=ansible-bad-function
