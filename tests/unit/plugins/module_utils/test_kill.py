# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the kill protocol (plugins/module_utils/_kill.py), through async_status mode=kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from ansible_collections.asyncops.jobs.plugins.module_utils import _kill
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

from ansible_collections.asyncops.jobs.tests.unit.helpers import (
    FAKE_CORE, alive, linux_only, run_status, start_core, start_supervised, wait_for, write_job)


def wait_module_started(runner_pid, command):
    """Wait until the runner of a fake core job has exec'd its module.

    Between its fork and its exec the module is a copy of the runner: same
    argv, SIGTERM blocked while subprocess's vfork child sets up (CPython 3.10+).
    A kill in that window meets a process that looks like a watcher (see
    test_kill_core_job_while_its_runner_forks_the_module); this test is about
    a job that runs.
    """
    def started():
        return any(p.ppid == runner_pid and _proc.process_argv(p.pid)[:1] == [command] for p in _proc.all_procs())
    wait_for(started, 'the module of runner %d to run %s' % (runner_pid, command))


@linux_only
def test_kill_core_job(adir, procs):
    jid = start_core(adir, procs)
    core = _proc.core_procs(jid)
    wait_module_started(core.runner.pid, 'sleep')
    result = run_status(adir, jid=jid, mode='kill', kill_grace=5)
    assert result['changed'] is True and result['asyncops']['state'] == 'killed' and result['finished'] is True
    assert result['asyncops']['kill']['signal'] == 'SIGTERM' and result['asyncops']['kill']['recorded_by'] == _kill.KILLED_BY
    assert result['failed'] is False and result['asyncops']['job_failed'] is True
    assert not _proc.group_alive(core.runner.pid)
    record = _record.read_record(adir, jid)
    assert 'started' not in record and record['failed'] is True and record['asyncops']['state'] == 'killed'
    # the block has the one shape of a final block (_record.final_block), filled with what the killer saw
    ao = record['asyncops']
    assert {'state', 'ended_at', 'rc', 'signal', 'reason', 'resources'} <= set(ao)
    assert (ao['reason'], ao['signal'], ao['killed_by']) == ('killed', 'SIGTERM', _kill.KILLED_BY)
    assert ao['pid'] == ao['pgid'] == core.runner.pid and ao['time_limit'] == 60.0
    assert 'killed by' in record['msg']
    # the watcher was let go: it sees its module gone and exits without writing
    deadline = time.time() + 15
    while _proc.core_job_pids(jid) and time.time() < deadline:
        time.sleep(0.05)
    assert _proc.core_job_pids(jid) == []
    assert _record.read_record(adir, jid) == record
    later = run_status(adir, jid=jid)
    assert later['asyncops']['state'] == 'killed' and later['failed'] is True
    again = run_status(adir, jid=jid, mode='kill')
    assert again['changed'] is False and 'nothing to kill' in again['asyncops']['kill']['msg']
    assert again['msg'] == record['msg']  # the job's own msg, untouched


@linux_only
def test_kill_core_job_that_ignores_sigterm(adir, procs):
    jid = start_core(adir, procs, kind='trap')
    time.sleep(0.2)  # let sh install its trap: SIGTERM before that would end it at once
    begin = time.monotonic()
    result = run_status(adir, jid=jid, mode='kill', kill_grace=1)
    spent = time.monotonic() - begin
    assert result['asyncops']['kill']['signal'] == 'SIGKILL' and result['asyncops']['state'] == 'killed'
    assert spent >= 1.0
    assert 'SIGKILL after the 1s grace' in result['msg']
    # the option's name, kill_grace, also in what the kill returns (renamed from grace before 1.0)
    assert result['asyncops']['kill']['kill_grace'] == 1 and 'grace' not in result['asyncops']['kill']


@linux_only
def test_kill_check_mode_signals_nothing(adir, procs):
    jid = start_core(adir, procs)
    core = _proc.core_procs(jid)
    result = run_status(adir, jid=jid, mode='kill', kill_grace=2, check_mode=True)
    assert result['changed'] is True and result['asyncops']['state'] == 'running' and 'check mode' in result['asyncops']['kill']['msg']
    assert result['asyncops']['kill']['kill_grace'] == 2 and 'grace' not in result['asyncops']['kill']
    assert alive(core.runner.pid) and all(alive(w.pid) for w in core.watchers)
    assert _record.read_record(adir, jid)['finished'] is False


@linux_only
def test_kill_supervised_job(adir, procs):
    jid, = start_supervised(adir, procs, 'sleep', '60')
    record = _record.read_record(adir, jid)
    result = run_status(adir, jid=jid, mode='kill', kill_grace=5)
    assert result['asyncops']['state'] == 'killed' and result['asyncops']['kill']['supervisor_notified'] is True
    assert result['asyncops']['kill']['recorded_by'] == 'supervisor' and result['asyncops']['kill']['signal'] == 'SIGTERM'
    assert result['asyncops']['reason'] == 'killed from outside'
    assert not alive(record['asyncops']['pid'])


@linux_only
def test_kill_many_supervised_jobs_ignoring_sigterm_with_one_grace(adir, procs):
    jids = start_supervised(adir, procs, 'sh', '-c', "trap '' TERM; sleep 60", count=4)
    time.sleep(0.3)  # let sh install its trap
    begin = time.monotonic()
    result = run_status(adir, jids=jids, mode='kill', kill_grace=1)
    spent = time.monotonic() - begin
    assert result['summary']['killed'] == 4 and all(j['asyncops']['kill']['signal'] == 'SIGKILL' for j in result['jobs'])
    assert 1.0 <= spent < 1.0 + _kill.SIGKILL_WAIT + _kill.FINAL_RECORD_WAIT  # one grace, not four
    assert 'failed' not in result  # killing is what was asked


@linux_only
def test_kill_job_whose_supervisor_is_gone(adir, procs):
    jid, = start_supervised(adir, procs, 'sleep', '60')
    ao = _record.read_record(adir, jid)['asyncops']
    os.kill(ao['supervisor_pid'], signal.SIGKILL)
    deadline = time.time() + 10
    while alive(ao['supervisor_pid']) and time.time() < deadline:
        time.sleep(0.05)
    result = run_status(adir, jid=jid, mode='kill', kill_grace=5)
    assert result['asyncops']['state'] == 'killed' and result['asyncops']['kill']['recorded_by'] == _kill.KILLED_BY
    record = _record.read_record(adir, jid)
    assert record['finished'] is True and record['asyncops']['state'] == 'killed'
    assert record['asyncops']['pid'] == ao['pid'] and not alive(ao['pid'])
    killed = record['asyncops']
    assert (killed['reason'], killed['killed_by']) == ('killed', _kill.KILLED_BY)
    assert killed['supervisor_pid'] == ao['supervisor_pid']
    assert killed['started_at'] == ao['started_at'] and killed['ended_at'] >= ao['started_at']


def _kill_job_with_reused_pid(adir, procs, monkeypatch, supervisor_argv):
    """A running record whose supervisor lives and whose job PID now belongs to a stranger; kill it.

    Returns the kill's result, the supervisor and the stranger (both still to be ended by the caller).
    """
    supervisor = subprocess.Popen(supervisor_argv, start_new_session=True)
    stranger = subprocess.Popen(['sleep', '60'], start_new_session=True)
    time.sleep(0.2)
    procs.add(supervisor.pid, stranger.pid)
    write_job(adir, 'j1.2', {'started': True, 'finished': False, 'asyncops': {
        'state': 'running', 'pid': stranger.pid, 'pgid': stranger.pid, 'pid_start': 'not-its-token',
        'supervisor_pid': supervisor.pid, 'supervisor_start': _proc.process_start_time(supervisor.pid)}})
    monkeypatch.setattr(_kill, 'FINAL_RECORD_WAIT', 0.5)  # the fake supervisor never writes one
    return run_status(adir, jid='j1.2', mode='kill', kill_grace=0.2), supervisor, stranger


def _end(*popens):
    for p in popens:
        p.kill()
        p.wait()


@linux_only
def test_kill_never_signals_a_reused_pid(adir, procs, monkeypatch):
    """The supervisor lives; the job's PID now belongs to another process: that one is left alone."""
    result, supervisor, stranger = _kill_job_with_reused_pid(
        adir, procs, monkeypatch, [sys.executable, '-c', 'import signal, time\n'
                                   'signal.signal(signal.SIGUSR1, signal.SIG_IGN)\ntime.sleep(60)'])
    assert stranger.poll() is None  # still running: never signalled
    assert 'reused' in result['asyncops']['kill']['msg']
    assert result['asyncops']['kill']['signal'] is None
    _end(supervisor, stranger)


@linux_only
def test_kill_that_signals_no_process_never_tells_the_supervisor(adir, procs, monkeypatch):
    """SIGUSR1 makes a supervisor record 'killed': it is sent only when the job's group is signalled too."""
    # a sleep as the supervisor: SIGUSR1 would end it
    result, supervisor, stranger = _kill_job_with_reused_pid(adir, procs, monkeypatch, ['sleep', '60'])
    assert supervisor.poll() is None and stranger.poll() is None
    assert result['asyncops']['kill']['supervisor_notified'] is False
    _end(supervisor, stranger)


def test_kill_of_a_finished_job_is_a_no_op(adir):
    write_job(adir, 'j1.2', {'rc': 0})
    result = run_status(adir, jid='j1.2', mode='kill')
    assert result['changed'] is False and result['asyncops']['state'] == 'succeeded'
    assert 'nothing to kill' in result['asyncops']['kill']['msg'] and 'msg' not in result
    lost = write_job(adir, 'j3.4', {'started': True, 'finished': False})
    result = run_status(adir, jid='j3.4', mode='kill')
    assert result['changed'] is False and result['asyncops']['state'] == 'lost'
    assert json.load(open(lost)) == {'started': True, 'finished': False}


# The runner of the fake core job forks its module as subprocess.Popen does with vfork (CPython 3.10+):
# the child keeps the wrapper's argv and, like its parent, has SIGTERM blocked until it execs; the
# parent waits for that. Here the child "execs" once a SIGTERM is pending: it unblocks it and dies of
# it, as an exec'd default handler would; then the parent unblocks it and dies too.
_POPEN = """    p = subprocess.Popen(cmd)
    p.wait()
"""
_FORK = """    import signal
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    child = os.fork()
    if child == 0:
        with open(async_dir + '.forked.tmp', 'w') as f:
            f.write(str(os.getpid()))
        os.rename(async_dir + '.forked.tmp', async_dir + '.forked')
        while signal.SIGTERM not in signal.sigpending():
            time.sleep(0.01)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os._exit(0)
    os.waitpid(child, 0)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    p = subprocess.Popen(['true'])
    p.wait()
"""


def _start_fake_core(adir, procs, *replaced):
    """Start FAKE_CORE with (old, new) fragments replaced; its jid."""
    script = FAKE_CORE
    for old, new in replaced:
        assert old in script
        script = script.replace(old, new)
    prefix = 'j%d' % (int(time.time() * 1000) % 10 ** 11 + os.getpid())
    out = subprocess.run([sys.executable, '-c', script, prefix, '60', adir, 'sleep'],
                         stdout=subprocess.PIPE, check=True, timeout=30).stdout.decode().strip()
    jid = out.splitlines()[-1]
    core = _proc.core_procs(jid)
    procs.add(*[p.pid for p in core.watchers] + ([core.runner.pid] if core.runner else []))
    return jid


def _start_core_forking_its_module(adir, procs):
    """A core job caught while its runner forks the module: (jid, the fork's pid)."""
    jid = _start_fake_core(adir, procs, (_POPEN, _FORK))
    marker = adir + '.forked'
    wait_for(lambda: os.path.exists(marker), 'the runner to fork its module')
    with open(marker) as f:
        forked = int(f.read())
    procs.add(forked)
    return jid, forked


@linux_only
def test_the_fake_core_job_caught_while_its_runner_forks(adir, procs):
    """The fake the two tests below use: the fork looks like the runner and dies of a SIGTERM, as the real one."""
    jid, forked = _start_core_forking_its_module(adir, procs)
    runner = _proc.core_procs(jid).runner
    assert runner is not None and os.getpgid(forked) == runner.pid and _proc.parent_pid(forked) == runner.pid
    assert _proc.process_argv(forked) == _proc.process_argv(runner.pid)
    os.kill(forked, signal.SIGTERM)
    wait_for(lambda: not alive(forked), 'the fork to die of its SIGTERM')


@linux_only
def test_a_fork_of_the_runner_is_not_a_watcher(adir, procs):
    jid, forked = _start_core_forking_its_module(adir, procs)
    core = _proc.core_procs(jid)
    assert os.getpgid(forked) == core.runner.pid
    assert forked not in [w.pid for w in core.watchers]


@linux_only
def test_kill_core_job_while_its_runner_forks_the_module(adir, procs):
    jid, forked = _start_core_forking_its_module(adir, procs)
    result = run_status(adir, jid=jid, mode='kill', kill_grace=2)
    assert result['asyncops']['state'] == 'killed' and not alive(forked)
    assert result['asyncops']['kill']['signal'] == 'SIGTERM'


# Core's wrapper daemonizes: the process that called setsid() leaves with end() (sys.exit) while its
# child, the watcher, already forks the runner. Until it is gone it has the wrapper's argv and leads
# its group (and session), as the runner does.
_DAEMONIZE = """os.setsid()
if os.fork():
    os._exit(0)
"""
_DAEMONIZE_SLOWLY = """os.setsid()
if os.fork():
    for fd in (0, 1, 2):
        os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    time.sleep(30)
    os._exit(0)
"""


@linux_only
def test_kill_core_job_while_the_daemonizing_wrapper_has_not_exited(adir, procs):
    jid = _start_fake_core(adir, procs, (_DAEMONIZE, _DAEMONIZE_SLOWLY))
    pids = _proc.core_job_pids(jid)
    procs.add(*pids)  # the lingering session leader too: its group is ended at teardown

    def module():
        found = [p for p in _proc.all_procs() if p.ppid in pids and _proc.process_argv(p.pid)[:1] == ['sleep']]
        return found[0] if found else None

    sleep = wait_for(module, 'the module to run')
    procs.add(sleep.pid)
    result = run_status(adir, jid=jid, mode='kill', kill_grace=2)
    assert result['asyncops']['state'] == 'killed'
    assert result['asyncops']['kill']['pgid'] == sleep.pgrp == result['asyncops']['pgid']
    assert 'process_group' not in result['asyncops']['kill']
    assert not alive(sleep.pid)
