# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stand-ins for what ansible-core hands the async_log callback, and results in the shapes of the contract."""

from __future__ import annotations

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tasks import TaskInfo


def launch_task(name='Start job', uuid='uuid-launch', async_val=60, poll=0, **kwargs):
    return TaskInfo(name=name, uuid=uuid, action='ansible.builtin.command', async_val=async_val, poll=poll, **kwargs)


def status_task(name='Check job', uuid='uuid-status', action='ansible.builtin.async_status', **args):
    return TaskInfo(name=name, uuid=uuid, action=action, args=args)


def poll_task():
    """The synthetic task ansible-core creates for the polls of ``async: N, poll: M``."""
    return TaskInfo(name='async_status', uuid='uuid-synthetic', action='async_status', args={'jid': 'x'}, poll=15)


def running(jid, **extra):
    rec = {'ansible_job_id': jid, 'started': 1, 'finished': 0, 'results_file': '/home/u/.ansible_async/' + jid}
    rec.update(extra)
    return rec


def done(jid, failed=False, **extra):
    rec = {'ansible_job_id': jid, 'started': 1, 'finished': 1, 'rc': 1 if failed else 0, 'changed': True}
    if failed:
        rec['failed'] = True
        rec['msg'] = 'non-zero return code'
    rec.update(extra)
    return rec


class FakeDisplay(object):
    def __init__(self, verbosity=0):
        self.verbosity = verbosity
        self.lines = []
        self.warnings = []

    def display(self, msg, color=None, stderr=False, screen_only=False, log_only=False, newline=True, **kwargs):
        self.lines.append((msg, stderr))

    def warning(self, msg, formatted=False, **kwargs):
        self.warnings.append(msg)

    def vvvv(self, msg, host=None):
        pass

    def deprecated(self, *args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError('deprecated API used: %r' % (args,))

    @property
    def text(self):
        return '\n'.join(msg for msg, dummy in self.lines)


class FakeHost(object):
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class FakeTask(object):
    """Enough of ansible.playbook.task.Task for TaskInfo.from_task."""

    def __init__(self, name, uuid, action, args=None, async_val=0, poll=15, delegate_to=None, become=False,
                 become_user=None):
        self.name = name
        self._uuid = uuid
        self.action = action
        self.args = args or {}
        self.async_val = async_val
        self.poll = poll
        self.delegate_to = delegate_to
        self.become = become
        self.become_user = become_user

    def get_name(self):
        return self.name


class OldTaskResult(object):
    """Shape of ansible-core 2.17/2.18 TaskResult."""

    def __init__(self, host, task, result):
        self._host = host
        self._task = task
        self._result = result


class NewTaskResult(object):
    """Shape of ansible-core 2.19+ CallbackTaskResult (``task_fields`` is deprecated: never touch it)."""

    def __init__(self, host, task, result):
        self.__host = host
        self.__task = task
        self.__result = result

    @property
    def host(self):
        return self.__host

    @property
    def task(self):
        return self.__task

    @property
    def result(self):
        return self.__result

    @property
    def _result(self):
        return self.__result

    @property
    def task_fields(self):
        raise AssertionError('task_fields is deprecated and must not be used')


class Clock(object):
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now
