# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the module_utils unit tests."""

from __future__ import annotations

import os
import signal

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record


@pytest.fixture
def adir(tmp_path):
    """An async dir inside tmp_path (tests put canaries beside it in tmp_path)."""
    d = tmp_path / 'async'
    d.mkdir(mode=0o700)
    return str(d)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def children():
    """Processes started by a test (Popen); killed and reaped at teardown."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.communicate()   # reaps, closes the pipes


class _Tracked(list):
    """(pid, start token) of the processes a test started."""

    def add(self, *pids):
        for pid in pids:
            token = _proc.process_start_time(pid)
            if token is not None:
                self.append((pid, token))


@pytest.fixture
def procs():
    """Processes started by a test, ended at teardown by pid (and their process group) if still the same."""
    tracked = _Tracked()
    yield tracked
    for pid, token in tracked:
        if _proc.process_start_time(pid) != token:
            continue
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def async_dir(tmp_path):
    path = str(tmp_path / 'async')
    yield path
    # kill whatever a failed test left running
    for entry in _record.list_jobs(path)[0] if os.path.isdir(path) else []:
        try:
            ao = _record.read_record(path, entry.jid).get('asyncops') or {}
        except _record.JobError:
            continue
        for pid in (ao.get('supervisor_pid'), ao.get('pid')):
            if pid and _proc.process_start_time(pid) is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if ao.get('pgid'):
            try:
                os.killpg(ao['pgid'], signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def fifo(tmp_path):
    path = str(tmp_path / 'gate')
    os.mkfifo(path)
    return path
