# -*- coding: utf-8 -*-
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the asyncops.jobs.async_log callback: its options and its hooks, driven as ansible-core drives
them (no playbook is run). The tracker, console, recap and log file are tested in
tests/unit/plugins/plugin_utils/_async_log/."""

from __future__ import annotations

import json
import os
import threading

import pytest
import yaml

from ansible import constants as C

from ansible_collections.asyncops.jobs.plugins.callback import async_log
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import (
    FakeDisplay,
    FakeHost,
    FakeTask,
    NewTaskResult,
    OldTaskResult,
    done,
    running,
)

PLUGIN = 'asyncops.jobs.async_log'


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
    cb.v2_runner_on_async_poll(shape(h, synth, running('j1.1', asyncops={'progress': prog})))
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


def test_console_shows_progress_of_a_core_poll_result(tmp_path):
    """The progress helper folds progress into core's running record under ``asyncops.progress``: the
    callback shows it on the console and logs it; a module's own top-level ``progress`` is not ours."""
    cb, display = make_callback(tmp_path, recap=False, unreaped_warning=False)
    h = FakeHost('web1')
    task = FakeTask('Build the index', 'u-index', 'async_log_progress_steps', async_val=600, poll=2)
    synth = FakeTask('async_status', 'u-synth', 'async_status', args={'jid': 'j9.1'})
    cb.v2_runner_on_start(h, task)
    prog = {'percent': 40.0, 'message': 'step 2 of 5', 'current': 2, 'total': 5, 'unit': 'steps', 'rate': None,
            'eta': None, 'updated_at': 1795884141.1}
    cb.v2_runner_on_async_poll(NewTaskResult(h, synth, running('j9.1', asyncops={'progress': prog})))
    own = {'percent': 90.0, 'current': 9, 'total': 10, 'unit': 'rows'}
    cb.v2_runner_on_async_poll(NewTaskResult(h, synth, running('j9.1', progress=own)))
    cb.v2_runner_on_async_ok(NewTaskResult(h, task, done('j9.1', progress={'percent': 100.0})))
    lines = [m for m, dummy in display.lines]
    assert lines[0].startswith('async poll #1 | web1 | Build the index | j9.1 | [########------------]   40.0%  '
                               '2/5 steps')
    assert 'step 2 of 5' in lines[0]
    assert lines[1].startswith('async poll #2 | web1 | Build the index | j9.1 | running, ')
    assert '90' not in lines[1] and '[' not in lines[1]
    assert lines[2].startswith('async done | web1 | Build the index | j9.1 | succeeded after ')
    log = read_log(tmp_path / 'log' / 'async.jsonl')
    assert [e['progress'] for e in log] == [prog, None, None]


# ---------------------------------------------------------------------------
# the timeline page (the renderer is _timeline's; here only its wiring, with a stand-in)
# ---------------------------------------------------------------------------

class FakeTimeline(object):
    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def write_timeline(self, path, jobs, events, title, generated_at):
        self.calls.append((path, jobs, events, title, generated_at))
        if self.error is not None:
            raise self.error


def test_timeline_written_after_the_recap_with_the_logged_events(tmp_path, monkeypatch):
    fake = FakeTimeline()
    monkeypatch.setattr(async_log._timeline, 'write_timeline', fake.write_timeline)
    page = tmp_path / 'pages' / 'run.html'
    cb, display = make_callback(tmp_path, console_stream='stdout', timeline_path=str(page))
    _run_playbook_events(cb)
    assert len(fake.calls) == 1
    path, jobs, events, title, generated_at = fake.calls[0]
    assert path == str(page) and title == 'site.yml' and isinstance(generated_at, float)
    # the events exactly as logged, in order, and the tracker's job summaries
    assert events == read_log(tmp_path / 'log' / 'async.jsonl')
    assert [j['jid'] for j in jobs] == ['j1.1', 'j2.2', 'j3.3']
    assert all(key in jobs[0] for key in ('start', 'end', 'rc', 'reason', 'msg', 'cleanup_hint'))
    lines = [m for m, dummy in display.lines]
    written = [i for i, m in enumerate(lines) if m == 'asyncops.jobs.async_log: timeline written to %s' % page]
    recap = [i for i, m in enumerate(lines) if 'ASYNC JOBS RECAP' in m]
    assert len(written) == 1 and recap and written[0] > recap[0]


def test_timeline_option_from_environment_and_variables(tmp_path, monkeypatch):
    monkeypatch.setenv('ASYNCOPS_ASYNC_LOG_TIMELINE_PATH', str(tmp_path / 'env.html'))
    cb = async_log.CallbackModule(display=FakeDisplay())
    cb._load_name = PLUGIN
    cb.set_options()
    assert cb._settings.timeline_path == str(tmp_path / 'env.html')
    cb.set_options(var_options={'asyncops_async_log_timeline_path': str(tmp_path / 'var.html')})
    assert cb._settings.timeline_path == str(tmp_path / 'var.html')


def test_no_timeline_and_no_events_kept_without_the_option(tmp_path, monkeypatch):
    fake = FakeTimeline()
    monkeypatch.setattr(async_log._timeline, 'write_timeline', fake.write_timeline)
    cb, display = make_callback(tmp_path)
    assert cb._settings.timeline_path is None
    kept = []
    monkeypatch.setattr(cb, '_events', kept)
    _run_playbook_events(cb)
    assert fake.calls == [] and kept == []
    assert 'timeline written' not in display.text


def test_timeline_write_error_is_one_warning(tmp_path, monkeypatch):
    fake = FakeTimeline(error=PermissionError(13, 'Permission denied'))
    monkeypatch.setattr(async_log._timeline, 'write_timeline', fake.write_timeline)
    cb, display = make_callback(tmp_path, timeline_path=str(tmp_path / 'x.html'))
    _run_playbook_events(cb)
    timeline_warnings = [w for w in display.warnings if 'timeline' in w]
    assert len(timeline_warnings) == 1 and 'cannot write the timeline' in timeline_warnings[0]
    assert 'Permission denied' in timeline_warnings[0] and 'error in' not in timeline_warnings[0]
    assert 'timeline written' not in display.text
    # the log was closed and complete all the same
    assert read_log(tmp_path / 'log' / 'async.jsonl')[-1]['event'] == 'unreaped'
