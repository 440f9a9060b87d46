# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every job accounted for: no_log, batch launches, check mode, cleaned-up lookups, leftovers, delegation."""

from __future__ import annotations

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._console import ConsoleFormatter
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._event_log import event_line
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._recap import RecapBuilder
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tasks import TaskInfo
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tracker import JobTracker
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import (
    Clock,
    FakeTask,
    done,
    launch_task,
    poll_task,
    running,
    status_task,
)

A = 'asyncops.jobs.async_status'
SECRET = 'hunter2-s3cr3t'
CENSORED = {'censored': "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
            'changed': True}


def lines_of(tracker, events):
    formatter = ConsoleFormatter()
    return [formatter.line(e) for e in events]


def everything_written(tracker, events):
    """What the log and the console would carry: every event line, console line, recap and cleanup text."""
    builder = RecapBuilder()
    jobs = tracker.jobs()
    parts = [event_line(e) for e in events + tracker.end_events()] + lines_of(tracker, events)
    parts += [builder.table(jobs), builder.cleanup_tasks(tracker.unreaped()), repr(jobs)]
    return '\n'.join(parts)


# ---------------------------------------------------------------------------
# no_log
# ---------------------------------------------------------------------------

def test_censored_end_of_a_polled_task_ends_the_job_its_polls_named():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Sleep quietly', poll=1, async_val=30, no_log=True)
    tracker.task_started('h', task, now=0.0)
    events = tracker.process('poll', 'h', poll_task(), running('j1.1'), now=1.0)
    events += tracker.process('poll', 'h', poll_task(), running('j1.1'), now=2.0)
    # ansible-core censors the end: no jid, no state (the default callback prints "jid=None")
    events += tracker.process('async_ok', 'h', task, dict(CENSORED), now=3.0)
    assert [e['event'] for e in events] == ['poll', 'poll', 'async_ok']
    assert events[-1]['jid'] == 'j1.1' and events[-1]['state'] == 'succeeded' and events[-1]['finished'] is True
    job = tracker.jobs()[0]
    assert (job['state'], job['duration'], job['collected'], job['cleaned']) == ('succeeded', 3.0, True, True)
    assert tracker.unreaped() == [] and tracker.end_events() == []
    assert RecapBuilder().collected(job) == 'cleaned'


def test_censored_end_of_a_loop_ends_each_item_job_in_turn():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Loop quietly', poll=1, async_val=30, no_log=True)
    tracker.task_started('h', task, now=0.0)
    tracker.process('poll', 'h', poll_task(), running('j1.1'), now=1.0)
    tracker.process('async_ok', 'h', task, dict(CENSORED), now=2.0)
    tracker.process('poll', 'h', poll_task(), running('j2.2'), now=3.0)
    tracker.process('async_failed', 'h', task, dict(CENSORED, failed=True), now=4.5)
    states = [(j['jid'], j['state'], j['duration']) for j in tracker.jobs()]
    assert states == [('j1.1', 'succeeded', 2.0), ('j2.2', 'failed', 2.5)]
    assert tracker.unreaped() == []


def test_censored_failure_after_every_poll_is_the_controller_giving_up():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Too slow', poll=2, async_val=4, no_log=True)
    tracker.task_started('h', task, now=0.0)
    tracker.process('poll', 'h', poll_task(), running('j1.1'), now=2.0)
    tracker.process('poll', 'h', poll_task(), running('j1.1'), now=4.0)
    ev = tracker.process('async_failed', 'h', task, dict(CENSORED), now=4.1)
    assert ev[0]['state'] == 'timeout' and ev[0]['finished'] is False
    assert [j['jid'] for j in tracker.unreaped()] == ['j1.1']


def test_censored_end_of_a_job_that_ended_before_its_first_poll():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Quick and quiet', poll=5, async_val=30, no_log=True)
    tracker.task_started('h', task, now=0.0)
    ev = tracker.process('async_ok', 'h', task, dict(CENSORED), now=5.0)
    assert ev[0]['jid'] is None and ev[0]['state'] == 'succeeded' and ev[0]['elapsed'] == 5.0
    job = tracker.jobs()[0]
    assert job['jid'] is None and job['state'] == 'succeeded' and job['cleaned']
    assert tracker.unreaped() == []
    assert '(no_log)' in RecapBuilder().table(tracker.jobs())


def test_polls_of_a_no_log_task_carry_no_progress_nor_message():
    tracker = JobTracker(clock=Clock())
    task = launch_task(name='Quiet steps', poll=1, no_log=True)
    tracker.task_started('h', task, now=0.0)
    rec = running('j1.1', msg=SECRET, asyncops={'progress': {'percent': 50.0, 'message': 'at ' + SECRET}})
    events = tracker.process('poll', 'h', poll_task(), rec, now=1.0)
    assert events[0]['progress'] is None and events[0]['msg'] is None
    assert SECRET not in everything_written(tracker, events)


def test_launch_by_a_no_log_task_is_not_tracked():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Start quietly', uuid='u1', action='asyncops.jobs.run', no_log=True)
    tracker.task_started('h', task, now=0.0)
    assert tracker.process('ok', 'h', task, dict(CENSORED), now=1.0) == []
    assert tracker.jobs() == []


@pytest.mark.parametrize('kind', ['item_ok', 'ok', 'retry'])
def test_no_log_status_tasks_add_no_rows_and_log_no_argument(kind):
    """A no_log wait loop whose jid comes from a no_log launch (possibly from a secret): no event, no row."""
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Wait quietly', uuid='u2', action=A, args={'jid': 'j9.%d' % len(SECRET), 'mode': 'wait'},
                    no_log=True)
    events = []
    for at in (1.0, 2.0):
        events += tracker.process(kind, 'h', task, dict(CENSORED), now=at)
    assert events == [] and tracker.jobs() == []


def test_no_log_status_of_a_known_job_hides_its_outcome_without_a_warning():
    tracker = JobTracker(clock=Clock())
    start = launch_task(name='Start visibly')
    tracker.task_started('h', start, now=0.0)
    tracker.process('ok', 'h', start, running('j1.1'), now=1.0)
    wait = TaskInfo(name='Wait quietly', uuid='u3', action=A, args={'jid': 'j1.1', 'mode': 'wait'}, no_log=True)
    ev = tracker.process('ok', 'h', wait, dict(CENSORED), now=5.0)
    assert [(e['event'], e['jid'], e['state']) for e in ev] == [('wait', 'j1.1', 'unknown')]
    assert ConsoleFormatter().line(ev[0]).endswith('| j1.1 | unknown: the result is hidden by no_log')
    job = tracker.jobs()[0]
    assert job['hidden'] and job['duration'] is None and job['end'] is None
    assert tracker.unreaped() == []
    assert RecapBuilder().collected(job) == 'no_log'


def test_secret_in_command_output_and_progress_never_written():
    """The job's command, output, message and progress hold a secret; every no_log path keeps it out."""
    tracker = JobTracker(clock=Clock())
    events = []
    polled = TaskInfo(name='Polled', uuid='u-p', action='ansible.builtin.command', async_val=30, poll=1, no_log=True,
                      args={'jid': SECRET})
    tracker.task_started('h', polled, now=0.0)
    rec = running('j1.1', cmd='echo ' + SECRET, stdout=SECRET,
                  asyncops={'state': 'running', 'cmd': 'echo ' + SECRET, 'progress': {'percent': 10.0, 'message': SECRET}})
    events += tracker.process('poll', 'h', poll_task(), rec, now=1.0)
    events += tracker.process('async_ok', 'h', polled, dict(CENSORED), now=2.0)
    quiet_wait = TaskInfo(name='Wait', uuid='u-w', action=A, args={'jid': SECRET, 'jids': [SECRET], 'mode': 'wait'},
                          no_log=True)
    events += tracker.process('ok', 'h', quiet_wait, dict(CENSORED), now=3.0)
    events += tracker.process('retry', 'h', quiet_wait, dict(CENSORED, retries=3, attempts=1), now=3.5)
    launch = TaskInfo(name='Launch', uuid='u-l', action='asyncops.jobs.run', no_log=True)
    tracker.task_started('h', launch, now=4.0)
    events += tracker.process('ok', 'h', launch, dict(CENSORED), now=4.5)
    written = everything_written(tracker, events)
    assert 'j1.1' in written  # the job is there ...
    assert SECRET not in written  # ... what no_log hides is not


# ---------------------------------------------------------------------------
# batch launches
# ---------------------------------------------------------------------------

def batch_launch(*jids, **extra):
    result = {'changed': True, 'started': True, 'finished': False, 'ansible_job_ids': list(jids),
              'jobs': [{'ansible_job_id': jid, 'name': 'item%d' % i, 'results_file': '/r/' + jid}
                       for i, jid in enumerate(jids)],
              'asyncops': {'concurrency': 2, 'size': len(jids), 'supervisor_pid': 41}}
    result.update(extra)
    return result


def test_batch_launch_gives_a_started_event_and_row_per_job():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Start the commands in one batch', uuid='u-b', action='asyncops.jobs.run')
    tracker.task_started('h', task, now=100.0)
    events = tracker.process('ok', 'h', task, batch_launch('j1.1', 'j2.2', 'j3.3'), now=101.0)
    assert [(e['event'], e['jid'], e['state'], e['elapsed']) for e in events] == [
        ('started', 'j1.1', 'running', 1.0), ('started', 'j2.2', 'running', 1.0), ('started', 'j3.3', 'running', 1.0)]
    assert ConsoleFormatter().line(events[1]) == \
        'async start | h | Start the commands in one batch | j2.2 | started, 1.0s elapsed'
    # nothing collects them: each is named in the warning and gets its cleanup task
    unreaped = tracker.unreaped(now=110.0)
    assert [j['jid'] for j in unreaped] == ['j1.1', 'j2.2', 'j3.3']
    assert [e['jid'] for e in tracker.end_events(now=110.0)] == ['j1.1', 'j2.2', 'j3.3']
    assert RecapBuilder().cleanup_tasks(unreaped).count('\n    mode: cleanup') == 3


def test_batch_jobs_collected_by_wait_stay_under_their_launch_task_with_real_durations():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Start the batch', uuid='u-b', action='asyncops.jobs.run')
    tracker.task_started('h', task, now=100.0)
    tracker.process('ok', 'h', task, batch_launch('j1.1', 'j2.2'), now=100.5)
    wait = status_task(name='Wait for all', action=A, jids=['j1.1', 'j2.2'], mode='wait', cleanup=True)
    entries = [done('j1.1', asyncops={'state': 'succeeded', 'started_at': 100.3, 'ended_at': 102.3, 'rc': 0,
                                      'reason': 'exited'}),
               done('j2.2', failed=True, asyncops={'state': 'failed', 'started_at': 102.3, 'ended_at': 105.8,
                                                   'rc': 3, 'reason': 'exited'})]
    events = tracker.process('ok', 'h', wait, {'changed': True, 'finished': True, 'jobs': entries}, now=106.0)
    assert [e['task'] for e in events] == ['Wait for all', 'Wait for all']
    jobs = tracker.jobs(now=107.0)
    assert [(j['task'], j['state'], j['duration'], j['rc']) for j in jobs] == [
        ('Start the batch', 'succeeded', 2.0, 0), ('Start the batch', 'failed', 3.5, 3)]
    assert jobs[1]['start'] == pytest.approx(102.3) and jobs[1]['end'] == pytest.approx(105.8)
    assert jobs[1]['reason'] == 'exited'
    assert tracker.unreaped() == []


def test_parallel_role_launch_result_with_a_wait_result_is_not_a_launch():
    """run with batch and wait: true returns final results: nothing to track as launched."""
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Run and wait', uuid='u-bw', action='asyncops.jobs.run')
    result = {'changed': True, 'jobs': [{'name': 'a', 'result': {'rc': 0}}]}
    assert tracker.process('ok', 'h', task, result, now=1.0) == []


# ---------------------------------------------------------------------------
# check mode
# ---------------------------------------------------------------------------

def check_mode_launch(jid):
    return {'changed': True, 'started': False, 'finished': False, 'ansible_job_id': jid,
            'msg': 'would start sleep 5', 'asyncops': {'state': _record.NOT_STARTED, 'check_mode': True}}


def test_check_mode_launch_is_not_started_and_never_unreaped():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Start in check mode', uuid='u-c', action='asyncops.jobs.run')
    tracker.task_started('h', task, now=0.0)
    jid = _record.check_mode_jid()
    ev = tracker.process('ok', 'h', task, check_mode_launch(jid), now=1.0)
    assert [(e['event'], e['jid'], e['state'], e['failed']) for e in ev] == [('started', jid, 'not_started', False)]
    line = ConsoleFormatter().line(ev[0])
    assert 'not started (check mode)' in line and 'running' not in line
    wait = status_task(name='Wait for it', action=A, jid=jid, mode='wait')
    ev = tracker.process('ok', 'h', wait, _record.not_started_result(jid), now=2.0)
    assert [(e['event'], e['state'], e['finished'], e['failed']) for e in ev] == [('wait', 'not_started', False, False)]
    job = tracker.jobs()[0]
    assert (job['state'], job['duration'], job['start'], job['end'], job['cleanup_hint']) == \
        ('not_started', None, None, None, None)
    assert tracker.unreaped() == [] and tracker.end_events() == []
    row = RecapBuilder().table(tracker.jobs()).splitlines()[1].split()
    assert row[-4:] == ['not_started', '-', '0', '-']


def test_check_mode_batch_launch_and_jids_wait():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Batch in check mode', uuid='u-cb', action='asyncops.jobs.run')
    jids = [_record.check_mode_jid() for dummy in range(2)]
    launch = batch_launch(*jids, started=False, asyncops={'state': _record.NOT_STARTED, 'check_mode': True})
    ev = tracker.process('ok', 'h', task, launch, now=1.0)
    assert [(e['event'], e['state']) for e in ev] == [('started', 'not_started')] * 2
    wait = status_task(name='Wait', action=A, jids=jids, mode='wait')
    ev = tracker.process('ok', 'h', wait, {'jobs': [_record.not_started_result(j) for j in jids]}, now=2.0)
    assert [(e['state'], e['failed']) for e in ev] == [('not_started', False)] * 2
    assert tracker.unreaped() == []


# ---------------------------------------------------------------------------
# small untruths
# ---------------------------------------------------------------------------

NOT_FOUND = {'ansible_job_id': 'j1.1', 'started': True, 'finished': True, 'failed': True, 'msg': 'could not find job',
             'asyncops': {'searched': {'dirs': ['/r']}}}


def test_lookup_of_a_cleaned_job_says_not_found_and_keeps_its_duration():
    tracker = JobTracker(clock=Clock())
    start = launch_task()
    tracker.task_started('h', start, now=0.0)
    tracker.process('ok', 'h', start, running('j1.1'), now=0.5)
    tracker.process('ok', 'h', status_task(jid='j1.1'), done('j1.1'), now=8.0)
    tracker.process('ok', 'h', status_task(name='Clean', jid='j1.1', mode='cleanup'),
                    {'ansible_job_id': 'j1.1', 'started': 0, 'finished': 0, 'erased': '/r/j1.1'}, now=10.0)
    ev = tracker.process('failed', 'h', status_task(name='Look again', action=A, jid='j1.1'), dict(NOT_FOUND), now=12.9)
    line = ConsoleFormatter().line(ev[0])
    assert line.endswith('| could not find job, 8.0s elapsed') and 'succeeded' not in line
    assert tracker.jobs(now=13.0)[0]['duration'] == 8.0


def test_lookup_of_a_job_whose_end_was_never_seen_does_not_end_it():
    tracker = JobTracker(clock=Clock())
    start = launch_task()
    tracker.task_started('h', start, now=0.0)
    tracker.process('ok', 'h', start, running('j1.1'), now=0.5)
    ev = tracker.process('failed', 'h', status_task(name='Look', action=A, jid='j1.1'), dict(NOT_FOUND), now=12.9)
    assert ev[0]['state'] == 'unknown' and ev[0]['finished'] is False
    assert ConsoleFormatter().line(ev[0]).endswith('| j1.1 | could not find job')
    job = tracker.jobs(now=20.0)[0]
    assert job['state'] == 'unknown' and job['duration'] is None and job['end'] is None


def test_builtin_cleanup_of_a_run_job_leaves_its_files_and_says_so():
    tracker = JobTracker(clock=Clock())
    start = TaskInfo(name='Start a run job', uuid='u-r', action='asyncops.jobs.run')
    tracker.task_started('h', start, now=0.0)
    launched = running('j1.1', asyncops={'state': 'running', 'pid': 42, 'supervisor_pid': 41, 'kind': 'run'})
    tracker.process('ok', 'h', start, launched, now=0.5)
    tracker.process('ok', 'h', status_task(action=A, jid='j1.1', mode='wait'),
                    done('j1.1', asyncops={'state': 'succeeded', 'started_at': 0.2, 'ended_at': 2.2}), now=3.0)
    ev = tracker.process('ok', 'h', status_task(name='Clean', jid='j1.1', mode='cleanup'),
                         {'ansible_job_id': 'j1.1', 'started': 0, 'finished': 0, 'erased': '/r/j1.1'}, now=4.0)
    assert sorted(ev[0]['sidecars_left']) == ['j1.1.err', 'j1.1.out', 'j1.1.progress']
    assert 'left: %s' % ', '.join(ev[0]['sidecars_left']) in ConsoleFormatter().line(ev[0])
    job = tracker.jobs()[0]
    assert RecapBuilder().collected(job) == 'files left'
    assert 'asyncops.jobs.async_status with jid: j1.1 and mode: cleanup' in job['cleanup_hint']
    assert [j['jid'] for j in tracker.leftovers()] == ['j1.1'] and tracker.unreaped() == []
    # the collection's cleanup removes them
    tracker.process('ok', 'h', status_task(name='Clean all', action=A, jid='j1.1', mode='cleanup'),
                    {'ansible_job_id': 'j1.1', 'started': False, 'finished': False, 'erased': '/r/j1.1',
                     'asyncops': {'removed_files': ['/r/j1.1.out'], 'state': None}}, now=5.0)
    assert tracker.leftovers() == [] and RecapBuilder().collected(tracker.jobs()[0]) == 'cleaned'


def test_delegated_task_shows_host_arrow_delegate():
    tracker = JobTracker(clock=Clock())
    task = TaskInfo.from_task(FakeTask('Start over there', 'u-d', 'ansible.builtin.command', async_val=60, poll=0,
                                       delegate_to='h4'))
    tracker.task_started('h1', task, now=0.0)
    ev = tracker.process('ok', 'h1', task, running('j1.1'), now=1.0)
    assert ConsoleFormatter().line(ev[0]).startswith('async start | h1 -> h4 | Start over there | j1.1 |')
    table = RecapBuilder().table(tracker.jobs())
    assert table.splitlines()[1].startswith('h1 -> h4  Start over there')
    assert 'j1.1 on h1 -> h4 (task' in RecapBuilder().warning_text(tracker.unreaped())
    assert 'delegate_to: h4' in RecapBuilder().cleanup_tasks(tracker.unreaped())


def test_summary_has_the_timeline_fields():
    tracker = JobTracker(clock=Clock())
    start = launch_task()
    tracker.task_started('h', start, now=10.0)
    tracker.process('ok', 'h', start, running('j1.1'), now=11.0)
    tracker.process('ok', 'h', status_task(jid='j1.1'), done('j1.1', failed=True, rc=7), now=16.0)
    job = tracker.jobs(now=20.0)[0]
    got = (job['start'], job['end'], job['rc'], job['msg'], job['state'])
    assert got == (10.0, 16.0, 7, 'non-zero return code', 'failed')
    assert job['cleanup_hint'] is None and job['reason'] is None
    # a job never collected: what is left and the task that removes it
    tracker.task_started('h', start, now=30.0)
    tracker.process('ok', 'h', start, running('j2.2'), now=31.0)
    forgotten = tracker.jobs(now=40.0)[1]
    assert forgotten['end'] is None and forgotten['launched'] and not forgotten['collected']
    assert 'mode: kill' in forgotten['cleanup_hint'] and 'jid: j2.2 and mode: cleanup' in forgotten['cleanup_hint']


def test_skipped_status_of_a_check_mode_jid_is_logged_and_other_skips_are_not():
    """asyncops.jobs.async_status reports a check-mode jid skipped (v2_runner_on_skipped); a task skipped by
    its ``when`` says nothing about any job."""
    tracker = JobTracker(clock=Clock())
    task = TaskInfo(name='Start in check mode', uuid='u-c', action='asyncops.jobs.run')
    jid = _record.check_mode_jid()
    tracker.process('ok', 'h', task, check_mode_launch(jid), now=1.0)
    skipped_by_when = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}
    assert tracker.process('skipped', 'h', status_task(action=A, jid=jid), skipped_by_when, now=1.5) == []
    assert tracker.process('skipped', 'h', launch_task(), skipped_by_when, now=1.6) == []
    ev = tracker.process('skipped', 'h', status_task(name='Wait', action=A, jid=jid, mode='wait'),
                         _record.not_started_result(jid), now=2.0)
    assert [(e['event'], e['jid'], e['state'], e['failed']) for e in ev] == [('wait', jid, 'not_started', False)]
