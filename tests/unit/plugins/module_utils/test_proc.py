# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of process inspection (plugins/module_utils/_proc.py): start times, alive, groups, core's wrapper, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _kill
from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.tests.unit.helpers import kill_and_reap, linux_only, spawn, wait_for


def test_process_start_time(children):
    mine = _proc.process_start_time(os.getpid())
    assert mine is not None
    assert all(_proc.process_start_time(os.getpid()) == mine for dummy in range(20))
    # ansible-test forks a process per test: the child may start in this
    # process's clock tick. The parent started well before either.
    parent = _proc.process_start_time(os.getppid())
    child = spawn(children)
    other = _proc.process_start_time(child.pid)
    assert other is not None and parent is not None and other != parent
    assert _proc.process_start_time(child.pid) == other
    kill_and_reap(child)
    assert _proc.process_start_time(child.pid) is None
    for bad in (0, -1, True, False, None, '1', 1.0):
        assert _proc.process_start_time(bad) is None


def test_group_alive(children):
    """One meaning of alive: a group is alive while one of its members is alive; a zombie is not."""
    leader = subprocess.Popen([sys.executable, '-c', 'import subprocess, sys; print("up", flush=True); '
                               'p = subprocess.Popen(["sleep", "60"]); print(p.pid, flush=True); sys.stdin.read()'],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True,
                              start_new_session=True)
    children.append(leader)
    assert leader.stdout.readline() == 'up\n'
    member = int(leader.stdout.readline())
    assert _proc.group_alive(leader.pid)
    assert sorted(p.pid for p in _proc.group_members(leader.pid)) == sorted([leader.pid, member])
    leader.kill()
    os.waitid(os.P_PID, leader.pid, os.WEXITED | os.WNOWAIT)   # the leader is a zombie, its child lives on
    assert _proc.group_alive(leader.pid)
    assert [p.pid for p in _proc.group_members(leader.pid)] == [member]
    os.kill(member, signal.SIGKILL)
    wait_for(lambda: _proc.process_start_time(member) is None, 'the member to go')
    # only the zombie is left: killpg(0) still finds the group, but nothing of it runs
    assert _proc.read_proc(leader.pid).zombie
    assert not _proc.group_alive(leader.pid)
    leader.wait()
    assert not _proc.group_alive(leader.pid)
    for nothing in (0, None, -1, True, '5'):
        assert not _proc.group_alive(nothing)


def test_group_alive_without_procfs(children, monkeypatch, tmp_path):
    """Without procfs a zombie cannot be told apart: whatever killpg(0) finds counts."""
    monkeypatch.setattr(_proc, '_PROC', str(tmp_path / 'no-procfs'))
    assert _proc.group_members(os.getpgrp()) is None
    child = subprocess.Popen(['sleep', '60'], start_new_session=True)
    children.append(child)
    assert _proc.group_alive(child.pid)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert _proc.group_alive(child.pid)
    child.wait()
    assert not _proc.group_alive(child.pid)


def test_core_wrapper_prefixes(children, monkeypatch, tmp_path):
    spawn(children, 'j123456789', '3600', 'whatever')
    spawn(children, 'tail', 'j987654321.42')
    spawn(children, '123456', 'abc')
    found = _proc.core_wrapper_prefixes()
    assert 'j123456789' in found
    assert 'j987654321' not in found and '123456' not in found
    assert _proc.wrapper_prefix_at(['x', 'j1', '-5'], 1) == 'j1'
    assert _proc.wrapper_prefix_at(['x', 'j1', '-5'], 0) is None
    assert _proc.wrapper_prefix_at(['j1'], 0) is None
    monkeypatch.setattr(_proc, '_PROC', str(tmp_path / 'no-procfs'))
    assert _proc.core_wrapper_prefixes() is None


def test_pid_is(children):
    token = _proc.process_start_time(os.getpid())
    assert token and token != _proc.START_TIME_UNKNOWN
    assert _proc.pid_is(os.getpid(), token)
    assert _proc.pid_is(os.getpid(), None)           # no token recorded: the pid is enough
    assert _proc.pid_is(os.getpid(), _proc.START_TIME_UNKNOWN)   # recorded where it could not be read
    assert not _proc.pid_is(os.getpid(), token + '0')   # PID reused by another process
    assert not _proc.pid_is(os.getpid(), 'x')
    assert _proc.pid_is(os.getpid(), int(token))
    for bad in (None, '1', True, 1.5):
        assert not _proc.pid_is(bad, None)
    child = spawn(children)
    child_token = _proc.process_start_time(child.pid)
    assert child_token and _proc.pid_is(child.pid, child_token)
    kill_and_reap(child)
    assert not _proc.pid_is(child.pid, child_token)
    assert not _proc.pid_is(child.pid, None)


def test_zombie_is_not_alive(children):
    child = spawn(children)
    token = _proc.process_start_time(child.pid)
    assert _proc.pid_is(child.pid, token)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)   # exited, not reaped: a zombie
    assert _proc.process_start_time(child.pid) is None
    assert not _proc.pid_is(child.pid, token)
    assert not _liveness.job_processes_alive(_record.running_record('j1.2', {'pid': child.pid}), 'j1.2')
    child.wait()


def test_core_job_pids(children, adir):
    """A core job's processes carry '<jid prefix> <time limit>' in their argv."""
    jid = 'j%d.4242' % (int(time.time() * 1000000) % 10 ** 12)
    prefix = _record.jid_prefix(jid)
    _record.write_record(adir, jid, _record.running_record(jid))
    assert _proc.core_job_pids(jid) == []
    assert _record.record_state(_liveness.read_live_record(adir, jid)) == 'lost'
    # look-alikes that are not the job
    spawn(children, jid)                                 # e.g. tail -f <jid>
    spawn(children, prefix)                              # the prefix, no time limit after it
    spawn(children, prefix, 'x', '60')
    spawn(children, prefix + '0', '60')
    spawn(children, 'a' + prefix, '60')
    assert _proc.core_job_pids(jid) == []
    wrapper = spawn(children, '/tmp/AnsiballZ_async_wrapper.py', prefix, '3600', 'true', '/tmp/AnsiballZ_x.py')
    assert prefix in _proc.process_argv(wrapper.pid)
    assert _proc.core_job_pids(jid) == [wrapper.pid]
    assert _liveness.read_live_record(adir, jid) == _record.running_record(jid)
    kill_and_reap(wrapper)
    assert _proc.core_job_pids(jid) == []
    lost = _liveness.read_live_record(adir, jid)
    assert lost['msg'] == _record.LOST_MSG.format(jid=jid)
    assert _record.record_state(lost) == 'lost'


def test_core_job_pids_old_jid(children):
    """Older cores: '<digits>.<pid>'; 'sleep 123456' is not the job, 'wrapper 123456 60' is."""
    prefix = '%d' % (int(time.time() * 1000000) % 10 ** 12)
    jid = prefix + '.4242'
    spawn(children, prefix)
    assert _proc.core_job_pids(jid) == []
    wrapper = spawn(children, 'wrapper', prefix, '60', 'module', 'args')
    assert _proc.core_job_pids(jid) == [wrapper.pid]


@linux_only
def test_signal_verified_checks_the_start_token(procs):
    p = subprocess.Popen(['sleep', '60'])
    procs.add(p.pid)
    assert _proc.signal_verified(p.pid, 'wrong', signal.SIGTERM) is False
    assert p.poll() is None
    assert _proc.signal_verified(p.pid, _proc.process_start_time(p.pid), signal.SIGTERM) is True
    assert p.wait(10) == -signal.SIGTERM
    assert _proc.signal_verified(p.pid, None, signal.SIGTERM) is False  # reaped: gone


RACE = textwrap.dedent(r"""
    import os, sys, time
    r, w = os.pipe()
    runner = os.fork()
    if runner == 0:
        child = os.fork()
        if child == 0:
            os.execvp('sleep', ['sleep', '300'])   # started before the runner left the group
        os.setpgid(0, 0)                           # the runner moves into a group of its own
        os.write(w, b'%d %d\n' % (os.getpid(), child))
        time.sleep(300)
    print(os.read(r, 100).decode().strip(), flush=True)
    time.sleep(300)
""")


@linux_only
def test_descendants_left_in_the_old_group_are_found():
    """Core's wrapper moves its runner into a new group after the fork: earlier children stay behind."""
    p = subprocess.Popen([sys.executable, '-c', RACE], stdout=subprocess.PIPE, universal_newlines=True,
                         start_new_session=True)
    runner = None
    try:
        runner, child = map(int, p.stdout.readline().split())
        root = _proc.read_proc(runner)
        assert root.pgrp == runner
        strays = _proc.descendants_outside_group(root.pid, root.pgrp)
        assert [s.pid for s in strays] == [child]
        assert strays[0].pgrp == p.pid
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        if runner:
            os.killpg(runner, signal.SIGKILL)
        p.wait()


def test_start_token_matches_jobs_library():
    assert _proc.start_token(os.getpid()) == _proc.process_start_time(os.getpid())
    assert _proc.start_token(None) is None


WRAPPER_ARGV = ['/usr/bin/python3', '/home/u/.ansible/tmp/ansible-tmp-1/async_wrapper.py', 'j123456', '45', 'true',
                '/home/u/.ansible/tmp/ansible-tmp-1/AnsiballZ_download.py', '_']


def test_wrapper_jid_prefix():
    assert _proc.wrapper_jid_prefix(WRAPPER_ARGV) == 'j123456'
    old_core = ['python', '/tmp/async_wrapper', '98765', '10', '/tmp/mod', '/tmp/args']
    assert _proc.wrapper_jid_prefix(old_core) == '98765'
    assert _proc.wrapper_jid_prefix(['python', '/tmp/AnsiballZ_ping.py']) is None
    assert _proc.wrapper_jid_prefix(['python', '/tmp/async_wrapper.py', 'j1']) is None
    assert _proc.wrapper_jid_prefix(['tail', '-f', 'j123456.777']) is None
    assert _proc.wrapper_jid_prefix(['python', '/x/async_wrapper.py', '../etc', '45', 'x']) is None


# ---------------------------------------------------------------- trust (issue 11): whose processes are signalled

def _as_nobody(children, *argv):
    """A process of the user nobody (uid 65534) in a session of its own; root only."""
    if os.geteuid() != 0:
        pytest.skip('starting a process as another user needs root')

    def drop():
        os.setgid(65534)
        os.setuid(65534)
    p = subprocess.Popen(list(argv), preexec_fn=drop, start_new_session=True)  # pylint: disable=subprocess-popen-preexec-fn
    p.kill = lambda: os.killpg(p.pid, signal.SIGKILL)   # the whole session's group, at teardown
    children.append(p)
    wait_for(lambda: _proc.process_uids(p.pid) == (65534, 65534), 'the process to run as nobody')
    return p


@linux_only
def test_process_uids_and_owner(children):
    me = os.geteuid()
    assert _proc.process_uids(os.getpid())[1] == me
    assert _proc.owned_by_me(os.getpid()) is (os.getuid() == me)
    p = spawn(children)
    assert _proc.owned_by_me(p.pid) is True
    kill_and_reap(p)
    assert _proc.process_uids(p.pid) is None and _proc.owned_by_me(p.pid) is None


@linux_only
def test_a_process_of_another_user_is_never_signalled(children):
    p = _as_nobody(children, 'sleep', '60')
    token = _proc.process_start_time(p.pid)
    with pytest.raises(_proc.SignalRefused) as exc:
        _proc.signal_verified(p.pid, token, signal.SIGTERM)
    msg = exc.value.msg
    assert msg.startswith('refusing to signal process %d: it belongs to ' % p.pid) and 'uid 65534' in msg
    with pytest.raises(_proc.SignalRefused) as exc:
        _proc.signal_group(p.pid, signal.SIGTERM, token)
    assert exc.value.msg.startswith('refusing to signal process group %d: it belongs to ' % p.pid)
    assert p.poll() is None and _proc.pid_is(p.pid, token)


@linux_only
def test_a_foreign_group_whose_leader_exited_is_never_signalled(children):
    leader = _as_nobody(children, 'sh', '-c', 'sleep 60 & echo $!; exec sleep 0.2')
    wait_for(lambda: leader.poll() is not None, 'the leader to exit')
    members = _proc.group_members(leader.pid)
    assert members, 'the background sleep stayed in the group'
    with pytest.raises(_proc.SignalRefused) as exc:
        _proc.signal_group(leader.pid, signal.SIGKILL)
    assert 'its leader has exited and process %d in it belongs to ' % members[0].pid in exc.value.msg
    assert _proc.group_alive(leader.pid)
    os.killpg(leader.pid, signal.SIGKILL)   # the test's own cleanup, as root


def test_never_group_0_1_or_our_own():
    for pgid in (0, 1, -1, True, None):
        with pytest.raises(_proc.SignalRefused):
            _proc.signal_group(pgid, 0)
    with pytest.raises(_proc.SignalRefused) as exc:
        _proc.signal_group(os.getpgrp(), 0)
    assert 'the group of this task itself' in exc.value.msg
    with pytest.raises(_proc.SignalRefused):
        _proc.check_signal_target(1)
    with pytest.raises(_proc.SignalRefused):
        _proc.check_signal_target(os.getpid())


@linux_only
def test_without_procfs_root_signals_nothing_on_a_guess(children, monkeypatch):
    p = spawn(children)
    monkeypatch.setattr(_proc, 'process_uids', lambda pid: None)
    monkeypatch.setattr(_proc, 'have_procfs', lambda: False)
    monkeypatch.setattr(_proc.os, 'geteuid', lambda: 0)
    with pytest.raises(_proc.SignalRefused) as exc:
        _proc.check_signal_target(p.pid)
    assert 'without /proc its owner cannot be checked' in exc.value.msg
    monkeypatch.setattr(_proc.os, 'geteuid', lambda: 1000)
    _proc.check_signal_target(p.pid)   # not root: the kernel refuses other users' processes itself
    assert p.poll() is None


@linux_only
def test_a_record_naming_another_users_process_kills_nothing(adir, children):
    """Second line of defence: a record of ours (it passed the owner check) naming a process of nobody."""
    p = _as_nobody(children, 'sleep', '60')
    token = _proc.process_start_time(p.pid)
    jid = 'j1.%d' % p.pid
    block = {'state': 'running', 'pid': p.pid, 'pid_start': token, 'pgid': p.pid, 'supervisor_pid': p.pid,
             'supervisor_start': token, 'started_at': time.time()}
    _record.write_record(adir, jid, _record.running_record(jid, block))
    with pytest.raises(_proc.SignalRefused) as exc:
        _kill.kill_jobs([(adir, jid)], 0.5)
    assert 'belongs to ' in exc.value.msg and 'uid 65534' in exc.value.msg
    assert p.poll() is None and _proc.pid_is(p.pid, token)
    assert _record.record_state(_record.read_record(adir, jid)) == _record.RUNNING


@linux_only
def test_core_processes_of_another_user_are_not_our_job(children):
    prefix = 'j%d' % (int(time.time()) % 10 ** 9)
    p = _as_nobody(children, 'sh', '-c', 'sleep 60; :', 'async_wrapper.py', prefix, '60')
    wait_for(lambda: prefix in ' '.join(_proc.process_argv(p.pid)), 'the argv to show')
    assert _proc.wrapper_jid_prefix(_proc.process_argv(p.pid)) == prefix
    assert _proc.core_job_pids(prefix + '.1') == []
    assert prefix not in (_proc.core_wrapper_prefixes() or set())
