# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The logic of asyncops.jobs.async_status: status, wait, kill, cleanup, list and prune.

Private to the collection. Runs on the target (Python 3.8+), imports only the
standard library and ``_jobs``; the module is a thin shell around ``run()``.
The option spec lives here too, so the module and its action plugin share
one source of truth.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import sys
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs

# ---------------------------------------------------------------- options (one source of truth)

STATUS, CLEANUP, WAIT, KILL, LIST, PRUNE = 'status', 'cleanup', 'wait', 'kill', 'list', 'prune'
MODES = (STATUS, CLEANUP, WAIT, KILL, LIST, PRUNE)
JOB_MODES = (STATUS, CLEANUP, WAIT, KILL)  # the modes that take jid or jids

ARGUMENT_SPEC = {
    'jid': {'type': 'str'},
    'jids': {'type': 'list', 'elements': 'str'},
    'mode': {'type': 'str', 'default': STATUS, 'choices': list(MODES)},
    'timeout': {'type': 'float', 'default': 300.0},
    'wait_for': {'type': 'str', 'default': 'all', 'choices': ['all', 'any']},
    'grace': {'type': 'float', 'default': 5.0},
    'cleanup': {'type': 'bool', 'default': False},
    'tail': {'type': 'int', 'default': 10},
    'state': {'type': 'list', 'elements': 'str', 'choices': list(_jobs.STATES)},
    'max_age': {'type': 'raw'},
    'fail_on_job_failure': {'type': 'bool', 'default': True},
    'query': {'type': 'str'},
}  # type: t.Dict[str, t.Dict[str, t.Any]]
MUTUALLY_EXCLUSIVE = [['jid', 'jids']]
REQUIRED_IF = [['mode', m, ['jid', 'jids'], True] for m in JOB_MODES] + [['mode', PRUNE, ['max_age']]]

POLL_INTERVAL = 0.05      # wait: how often a record's stat is compared (seconds)
LIVENESS_INTERVAL = 0.25  # wait: how often the job's processes are checked
FINAL_RECORD_WAIT = 10.0  # kill: how long to wait for a supervisor's final record
SIGKILL_WAIT = 5.0        # kill: how long a group may take to vanish after SIGKILL
SAFETY_AGE = 3600.0       # prune: garbage younger than this is never removed
TAIL_MAX_BYTES = 1 << 20  # tails: never read more than this from the end of a sidecar
KILLED_BY = 'asyncops.jobs.async_status'

# keys the status view sets at the top level; a job result's own values move to job_keys_shadowed
VIEW_KEYS = ('state', 'elapsed', 'time_limit', 'time_left', 'progress', 'stdout_tail', 'stderr_tail')
FAILED_STATES = (_jobs.FAILED, _jobs.TIMEOUT, _jobs.KILLED, _jobs.LOST)


class StatusFailure(Exception):
    """The task fails with msg; result holds the other keys of the failed result."""

    def __init__(self, msg: str, **result: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result


# ---------------------------------------------------------------- small helpers

_AGE_RE = re.compile(r'\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*')
_UNITS = {}  # type: t.Dict[str, int]
for _seconds, _names in ((1, ('', 's', 'sec', 'secs', 'second', 'seconds')),
                         (60, ('m', 'min', 'mins', 'minute', 'minutes')),
                         (3600, ('h', 'hr', 'hrs', 'hour', 'hours')),
                         (86400, ('d', 'day', 'days')),
                         (604800, ('w', 'week', 'weeks'))):
    _UNITS.update(dict.fromkeys(_names, _seconds))


def parse_age(value: t.Any) -> float:
    """Seconds from 600, '600', '30m', '2h', '7d', '1w' or '1h30m'."""
    if isinstance(value, bool) or value is None:
        raise StatusFailure('invalid max_age %r: give seconds or a duration such as 30m, 2h, 7d' % (value,))
    if isinstance(value, (int, float)):
        if value < 0:
            raise StatusFailure('invalid max_age %r: it cannot be negative' % (value,))
        return float(value)
    text = str(value).strip()
    total, pos = 0.0, 0
    while pos < len(text):
        m = _AGE_RE.match(text, pos)
        if not m or m.group(2).lower() not in _UNITS:
            break
        total += float(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if not text or pos != len(text):
        raise StatusFailure('invalid max_age %r: give seconds or a duration such as 30m, 2h, 7d or 1h30m' % (value,))
    return total


def _num(value: t.Any) -> t.Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _round(value: t.Optional[float]) -> t.Optional[float]:
    return None if value is None else round(value, 3)


_DELTA_RE = re.compile(r'\A(?:(?P<days>-?[0-9]+) days?, )?(?P<h>[0-9]+):(?P<m>[0-9]{2}):(?P<s>[0-9]{2}(?:\.[0-9]+)?)\Z')


def parse_delta(value: t.Any) -> t.Optional[float]:
    """Seconds in a command result's ``delta`` ('0:00:01.234567', '1 day, 2:03:04.5')."""
    if not isinstance(value, str):
        return None
    m = _DELTA_RE.match(value.strip())
    if not m:
        return None
    return (int(m.group('days') or 0) * 86400 + int(m.group('h')) * 3600 + int(m.group('m')) * 60
            + float(m.group('s')))


def _mtime(path: t.Optional[str]) -> t.Optional[float]:
    if not path:
        return None
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def tail_lines(path: str, count: int, max_bytes: int = TAIL_MAX_BYTES) -> t.Optional[t.List[str]]:
    """The last count lines of a file (None when it cannot be read); reads from the end only."""
    if count <= 0:
        return []
    try:
        f = open(path, 'rb')
    except OSError:
        return None
    with f:
        try:
            end = f.seek(0, os.SEEK_END)
        except OSError:
            return None
        data = b''
        pos = end
        while pos > 0 and data.count(b'\n') <= count and end - pos < max_bytes:
            step = min(8192, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    if pos > 0 and lines:
        lines.pop(0)  # the first line read is probably partial
    return [line.decode('utf-8', 'replace').rstrip('\r') for line in lines[-count:]]


# ---------------------------------------------------------------- processes

class Proc(t.NamedTuple):
    pid: int
    ppid: int
    pgrp: int
    state: str
    start: str  # the same token as _jobs.process_start_time


def read_proc(pid: int) -> t.Optional[Proc]:
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            raw = f.read()
        fields = raw.rsplit(b')', 1)[1].split()
        return Proc(pid, int(fields[1]), int(fields[2]), fields[0].decode('ascii'), fields[19].decode('ascii'))
    except (OSError, IndexError, ValueError):
        return None


def have_procfs() -> bool:
    return os.path.exists('/proc/self/stat')


def all_procs() -> t.List[Proc]:
    procs = []
    for pid in _jobs._all_pids():  # pylint: disable=protected-access
        p = read_proc(pid)
        if p is not None:
            procs.append(p)
    return procs


_BOOT_TIME = []  # type: t.List[float]


def _boot_time() -> t.Optional[float]:
    if not _BOOT_TIME:
        try:
            with open('/proc/stat', 'rb') as f:
                for line in f:
                    if line.startswith(b'btime '):
                        _BOOT_TIME.append(float(line.split()[1]))
                        break
        except (OSError, ValueError):
            pass
    return _BOOT_TIME[0] if _BOOT_TIME else None


def start_epoch(proc: Proc) -> t.Optional[float]:
    """When a process started, as epoch seconds (Linux procfs), else None."""
    boot = _boot_time()
    try:
        ticks = float(proc.start)
        hz = os.sysconf('SC_CLK_TCK')
    except (ValueError, OSError, AttributeError):
        return None
    if boot is None or hz <= 0:
        return None
    return boot + ticks / hz


def group_members(pgid: int) -> t.Optional[t.List[Proc]]:
    """Living (not zombie) processes of a process group; None when procfs is missing."""
    if not have_procfs():
        return None
    return [p for p in all_procs() if p.pgrp == pgid and p.state not in ('Z', 'X')]


def descendants_outside_group(root: Proc) -> t.List[Proc]:
    """Living descendants of root that are not in root's process group.

    Core's wrapper moves its module runner into a group of its own from the
    parent, after the fork: what the runner started before that stays behind
    in the wrapper's group, out of reach of a signal to the runner's group.
    """
    children = {}  # type: t.Dict[int, t.List[Proc]]
    for p in all_procs():
        children.setdefault(p.ppid, []).append(p)
    found, todo = [], [root.pid]
    while todo:
        for p in children.get(todo.pop(), []):
            todo.append(p.pid)
            if p.pgrp != root.pid and p.state not in ('Z', 'X'):
                found.append(p)
    return found


def group_alive(pgid: int) -> bool:
    members = group_members(pgid)
    if members is not None:
        return bool(members)
    return _jobs.group_exists(pgid)


def wait_group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + max(seconds, 0.0)
    while True:
        if not group_alive(pgid):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(POLL_INTERVAL, left))


def _perm_failure(what: str, pid: int) -> StatusFailure:
    try:
        owner = _jobs._user_name(os.stat('/proc/%d' % pid).st_uid)  # pylint: disable=protected-access
    except OSError:
        owner = 'another user'
    return StatusFailure('not permitted to signal %s %d (owned by %s); run the kill as the user that started the job '
                         '(become_user)' % (what, pid, owner))


def signal_verified(pid: t.Any, token: t.Any, sig: int) -> bool:
    """Signal pid only if it still is the process that had start token ``token``.

    With pidfd (Linux 5.3+, Python 3.9+) the check and the signal refer to
    the same process even if the PID is reused in between.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    pidfd_open = getattr(os, 'pidfd_open', None)
    send = getattr(signal, 'pidfd_send_signal', None)
    if pidfd_open is not None and send is not None:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            return False
        except OSError:
            fd = None
        if fd is not None:
            try:
                if not _jobs.pid_is(pid, token):
                    return False
                send(fd, sig)
                return True
            except ProcessLookupError:
                return False
            except PermissionError:
                raise _perm_failure('process', pid) from None
            finally:
                os.close(fd)
    if not _jobs.pid_is(pid, token):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise _perm_failure('process', pid) from None
    return True


def signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        raise _perm_failure('process group', pgid) from None
    return True


def _argv_after(argv: t.List[str], marker: str) -> t.Optional[str]:
    try:
        return argv[argv.index(marker) + 1]
    except (ValueError, IndexError):
        return None


class CoreProcs(t.NamedTuple):
    """The processes of a job started by the built-in ``async:`` keyword."""
    runner: t.Optional[Proc]     # runs the module; leader of the job's process group
    watchers: t.List[Proc]       # enforces the time limit; writes "Timeout exceeded"
    time_limit: t.Optional[float]
    started_at: t.Optional[float]


def core_procs(jid: str) -> CoreProcs:
    prefix = _jobs.jid_prefix(jid)
    procs, limit = [], None
    for pid in _jobs.core_job_pids(jid):
        p = read_proc(pid)
        if p is None:
            continue
        procs.append(p)
        if limit is None:
            argv = _jobs.process_argv(pid)
            value = _argv_after(argv, prefix) or _argv_after(argv, jid)
            try:
                limit = float(value) if value is not None else None
            except ValueError:
                limit = None
    runners = [p for p in procs if p.pgrp == p.pid]
    runner = runners[0] if runners else None
    watchers = [p for p in procs if p is not runner]
    starts = [s for s in (start_epoch(p) for p in procs) if s is not None]
    return CoreProcs(runner, watchers, limit, min(starts) if starts else None)


# ---------------------------------------------------------------- where jobs are

class Context:
    """The async dirs to search and the clock, for one module call."""

    def __init__(self, async_dir: t.Optional[str] = None, environ: t.Optional[t.Mapping[str, str]] = None,
                 check_mode: bool = False) -> None:
        environ = os.environ if environ is None else environ
        dirs = _jobs.candidate_async_dirs(async_dir, environ)
        # a task environment entry ANSIBLE_ASYNC_DIR (how cores before 2.8 set the dir) is searched too
        env_dir = environ.get(_jobs.ASYNC_DIR_ENV)
        if env_dir and async_dir:
            for d in _jobs.candidate_async_dirs(env_dir, environ):
                if d not in dirs:
                    dirs.append(d)
        self.dirs = dirs
        self.check_mode = check_mode

    @property
    def primary(self) -> str:
        return self.dirs[0]

    def existing_dirs(self) -> t.List[str]:
        seen, out = set(), []
        for d in self.dirs:
            try:
                st = os.stat(d)
            except FileNotFoundError:
                continue
            except OSError as e:
                raise StatusFailure('cannot access async dir %s: %s' % (d, e.strerror or e), async_dir=d) from None
            if not stat.S_ISDIR(st.st_mode):
                raise StatusFailure('async dir %s exists but is not a directory' % d, async_dir=d)
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out

    def locate(self, jid: t.Any, or_sidecars: bool = False) -> str:
        """The async dir that holds jid's record; fails like the built-in for an unknown job.

        With or_sidecars, a dir holding only sidecars of jid will do (what cleanup removes).
        """
        try:
            _jobs.validate_jid(jid)
        except _jobs.InvalidJid as e:
            raise StatusFailure(e.msg, ansible_job_id=jid if isinstance(jid, str) else None,
                                started=False, finished=False) from None
        missing_dirs = []
        for d in self.dirs:
            path = os.path.join(d, jid)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not os.path.isdir(d):
                    missing_dirs.append(d)
                continue
            except PermissionError:
                raise StatusFailure('cannot look for job %s in %s: permission denied for %s; run the status task as '
                                    'the user that started the job (become_user)'
                                    % (jid, d, _jobs._user_name(os.geteuid())),  # pylint: disable=protected-access
                                    ansible_job_id=jid, results_file=path, started=True, finished=True) from None
            except OSError as e:
                raise StatusFailure('cannot look for job %s in %s: %s' % (jid, d, e.strerror or e),
                                    ansible_job_id=jid, results_file=path, started=True, finished=True) from None
            if stat.S_ISDIR(st.st_mode):
                raise StatusFailure('%s is a directory, not a job record' % path, ansible_job_id=jid,
                                    results_file=path, started=True, finished=True)
            if not stat.S_ISREG(st.st_mode):
                raise StatusFailure('%s is not a regular file, not a job record (refusing to follow it)' % path,
                                    ansible_job_id=jid, results_file=path, started=True, finished=True)
            return d
        if or_sidecars:
            for d in self.dirs:
                if any(os.path.lexists(path) for path in _jobs.job_paths(d, jid)[1:]):
                    return d
        msg = 'could not find job'
        if len(missing_dirs) == len(self.dirs):
            msg = ('could not find job %s: the async dir %s does not exist for %s'
                   % (jid, ' or '.join(self.dirs), _jobs._user_name(os.geteuid())))  # pylint: disable=protected-access
        raise StatusFailure(msg, ansible_job_id=jid, results_file=os.path.join(self.primary, jid),
                            searched=list(self.dirs), started=True, finished=True)


def _job_failure(e: _jobs.JobError, jid: str, path: t.Optional[str] = None) -> StatusFailure:
    return StatusFailure(e.msg, ansible_job_id=jid, results_file=path or e.path, started=True, finished=True)


# ---------------------------------------------------------------- reading a job

def _asyncops(record: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    ao = record.get('asyncops')
    return ao if isinstance(ao, dict) else {}


def is_supervised(record: t.Mapping[str, t.Any]) -> bool:
    ao = _asyncops(record)
    return 'pid' in ao or 'supervisor_pid' in ao


def read_live(async_dir: str, jid: str) -> t.Dict[str, t.Any]:
    """The record with lost detection; job-record errors become task failures naming the file."""
    try:
        return _jobs.read_live_record(async_dir, jid)
    except _jobs.JobError as e:
        raise _job_failure(e, jid, _jobs.job_paths(async_dir, jid).record) from None


class Timing(t.NamedTuple):
    started_at: t.Optional[float]
    ended_at: t.Optional[float]
    elapsed: t.Optional[float]
    time_limit: t.Optional[float]
    time_left: t.Optional[float]


def job_timing(async_dir: str, jid: str, record: t.Mapping[str, t.Any], now: float,
               core: t.Optional[CoreProcs] = None) -> Timing:
    """elapsed, time_limit and time_left where they can be known."""
    ao = _asyncops(record)
    state = _jobs.record_state(record)
    paths = _jobs.job_paths(async_dir, jid)
    started_at, ended_at, time_limit = _num(ao.get('started_at')), _num(ao.get('ended_at')), _num(ao.get('time_limit'))
    if not is_supervised(record) and state == _jobs.RUNNING:
        # a running job of the built-in wrapper: its processes tell when it started and its time limit
        core = core_procs(jid) if core is None else core
        started_at = started_at or core.started_at or _mtime(paths.record)
        time_limit = time_limit if time_limit is not None else core.time_limit
    elapsed = None  # type: t.Optional[float]
    if state == _jobs.RUNNING:
        if started_at is not None:
            elapsed = now - started_at
    elif state == _jobs.LOST:
        if started_at is not None:
            # up to the last sign of life: the newest of the record and its sidecars
            seen = [m for m in (_mtime(p) for p in _sidecar_paths(paths, ao) + [paths.record]) if m is not None]
            elapsed = max(seen + [started_at]) - started_at
    else:
        if ended_at is None:
            ended_at = _mtime(paths.record)  # a final record is written when the job ends
        if started_at is not None and ended_at is not None:
            elapsed = ended_at - started_at
        else:
            elapsed = parse_delta(record.get('delta'))
    if elapsed is not None:
        elapsed = max(elapsed, 0.0)
    time_left = None
    if state == _jobs.RUNNING and time_limit and started_at is not None:
        time_left = max(started_at + time_limit - now, 0.0)
    return Timing(started_at, ended_at, _round(elapsed), time_limit, _round(time_left))


def _sidecar_paths(paths: _jobs.JobPaths, ao: t.Mapping[str, t.Any]) -> t.List[str]:
    return [str(ao.get('progress_file') or paths.progress), str(ao.get('stdout_file') or paths.out),
            str(ao.get('stderr_file') or paths.err)]


def job_progress(async_dir: str, jid: str, record: t.Mapping[str, t.Any],
                 started_at: t.Optional[float], now: float) -> t.Optional[t.Dict[str, t.Any]]:
    ao = _asyncops(record)
    path = str(ao.get('progress_file') or _jobs.job_paths(async_dir, jid).progress)
    progress = _jobs.read_progress(path) if os.path.exists(path) else None
    if progress is None and isinstance(record.get('progress'), dict):
        progress = _jobs.normalize_progress(record['progress'])  # folded into a core running record
    if progress is None:
        return None
    return _jobs.progress_with_rate(progress, started_at, now)


def status_view(async_dir: str, jid: str, record: t.Mapping[str, t.Any], tail: int = 10,
                now: t.Optional[float] = None, core: t.Optional[CoreProcs] = None) -> t.Dict[str, t.Any]:
    """What status returns for one job: the record as the built-in returns it, plus state, timing, progress, tails."""
    now = time.time() if now is None else now
    result = dict(record)
    if 'started' not in record:
        result['finished'] = True  # core's rule: no 'started' key means a final module result
    elif 'finished' not in record:
        result['finished'] = False
    result['finished'] = bool(result['finished'])
    result['started'] = True
    result['ansible_job_id'] = jid
    result['results_file'] = _jobs.job_paths(async_dir, jid).record
    shadowed = {k: record[k] for k in VIEW_KEYS if k in record and k != 'progress'}
    if 'progress' in record and not isinstance(record['progress'], dict):
        shadowed['progress'] = record['progress']
    if shadowed:
        result['job_keys_shadowed'] = shadowed
    state = _jobs.record_state(record)
    timing = job_timing(async_dir, jid, record, now, core)
    result.update(state=state, elapsed=timing.elapsed, time_limit=timing.time_limit, time_left=timing.time_left,
                  progress=job_progress(async_dir, jid, record, timing.started_at, now))
    if state in FAILED_STATES:
        result['failed'] = True
    for kind, key in (('stdout_file', 'stdout_tail'), ('stderr_file', 'stderr_tail')):
        result.pop(key, None)
        if tail > 0:
            paths = _jobs.job_paths(async_dir, jid)
            path = str(_asyncops(record).get(kind) or (paths.out if kind == 'stdout_file' else paths.err))
            lines = tail_lines(path, tail)
            if lines is not None:
                result[key] = lines
    return result


# ---------------------------------------------------------------- wait

class _Watch:
    """One job being waited for: a cheap stat of its record, and cheap liveness probes."""

    def __init__(self, async_dir: str, jid: str) -> None:
        self.async_dir = async_dir
        self.jid = jid
        self.path = _jobs.job_paths(async_dir, jid).record
        self.sig = None  # type: t.Optional[t.Tuple[int, int, int, int]]
        self.record = {}  # type: t.Dict[str, t.Any]
        self.finished = False
        self.probes = None  # type: t.Optional[t.List[t.Tuple[int, t.Any]]]

    def refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StatusFailure('the record of job %s (%s) disappeared while waiting for it' % (self.jid, self.path),
                                ansible_job_id=self.jid, results_file=self.path, started=True, finished=True) from None
        except OSError as e:
            raise StatusFailure('cannot stat %s: %s' % (self.path, e.strerror or e), ansible_job_id=self.jid,
                                results_file=self.path, started=True, finished=True) from None
        sig = (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)
        if sig == self.sig:
            return
        self.sig = sig
        try:
            self.record = _jobs.read_record(self.async_dir, self.jid)
        except _jobs.JobError as e:
            raise _job_failure(e, self.jid, self.path) from None
        self.finished = _jobs.is_finished(self.record)
        self.probes = None  # the record may name new processes

    def _make_probes(self) -> t.List[t.Tuple[int, t.Any]]:
        ao = _asyncops(self.record)
        if is_supervised(self.record):
            pairs = [(ao.get('supervisor_pid'), ao.get('supervisor_start')), (ao.get('pid'), ao.get('pid_start'))]
            return [(p, s) for p, s in pairs if isinstance(p, int) and not isinstance(p, bool)]
        procs = core_procs(self.jid)
        return [(p.pid, p.start) for p in ([procs.runner] if procs.runner else []) + procs.watchers]

    def check_alive(self) -> None:
        """Mark the job lost if none of its processes is alive (confirmed by _jobs.read_live_record)."""
        if self.finished:
            return
        if self.probes is None:
            self.probes = self._make_probes()
        if any(_jobs.pid_is(pid, token) for pid, token in self.probes):
            return
        self.record = read_live(self.async_dir, self.jid)
        self.finished = _jobs.is_finished(self.record)
        self.probes = None


def wait_for_jobs(located: t.Sequence[t.Tuple[str, str]], timeout: float, wait_for: str = 'all',
                  poll: float = POLL_INTERVAL) -> t.Tuple[t.Dict[str, t.Dict[str, t.Any]], float]:
    """Block until all (or any) of the jobs finished or timeout passed; returns their records and the time waited."""
    begin = time.monotonic()
    deadline = begin + max(timeout, 0.0)
    watches = [_Watch(d, jid) for d, jid in located]
    next_liveness = begin
    while True:
        for w in watches:
            if not w.finished:
                w.refresh()
        now = time.monotonic()
        if now >= next_liveness:
            for w in watches:
                w.check_alive()
            next_liveness = now + LIVENESS_INTERVAL
        done = [w.finished for w in watches]
        if (all(done) if wait_for == 'all' else any(done)):
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(poll, left))
    return {w.jid: w.record for w in watches}, time.monotonic() - begin


# ---------------------------------------------------------------- kill

def _sig_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


class _KillPlan:
    """Killing one job: who to signal, verified against PID reuse, and what happened."""

    def __init__(self, async_dir: str, jid: str, record: t.Dict[str, t.Any]) -> None:
        self.async_dir = async_dir
        self.jid = jid
        self.record = record
        self.supervised = is_supervised(record)
        self.pgid = None  # type: t.Optional[int]
        self.leader = None  # type: t.Optional[t.Tuple[int, t.Any]]
        self.supervisor = None  # type: t.Optional[t.Tuple[int, t.Any]]
        self.supervisor_notified = False
        self.watchers = []  # type: t.List[Proc]
        self.strays = []  # type: t.List[Proc]
        self.stopped_watchers = []  # type: t.List[Proc]
        self.core = None  # type: t.Optional[CoreProcs]
        self.signal = None  # type: t.Optional[str]
        self.notes = []  # type: t.List[str]
        self.recorded_by = None  # type: t.Optional[str]
        self.started_at = None  # type: t.Optional[float]
        self.term_sent_at = None  # type: t.Optional[float]
        self.kill_sent_at = None  # type: t.Optional[float]

    # -- phase 1
    def prepare(self) -> None:
        if self.supervised:
            self._prepare_supervised()
        else:
            self._prepare_core()

    def _prepare_supervised(self) -> None:
        ao = _asyncops(self.record)
        self.started_at = _num(ao.get('started_at'))
        sup, sup_start = ao.get('supervisor_pid'), ao.get('supervisor_start')
        if isinstance(sup, int) and _jobs.pid_is(sup, sup_start):
            self.supervisor = (sup, sup_start)
            # tells the supervisor "killed from outside": it records the state killed
            self.supervisor_notified = signal_verified(sup, sup_start, signal.SIGUSR1)
        pid, pid_start = ao.get('pid'), ao.get('pid_start')
        pgid = ao.get('pgid') if isinstance(ao.get('pgid'), int) else pid
        if not isinstance(pgid, int) or isinstance(pgid, bool) or pgid <= 1:
            self.notes.append('the record names no process group to signal')
            return
        if isinstance(pid, int) and _jobs.pid_is(pid, pid_start):
            try:
                actual = os.getpgid(pid)
            except ProcessLookupError:
                actual = None
            if actual == pgid:
                self.pgid = pgid
                self.leader = (pid, pid_start)
            else:
                self.notes.append('process %d left the job\'s process group %d; not signalled' % (pid, pgid))
            return
        # the leader is gone or its PID now belongs to another process
        if pgid == pid and _jobs.process_start_time(pgid) is not None:
            self.notes.append('PID %d now belongs to another process (reused); not signalled' % pgid)
            return
        if group_alive(pgid):
            self.pgid = pgid  # the leader has exited; what is left of its group is the job's
        else:
            self.notes.append('no process of the job was left to signal')

    def _prepare_core(self) -> None:
        deadline = time.monotonic() + 1.0
        while True:
            core = core_procs(self.jid)
            # right after the start the watcher may not have made the runner a group leader yet
            if core.runner is not None or not core.watchers or time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        self.core = core
        self.started_at = core.started_at
        # freeze the watchers first so none can write "Timeout exceeded" over the killed record
        for w in core.watchers:
            if signal_verified(w.pid, w.start, signal.SIGSTOP):
                self.stopped_watchers.append(w)
        if core.runner is not None:
            self.pgid = core.runner.pid
            self.leader = (core.runner.pid, core.runner.start)
            self.strays = descendants_outside_group(core.runner)
        else:
            self.notes.append('the module process of the job was already gone')

    # -- phases 2 and 3
    def term(self) -> None:
        if self.pgid is not None and self._group_still_ours():
            if signal_group(self.pgid, signal.SIGTERM):
                self.signal = 'SIGTERM'
                self.term_sent_at = time.time()
        if self._signal_strays(signal.SIGTERM) and self.signal is None:
            self.signal = 'SIGTERM'
            self.term_sent_at = time.time()

    def gone(self) -> bool:
        group_gone = self.pgid is None or not group_alive(self.pgid)
        return group_gone and not any(_jobs.pid_is(p.pid, p.start) for p in self.strays)

    def kill(self) -> None:
        if self.gone():
            return
        if self.pgid is not None and self._group_still_ours():
            if signal_group(self.pgid, signal.SIGKILL):
                self.signal = 'SIGKILL'
                self.kill_sent_at = time.time()
        if self._signal_strays(signal.SIGKILL):
            self.signal = 'SIGKILL'
            self.kill_sent_at = self.kill_sent_at or time.time()

    def _signal_strays(self, sig: int) -> bool:
        """Signal the job's processes outside its group (each checked against PID reuse)."""
        sent = False
        for p in self.strays:
            sent = signal_verified(p.pid, p.start, sig) or sent
        return sent

    def _group_still_ours(self) -> bool:
        if self.pgid is None:
            return False
        if self.leader is None:
            return True
        pid, token = self.leader
        current = _jobs.process_start_time(pid)
        # the leader may have exited (its group lives on), but a new process with its PID is not the job
        return current is None or token is None or str(token) == current

    # -- phase 4
    def final_record_ready(self) -> bool:
        """For a supervised job: the supervisor wrote its final record, or it is gone."""
        try:
            record = _jobs.read_record(self.async_dir, self.jid)
        except _jobs.JobError:
            return True
        if _jobs.is_finished(record):
            self.record = record
            self.recorded_by = 'supervisor'
            return True
        return self.supervisor is None or not _jobs.pid_is(*self.supervisor)

    def message(self, grace: float) -> str:
        if self.signal == 'SIGKILL':
            how = 'SIGTERM to process group %s, then SIGKILL after the %gs grace' % (self.pgid, grace)
        elif self.signal == 'SIGTERM':
            how = 'SIGTERM to process group %s' % self.pgid
        else:
            how = 'no process left to signal'
        return 'killed by %s (%s)' % (KILLED_BY, how)

    def finalize(self, grace: float, now: float) -> None:
        """Write the killed record where no other writer is alive; release or end the core watchers."""
        try:
            current = _jobs.read_record(self.async_dir, self.jid)
        except _jobs.JobError as e:
            raise _job_failure(e, self.jid) from None
        if _jobs.is_finished(current):
            self.record = current
            if self.recorded_by is None:
                self.recorded_by = 'supervisor' if self.supervised else 'job'
        elif self.supervised and self.supervisor is not None and _jobs.pid_is(*self.supervisor):
            self.record = current
            self.notes.append('the supervisor (pid %d) has not recorded the end yet; a later status will show it'
                              % self.supervisor[0])
        else:
            msg = self.message(grace)
            ao = dict(_asyncops(current))
            ao.update(state=_jobs.KILLED, ended_at=now, signal=self.signal, reason=msg, killed_by=KILLED_BY)
            if ao.get('started_at') is None and self.started_at is not None:
                ao['started_at'] = self.started_at
            if self.supervised:
                record = dict(current)
                record.update(started=True, finished=True, failed=True, msg=msg, ansible_job_id=self.jid, asyncops=ao)
            else:
                if self.core is not None and self.core.time_limit is not None:
                    ao.setdefault('time_limit', self.core.time_limit)
                if self.leader is not None:
                    ao.setdefault('pid', self.leader[0])
                    ao.setdefault('pgid', self.leader[0])
                # no 'started' key: a final result for the built-in async_status too
                record = {'failed': True, 'msg': msg, 'ansible_job_id': self.jid, 'asyncops': ao}
            path = _jobs.job_paths(self.async_dir, self.jid).record
            try:
                _jobs.write_record(self.async_dir, self.jid, record)
            except _jobs.JobError as e:
                raise _job_failure(e, self.jid, path) from None
            except OSError as e:  # _jobs.atomic_write lets the temp file's creation error through
                raise StatusFailure('cannot write %s: %s' % (path, e.strerror or e), ansible_job_id=self.jid,
                                    results_file=path, started=True, finished=True) from None
            self.record = record
            self.recorded_by = KILLED_BY
        self._release_watchers(now)

    def _release_watchers(self, now: float) -> None:
        limit = self.core.time_limit if self.core is not None else None
        for w in self.stopped_watchers:
            began = start_epoch(w)
            # a watcher continued well before its time limit sees its module gone, removes its temp
            # dir and exits without writing; one near the limit might be about to write "Timeout exceeded"
            safe = bool(limit) and began is not None and now < began + limit - 6.0
            signal_verified(w.pid, w.start, signal.SIGCONT if safe else signal.SIGKILL)

    def abort(self) -> None:
        """Undo the freeze of core watchers (the kill was not carried out)."""
        for w in self.stopped_watchers:
            signal_verified(w.pid, w.start, signal.SIGCONT)


def kill_jobs(located: t.Sequence[t.Tuple[str, str]], grace: float, check_mode: bool = False,
              tail: int = 10) -> t.List[t.Dict[str, t.Any]]:
    """Kill jobs together: SIGUSR1 to supervisors, SIGTERM to every group, one grace, SIGKILL to what is left."""
    results = {}  # type: t.Dict[str, t.Dict[str, t.Any]]
    plans = []  # type: t.List[_KillPlan]
    now = time.time()
    for d, jid in located:
        record = read_live(d, jid)
        if _jobs.is_finished(record):
            view = status_view(d, jid, record, tail, now)
            view.update(changed=False, msg='job %s already finished (state %s): nothing to kill' % (jid, view['state']),
                        kill={'signal': None, 'grace': grace, 'supervisor_notified': False, 'recorded_by': None})
            results[jid] = view
        elif check_mode:
            view = status_view(d, jid, record, tail, now)
            view.update(changed=True, msg='job %s is running: it would be killed (check mode)' % jid,
                        kill={'signal': None, 'grace': grace, 'supervisor_notified': False, 'recorded_by': None})
            results[jid] = view
        else:
            plans.append(_KillPlan(d, jid, record))
    try:
        for plan in plans:
            plan.prepare()
        for plan in plans:
            plan.term()
        deadline = time.monotonic() + max(grace, 0.0)
        while not all(p.gone() for p in plans) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        for plan in plans:
            plan.kill()
        deadline = time.monotonic() + SIGKILL_WAIT
        while not all(p.gone() for p in plans) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        deadline = time.monotonic() + FINAL_RECORD_WAIT
        pending = [p for p in plans if p.supervised]
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not p.final_record_ready()]
            if pending:
                time.sleep(POLL_INTERVAL)
        for plan in plans:
            plan.finalize(grace, time.time())
    except BaseException:
        for plan in plans:
            plan.abort()
        raise
    now = time.time()
    for plan in plans:
        view = status_view(plan.async_dir, plan.jid, plan.record, tail, now)
        view['changed'] = True
        msg = plan.message(grace)
        if plan.notes:
            msg += '; ' + '; '.join(plan.notes)
        view['msg'] = msg
        view['kill'] = {'signal': plan.signal, 'grace': grace, 'supervisor_notified': plan.supervisor_notified,
                        'recorded_by': plan.recorded_by, 'process_group': plan.pgid,
                        'term_sent_at': plan.term_sent_at, 'kill_sent_at': plan.kill_sent_at}
        results[plan.jid] = view
    out = []
    for _d, jid in located:
        view = results[jid]
        # the kill succeeded; the job's failure is its own (and failed=false keeps the controller from
        # reading a killed job's rc -15 as a failure of this task)
        view['job_failed'] = bool(view.get('failed', False))
        view['failed'] = False
        out.append(view)
    return out


# ---------------------------------------------------------------- cleanup

def remove_files(async_dir: str, jid: str, check_mode: bool) -> t.List[str]:
    paths = [p for p in _jobs.job_paths(async_dir, jid) if os.path.lexists(p)]
    if check_mode:
        return paths
    try:
        return _jobs.remove_job(async_dir, jid)
    except _jobs.JobError as e:
        raise StatusFailure(e.msg, ansible_job_id=jid, path=e.path) from None


def cleanup_job(async_dir: str, jid: str, check_mode: bool, now: float) -> t.Dict[str, t.Any]:
    """mode=cleanup: remove the record and its sidecars whatever the job's state (as the built-in does)."""
    record_path = _jobs.job_paths(async_dir, jid).record
    state, elapsed = None, None
    try:
        record = _jobs.read_live_record(async_dir, jid)
        state = _jobs.record_state(record)
        elapsed = job_timing(async_dir, jid, record, now).elapsed
    except _jobs.JobError:
        pass  # a damaged record is removed all the same: cleaning it up is what was asked
    removed = remove_files(async_dir, jid, check_mode)
    return {'ansible_job_id': jid, 'erased': record_path, 'removed_files': removed, 'changed': bool(removed),
            'started': False, 'finished': False, 'state': state, 'elapsed': elapsed}


# ---------------------------------------------------------------- many jobs

def summarize(views: t.Iterable[t.Mapping[str, t.Any]]) -> t.Dict[str, int]:
    summary = {'total': 0, 'running': 0, 'finished': 0}
    for s in _jobs.STATES:
        summary.setdefault(s, 0)
    for v in views:
        summary['total'] += 1
        state = v.get('state')
        if state in summary:
            summary[state] += 1
        if state != _jobs.RUNNING:
            summary['finished'] += 1
    return summary


def aggregate_state(views: t.Sequence[t.Mapping[str, t.Any]]) -> t.Optional[str]:
    """running while any job runs; succeeded when all did; else the state of the first job that did not succeed."""
    states = [v.get('state') for v in views]
    if not states:
        return None
    if _jobs.RUNNING in states:
        return _jobs.RUNNING
    for s in states:
        if s != _jobs.SUCCEEDED:
            return s
    return _jobs.SUCCEEDED


def many_result(mode: str, views: t.List[t.Dict[str, t.Any]], fail_on_job_failure: bool) -> t.Dict[str, t.Any]:
    elapsed = [v['elapsed'] for v in views if v.get('elapsed') is not None]
    result = {
        'jobs': views,
        'jobs_by_jid': {v['ansible_job_id']: v for v in views},
        'summary': summarize(views),
        'state': aggregate_state(views),
        'elapsed': max(elapsed) if elapsed else None,
        'started': mode != CLEANUP,
        'finished': all(v.get('finished') for v in views) if mode != CLEANUP else False,
        'changed': any(bool(v.get('changed')) for v in views),
    }  # type: t.Dict[str, t.Any]
    if mode in (STATUS, WAIT):
        failed = [v for v in views if v.get('finished') and v.get('failed')]
        if failed and fail_on_job_failure:
            result['failed'] = True
            result['msg'] = '%d of %d jobs failed: %s' % (
                len(failed), len(views), ', '.join('%s (%s)' % (v['ansible_job_id'], v['state']) for v in failed))
    return result


# ---------------------------------------------------------------- list and prune

def _last_activity(entry: _jobs.JobEntry) -> float:
    times = [entry.mtime] + [m for m in (_mtime(p) for p in entry.sidecars.values()) if m is not None]
    return max(times)


def _cheap_alive(record: t.Mapping[str, t.Any], jid: str, core_index: t.Optional[t.Set[str]]) -> bool:
    if is_supervised(record) or core_index is None:
        return _jobs.job_processes_alive(record, jid)
    return _jobs.jid_prefix(jid) in core_index


def scan(ctx: Context, now: float) -> t.Tuple[t.List[t.Dict[str, t.Any]], t.List[t.Dict[str, t.Any]]]:
    """Every job of every existing async dir (one entry each) and the garbage found there."""
    jobs, garbage = [], []
    core_index = _jobs.core_wrapper_prefixes()
    for d in ctx.existing_dirs():
        try:
            entries, trash = _jobs.list_jobs(d)
        except _jobs.JobError as e:
            raise StatusFailure(e.msg, async_dir=d) from None
        for g in trash:
            garbage.append({'path': g.path, 'reason': g.reason, 'size': g.size, 'age': _round(now - g.mtime),
                            'async_dir': d})
        for e in entries:
            try:
                record = _jobs.read_record(d, e.jid)
                if not _jobs.is_finished(record) and not _cheap_alive(record, e.jid, core_index):
                    record = _jobs.read_live_record(d, e.jid)  # confirm the job is lost
            except _jobs.JobError as err:
                garbage.append({'path': e.record, 'reason': err.msg, 'size': e.size, 'age': _round(now - e.mtime),
                                'async_dir': d})
                continue
            jobs.append(list_entry(d, e, record, now))
    return jobs, garbage


def list_entry(async_dir: str, entry: _jobs.JobEntry, record: t.Mapping[str, t.Any], now: float) -> t.Dict[str, t.Any]:
    timing = job_timing(async_dir, entry.jid, record, now)
    state = _jobs.record_state(record)
    item = {
        'ansible_job_id': entry.jid,
        'state': state,
        'finished': state != _jobs.RUNNING,
        'failed': state in FAILED_STATES,
        'kind': 'asyncops' if is_supervised(record) else 'builtin',
        'started_at': timing.started_at,
        'ended_at': timing.ended_at,
        'elapsed': timing.elapsed,
        'time_limit': timing.time_limit,
        'time_left': timing.time_left,
        'age': _round(now - _last_activity(entry)),
        'progress': job_progress(async_dir, entry.jid, record, timing.started_at, now),
        'size': entry.size,
        'files': [entry.record] + sorted(entry.sidecars.values()),
        'results_file': entry.record,
        'async_dir': async_dir,
        'rc': record.get('rc') if isinstance(record.get('rc'), int) else None,
        'msg': record.get('msg') if isinstance(record.get('msg'), str) else None,
    }  # type: t.Dict[str, t.Any]
    return item


def list_jobs(ctx: Context, states: t.Optional[t.Sequence[str]], now: float) -> t.Dict[str, t.Any]:
    jobs, garbage = scan(ctx, now)
    if states:
        jobs = [j for j in jobs if j['state'] in states]
    return {'jobs': jobs, 'jobs_by_jid': {j['ansible_job_id']: j for j in jobs}, 'garbage': garbage,
            'summary': summarize(jobs), 'async_dirs': list(ctx.dirs), 'changed': False}


def prune_jobs(ctx: Context, max_age: t.Any, now: float, check_mode: bool) -> t.Dict[str, t.Any]:
    age_limit = parse_age(max_age)
    garbage_limit = max(age_limit, SAFETY_AGE)
    jobs, garbage = scan(ctx, now)
    removed, removed_files, kept_running = [], [], 0
    for job in jobs:
        if job['state'] == _jobs.RUNNING:
            kept_running += 1
            continue
        if job['age'] is None or job['age'] < age_limit:
            continue
        d, jid = job['async_dir'], job['ansible_job_id']
        if not check_mode:
            try:
                record = _jobs.read_live_record(d, jid)  # never remove a job that runs after all
            except _jobs.JobNotFound:
                continue
            except _jobs.JobError as e:
                raise StatusFailure(e.msg, path=e.path) from None
            if not _jobs.is_finished(record):
                kept_running += 1
                continue
        files = remove_files(d, jid, check_mode)
        if files:
            removed.append(jid)
            removed_files.extend(files)
    removed_garbage = []
    for g in garbage:
        if g['age'] is None or g['age'] < garbage_limit or not _garbage_by_name(g['path']):
            continue
        if not check_mode:
            try:
                os.unlink(g['path'])
            except FileNotFoundError:
                continue
            except OSError as e:
                raise StatusFailure('cannot remove %s: %s' % (g['path'], e.strerror or e), path=g['path']) from None
        removed_garbage.append(g['path'])
        removed_files.append(g['path'])
    return {'removed': removed, 'removed_files': removed_files, 'removed_garbage': removed_garbage,
            'kept_running': kept_running, 'max_age': age_limit, 'async_dirs': list(ctx.dirs),
            'changed': bool(removed_files)}


def _garbage_by_name(path: str) -> bool:
    """Only temp files and orphaned sidecars are garbage to remove; unreadable records are left for a human."""
    name = os.path.basename(path)
    return bool(_jobs._TEMP_RE.match(name) or _jobs._SIDECAR_RE.match(name))  # pylint: disable=protected-access


# ---------------------------------------------------------------- entry point

def _dedupe(jids: t.Sequence[t.Any]) -> t.List[t.Any]:
    seen, out = set(), []
    for j in jids:
        key = j if isinstance(j, str) else repr(j)
        if key not in seen:
            seen.add(key)
            out.append(j)
    return out


def _check_numbers(params: t.Mapping[str, t.Any]) -> None:
    for key in ('timeout', 'grace', 'tail'):
        value = params.get(key)
        if value is not None and value < 0:
            raise StatusFailure('%s must not be negative (got %r)' % (key, value))


def run(params: t.Mapping[str, t.Any], check_mode: bool = False,
        environ: t.Optional[t.Mapping[str, str]] = None) -> t.Dict[str, t.Any]:
    """Carry out one call of the module; raises StatusFailure for a failed task."""
    _check_numbers(params)
    mode = params.get('mode') or STATUS
    ctx = Context(params.get('_async_dir'), environ, check_mode)
    tail = params.get('tail')
    tail = 10 if tail is None else tail
    now = time.time()
    if mode == LIST:
        return list_jobs(ctx, params.get('state'), now)
    if mode == PRUNE:
        return prune_jobs(ctx, params.get('max_age'), now, check_mode)

    single = params.get('jids') is None
    jids = [params.get('jid')] if single else _dedupe(params.get('jids') or [])
    if not jids:
        raise StatusFailure('jids is empty: give at least one job id')
    for jid in jids:  # every jid is checked before any path is built from any of them
        try:
            _jobs.validate_jid(jid)
        except _jobs.InvalidJid as e:
            raise StatusFailure(e.msg, ansible_job_id=jid if isinstance(jid, str) else None,
                                started=False, finished=False) from None
    located = [(ctx.locate(jid, or_sidecars=mode == CLEANUP), jid) for jid in jids]
    fail_on_job_failure = params.get('fail_on_job_failure', True)
    fail_on_job_failure = True if fail_on_job_failure is None else fail_on_job_failure

    if mode == CLEANUP:
        views = [cleanup_job(d, jid, check_mode, now) for d, jid in located]
        return views[0] if single else many_result(mode, views, fail_on_job_failure)

    if mode == KILL:
        grace = params.get('grace')
        views = kill_jobs(located, 5.0 if grace is None else grace, check_mode, tail)
        return views[0] if single else many_result(mode, views, fail_on_job_failure)

    waited = None
    wait_started_at = time.time()
    if mode == WAIT:
        timeout = params.get('timeout')
        records, waited = wait_for_jobs(located, 300.0 if timeout is None else timeout,
                                        params.get('wait_for') or 'all')
    else:
        records = {jid: read_live(d, jid) for d, jid in located}
    now = time.time()
    views = []
    for d, jid in located:
        record = records[jid]
        view = status_view(d, jid, record, tail, now)
        if params.get('cleanup') and view['finished']:
            view['erased'] = _jobs.job_paths(d, jid).record
            view['removed_files'] = remove_files(d, jid, check_mode)
        views.append(view)
    if single:
        result = views[0]
        if not fail_on_job_failure and result.get('failed'):
            result['failed'] = False
    else:
        result = many_result(mode, views, fail_on_job_failure)
    if mode == WAIT:
        result.update(waited=_round(waited), wait_started_at=wait_started_at, wait_ended_at=now)
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
