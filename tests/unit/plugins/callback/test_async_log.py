# -*- coding: utf-8 -*-
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the asyncops.jobs.async_log callback: no playbook is run."""

from __future__ import annotations

import copy
import json
import os
import stat
import sys
import threading

import pytest
import yaml


def _import_plugin():
    try:
        from ansible_collections.asyncops.jobs.plugins.callback import async_log as plugin
        return plugin
    except ImportError:
        pass
    # plain pytest: find the directory that holds ansible_collections/asyncops/jobs
    starts = [os.path.dirname(os.path.abspath(__file__)), os.environ.get('PWD') or '', os.getcwd()]
    for env in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS'):
        starts.extend(os.path.join(p, 'ansible_collections') for p in os.environ.get(env, '').split(os.pathsep) if p)
    for start in starts:
        path = start
        while path and path != os.path.dirname(path):
            if os.path.basename(path) == 'ansible_collections' and os.path.isdir(os.path.join(path, 'asyncops', 'jobs')):
                sys.path.insert(0, os.path.dirname(path))
                from ansible_collections.asyncops.jobs.plugins.callback import async_log as plugin
                return plugin
            path = os.path.dirname(path)
    raise ImportError('asyncops.jobs is not importable: run from <dir>/ansible_collections/asyncops/jobs')


async_log = _import_plugin()

from ansible import constants as C

JobTracker = async_log.JobTracker
TaskInfo = async_log.TaskInfo

PLUGIN = 'asyncops.jobs.async_log'


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

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


@pytest.fixture(scope='module', autouse=True)
def plugin_config():
    """Register the plugin's option definitions the way the plugin loader does."""
    doc = yaml.safe_load(async_log.DOCUMENTATION)
    C.config.initialize_plugin_configuration_definitions('callback', PLUGIN, doc['options'])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith('ASYNCOPS_ASYNC_LOG_'):
            monkeypatch.delenv(name)


def make_callback(tmp_path, verbosity=0, **direct):
    display = FakeDisplay(verbosity)
    cb = async_log.CallbackModule(display=display)
    cb._load_name = PLUGIN
    direct.setdefault('log_path', str(tmp_path / 'log' / 'async.jsonl'))
    cb.set_options(direct=direct)
    return cb, display


def read_log(path):
    with open(str(path)) as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------------------
# accessor and task info
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('cls', [OldTaskResult, NewTaskResult])
def test_accessor_both_result_shapes(cls):
    task = FakeTask('t', 'u1', 'command')
    res = {'ansible_job_id': 'j1.2'}
    host, got_task, got = async_log.accessor(cls(FakeHost('web1'), task, res))
    assert host == 'web1'
    assert got_task is task
    assert got is res


def test_accessor_real_core_class():
    """The class ansible-core passes to callbacks on the running core."""
    from ansible.executor import task_result
    cls = getattr(task_result, 'CallbackTaskResult', None)
    if cls is None:  # 2.17/2.18
        obj = task_result.TaskResult(FakeHost('h'), FakeTask('t', 'u', 'command'), {'ansible_job_id': 'j1.1'})
        host, dummy, res = async_log.accessor(obj)
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
    assert async_log.as_bool(value) is expected


# ---------------------------------------------------------------------------
# event model
# ---------------------------------------------------------------------------

def test_poll0_start_event_fields():
    clock = Clock(1000.0)
    tracker = JobTracker(clock=clock, run_id='run1')
    tracker.set_playbook('site.yml')
    tracker.set_play('Deploy')
    task = launch_task()
    tracker.task_started('web1', task, now=1000.0)
    events = tracker.process('ok', 'web1', task, running('j11.22', changed=True), now=1001.25)
    assert len(events) == 1
    ev = events[0]
    assert set(async_log.EVENT_FIELDS) <= set(ev)
    assert ev['event'] == 'started'
    assert ev['jid'] == 'j11.22'
    assert ev['host'] == 'web1'
    assert ev['playbook'] == 'site.yml'
    assert ev['play'] == 'Deploy'
    assert ev['task'] == 'Start job'
    assert ev['task_uuid'] == 'uuid-launch'
    assert ev['elapsed'] == 1.25
    assert ev['finished'] is False and ev['failed'] is False
    assert ev['state'] == 'running'
    assert ev['run_id'] == 'run1'
    assert ev['time'] == '1970-01-01T00:16:41.250+00:00'
    line = async_log.event_line(ev)
    assert line.endswith('\n') and line.count('\n') == 1
    assert json.loads(line) == ev


def test_polled_task_polls_and_end():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Sleep', poll=2)
    tracker.task_started('h', task, now=100.0)
    e1 = tracker.process('poll', 'h', poll_task(), running('j1.1'), now=102.0)
    e2 = tracker.process('poll', 'h', poll_task(), running('j1.1'), now=104.5)
    end = tracker.process('async_ok', 'h', task, done('j1.1'), now=106.0)
    # the final v2_runner_on_ok of the same task must not add anything
    assert tracker.process('ok', 'h', task, done('j1.1'), now=106.1) == []
    assert [e['event'] for e in e1 + e2 + end] == ['poll', 'poll', 'async_ok']
    assert [e['attempt'] for e in e1 + e2 + end] == [1, 2, 3]
    assert [e['elapsed'] for e in e1 + e2 + end] == [2.0, 4.5, 6.0]
    # events of the synthetic poll task carry the launching task's name and uuid
    assert {e['task'] for e in e1 + e2 + end} == {'Sleep'}
    assert {e['task_uuid'] for e in e1 + e2 + end} == {'uuid-launch'}
    assert end[0]['state'] == 'succeeded' and end[0]['finished'] is True
    job = tracker.jobs()[0]
    assert job['polls'] == 3 and job['duration'] == 6.0 and job['cleaned']
    assert tracker.unreaped() == []


def test_polled_job_finishing_before_first_poll():
    tracker = JobTracker(clock=Clock())
    task = launch_task(poll=5)
    tracker.task_started('h', task, now=10.0)
    events = tracker.process('async_ok', 'h', task, done('j2.2'), now=15.5)
    assert [(e['event'], e['attempt'], e['elapsed']) for e in events] == [('async_ok', 1, 5.5)]


def test_loop_of_polled_jobs_second_starts_when_first_ends():
    tracker = JobTracker(clock=Clock())
    task = launch_task(poll=1)
    tracker.task_started('h', task, now=0.0)
    tracker.process('poll', 'h', poll_task(), running('j1.1'), now=1.0)
    tracker.process('async_ok', 'h', task, done('j1.1'), now=2.0)
    e = tracker.process('poll', 'h', poll_task(), running('j2.2'), now=3.0)
    assert e[0]['elapsed'] == 1.0


def test_elapsed_corrected_by_record_start():
    tracker = JobTracker(clock=Clock())
    task = launch_task()
    tracker.task_started('h', task, now=100.0)
    # the record knows the real start (after connection set-up and module transfer)
    rec = running('j1.1', asyncops={'state': 'running', 'started_at': 100.8, 'ended_at': None, 'pid': 42})
    ev = tracker.process('ok', 'h', task, rec, now=101.0)[0]
    assert ev['elapsed'] == pytest.approx(0.2)
    # a record with both ends wins over the controller's clock
    st = status_task(action='asyncops.jobs.async_status', jid='j1.1')
    rec = done('j1.1', asyncops={'state': 'succeeded', 'started_at': 100.8, 'ended_at': 110.3})
    ev = tracker.process('ok', 'h', st, rec, now=130.0)[0]
    assert ev['elapsed'] == pytest.approx(9.5)


def test_elapsed_ignores_record_from_a_skewed_clock():
    tracker = JobTracker(clock=Clock())
    task = launch_task()
    tracker.task_started('h', task, now=1000.0)
    rec = running('j1.1', asyncops={'state': 'running', 'started_at': 400.0})  # target 10 min behind
    ev = tracker.process('ok', 'h', task, rec, now=1001.0)[0]
    assert ev['elapsed'] == 1.0


def test_elapsed_of_asyncops_status_uses_target_elapsed():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', jid='j5.5')
    rec = running('j5.5', state='running', elapsed=42.5)
    ev = tracker.process('ok', 'h', st, rec, now=10.0)[0]
    assert ev['elapsed'] == 42.5
    # a job never started in this run is not blamed for not being collected
    assert tracker.unreaped() == []
    # another module's "elapsed" (wait_for, uri) is not the job's clock
    tracker2 = JobTracker(clock=Clock())
    task = launch_task()
    tracker2.task_started('h', task, now=0.0)
    tracker2.process('ok', 'h', task, running('j6.6'), now=1.0)
    ev = tracker2.process('ok', 'h', status_task(jid='j6.6'), done('j6.6', elapsed=999), now=8.0)[0]
    assert ev['elapsed'] == 8.0


@pytest.mark.parametrize('core_msg', [
    'async task did not complete within the requested time - 6s',  # ansible-core 2.17/2.18
    'async task produced unparsable results',  # the same failure as worded by ansible-core 2.19+
])
def test_controller_timeout(core_msg):
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Too slow', async_val=6, poll=6)
    tracker.task_started('h', task, now=0.0)
    tracker.process('poll', 'h', poll_task(), running('j7.7'), now=6.5)
    result = {'failed': True, 'msg': core_msg, 'async_result': running('j7.7', changed=False)}
    ev = tracker.process('async_failed', 'h', task, result, now=6.6)[0]
    assert ev['event'] == 'async_failed'
    assert ev['state'] == 'timeout'
    assert ev['failed'] is True and ev['finished'] is False
    assert ev['msg'] == 'async task did not complete within the requested time - 6s'
    if core_msg != ev['msg']:
        assert ev['core_msg'] == core_msg
    else:
        assert 'core_msg' not in ev
    unreaped = tracker.unreaped()
    assert [j['jid'] for j in unreaped] == ['j7.7']
    assert unreaped[0]['may_be_running'] is True


def test_failed_job_and_wrapper_timeout():
    tracker = JobTracker(clock=Clock())
    task = launch_task(poll=1)
    tracker.task_started('h', task, now=0.0)
    ev = tracker.process('async_failed', 'h', task, done('j8.8', failed=True), now=2.0)[0]
    assert (ev['state'], ev['failed'], ev['finished']) == ('failed', True, True)
    assert ev['msg'] == 'non-zero return code'
    tracker.task_started('h', task, now=3.0)
    rec = {'ansible_job_id': 'j9.9', 'finished': True, 'failed': True, 'msg': 'Timeout exceeded', 'child_pid': 5}
    ev = tracker.process('async_failed', 'h', task, rec, now=9.0)[0]
    assert ev['state'] == 'timeout' and ev['finished'] is True
    assert tracker.unreaped() == []


@pytest.mark.parametrize('attempts', ['current', 'next'])
def test_until_loop_retries_tied_to_jid(attempts):
    """ansible-core 2.17 reports the attempt just made, 2.19+ the next one: the count must not depend on it."""
    tracker = JobTracker(clock=Clock())
    task = launch_task()
    tracker.task_started('h', task, now=0.0)
    tracker.process('ok', 'h', task, running('j3.3'), now=0.5)
    st = status_task(jid='{{ job.ansible_job_id }}')
    tracker.task_started('h', st, now=1.0)
    events = []
    for n, now in ((1, 1.5), (2, 3.0), (3, 4.5)):
        rec = running('j3.3', attempts=n if attempts == 'current' else n + 1, retries=11)
        events += tracker.process('retry', 'h', st, rec, now=now)
    events += tracker.process('ok', 'h', st, done('j3.3', attempts=4), now=6.0)
    assert [e['event'] for e in events] == ['retry', 'retry', 'retry', 'status']
    assert [e['attempt'] for e in events] == [1, 2, 3, 4]
    assert {e['jid'] for e in events} == {'j3.3'}
    assert [e['elapsed'] for e in events] == [1.5, 3.0, 4.5, 6.0]
    assert events[-1]['state'] == 'succeeded'
    assert tracker.unreaped() == []
    assert tracker.jobs()[0]['polls'] == 4


def test_until_loop_exhausted_leaves_job_unreaped():
    tracker = JobTracker(clock=Clock())
    task = launch_task()
    tracker.task_started('h', task, now=0.0)
    tracker.process('ok', 'h', task, running('j3.4'), now=0.5)
    st = status_task(jid='j3.4')
    tracker.process('retry', 'h', st, running('j3.4'), now=1.0)
    ev = tracker.process('failed', 'h', st, running('j3.4', failed=True, attempts=1), now=2.0)[0]
    assert ev['event'] == 'status' and ev['state'] == 'running' and ev['failed'] is True
    assert [j['jid'] for j in tracker.unreaped()] == ['j3.4']


def test_status_result_without_jid_uses_literal_arg():
    tracker = JobTracker(clock=Clock())
    ev = tracker.process('failed', 'h', status_task(jid='j1.5'), {'failed': True, 'msg': 'boom'}, now=1.0)
    assert ev[0]['jid'] == 'j1.5'
    # a templated jid argument and no jid in the result: nothing to tie the event to
    assert tracker.process('failed', 'h', status_task(jid='{{ x }}'), {'failed': True}, now=1.0) == []


def test_asyncops_status_jids_retry_one_event_per_job():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', jids=['j1.1', 'j2.2'], mode='wait')
    result = {'jobs': [running('j1.1', state='running', elapsed=3.0),
                       running('j2.2', state='running', elapsed=2.0,
                               progress={'percent': 50.0, 'current': 5, 'total': 10, 'unit': 'files'})],
              'summary': {'running': 2}}
    events = tracker.process('retry', 'h', st, result, now=5.0)
    assert [(e['event'], e['jid'], e['attempt'], e['elapsed']) for e in events] == [
        ('retry', 'j1.1', 1, 3.0), ('retry', 'j2.2', 1, 2.0)]
    assert events[1]['progress']['percent'] == 50.0


def test_asyncops_modes_wait_kill_cleanup_prune_lost():
    tracker = JobTracker(clock=Clock())
    launch = launch_task()
    for jid in ('j1.1', 'j2.2', 'j3.3', 'j4.4', 'j5.5'):
        tracker.task_started('h', launch, now=0.0)
        tracker.process('ok', 'h', launch, running(jid), now=0.1)
    A = 'asyncops.jobs.async_status'
    ev = tracker.process('ok', 'h', status_task(action=A, jid='j1.1', mode='wait', cleanup=True),
                         done('j1.1', state='succeeded', erased='/x', elapsed=4.0), now=4.0)
    assert [(e['event'], e['state'], e['mode']) for e in ev] == [('wait', 'succeeded', 'wait')]
    ev = tracker.process('ok', 'h', status_task(action=A, jid='j2.2', mode='kill'),
                         {'ansible_job_id': 'j2.2', 'killed': True, 'state': 'killed', 'finished': True}, now=5.0)
    assert [(e['event'], e['state']) for e in ev] == [('kill', 'killed')]
    ev = tracker.process('ok', 'h', status_task(action=A, jid='j3.3', mode='cleanup'),
                         {'ansible_job_id': 'j3.3', 'erased': '/home/u/.ansible_async/j3.3'}, now=6.0)
    assert [e['event'] for e in ev] == ['cleanup']
    ev = tracker.process('ok', 'h', status_task(action=A, mode='prune', max_age='1d'),
                         {'removed': ['j4.4', 'j99.99'], 'changed': True}, now=7.0)
    assert [(e['event'], e['jid']) for e in ev] == [('prune', 'j4.4'), ('prune', 'j99.99')]
    ev = tracker.process('ok', 'h', status_task(action=A, mode='prune'), {'removed': []}, now=7.5)
    assert [(e['event'], e['jid']) for e in ev] == [('prune', None)]
    ev = tracker.process('failed', 'h', status_task(action=A, jid='j5.5'),
                         {'ansible_job_id': 'j5.5', 'state': 'lost', 'finished': True, 'failed': True,
                          'msg': 'job process 42 is gone'}, now=8.0)
    assert [(e['event'], e['state'], e['failed'], e['finished']) for e in ev] == [('lost', 'lost', True, True)]
    assert tracker.unreaped() == []
    states = {j['jid']: (j['state'], j['cleaned'], j['collected']) for j in tracker.jobs()}
    assert states['j1.1'] == ('succeeded', True, True)
    assert states['j2.2'] == ('killed', False, True)
    assert states['j3.3'][1:] == (True, True)
    assert states['j5.5'] == ('lost', False, True)


def test_list_mode_reports_lost_jobs_only():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', mode='list')
    result = {'jobs': [running('j1.1', state='running'),
                       {'ansible_job_id': 'j2.2', 'state': 'lost', 'finished': True, 'failed': True}]}
    ev = tracker.process('ok', 'h', st, result, now=1.0)
    assert [(e['event'], e['jid']) for e in ev] == [('lost', 'j2.2')]


def test_builtin_cleanup_and_loop_summary_ignored():
    tracker = JobTracker(clock=Clock())
    launch = launch_task()
    tracker.task_started('h', launch, now=0.0)
    tracker.process('item_ok', 'h', launch, running('j1.1', item=1), now=0.5)
    tracker.process('item_ok', 'h', launch, running('j2.2', item=2), now=1.0)
    assert tracker.process('ok', 'h', launch, {'results': [running('j1.1'), running('j2.2')]}, now=1.1) == []
    st = TaskInfo(name='Clean', uuid='u-clean', action='async_status', args={'jid': '{{ item }}', 'mode': 'cleanup'})
    ev = tracker.process('item_ok', 'h', st, {'ansible_job_id': 'j1.1', 'started': 0, 'finished': 0,
                                              'erased': '/x/j1.1'}, now=2.0)
    assert [e['event'] for e in ev] == ['cleanup']
    assert [j['jid'] for j in tracker.unreaped()] == ['j2.2']


def test_run_module_result_is_a_start():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Run', uuid='u-run', action='asyncops.jobs.run')
    tracker.task_started('h', task, now=0.0)
    rec = {'ansible_job_id': 'j4.2', 'started': True, 'finished': False, 'results_file': '/r/j4.2', 'pid': 99,
           'asyncops': {'state': 'running', 'started_at': 0.4, 'pid': 99}}
    ev = tracker.process('ok', 'h', task, rec, now=1.0)
    assert [(e['event'], e['elapsed']) for e in ev] == [('started', 0.6)]


def test_results_are_never_modified():
    tracker = JobTracker(clock=Clock())
    task = launch_task(poll=1)
    st = status_task(action='asyncops.jobs.async_status', jids=['j1.1'])
    progress = {'percent': 10.0, 'current': 1, 'total': 10, 'unit': 'B', 'updated_at': 1.0}
    calls = [
        ('poll', poll_task(), running('j1.1', progress=progress)),
        ('async_ok', task, done('j1.1', progress=progress)),
        ('async_failed', task, {'failed': True, 'msg': 'x', 'async_result': running('j2.2')}),
        ('retry', st, {'jobs': [running('j1.1', progress=progress)], 'summary': {}}),
        ('ok', status_task(action='asyncops.jobs.async_status', mode='prune'), {'removed': ['j1.1']}),
        ('item_ok', launch_task(), running('j3.3', asyncops={'started_at': 0.5})),
    ]
    for kind, info, result in calls:
        tracker.task_started('h', task, now=0.0)
        before = copy.deepcopy(result)
        events = tracker.process(kind, 'h', info, result, now=2.0)
        assert result == before, kind
        for ev in events:
            if ev['progress'] is not None:
                ev['progress']['percent'] = -1
        assert result == before, kind


# ---------------------------------------------------------------------------
# console formatting
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('percent, width, expected', [
    (0, 10, '[----------]'),
    (42.0, 20, '[########------------]'),
    (100, 10, '[##########]'),
    (150, 4, '[####]'),
    (-5, 4, '[----]'),
])
def test_progress_bar(percent, width, expected):
    assert async_log.progress_bar(percent, width) == expected


@pytest.mark.parametrize('seconds, expected', [
    (None, '?'), (0, '0.0s'), (4.24, '4.2s'), (59.94, '59.9s'), (65, '1m05s'), (3723, '1h02m03s'),
])
def test_fmt_duration(seconds, expected):
    assert async_log.fmt_duration(seconds) == expected


def test_quantities_and_rates():
    mib = 1024 * 1024
    assert async_log.fmt_quantity(420 * mib, 1000 * mib, 'B') == '420.0/1000.0 MiB'
    assert async_log.fmt_quantity(500, 1000, 'bytes') == '500/1000 B'
    assert async_log.fmt_quantity(42, 100, 'files') == '42/100 files'
    assert async_log.fmt_quantity(7, None, None) == '7'
    assert async_log.fmt_rate(10.5 * mib, 'B') == '10.5 MiB/s'
    assert async_log.fmt_rate(3.25, 'files') == '3.2 files/s'
    assert async_log.fmt_rate(None, 'B') is None


def test_normalize_progress_computes_percent_rate_eta():
    p = async_log.normalize_progress({'current': 250, 'total': 1000, 'unit': 'rows', 'updated_at': 20.0},
                                     elapsed=10.0, prev_sample=(150, 10.0))
    assert p['percent'] == 25.0
    assert p['rate'] == 10.0          # (250 - 150) / (20 - 10)
    assert p['eta'] == 75.0           # (1000 - 250) / 10
    # no previous sample: the average since the start
    p = async_log.normalize_progress({'current': 300, 'total': 1000}, elapsed=30.0)
    assert (p['rate'], p['eta']) == (10.0, 70.0)
    # what the record says wins
    p = async_log.normalize_progress({'percent': 5.0, 'current': 1, 'total': 10, 'rate': 2.0, 'eta': 99.0},
                                     elapsed=1.0)
    assert (p['percent'], p['rate'], p['eta']) == (5.0, 2.0, 99.0)
    assert async_log.normalize_progress(None) is None


def test_console_line_with_progress_bar():
    mib = 1024 * 1024
    fmt = async_log.ConsoleFormatter(progress_bar=True, bar_width=20)
    ev = {'event': 'poll', 'host': 'web1', 'task': 'Download image', 'jid': 'j1.2', 'attempt': 3,
          'state': 'running', 'elapsed': 40.0}
    progress = async_log.normalize_progress(
        {'percent': 42.0, 'current': 420 * mib, 'total': 1000 * mib, 'unit': 'B', 'rate': 10.5 * mib,
         'message': 'downloading'}, elapsed=40.0)
    line = fmt.line(ev, progress)
    assert line == ('async poll #3 | web1 | Download image | j1.2 | [########------------]   42.0%  '
                    '420.0/1000.0 MiB  10.5 MiB/s  ETA 55.2s  downloading | 40.0s elapsed')
    plain = async_log.ConsoleFormatter(progress_bar=False).line(ev, progress)
    assert '[' not in plain and '42.0%' in plain and 'ETA 55.2s' in plain


def test_console_lines_without_progress():
    fmt = async_log.ConsoleFormatter()
    ev = {'event': 'poll', 'host': 'h', 'task': 'Sleep', 'jid': 'j1.1', 'attempt': 2, 'state': 'running',
          'elapsed': 4.04}
    assert fmt.line(ev) == 'async poll #2 | h | Sleep | j1.1 | running, 4.0s elapsed'
    ev = dict(ev, event='retry', attempt=3)
    assert fmt.line(ev, retries=11) == 'async retry #3/11 | h | Sleep | j1.1 | running, 4.0s elapsed'
    ev = {'event': 'async_failed', 'host': 'h', 'task': 'Slow', 'jid': 'j1.1', 'attempt': 1, 'state': 'timeout',
          'failed': True, 'elapsed': 6.5, 'msg': 'async task did not complete within the requested time - 6s'}
    assert fmt.line(ev) == ('async failed | h | Slow | j1.1 | timeout after 6.5s: '
                            'async task did not complete within the requested time - 6s')


# ---------------------------------------------------------------------------
# recap
# ---------------------------------------------------------------------------

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
    table = async_log.RecapBuilder().table(tracker.jobs(now=10.0))
    lines = table.splitlines()
    assert lines[0].split() == ['host', 'task', 'jid', 'state', 'duration', 'polls', 'collected']
    assert lines[1].split() == ['web1', 'Polled', 'j1.1', 'succeeded', '2.0s', '2', 'cleaned']
    assert lines[2].split() == ['web2', 'Fire', 'and', 'forget', 'j2.2', 'running', '7.0s', '0', 'NO']
    # columns are aligned
    assert lines[1].index('j1.1') == lines[0].index('jid') == lines[2].index('j2.2')


def test_unreaped_warning_and_cleanup_task():
    tracker = _recap_tracker()
    unreaped = tracker.unreaped()
    builder = async_log.RecapBuilder()
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
    snippet = async_log.RecapBuilder().cleanup_task(job)
    assert '#' not in snippet
    parsed = yaml.safe_load(snippet)[0]
    # a jid that looks like a number stays a string
    assert parsed['asyncops.jobs.async_status'] == {'jid': '1234.5678', 'mode': 'cleanup'}
    assert parsed['delegate_to'] == 'bastion'
    assert 'vars' not in parsed


# ---------------------------------------------------------------------------
# the log file
# ---------------------------------------------------------------------------

def test_writer_creates_0600_file_and_dirs(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / 'a' / 'b' / 'log.jsonl'
        writer = async_log.JsonLinesWriter(str(path)).open()
        writer.write({'event': 'x', 'msg': u'd\u00e9j\u00e0 vu'})
        writer.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert read_log(path) == [{'event': 'x', 'msg': u'd\u00e9j\u00e0 vu'}]


def test_writer_appends_from_many_writers_at_once(tmp_path):
    path = tmp_path / 'log.jsonl'
    path.write_text(u'{"event": "earlier run"}\n')
    writers = [async_log.JsonLinesWriter(str(path)).open() for dummy in range(4)]
    barrier = threading.Barrier(len(writers))
    per_writer = 300
    filler = 'x' * 3000  # lines larger than a pipe buffer

    def work(n, writer):
        barrier.wait()
        for i in range(per_writer):
            writer.write({'writer': n, 'i': i, 'filler': filler})

    threads = [threading.Thread(target=work, args=(n, w)) for n, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.close()
    lines = read_log(path)
    assert lines[0] == {'event': 'earlier run'}
    assert len(lines) == 1 + per_writer * len(writers)
    for n in range(len(writers)):
        assert [l['i'] for l in lines[1:] if l['writer'] == n] == list(range(per_writer))


# ---------------------------------------------------------------------------
# options and the callback module
# ---------------------------------------------------------------------------

def test_option_defaults(tmp_path):
    cb, dummy = make_callback(tmp_path)
    s = cb._settings
    assert (s.console, s.progress_bar, s.recap, s.unreaped_warning, s.quiet_without_progress) == \
        (True, True, True, True, False)
    assert s.console_stream == 'auto' and s.progress_bar_width == 20
    display = FakeDisplay()
    cb = async_log.CallbackModule(display=display)
    cb._load_name = PLUGIN
    cb.set_options()
    assert cb._settings.log_path == os.path.expanduser('~/.ansible/async_log.jsonl')


def test_options_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_PATH', str(tmp_path / 'env.jsonl'))
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_CONSOLE', 'false')
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_PROGRESS_BAR', 'no')
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_RECAP', '0')
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_UNREAPED_WARNING', 'off')
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_QUIET_WITHOUT_PROGRESS', 'yes')
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_CONSOLE_STREAM', 'stderr')
    cb = async_log.CallbackModule(display=FakeDisplay())
    cb._load_name = PLUGIN
    cb.set_options()
    s = cb._settings
    assert s.log_path == str(tmp_path / 'env.jsonl')
    assert (s.console, s.progress_bar, s.recap, s.unreaped_warning, s.quiet_without_progress) == \
        (False, False, False, False, True)
    assert s.use_stderr() is True


def test_options_from_variables(tmp_path):
    cb, dummy = make_callback(tmp_path)
    cb.set_options(var_options={'asyncops_async_log_recap': False, 'asyncops_async_log_progress_bar_width': 8})
    assert cb._settings.recap is False and cb._settings.progress_bar_width == 8

    class Play(object):
        vars = {'asyncops_async_log_console': False, 'asyncops_async_log_recap': '{{ templated }}'}

        def get_name(self):
            return 'p'

        def get_variable_manager(self):
            class VM(object):
                extra_vars = {'asyncops_async_log_unreaped_warning': False}
            return VM()

    cb, dummy = make_callback(tmp_path)
    # what ansible-core 2.19+ resolved itself (templated extra vars) stays underneath
    cb.set_options(direct={'log_path': str(tmp_path / 'x.jsonl')},
                   var_options={'asyncops_async_log_progress_bar_width': 7})
    cb.v2_playbook_on_play_start(Play())
    assert cb._settings.console is False
    assert cb._settings.unreaped_warning is False
    assert cb._settings.recap is True  # templates are left to ansible-core
    assert cb._settings.progress_bar_width == 7

    class PlainPlay(Play):
        vars = {}

        def get_variable_manager(self):
            class VM(object):
                extra_vars = {}
            return VM()

    # a play's variables apply to that play only
    cb.v2_playbook_on_play_start(PlainPlay())
    assert cb._settings.console is True and cb._settings.unreaped_warning is True
    assert cb._settings.progress_bar_width == 7
    assert cb._settings.log_path == str(tmp_path / 'x.jsonl')


@pytest.mark.parametrize('stream, stdout_callback, expected', [
    ('auto', 'default', False), ('auto', 'ansible.posix.json', True), ('auto', 'community.general.jsonl', True),
    ('auto', None, False), ('stdout', 'ansible.posix.json', False), ('stderr', 'default', True),
])
def test_console_stream(stream, stdout_callback, expected):
    assert async_log.Settings(console_stream=stream).use_stderr(stdout_callback) is expected


def _run_playbook_events(cb, shape=NewTaskResult):
    """Drive the callback as ansible-core would for: a polled task, a poll: 0 job + until loop, a job left behind."""
    h = FakeHost('localhost')
    polled = FakeTask('Polled sleep', 'u-polled', 'ansible.builtin.command', async_val=10, poll=1)
    synth = FakeTask('async_status', 'u-synth', 'async_status', args={'jid': 'j1.1'})
    fire = FakeTask('Fire', 'u-fire', 'ansible.builtin.command', async_val=60, poll=0)
    wait = FakeTask('Wait', 'u-wait', 'ansible.builtin.async_status', args={'jid': '{{ job.ansible_job_id }}'})
    left = FakeTask('Left behind', 'u-left', 'ansible.builtin.command', async_val=60, poll=0)
    prog = {'percent': 30.0, 'current': 3, 'total': 10, 'unit': 'steps', 'message': 'working'}

    class Playbook(object):
        _file_name = '/x/site.yml'

    cb.v2_playbook_on_start(Playbook())
    cb.v2_runner_on_start(h, polled)
    cb.v2_runner_on_async_poll(shape(h, synth, running('j1.1', progress=prog)))
    cb.v2_runner_on_async_poll(shape(h, synth, running('j1.1')))
    cb.v2_runner_on_async_ok(shape(h, polled, done('j1.1')))
    cb.v2_runner_on_ok(shape(h, polled, done('j1.1')))
    cb.v2_runner_on_start(h, fire)
    cb.v2_runner_on_ok(shape(h, fire, running('j2.2')))
    cb.v2_runner_on_start(h, wait)
    cb.v2_runner_retry(shape(h, wait, running('j2.2', attempts=1, retries=5)))
    cb.v2_runner_on_ok(shape(h, wait, done('j2.2', attempts=2)))
    cb.v2_runner_on_start(h, left)
    cb.v2_runner_on_ok(shape(h, left, running('j3.3')))
    cb.v2_playbook_on_stats(None)


@pytest.mark.parametrize('shape', [OldTaskResult, NewTaskResult])
def test_callback_end_to_end(tmp_path, shape):
    cb, display = make_callback(tmp_path, console_stream='stdout')
    _run_playbook_events(cb, shape)
    log = read_log(tmp_path / 'log' / 'async.jsonl')
    assert [(e['event'], e['jid']) for e in log] == [
        ('poll', 'j1.1'), ('poll', 'j1.1'), ('async_ok', 'j1.1'), ('started', 'j2.2'), ('retry', 'j2.2'),
        ('status', 'j2.2'), ('started', 'j3.3'), ('unreaped', 'j3.3')]
    assert {e['playbook'] for e in log} == {'site.yml'}
    assert len({e['run_id'] for e in log}) == 1
    text = display.text
    assert 'async poll #1 | localhost | Polled sleep | j1.1 | [######--------------]   30.0%  3/10 steps' in text
    assert 'async poll #2 | localhost | Polled sleep | j1.1 | running' in text
    assert 'async retry #1/5 | localhost | Wait | j2.2 | running' in text
    assert 'ASYNC JOBS RECAP' in text
    assert 'ASYNC JOBS CLEANUP' in text
    assert 'jid: j3.3' in text
    assert len(display.warnings) == 1 and 'j3.3 on localhost' in display.warnings[0]
    assert all(stderr is False for dummy, stderr in display.lines)


def test_callback_console_off_recap_off_warning_off(tmp_path):
    cb, display = make_callback(tmp_path, console=False, recap=False, unreaped_warning=False)
    _run_playbook_events(cb)
    assert display.lines == [] and display.warnings == []
    # the log is complete all the same
    assert len(read_log(tmp_path / 'log' / 'async.jsonl')) == 8


def test_callback_recap_only(tmp_path):
    cb, display = make_callback(tmp_path, console=False, unreaped_warning=False)
    _run_playbook_events(cb)
    assert 'ASYNC JOBS RECAP' in display.text and 'async poll' not in display.text
    assert 'ASYNC JOBS CLEANUP' not in display.text and display.warnings == []


@pytest.mark.parametrize('verbosity, expect_plain_lines', [(0, False), (1, True)])
def test_quiet_without_progress(tmp_path, verbosity, expect_plain_lines):
    cb, display = make_callback(tmp_path, verbosity=verbosity, quiet_without_progress=True, recap=False,
                                unreaped_warning=False)
    _run_playbook_events(cb)
    text = display.text
    # the job that reports progress is always shown; the others only when verbose
    assert 'async poll #1 | localhost | Polled sleep' in text
    assert ('async retry #1/5 | localhost | Wait' in text) is expect_plain_lines
    assert ('async start | localhost | Left behind' in text) is expect_plain_lines


def test_progress_bar_option_off(tmp_path):
    cb, display = make_callback(tmp_path, progress_bar=False, recap=False)
    _run_playbook_events(cb)
    poll_line = [m for m, dummy in display.lines if m.startswith('async poll #1')][0]
    assert '[' not in poll_line and '30.0%' in poll_line and '3/10 steps' in poll_line


def test_unwritable_log_warns_once_and_keeps_console(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text(u'')
    cb, display = make_callback(tmp_path, log_path=str(blocker / 'sub' / 'log.jsonl'))
    _run_playbook_events(cb)
    assert len([w for w in display.warnings if 'cannot write the log file' in w]) == 1
    assert 'async poll #1' in display.text


def test_concurrent_events_are_thread_safe(tmp_path):
    """Results arrive from the results thread and the main thread at once: nothing is lost or mixed."""
    cb, display = make_callback(tmp_path, recap=False, unreaped_warning=False)
    hosts = ['h%d' % n for n in range(8)]
    polls = 50
    barrier = threading.Barrier(len(hosts))
    errors = []

    def work(name):
        try:
            host = FakeHost(name)
            task = FakeTask('Polled', 'u-' + name, 'command', async_val=100, poll=1)
            synth = FakeTask('async_status', 's-' + name, 'async_status')
            cb.v2_runner_on_start(host, task)
            barrier.wait()
            for dummy in range(polls):
                cb.v2_runner_on_async_poll(NewTaskResult(host, synth, running('j.%s' % name)))
            cb.v2_runner_on_async_ok(NewTaskResult(host, task, done('j.%s' % name)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    log = read_log(tmp_path / 'log' / 'async.jsonl')
    assert len(log) == len(hosts) * (polls + 1)
    for name in hosts:
        mine = [e for e in log if e['host'] == name]
        assert all(e['jid'] == 'j.' + name and e['task'] == 'Polled' for e in mine)
        assert [e['attempt'] for e in mine] == list(range(1, polls + 2))
        assert [e['event'] for e in mine][-1] == 'async_ok'
        # elapsed never goes backwards for a job
        elapsed = [e['elapsed'] for e in mine]
        assert elapsed == sorted(elapsed)
    assert len(display.lines) == len(log)
    assert len(cb._tracker.jobs()) == len(hosts)
    assert cb._tracker.unreaped() == []


def test_lost_job_is_failed_even_with_failed_when_false():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', jid='j1.1')
    # failed_when: false on the status task turns the result's "failed" off; the job still failed
    rec = {'ansible_job_id': 'j1.1', 'state': 'lost', 'finished': True, 'failed': False, 'msg': 'gone'}
    ev = tracker.process('ok', 'h', st, rec, now=1.0)[0]
    assert (ev['event'], ev['state'], ev['finished'], ev['failed']) == ('lost', 'lost', True, True)


def test_prune_of_unknown_jobs_is_listed_as_pruned():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', mode='prune')
    tracker.process('ok', 'h', st, {'removed': ['j8.8']}, now=1.0)
    assert [(j['jid'], j['state'], j['launched']) for j in tracker.jobs()] == [('j8.8', 'pruned', False)]
    assert async_log.RecapBuilder.collected(tracker.jobs()[0]) == 'cleaned'


def test_job_timed_out_by_the_controller_then_collected():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Slow', async_val=6, poll=6)
    tracker.task_started('h', task, now=0.0)
    result = {'failed': True, 'msg': 'async task did not complete within the requested time - 6s',
              'async_result': running('j7.7')}
    assert tracker.process('async_failed', 'h', task, result, now=6.5)[0]['elapsed'] == 6.5
    assert tracker.jobs(now=30.0)[0]['duration'] == 6.5  # the controller's wait, not the playbook's length
    # a later status check finds it finished: collected, and its clock ran on until then
    ev = tracker.process('ok', 'h', status_task(jid='j7.7'), done('j7.7'), now=12.0)[0]
    assert (ev['event'], ev['state'], ev['elapsed']) == ('status', 'succeeded', 12.0)
    assert tracker.unreaped() == []
