# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The supervisor of this collection's jobs: detach, run, bound, record.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and the collection's module_utils. The batch runner is in
``_batch``, the output streams in ``_output``; every record is built by ``_record``.

A launch (``launch()``, or ``_batch.launch_batch()``) forks twice and starts a new
session, so the daemon outlives the module and the connection; the module
returns only when the daemon has written the job's record and said so over a
pipe. The daemon then:

* runs the job in its own process group (and session) with the progress
  sidecar's path in ``$ASYNCOPS_PROGRESS_FILE`` and its jid in ``$ASYNCOPS_JOB_ID``;
* waits for events only (``poll`` on the output pipes and on a signal wake-up
  pipe, with the next deadline as timeout): output, SIGCHLD, SIGTERM, SIGUSR1;
* streams stdout and stderr into the ``.out``/``.err`` sidecars, bounded by
  twice ``output_limit`` with the tail kept;
* past the time limit sends SIGTERM to the group, then SIGKILL after
  ``kill_grace`` seconds, and waits until no process of the group is left
  (it is the group's child subreaper on Linux, so orphaned grandchildren are
  reaped by it);
* writes the final record atomically, its output within ``output_budget()``;
  on a full disk without the output tails, else a minimal record over the
  running record, in the space that record reserved (``write_final_record``);
  and exits.

``Supervision`` is the state machine, without processes or clocks, so unit
tests can drive it; ``Supervisor`` does the I/O.
"""

from __future__ import annotations

import copy
import glob
import importlib
import json
import math
import os
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback
import types
import typing as t
import warnings
import zipfile


from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _module_result
from ansible_collections.asyncops.jobs.plugins.module_utils import _output
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

DEFAULT_KILL_GRACE = 5.0
DEFAULT_OUTPUT_LIMIT = 1048576
HANDSHAKE_TIMEOUT = 60.0
PROGRESS_INTERVAL = 0.25  # the supervisor's progress_regex writes, at most 4 a second
_GROUP_POLL = 0.05  # without a subreaper: how often to look whether the group is gone
_GROUP_POLL_SUBREAPER = 0.5  # with one: a safety net only (SIGCHLD tells us)
_REAP_SAFETY_NET = 1.0  # while the job runs: reap even if its SIGCHLD was missed
_DRAIN_AFTER_END = 0.2  # output still held open by a process that left the group
_FOLD_INTERVAL = 0.5  # a module job: how often the progress sidecar is looked at, to fold it into the record
_PR_SET_CHILD_SUBREAPER = 36

TERM = 'SIGTERM'
KILL = 'SIGKILL'

# A full disk at the end of a job: what the record then says
NO_PROCFS_MSG = ('this host has no /proc: processes the job starts outside its process group are not found, so '
                 'they are not stopped at the time limit or by a kill; the limit is enforced on the group')
NO_SPACE_TAILS_MSG = 'the output tails were left out of this record: the full record could not be written'
NO_SPACE_MINIMAL_MSG = ('only this minimal final record could be written, over the running record in the space '
                        'reserved for it')
MINIMAL_RESULT_KEYS = ('cmd', 'rc', 'changed', 'start', 'end', 'delta', 'dest', 'url')
MINIMAL_TEXT_MAX = 1024  # a longer cmd is cut in a minimal record: its reserve is sized at the start
MINIMAL_CAUSE_MAX = 300
RESERVE_MARGIN = 512


def output_budget(output_limit: int) -> int:
    """Bytes stdout, stdout_lines, stderr and stderr_lines may take together in a final record."""
    return max(2 * output_limit, 64)


def _record_bytes(record: t.Mapping[str, t.Any]) -> bytes:
    return json.dumps(record, sort_keys=True).encode('utf-8')


def _overwrite_in_place(path: str, data: bytes) -> None:
    """Write data over the start of path's blocks, already allocated: no new space is needed.

    The rest of the file is blanked with spaces (JSON allows trailing
    whitespace), then cut off; shrinking a file never needs space either.
    Raises JobError (the file is not ours, or too small) or OSError.
    """
    fd = _record.open_private(path, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        if len(data) > size:
            raise _record.JobError('cannot write %s in place: the minimal record (%d bytes) is larger than the '
                                   'space reserved for it (%d bytes)' % (path, len(data), size), path)
        os.pwrite(fd, data + b' ' * (size - len(data)), 0)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


# The options asyncops.jobs.run and asyncops.jobs.download share; documented by
# the asyncops.jobs.job doc fragment.
JOB_ARGUMENT_SPEC = dict(
    time_limit=dict(type='float'),
    kill_grace=dict(type='float', default=DEFAULT_KILL_GRACE),
)


def job_argument_spec(background: bool) -> t.Dict[str, t.Any]:
    """A copy of JOB_ARGUMENT_SPEC, which a module can change (aliases) before merging, with the switch background.

    background is the switch's default, the module's own (sections BACKGROUND_DEFAULT_TRUE and
    BACKGROUND_DEFAULT_FALSE of the doc fragment): true starts a job and returns its jid, false waits for the result.
    """
    spec = copy.deepcopy(JOB_ARGUMENT_SPEC)
    spec['background'] = dict(type='bool', default=background)
    return spec


class LaunchError(Exception):
    """The job could not be started; msg is for the user, result holds what is known."""

    def __init__(self, msg: str, result: t.Optional[t.Mapping[str, t.Any]] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = dict(result or {})


# ---------------------------------------------------------------- the job

class JobSpec(object):
    """What to run and under which limits.

    Either ``argv`` (exec'd, no shell) or ``target``: a callable run in a fork
    of the supervisor (no exec: the module code is already imported) that
    returns the job's result dict. ``base_result`` is merged under the final
    result (e.g. a download's dest and url, known before it starts).

    A job of kind ``KIND_MODULE`` is a module run by the async_wrapper
    replacement, the way core's wrapper runs it: its stdout is its result
    (``_module_result``), it ends when its main process ends (what it leaves
    in its group lives on, as under core), the record is written in core's
    shape with the progress of the sidecar folded in, and ``cleanup_dir``
    (the remote tmp dir of the task) is removed once the record is final.
    """

    def __init__(self, argv: t.Optional[t.Sequence[str]] = None,
                 target: t.Optional[t.Callable[[], t.Mapping[str, t.Any]]] = None,
                 kind: str = _record.KIND_RUN, cmd: t.Any = None, name: t.Optional[str] = None,
                 chdir: t.Optional[str] = None, env: t.Optional[t.Mapping[str, str]] = None,
                 stdin: t.Optional[bytes] = None, time_limit: t.Optional[float] = None,
                 kill_grace: t.Optional[float] = DEFAULT_KILL_GRACE,
                 output_limit: t.Optional[int] = DEFAULT_OUTPUT_LIMIT,
                 progress_regex: t.Optional[str] = None,
                 creates: t.Optional[str] = None, removes: t.Optional[str] = None,
                 strip_empty_ends: bool = True,
                 base_result: t.Optional[t.Mapping[str, t.Any]] = None,
                 cleanup_dir: t.Optional[str] = None) -> None:
        if (argv is None) == (target is None):
            raise ValueError('a job needs argv or target, not both')
        if argv is not None and not argv:
            raise ValueError('no command given')
        self.argv = None if argv is None else [str(a) for a in argv]
        self.target = target
        self.kind = kind
        self.cmd = cmd if cmd is not None else self.argv
        self.name = name
        self.chdir = chdir
        self.env = dict(env or {})
        self.stdin = stdin
        self.time_limit = float(time_limit) if time_limit else None
        if self.time_limit is not None and self.time_limit < 0:
            raise ValueError('time_limit must not be negative')
        self.kill_grace = DEFAULT_KILL_GRACE if kill_grace is None else float(kill_grace)
        if self.kill_grace < 0:
            raise ValueError('kill_grace must not be negative')
        self.output_limit = DEFAULT_OUTPUT_LIMIT if output_limit is None else int(output_limit)
        if self.output_limit < 1:
            raise ValueError('output_limit must be at least 1 byte')
        self.progress_regex = progress_regex
        self.progress_re = _output.compile_progress_regex(progress_regex)
        self.creates = creates
        self.removes = removes
        self.strip_empty_ends = strip_empty_ends
        self.base_result = dict(base_result or {})
        self.cleanup_dir = cleanup_dir

    @property
    def module(self) -> bool:
        return self.kind == _record.KIND_MODULE

    @property
    def display(self) -> str:
        if isinstance(self.cmd, (list, tuple)):
            return shlex.join(str(a) for a in self.cmd)
        return str(self.cmd if self.cmd is not None else self.kind)

    def job_block(self) -> _record.AsyncopsBlock:
        return _record.job_block(self.kind, self.display, self.kill_grace, name=self.name, time_limit=self.time_limit)


def skip_message(creates: t.Optional[str], removes: t.Optional[str], chdir: t.Optional[str] = None,
                 check_mode: bool = False) -> t.Optional[t.Tuple[str, str]]:
    """(msg, stdout) like ansible.builtin.command when creates/removes say there is nothing to do."""
    shoulda = 'Would' if check_mode else 'Did'

    def matches(pattern: str) -> bool:
        path = os.path.expanduser(pattern)
        if chdir and not os.path.isabs(path):
            path = os.path.join(chdir, path)
        return bool(glob.glob(path))

    if creates and matches(creates):
        return ("%s not run command since '%s' exists" % (shoulda, creates), 'skipped, since %s exists' % creates)
    if removes and not matches(removes):
        return ("%s not run command since '%s' does not exist" % (shoulda, removes),
                'skipped, since %s does not exist' % removes)
    return None


def check_mode_launch(spec: JobSpec, msg: str) -> _record.Record:
    """The result of a launch in check mode: a check-mode jid naming no record, nothing started, nothing written.

    A status of that jid (asyncops.jobs.async_status) is _record.not_started_result(), so the
    start-then-wait pair passes --check.
    """
    job = spec.job_block()
    block = dict((key, job.get(key)) for key in ('kind', 'name', 'cmd', 'time_limit', 'kill_grace'))
    block.update(state=_record.NOT_STARTED, check_mode=True)
    return {'changed': True, 'started': False, 'finished': False, 'ansible_job_id': _record.check_mode_jid(),
            'msg': msg, _record.BLOCK_KEY: block}


def skipped_job_record(spec: JobSpec, jid: str, skip: t.Tuple[str, str],
                       block: t.Optional[t.Mapping[str, t.Any]] = None,
                       now: t.Optional[float] = None) -> _record.Record:
    """The record of a command that creates/removes told not to run, with the result ansible.builtin.command gives."""
    now = time.time() if now is None else now
    msg, stdout = skip
    result = {'cmd': spec.cmd, 'rc': 0, 'stdout': stdout, 'stderr': '', 'stdout_lines': [stdout], 'stderr_lines': [],
              'msg': msg, 'changed': False, 'start': _durations.format_timestamp(now),
              'end': _durations.format_timestamp(now), 'delta': _durations.format_delta(0)}
    return _record.skipped_record(jid, result, spec.job_block() if block is None else block, now)


# ---------------------------------------------------------------- the state machine

def remove_task_tmp(path: str) -> None:
    """Remove a task's remote tmp dir as core's wrapper does (errors ignored); never through a link.

    The path comes from the controller's command line. Under become to root the
    dir is the login user's and root removes it, as core does; any other user
    removes only its own.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode) and os.geteuid() in (0, st.st_uid):
        shutil.rmtree(path, ignore_errors=True)


def signal_name(signum: t.Optional[int]) -> t.Optional[str]:
    if not signum:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return 'SIG%d' % signum


class Supervision(object):
    """The supervisor's decisions, driven by events; no processes, no clocks.

    Events: ``start(now)``, ``tick(now)`` (a deadline may have passed),
    ``stop_requested(now)`` (SIGTERM/SIGINT to the supervisor),
    ``killed_externally()`` (SIGUSR1: the killer signals the group itself),
    ``leader_exited(status, now, group_alive)`` and ``group_changed(now, group_alive)``.
    The methods that can decide to signal the job's group return the signals
    to send, in order (``'SIGTERM'``, ``'SIGKILL'``). ``wakeup()`` is the
    monotonic time of the next deadline, ``outcome()`` what to record.
    """

    def __init__(self, time_limit: t.Optional[float] = None, kill_grace: float = DEFAULT_KILL_GRACE,
                 ends_with_leader: bool = False) -> None:
        self.time_limit = time_limit if time_limit and time_limit > 0 else None
        # True: the job ends when its main process does, unless it is being stopped (a module under
        # async:, as core runs it); False: a job ends with its group
        self.ends_with_leader = ends_with_leader
        self.kill_grace = max(float(kill_grace or 0), 0.0)
        self.started = None  # type: t.Optional[float]
        self.deadline = None  # type: t.Optional[float]
        self.reason = None  # type: t.Optional[str]
        self.external = False
        self.term_at = None  # type: t.Optional[float]
        self.kill_at = None  # type: t.Optional[float]
        self.kill_sent = False
        self.sent = []  # type: t.List[str]
        self.status = None  # type: t.Optional[int]
        self.group_empty = False
        self.finished_at = None  # type: t.Optional[float]

    # -- queries
    @property
    def started_job(self) -> bool:
        return self.started is not None

    @property
    def done(self) -> bool:
        return self.status is not None and self.group_empty

    def wakeup(self) -> t.Optional[float]:
        if self.done or self.started is None:
            return None
        times = []
        if self.deadline is not None and self.term_at is None:
            times.append(self.deadline)
        if self.kill_at is not None and not self.kill_sent:
            times.append(self.kill_at)
        return min(times) if times else None

    # -- events
    def start(self, now: float) -> None:
        self.started = now
        if self.time_limit is not None:
            self.deadline = now + self.time_limit

    def tick(self, now: float) -> t.List[str]:
        if self.done or self.started is None:
            return []
        actions = []  # type: t.List[str]
        if self.deadline is not None and self.term_at is None and now >= self.deadline:
            if self.reason is None:
                self.reason = _record.REASON_TIMEOUT
            actions.extend(self._stop(now))
        if self.kill_at is not None and not self.kill_sent and now >= self.kill_at:
            actions.append(self._send(KILL))
        return actions

    def stop_requested(self, now: float) -> t.List[str]:
        if self.done:
            return []
        if self.reason is None:
            self.reason = _record.REASON_KILLED
        if self.started is None:
            return []
        return self._stop(now)

    def killed_externally(self) -> None:
        self.external = True
        if self.reason is None:
            self.reason = _record.REASON_KILLED

    def leader_exited(self, status: int, now: float, group_alive: bool) -> t.List[str]:
        self.status = status
        return self.group_changed(now, group_alive)

    def group_changed(self, now: float, group_alive: bool) -> t.List[str]:
        if self.status is None or self.group_empty:
            return []
        if not group_alive or (self.ends_with_leader and self.term_at is None):
            self.group_empty = True
            self.finished_at = now
            return []
        # The main process is gone but processes of its group remain: they are
        # part of the job, and a job ends with its group.
        return self._stop(now)

    def _stop(self, now: float) -> t.List[str]:
        if self.term_at is not None:
            return []
        self.term_at = now
        self.kill_at = now + self.kill_grace
        actions = [self._send(TERM)]
        if self.kill_grace <= 0:
            actions.append(self._send(KILL))
        return actions

    def _send(self, sig: str) -> str:
        if sig == KILL:
            self.kill_sent = True
        self.sent.append(sig)
        return sig

    # -- result
    def outcome(self) -> t.Dict[str, t.Any]:
        """state, reason, rc, signal (the signal that ended the main process, by name)."""
        rc = None  # type: t.Optional[int]
        sig = None  # type: t.Optional[str]
        status = self.status
        if status is not None:
            if os.WIFSIGNALED(status):
                signum = os.WTERMSIG(status)
                rc = -signum
                sig = signal_name(signum)
            elif os.WIFEXITED(status):
                rc = os.WEXITSTATUS(status)
        if self.reason == _record.REASON_TIMEOUT:
            state, reason = _record.TIMEOUT, _record.REASON_TIMEOUT
        elif self.reason == _record.REASON_KILLED:
            state, reason = _record.KILLED, _record.REASON_KILLED
        elif sig is not None:
            state, reason = _record.FAILED, _record.REASON_SIGNALLED
        else:
            state, reason = (_record.SUCCEEDED if rc == 0 else _record.FAILED), _record.REASON_EXITED
        return {'state': state, 'reason': reason, 'rc': rc, 'signal': sig, 'signals_sent': list(self.sent)}


# ---------------------------------------------------------------- small I/O helpers

def _quiet_syslog() -> None:
    """Close the syslog socket a module may have opened: the daemon must not write to a stale descriptor."""
    mod = sys.modules.get('syslog')
    if mod is not None:
        try:
            mod.closelog()
        except Exception:  # pylint: disable=broad-except
            pass


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def _ctypes() -> t.Optional[types.ModuleType]:
    try:
        import ctypes
    except ImportError:  # pragma: no cover - CPython always has it, minimal builds may not
        return None
    return ctypes


def _set_subreaper() -> bool:
    """Become the child subreaper (Linux): orphaned processes of the job are reparented to us."""
    ctypes = _ctypes()
    if ctypes is None or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------- the supervisor

class Supervisor(object):
    """Runs one job to its end and keeps its record. Lives in the daemon.

    ``notify_fd``: the launcher's handshake pipe (a JSON line once the record
    exists; with ``wait``, another when the final record is written).
    ``queued``: a job of a batch; it writes a queued record, reports on
    ``ready_fd`` and starts on SIGUSR2 from the batch runner (``runner_pid``).
    """

    def __init__(self, spec: JobSpec, async_dir: str, jid: str, notify_fd: t.Optional[int] = None,
                 wait: bool = False, queued: bool = False, ready_fd: t.Optional[int] = None,
                 runner_pid: t.Optional[int] = None, batch: t.Optional[t.Mapping[str, t.Any]] = None,
                 clock: t.Callable[[], float] = time.monotonic,
                 wallclock: t.Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.async_dir = async_dir
        self.jid = jid
        self.paths = _record.job_paths(async_dir, jid)
        self.notify_fd = notify_fd
        self.wait = wait
        self.queued = queued
        self.ready_fd = ready_fd
        self.runner_pid = runner_pid
        self.batch = t.cast(_record.BatchInfo, dict(batch)) if batch else None
        self.clock = clock
        self.wallclock = wallclock
        self.sm = Supervision(spec.time_limit, spec.kill_grace, ends_with_leader=spec.module)
        self.pid = None  # type: t.Optional[int]
        self.pid_start = None  # type: t.Optional[str]
        self.started_at = None  # type: t.Optional[float]
        self.ended_at = None  # type: t.Optional[float]
        self.queued_at = None  # type: t.Optional[float]
        self.me = os.getpid()
        self.me_start = None  # type: t.Optional[str]
        self.subreaper = False
        self.rusage = {'cpu_user': 0.0, 'cpu_system': 0.0, 'max_rss_kb': 0}
        self.outputs = {}  # type: t.Dict[int, t.Tuple[str, _output.OutputStream, _output.LineSplitter]]
        self.streams = {}  # type: t.Dict[str, _output.OutputStream]
        self.progress_file_ready = False
        self.result_fd = None  # type: t.Optional[int]
        self.result_data = b''
        self.stdin_fd = None  # type: t.Optional[int]
        self.stdin_left = b''
        self.signals = []  # type: t.List[int]
        self.wake_r = None  # type: t.Optional[int]
        self.wake_w = None  # type: t.Optional[int]
        self.proc = None  # type: t.Optional[subprocess.Popen[bytes]]
        self.progress_pending = None  # type: t.Optional[_record.Progress]
        self.progress_written_at = None  # type: t.Optional[float]
        self.poller = None  # type: t.Any
        self.announced = False  # the launcher was told the job runs (the record is then ours to finish)
        self.reserve = None  # type: t.Optional[int]
        self.folded_progress = None  # type: t.Optional[_record.Progress]
        self.procfs = _proc.have_procfs()
        self.fold_checked_at = None  # type: t.Optional[float]
        self.fold_mtime = None  # type: t.Optional[float]

    # -- signals
    def _on_signal(self, signum: int, frame: t.Any) -> None:
        self.signals.append(signum)

    def setup_signals(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(self.wake_w)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def _wake_fd(self) -> int:
        """The read end of the signal wake-up pipe (setup_signals made it)."""
        if self.wake_r is None:
            raise RuntimeError('setup_signals() must come first')
        return self.wake_r

    def _drain_wakeup(self) -> None:
        try:
            while os.read(self._wake_fd(), 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass

    def _take_signals(self) -> t.List[int]:
        taken, self.signals[:] = list(self.signals), []
        return taken

    # -- notifications
    def _notify(self, fd: t.Optional[int], message: t.Mapping[str, t.Any]) -> None:
        if fd is None:
            return
        try:
            _output.write_all(fd, (json.dumps(message, sort_keys=True) + '\n').encode('utf-8'))
        except OSError:
            pass  # the launcher is gone (the controller gave up): the job goes on

    # -- records
    def block(self, queued: bool = False) -> _record.AsyncopsBlock:
        """The block of the running job (queued: waiting for its turn in a batch)."""
        spec = self.spec
        writer = _record.WRITER_SUPERVISOR if spec.progress_re is not None else _record.WRITER_JOB
        block = _record.running_block(
            spec.job_block(), self.paths, self.me, self.me_start, spec.output_limit, writer, pid=self.pid,
            pid_start=self.pid_start, started_at=self.started_at, queued=queued, queued_at=self.queued_at,
            batch=self.batch)
        if not self.procfs:
            block['warnings'] = [NO_PROCFS_MSG]
        return block

    def write_record(self, record: t.Mapping[str, t.Any]) -> None:
        _record.write_record(self.async_dir, self.jid, record)

    def write_running_record(self, queued: bool = False) -> None:
        """Write the running (or queued) record, padded to reserve the space of a minimal final record."""
        record = self.running_record(queued)
        self.reserve = max(self.reserve or 0, self.reserve_size())  # a queued job's block grows when it starts
        data = _record_bytes(record)
        try:
            _record.atomic_write(self.paths.record, data + b' ' * max(0, self.reserve - len(data)))
        except _record.JobError as e:
            raise _record.job_error(e, self.jid, self.paths.record) from None

    def running_record(self, queued: bool = False) -> _record.Record:
        record = _record.running_record(self.jid, self.block(queued))
        if self.folded_progress is not None:
            record = _record.with_progress(record, self.folded_progress)
        return record

    def _fold_progress(self) -> None:
        """A module job: put a new report of its progress sidecar into the running record.

        ansible.builtin.async_status (the controller's poll: N loop) reads
        only the record; the supervisor is its one writer.
        """
        if not self.spec.module or not self.progress_file_ready or self.sm.done:
            return
        now = self.clock()
        if self.fold_checked_at is not None and now - self.fold_checked_at < _FOLD_INTERVAL:
            return
        self.fold_checked_at = now
        changed = _record.mtime(self.paths.progress)
        if changed is None or changed == self.fold_mtime:
            return
        self.fold_mtime = changed
        progress = _record.read_progress(self.paths.progress)
        if progress is None or progress == self.folded_progress:
            return
        self.folded_progress = progress
        try:
            self.write_running_record()
        except _record.JobError:
            pass  # progress is advisory; the final record is written (or reported) on its own

    # -- the run
    def run(self) -> int:
        """Supervise the job to its end; never raises. Returns the daemon's exit code."""
        try:
            return self._run()
        except BaseException as e:  # pylint: disable=broad-except
            return self._failed(e)
        finally:
            self._remove_cleanup_dir()

    def _failed(self, e: BaseException) -> int:
        """The supervisor itself failed: stop the job, record why (or leave nothing when not launched)."""
        msg = 'the supervisor of job %s failed: %s' % (self.jid, ''.join(
            traceback.format_exception_only(type(e), e)).strip())
        try:
            if self.sm.started_job and not self.sm.done:
                for sig in (TERM, KILL):
                    _proc.signal_own_group(self.pid, self.pid, getattr(signal, sig))
            self.ended_at = self.wallclock()
            if self.announced or self.queued:
                self.write_final_record(self.final_record(error=msg),
                                        lambda: self.final_record(error=msg, with_output=False))
            else:  # the launch fails: leave nothing behind
                self._remove_files()
        except BaseException:  # pylint: disable=broad-except
            pass
        self._notify(self.notify_fd, {'ok': False, 'msg': msg, 'traceback': traceback.format_exc()})
        return 70

    def _remove_cleanup_dir(self) -> None:
        if self.spec.cleanup_dir:
            remove_task_tmp(self.spec.cleanup_dir)

    def _remove_files(self, keep_record: bool = False) -> None:
        for stream in self.streams.values():
            _output.close_fd(stream.fd)
            stream.fd = None
        for path in self.paths:
            if keep_record and path == self.paths.record:
                continue
            try:
                os.unlink(path)
            except OSError:
                pass

    def _run(self) -> int:
        self.me = os.getpid()
        self.me_start = _proc.start_token(self.me)
        self.setup_signals()
        self.subreaper = _set_subreaper()
        if self.queued:
            if not self._wait_turn():
                return 0
            skip = skip_message(self.spec.creates, self.spec.removes, self.spec.chdir)
            if skip is not None:
                self.started_at = self.ended_at = self.wallclock()
                self.write_record(skipped_job_record(self.spec, self.jid, skip, self.block(), now=self.ended_at))
                return 0
        try:
            self.start_job()
        except OSError as e:
            return self._start_failed(e)
        self.write_running_record()
        self.announced = True
        self._notify(self.notify_fd, {'ok': True, 'jid': self.jid, 'pid': self.pid, 'started_at': self.started_at,
                                      'supervisor_pid': self.me, 'results_file': self.paths.record})
        if not self.wait:
            _output.close_fd(self.notify_fd)
            self.notify_fd = None
        self.loop()
        self.finish()
        self.write_final_record(self.final_record(), lambda: self.final_record(with_output=False))
        if self.spec.module:
            # everything is in the record now; core's poll loop and cleanup remove only the record
            self._remove_files(keep_record=True)
        self._notify(self.notify_fd, {'done': True, 'jid': self.jid})
        _output.close_fd(self.notify_fd)
        return 0

    def _start_failed(self, e: OSError) -> int:
        """The command could not be started (not found, not executable, bad chdir)."""
        msg = '[Errno %s] %s: %r' % (e.errno, e.strerror, e.filename) if e.filename else str(e)
        self.started_at = self.ended_at = self.wallclock()
        if self.notify_fd is not None and not self.queued:
            # a single launch fails at once, like ansible.builtin.command, and leaves nothing behind
            self._remove_files()
            self._notify(self.notify_fd, {'ok': False, 'msg': msg, 'rc': 2, 'cmd': self.spec.cmd})
            return 0
        self.write_final_record(self.final_record(error=msg, rc=2),
                                lambda: self.final_record(error=msg, rc=2, with_output=False))
        return 0

    def _wait_turn(self) -> bool:
        """Queued: record, report ready, then wait for SIGUSR2. False when killed before the start."""
        self.queued_at = self.wallclock()
        self.write_running_record(queued=True)
        if self.ready_fd is not None:
            self._notify(self.ready_fd, {'jid': self.jid, 'pid': self.me})
            _output.close_fd(self.ready_fd)
            self.ready_fd = None
        poller = select.poll()
        poller.register(self._wake_fd(), select.POLLIN)
        while True:
            taken = self._take_signals()
            # a kill that comes with the go signal wins: it was meant for this job, started or not
            if set(taken) & {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}:
                self._end_unstarted('the job was killed while it waited for its turn in the batch')
                return False
            if signal.SIGUSR2 in taken:
                return True
            if self.runner_pid is not None and os.getppid() != self.runner_pid:
                self._end_unstarted('the batch runner (pid %d) died before the job started' % self.runner_pid)
                return False
            poller.poll(1000)
            self._drain_wakeup()

    def _end_unstarted(self, msg: str) -> None:
        self.sm.killed_externally()
        self.ended_at = self.wallclock()
        self.write_final_record(self.final_record(error=msg, never_started=True),
                                lambda: self.final_record(error=msg, never_started=True, with_output=False))

    def _job_env(self) -> t.Dict[str, str]:
        env = dict(os.environ)
        env.update(self.spec.env)
        env[_record.JID_ENV] = self.jid
        if self.progress_file_ready:
            env[_record.PROGRESS_ENV] = self.paths.progress
        else:  # the supervisor writes the sidecar (one writer per file), or it could not be made ours
            env.pop(_record.PROGRESS_ENV, None)
        return env

    def start_job(self) -> None:
        spec = self.spec
        self.streams = {'stdout': _output.OutputStream(self.paths.out, spec.output_limit),
                        'stderr': _output.OutputStream(self.paths.err, spec.output_limit)}
        if spec.progress_re is None:
            # created afresh now (0600, a planted link replaced, not followed) so that a job's
            # "echo > $ASYNCOPS_PROGRESS_FILE" writes our file; without one the job is not told a path
            try:
                os.close(_output.create_private(self.paths.progress))
                self.progress_file_ready = True
            except (OSError, _record.JobError):
                pass
        self.started_at = self.wallclock()
        self.sm.start(self.clock())
        if spec.argv is not None:
            self._spawn_argv()
        else:
            self._spawn_target()
        self.pid_start = _proc.start_token(self.pid)

    def _spawn_argv(self) -> None:
        spec = self.spec
        if spec.argv is None:
            raise ValueError('a job without argv is run by _spawn_target')
        # Not AnsibleModule.run_command: the supervisor streams the pipes itself, reaps the job with
        # os.wait4 (for its resource use) and must not block; it runs in the daemon, not in the module.
        self.proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
            list(spec.argv), stdin=subprocess.PIPE if spec.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=spec.chdir or None, env=self._job_env(),
            close_fds=True, restore_signals=True, start_new_session=True)
        self.pid = self.proc.pid
        stdout, stderr, stdin = self.proc.stdout, self.proc.stderr, self.proc.stdin
        if stdout is None or stderr is None:
            raise RuntimeError('the job was started without its output pipes')
        if spec.module:  # a module prints its result: kept whole, as core's wrapper keeps it
            self.result_fd = stdout.fileno()
        else:
            self.outputs[stdout.fileno()] = ('stdout', self.streams['stdout'], _output.LineSplitter())
        self.outputs[stderr.fileno()] = ('stderr', self.streams['stderr'], _output.LineSplitter())
        if spec.stdin is not None and stdin is not None:
            self.stdin_fd = stdin.fileno()
            self.stdin_left = spec.stdin
            os.set_blocking(self.stdin_fd, False)

    def _spawn_target(self) -> None:
        spec = self.spec
        target = spec.target
        if target is None:
            raise ValueError('a job without target is run by _spawn_argv')
        if spec.chdir and not os.path.isdir(spec.chdir):
            raise FileNotFoundError(2, 'No such file or directory', spec.chdir)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        env = self._job_env()
        pid = os.fork()
        if pid == 0:  # the job: a fork of the supervisor, all code already imported
            code = 3
            try:
                os.setsid()
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2,
                            signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                for fd in [null, out_r, out_w, err_r, err_w, res_r] + self._own_fds():
                    if fd is not None and fd > 2:
                        _output.close_fd(fd)
                os.environ.clear()
                os.environ.update(env)
                if spec.chdir:
                    os.chdir(spec.chdir)
                try:
                    result = dict(target())
                except SystemExit:
                    raise
                except Exception as e:  # pylint: disable=broad-except
                    result = {'failed': True, 'msg': 'the job raised %s: %s' % (type(e).__name__, e),
                              'exception': traceback.format_exc()}
                _output.write_all(res_w, json.dumps(result, default=str).encode('utf-8'))
                code = 1 if result.get('failed') else 0
            except BaseException:  # pylint: disable=broad-except
                try:
                    sys.stderr.write(traceback.format_exc())
                    sys.stderr.flush()
                except BaseException:  # pylint: disable=broad-except
                    pass
            finally:
                os._exit(code)
        for fd in (out_w, err_w, res_w):
            os.close(fd)
        self.pid = pid
        for fd in (out_r, err_r, res_r):
            os.set_inheritable(fd, False)
        self.outputs[out_r] = ('stdout', self.streams['stdout'], _output.LineSplitter())
        self.outputs[err_r] = ('stderr', self.streams['stderr'], _output.LineSplitter())
        self.result_fd = res_r

    def _own_fds(self) -> t.List[t.Optional[int]]:
        """The supervisor's descriptors a forked job must not keep."""
        fds = [self.wake_r, self.wake_w, self.notify_fd, self.ready_fd]
        fds.extend(stream.fd for stream in self.streams.values())
        return fds

    # -- the event loop
    def loop(self) -> None:
        poller = self.poller = select.poll()
        poller.register(self._wake_fd(), select.POLLIN)
        for fd in self.outputs:
            poller.register(fd, select.POLLIN)
        if self.result_fd is not None:
            poller.register(self.result_fd, select.POLLIN)
        if self.stdin_fd is not None:
            if self.stdin_left:
                poller.register(self.stdin_fd, select.POLLOUT)
            else:
                self._close_stdin()
        drain_until = None  # type: t.Optional[float]
        while True:
            self._apply(self.sm.tick(self.clock()))
            now = self.clock()
            if self.sm.done:
                if not self.outputs and self.result_fd is None:
                    break
                if drain_until is None:
                    drain_until = now + _DRAIN_AFTER_END
                elif now >= drain_until:
                    break
            timeout = self._poll_timeout(now, drain_until)
            for fd, event in poller.poll(timeout):
                if fd == self.wake_r:
                    self._drain_wakeup()
                elif fd == self.stdin_fd:
                    self._feed_stdin()
                elif fd in self.outputs or fd == self.result_fd:
                    self._read(fd)
            self._handle_signals()
            if self.sm.status is None:
                # a SIGCHLD that never reached the wake-up pipe must not leave the job unreaped
                self._reap()
            if self.sm.status is not None and not self.sm.done:
                # a descendant may have gone without a SIGCHLD reaching us
                self._apply(self.sm.group_changed(self.clock(), self._job_alive()))
            self._flush_progress(force=False)
            self._fold_progress()
        for fd in list(self.outputs):
            self._read_all(fd)
        if self.result_fd is not None:
            self._read_all(self.result_fd)

    def _poll_timeout(self, now: float, drain_until: t.Optional[float]) -> int:
        times = []
        wake = self.sm.wakeup()
        if wake is not None:
            times.append(wake)
        if drain_until is not None:
            times.append(drain_until)
        if self.sm.status is None:
            times.append(now + _REAP_SAFETY_NET)
        elif not self.sm.done:
            times.append(now + (_GROUP_POLL_SUBREAPER if self.subreaper else _GROUP_POLL))
        if self.progress_pending is not None and self.progress_written_at is not None:
            times.append(self.progress_written_at + PROGRESS_INTERVAL)
        if self.spec.module and self.fold_checked_at is not None:
            times.append(self.fold_checked_at + _FOLD_INTERVAL)
        if not times:
            return -1
        return max(0, int(math.ceil((min(times) - now) * 1000)))

    def _apply(self, actions: t.Iterable[str]) -> None:
        for sig in actions:
            signum = getattr(signal, sig)
            _proc.signal_own_group(self.pid, self.pid if self.sm.status is None else None, signum)
            for stray in self._strays():
                try:
                    _proc.signal_verified(stray.pid, stray.start, signum)
                except _proc.SignalRefused:
                    pass  # it became another user's (setuid): not ours to signal

    def _strays(self) -> t.List[_proc.Proc]:
        """Processes the job started outside its group, once it is being stopped (they are stopped with it).

        As the subreaper, the supervisor is the ancestor of every process the
        job started, also of those whose parent died.
        """
        if self.sm.term_at is None or self.pid is None:
            return []
        # one that became another user's (setuid) is neither signalled nor waited for
        return [p for p in _proc.descendants_outside_group(self.me, self.pid) if _proc.owned_by_me(p.pid) is not False]

    def _job_alive(self) -> bool:
        return _proc.group_alive(self.pid) or bool(self._strays())

    def _handle_signals(self) -> None:
        for signum in self._take_signals():
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self._apply(self.sm.stop_requested(self.clock()))
            elif signum == signal.SIGUSR1:
                self.sm.killed_externally()
                # the killer signals the group; the supervisor stops the strays, which only it can find,
                # and the group too, after the job's own grace, in case the killer does not live that long
                self._apply(self.sm.stop_requested(self.clock()))
            # SIGHUP, SIGUSR2: nothing to do once running

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid == 0:
                break
            self.rusage['cpu_user'] += usage.ru_utime
            self.rusage['cpu_system'] += usage.ru_stime
            self.rusage['max_rss_kb'] = max(self.rusage['max_rss_kb'], int(usage.ru_maxrss))
            if pid == self.pid:
                if self.proc is not None:  # reaped here, with its rusage: Popen must not wait for it
                    self.proc.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                self._apply(self.sm.leader_exited(status, self.clock(), self._job_alive()))
        if self.sm.status is not None and not self.sm.done:
            self._apply(self.sm.group_changed(self.clock(), self._job_alive()))

    def _read(self, fd: int) -> bool:
        """Read what is there; False at end of file (the fd is then closed)."""
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b''
        if fd == self.result_fd:
            if data:
                self.result_data += data
                return True
            self._unregister(fd)
            self.result_fd = None
            return False
        name, stream, splitter = self.outputs[fd]
        if data:
            stream.feed(data)
            if self.spec.progress_re is not None:
                for line in splitter.feed(data):
                    self._progress_line(line)
            return True
        if self.spec.progress_re is not None:
            for line in splitter.finish():
                self._progress_line(line)
        self._unregister(fd)
        del self.outputs[fd]
        return False

    def _read_all(self, fd: int) -> None:
        """Take what is left without blocking (a process outside the group may keep the pipe open)."""
        os.set_blocking(fd, False)
        while (fd in self.outputs or fd == self.result_fd) and self._read_available(fd):
            pass
        if fd in self.outputs:
            self._unregister(fd)
            del self.outputs[fd]
        elif fd == self.result_fd:
            self._unregister(fd)
            self.result_fd = None

    def _read_available(self, fd: int) -> bool:
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False
        if not data:
            return False
        if fd == self.result_fd:
            self.result_data += data
        else:
            name, stream, splitter = self.outputs[fd]
            stream.feed(data)
            if self.spec.progress_re is not None:
                for line in splitter.feed(data):
                    self._progress_line(line)
        return True

    def _unregister(self, fd: int) -> None:
        try:
            self.poller.unregister(fd)
        except (KeyError, ValueError, AttributeError):
            pass
        _output.close_fd(fd)

    def _feed_stdin(self) -> None:
        if self.stdin_fd is None:
            return
        try:
            n = os.write(self.stdin_fd, self.stdin_left[:65536])
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the job closed its stdin
            self.stdin_left = b''
            n = 0
        self.stdin_left = self.stdin_left[n:]
        if not self.stdin_left:
            self._close_stdin()

    def _close_stdin(self) -> None:
        fd, self.stdin_fd = self.stdin_fd, None
        if fd is not None:
            try:
                self.poller.unregister(fd)
            except (KeyError, ValueError, AttributeError):
                pass
            if self.proc is not None and self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            else:
                _output.close_fd(fd)

    # -- progress_regex
    def _progress_line(self, line: str) -> None:
        regex = self.spec.progress_re
        if regex is None:
            return
        data = _output.match_progress(regex, line)
        if data is None:
            return
        self.progress_pending = data
        self._flush_progress(force=data['percent'] is not None and data['percent'] >= 100)

    def _flush_progress(self, force: bool) -> None:
        if self.progress_pending is None:
            return
        now = self.clock()
        if not force and self.progress_written_at is not None and now - self.progress_written_at < PROGRESS_INTERVAL:
            return
        data, self.progress_pending = self.progress_pending, None
        self.progress_written_at = now
        try:
            _record.write_progress(self.paths.progress, data)
        except (_record.JobError, OSError):
            pass

    # -- the end
    def finish(self) -> None:
        self.ended_at = self.wallclock()
        # zombies of the group (orphans we adopted) are dead but unreaped: their resource use counts too
        self._reap()
        self._flush_progress(force=True)
        if self.spec.module and self.progress_file_ready:  # its last report, e.g. done(), goes into the record
            self.folded_progress = _record.read_progress(self.paths.progress) or self.folded_progress
        for stream in self.streams.values():
            stream.close()
        if self.proc is not None:
            for f in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass

    def final_record(self, error: t.Optional[str] = None, never_started: bool = False,
                     rc: t.Optional[int] = None, with_output: bool = True) -> _record.Record:
        """The record of the ended job (error: the supervisor failed; rc: overrides the job's).

        with_output=False: without the output tails (stdout/stderr empty), for
        a disk too full for the whole record.
        """
        spec = self.spec
        outcome = self.sm.outcome()
        if never_started:
            outcome.update(state=_record.KILLED, reason=_record.REASON_KILLED, rc=None, signal=None)
        elif error is not None:
            outcome['state'] = _record.FAILED
            if self.sm.status is None:
                outcome.update(reason=_record.REASON_ERROR, rc=None, signal=None)
        if rc is not None:
            outcome['rc'] = rc
        state = outcome['state']
        ended_at = self.ended_at if self.ended_at is not None else self.wallclock()
        started_at = self.started_at if self.started_at is not None else ended_at
        msg = error or self._message(outcome)
        if not with_output:
            msg = (msg + '; ' if msg else '') + NO_SPACE_TAILS_MSG
        stdout, stderr, stdout_truncated, stderr_truncated = self._output_in_budget(with_output)
        result = dict(spec.base_result)  # type: t.Dict[str, t.Any]
        if spec.module:
            module_result, state = self._module_result(outcome, error, msg, with_output)
            result.update(module_result)
        elif spec.target is not None:
            job_result = self._job_result()
            if job_result is not None:
                result.update(job_result)
            if job_result is not None and outcome['reason'] == _record.REASON_EXITED and error is None:
                # the job ended by itself and said how: its result is the result
                state = _record.FAILED if job_result.get('failed') else _record.SUCCEEDED
                result.setdefault('msg', '')
            else:
                result['msg'] = msg
            result.setdefault('changed', False)
            if stderr:
                result.setdefault('stderr', stderr)
            if rc is not None:
                result['rc'] = rc
        else:  # the keys ansible.builtin.command returns
            result.update(cmd=spec.cmd, stdout=stdout, stderr=stderr, stdout_lines=stdout.splitlines(),
                          stderr_lines=stderr.splitlines(), rc=outcome['rc'], msg=msg,
                          changed=not never_started, start=_durations.format_timestamp(started_at),
                          end=_durations.format_timestamp(ended_at), delta=_durations.format_delta(ended_at - started_at))
        resources = None  # type: t.Optional[_record.Resources]
        if self.sm.status is not None:
            resources = _record.Resources(cpu_user=round(self.rusage['cpu_user'], 3),
                                          cpu_system=round(self.rusage['cpu_system'], 3),
                                          max_rss_kb=int(self.rusage['max_rss_kb']))
        block = _record.final_block(
            self.block(), state, ended_at, rc=outcome['rc'], signal=outcome['signal'], reason=outcome['reason'],
            resources=resources, signals_sent=outcome['signals_sent'],
            stdout_truncated=stdout_truncated, stderr_truncated=stderr_truncated, never_started=never_started)
        if not with_output:
            block['warnings'] = list(block.get('warnings') or []) + [NO_SPACE_TAILS_MSG]
        if self.folded_progress is not None:
            block['progress'] = self.folded_progress
        if spec.module:  # its sidecars are removed once this record is written
            block.pop('progress_file', None)
            block.pop('stdout_file', None)
            block.pop('stderr_file', None)
            block.pop('stdout_truncated', None)
        return _record.final_record(self.jid, result, block, core_shape=spec.module)

    def _module_result(self, outcome: t.Mapping[str, t.Any], error: t.Optional[str], msg: str,
                       with_output: bool) -> t.Tuple[t.Dict[str, t.Any], str]:
        """A module job's result and state: what it printed, else core's failure result for how it ended.

        stderr is the text as the module wrote it (its last output_limit bytes), as core passes it on.
        """
        stdout = self.result_data.decode('utf-8', 'replace')
        stream = self.streams.get('stderr')
        stderr = bytes(stream.tail).decode('utf-8', 'replace') if stream is not None and with_output else ''
        if error is None and outcome['reason'] == _record.REASON_EXITED:
            try:
                result = _module_result.module_result(stdout, stderr)
            except ValueError:
                return _module_result.unparsable_result(self.spec.display, stdout, stderr, traceback.format_exc()), \
                    _record.FAILED
            return result, _record.FAILED if result.get('failed') else _record.SUCCEEDED
        if outcome['state'] == _record.TIMEOUT:  # core's watcher writes these keys
            return {'failed': True, 'msg': 'Timeout exceeded: ' + msg, 'child_pid': self.pid}, _record.TIMEOUT
        return _module_result.unparsable_result(self.spec.display, stdout, stderr, msg), outcome['state']

    def _output_in_budget(self, with_output: bool) -> t.Tuple[str, str, int, int]:
        """stdout, stderr and the bytes of each not kept: together at most output_budget() in the record."""
        streams = [self.streams.get('stdout'), self.streams.get('stderr')]
        tails = [bytes(s.tail) if s is not None and with_output else b'' for s in streams]
        skips = _output.fit_output(tails, output_budget(self.spec.output_limit), self.spec.strip_empty_ends)
        texts = [s.kept_text(skip, self.spec.strip_empty_ends) if s is not None and with_output else '' for s, skip in zip(streams, skips)]
        dropped = [s.total - len(tail) + skip if s is not None else 0 for s, tail, skip in zip(streams, tails, skips)]
        return texts[0], texts[1], dropped[0], dropped[1]

    def minimal_final_record(self, record: t.Mapping[str, t.Any], cause: str) -> _record.Record:
        """The least a final record says: how the job ended and why the full record is not there.

        Built from the full final record: its block, without the output and
        the job's other keys; sized to fit the reserve of the running record.
        """
        block = dict(_record.asyncops_block(record))
        for key in ('resources', 'batch', 'signals_sent', 'progress', 'warnings'):
            block.pop(key, None)
        block['warnings'] = [NO_SPACE_MINIMAL_MSG]
        job = _record.job_result(record)
        result = {key: job[key] for key in MINIMAL_RESULT_KEYS if key in job}
        for key in ('stdout', 'stderr', 'stdout_lines', 'stderr_lines'):  # the keys stay; the text does not
            if key in job:
                result[key] = [] if key.endswith('_lines') else ''
        # _record's write error says the previous content is unchanged: not so of this one
        cause = cause.split('; the previous content is unchanged')[0]
        result['msg'] = '%s: %s' % (NO_SPACE_MINIMAL_MSG, cause[:MINIMAL_CAUSE_MAX])
        if len(json.dumps(result.get('cmd'))) > MINIMAL_TEXT_MAX:
            result['cmd'] = self.spec.display[:MINIMAL_TEXT_MAX // 6]
        return _record.final_record(self.jid, result, t.cast(_record.AsyncopsBlock, block))

    def reserve_size(self) -> int:
        """Bytes the running record takes on disk: room for the minimal final record, whatever the end."""
        worst = dict(self.final_record(error='x' * 200, rc=-255, with_output=False))
        worst['asyncops'] = dict(worst['asyncops'], signal='SIGRTMAX-15', ended_at=1e10, started_at=1e10,
                                 rc=-255, reason=_record.REASON_SUPERVISOR_FAILED, state=_record.TIMEOUT)
        minimal = self.minimal_final_record(worst, 'x' * MINIMAL_CAUSE_MAX)
        return len(_record_bytes(minimal)) + RESERVE_MARGIN

    def write_final_record(self, record: _record.Record, rebuild: t.Callable[[], _record.Record]) -> str:
        """Write the final record; on a full disk, without the output, then minimal in place.

        rebuild() gives the record without its output tails. Returns which
        was written: 'full', 'without output' or 'minimal'. Raises JobError
        when not even the minimal record could be written.
        """
        try:
            self.write_record(record)
            return 'full'
        except _record.JobError as e:
            first = e
        try:
            self.write_record(rebuild())
            return 'without output'
        except _record.JobError:
            pass
        try:
            _overwrite_in_place(self.paths.record, _record_bytes(self.minimal_final_record(record, first.msg)))
            return 'minimal'
        except (OSError, _record.JobError) as e:
            why = e.msg if isinstance(e, _record.JobError) else (e.strerror or str(e))
            raise _record.JobError('cannot write the final record of job %s: %s (and in place: %s)'
                                   % (self.jid, first.msg, why), self.paths.record) from None

    def _job_result(self) -> t.Optional[t.Dict[str, t.Any]]:
        if not self.result_data:
            return None
        try:
            data = json.loads(self.result_data.decode('utf-8', 'replace'))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _message(self, outcome: t.Mapping[str, t.Any]) -> str:
        state = outcome['state']
        if state == _record.SUCCEEDED:
            return ''
        if state == _record.TIMEOUT:
            msg = 'the job exceeded its time limit of %gs: SIGTERM was sent to its process group' % (self.spec.time_limit or 0)
            if KILL in outcome['signals_sent']:
                msg += ', then SIGKILL after %gs' % self.spec.kill_grace
            return msg
        if state == _record.KILLED:
            if self.sm.external:
                return 'the job was killed from outside (asyncops.jobs.async_status mode=kill)'
            return 'the job was killed: its supervisor was asked to stop it (SIGTERM)'
        if outcome['reason'] == _record.REASON_SIGNALLED:
            return 'the job was killed by %s' % outcome['signal']
        return 'non-zero return code'


# ---------------------------------------------------------------- daemonizing

def preload_payload(prefixes: t.Sequence[str] = ('ansible.module_utils.', 'ansible_collections.')) -> int:
    """Import now every module_utils module of the AnsiballZ payload the daemon might still need.

    The payload zip is deleted when the module returns, and the daemon lives
    on: a module imported lazily after that would fail to load. Returns how
    many modules were imported.
    """
    count = 0
    for entry in list(sys.path):
        if not entry.endswith('.zip') or not os.path.isfile(entry):
            continue
        try:
            with zipfile.ZipFile(entry) as z:
                names = z.namelist()
        except (OSError, zipfile.BadZipfile):
            continue
        for name in names:
            if not name.endswith('.py'):
                continue
            mod = name[:-3].replace('/', '.')
            if mod.endswith('.__init__'):
                mod = mod[:-len('.__init__')]
            if mod in sys.modules or not mod.startswith(tuple(prefixes)) or 'module_utils' not in mod:
                continue
            if '._ansiballz.' in mod or '.testing' in mod:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    importlib.import_module(mod)
                count += 1
            except Exception:  # pylint: disable=broad-except
                continue
    return count


class Handshake(object):
    """The launcher's end of the pipe the daemon reports on (JSON lines)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b''
        self.eof = False

    def read_message(self, timeout: t.Optional[float] = None) -> t.Optional[t.Dict[str, t.Any]]:
        """The next message; None at end of file or when timeout (seconds) passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b'\n' not in self.buf and not self.eof:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if wait is not None and wait <= 0:
                return None
            ready, dummy, dummy2 = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.buf += chunk
        if b'\n' not in self.buf:
            return None
        line, self.buf = self.buf.split(b'\n', 1)
        try:
            message = json.loads(line.decode('utf-8', 'replace'))
        except ValueError:
            return {'ok': False, 'msg': 'garbled message from the supervisor: %r' % line[:200]}
        return message if isinstance(message, dict) else {'ok': False, 'msg': 'bad message %r' % (message,)}

    def close(self) -> None:
        _output.close_fd(self.fd)


def daemonize(body: t.Callable[[int], int], timeout: float = HANDSHAKE_TIMEOUT) -> t.Tuple[t.Dict[str, t.Any], Handshake]:
    """Run body(notify_fd) in a daemon (double fork, new session, stdio on /dev/null).

    Returns the daemon's first message and the handshake to read more from.
    The daemon ends with os._exit: it never runs the module's exit handlers
    (nor AnsiballZ's cleanup) a second time.
    """
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError, AttributeError):
            pass
    r, w = os.pipe()
    os.set_inheritable(r, False)
    os.set_inheritable(w, False)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.close(r)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            _detach_stdio()
            _quiet_syslog()
            code = body(w)
        except BaseException:  # pylint: disable=broad-except
            try:
                _output.write_all(w, (json.dumps({'ok': False, 'msg': 'the supervisor could not start: %s'
                                                  % traceback.format_exc()}) + '\n').encode('utf-8'))
            except BaseException:  # pylint: disable=broad-except
                pass
        finally:
            os._exit(code)
    os.close(w)
    while True:
        try:
            os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            break
    handshake = Handshake(r)
    first = handshake.read_message(timeout)
    if first is None:
        first = {'ok': False, 'msg': 'the supervisor did not report within %gs (or died before writing the job '
                                     'record)' % timeout}
    return first, handshake


# ---------------------------------------------------------------- launching

def _launch_result(jid: str, async_dir: str, message: t.Mapping[str, t.Any], spec: JobSpec) -> t.Dict[str, t.Any]:
    """The launch result: the keys of core's async launch; everything of this collection under asyncops."""
    return {
        'changed': True, 'started': True, 'finished': False, 'ansible_job_id': jid,
        'results_file': _record.job_paths(async_dir, jid).record,
        # started_at is the job's own start: the controller's clock alone would count the launch's round trip
        'asyncops': {'state': _record.RUNNING, 'started_at': message.get('started_at'), 'pid': message.get('pid'),
                     'supervisor_pid': message.get('supervisor_pid'), 'cmd': spec.display, 'kind': spec.kind,
                     'name': spec.name},
    }


def launch(spec: JobSpec, async_dir: str, wait: bool = False, keep_record: bool = False,
           jid: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """Start one supervised job; return the launch result, or with wait the final record.

    jid: the job's id when the caller has one (the async_wrapper replacement has core's), else a new one.
    Raises LaunchError when the job could not be started (nothing is left behind then).
    """
    _async_dir.ensure_async_dir(async_dir)
    if not spec.module:
        # A module job's daemon runs only code imported already (this file's imports); run and
        # download jobs run the module's own code, which may import lazily.
        preload_payload()
    jid = _record.new_jid() if jid is None else _record.validate_jid(jid)

    def body(notify_fd: int) -> int:
        return Supervisor(spec, async_dir, jid, notify_fd=notify_fd, wait=wait).run()

    first = run_daemon(body, 'the job could not be started', wait)
    if not wait:
        return _launch_result(jid, async_dir, first, spec)
    return collect(async_dir, jid, keep_record)


def run_daemon(body: t.Callable[[int], int], failure: str, wait: bool) -> t.Dict[str, t.Any]:
    """daemonize(body) and return its first message; with wait, once the daemon has said it is done.

    Raises LaunchError (failure, unless the daemon said why) when it reports it could not start.
    """
    first, handshake = daemonize(body)
    try:
        if not first.get('ok'):
            raise LaunchError(first.get('msg') or failure, first)
        if wait:
            while True:
                message = handshake.read_message()
                if message is None or message.get('done'):
                    break
    finally:
        handshake.close()
    return first


def collect(async_dir: str, jid: str, keep_record: bool) -> _record.Record:
    """The final record as a task result; the record and its sidecars are removed unless keep_record."""
    record = _liveness.read_live_record(async_dir, jid)
    if keep_record:
        return _record.collected_result(record, _record.job_paths(async_dir, jid).record)
    _record.remove_job(async_dir, jid)
    return _record.collected_result(record, None)
