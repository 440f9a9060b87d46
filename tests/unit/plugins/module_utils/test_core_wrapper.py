# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the opt-out of the async_wrapper replacement (plugins/module_utils/_core_wrapper.py).

With ASYNCOPS_SUPERVISE=false in the task's environment the module runs as
ansible-core's own wrapper runs it. Its launcher forks and leaves a watcher
and a runner behind, so the wrapper script runs in a subprocess here, as core
runs it. The watcher and the runner keep the wrapper's argv: the tests find
them as this collection finds a core job's processes (_proc.core_procs).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_wrapper as W
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _wait
from ansible_collections.asyncops.jobs.tests.unit.helpers import alive, linux_only, open_gate, run_status, wait_for, wait_gone
from ansible_collections.asyncops.jobs.tests.unit.plugins.module_utils.async_wrapper_fakes import (
    COLLECTIONS_ROOT, WRAPPER_SCRIPT, Task)

pytestmark = linux_only  # the watcher and runner are found through /proc


@pytest.fixture
def task(tmp_path):
    return Task(tmp_path)


def run_wrapper(argv, async_dir, **knobs):
    """The wrapper script as core runs it, opted out; its start result (exit code 0 asserted)."""
    env = dict(os.environ, ANSIBLE_ASYNC_DIR=async_dir, PYTHONPATH=COLLECTIONS_ROOT, ASYNCOPS_SUPERVISE='false')
    env.update(knobs)
    for name in (_record.PROGRESS_ENV, _record.JID_ENV):
        env.pop(name, None)
    done = subprocess.run([sys.executable, WRAPPER_SCRIPT] + list(argv[1:]), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == b'', done
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def job_procs(jid, procs):
    """The watcher and runner of a core-style job, once the runner leads its own group; tracked for teardown."""
    def found():
        core = _proc.core_procs(jid)
        return core if core.runner is not None and core.watchers else None

    core = wait_for(found, 'the runner and the watcher of %s' % jid)
    procs.add(core.runner.pid, *[w.pid for w in core.watchers])
    return core


def final_record(async_dir, jid):
    records, dummy = _wait.wait_for_jobs([(async_dir, jid)], wait_timeout=60)
    assert _record.is_finished(records[jid]), records[jid]
    return records[jid]


def test_a_module_runs_as_core_runs_it(async_dir, task, procs):
    printed = {'changed': True, 'msg': 'hi', 'warnings': 'one'}
    task.configure(gate=task.gate, result=printed)
    started = run_wrapper(task.argv_new(limit=4), async_dir)
    jid = started['ansible_job_id']
    # core's start result, nothing of this collection's
    assert started == {'failed': False, 'started': True, 'finished': False, 'ansible_job_id': jid,
                       'results_file': os.path.join(async_dir, jid), '_ansible_suppress_tmpdir_delete': True}
    assert jid.startswith(task.prefix + '.')
    core = job_procs(jid, procs)
    assert os.getpgid(int(task.note('pid'))) == core.runner.pid
    # the running record is core's, without an asyncops block, private
    assert _record.read_record(async_dir, jid) == {'started': True, 'finished': False, 'ansible_job_id': jid}
    assert stat.S_IMODE(os.stat(os.path.join(async_dir, jid)).st_mode) == 0o600
    status = run_status(async_dir, jid=jid)
    assert status['asyncops']['state'] == 'running' and status['finished'] is False
    open_gate(task.gate)
    assert final_record(async_dir, jid) == printed  # the module's result verbatim, as core writes it
    for w in core.watchers:
        wait_gone(w.pid)
    assert not os.path.exists(task.tmpdir)
    assert os.listdir(async_dir) == [jid]


def test_the_time_limit_as_core_enforces_it(async_dir, task, procs):
    """Limit 1: the watcher looks after 0.5 s and 1 s, SIGKILLs the runner's group, pauses 1 s, writes core's record."""
    task.configure(sleep=60)
    started = run_wrapper(task.argv_new(limit=1), async_dir)
    jid = started['ansible_job_id']
    core = job_procs(jid, procs)
    module = int(task.note('pid'))
    record = final_record(async_dir, jid)
    assert record == {'msg': 'Timeout exceeded', 'failed': True, 'child_pid': core.runner.pid}
    assert _record.record_state(record) == 'timeout'
    written = os.stat(os.path.join(async_dir, jid)).st_mtime
    assert 1.9 <= written - core.started_at < 3.0  # not 5 s steps: half the limit
    assert not alive(module) and not alive(core.runner.pid)
    for w in core.watchers:
        wait_gone(w.pid)
    assert not os.path.exists(task.tmpdir)


def test_core_2_17_shape_and_a_module_that_prints_no_json(async_dir, task, procs):
    task.configure(gate=task.gate, before='not json\n', stderr='boom')
    started = run_wrapper(task.argv_old(limit=30), async_dir)
    jid = started['ansible_job_id']
    assert (started['failed'], started['started'], started['finished']) == (0, 1, 0)
    assert not isinstance(started['started'], bool) and 'asyncops' not in started
    job_procs(jid, procs)
    running = _record.read_record(async_dir, jid)
    assert running == {'started': 1, 'finished': 0, 'ansible_job_id': jid} and not isinstance(running['started'], bool)
    open_gate(task.gate)
    record = final_record(async_dir, jid)
    assert set(record) == {'failed', 'cmd', 'data', 'stderr', 'msg', 'ansible_job_id'}
    assert record['failed'] == 1 and not isinstance(record['failed'], bool)
    assert record['cmd'] == '%s %s' % (task.module, task.args_file)
    assert (record['data'], record['stderr'], record['ansible_job_id']) == ('not json\n', 'boom', jid)
    assert 'No start of json char found' in record['msg']


def test_a_module_that_cannot_be_started(async_dir, task, procs):
    """Core's OSError result: outdata, not data."""
    os.unlink(task.module)
    started = run_wrapper(task.argv_old(args_file=False, preserve=True), async_dir)
    jid = started['ansible_job_id']
    record = final_record(async_dir, jid)
    assert set(record) == {'failed', 'cmd', 'msg', 'outdata', 'stderr', 'ansible_job_id'}
    assert record['failed'] == 1 and record['cmd'] == task.module and 'No such file or directory' in record['msg']
    assert (record['outdata'], record['stderr'], record['ansible_job_id']) == ('', '', jid)


def test_an_untrusted_async_dir_is_refused_before_any_fork(tmp_path, task):
    real = tmp_path / 'elsewhere'
    real.mkdir(mode=0o700)
    link = tmp_path / 'link'
    link.symlink_to(real)
    result, code = W.run(task.argv_new(), {'ANSIBLE_ASYNC_DIR': str(link), W.SUPERVISE_ENV: 'false'})
    assert code == 1 and result['failed'] is True and 'symbolic link' in result['msg']
    assert os.listdir(str(real)) == []
