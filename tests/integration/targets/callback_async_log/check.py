# -*- coding: utf-8 -*-
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the asyncops.jobs.async_log log file and console output, one sub-command per scenario.

Usage: check.py SCENARIO LOG CONSOLE [ARGS...]
Exits non-zero with a message on the first failed check.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time

import yaml

TIMEOUT_MSG = 'did not complete within the requested time'
UNREAPED_WARNING = 'never collected (no final status, no cleanup)'
# Generous bounds: 2 cores and a loaded machine.
SLACK = 0.05
UPPER = 120.0


class CheckFailed(Exception):
    pass


def ensure(condition, message, *context):
    if not condition:
        detail = ''.join('\n  %s' % (c,) for c in context)
        raise CheckFailed(message + detail)


def read_log(path):
    events = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            ensure(line.endswith('\n'), 'line %d of %s is not terminated' % (number, path))
            try:
                events.append(json.loads(line))
            except ValueError as exc:
                raise CheckFailed('line %d of %s is not JSON: %s: %r' % (number, path, exc, line))
    return events


def last_run(events, playbook):
    """Events of the newest run of ``playbook`` (runs append to the same file)."""
    mine = [e for e in events if e.get('playbook') == playbook]
    ensure(mine, 'no event of %s in the log' % playbook)
    run_id = mine[-1]['run_id']
    return [e for e in events if e.get('run_id') == run_id]


def flat(text):
    """Text with every run of whitespace made one space (warnings are wrapped to the terminal width)."""
    return ' '.join(text.split())


def read_console(path):
    with open(path) as f:
        return f.read()


def of_task(events, task, event=None):
    return [e for e in events if e.get('task') == task and (event is None or e['event'] == event)]


def one_jid(events, task):
    jids = sorted(set(e['jid'] for e in of_task(events, task)))
    ensure(len(jids) == 1, 'expected one job for task %r, got %r' % (task, jids))
    return jids[0]


def check_common(events):
    for e in events:
        for key in ('time', 'event', 'playbook', 'play', 'task', 'task_uuid', 'host', 'jid', 'attempt', 'elapsed',
                    'progress', 'finished', 'failed', 'state', 'msg', 'run_id'):
            ensure(key in e, 'event lacks %r' % key, e)
        ensure(re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$', e['time']), 'bad time', e)
        ensure(e['host'] == 'localhost', 'bad host', e)
        if e['elapsed'] is not None:
            ensure(0 <= e['elapsed'] < UPPER, 'elapsed out of range', e)
    epochs = [e['epoch'] for e in events]
    ensure(epochs == sorted(epochs), 'events are not in time order', epochs)


def poll_lines(console, task, jid, label='poll'):
    pattern = re.compile(r'^async %s #(\d+)(?:/\d+)? \| localhost \| %s \| %s \| (.*)$'
                         % (label, re.escape(task), re.escape(jid)), re.M)
    return pattern.findall(console)


def check_polled_task(events, console, task, min_seconds, poll_interval=1.0):
    jid = one_jid(events, task)
    polls = of_task(events, task, 'poll')
    ends = of_task(events, task, 'async_ok')
    ensure(len(ends) == 1, 'expected one async_ok for %s' % task, ends)
    end = ends[0]
    ensure(polls, 'no poll event for %s' % task)
    ensure([p['attempt'] for p in polls] == list(range(1, len(polls) + 1)), 'poll attempts are not 1..n', polls)
    elapsed = [p['elapsed'] for p in polls] + [end['elapsed']]
    ensure(all(a < b for a, b in zip(elapsed, elapsed[1:])), 'elapsed does not grow', elapsed)
    for p in polls:
        # poll k comes after k sleeps of the poll interval
        ensure(p['elapsed'] >= p['attempt'] * poll_interval - SLACK, 'poll elapsed below its sleeps', p)
        ensure(p['state'] == 'running' and p['finished'] is False and p['failed'] is False, 'bad poll', p)
    ensure(end['attempt'] == len(polls) + 1, 'async_ok attempt is not polls + 1', end)
    ensure(end['elapsed'] >= min_seconds - SLACK, 'job shorter than its command', end)
    ensure(end['state'] == 'succeeded' and end['finished'] is True and end['failed'] is False, 'bad end', end)
    lines = poll_lines(console, task, jid)
    ensure(len(lines) == len(polls), 'console poll lines (%d) != poll events (%d) for %s'
           % (len(lines), len(polls), task), lines)
    ensure([int(n) for n, dummy in lines] == [p['attempt'] for p in polls], 'console poll numbers', lines)
    for (dummy, text), p in zip(lines, polls):
        m = re.match(r'^running, ([\d.]+)s elapsed$', text)
        ensure(m and abs(float(m.group(1)) - p['elapsed']) <= 0.051, 'poll line does not match the log', text, p)
    ensure(re.search(r'^async done \| localhost \| %s \| %s \| succeeded after ' % (re.escape(task), re.escape(jid)),
                     console, re.M), 'no done line for %s' % task)
    return jid, polls, end


def recap_row(console, jid):
    rows = [line.split() for line in console.splitlines() if (' %s ' % jid) in line and line.startswith('localhost')]
    ensure(len(rows) == 1, 'expected one recap row for %s' % jid, rows)
    return rows[0]


def scenario_polled(log, console, min_polls='2', with_loop='yes'):
    events = last_run(read_log(log), 'polled.yml')
    text = read_console(console)
    check_common(events)
    ensure('ASYNC JOBS RECAP' in text, 'no recap')
    jid, polls, end = check_polled_task(events, text, 'Sleep with polling', 4.0)
    ensure(len(polls) >= int(min_polls), 'expected at least %s polls' % min_polls, polls)
    row = recap_row(text, jid)
    ensure(row[-4:-3] == ['succeeded'] and row[-2] == str(len(polls) + 1), 'recap row', row)
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')
    if with_loop == 'yes':
        task = 'Sleep in a loop with polling'
        jids = []
        for e in of_task(events, task):
            if e['jid'] not in jids:
                jids.append(e['jid'])
        ensure(len(jids) == 2, 'expected two jobs for the loop', jids)
        first_end, second_end = [[e for e in of_task(events, task, 'async_ok') if e['jid'] == j][0] for j in jids]
        for j in jids:
            mine = [e for e in of_task(events, task, 'poll') if e['jid'] == j]
            ensure([p['attempt'] for p in mine] == list(range(1, len(mine) + 1)), 'loop poll attempts', mine)
        ensure(first_end['elapsed'] >= 2.0 - SLACK and second_end['elapsed'] >= 2.0 - SLACK, 'loop elapsed',
               first_end, second_end)
        # the second item's job has its own clock: it started when the first one ended
        ensure(second_end['elapsed'] <= second_end['epoch'] - first_end['epoch'] + SLACK,
               'second loop job timed from the task start', first_end, second_end)


def scenario_until(log, console):
    events = last_run(read_log(log), 'poll0_until.yml')
    text = read_console(console)
    check_common(events)
    started = of_task(events, 'Start a job without polling', 'started')
    ensure(len(started) == 1, 'expected one started event', started)
    jid = started[0]['jid']
    ensure(re.match(r'^j?\d+\.\d+$', jid), 'bad jid', jid)
    retries = of_task(events, 'Wait for the job', 'retry')
    final = of_task(events, 'Wait for the job', 'status')
    ensure(len(retries) >= 2, 'expected at least 2 retries', retries)
    ensure({e['jid'] for e in retries + final} == {jid}, 'retries not tied to the jid', retries)
    ensure([e['attempt'] for e in retries] == list(range(1, len(retries) + 1)), 'retry attempts', retries)
    ensure(len(final) == 1 and final[0]['attempt'] == len(retries) + 1, 'final status attempt', final)
    ensure(final[0]['state'] == 'succeeded' and final[0]['finished'] is True, 'final status', final)
    chain = [started[0]['elapsed']] + [e['elapsed'] for e in retries] + [final[0]['elapsed']]
    ensure(all(a < b for a, b in zip(chain, chain[1:])), 'elapsed does not grow', chain)
    ensure(final[0]['elapsed'] >= 3.0 - SLACK, 'job shorter than its sleep 3', final)
    for e in retries:
        ensure(e['state'] == 'running' and e['finished'] is False, 'bad retry', e)
    cleanup = of_task(events, 'Remove the job record', 'cleanup')
    ensure(len(cleanup) == 1 and cleanup[0]['jid'] == jid, 'cleanup event', cleanup)
    lines = poll_lines(text, 'Wait for the job', jid, label='retry')
    ensure(len(lines) == len(retries), 'console retry lines (%d) != retries (%d)' % (len(lines), len(retries)), lines)
    ensure(re.search(r'^async start \| localhost \| Start a job without polling \| %s \| started' % re.escape(jid),
                     text, re.M), 'no start line')
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')
    row = recap_row(text, jid)
    ensure(row[-1] == 'cleaned', 'recap row', row)


def scenario_timeout(log, console):
    events = last_run(read_log(log), 'timeout.yml')
    text = read_console(console)
    check_common(events)
    task = 'Outlive the time limit'
    jid = one_jid(events, task)
    failed = of_task(events, task, 'async_failed')
    ensure(len(failed) == 1, 'expected one async_failed', failed)
    ev = failed[0]
    if ev['finished'] and ev['msg'] == 'Timeout exceeded':
        # a machine so loaded that the single poll came after async_wrapper had killed the job (at 10 s)
        # and written its own time-out record: the other way a time-out ends
        ensure(ev['state'] == 'timeout' and ev['failed'] is True, 'wrapper timeout event', ev)
        ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')
        sys.stderr.write('NOTE: async_wrapper ended the job before the controller gave up\n')
        return
    ensure(ev['state'] == 'timeout' and ev['failed'] is True and ev['finished'] is False, 'timeout event', ev)
    ensure(TIMEOUT_MSG in ev['msg'] and ev['msg'].endswith('- 6s'), 'timeout msg', ev)
    ensure(ev['elapsed'] >= 6.0 - SLACK, 'timed out before the poll interval', ev)
    ensure(re.search(r'^async failed \| localhost \| %s \| %s \| timeout after [\d.]+s: .*%s'
                     % (re.escape(task), re.escape(jid), TIMEOUT_MSG), text, re.M), 'no timeout line')
    ensure(re.search(r'never collected.*%s on localhost' % re.escape(jid), flat(text)),
           'the unreaped warning does not name %s' % jid)
    ensure('# %s may still be running on localhost: stop it first with mode: kill' % jid in text, 'no kill note')
    unreaped = [e for e in events if e['event'] == 'unreaped']
    ensure([e['jid'] for e in unreaped] == [jid], 'unreaped events', unreaped)


def scenario_failed(log, console):
    events = last_run(read_log(log), 'failed.yml')
    text = read_console(console)
    check_common(events)
    task = 'Fail in the background'
    jid = one_jid(events, task)
    failed = of_task(events, task, 'async_failed')
    ensure(len(failed) == 1, 'expected one async_failed', failed)
    ev = failed[0]
    ensure(ev['state'] == 'failed' and ev['failed'] is True and ev['finished'] is True, 'failed event', ev)
    ensure('non-zero return code' in ev['msg'], 'failed msg', ev)
    ensure(ev['elapsed'] >= 1.0 - SLACK, 'job shorter than sleep 1', ev)
    ensure(re.search(r'^async failed \| localhost \| %s \| %s \| failed after ' % (re.escape(task), re.escape(jid)),
                     text, re.M), 'no failed line')
    ensure(recap_row(text, jid)[-4] == 'failed', 'recap row')
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')


def _cleanup_snippet(text):
    marker = text.find('ASYNC JOBS CLEANUP')
    ensure(marker >= 0, 'no cleanup section')
    lines = text[marker:].splitlines()[1:]
    snippet = []
    for line in lines:
        if not line.strip():
            break
        snippet.append(line)
    return '\n'.join(snippet)


def scenario_unreaped(log, console, async_dir, playbook_out, module):
    events = last_run(read_log(log), 'unreaped.yml')
    text = read_console(console)
    check_common(events)
    jid = one_jid(events, 'Start and forget')
    ensure([e['event'] for e in of_task(events, 'Start and forget')] == ['started', 'unreaped'], 'events', events)
    ensure('[WARNING]: asyncops.jobs.async_log: 1 async job started in this run was never collected'
           in flat(text), 'no unreaped warning')
    ensure('%s on localhost (task "Start and forget", running)' % jid in flat(text), 'warning does not name the job')
    snippet = _cleanup_snippet(text)
    tasks = yaml.safe_load(snippet)
    expected = [{
        'name': 'Clean up async job %s of task "Start and forget" on localhost' % jid,
        'asyncops.jobs.async_status': {'jid': jid, 'mode': 'cleanup'},
        'delegate_to': 'localhost',
        'vars': {'ansible_async_dir': async_dir},
    }]
    ensure(tasks == expected, 'cleanup task', snippet, expected)
    ensure('# %s may still be running on localhost: stop it first with mode: kill' % jid in text, 'no kill note')
    ensure(os.path.exists(os.path.join(async_dir, jid)), 'job record missing before the cleanup')
    if module != 'asyncops.jobs.async_status':
        tasks[0][module] = tasks[0].pop('asyncops.jobs.async_status')
    # mode: cleanup removes the record of a running job too, and the job's wrapper then writes its final record
    # again: do what the note above the printed task says and wait for the job's end first.
    wait = {'name': 'Wait for job %s to end' % jid, 'register': 'job_end',
            'delegate_to': tasks[0]['delegate_to'], 'vars': dict(tasks[0]['vars'])}
    if module == 'asyncops.jobs.async_status':
        # the job runs with async: 60, so its wrapper ends it within this wait
        wait[module] = {'jid': jid, 'mode': 'wait', 'wait_timeout': 120}
        wait['failed_when'] = 'not job_end.finished'
    else:
        wait[module] = {'jid': jid}
        wait.update(until='job_end.finished', retries=120, delay=1)
    tasks.insert(0, wait)
    with open(playbook_out, 'w') as f:
        yaml.safe_dump([{'name': 'Clean up what async_log reported', 'hosts': 'localhost', 'gather_facts': False,
                         'tasks': tasks}], f, default_flow_style=False)
    print(jid)


def scenario_record_gone(async_dir, jid):
    ensure(not os.path.exists(os.path.join(async_dir, jid)), 'the cleanup task left %s behind' % jid)


def scenario_progress(log, console, bar_mode='bar', until='yes'):
    events = last_run(read_log(log), 'progress.yml')
    text = read_console(console)
    check_common(events)
    task = 'Work in steps with polling'
    jid = one_jid(events, task)
    polls = of_task(events, task, 'poll')
    with_progress = [p for p in polls if p['progress']]
    ensure(len(with_progress) >= 2, 'fewer than 2 polls carried progress', polls)
    percents = [p['progress']['percent'] for p in with_progress]
    ensure(all(0.0 <= x <= 100.0 for x in percents), 'percent out of range', percents)
    ensure(percents == sorted(percents), 'progress went backwards', percents)
    for p in with_progress:
        prog = p['progress']
        ensure(prog['unit'] == 'steps' and prog['total'] == int(prog['total']), 'progress fields', prog)
        ensure(abs(prog['percent'] - 100.0 * prog['current'] / prog['total']) < 0.01, 'percent vs done/total', prog)
    lines = poll_lines(text, task, jid)
    ensure(len(lines) == len(polls), 'console poll lines (%d) != polls (%d)' % (len(lines), len(polls)), lines)
    progress_lines = [t for dummy, t in lines if '%' in t]
    ensure(len(progress_lines) == len(with_progress), 'progress lines', lines)
    for line in progress_lines:
        if bar_mode == 'bar':
            ensure(re.match(r'^\[[#-]{20}\] +\d+\.\d% +\d+/\d+ steps +', line), 'progress bar line', line)
        else:
            ensure('[' not in line and re.match(r'^ *\d+\.\d% +\d+/\d+ steps +', line), 'bar-less line', line)
        ensure(re.search(r'step \d+ of \d+ \| [\d.]+s elapsed$', line), 'progress message and elapsed', line)
    if until == 'yes':
        task = 'Wait for the steps'
        retries = of_task(events, task, 'retry')
        ensure(len([e for e in retries if e['progress']]) >= 2, 'fewer than 2 retries carried progress', retries)
        final = of_task(events, task, 'status')
        # the job's own "progress" key (a string) is the module's; the progress is under asyncops.progress
        ensure(len(final) == 1 and isinstance(final[0]['progress'], dict)
               and final[0]['progress']['percent'] == 100.0, 'final progress', final)


def scenario_quiet(log, console, playbook):
    """No console line for jobs without progress (verbosity 0), the log still has every event."""
    events = last_run(read_log(log), playbook)
    text = read_console(console)
    ensure([e for e in events if e['event'] == 'poll'], 'no poll event in the log')
    ensure(not re.search(r'^async (poll|done) .*\| Sleep with polling \|', text, re.M), 'quiet mode printed a line')


def scenario_silent(log, console, playbook):
    """console, recap and unreaped_warning off: nothing on the console, everything in the log."""
    events = last_run(read_log(log), playbook)
    text = read_console(console)
    ensure([e['event'] for e in events] == ['started', 'unreaped'], 'log events', events)
    for needle in ('async start', 'ASYNC JOBS RECAP', 'ASYNC JOBS CLEANUP', UNREAPED_WARNING):
        ensure(needle not in flat(text), '%r printed although disabled' % needle)


def scenario_no_recap(log, console, playbook):
    """recap and unreaped_warning off, console on."""
    events = last_run(read_log(log), playbook)
    text = read_console(console)
    jid = events[0]['jid']
    ensure(re.search(r'^async start \| localhost \| Start and forget \| %s' % re.escape(jid), text, re.M),
           'console line missing')
    for needle in ('ASYNC JOBS RECAP', 'ASYNC JOBS CLEANUP', UNREAPED_WARNING):
        ensure(needle not in flat(text), '%r printed although disabled' % needle)


def scenario_streams(stdout_file, stderr_file):
    out = read_console(stdout_file)
    err = read_console(stderr_file)
    ensure('localhost | SUCCESS' in out, 'output of the minimal stdout callback missing')
    ensure(not re.search(r'^async (poll|done) ', out, re.M) and 'ASYNC JOBS RECAP' not in out,
           'console lines on stdout')
    ensure(re.search(r'^async done ', err, re.M) and 'ASYNC JOBS RECAP' in err, 'console lines not on stderr')


def scenario_release(log, offset, release_file, event, task, count, progress='any', timeout='300'):
    """Create ``release_file`` once the log holds ``count`` ``event`` events of ``task`` written after
    byte ``offset`` (with progress, if ``progress`` is ``progress``). Runs in the background of runme.sh and
    lets a test job run exactly as long as the test needs, however loaded the machine."""
    deadline = time.time() + float(timeout)
    offset = int(offset)
    found = 0
    try:
        while time.time() < deadline:
            found = 0
            if os.path.exists(log):
                with open(log, 'rb') as f:
                    f.seek(offset)
                    data = f.read()
                for line in data.split(b'\n')[:-1]:  # complete lines only
                    e = json.loads(line.decode('utf-8'))
                    if e.get('event') == event and e.get('task') == task and (progress != 'progress' or e.get('progress')):
                        found += 1
            if found >= int(count):
                return
            time.sleep(0.2)
        raise CheckFailed('timed out waiting for %s %s events of %r (found %d)' % (count, event, task, found))
    finally:
        with open(release_file, 'w') as f:
            f.write('released\n')


def scenario_file(log, min_runs):
    events = read_log(log)
    mode = stat.S_IMODE(os.stat(log).st_mode)
    ensure(mode == 0o600, 'log file mode is %o' % mode)
    runs = set(e['run_id'] for e in events)
    ensure(len(runs) >= int(min_runs), 'expected %s runs in %s, found %d' % (min_runs, log, len(runs)))


def scenario_count(log, expected):
    count = len(read_log(log)) if os.path.exists(log) else 0
    ensure(count == int(expected), '%s has %d events, expected %s' % (log, count, expected))


def scenario_lines(log):
    print(len(read_log(log)) if os.path.exists(log) else 0)


def scenario_own_state(log, console):
    """A file job (its own result says state: directory) collected with each status module."""
    events = last_run(read_log(log), 'own_state.yml')
    text = read_console(console)
    check_common(events)
    jid = of_task(events, 'Make a directory in the background', 'started')[0]['jid']
    for task in ('Wait for the directory with ansible.builtin.async_status',
                 'Read the directory job with asyncops.jobs.async_status'):
        final = of_task(events, task, 'status')
        ensure(len(final) == 1 and final[0]['jid'] == jid, 'one final status of %s' % task, final)
        ensure(final[0]['state'] == 'succeeded' and final[0]['finished'] is True and final[0]['failed'] is False,
               'the job state of %s' % task, final)
        ensure(re.search(r'^async status #\d+ \| localhost \| %s \| %s \| succeeded, ' % (re.escape(task), re.escape(jid)),
                         text, re.M), 'console line of %s' % task)
    ensure(all(e['state'] in ('running', 'succeeded') for e in events if e['jid'] == jid), 'a state not the job\'s',
           events)
    cleanups = of_task(events, "Remove the directory job's record", 'cleanup')
    ensure(len(cleanups) == 1 and cleanups[0]['state'] == 'succeeded', 'cleanup event', cleanups)
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')


def scenario_asyncops(log, console):
    events = last_run(read_log(log), 'asyncops_status.yml')
    text = read_console(console)
    check_common(events)
    first, second = [e['jid'] for e in of_task(events, 'Start two short jobs', 'started')]
    retries = of_task(events, 'Poll the first job with asyncops.jobs.async_status', 'retry')
    final = of_task(events, 'Poll the first job with asyncops.jobs.async_status', 'status')
    ensure(retries and {e['jid'] for e in retries} == {first}, 'retries tied to the first job', retries)
    ensure([e['attempt'] for e in retries] == list(range(1, len(retries) + 1)), 'retry attempts', retries)
    ensure(len(final) == 1 and final[0]['state'] == 'succeeded', 'final status', final)
    waits = of_task(events, 'Wait for both jobs and clean up', 'wait')
    ensure(sorted(e['jid'] for e in waits) == sorted([first, second]), 'wait events', waits)
    ensure(all(e['finished'] for e in waits), 'wait events not finished', waits)
    long_jid = of_task(events, 'Start a long job', 'started')[0]['jid']
    kills = of_task(events, 'Kill the long job', 'kill')
    ensure(len(kills) == 1 and kills[0]['jid'] == long_jid and kills[0]['state'] == 'killed', 'kill event', kills)
    cleanups = of_task(events, "Remove the killed job's record", 'cleanup')
    ensure(len(cleanups) == 1 and cleanups[0]['jid'] == long_jid, 'cleanup event', cleanups)
    lost = of_task(events, 'Check the job whose process is gone', 'lost')
    ensure(len(lost) == 1 and lost[0]['state'] == 'lost' and lost[0]['failed'] is True, 'lost event', lost)
    prunes = of_task(events, 'Prune finished records', 'prune')
    ensure(prunes, 'no prune event')
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')
    ensure(re.search(r'^async LOST \| localhost \| Check the job whose process is gone \|', text, re.M),
           'no console line for the lost job')


def recap_rows(console):
    """The rows of the ASYNC JOBS RECAP table (split on two or more spaces: a host may read 'h1 -> h4')."""
    marker = console.find('ASYNC JOBS RECAP')
    ensure(marker >= 0, 'no recap')
    lines = console[marker:].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith('localhost'):
            break
        rows.append(re.split(r'\s{2,}', line.strip()))
    return rows


def recap_row_of(console, jid):
    rows = [row for row in recap_rows(console) if row[2] == jid]
    ensure(len(rows) == 1, 'expected one recap row for %s' % jid, recap_rows(console))
    return dict(zip(('host', 'task', 'jid', 'state', 'duration', 'polls', 'collected'), rows[0]))


def seconds(text):
    m = re.match(r'^([\d.]+)s$', text)
    ensure(m, 'not a duration in seconds', text)
    return float(m.group(1))


def scenario_no_log(log, console, secret):
    """Tasks with no_log: every job accounted for, nothing they hide written anywhere."""
    with open(log) as f:
        raw = f.read()
    text = read_console(console)
    ensure(secret not in raw, 'the secret is in the log')
    ensure(secret not in text, 'the secret is on the console')
    events = last_run(read_log(log), 'no_log.yml')
    check_common(events)
    for task in ('Sleep with polling and no_log', 'Report secret progress with no_log'):
        jid = one_jid(events, task)
        polls = of_task(events, task, 'poll')
        ends = of_task(events, task, 'async_ok')
        ensure(polls, 'no poll of %s' % task)
        ensure(all(p['progress'] is None and p['msg'] is None for p in polls), 'a poll of %s carries what no_log hides'
               % task, polls)
        # ansible-core censored the end (jid=None): it still ends the job the polls named
        ensure(len(ends) == 1 and ends[0]['jid'] == jid and ends[0]['state'] == 'succeeded' and ends[0]['finished'],
               'the censored end of %s' % task, ends)
        row = recap_row_of(text, jid)
        ensure(row['state'] == 'succeeded' and row['collected'] == 'cleaned', 'recap row of %s' % task, row)
    for task in ('Start a run job with no_log', 'Wait for it in a no_log loop', 'Remove its files quietly'):
        ensure(not of_task(events, task), 'events of %s, whose job id ansible-core hid' % task, of_task(events, task))
    plain = of_task(events, 'Start a job in plain sight', 'started')
    ensure(len(plain) == 1, 'started event of the plain job', plain)
    jid = plain[0]['jid']
    waits = of_task(events, 'Collect it with no_log')
    ensure([(e['event'], e['jid'], e['msg']) for e in waits] == [('wait', jid, 'the result is hidden by no_log')],
           'the no_log wait of the plain job', waits)
    ensure(recap_row_of(text, jid)['collected'] == 'no_log', 'recap row of the plain job')
    ensure(len(recap_rows(text)) == 3, 'recap rows', recap_rows(text))
    ensure(UNREAPED_WARNING not in flat(text) and 'ASYNC JOBS CLEANUP' not in text, 'unexpected unreaped warning')
    ensure(not [e for e in events if e['event'] == 'unreaped'], 'unreaped events')


def task_named(names, short):
    found = [name for name in names if name == short or name.endswith(' : ' + short)]
    ensure(len(found) == 1, 'no single task named %r' % short, sorted(names))
    return found[0]


def scenario_batch(log, console):
    """Batch launches: a started event, a console line and a recap row per job, under the launching task."""
    events = last_run(read_log(log), 'batch.yml')
    text = read_console(console)
    check_common(events)
    launches = {
        'Start a batch of two': ('Wait for the batch', [1.0, 2.0]),
        'Start the commands in one batch': ('Wait for all commands to end', [1.0, 2.0]),
        'Start a batch and forget it': (None, [None, None]),
    }
    names = set(e['task'] for e in events if e.get('task'))
    for short, (short_wait, minimum) in launches.items():
        # the parallel role's tasks are named "asyncops.jobs.parallel : <name>"
        task = task_named(names, short)
        wait_task = task_named(names, short_wait) if short_wait else None
        started = of_task(events, task, 'started')
        ensure(len(started) == 2, 'two started events of %s' % task, started)
        for ev, least in zip(started, minimum):
            jid = ev['jid']
            ensure(ev['state'] == 'running', 'started state', ev)
            ensure(re.search(r'^async start \| localhost \| %s \| %s \| started' % (re.escape(task), re.escape(jid)),
                             text, re.M), 'no start line for %s' % jid)
            row = recap_row_of(text, jid)
            ensure(row['task'] == (task if len(task) <= 40 else task[:37] + '...'), 'recap row not under its launch task',
                   row)
            if wait_task is None:
                ensure(row['collected'] == 'NO', 'a forgotten batch job collected', row)
                continue
            waits = [e for e in of_task(events, wait_task) if e['jid'] == jid]
            ensure(waits and waits[-1]['state'] == 'succeeded', 'the wait of %s' % jid, waits)
            ensure(row['state'] == 'succeeded' and row['collected'] == 'cleaned', 'recap row', row)
            ensure(seconds(row['duration']) >= least - SLACK, 'duration shorter than the command', row)
    forgotten = [e['jid'] for e in of_task(events, 'Start a batch and forget it', 'started')]
    unreaped = [e['jid'] for e in events if e['event'] == 'unreaped']
    ensure(unreaped == forgotten, 'unreaped events', unreaped, forgotten)
    ensure('2 async jobs started in this run were never collected' in flat(text), 'no unreaped warning')
    tasks = yaml.safe_load(_cleanup_snippet(text))
    ensure(sorted(t['asyncops.jobs.async_status']['jid'] for t in tasks) == sorted(forgotten), 'cleanup tasks', tasks)


def scenario_untruths(log, console, async_dir, playbook_out):
    """A lookup after a cleanup, the files the built-in cleanup leaves, a delegated job."""
    events = last_run(read_log(log), 'untruths.yml')
    text = read_console(console)
    check_common(events)
    jid = one_jid(events, 'Start a run job')
    lookup = of_task(events, 'Look the job up again')
    ensure(len(lookup) == 1 and lookup[0]['msg'] == 'could not find job', 'lookup event', lookup)
    line = re.search(r'^async status #\d+ \| localhost \| Look the job up again \| %s \| (.*)$' % re.escape(jid),
                     text, re.M)
    ensure(line and line.group(1).startswith('could not find job'), 'lookup line', line and line.group(0))
    waited = of_task(events, 'Wait for the run job', 'wait')[0]
    row = recap_row_of(text, jid)
    # the duration is the job's, not stretched to the lookup
    ensure(abs(seconds(row['duration']) - waited['elapsed']) <= 0.051, 'recap duration', row, waited)
    ensure(row['state'] == 'succeeded' and row['collected'] == 'files left', 'recap row', row)
    names = ['%s.%s' % (jid, kind) for kind in ('out', 'err', 'progress')]
    for name in names:
        ensure(os.path.exists(os.path.join(async_dir, name)), '%s missing: not left by the built-in cleanup' % name)
        ensure(name in text.split('ASYNC JOBS RECAP')[1], 'the recap does not name %s' % name)
    ensure('remove them with asyncops.jobs.async_status with jid: %s and mode: cleanup' % jid in flat(text),
           'the recap does not name the task that removes them')
    tasks = yaml.safe_load(_cleanup_snippet(text))
    mine = [t for t in tasks if t['asyncops.jobs.async_status']['jid'] == jid]
    ensure(len(mine) == 1 and mine[0]['asyncops.jobs.async_status']['mode'] == 'cleanup', 'cleanup task', tasks)
    with open(playbook_out, 'w') as f:
        yaml.safe_dump([{'name': 'Remove what the built-in left', 'hosts': 'localhost', 'gather_facts': False,
                         'tasks': mine}], f, default_flow_style=False)
    djid = one_jid(events, 'Start a job on a delegate')
    ensure(re.search(r'^async start \| localhost -> asyncops-delegate \| Start a job on a delegate \| %s \|'
                     % re.escape(djid), text, re.M), 'no delegated start line')
    ensure(re.search(r'^async wait #\d+ \| localhost -> asyncops-delegate \| Wait for the delegated job \| %s \| '
                     'succeeded' % re.escape(djid), text, re.M), 'no delegated wait line')
    drow = recap_row_of(text, djid)
    ensure(drow['host'] == 'localhost -> asyncops-delegate' and drow['collected'] == 'cleaned', 'delegated row', drow)
    ensure(UNREAPED_WARNING not in flat(text), 'unexpected unreaped warning')
    print(jid)


def scenario_files_gone(async_dir, jid):
    left = [name for name in os.listdir(async_dir) if name.startswith(jid)]
    ensure(not left, 'the printed cleanup task left files behind', left)


def scenario_check_mode(log, console):
    """--check: a not_started start per job, status results that are no failure, no warning."""
    events = last_run(read_log(log), 'check_mode.yml')
    text = read_console(console)
    check_common(events)
    for task, wait_task, count in (('Start a run job in check mode', 'Wait for it in check mode', 1),
                                   ('Start a batch in check mode', 'Wait for the batch in check mode', 2)):
        started = of_task(events, task, 'started')
        ensure(len(started) == count, 'started events of %s' % task, started)
        for ev in started:
            ensure(re.match(r'^j0\.\d+$', ev['jid']), 'not a check-mode jid', ev)
            ensure(ev['state'] == 'not_started' and not ev['failed'], 'started event', ev)
            ensure(re.search(r'^async start \| localhost \| %s \| %s \| not started \(check mode\)'
                             % (re.escape(task), re.escape(ev['jid'])), text, re.M), 'start line of %s' % ev['jid'])
            waits = [e for e in of_task(events, wait_task) if e['jid'] == ev['jid']]
            ensure(len(waits) == 1 and waits[0]['state'] == 'not_started' and not waits[0]['failed'], 'wait', waits)
            row = recap_row_of(text, ev['jid'])
            ensure(row['state'] == 'not_started' and row['collected'] == '-', 'recap row', row)
    ensure(not re.search(r'^async .*\| running', text, re.M), 'a check-mode job shown running')
    ensure(UNREAPED_WARNING not in flat(text) and 'ASYNC JOBS CLEANUP' not in text, 'unexpected unreaped warning')
    ensure(not [e for e in events if e['event'] == 'unreaped'], 'unreaped events')


def main(argv):
    scenarios = {name[len('scenario_'):]: func for name, func in globals().items() if name.startswith('scenario_')}
    if len(argv) < 2 or argv[1] not in scenarios:
        sys.stderr.write('usage: check.py {%s} ARGS...\n' % ','.join(sorted(scenarios)))
        return 2
    try:
        scenarios[argv[1]](*argv[2:])
    except CheckFailed as exc:
        sys.stderr.write('CHECK FAILED (%s): %s\n' % (argv[1], exc))
        return 1
    sys.stderr.write('ok: %s\n' % argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
