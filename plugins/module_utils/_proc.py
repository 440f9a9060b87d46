# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Processes: start times, alive, owners, process groups, descendants, argv, core's wrapper, verified signals.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and ``_record``. The only reader of ``/proc`` in the collection.

One meaning of alive: a process is alive while it exists and is not a zombie
(an exited, unreaped process runs no code of the job); a process group is
alive while one of its members is. Without procfs a zombie cannot be told
apart: then whatever exists counts as alive.
"""

from __future__ import annotations

import os
import re
import signal
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _record

_PROC = '/proc'
ZOMBIE_STATES = ('Z', 'X', 'x')
# process_start_time of a live process whose start time cannot be read (no procfs)
START_TIME_UNKNOWN = 'unknown'
_TIME_LIMIT_RE = re.compile(r'\A[-+]?[0-9]+\Z')


class Proc(t.NamedTuple):
    pid: int
    ppid: int
    pgrp: int
    state: str
    start: str  # start time in clock ticks after boot (field 22 of proc(5)): the start token
    session: int = -1  # session id (field 6)

    @property
    def zombie(self) -> bool:
        return self.state in ZOMBIE_STATES


def _read_stat(pid: int) -> Proc:
    """/proc/<pid>/stat parsed; raises OSError, IndexError or ValueError."""
    with open('%s/%d/stat' % (_PROC, pid), 'rb') as f:
        raw = f.read()
    fields = raw.rsplit(b')', 1)[1].split()  # the command name may hold spaces and parentheses
    return Proc(pid, int(fields[1]), int(fields[2]), fields[0].decode('ascii'), fields[19].decode('ascii'),
                int(fields[3]))


def read_proc(pid: int) -> t.Optional[Proc]:
    """The process pid (a zombie too), or None when it cannot be read."""
    try:
        return _read_stat(pid)
    except (OSError, IndexError, ValueError):
        return None


def have_procfs() -> bool:
    return os.path.exists('%s/self/stat' % _PROC)


def all_pids() -> t.List[int]:
    try:
        return [int(n) for n in os.listdir(_PROC) if n.isdigit()]
    except OSError:
        return []


def all_procs() -> t.List[Proc]:
    procs = []
    for pid in all_pids():
        p = read_proc(pid)
        if p is not None:
            procs.append(p)
    return procs


def _valid_pid(pid: t.Any) -> bool:
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 0


def process_start_time(pid: t.Any) -> t.Optional[str]:
    """An opaque start-time token for pid, or None if no such process is alive (a zombie is not).

    Compared with the token recorded at launch it tells the job from a later
    process that reuses its PID. Without procfs the start time cannot be read
    (module_utils may not run ps): a live pid gives START_TIME_UNKNOWN, which
    pid_is takes as "alive" whatever was recorded.
    """
    if not _valid_pid(pid):
        return None
    try:
        p = _read_stat(pid)
        return None if p.zombie else p.start
    except FileNotFoundError:
        if have_procfs():
            return None
    except (OSError, IndexError, ValueError):
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


def start_token(pid: t.Optional[int]) -> t.Optional[str]:
    """The start token of pid as process_start_time makes it, also for a zombie.

    A job may have exited (and not been reaped yet) by the time its record is
    first written; its token must still be recorded.
    """
    if not pid:
        return None
    p = read_proc(pid)
    return p.start if p is not None else process_start_time(pid)


def pid_is(pid: t.Any, start_time: t.Any) -> bool:
    """True when pid is alive and, if a start time was recorded, is still the same process."""
    current = process_start_time(pid)
    if current is None:
        return False
    if start_time is None or START_TIME_UNKNOWN in (current, start_time):
        return True  # nothing to tell a reused PID by
    return str(start_time) == current


def parent_pid(pid: int) -> int:
    """The parent of pid; 0 when it cannot be read."""
    p = read_proc(pid)
    return p.ppid if p is not None else 0


def process_argv(pid: int) -> t.List[str]:
    try:
        with open('%s/%d/cmdline' % (_PROC, pid), 'rb') as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode('utf-8', 'surrogateescape') for a in raw.split(b'\0') if a]


_BOOT_TIME = []  # type: t.List[float]


def _boot_time() -> t.Optional[float]:
    if not _BOOT_TIME:
        try:
            with open('%s/stat' % _PROC, 'rb') as f:
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


# ---------------------------------------------------------------- process groups

def group_members(pgid: int) -> t.Optional[t.List[Proc]]:
    """The alive (not zombie) processes of a process group; None when procfs is missing."""
    if not have_procfs():
        return None
    return [p for p in all_procs() if p.pgrp == pgid and not p.zombie]


def group_alive(pgid: t.Any) -> bool:
    """Whether a process of group pgid is alive: the one group check (the supervisor's and the killer's).

    killpg(0) answers "no process at all" cheaply; when some exist, procfs
    tells whether any is more than a zombie.
    """
    if not _valid_pid(pgid):
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's group: it exists
    members = group_members(pgid)
    return True if members is None else bool(members)


def descendants_outside_group(root: int, pgid: int) -> t.List[Proc]:
    """Alive descendants of process root that are not in process group pgid.

    Core's wrapper moves its module runner into a group of its own from the
    parent, after the fork: what the runner started before that stays behind
    in the wrapper's group, out of reach of a signal to the runner's group. A
    job's process may also start a child in a group of its own (setsid).
    """
    children = {}  # type: t.Dict[int, t.List[Proc]]
    for p in all_procs():
        children.setdefault(p.ppid, []).append(p)
    found, todo = [], [root]
    while todo:
        for p in children.get(todo.pop(), []):
            todo.append(p.pid)
            if p.pgrp != pgid and not p.zombie:
                found.append(p)
    return found


# ---------------------------------------------------------------- core's async_wrapper

def wrapper_prefix_at(argv: t.Sequence[str], i: int) -> t.Optional[str]:
    """argv[i] if it is a jid prefix followed by a time limit, as in core async_wrapper's argv, else None.

    Core runs ``<python> <wrapper> <jid prefix> <time limit> ...`` (2.17 to
    2.21 at least; the forked watcher and module runner keep that argv).
    Requiring the time limit after the prefix keeps ``tail -f
    j123456789.4242`` or an unrelated ``sleep 123456`` from passing for a job.
    """
    if 0 <= i < len(argv) - 1 and _record.is_jid_prefix(argv[i]) and _is_time_limit(argv[i + 1]):
        return argv[i]
    return None


def _is_time_limit(arg: str) -> bool:
    return bool(_TIME_LIMIT_RE.match(arg))


def _wrapper_prefixes(argv: t.Sequence[str]) -> t.Set[str]:
    return {argv[i] for i in range(len(argv) - 1) if wrapper_prefix_at(argv, i)}


def wrapper_jid_prefix(argv: t.Sequence[str]) -> t.Optional[str]:
    """The jid prefix when argv is core's async_wrapper itself (its script by name), else None."""
    for i, arg in enumerate(argv[:-2]):
        if 'async_wrapper' in os.path.basename(arg) and wrapper_prefix_at(argv, i + 1):
            return argv[i + 1]
    return None


def core_wrapper_prefixes() -> t.Optional[t.Set[str]]:
    """The jid prefixes of every running core async_wrapper, in one scan; None without procfs.

    The rule of core_job_pids, for a whole listing at once.
    """
    if not have_procfs():
        return None
    me = os.getpid()
    found = set()  # type: t.Set[str]
    for pid in all_pids():
        prefixes = _wrapper_prefixes(process_argv(pid)) if pid != me else set()
        if prefixes and owned_by_me(pid):
            found.update(prefixes)
    return found


def core_job_pids(jid: str) -> t.List[int]:
    """PIDs of core async_wrapper processes of jid (empty without procfs): argv holds its prefix and a time limit.

    Only processes of the effective user: another user's process with a matching argv is not our job.
    """
    prefix = _record.jid_prefix(jid)
    me = os.getpid()
    return [pid for pid in all_pids()
            if pid != me and prefix in _wrapper_prefixes(process_argv(pid)) and owned_by_me(pid)]


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
    prefix = _record.jid_prefix(jid)
    procs, limit = [], None
    for pid in core_job_pids(jid):
        p = read_proc(pid)
        if p is None:
            continue
        procs.append(p)
        if limit is None:
            argv = process_argv(pid)
            value = _argv_after(argv, prefix) or _argv_after(argv, jid)
            try:
                limit = float(value) if value is not None else None
            except ValueError:
                limit = None
    # the runner leads its own group; core's daemonizing wrapper leads its session (and a group)
    # until it exits; a fork of the runner that still has the wrapper's argv is in the runner's group
    runners = [p for p in procs if p.pgrp == p.pid and p.session != p.pid]
    runner = runners[0] if runners else None
    watchers = [p for p in procs if p is not runner and (runner is None or p.pgrp != runner.pid)]
    starts = [s for s in (start_epoch(p) for p in procs) if s is not None]
    return CoreProcs(runner, watchers, limit, min(starts) if starts else None)


# ---------------------------------------------------------------- owners

def process_uids(pid: int) -> t.Optional[t.Tuple[int, int]]:
    """(real, effective) uid of process pid from /proc/<pid>/status; None when it cannot be read."""
    try:
        with open('%s/%d/status' % (_PROC, pid), 'rb') as f:
            for line in f:
                if line.startswith(b'Uid:'):
                    fields = line.split()
                    return int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        pass
    return None


def owned_by_me(pid: int) -> t.Optional[bool]:
    """Whether process pid belongs to the effective user of this process; None when that cannot be read.

    Belongs: its real uid is our effective uid, as the kernel counts a
    process's owner when it decides who may signal it (a setuid program the
    job ran, as sudo, stays the job's; a process another user started never is).
    """
    uids = process_uids(pid)
    return None if uids is None else uids[0] == os.geteuid()


class SignalRefused(_record.JobError):
    """A signal this collection will not send: to a process (group) that is not the job's user's, or unverifiable."""


def _owner_name(pid: int) -> str:
    uids = process_uids(pid)
    if uids is not None:
        return _record.user_name(uids[0])
    try:
        return _record.user_name(os.stat('%s/%d' % (_PROC, pid)).st_uid)
    except OSError:
        return 'another user'


def _not_permitted(what: str, pid: int) -> SignalRefused:
    return SignalRefused('not permitted to signal %s %d (owned by %s); run the kill as the user that started '
                         'the job (become_user)' % (what, pid, _owner_name(pid)))


def check_signal_target(pid: int, what: str = 'process') -> None:
    """Raise SignalRefused unless process pid may be signalled as a job's: alive or not, owned by us.

    Without procfs the owner cannot be read: as root nothing is signalled on a
    guess; as another user the kernel refuses other users' processes itself.
    """
    if pid <= 1 or pid == os.getpid():
        raise SignalRefused('refusing to signal %s %d: it is never a job\'s' % (what, pid))
    owned = owned_by_me(pid)
    if owned is None:
        if have_procfs():
            return  # gone since it was checked: the signal finds no process
        if os.geteuid() == 0:
            raise SignalRefused('not signalling %s %d: without /proc its owner cannot be checked, and as root '
                                'a signal on a guess could hit any process' % (what, pid))
        return
    if not owned:
        raise SignalRefused('refusing to signal %s %d: it belongs to %s, not to %s, the user this task runs as; '
                            'a job record naming it was not written by this job'
                            % (what, pid, _owner_name(pid), _record.user_name(os.geteuid())))


def signal_verified(pid: t.Any, token: t.Any, sig: int) -> bool:
    """Signal pid only if it still is the process that had start token ``token`` and is ours.

    With pidfd (Linux 5.3+, Python 3.9+) the check and the signal refer to
    the same process even if the PID is reused in between. False when the
    process is gone (or is another one now); SignalRefused when it is another
    user's (check_signal_target).
    """
    if not _valid_pid(pid):
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
                if not pid_is(pid, token):
                    return False
                check_signal_target(pid)
                return _sent('process', pid, lambda: send(fd, sig))
            finally:
                os.close(fd)
    if not pid_is(pid, token):
        return False
    check_signal_target(pid)
    return _sent('process', pid, lambda: os.kill(pid, sig))


def signal_group(pgid: t.Any, sig: int, leader_start: t.Any = None) -> bool:
    """Signal a job's process group; False when it is gone, SignalRefused when it is not the job's user's.

    Never group 0 or 1, never this process's own group. While the leader (pid
    pgid) lives it must be ours and, when leader_start is given, the process
    with that start token; once it has exited every member left must be ours.
    """
    if not _valid_pid(pgid) or pgid <= 1:
        raise SignalRefused('refusing to signal process group %r: it is never a job\'s' % (pgid,))
    if pgid == os.getpgrp():
        raise SignalRefused('refusing to signal process group %d: it is the group of this task itself' % pgid)
    leader = process_start_time(pgid)
    if leader is not None:
        if leader_start is not None and START_TIME_UNKNOWN not in (leader, str(leader_start)) \
                and leader != str(leader_start):
            return False  # the PID is another process's now: not the job's group
        check_signal_target(pgid, 'process group')
    else:
        members = group_members(pgid)
        if members is None:
            check_signal_target(pgid, 'process group')  # no procfs: refused as root
        else:
            foreign = [p.pid for p in members if owned_by_me(p.pid) is False]
            if foreign:
                raise SignalRefused('refusing to signal process group %d: its leader has exited and process %d in '
                                    'it belongs to %s, not to %s'
                                    % (pgid, foreign[0], _owner_name(foreign[0]), _record.user_name(os.geteuid())))
    return _sent('process group', pgid, lambda: os.killpg(pgid, sig))


def _sent(what: str, ident: int, send: t.Callable[[], None]) -> bool:
    """Whether send() reached the process (group) what ident; SignalRefused when it is another user's."""
    try:
        send()
    except ProcessLookupError:
        return False
    except PermissionError:
        raise _not_permitted(what, ident) from None
    return True


def signal_own_group(pgid: t.Optional[int], leader: t.Optional[int], sig: int) -> None:
    """The supervisor's signal to its job: the group, and the leader while unreaped; errors ignored."""
    if pgid:
        try:
            os.killpg(pgid, sig)
        except OSError:
            pass
    if leader:  # the leader cannot leave its group, but it may be the only one left unreaped
        try:
            os.kill(leader, sig)
        except OSError:
            pass
