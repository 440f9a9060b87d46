# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The job record: where it lives, how it is named, written, read, listed and judged alive.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library. Every other part of the collection goes through this file for
anything that touches ``<async_dir>/<jid>`` and its sidecars.
"""

from __future__ import annotations

import collections
import errno
import json
import math
import os
import pwd
import random
import re
import stat
import tempfile
import time
import typing as t

DEFAULT_ASYNC_DIR = '~/.ansible_async'
ASYNC_DIR_ENV = 'ANSIBLE_ASYNC_DIR'
PROGRESS_ENV = 'ASYNCOPS_PROGRESS_FILE'
JID_ENV = 'ASYNCOPS_JOB_ID'

# The option every module of the collection takes from its action plugin: the shell
# option async_dir, ~ not expanded. Documented by the asyncops.jobs.job.async_dir fragment.
ASYNC_DIR_ARGUMENT_SPEC = {'_async_dir': {'type': 'str'}}

# Core's async_wrapper makes "j<random>.<pid>" (older cores "<random>.<pid>");
# jobs of this collection use the same shape so that both tools read both.
# [0-9], not \d: \d also matches non-ASCII digits.
_JID = r'j?[0-9]{1,20}\.[0-9]{1,10}'
_JID_RE = re.compile(r'\A' + _JID + r'\Z')
_JID_IN_NAME = r'(?P<jid>' + _JID + r')'
SIDECARS = ('progress', 'out', 'err')
_SIDECAR_RE = re.compile(r'\A' + _JID_IN_NAME + r'\.(?P<kind>' + '|'.join(SIDECARS) + r')\Z')
# core writes "<jid>.tmp"; atomic_write below makes ".<jid>[.<sidecar>].<random>.tmp". Dot files
# of any other name are not ours and are left alone.
_TEMP_RE = re.compile(r'\A(?:' + _JID + r'|\.' + _JID + r'(?:\.(?:' + '|'.join(SIDECARS) + r'))?\.[A-Za-z0-9_]+)\.tmp\Z')
# core's async_wrapper runs as "<python> <wrapper> <jid prefix> <time limit> ..." (2.17 to 2.21 at least)
_TIME_LIMIT_RE = re.compile(r'\A[-+]?[0-9]+\Z')
_PREFIX_RE = re.compile(r'\Aj?[0-9]{1,20}\Z')  # jid_prefix() of a valid jid
_PROC = '/proc'

RUNNING = 'running'
SUCCEEDED = 'succeeded'
FAILED = 'failed'
TIMEOUT = 'timeout'
KILLED = 'killed'
LOST = 'lost'
STATES = (RUNNING, SUCCEEDED, FAILED, TIMEOUT, KILLED, LOST)
# process_start_time of a live process whose start time cannot be read (no procfs)
START_TIME_UNKNOWN = 'unknown'
FINISHED_STATES = (SUCCEEDED, FAILED, TIMEOUT, KILLED, LOST)

LOST_MSG = ('job {jid} is recorded as running but no process of it is alive: it was killed from '
            'outside (kill -9, the OOM killer), the host rebooted, or its supervisor crashed')


class JobError(Exception):
    """A job-record problem with a message fit for the user."""

    def __init__(self, msg: str, path: t.Optional[str] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.path = path


class InvalidJid(JobError):
    pass


class JobNotFound(JobError):
    pass


class NotAJobRecord(JobError):
    pass


class JobPaths(t.NamedTuple):
    record: str
    progress: str
    out: str
    err: str


class JobEntry(t.NamedTuple):
    """One job of a directory: its record plus whichever sidecars exist."""
    jid: str
    record: str
    sidecars: t.Dict[str, str]
    size: int
    mtime: float


class Garbage(t.NamedTuple):
    path: str
    reason: str
    size: int
    mtime: float


# ---------------------------------------------------------------- jids and paths

def validate_jid(jid: t.Any) -> str:
    """Return jid when it has the shape core or this collection makes; raise InvalidJid otherwise."""
    if not isinstance(jid, str) or not _JID_RE.match(jid):
        shown = repr(jid)
        if len(shown) > 80:  # the message must stay readable whatever was passed
            shown = '%s... (%d characters)' % (shown[:60], len(shown))
        raise InvalidJid(
            'invalid job id %s: a job id looks like j123456789.4242 (digits, one dot, optional leading j); '
            'refusing to build a path from it' % shown)
    return jid


def new_jid() -> str:
    return 'j%d.%d' % (random.SystemRandom().randint(0, 999999999999), os.getpid())


def jid_prefix(jid: str) -> str:
    """The part core passes to async_wrapper on its command line (the jid without ".<pid>")."""
    return validate_jid(jid).rsplit('.', 1)[0]


def job_paths(async_dir: str, jid: str) -> JobPaths:
    validate_jid(jid)
    record = os.path.join(async_dir, jid)
    return JobPaths(record, record + '.progress', record + '.out', record + '.err')


# ---------------------------------------------------------------- the async dir

_VAR_RE = re.compile(r'\$(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<braced>[^}]*)\})')


def _expand(raw: str, environ: t.Mapping[str, str], home: t.Optional[str] = None) -> str:
    """os.path.expandvars and expanduser, from environ; ``~`` is home when given."""
    def var(m: t.Match[str]) -> str:
        return environ.get(m.group('name') or m.group('braced'), m.group(0))
    raw = _VAR_RE.sub(var, raw)
    if raw == '~' or raw.startswith('~/'):
        base = home if home is not None else (environ.get('HOME') or _passwd_home())
        if base:
            raw = base + raw[1:]
    else:
        raw = os.path.expanduser(raw)  # ~user
    return os.path.abspath(raw)


def _passwd_home() -> t.Optional[str]:
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None


def resolve_async_dir(explicit: t.Optional[str] = None, environ: t.Optional[t.Mapping[str, str]] = None) -> str:
    """The async dir: the one an action plugin passed, else $ANSIBLE_ASYNC_DIR, else ~/.ansible_async.

    ``~`` expands for the user this process runs as (the become user on a target).
    """
    return candidate_async_dirs(explicit, environ)[0]


def candidate_async_dirs(explicit: t.Optional[str] = None,
                         environ: t.Optional[t.Mapping[str, str]] = None) -> t.List[str]:
    """The async dir, then where else the same setting may point.

    Core's wrapper expands ``~`` with $HOME while its status action asks the
    passwd entry; when the two differ (sudo keeping HOME, an overridden HOME)
    a record may sit in either place.
    """
    environ = os.environ if environ is None else environ
    raw = explicit or environ.get(ASYNC_DIR_ENV) or DEFAULT_ASYNC_DIR
    # environ may be a task's environment on top of this process's
    variables = collections.ChainMap(dict(environ), os.environ)  # type: t.Mapping[str, str]
    dirs = [_expand(raw, variables)]
    passwd_home = _passwd_home()
    if passwd_home:
        other = _expand(raw, variables, passwd_home)
        if other not in dirs:
            dirs.append(other)
    return dirs


def ensure_async_dir(path: str) -> str:
    """Create the async dir 0700 if missing; fail clearly if it cannot hold records."""
    try:
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)  # whatever the umask
    except FileExistsError:
        pass
    except OSError as e:
        raise JobError('cannot create async dir %s: %s' % (path, e.strerror or e), path) from e
    if not os.path.isdir(path):
        raise JobError('async dir %s exists but is not a directory' % path, path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise JobError('async dir %s is not writable by %s' % (path, _user_name(os.geteuid())), path)
    return path


def _user_name(uid: int) -> str:
    try:
        return '%s (uid %d)' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d' % uid


# ---------------------------------------------------------------- writes and reads

def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace path with data so that no reader ever sees a partial file.

    Temp file in the same directory, fsync, rename. The temp file never survives an error.
    """
    directory, name = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp', dir=directory or '.')
    except OSError as e:
        raise _write_error(path, e) from e
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _write_error(path, e) from e
        raise


def _write_error(path: str, e: OSError) -> JobError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return JobError('cannot write %s: no space left on device; the previous content is unchanged' % path, path)
    return JobError('cannot write %s: %s' % (path, e.strerror or e), path)


def write_json(path: str, obj: t.Mapping[str, t.Any]) -> None:
    atomic_write(path, json.dumps(obj, sort_keys=True).encode('utf-8'))


def _read_bytes(path: str) -> bytes:
    # O_NONBLOCK: a FIFO in place of a record must not hang the reader; it is refused below.
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise JobNotFound('could not find job: no file %s' % path, path) from None
    except PermissionError:
        raise JobError(_permission_msg(path), path) from None
    except IsADirectoryError:
        raise NotAJobRecord('%s is a directory, not a job record' % path, path) from None
    except OSError as e:
        raise JobError('cannot read %s: %s' % (path, e.strerror or e), path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise NotAJobRecord('%s is a directory, not a job record' % path, path)
        if not stat.S_ISREG(mode):
            raise NotAJobRecord('%s is not a regular file, not a job record' % path, path)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
    except OSError as e:
        raise JobError('cannot read %s: %s' % (path, e.strerror or e), path) from None
    finally:
        os.close(fd)


def _permission_msg(path: str) -> str:
    try:
        owner = _user_name(os.stat(path).st_uid)
    except OSError:
        owner = 'another user'
    return ('cannot read %s: it belongs to %s and this task runs as %s; run the status task as the '
            'user that started the job (become_user)' % (path, owner, _user_name(os.geteuid())))


def read_json(path: str) -> t.Dict[str, t.Any]:
    """Read one JSON object; raise NotAJobRecord (naming the file) for anything else."""
    data = _read_bytes(path)
    if not data.strip():
        raise NotAJobRecord('%s is empty, not a job record' % path, path)
    try:
        obj = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise NotAJobRecord('%s is not a job record: not valid JSON (%s)' % (path, e), path) from None
    if not isinstance(obj, dict):
        raise NotAJobRecord('%s is not a job record: JSON %s, not an object' % (path, type(obj).__name__), path)
    return obj


def read_record(async_dir: str, jid: str) -> t.Dict[str, t.Any]:
    return read_json(job_paths(async_dir, jid).record)


def write_record(async_dir: str, jid: str, record: t.Mapping[str, t.Any]) -> None:
    write_json(job_paths(async_dir, jid).record, record)


def running_record(jid: str, asyncops: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    record = {'started': True, 'finished': False, 'ansible_job_id': jid}  # type: t.Dict[str, t.Any]
    if asyncops is not None:
        record['asyncops'] = dict(asyncops)
    return record


def is_finished(record: t.Mapping[str, t.Any]) -> bool:
    """Core's rule: a record without 'started' is a final module result."""
    if 'started' not in record:
        return True
    return bool(record.get('finished', False))


def record_state(record: t.Mapping[str, t.Any]) -> str:
    """The state of a record as written (liveness not considered)."""
    ao = record.get('asyncops')
    if isinstance(ao, dict) and ao.get('state') in STATES:
        return ao['state']
    if not is_finished(record):
        return RUNNING
    if record.get('failed'):
        # core's watcher writes this when it SIGKILLs a job on its time limit
        if record.get('msg') == 'Timeout exceeded' and 'child_pid' in record:
            return TIMEOUT
        return FAILED
    return SUCCEEDED


# ---------------------------------------------------------------- liveness

def process_start_time(pid: int) -> t.Optional[str]:
    """An opaque start-time token for pid, or None if no such process (or only its zombie).

    Compared with the token recorded at launch it tells the job from a later
    process that reuses its PID. Without procfs the start time cannot be read
    (module_utils may not run ps): a live pid gives START_TIME_UNKNOWN, which
    pid_is takes as "alive" whatever was recorded.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    try:
        with open('%s/%d/stat' % (_PROC, pid), 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
        if fields[0] in (b'Z', b'X', b'x'):
            return None  # exited, not yet reaped: it runs no code of the job any more
        return fields[19].decode('ascii')  # field 22 of proc(5): starttime in clock ticks after boot
    except FileNotFoundError:
        if _have_procfs():
            return None
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, as another user's process
    except OSError:
        return None
    return START_TIME_UNKNOWN


def _have_procfs() -> bool:
    return os.path.exists('%s/self/stat' % _PROC)


def group_exists(pgid: t.Optional[int]) -> bool:
    """Whether any process (zombies included) is in process group pgid."""
    if not pgid:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's group
    return True


def pid_is(pid: t.Any, start_time: t.Any) -> bool:
    """True when pid runs and, if a start time was recorded, is still the same process."""
    if not isinstance(pid, int) or isinstance(pid, bool):
        return False
    current = process_start_time(pid)
    if current is None:
        return False
    if start_time is None or START_TIME_UNKNOWN in (current, start_time):
        return True  # nothing to tell a reused PID by
    return str(start_time) == current


def process_argv(pid: int) -> t.List[str]:
    try:
        with open('%s/%d/cmdline' % (_PROC, pid), 'rb') as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode('utf-8', 'surrogateescape') for a in raw.split(b'\0') if a]


def _all_pids() -> t.List[int]:
    try:
        return [int(n) for n in os.listdir(_PROC) if n.isdigit()]
    except OSError:
        return []


def wrapper_prefix_at(argv: t.Sequence[str], i: int) -> t.Optional[str]:
    """argv[i] if it is a jid prefix followed by a time limit, as in core async_wrapper's argv, else None."""
    if 0 <= i < len(argv) - 1 and _PREFIX_RE.match(argv[i]) and _TIME_LIMIT_RE.match(argv[i + 1]):
        return argv[i]
    return None


def _wrapper_prefixes(argv: t.List[str]) -> t.Set[str]:
    return {argv[i] for i in range(len(argv) - 1) if wrapper_prefix_at(argv, i)}


def _is_core_wrapper(argv: t.List[str], prefix: str) -> bool:
    return prefix in _wrapper_prefixes(argv)


def core_wrapper_prefixes() -> t.Optional[t.Set[str]]:
    """The jid prefixes of every running core async_wrapper, in one scan; None without procfs.

    The rule of core_job_pids, for a whole listing at once.
    """
    if not _have_procfs():
        return None
    me = os.getpid()
    found = set()  # type: t.Set[str]
    for pid in _all_pids():
        if pid != me:
            found.update(_wrapper_prefixes(process_argv(pid)))
    return found


def core_job_pids(jid: str) -> t.List[int]:
    """PIDs of core async_wrapper processes of jid (empty without procfs).

    Their argv holds the jid's prefix followed by the time limit
    (``<python> <wrapper> j123456789 3600 ...``); the forked watcher and module
    runner keep that argv. Requiring the time limit after the prefix keeps
    ``tail -f j123456789.4242`` or an unrelated ``sleep 123456`` from passing for the job.
    """
    prefix = jid_prefix(jid)
    me = os.getpid()
    return [pid for pid in _all_pids() if pid != me and _is_core_wrapper(process_argv(pid), prefix)]


def job_processes_alive(record: t.Mapping[str, t.Any], jid: str) -> bool:
    ao = record.get('asyncops')
    if isinstance(ao, dict) and ('pid' in ao or 'supervisor_pid' in ao):
        return (pid_is(ao.get('supervisor_pid'), ao.get('supervisor_start'))
                or pid_is(ao.get('pid'), ao.get('pid_start')))
    if not _have_procfs():
        return True  # a core job's processes cannot be seen: never call it lost on a guess
    return bool(core_job_pids(jid))


def lost_record(record: t.Mapping[str, t.Any], jid: str, now: t.Optional[float] = None) -> t.Dict[str, t.Any]:
    lost = dict(record)
    ao = dict(record.get('asyncops') or {})
    ao['state'] = LOST
    ao.setdefault('ended_at', None)
    ao['detected_lost_at'] = time.time() if now is None else now
    lost.update(started=True, finished=True, failed=True, asyncops=ao, msg=LOST_MSG.format(jid=jid))
    return lost


def read_live_record(async_dir: str, jid: str) -> t.Dict[str, t.Any]:
    """The record, with a running record whose processes are all gone reported as lost.

    Re-reads once after finding no process: the job may have written its final
    record and exited between the first read and the process check.
    """
    record = read_record(async_dir, jid)
    if is_finished(record) or job_processes_alive(record, jid):
        return record
    record = read_record(async_dir, jid)
    if is_finished(record):
        return record
    return lost_record(record, jid)


# ---------------------------------------------------------------- listing

def list_jobs(async_dir: str) -> t.Tuple[t.List[JobEntry], t.List[Garbage]]:
    """The jobs of a directory and its garbage (stray temp files, sidecars without a record).

    Files of other shapes are not ours and are left out.
    """
    try:
        names = os.listdir(async_dir)
    except FileNotFoundError:
        return [], []
    except OSError as e:
        raise JobError('cannot list async dir %s: %s' % (async_dir, e.strerror or e), async_dir) from e
    records = {}  # type: t.Dict[str, os.stat_result]
    sidecars = {}  # type: t.Dict[str, t.Dict[str, t.Tuple[str, os.stat_result]]]
    temps = []  # type: t.List[t.Tuple[str, os.stat_result]]
    for name in names:
        path = os.path.join(async_dir, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue  # removed while we looked
        if not stat.S_ISREG(st.st_mode):
            continue
        m = _SIDECAR_RE.match(name)
        if _JID_RE.match(name):
            records[name] = st
        elif m:
            sidecars.setdefault(m.group('jid'), {})[m.group('kind')] = (path, st)
        elif _TEMP_RE.match(name):
            temps.append((path, st))
    jobs = []
    for jid in sorted(records):
        st = records[jid]
        cars = sidecars.pop(jid, {})
        jobs.append(JobEntry(
            jid=jid, record=os.path.join(async_dir, jid),
            sidecars={kind: p for kind, (p, s) in cars.items()},
            size=st.st_size + sum(s.st_size for p, s in cars.values()),
            mtime=st.st_mtime))
    garbage = [Garbage(p, 'temp file', s.st_size, s.st_mtime) for p, s in temps]
    for jid, cars in sorted(sidecars.items()):
        garbage.extend(Garbage(p, 'sidecar without a record', s.st_size, s.st_mtime) for p, s in cars.values())
    garbage.sort()
    return jobs, garbage


def remove_job(async_dir: str, jid: str) -> t.List[str]:
    """Remove a record and its sidecars; returns the paths removed."""
    removed = []
    for path in job_paths(async_dir, jid):
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise JobError('cannot remove %s: %s' % (path, e.strerror or e), path) from e
        removed.append(path)
    return removed


# ---------------------------------------------------------------- progress

PROGRESS_KEYS = ('percent', 'message', 'current', 'total', 'unit')


def _number(value: t.Any) -> t.Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None  # NaN and infinity are not JSON


def normalize_progress(data: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Keep the known keys, with numbers as numbers and percent derived from current/total."""
    current, total = _number(data.get('current')), _number(data.get('total'))
    percent = _number(data.get('percent'))
    if percent is None and current is not None and total:
        percent = 100.0 * current / total
    if percent is not None:
        percent = round(min(max(percent, 0.0), 100.0), 2)
    message = data.get('message')
    unit = data.get('unit')
    out = {
        'percent': percent,
        'message': None if message is None else str(message),
        'current': current,
        'total': total,
        'unit': None if unit is None else str(unit),
        'updated_at': _number(data.get('updated_at')),
    }
    # a writer that knows better (a resumed download counts only this run's bytes) may say
    for key in ('rate', 'eta'):
        value = _number(data.get(key))
        if value is not None and value >= 0:
            out[key] = value
    return out


def read_progress(path: str) -> t.Optional[t.Dict[str, t.Any]]:
    """The progress in a sidecar, or None when there is none or it is unreadable.

    Progress is advisory: a missing or damaged sidecar never fails a status call.
    """
    try:
        return normalize_progress(read_json(path))
    except JobError:
        return None


def write_progress(path: str, progress: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    data = normalize_progress(progress)
    if data['updated_at'] is None:
        data['updated_at'] = time.time()
    write_json(path, data)
    return data


def progress_with_rate(progress: t.Mapping[str, t.Any], started_at: t.Optional[float],
                       now: t.Optional[float] = None) -> t.Dict[str, t.Any]:
    """Add ``rate`` (units/s, or percent/s without units) and ``eta`` (s) where they can be computed.

    What the writer put in the sidecar is kept.
    """
    out = dict(progress)
    if out.get('rate') is not None:
        out.setdefault('eta', None)
        return out
    out['rate'] = out['eta'] = None
    at = out.get('updated_at') or (time.time() if now is None else now)
    spent = (at - started_at) if started_at else None
    if not spent or spent <= 0:
        return out
    current, total, percent = out.get('current'), out.get('total'), out.get('percent')
    if current and current > 0:
        out['rate'] = round(current / spent, 3)
        if total and total > current:
            out['eta'] = round((total - current) / (current / spent), 1)
        elif total:
            out['eta'] = 0.0
    elif percent and percent > 0:
        out['rate'] = round(percent / spent, 4)
        out['eta'] = round((100.0 - percent) * spent / percent, 1)
    return out
