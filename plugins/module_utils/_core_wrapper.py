# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The opt-out of the async_wrapper replacement: a module run the way ansible-core's own wrapper runs it.

Private to the collection; runs on the target (Python 3.8+). A task whose
environment sets ``ASYNCOPS_SUPERVISE=false`` gets core's behaviour, process
for process: a watcher that checks every 5 seconds and SIGKILLs the runner's
group past the time limit (writing ``Timeout exceeded``), a runner that
writes the running record, runs the module and writes its result, and no
``asyncops`` block. Only the writes are this collection's: atomic and 0600,
in an async dir checked as every other (``_async_dir``), and the task's tmp dir
is removed as the supervisor removes it (``_supervisor.remove_task_tmp``, never
through a link).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
import traceback
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _module_result
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor

if t.TYPE_CHECKING:
    from ansible_collections.asyncops.jobs.plugins.module_utils._async_wrapper import WrapperArgs

STEP = 5.0  # core's watcher looks this often
STARTED_WAIT = 2.5  # core's launcher waits at most this long for the runner to start


def launch(args: WrapperArgs, jid: str, async_dir: str, started: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """Fork the watcher and runner as core does; returns started (the start result) in the launcher."""
    _async_dir.ensure_async_dir(async_dir)
    ready_r, ready_w = os.pipe()
    if os.fork():
        os.close(ready_w)
        select.select([ready_r], [], [], STARTED_WAIT)
        os.close(ready_r)
        return started
    code = 0
    try:
        os.close(ready_r)
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        runner = os.fork()
        if runner == 0:
            _run_module(args, jid, async_dir, ready_w)
        else:
            os.close(ready_w)
            _watch(args, jid, async_dir, runner)
    except BaseException:  # pylint: disable=broad-except
        code = 1
    os._exit(code)


def _run_module(args: WrapperArgs, jid: str, async_dir: str, ready_w: int) -> None:
    os.setpgid(0, 0)
    true, false = (True, False) if args.booleans else (1, 0)
    _record.write_record(async_dir, jid, {'started': true, 'finished': false, 'ansible_job_id': jid})
    os.write(ready_w, b'1')
    os.close(ready_w)
    stdout = stderr = ''
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(args.module_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out, err = proc.communicate()
        stdout, stderr = out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
        result = _module_result.module_result(stdout, stderr)
    except OSError as e:
        result = {'failed': true, 'cmd': args.cmd, 'msg': str(e), 'outdata': stdout, 'stderr': stderr,
                  'ansible_job_id': jid}
    except Exception:  # pylint: disable=broad-except
        result = dict(_module_result.unparsable_result(args.cmd, stdout, stderr, traceback.format_exc()),
                      failed=true, ansible_job_id=jid)
    _record.write_record(async_dir, jid, result)
    os._exit(0)


def _watch(args: WrapperArgs, jid: str, async_dir: str, runner: int) -> None:
    try:
        os.setpgid(runner, runner)
    except OSError:
        pass  # the runner did it first
    remaining = float(args.time_limit)
    step = STEP if remaining == 0 or STEP < remaining else remaining / 2
    time.sleep(step)
    while os.waitpid(runner, os.WNOHANG) == (0, 0):
        remaining -= step
        if remaining <= 0:
            os.killpg(runner, signal.SIGKILL)
            time.sleep(1)
            _record.write_record(async_dir, jid, {'msg': 'Timeout exceeded', 'failed': True, 'child_pid': runner})
            break
        time.sleep(step)
    if not args.preserve_tmp:
        _supervisor.remove_task_tmp(os.path.dirname(args.module_path))
