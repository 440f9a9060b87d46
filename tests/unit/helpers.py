# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What several unit test files need: running a module's main(), waiting for a process to end."""

from __future__ import annotations

import contextlib
import json
import os
import select
import time
import typing as t

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs

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
    while _jobs.process_start_time(pid) is not None:
        assert time.monotonic() < deadline, 'process %d still runs after %ss' % (pid, timeout)
        time.sleep(0.01)
