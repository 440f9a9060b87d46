# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the async_log callback reads of a result: the two shapes of callback results, the task, and the
result contract (the collection's keys live under ``asyncops``; a job's own keys are never ours)."""

from __future__ import annotations

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log import _results
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tasks import TaskInfo
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import (
    FakeHost,
    FakeTask,
    NewTaskResult,
    OldTaskResult,
)


# ---------------------------------------------------------------------------
# accessor and task info
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('cls', [OldTaskResult, NewTaskResult])
def test_accessor_both_result_shapes(cls):
    task = FakeTask('t', 'u1', 'command')
    res = {'ansible_job_id': 'j1.2'}
    host, got_task, got = _results.accessor(cls(FakeHost('web1'), task, res))
    assert host == 'web1'
    assert got_task is task
    assert got is res


def test_accessor_real_core_class():
    """The class ansible-core passes to callbacks on the running core."""
    from ansible.executor import task_result
    cls = getattr(task_result, 'CallbackTaskResult', None)
    if cls is None:  # 2.17/2.18
        obj = task_result.TaskResult(FakeHost('h'), FakeTask('t', 'u', 'command'), {'ansible_job_id': 'j1.1'})
        host, dummy, res = _results.accessor(obj)
        assert host == 'h'
        assert res['ansible_job_id'] == 'j1.1'
    else:
        # 2.19+: the accessor relies on the documented public properties
        for name in ('host', 'task', 'result'):
            assert isinstance(getattr(cls, name), (property,)) or hasattr(cls, name)


def test_task_info_from_task_keeps_literal_values_only():
    task = FakeTask('Wait', 'u9', 'asyncops.jobs.async_status',
                    args={'jid': '{{ job.ansible_job_id }}', 'mode': 'wait', 'cleanup': True, '_ansible_x': 1},
                    delegate_to='{{ inventory_hostname }}', become=True, become_user='app')
    info = TaskInfo.from_task(task)
    assert info.name == 'Wait'
    assert info.uuid == 'u9'
    assert info.is_status and info.is_asyncops_status
    assert info.args == {'jid': '{{ job.ansible_job_id }}', 'mode': 'wait', 'cleanup': True}
    assert info.delegate_to is None  # a template is no host name
    assert info.become is True and info.become_user == 'app'


@pytest.mark.parametrize('value, expected', [
    (True, True), (False, False), (1, True), (0, False), ('1', True), ('0', False), ('true', True),
    ('False', False), (None, False),
])
def test_as_bool(value, expected):
    assert _results.as_bool(value) is expected


# ---------------------------------------------------------------------------
# the result contract, as data
# ---------------------------------------------------------------------------

# A finished ansible.builtin.file job (state=directory), as each status module returns it.
FILE_JOB = {'changed': True, 'path': '/srv/app', 'state': 'directory', 'mode': '0755', 'owner': 'root',
            'uid': 0, 'gid': 0, 'group': 'root', 'size': 4096, 'diff': {'before': {}, 'after': {}}}
BUILTIN_STATUS = dict(FILE_JOB, ansible_job_id='j1.1', started=1, finished=1, results_file='/r/.ansible_async/j1.1',
                      stdout='', stderr='')
ASYNCOPS_STATUS = dict(BUILTIN_STATUS, asyncops={'state': 'succeeded', 'elapsed': 0.42, 'time_limit': 60,
                                                 'time_left': None, 'progress': None})

# What other modules return at their top level, under the names the collection uses under ``asyncops``.
OWN_KEYS = [
    {'state': 'directory'},                                             # file
    {'state': 'started', 'status': {}},                                 # service
    {'state': 'file', 'elapsed': 3, 'dest': '/tmp/x'},                  # get_url (and download's own keys)
    {'elapsed': 12, 'match_groups': []},                                # wait_for
    {'state': 'killed'}, {'state': 'lost'}, {'state': 'timeout'},       # a job's own words that look like ours
    {'state': 'running'}, {'state': 'failed'},
    {'progress': {'percent': 12.0, 'current': 1, 'total': 8}},         # a module's own progress key
    {'progress': 'all done'},
]


@pytest.mark.parametrize('own', OWN_KEYS, ids=lambda own: ','.join('%s=%s' % kv for kv in sorted(own.items())))
@pytest.mark.parametrize('module', ['builtin', 'asyncops'])
def test_a_jobs_own_keys_are_never_ours(own, module):
    result = dict(BUILTIN_STATUS, **own)
    if module == 'asyncops':
        result['asyncops'] = {'state': 'succeeded', 'elapsed': 0.42}
    report = _results.JobReport.read(result)
    assert report.state == _record.SUCCEEDED
    assert report.elapsed == (0.42 if module == 'asyncops' else None)
    assert report.progress is None


@pytest.mark.parametrize('result, expected', [
    (BUILTIN_STATUS, {'jid': 'j1.1', 'state': 'succeeded', 'finished': True, 'failed': False, 'elapsed': None,
                      'started_at': None, 'ended_at': None, 'progress': None, 'results_file': '/r/.ansible_async/j1.1'}),
    (ASYNCOPS_STATUS, {'jid': 'j1.1', 'state': 'succeeded', 'finished': True, 'elapsed': 0.42, 'progress': None}),
    # a core running record with progress folded in by the progress helper, polled by the controller
    ({'ansible_job_id': 'j2.2', 'started': 1, 'finished': 0, 'results_file': '/r/j2.2',
      'asyncops': {'progress': {'percent': 40.0, 'current': 2, 'total': 5, 'unit': 'steps', 'updated_at': 9.5}}},
     {'state': 'running', 'finished': False,
      'progress': {'percent': 40.0, 'current': 2, 'total': 5, 'unit': 'steps', 'updated_at': 9.5}}),
    # the launch result of asyncops.jobs.run
    ({'changed': True, 'started': True, 'finished': False, 'ansible_job_id': 'j3.3', 'results_file': '/r/j3.3',
      'asyncops': {'state': 'running', 'started_at': 100.5, 'pid': 42, 'supervisor_pid': 41, 'cmd': ['sleep', '9']}},
     {'state': 'running', 'started_at': 100.5, 'ended_at': None}),
    # a supervised job's final record: its start and end win over any clock
    (dict(FILE_JOB, ansible_job_id='j4.4', started=True, finished=True,
          asyncops={'state': 'succeeded', 'started_at': 10.0, 'ended_at': 12.5, 'rc': 0}),
     {'state': 'succeeded', 'started_at': 10.0, 'ended_at': 12.5}),
    # a lost job, with failed_when: false on the status task
    ({'ansible_job_id': 'j5.5', 'started': True, 'finished': True, 'failed': False, 'msg': 'job j5.5 is lost',
      'asyncops': {'state': 'lost', 'elapsed': 7.0}},
     {'state': 'lost', 'failed': False, 'msg': 'job j5.5 is lost', 'elapsed': 7.0}),
    # a killed job (mode: kill): the kill's own report lives under asyncops too
    ({'ansible_job_id': 'j6.6', 'started': True, 'finished': True, 'rc': -15, 'failed': False,
      'asyncops': {'state': 'killed', 'kill': {'signal': 'SIGTERM', 'kill_grace': 1}}},
     {'state': 'killed', 'failed': False}),
    # core's watcher killed the job on its time limit
    ({'ansible_job_id': 'j7.7', 'started': 1, 'finished': 1, 'failed': 1, 'msg': 'Timeout exceeded',
      'child_pid': 4242}, {'state': 'timeout', 'failed': True}),
    # a job whose own result says "Timeout exceeded" (uri, wait_for) did not time out
    ({'ansible_job_id': 'j7.8', 'started': 1, 'finished': 1, 'failed': True, 'msg': 'Timeout exceeded'},
     {'state': 'failed'}),
    # 0/1 and strings, as results may carry them
    ({'ansible_job_id': 'j8.8', 'started': '1', 'finished': '0'}, {'state': 'running', 'finished': False}),
    ({'ansible_job_id': 'j8.9', 'started': 'true', 'finished': 'false', 'failed': 'false'}, {'state': 'running'}),
    # results that are no record: no job state
    ({'failed': True, 'msg': 'boom'}, {'state': None, 'jid': None, 'msg': 'boom'}),
    ({'ansible_job_id': 'j9.9', 'started': 0, 'finished': 0, 'erased': '/r/j9.9'}, {'state': None}),
    # the delegated host ansible-core records
    (dict(BUILTIN_STATUS, _ansible_delegated_vars={'ansible_delegated_host': 'db1', 'ansible_host': '10.0.0.1'}),
     {'delegated_host': 'db1'}),
])
def test_job_report(result, expected):
    got = _results.JobReport.read(result).as_dict()
    assert dict((key, got[key]) for key in expected) == expected


def test_record_input_is_what_the_record_owner_reads():
    """The callback maps a result to a state only through _record.record_state."""
    result = {'ansible_job_id': 'j1.1', 'started': '1', 'finished': 1, 'failed': 'no', 'rc': 0}
    record = _results.record_input(result)
    assert record == {'ansible_job_id': 'j1.1', 'started': True, 'finished': True, 'failed': False, 'rc': 0}
    assert _record.record_state(record) == _record.SUCCEEDED
    assert result == {'ansible_job_id': 'j1.1', 'started': '1', 'finished': 1, 'failed': 'no', 'rc': 0}
    # what the collection says wins, whatever the job's own keys say
    ours = {'ansible_job_id': 'j1.1', 'started': 1, 'finished': 0, 'asyncops': {'state': 'lost'}}
    assert _results.job_state(ours) == _record.LOST


def test_job_entries_of_multi_job_results():
    entries = [{'ansible_job_id': 'j1.1', 'asyncops': {'state': 'running'}}, 'junk',
               {'ansible_job_id': 'j2.2', 'asyncops': {'state': 'lost'}}]
    assert _results.job_entries({'jobs': entries, 'summary': {}}) == [entries[0], entries[2]]
    assert _results.job_entries(BUILTIN_STATUS) is None
    # a single job whose own result has a "jobs" list
    assert _results.job_entries(dict(BUILTIN_STATUS, jobs=[{'ansible_job_id': 'j5.5'}])) is None


def test_kill_result_by_its_report_under_asyncops():
    assert _results.is_kill_result({'ansible_job_id': 'j1.1', 'asyncops': {'state': 'killed', 'kill': {}}})
    assert not _results.is_kill_result(dict(BUILTIN_STATUS, kill={'signal': 'TERM'}, killed=True))


def test_report_is_a_copy():
    progress = {'percent': 10.0}
    result = {'ansible_job_id': 'j1.1', 'started': 1, 'finished': 0, 'asyncops': {'progress': progress}}
    report = _results.JobReport.read(result)
    report.progress['percent'] = -1
    assert progress == {'percent': 10.0}


def test_listing_entry_read_as_a_single_job_result():
    """A mode=list entry (the collection's own listing shape) read by the same reader as a single job."""
    entry = {'ansible_job_id': 'j1.1', 'state': 'timeout', 'finished': True, 'failed': True, 'kind': 'asyncops',
             'started_at': 10.0, 'ended_at': 16.0, 'elapsed': 6.0, 'time_limit': 5, 'time_left': None, 'age': 3.0,
             'progress': {'percent': 50.0}, 'size': 300, 'files': ['/r/j1.1'], 'results_file': '/r/j1.1',
             'async_dir': '/r', 'rc': None, 'msg': 'time limit of 5s reached'}
    got = _results.JobReport.read(_results.listing_record(entry)).as_dict()
    assert got == {'jid': 'j1.1', 'state': 'timeout', 'finished': True, 'failed': True, 'started_at': 10.0,
                   'ended_at': 16.0, 'elapsed': 6.0, 'progress': {'percent': 50.0}, 'results_file': '/r/j1.1',
                   'delegated_host': None, 'msg': 'time limit of 5s reached', 'rc': None, 'reason': None,
                   'supervised': False, 'sidecars': ()}
