# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What several unit test files need: running a module's main(), processes and jobs to test with.

The pytest fixtures are in tests/unit/plugins/module_utils/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import stat
import subprocess
import sys
import textwrap
import time
import typing as t
from unittest.mock import MagicMock

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17, 2.18
    from unittest import mock

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        data = json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}).encode()
        with mock.patch.object(basic, '_ANSIBLE_ARGS', data):
            yield


def run_module(main: t.Callable[[], None], capsys, args: t.Mapping[str, t.Any]) -> t.Tuple[int, t.Dict[str, t.Any]]:
    """Run a module's main() with args; return (exit code, result)."""
    with patch_module_args(dict(args)):
        with pytest.raises(SystemExit) as e:
            main()
    out = capsys.readouterr().out
    return e.value.code, json.loads(out.strip().splitlines()[-1])


def record_module_environments(action: t.Any, module_result: t.Optional[t.Mapping[str, t.Any]] = None) -> t.List[t.Dict[str, t.Any]]:
    """Make action._execute_module a mock that records, per call, the module's environment as core computes it."""
    environments = []  # type: t.List[t.Dict[str, t.Any]]
    action._templar = MagicMock()
    action._templar.template.side_effect = lambda value: value

    def execute(**kwargs: t.Any) -> t.Dict[str, t.Any]:
        environment = {}  # type: t.Dict[str, t.Any]
        action._compute_environment_string(environment)
        environments.append(environment)
        return dict(module_result or {})
    action._execute_module = MagicMock(side_effect=execute)
    return environments


def wait_gone(pid: int, timeout: float = 20.0) -> None:
    """Wait until pid (not our child) has exited: on a pidfd when there is one."""
    if hasattr(os, 'pidfd_open'):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            ready, dummy, dummy2 = select.select([fd], [], [], timeout)
            assert ready, 'process %d still runs after %ss' % (pid, timeout)
        finally:
            os.close(fd)
        return
    deadline = time.monotonic() + timeout
    while _proc.process_start_time(pid) is not None:
        assert time.monotonic() < deadline, 'process %d still runs after %ss' % (pid, timeout)
        time.sleep(0.01)


linux_only = pytest.mark.skipif(not os.path.exists('/proc/self/stat'), reason='needs procfs')


def alive(pid: int) -> bool:
    return _proc.process_start_time(pid) is not None


def wait_for(condition, what, timeout=15.0):
    """Poll condition until it is true: for events in processes that are not our children."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.01)


def snapshot(root):
    """Every entry under root with its type, mode and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, 'rb') as f:
                    content = f.read()
            out[os.path.relpath(path, str(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), content)
    return out


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def write_file(path, data):
    with open(str(path), 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- processes (children: the fixture's list)

def spawn(children, *args):
    """A python process that waits on stdin, with args in its argv.

    Returns once the process says it runs: Popen returns as soon as exec has
    begun, when /proc/<pid>/cmdline may still be empty.
    """
    p = subprocess.Popen([sys.executable, '-c', 'import sys; print("up", flush=True); sys.stdin.read()'] + list(args),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    children.append(p)
    assert p.stdout.readline() == 'up\n'
    return p


def kill_and_reap(p):
    p.kill()
    p.wait()


def open_gate(path: str, data: bytes = b'go\n') -> None:
    """Write to a FIFO a job is blocked on."""
    with open(path, 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- jobs

WRAPPER_ARGV = ['/usr/bin/python3', '/home/u/.ansible/tmp/ansible-tmp-1/async_wrapper.py', 'j123456', '45', 'true',
                '/home/u/.ansible/tmp/ansible-tmp-1/AnsiballZ_download.py', '_']


FAKE_CORE = textwrap.dedent(r'''
    import json, os, subprocess, sys, time
    prefix, limit, async_dir, kind = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    jid = '%s.%d' % (prefix, os.getpid())
    path = os.path.join(async_dir, jid)

    def jwrite(obj):
        with open(path + '.tmp', 'w') as f:
            json.dump(obj, f)
        os.rename(path + '.tmp', path)

    r, w = os.pipe()
    if os.fork():
        os.close(w)
        os.read(r, 1)
        print(jid, flush=True)
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    for fd in (0, 1, 2):
        os.dup2(os.open(os.devnull, os.O_RDWR), fd)
    runner = os.fork()
    if runner == 0:
        os.setpgid(0, 0)
        jwrite({'started': True, 'finished': False, 'ansible_job_id': jid})
        os.write(w, b'x')
        cmd = {'sleep': ['sleep', '60'], 'trap': ['sh', '-c', "trap '' TERM; sleep 60"],
               'quick': ['sleep', '0.5']}[kind]
        p = subprocess.Popen(cmd)
        p.wait()
        jwrite({'rc': p.returncode, 'changed': True, 'ansible_job_id': jid, 'delta': '0:00:00.500000'})
        os._exit(0)
    try:
        os.setpgid(runner, runner)
    except OSError:
        pass
    while os.waitpid(runner, os.WNOHANG) == (0, 0):
        time.sleep(0.05)
    os._exit(0)
''')


FAKE_SUPERVISOR = os.path.join(os.path.dirname(__file__), '..', 'integration', 'targets', 'async_status', 'files',
                               'fake_supervisor.py')


def _pids_of_job(record):
    ao = record.get('asyncops') or {}
    return [p for p in (ao.get('pid'), ao.get('supervisor_pid')) if isinstance(p, int)]


def start_core(adir, procs, kind='sleep', limit=60):
    prefix = 'j%d' % (int(time.time() * 1000) % 10 ** 11 + os.getpid())
    out = subprocess.run([sys.executable, '-c', FAKE_CORE, prefix, str(limit), adir, kind],
                         stdout=subprocess.PIPE, check=True, timeout=30).stdout.decode().strip()
    jid = out.splitlines()[-1]
    core = _proc.core_procs(jid)
    procs.add(*([p.pid for p in core.watchers] + ([core.runner.pid] if core.runner else [])))
    return jid


def start_supervised(adir, procs, *cmd, **kw):
    if not os.path.exists(FAKE_SUPERVISOR):
        pytest.skip('fake supervisor of the integration target not found')
    args = [sys.executable, FAKE_SUPERVISOR, '--async-dir', adir, '--count', str(kw.get('count', 1))]
    out = subprocess.run(args + ['--'] + list(cmd), stdout=subprocess.PIPE, check=True, timeout=60).stdout
    jids = json.loads(out.decode())
    for jid in jids:
        procs.add(*_pids_of_job(_record.read_record(adir, jid)))
    return jids


def write_job(adir: str, jid: str, obj: t.Any, mtime: t.Optional[float] = None) -> str:
    """Write a record (a dict as JSON, a str as it is) by hand; returns its path."""
    path = os.path.join(adir, jid)
    with open(path, 'w') as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run_status(adir: str, **params: t.Any) -> t.Dict[str, t.Any]:
    """One call of asyncops.jobs.async_status's logic on adir (in the environment, as the action plugin passes it)."""
    return _status.run(params, check_mode=params.pop('check_mode', False), environ={'ANSIBLE_ASYNC_DIR': adir})


def populate_async_dir(adir: str, now: float) -> None:
    """Old and young jobs (one lost), garbage, a damaged record and a foreign file."""
    old = now - 10 * 86400
    write_job(adir, 'j1.1', {'rc': 0, 'delta': '0:00:01'}, mtime=old)
    write_job(adir, 'j1.2', {'rc': 1, 'failed': True}, mtime=now - 60)
    write_job(adir, 'j1.3', {'started': True, 'finished': False, 'ansible_job_id': 'j1.3'}, mtime=old)  # lost
    with open(os.path.join(adir, 'j1.1.out'), 'w') as f:
        f.write('12345')
    os.utime(os.path.join(adir, 'j1.1.out'), (old, old))
    for name, mtime in (('.j1.4.abc123.tmp', old), ('j1.5.tmp', now), ('j1.6.err', old)):
        open(os.path.join(adir, name), 'w').close()
        os.utime(os.path.join(adir, name), (mtime, mtime))
    write_job(adir, 'j1.7', 'corrupt', mtime=old)
    open(os.path.join(adir, 'README'), 'w').close()


def record_of(async_dir: str, result: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    return _record.read_record(async_dir, result['ansible_job_id'])
