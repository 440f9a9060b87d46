# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The job record, owned in one place: names, shape, states, writes, reads, listing and progress.

Private to the collection. Runs on the target (Python 3.8+) and on the
controller, and imports only the standard library. Every part of the
collection builds, writes, reads and judges ``<async_dir>/<jid>`` and its
sidecars through this file: the ``asyncops`` block has one shape
(``AsyncopsBlock``), and each state a record can be in has one builder here.
"""

from __future__ import annotations

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

PROGRESS_ENV = 'ASYNCOPS_PROGRESS_FILE'
JID_ENV = 'ASYNCOPS_JOB_ID'
RECORD_VERSION = 1
KIND_RUN = 'run'
KIND_DOWNLOAD = 'download'
KIND_MODULE = 'module'  # any module run with async: under the collection's async_wrapper

# Core's async_wrapper makes "j<random>.<pid>" (older cores "<random>.<pid>");
# jobs of this collection use the same shape so that both tools read both.
# [0-9], not \d: \d also matches non-ASCII digits.
_JID = r'j?[0-9]{1,20}\.[0-9]{1,10}'
_JID_RE = re.compile(r'\A' + _JID + r'\Z')
SIDECARS = ('progress', 'out', 'err')
_SIDECAR_RE = re.compile(r'\A(?P<jid>' + _JID + r')\.(?P<kind>' + '|'.join(SIDECARS) + r')\Z')
# core writes "<jid>.tmp"; atomic_write below makes ".<jid>[.<sidecar>].<random>.tmp". Dot files
# of any other name are not ours and are left alone.
_TEMP_RE = re.compile(r'\A(?:' + _JID + r'|\.' + _JID + r'(?:\.(?:' + '|'.join(SIDECARS) + r'))?\.[A-Za-z0-9_]+)\.tmp\Z')
_PREFIX_RE = re.compile(r'\Aj?[0-9]{1,20}\Z')  # jid_prefix() of a valid jid

RUNNING = 'running'
SUCCEEDED = 'succeeded'
FAILED = 'failed'
TIMEOUT = 'timeout'
KILLED = 'killed'
LOST = 'lost'
STATES = (RUNNING, SUCCEEDED, FAILED, TIMEOUT, KILLED, LOST)
FINISHED_STATES = (SUCCEEDED, FAILED, TIMEOUT, KILLED, LOST)
FAILED_STATES = (FAILED, TIMEOUT, KILLED, LOST)
# A launch in check mode starts nothing and writes nothing: its jid (check_mode_jid) names no record,
# and a status of it says this state.
NOT_STARTED = 'not_started'
NOT_STARTED_MSG = 'job {jid} was not started: it was launched in check mode'

# Why a job ended (asyncops.reason).
REASON_EXITED = 'exited'
REASON_SIGNALLED = 'signalled'
REASON_TIMEOUT = 'timeout'
REASON_KILLED = 'killed'
REASON_SKIPPED = 'skipped'
REASON_ERROR = 'error'  # the supervisor failed while the job ran
REASON_SUPERVISOR_FAILED = 'supervisor failed'  # it died before it could start the job

# Who wrote the progress sidecar (asyncops.progress_writer).
WRITER_SUPERVISOR = 'supervisor'
WRITER_JOB = 'job'

# The keys core's async_wrapper and status put around a job's result.
ENVELOPE_KEYS = ('started', 'finished', 'ansible_job_id')
BLOCK_KEY = 'asyncops'

LOST_MSG = ('job {jid} is recorded as running but no process of it is alive: it was killed from '
            'outside (kill -9, the OOM killer), the host rebooted, or its supervisor crashed')


# ---------------------------------------------------------------- the shape

class Progress(t.TypedDict, total=False):
    """A job's progress: the sidecar's content, or asyncops.progress of a core running record."""
    percent: t.Optional[float]
    message: t.Optional[str]
    current: t.Optional[float]
    total: t.Optional[float]
    unit: t.Optional[str]
    updated_at: t.Optional[float]  # epoch seconds of the report
    rate: t.Optional[float]  # units (else percent) a second
    eta: t.Optional[float]  # seconds left


class Resources(t.TypedDict):
    """What wait4 reports for the job's processes."""
    cpu_user: float
    cpu_system: float
    max_rss_kb: int


class BatchInfo(t.TypedDict):
    runner_pid: int
    index: int
    size: int


class AsyncopsBlock(t.TypedDict, total=False):
    """The ``asyncops`` block of a record: every key this collection writes there."""
    version: int  # RECORD_VERSION of the writer
    kind: str  # KIND_RUN, KIND_DOWNLOAD or KIND_MODULE
    name: t.Optional[str]
    cmd: t.Optional[str]  # the command as one line, for people
    state: str  # one of STATES
    queued: bool  # a batch job that waits for its turn
    queued_at: float
    batch: BatchInfo
    pid: t.Optional[int]  # the job's main process, leader of its process group
    pid_start: t.Optional[str]  # start-time token of pid (_proc.process_start_time), against PID reuse
    pgid: t.Optional[int]
    supervisor_pid: int
    supervisor_start: t.Optional[str]
    started_at: t.Optional[float]  # epoch seconds
    ended_at: t.Optional[float]
    time_limit: t.Optional[float]
    kill_grace: float
    output_limit: int  # bytes of each output stream kept
    progress_file: str
    progress_writer: str  # WRITER_SUPERVISOR (progress_regex) or WRITER_JOB
    stdout_file: str
    stderr_file: str
    rc: t.Optional[int]
    signal: t.Optional[str]  # the signal that ended the main process, or the killer's last one
    reason: t.Optional[str]  # one of the REASON_* constants
    resources: t.Optional[Resources]
    signals_sent: t.List[str]  # by the supervisor to the job's group, in order
    stdout_truncated: int  # bytes of output not kept
    stderr_truncated: int
    never_started: bool  # a queued job killed before its turn
    skipped: bool  # creates/removes said there was nothing to do
    killed_by: str  # a killer that wrote the final record itself
    detected_lost_at: float  # set on a lost record as read, never written
    record_removed: bool  # a foreground result whose record was removed after it was read
    check_mode: bool  # a launch in check mode: nothing started (state NOT_STARTED, a check_mode_jid())
    progress: Progress  # folded into a running record: by the module under core's async_wrapper, else the supervisor
    # added by asyncops.jobs.download (its job result's own block, kept by final_record)
    url: str
    dest: str
    resumed_from: int  # bytes already in the partial file when this run began
    bytes_transferred: int
    restart_reason: t.Optional[str]  # why a partial file was not resumed
    partial_file: t.Optional[str]
    rate: t.Optional[float]  # bytes a second of this run
    warnings: t.List[str]


Record = t.Dict[str, t.Any]


# ---------------------------------------------------------------- errors

class JobError(Exception):
    """A problem with a message fit for the user; the task that meets it fails with that message.

    ``path`` is the file concerned, if any; ``result`` holds the other keys of
    the failed task's result.
    """

    def __init__(self, msg: str, path: t.Optional[str] = None,
                 result: t.Optional[t.Mapping[str, t.Any]] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.path = path
        self.result = dict(result or {})  # type: t.Dict[str, t.Any]


class InvalidJid(JobError):
    pass


class JobNotFound(JobError):
    pass


class NotAJobRecord(JobError):
    pass


def job_error(e: JobError, jid: t.Any, path: t.Optional[str] = None) -> JobError:
    """e (same class) as the failure of a task about job jid: the result names the job and its record file."""
    err = type(e)(e.msg, e.path, {'ansible_job_id': jid, 'results_file': path or e.path,
                                  'started': True, 'finished': True})
    if isinstance(e, UntrustedFile) and isinstance(err, UntrustedFile):
        err.reason = e.reason
    return err


def user_name(uid: int) -> str:
    try:
        return '%s (uid %d)' % (pwd.getpwuid(uid).pw_name, uid)
    except KeyError:
        return 'uid %d' % uid


# ---------------------------------------------------------------- jids and paths

class JobPaths(t.NamedTuple):
    record: str
    progress: str
    out: str
    err: str


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
    # never 0: jids "j0.<n>" are check_mode_jid()'s
    return 'j%d.%d' % (random.SystemRandom().randint(1, 999999999999), os.getpid())


_CHECK_MODE_JID_RE = re.compile(r'\Aj0\.[0-9]{1,10}\Z')


def check_mode_jid() -> str:
    """The jid a launch returns in check mode: valid in shape, unique in a run, naming no record."""
    return 'j0.%d' % random.SystemRandom().randint(1, 2 ** 31 - 1)


def is_check_mode_jid(jid: t.Any) -> bool:
    return isinstance(jid, str) and bool(_CHECK_MODE_JID_RE.match(jid))


def not_started_result(jid: str) -> Record:
    """The status of a check_mode_jid(): skipped, and finished so that "until: result is finished" ends."""
    return {
        'ansible_job_id': jid, 'started': False, 'finished': True, 'skipped': True, 'changed': False,
        'msg': NOT_STARTED_MSG.format(jid=jid),
        BLOCK_KEY: {'state': NOT_STARTED, 'check_mode': True},
    }


def jid_prefix(jid: str) -> str:
    """The part core passes to async_wrapper on its command line (the jid without ".<pid>")."""
    return validate_jid(jid).rsplit('.', 1)[0]


def is_jid_prefix(text: str) -> bool:
    """Whether text has the shape of jid_prefix() of a valid jid."""
    return bool(_PREFIX_RE.match(text))


def job_paths(async_dir: str, jid: str) -> JobPaths:
    """The record and sidecar paths of a job: the only place they are joined (jid validated first)."""
    validate_jid(jid)
    record = os.path.join(async_dir, jid)
    return JobPaths(record, record + '.progress', record + '.out', record + '.err')


def mtime(path: str) -> t.Optional[float]:
    """When a job file was last written, or None; never through a link (a job's files are never links)."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return None


def is_record_name(name: str) -> bool:
    return bool(_JID_RE.match(name))


def sidecar_of(name: str) -> t.Optional[t.Tuple[str, str]]:
    """(jid, kind) when name is a sidecar's file name (<jid>.progress, .out, .err), else None."""
    m = _SIDECAR_RE.match(name)
    return (m.group('jid'), m.group('kind')) if m else None


def is_temp_name(name: str) -> bool:
    """A temp file of core's wrapper (<jid>.tmp) or of atomic_write (.<jid>[.<sidecar>].<random>.tmp)."""
    return bool(_TEMP_RE.match(name))


# ---------------------------------------------------------------- states

def is_finished(record: t.Mapping[str, t.Any]) -> bool:
    """Core's rule: a record without 'started' is a final module result."""
    if 'started' not in record:
        return True
    return bool(record.get('finished', False))


def asyncops_block(record: t.Mapping[str, t.Any]) -> AsyncopsBlock:
    """The record's asyncops block ({} when it has none, or not a dict)."""
    block = record.get(BLOCK_KEY)
    return t.cast(AsyncopsBlock, block) if isinstance(block, dict) else AsyncopsBlock()


def is_supervised(record: t.Mapping[str, t.Any]) -> bool:
    """Whether the record names the job's processes (pid, supervisor): this collection's jobs, not core's."""
    block = asyncops_block(record)
    return 'pid' in block or 'supervisor_pid' in block


def record_state(record: t.Mapping[str, t.Any]) -> str:
    """The state of a record as written (liveness not considered): the only map from a record to a state."""
    state = asyncops_block(record).get('state')
    if state in STATES:
        return str(state)
    if not is_finished(record):
        return RUNNING
    if record.get('failed'):
        # core's watcher writes this when it SIGKILLs a job on its time limit
        if record.get('msg') == 'Timeout exceeded' and 'child_pid' in record:
            return TIMEOUT
        return FAILED
    return SUCCEEDED


def job_result(record: t.Mapping[str, t.Any]) -> Record:
    """The job's own result in a record: everything but the envelope and the asyncops block."""
    return {k: v for k, v in record.items() if k not in ENVELOPE_KEYS and k != BLOCK_KEY}


# ---------------------------------------------------------------- builders, one per state

def job_block(kind: str, cmd: t.Optional[str], kill_grace: float, name: t.Optional[str] = None,
              time_limit: t.Optional[float] = None) -> AsyncopsBlock:
    """What is known of a job of this collection before anything runs (no process yet)."""
    return AsyncopsBlock(version=RECORD_VERSION, kind=kind, name=name, cmd=cmd, time_limit=time_limit,
                         kill_grace=kill_grace, queued=False, pid=None, pgid=None)


def running_block(job: t.Mapping[str, t.Any], paths: JobPaths, supervisor_pid: int,
                  supervisor_start: t.Optional[str], output_limit: int, progress_writer: str,
                  pid: t.Optional[int] = None, pid_start: t.Optional[str] = None,
                  started_at: t.Optional[float] = None, queued: bool = False,
                  queued_at: t.Optional[float] = None, batch: t.Optional[BatchInfo] = None) -> AsyncopsBlock:
    """The block of a supervised job that runs (or, queued, waits for its turn in a batch); job is its job_block."""
    block = t.cast(AsyncopsBlock, dict(job))
    block.update(AsyncopsBlock(
        state=RUNNING, queued=queued, pid=pid, pid_start=pid_start, pgid=pid, supervisor_pid=supervisor_pid,
        supervisor_start=supervisor_start, started_at=started_at, ended_at=None, output_limit=output_limit,
        progress_file=paths.progress, progress_writer=progress_writer, stdout_file=paths.out, stderr_file=paths.err,
        rc=None, signal=None, reason=None, resources=None))
    if batch is not None:
        block['batch'] = batch
    if queued_at is not None:
        block['queued_at'] = queued_at
    return block


def running_record(jid: str, block: t.Optional[t.Mapping[str, t.Any]] = None) -> Record:
    """A running record: core's shape, plus the block when the job is this collection's."""
    record = {'started': True, 'finished': False, 'ansible_job_id': jid}  # type: Record
    if block is not None:
        record[BLOCK_KEY] = dict(block)
    return record


def with_progress(record: t.Mapping[str, t.Any], progress: t.Mapping[str, t.Any]) -> Record:
    """A running record with progress folded in, under asyncops.progress (core's keys stay core's)."""
    out = dict(record)
    block = dict(asyncops_block(record))
    block['progress'] = dict(progress)
    out[BLOCK_KEY] = block
    return out


def final_block(block: t.Mapping[str, t.Any], state: str, ended_at: t.Optional[float],
                rc: t.Optional[int] = None, signal: t.Optional[str] = None, reason: t.Optional[str] = None,
                resources: t.Optional[Resources] = None, signals_sent: t.Optional[t.Sequence[str]] = None,
                stdout_truncated: t.Optional[int] = None, stderr_truncated: t.Optional[int] = None,
                started_at: t.Optional[float] = None, time_limit: t.Optional[float] = None,
                pid: t.Optional[int] = None, killed_by: t.Optional[str] = None,
                never_started: bool = False, skipped: bool = False) -> AsyncopsBlock:
    """The block of a finished job: ``block`` (what was known while it ran) and how it ended.

    state, ended_at, rc, signal, reason and resources are always set.
    started_at, time_limit and pid (with pgid) fill what the block lacks: a
    killer learns them from a core job's processes.
    """
    if state not in FINISHED_STATES:
        raise ValueError('%r is not the state of a finished job' % (state,))
    out = t.cast(AsyncopsBlock, dict(block))
    out.update(AsyncopsBlock(state=state, ended_at=ended_at, rc=rc, signal=signal, reason=reason, resources=resources))
    if signals_sent is not None:
        out['signals_sent'] = list(signals_sent)
    if stdout_truncated is not None:
        out['stdout_truncated'] = stdout_truncated
    if stderr_truncated is not None:
        out['stderr_truncated'] = stderr_truncated
    if started_at is not None and out.get('started_at') is None:
        out['started_at'] = started_at
    if time_limit is not None and out.get('time_limit') is None:
        out['time_limit'] = time_limit
    if pid is not None and out.get('pid') is None:
        out['pid'] = pid
        out['pgid'] = pid
    if killed_by is not None:
        out['killed_by'] = killed_by
    if never_started or skipped:
        out['queued'] = False
    if never_started:
        out['never_started'] = True
    if skipped:
        out['skipped'] = True
    return out


def final_record(jid: str, result: t.Mapping[str, t.Any], block: AsyncopsBlock, core_shape: bool = False) -> Record:
    """A finished job's record: its result, failed unless it succeeded, the envelope and the block.

    core_shape: no ``started``/``finished`` keys, and no ``failed`` added to a
    succeeded result, as core's wrapper writes a final result (a killer writes
    the record of a core job so, the async_wrapper replacement a module's). An ``asyncops``
    block in result (what a job run as a target adds, as download does) is
    kept under block's keys.
    """
    record = job_result(result)
    own = result.get(BLOCK_KEY)
    if isinstance(own, dict):
        block = t.cast(AsyncopsBlock, dict(own, **block))
    if not (core_shape and block.get('state') == SUCCEEDED):
        record['failed'] = block.get('state') != SUCCEEDED
    if not core_shape:
        record.update(started=True, finished=True)
    record['ansible_job_id'] = jid
    record[BLOCK_KEY] = block
    return record


def lost_record(record: t.Mapping[str, t.Any], jid: str, now: t.Optional[float] = None) -> Record:
    """A running record whose processes are all gone, as it reads: finished, failed, lost (never written)."""
    running = asyncops_block(record)
    block = final_block(running, LOST, running.get('ended_at'), rc=running.get('rc'),
                        signal=running.get('signal'), reason=running.get('reason'),
                        resources=running.get('resources'))
    block['detected_lost_at'] = time.time() if now is None else now
    result = job_result(record)
    result['msg'] = LOST_MSG.format(jid=jid)
    return final_record(jid, result, block)


def skipped_record(jid: str, result: t.Mapping[str, t.Any], block: t.Mapping[str, t.Any],
                   now: t.Optional[float] = None) -> Record:
    """The record of a job that creates/removes told not to run: succeeded, rc 0, reason skipped."""
    now = time.time() if now is None else now
    skipped = final_block(block, SUCCEEDED, now, rc=0, reason=REASON_SKIPPED, started_at=now, skipped=True)
    return final_record(jid, result, skipped)


def collected_result(record: t.Mapping[str, t.Any], results_file: t.Optional[str]) -> Record:
    """A final record as the result of a launcher that waited for it.

    With results_file the record is kept and named; without, it was removed:
    the envelope goes and the block says record_removed.
    """
    out = dict(record)
    if results_file is not None:
        out['results_file'] = results_file
        return out
    for key in ENVELOPE_KEYS:
        out.pop(key, None)
    if isinstance(out.get(BLOCK_KEY), dict):
        out[BLOCK_KEY] = dict(out[BLOCK_KEY], record_removed=True)
    return out


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


# Every open of a record or sidecar: never through a link of the last component (a planted symlink),
# never blocking on a FIFO, never taking a terminal, never leaking the fd into a child.
OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class UntrustedFile(NotAJobRecord):
    """A file a job's path names that this task must not trust: a link, not a regular file, another user's.

    ``reason`` is the short why ("is a symbolic link", "belongs to ..."), for messages built around it.
    """

    def __init__(self, msg: str, path: t.Optional[str] = None,
                 result: t.Optional[t.Mapping[str, t.Any]] = None, reason: str = '') -> None:
        super().__init__(msg, path, result)
        self.reason = reason or msg


def untrusted_reason(st: os.stat_result, refuse_shared_write: bool = False) -> t.Optional[str]:
    """Why a file with (l)stat st is not ours to trust, or None.

    Ours: a regular file of the effective user with exactly one link (a hard link
    to another user's file would pass the owner check as root, and a second name
    means someone else may reach it). refuse_shared_write: also refuse a file
    its group or others may write (for files in a directory that is not private,
    as download's dest dir).
    """
    if stat.S_ISLNK(st.st_mode):
        return 'is a symbolic link'
    if stat.S_ISDIR(st.st_mode):
        return 'is a directory'
    if not stat.S_ISREG(st.st_mode):
        return 'is not a regular file (%s)' % _file_type(st.st_mode)
    euid = os.geteuid()
    if st.st_uid != euid:
        return 'belongs to %s, not to %s, the user this task runs as' % (user_name(st.st_uid), user_name(euid))
    if st.st_nlink > 1:  # 0: opened, then replaced by an atomic write; the content read is still ours
        return 'has %d hard links (a file of a job has exactly one)' % st.st_nlink
    if refuse_shared_write and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return 'is writable by its group or by others (mode %04o)' % stat.S_IMODE(st.st_mode)
    return None


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device')):
        if test(mode):
            return name
    return 'file type %o' % stat.S_IFMT(mode)


def _untrusted(path: str, st: os.stat_result, reason: str) -> UntrustedFile:
    if stat.S_ISLNK(st.st_mode):
        msg = '%s is a symbolic link, not a job record; refusing to follow it (a job\'s files are never links: ' \
              'remove it, and find out who planted it)' % path
    elif stat.S_ISDIR(st.st_mode):
        msg = '%s is a directory, not a job record' % path
    else:
        if st.st_uid != os.geteuid():
            shown = '%s %s (mode %04o)' % (path, reason, stat.S_IMODE(st.st_mode))
        else:
            shown = '%s %s (owner %s, mode %04o)' % (path, reason, user_name(st.st_uid), stat.S_IMODE(st.st_mode))
        msg = '%s; refusing to trust it as a job\'s file: only a regular file of the user this task runs as, ' \
              'with one link, is read or written' % shown
    return UntrustedFile(msg, path, reason=reason)


def open_private(path: str, flags: int = os.O_RDONLY, mode: int = 0o600, refuse_shared_write: bool = False) -> int:
    """Open a record or sidecar of ours and return the fd; the only way this collection opens one by path.

    The last component is never followed (OPEN_FLAGS); the file must be a
    regular file of the effective user with one link (untrusted_reason), checked
    by lstat before the open (a device or FIFO is not opened) and by fstat
    after it (the file opened is the one judged). flags may add O_CREAT (mode
    is then the new file's mode), O_EXCL, O_WRONLY, O_APPEND, O_TRUNC.

    Raises JobNotFound when there is no such file, UntrustedFile (a
    NotAJobRecord) naming the path, its owner and mode when it is not ours, and
    JobError for any other failure. The caller closes the fd.
    """
    try:
        before = os.lstat(path)  # type: t.Optional[os.stat_result]
    except (FileNotFoundError, NotADirectoryError):
        before = None
        if not flags & os.O_CREAT:
            raise JobNotFound('could not find job: no file %s' % path, path) from None
    except OSError as e:
        raise _open_error(path, e) from None
    if before is not None:
        reason = untrusted_reason(before, refuse_shared_write)
        if reason is not None:
            raise _untrusted(path, before, reason)
    try:
        fd = os.open(path, flags | OPEN_FLAGS, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:  # became a link after the lstat
            try:
                now = os.lstat(path)
            except OSError:
                raise _open_error(path, e) from None
            raise _untrusted(path, now, untrusted_reason(now) or 'is a symbolic link') from None
        raise _open_error(path, e) from None
    try:
        st = os.fstat(fd)
        # fstat judges the file actually opened; an atomic replace between the lstat and the open is no harm
        reason = untrusted_reason(st, refuse_shared_write)
    except OSError as e:
        os.close(fd)
        raise JobError('cannot examine %s: %s' % (path, e.strerror or e), path) from None
    if reason is not None:
        os.close(fd)
        raise _untrusted(path, st, reason)
    return fd


def _open_error(path: str, e: OSError) -> JobError:
    if isinstance(e, (FileNotFoundError, NotADirectoryError)):
        return JobNotFound('could not find job: no file %s' % path, path)
    if isinstance(e, PermissionError):
        return JobError(_permission_msg(path), path)
    if isinstance(e, IsADirectoryError):
        return NotAJobRecord('%s is a directory, not a job record' % path, path)
    if e.errno == errno.EEXIST:
        return JobError('cannot create %s: it already exists' % path, path)
    return JobError('cannot open %s: %s' % (path, e.strerror or e), path)


def _permission_msg(path: str) -> str:
    try:
        owner = user_name(os.lstat(path).st_uid)
    except OSError:
        owner = 'another user'
    return ('cannot read %s: it belongs to %s and this task runs as %s; run the status task as the '
            'user that started the job (become_user)' % (path, owner, user_name(os.geteuid())))


def read_fd(fd: int, path: str, limit: t.Optional[int] = None) -> bytes:
    """Everything (or the first limit bytes) from an open fd; a JobError names path."""
    chunks = []  # type: t.List[bytes]
    size = 0
    try:
        while limit is None or size < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise JobError('cannot read %s: %s' % (path, e.strerror or e), path) from None
    return b''.join(chunks)


def _read_bytes(path: str) -> bytes:
    fd = open_private(path)
    try:
        return read_fd(fd, path)
    finally:
        os.close(fd)


def read_json(path: str) -> Record:
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


def read_record(async_dir: str, jid: str) -> Record:
    """The record of job jid; a JobError names the job (job_error)."""
    path = job_paths(async_dir, jid).record
    try:
        return read_json(path)
    except JobError as e:
        raise job_error(e, jid, path) from None


def write_record(async_dir: str, jid: str, record: t.Mapping[str, t.Any]) -> None:
    """Replace the record of job jid (atomic_write); a JobError names the job (job_error)."""
    path = job_paths(async_dir, jid).record
    try:
        write_json(path, record)
    except JobError as e:
        raise job_error(e, jid, path) from None


# ---------------------------------------------------------------- listing

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


GARBAGE_TEMP = 'temp file'
GARBAGE_ORPHAN = 'sidecar without a record'


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
        car = sidecar_of(name)
        if is_record_name(name):
            records[name] = st
        elif car is not None:
            sidecars.setdefault(car[0], {})[car[1]] = (path, st)
        elif is_temp_name(name):
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
    garbage = [Garbage(p, GARBAGE_TEMP, s.st_size, s.st_mtime) for p, s in temps]
    for cars in sidecars.values():
        garbage.extend(Garbage(p, GARBAGE_ORPHAN, s.st_size, s.st_mtime) for p, s in cars.values())
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


def normalize_progress(data: t.Mapping[str, t.Any]) -> Progress:
    """Keep the known keys, with numbers as numbers and percent derived from current/total."""
    current, total = _number(data.get('current')), _number(data.get('total'))
    percent = _number(data.get('percent'))
    if percent is None and current is not None and total:
        percent = 100.0 * current / total
    if percent is not None:
        percent = round(min(max(percent, 0.0), 100.0), 2)
    message = data.get('message')
    unit = data.get('unit')
    out = Progress(
        percent=percent,
        message=None if message is None else str(message),
        current=current,
        total=total,
        unit=None if unit is None else str(unit),
        updated_at=_number(data.get('updated_at')),
    )
    # a writer that knows better (a resumed download counts only this run's bytes) may say
    rate, eta = _number(data.get('rate')), _number(data.get('eta'))
    if rate is not None and rate >= 0:
        out['rate'] = rate
    if eta is not None and eta >= 0:
        out['eta'] = eta
    return out


def read_progress(path: str) -> t.Optional[Progress]:
    """The progress in a sidecar, or None when there is none or it is unreadable.

    Progress is advisory: a missing or damaged sidecar never fails a status call.
    """
    try:
        return normalize_progress(read_json(path))
    except JobError:
        return None


def write_progress(path: str, progress: t.Mapping[str, t.Any]) -> Progress:
    data = normalize_progress(progress)
    if data['updated_at'] is None:
        data['updated_at'] = time.time()
    write_json(path, data)
    return data
