# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the async_log recap: the table, the unreaped warning, the cleanup tasks."""

from __future__ import annotations

import yaml

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._recap import RecapBuilder
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tracker import JobTracker
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import (
    Clock,
    done,
    launch_task,
    poll_task,
    running,
)


def _recap_tracker():
    tracker = JobTracker(clock=Clock())
    polled = launch_task(name='Polled', uuid='u1', poll=1)
    tracker.task_started('web1', polled, now=0.0)
    tracker.process('poll', 'web1', poll_task(), running('j1.1'), now=1.0)
    tracker.process('async_ok', 'web1', polled, done('j1.1'), now=2.0)
    fire = launch_task(name='Fire and forget', uuid='u2', become=True, become_user='app')
    tracker.task_started('web2', fire, now=3.0)
    tracker.process('ok', 'web2', fire, running('j2.2', results_file='/srv/jobs/j2.2'), now=3.5)
    return tracker


def test_recap_table():
    tracker = _recap_tracker()
    table = RecapBuilder().table(tracker.jobs(now=10.0))
    lines = table.splitlines()
    assert lines[0].split() == ['host', 'task', 'jid', 'state', 'duration', 'polls', 'collected']
    assert lines[1].split() == ['web1', 'Polled', 'j1.1', 'succeeded', '2.0s', '2', 'cleaned']
    assert lines[2].split() == ['web2', 'Fire', 'and', 'forget', 'j2.2', 'running', '7.0s', '0', 'NO']
    # columns are aligned
    assert lines[1].index('j1.1') == lines[0].index('jid') == lines[2].index('j2.2')


def test_unreaped_warning_and_cleanup_task():
    tracker = _recap_tracker()
    unreaped = tracker.unreaped()
    builder = RecapBuilder()
    warning = builder.warning_text(unreaped)
    assert 'j2.2 on web2' in warning and 'j1.1' not in warning
    snippet = builder.cleanup_tasks(unreaped)
    assert '# j2.2 may still be running on web2: stop it first with mode: kill,' in snippet
    assert 'mode: wait and cleanup: true' in snippet
    tasks = yaml.safe_load(snippet)
    assert tasks == [{
        'name': 'Clean up async job j2.2 of task "Fire and forget" on web2',
        'asyncops.jobs.async_status': {'jid': 'j2.2', 'mode': 'cleanup'},
        'delegate_to': 'web2',
        'become': True,
        'become_user': 'app',
        'vars': {'ansible_async_dir': '/srv/jobs'},
    }]


def test_cleanup_task_for_finished_job_has_no_kill_note():
    job = {'jid': '1234.5678', 'host': 'db1', 'task': 'x', 'may_be_running': False,
           'results_file': '/root/.ansible_async/1234.5678', 'delegate_to': 'bastion'}
    snippet = RecapBuilder().cleanup_task(job)
    assert '#' not in snippet
    parsed = yaml.safe_load(snippet)[0]
    # a jid that looks like a number stays a string
    assert parsed['asyncops.jobs.async_status'] == {'jid': '1234.5678', 'mode': 'cleanup'}
    assert parsed['delegate_to'] == 'bastion'
    assert 'vars' not in parsed
