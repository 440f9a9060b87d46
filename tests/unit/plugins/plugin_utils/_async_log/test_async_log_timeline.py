# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The async_log timeline page: its embedded data round-trips, it escapes, loads nothing, and is written safely."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat

import pytest

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log import _timeline
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tracker import EVENT_FIELDS

T0 = 1767225600.0  # 2026-01-01T00:00:00Z
EVIL = '</script><script>alert(1)</script><!-- & <img src=x onerror=alert(2)>'
DATA_RE = re.compile(r'<script id="timeline-data" type="application/json">(.*?)</script>', re.S)
# the size bound for 200 hosts x 20 jobs (see test_size_of_200_hosts_by_20_jobs)
MAX_BYTES_200_BY_20 = 1024 * 1024


def event(name, host, jid, epoch, task='Start job', **fields):
    ev = dict.fromkeys(EVENT_FIELDS)
    ev.update({'event': name, 'host': host, 'jid': jid, 'epoch': epoch, 'task': task, 'run_id': 'r1', 'pid': 1,
               'finished': False, 'failed': False})
    ev.update(fields)
    return ev


def summary(host, jid, state, start, end, task='Start job', **fields):
    job = {
        'host': host, 'jid': jid, 'task': task, 'task_uuid': 'u-' + task, 'play': 'Play', 'state': state,
        'duration': None if end is None else round(end - start, 3), 'polls': 1, 'launched': True,
        'collected': end is not None, 'cleaned': False, 'finished': end is not None, 'failed': state != 'succeeded',
        'may_be_running': end is None, 'delegate_to': None, 'become': False, 'become_user': None,
        'results_file': None, 'progress_seen': False, 'start': start, 'end': end, 'rc': None, 'reason': None,
        'msg': None, 'cleanup_hint': None,
    }
    job.update(fields)
    return job


def embedded(page):
    """The JSON the page holds, parsed back."""
    match = DATA_RE.search(page)
    assert match, 'no data element in the page'
    return json.loads(match.group(1))


def decoded_jobs(page):
    """The jobs of the page as the page's script reads them (host, texts and absolute times back)."""
    data = embedded(page)
    strings = data['strings']
    jobs = []
    for row in data['jobs']:
        values = dict(zip(data['fields'], row))
        host_ref = data['lanes'][values['lane']][0]
        host = None if host_ref is None else strings[host_ref]
        job = {'host': host}
        for name, value in values.items():
            if name in _timeline.INTERNED_FIELDS:
                value = None if value is None else strings[value]
                if isinstance(value, list):
                    parts = {data['parts']['jid']: values['jid'], data['parts']['host']: host or ''}
                    value = ''.join(parts[part] if isinstance(part, int) else part for part in value)
            elif name in ('start', 'end'):
                value = None if value is None else data['t0'] + value
            elif name in ('marks', 'progress'):
                pairs = list(zip(value[::2], value[1::2]))
                value = [(data['t0'] + when, data['mark_kinds'][kind] if name == 'marks' else kind)
                         for when, kind in pairs]
            job[name] = value
        jobs.append(job)
    return jobs


def a_run():
    """Three hosts; jobs of every state, marks of every kind, progress, and text that is markup."""
    jobs = [
        summary('web10', 'j1.1', 'succeeded', T0 + 1, T0 + 5, rc=0, polls=3, progress_seen=True),
        summary('web2', 'j2.2', 'failed', T0 + 2, T0 + 3, task=EVIL, rc=3, reason='exit', msg='failed: ' + EVIL,
                delegate_to='db<1>'),
        summary('web2', 'j3.3', 'timeout', T0 + 2.5, T0 + 4, reason='time_limit', msg='time limit of j3.3 hit on web2'),
        summary('web2', 'j4.4', 'running', T0 + 6, None, collected=False,
                cleanup_hint='j4.4 left on web2: run asyncops.jobs.async_status jid=j4.4 mode=cleanup'),
        summary('db1', 'j5.5', 'killed', T0 + 0.5, T0 + 7, msg='killed'),
        summary('db1', 'j6.6', 'lost', T0 + 1, T0 + 8, msg='lost'),
        summary('db1', 'j0.1', 'not_started', T0 + 3, T0 + 3, launched=False, collected=False),
    ]
    events = [
        event('started', 'web10', 'j1.1', T0 + 1.05),
        event('retry', 'web10', 'j1.1', T0 + 2, progress={'percent': 20}),
        event('retry', 'web10', 'j1.1', T0 + 3, progress={'current': 3, 'total': 4}),
        event('poll', 'web10', 'j1.1', T0 + 3.5),
        event('status', 'web10', 'j1.1', T0 + 5.2, progress={'percent': 100}, finished=True, state='succeeded'),
        event('started', 'web2', 'j2.2', T0 + 2.01, task=EVIL),
        event('wait', 'web2', 'j2.2', T0 + 6, task='Wait', state='failed', finished=True, failed=True),
        event('started', 'web2', 'j3.3', T0 + 2.5),
        event('wait', 'web2', 'j3.3', T0 + 6, task='Wait', state='timeout', finished=True, failed=True),
        event('started', 'web2', 'j4.4', T0 + 6),
        event('unreaped', 'web2', 'j4.4', T0 + 9, state='running'),
        event('started', 'db1', 'j5.5', T0 + 0.5),
        event('kill', 'db1', 'j5.5', T0 + 7, state='killed', finished=True, failed=True),
        event('cleanup', 'db1', 'j5.5', T0 + 7.5, state='killed'),
        event('lost', 'db1', 'j6.6', T0 + 8, state='lost', finished=True, failed=True),
        event('started', 'db1', 'j0.1', T0 + 3, state='not_started'),
        event('prune', 'db1', None, T0 + 8.5),
    ]
    return jobs, events


def test_the_embedded_data_round_trips_the_jobs_and_events():
    jobs, events = a_run()
    page = _timeline.render(jobs, events, 'My run', T0 + 10)
    decoded = {(job['host'], job['jid']): job for job in decoded_jobs(page)}
    assert set(decoded) == {(job['host'], job['jid']) for job in jobs}
    for job in jobs:
        got = decoded[(job['host'], job['jid'])]
        for name in ('task', 'play', 'state', 'rc', 'reason', 'msg', 'cleanup_hint', 'delegate_to', 'polls', 'duration'):
            assert got[name] == job[name], (job['jid'], name)
        assert got['start'] == pytest.approx(job['start'], abs=1e-3)
        assert got['end'] == (None if job['end'] is None else pytest.approx(job['end'], abs=1e-3))
        own = [ev for ev in events if (ev['host'], ev['jid']) == (job['host'], job['jid'])]
        assert got['marks'] == [(pytest.approx(ev['epoch'], abs=1e-3), _timeline.MARK_OF_EVENT[ev['event']])
                                for ev in own if ev['event'] in _timeline.MARK_OF_EVENT]
    assert [(round(when - T0, 3), percent) for when, percent in decoded[('web10', 'j1.1')]['progress']] == \
        [(1.0, 0.0), (2.0, 20.0), (3.0, 75.0), (5.2, 100.0)]
    shown = {jid: job['shown'] for (_host, jid), job in decoded.items()}
    assert shown == {'j1.1': 'succeeded', 'j2.2': 'failed', 'j3.3': 'timeout', 'j4.4': 'uncollected',
                     'j5.5': 'killed', 'j6.6': 'lost', 'j0.1': 'not_started'}
    data = embedded(page)
    assert data['title'] == 'My run'
    assert data['generated_at'] == T0 + 10
    # lanes in natural order of host names; web2's overlapping jobs on separate rows
    assert [data['strings'][lane[0]] for lane in data['lanes']] == ['db1', 'web2', 'web10']
    assert decoded[('web2', 'j2.2')]['row'] != decoded[('web2', 'j3.3')]['row']
    assert data['t1'] >= 10 - data['t0'] + T0 - 1e-3


def test_a_job_only_seen_in_events_gets_a_bar_in_the_state_its_last_event_says():
    _jobs, events = a_run()
    decoded = {job['jid']: job for job in decoded_jobs(_timeline.render([], events, 'x', T0 + 10))}
    assert set(decoded) == {'j1.1', 'j2.2', 'j3.3', 'j4.4', 'j5.5', 'j6.6', 'j0.1'}
    assert {jid: (job['state'], job['shown']) for jid, job in decoded.items()} == {
        'j1.1': ('succeeded', 'succeeded'), 'j2.2': ('failed', 'failed'), 'j3.3': ('timeout', 'timeout'),
        'j4.4': ('running', 'uncollected'), 'j5.5': ('killed', 'killed'), 'j6.6': ('lost', 'lost'),
        'j0.1': ('not_started', 'not_started')}
    assert decoded['j4.4']['end'] is None
    assert decoded['j2.2']['task'] == EVIL


@pytest.mark.parametrize('job, shown', [
    ({}, 'unknown'),
    ({'state': 'succeeded', 'launched': True, 'collected': True}, 'succeeded'),
    ({'state': 'succeeded', 'launched': True, 'collected': False, 'cleaned': True}, 'succeeded'),
    ({'state': 'succeeded', 'launched': True, 'collected': False, 'cleaned': False}, 'uncollected'),
    ({'state': 'running', 'launched': False}, 'running'),
    ({'state': 'timeout', 'launched': True}, 'uncollected'),
    ({'state': 'not_started', 'launched': True}, 'not_started'),
    ({'state': 'pruned', 'collected': True}, 'pruned'),
    ({'state': 'something new'}, 'unknown'),
])
def test_shown_state(job, shown):
    assert _timeline.shown_state(job) == shown


@pytest.mark.parametrize('progress, percent', [
    ({'percent': 40}, 40.0),
    ({'percent': 140}, 100.0),
    ({'current': 1, 'total': 4}, 25.0),
    ({'current': 1, 'total': 0}, None),
    ({'percent': True}, None),
    ({'percent': float('nan')}, None),
    ({'message': 'no numbers'}, None),
    (None, None),
    ('40', None),
])
def test_progress_percent(progress, percent):
    assert _timeline.progress_percent(progress) == percent


def test_markup_in_the_data_stays_text():
    jobs, events = a_run()
    for job in jobs:
        job['host'] = job['host'] + EVIL
    for ev in events:
        if ev['host']:
            ev['host'] = ev['host'] + EVIL
    page = _timeline.render(jobs, events, EVIL, T0 + 10)
    # the data element, the script, and nothing else can end a script element or open a comment
    assert page.count('</script>') == 2
    assert page.count('<script') == 2
    assert '<!--' not in page
    assert '<img' not in page
    assert '<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in page
    data = DATA_RE.search(page).group(1)
    assert '<' not in data and '>' not in data and '&' not in data
    decoded = decoded_jobs(page)
    assert {job['host'] for job in decoded} == {host + EVIL for host in ('web10', 'web2', 'db1')}
    assert embedded(page)['title'] == EVIL
    # the script puts text into the page with textContent and attributes only
    script = _timeline._SCRIPT
    assert 'innerHTML' not in script and 'outerHTML' not in script and 'insertAdjacentHTML' not in script
    assert 'document.write' not in script and 'eval(' not in script
    assert '.textContent = ' in script


def test_the_page_loads_nothing_and_its_policy_allows_only_its_own_style_and_script():
    jobs, events = a_run()
    page = _timeline.render(jobs, events, 'run', T0 + 10)
    styles = re.findall(r'<style>(.*?)</style>', page, re.S)
    scripts = re.findall(r'<script>(.*?)</script>', page, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    # the markup: the data is text (see test_markup_in_the_data_stays_text), the script and style are checked apart
    markup = re.sub(r'(<(script|style)[^>]*>).*?(</\2>)', r'\1\3', page, flags=re.S)
    for tag in re.findall(r'<[^>]+>', markup):
        for match in re.finditer(r'\s(?:src|href|action|srcset|poster|data|formaction|background)\s*=\s*["\']?([^"\'\s>]*)',
                                 tag, re.I):
            assert match.group(1).startswith('data:'), tag
    assert not re.search(r'https?:', markup)
    assert '@import' not in styles[0] and 'url(' not in styles[0] and 'http' not in styles[0]
    # the script makes SVG elements in their namespace, and fetches nothing
    assert re.findall(r'https?://[^\'"]*', scripts[0]) == ['http://www.w3.org/2000/svg']
    for call in ('fetch(', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'sendBeacon', 'import(', '.src', 'Image(',
                 'location'):
        assert call not in scripts[0], call
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    policy = policy.replace('&#x27;', "'")

    def digest(text):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')

    assert "default-src 'none'" in policy
    assert 'script-src %s;' % digest(scripts[0]) in policy
    assert 'style-src %s;' % digest(styles[0]) in policy
    assert 'unsafe' not in policy


@pytest.mark.parametrize('jobs, events', [
    ([], []),
    ([{}], []),
    ([{'jid': 'j1.1'}], []),
    ([{'host': 'h', 'jid': 'j1.1', 'state': 'running', 'launched': True}], []),
    ([{'host': 'h', 'jid': 'j1.1', 'state': 'succeeded', 'finished': True, 'duration': 2}],
     [{'event': 'started', 'host': 'h', 'jid': 'j1.1', 'epoch': T0}]),
    ([{'host': 'h', 'jid': 'j1.1', 'start': float('nan'), 'end': float('inf'), 'rc': True, 'polls': 'x',
       'task': 42, 'msg': ['a']}], []),
    ([], [{'jid': 'j1.1'}, {'event': 'poll', 'jid': 'j1.1', 'epoch': 'soon', 'progress': 'x'},
          {'event': 'status', 'host': 'h', 'jid': 'j2.2', 'epoch': T0 + 1, 'elapsed': None}, 'not an event', {}]),
])
def test_missing_or_odd_keys_render(jobs, events):
    page = _timeline.render(jobs, events, 'odd', T0 + 10)
    data = embedded(page)
    assert len(data['jobs']) == len({(str(j.get('host')), j.get('jid')) for j in jobs}
                                    | {(str(e.get('host')), e.get('jid')) for e in events
                                       if isinstance(e, dict) and e.get('jid')})
    for row in data['jobs']:
        values = dict(zip(data['fields'], row))
        assert data['strings'][values['shown']] in _timeline.SHOWN_STATES
        assert values['start'] is None or isinstance(values['start'], float)


def test_a_job_without_times_is_drawn_from_its_events():
    jobs = [{'host': 'h', 'jid': 'j1.1', 'state': 'succeeded', 'finished': True, 'duration': 2.0}]
    events = [event('started', 'h', 'j1.1', T0 + 1, elapsed=0.5), event('wait', 'h', 'j1.1', T0 + 9, elapsed=2.0)]
    job = decoded_jobs(_timeline.render(jobs, events, 'x', T0 + 10))[0]
    assert job['start'] == pytest.approx(T0 + 0.5)
    assert job['end'] == pytest.approx(T0 + 2.5)
    # without a duration, the elapsed time of its last event ends it
    del jobs[0]['duration']
    job = decoded_jobs(_timeline.render(jobs, events, 'x', T0 + 10))[0]
    assert job['end'] == pytest.approx(T0 + 2.5)


def test_an_empty_run():
    page = _timeline.render([], [], 'nothing', T0)
    data = embedded(page)
    assert data['jobs'] == [] and data['lanes'] == [] and data['strings'] == []
    assert data['t0'] == T0 and data['t1'] == 0
    assert page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')


@pytest.mark.parametrize('host, jid, text', [
    ('h', 'j1.1', 'j1.1 on h \x01 and \x02 [0] 1 0'),
    ('h', 'j1.1', 'j1.1j1.1hh'),
    ('web1', 'j1.1', 'on web10: j1.10'),
    ('j1', 'j1.1', 'j1.1 on j1'),
    ('h', 'j1.1', ''),
    (None, 'j1.1', 'j1.1 on None'),
])
def test_texts_with_the_jid_and_host_round_trip(host, jid, text):
    jobs = [summary(host, jid, 'failed', T0, T0 + 1, msg=text, cleanup_hint=text + '!')]
    job = decoded_jobs(_timeline.render(jobs, [], 'x', T0 + 2))[0]
    assert job['msg'] == text
    assert job['cleanup_hint'] == text + '!'


def test_the_text_of_many_jobs_is_stored_once():
    jobs = [summary('h%d' % n, 'j%d.1' % n, 'running', T0, None, cleanup_hint='remove j%d.1 on h%d' % (n, n))
            for n in range(50)]
    data = embedded(_timeline.render(jobs, [], 'x', T0 + 2))
    assert data['strings'].count(['remove ', data['parts']['jid'], ' on ', data['parts']['host']]) == 1


def test_long_texts_are_cut():
    jobs = [summary('h', 'j1.1', 'failed', T0, T0 + 1, msg='x' * 100000)]
    job = decoded_jobs(_timeline.render(jobs, [], 'x', T0 + 2))[0]
    assert len(job['msg']) == _timeline.MAX_TEXT and job['msg'].endswith('\u2026')


def synthetic_run(hosts, jobs_per_host):
    """A run of launch-then-wait jobs with retries, progress, failures and jobs never collected."""
    jobs = []
    events = []
    for h in range(hosts):
        host = 'host-%03d.example.com' % h
        for n in range(jobs_per_host):
            jid = 'j%012d.%d' % (h * 1000 + n, 40000 + h)
            task = 'Step %02d: migrate the database shard' % n
            start = T0 + n * 30 + h * 0.05
            end = start + 12.5 + (h % 7)
            state = 'failed' if (h + n) % 10 == 0 else 'succeeded'
            uncollected = (h + n) % 17 == 0
            msg = 'non-zero return code' if state == 'failed' else None
            hint = ('%s left on %s: its record and its .out, .err and .progress files; remove them with '
                    'asyncops.jobs.async_status jid=%s mode=cleanup' % (jid, host, jid)) if uncollected else None
            jobs.append(summary(host, jid, 'running' if uncollected else state, start, None if uncollected else end,
                                task=task, rc=1 if state == 'failed' else 0, msg=msg, cleanup_hint=hint, polls=3,
                                collected=not uncollected))
            events.append(event('started', host, jid, start, task=task, elapsed=0.05, state='running'))
            for k in (1, 2):
                events.append(event('retry', host, jid, start + 4 * k, task='Wait for step %02d' % n, attempt=k,
                                    elapsed=4.0 * k, state='running', mode='status',
                                    progress={'percent': 30.0 * k, 'message': 'copying', 'current': 3 * k, 'total': 10,
                                              'unit': 'GB', 'rate': 0.75, 'eta': 4.0, 'updated_at': start + 4 * k}))
            if uncollected:
                events.append(event('unreaped', host, jid, T0 + jobs_per_host * 30 + 60, state='running', msg=hint))
            else:
                events.append(event('status', host, jid, end + 0.4, task='Wait for step %02d' % n, attempt=3,
                                    elapsed=end - start, state=state, finished=True, failed=state == 'failed', msg=msg,
                                    progress={'percent': 100.0, 'current': 10, 'total': 10, 'unit': 'GB'}))
    return jobs, events


def test_size_of_200_hosts_by_20_jobs():
    jobs, events = synthetic_run(200, 20)
    page = _timeline.render(jobs, events, '200 hosts x 20 jobs', T0 + 20 * 30 + 60)
    size = len(page.encode('utf-8'))
    assert size < MAX_BYTES_200_BY_20, size
    assert len(embedded(page)['jobs']) == 4000


def test_write_timeline_makes_private_dirs_and_a_private_file(tmp_path):
    jobs, events = a_run()
    path = tmp_path / 'a' / 'b' / 'timeline.html'
    old_umask = os.umask(0o022)
    try:
        _timeline.write_timeline(str(path), jobs, events, 'run', T0 + 10)
    finally:
        os.umask(old_umask)
    assert path.read_text(encoding='utf-8') == _timeline.render(jobs, events, 'run', T0 + 10)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / 'a').stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / 'a' / 'b').stat().st_mode) == 0o700
    assert os.listdir(str(path.parent)) == ['timeline.html']


def test_write_timeline_replaces_a_page_atomically_and_keeps_its_mode(tmp_path, monkeypatch):
    path = tmp_path / 'timeline.html'
    path.write_text('old page', encoding='utf-8')
    path.chmod(0o640)
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        # the new page is complete before it takes the old one's name
        renames.append((src, dst, open(src, encoding='utf-8').read()))
        assert path.read_text(encoding='utf-8') == 'old page'
        real_replace(src, dst)

    monkeypatch.setattr(_timeline.os, 'replace', replace)
    _timeline.write_timeline(str(path), [], [], 'new', T0)
    assert len(renames) == 1
    src, dst, content = renames[0]
    assert os.path.dirname(src) == str(tmp_path) and dst == str(path)
    assert content == path.read_text(encoding='utf-8') == _timeline.render([], [], 'new', T0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ['timeline.html']


def test_write_timeline_leaves_the_old_page_and_no_temp_file_when_it_fails(tmp_path, monkeypatch):
    path = tmp_path / 'timeline.html'
    path.write_text('old page', encoding='utf-8')

    def replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(_timeline.os, 'replace', replace)
    with pytest.raises(OSError, match='No space left'):
        _timeline.write_timeline(str(path), [], [], 'new', T0)
    assert path.read_text(encoding='utf-8') == 'old page'
    assert os.listdir(str(tmp_path)) == ['timeline.html']


def test_write_timeline_raises_oserror_when_the_directory_cannot_be_made(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('', encoding='utf-8')
    with pytest.raises(OSError):
        _timeline.write_timeline(str(blocker / 'dir' / 'timeline.html'), [], [], 'x', T0)
    with pytest.raises(OSError):
        _timeline.write_timeline(str(blocker / 'timeline.html'), [], [], 'x', T0)
