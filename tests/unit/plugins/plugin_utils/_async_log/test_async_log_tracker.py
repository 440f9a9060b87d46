# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the async_log tracker: callback results in, events (plain dicts) out."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log import _tracker
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._event_log import event_line
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._recap import RecapBuilder
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tasks import TaskInfo
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import (
    Clock,
    done,
    launch_task,
    poll_task,
    running,
    status_task,
)

JobTracker = _tracker.JobTracker


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
    assert set(_tracker.EVENT_FIELDS) <= set(ev)
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
    line = event_line(ev)
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
    rec = running('j5.5', asyncops={'state': 'running', 'elapsed': 42.5})
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
    result = {'jobs': [running('j1.1', asyncops={'state': 'running', 'elapsed': 3.0}),
                       running('j2.2', asyncops={'state': 'running', 'elapsed': 2.0, 'progress': {
                           'percent': 50.0, 'current': 5, 'total': 10, 'unit': 'files'}})],
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
                         done('j1.1', erased='/x', asyncops={'state': 'succeeded', 'elapsed': 4.0}), now=4.0)
    assert [(e['event'], e['state'], e['mode']) for e in ev] == [('wait', 'succeeded', 'wait')]
    ev = tracker.process('ok', 'h', status_task(action=A, jid='j2.2', mode='kill'),
                         {'ansible_job_id': 'j2.2', 'started': True, 'finished': True,
                          'asyncops': {'state': 'killed', 'kill': {'signal': 'SIGTERM'}}}, now=5.0)
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
                         {'ansible_job_id': 'j5.5', 'started': True, 'finished': True, 'failed': True,
                          'msg': 'job process 42 is gone', 'asyncops': {'state': 'lost'}}, now=8.0)
    assert [(e['event'], e['state'], e['failed'], e['finished']) for e in ev] == [('lost', 'lost', True, True)]
    assert tracker.unreaped() == []
    states = {j['jid']: (j['state'], j['cleaned'], j['collected']) for j in tracker.jobs()}
    assert states['j1.1'] == ('succeeded', True, True)
    assert states['j2.2'] == ('killed', False, True)
    assert states['j3.3'][1:] == (True, True)
    assert states['j5.5'] == ('lost', False, True)


@pytest.mark.parametrize('mode', ['list', '{{ how }}'])
def test_list_mode_reports_lost_jobs_only(mode):
    """mode: list keeps its own shape: each entry is the collection's listing (state, elapsed at the top)."""
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', mode=mode)
    result = {'jobs': [running('j1.1', state='running'),
                       {'ansible_job_id': 'j2.2', 'state': 'lost', 'finished': True, 'failed': True}],
              'garbage': [], 'summary': {}}
    ev = tracker.process('ok', 'h', st, result, now=1.0)
    assert [(e['event'], e['jid']) for e in ev] == [('lost', 'j2.2')]
    assert [(j['jid'], j['state']) for j in tracker.jobs()] == [('j1.1', 'running'), ('j2.2', 'lost')]


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
    rec = {'ansible_job_id': 'j4.2', 'started': True, 'finished': False, 'results_file': '/r/j4.2', 'changed': True,
           'asyncops': {'state': 'running', 'started_at': 0.4, 'pid': 99, 'supervisor_pid': 98}}
    ev = tracker.process('ok', 'h', task, rec, now=1.0)
    assert [(e['event'], e['elapsed']) for e in ev] == [('started', 0.6)]


def test_results_are_never_modified():
    tracker = JobTracker(clock=Clock())
    task = launch_task(poll=1)
    st = status_task(action='asyncops.jobs.async_status', jids=['j1.1'])
    progress = {'percent': 10.0, 'current': 1, 'total': 10, 'unit': 'B', 'updated_at': 1.0}
    calls = [
        ('poll', poll_task(), running('j1.1', asyncops={'progress': progress})),
        ('async_ok', task, done('j1.1', asyncops={'progress': progress})),
        ('async_failed', task, {'failed': True, 'msg': 'x', 'async_result': running('j2.2')}),
        ('retry', st, {'jobs': [running('j1.1', asyncops={'state': 'running', 'progress': progress})],
                       'summary': {}}),
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


def test_lost_job_is_failed_even_with_failed_when_false():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', jid='j1.1')
    # failed_when: false on the status task turns the result's "failed" off; the job still failed
    rec = {'ansible_job_id': 'j1.1', 'started': True, 'finished': True, 'failed': False, 'msg': 'gone',
           'asyncops': {'state': 'lost'}}
    ev = tracker.process('ok', 'h', st, rec, now=1.0)[0]
    assert (ev['event'], ev['state'], ev['finished'], ev['failed']) == ('lost', 'lost', True, True)


def test_prune_of_unknown_jobs_is_listed_as_pruned():
    tracker = JobTracker(clock=Clock())
    st = status_task(action='asyncops.jobs.async_status', mode='prune')
    tracker.process('ok', 'h', st, {'removed': ['j8.8']}, now=1.0)
    assert [(j['jid'], j['state'], j['launched']) for j in tracker.jobs()] == [('j8.8', 'pruned', False)]
    assert RecapBuilder.collected(tracker.jobs()[0]) == 'cleaned'


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


# ---------------------------------------------------------------------------
# the result contract: a job's own keys are never the job's state, clock or progress
# ---------------------------------------------------------------------------

FILE_RESULT = {'changed': True, 'path': '/srv/app', 'mode': '0755', 'owner': 'root', 'group': 'root', 'uid': 0,
               'gid': 0, 'size': 4096}
ASYNCOPS = 'asyncops.jobs.async_status'
BUILTIN = 'ansible.builtin.async_status'


@pytest.mark.parametrize('own_state', ['directory', 'killed', 'lost', 'timeout'])
@pytest.mark.parametrize('action', [BUILTIN, ASYNCOPS])
def test_file_job_polled_through_both_status_modules(action, own_state):
    """``ansible.builtin.file`` with ``state: directory`` (or a module whose own ``state`` reads like ours)
    started with ``poll: 0`` and collected by an until loop: the job state is the job's, not its ``state``."""
    tracker = JobTracker(clock=Clock())
    launch = TaskInfo(name='Make the dir', uuid='u-file', action='ansible.builtin.file', async_val=60, poll=0)
    tracker.task_started('h', launch, now=0.0)
    events = tracker.process('ok', 'h', launch, running('j1.1'), now=0.5)
    check = status_task(name='Wait for the dir', action=action, jid='{{ job.ansible_job_id }}')
    tracker.task_started('h', check, now=1.0)
    still_running = running('j1.1', state=own_state, elapsed=999)  # nothing of a running record is the job's yet
    final = done('j1.1', results_file='/r/j1.1', state=own_state, elapsed=999, **FILE_RESULT)
    if action == ASYNCOPS:
        still_running['asyncops'] = {'state': 'running', 'elapsed': 1.5}
        final['asyncops'] = {'state': 'succeeded', 'elapsed': 2.25, 'time_limit': None, 'progress': None}
    events += tracker.process('retry', 'h', check, still_running, now=2.0)
    events += tracker.process('ok', 'h', check, final, now=3.0)
    assert [(e['event'], e['state'], e['finished'], e['failed']) for e in events] == [
        ('started', 'running', False, False), ('retry', 'running', False, False),
        ('status', 'succeeded', True, False)]
    # the job's clock: what the target computed (asyncops.elapsed), else the controller's; never the job's elapsed
    expected = [0.5, 1.5, 2.25] if action == ASYNCOPS else [0.5, 2.0, 3.0]
    assert [e['elapsed'] for e in events] == expected
    assert all(e['progress'] is None for e in events)
    assert [(j['state'], j['collected']) for j in tracker.jobs()] == [('succeeded', True)]
    assert tracker.unreaped() == []


def test_core_poll_progress_under_asyncops():
    """A core running record carries the progress helper's progress under ``asyncops.progress``: polls and
    until-loop checks show it; a module's own top-level ``progress`` is the module's."""
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Build the index', poll=2)
    tracker.task_started('h', task, now=0.0)
    sample = {'percent': 40.0, 'message': 'step 2 of 5', 'current': 2, 'total': 5, 'unit': 'steps',
              'updated_at': 8.5}
    polls = tracker.process('poll', 'h', poll_task(), running('j1.1', asyncops={'progress': sample}), now=9.0)
    later = dict(sample, percent=80.0, current=4, message='step 4 of 5', updated_at=12.5)
    polls += tracker.process('poll', 'h', poll_task(), running('j1.1', asyncops={'progress': later}), now=13.0)
    own = running('j1.1', progress={'percent': 1.0, 'current': 1, 'total': 100, 'unit': 'rows'})
    polls += tracker.process('poll', 'h', poll_task(), own, now=15.0)
    assert [e['progress'] for e in polls] == [sample, later, None]
    assert tracker.get_job('h', 'j1.1').prev_sample == (2.0, 8.5)
    final_progress = dict(sample, percent=100.0, current=5, message='done', updated_at=16.0)
    end = tracker.process('async_ok', 'h', task, done('j1.1', progress='all 5 steps',
                                                      asyncops={'progress': final_progress}), now=16.5)
    assert end[0]['progress'] == final_progress
    # the same record read by ansible.builtin.async_status in an until loop
    tracker.task_started('h', launch_task(uuid='u2'), now=20.0)
    tracker.process('ok', 'h', launch_task(uuid='u2'), running('j2.2'), now=20.5)
    retry = tracker.process('retry', 'h', status_task(jid='j2.2'), running('j2.2', asyncops={'progress': sample}),
                            now=22.0)
    assert retry[0]['progress'] == sample and retry[0]['state'] == 'running'


def test_multi_job_entries_read_by_the_contract():
    """Each per-job entry of a ``jids`` result follows the single-job rule: its own ``state`` is the job's."""
    tracker = JobTracker(clock=Clock())
    st = status_task(action=ASYNCOPS, jids=['j1.1', 'j2.2'], mode='wait')
    result = {'jobs': [done('j1.1', state='directory', asyncops={'state': 'succeeded', 'elapsed': 2.0}),
                       done('j2.2', failed=True, state='absent', asyncops={'state': 'timeout', 'elapsed': 6.0})],
              'summary': {'total': 2}, 'finished': True}
    events = tracker.process('ok', 'h', st, result, now=7.0)
    assert [(e['event'], e['jid'], e['state'], e['failed'], e['elapsed']) for e in events] == [
        ('wait', 'j1.1', 'succeeded', False, 2.0), ('wait', 'j2.2', 'timeout', True, 6.0)]


def test_kill_mode_recognised_by_its_report_under_asyncops():
    """``mode`` templated: a result with ``asyncops.kill`` is a kill; a job's own ``killed`` key is not."""
    tracker = JobTracker(clock=Clock())
    st = status_task(action=ASYNCOPS, jid='j1.1', mode='{{ how }}')
    killed = {'ansible_job_id': 'j1.1', 'started': True, 'finished': True, 'rc': -15,
              'asyncops': {'state': 'killed', 'kill': {'signal': 'SIGTERM', 'kill_grace': 1}}}
    ev = tracker.process('ok', 'h', st, killed, now=1.0)
    assert [(e['event'], e['mode'], e['state']) for e in ev] == [('kill', 'kill', 'killed')]
    own = done('j2.2', killed=True, asyncops={'state': 'succeeded'})
    ev = tracker.process('ok', 'h', status_task(action=ASYNCOPS, jid='j2.2', mode='{{ how }}'), own, now=2.0)
    assert [(e['event'], e['state']) for e in ev] == [('status', 'succeeded')]


def test_single_job_with_its_own_jobs_list():
    """A job whose own result has a ``jobs`` list (polled with either status module) is one job, not many."""
    tracker = JobTracker(clock=Clock())
    own = [{'ansible_job_id': 'j7.7', 'state': 'lost'}, {'name': 'backup', 'state': 'killed'}]
    for action in (BUILTIN, ASYNCOPS):
        result = done('j1.1', jobs=own)
        if action == ASYNCOPS:
            result['asyncops'] = {'state': 'succeeded', 'elapsed': 0.5}
        ev = tracker.process('ok', 'h', status_task(action=action, jid='j1.1'), result, now=1.0)
        assert [(e['event'], e['jid'], e['state']) for e in ev] == [('status', 'j1.1', 'succeeded')]
    assert [j['jid'] for j in tracker.jobs()] == ['j1.1']
