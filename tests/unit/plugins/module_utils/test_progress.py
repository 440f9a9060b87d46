# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the progress helper (plugins/module_utils/_progress.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _progress as P
from ansible_collections.asyncops.jobs.tests.unit.helpers import WRAPPER_ARGV

COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(P.__file__), *(['..'] * 5)))


class Clock(object):
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def core_job(tmp_path):
    """A core async dir holding the running record of j123456.777 (as async_wrapper writes it)."""
    async_dir = tmp_path / 'async'
    async_dir.mkdir()
    (async_dir / 'j123456.777').write_text(json.dumps({'started': True, 'finished': False,
                                                       'ansible_job_id': 'j123456.777'}))
    (async_dir / 'j999.1').write_text('{}')  # another job
    return str(async_dir)


def fake_tree(argvs, parents):
    return (lambda pid: argvs.get(pid, [])), (lambda pid: parents.get(pid, 0))


# ---------------------------------------------------------------- discovery

def test_synchronous_module_reports_nowhere():
    assert P.discover_target(environ={}) is None
    argv_of, parent_of = fake_tree({10: ['python', 'AnsiballZ_x.py']}, {10: 1})
    assert P.discover_target(environ={'ANSIBLE_ASYNC_DIR': '/nonexistent'}, ppid=10,
                             argv_of=argv_of, parent_of=parent_of) is None
    reporter = P.ProgressReporter(environ={})
    assert not reporter.active
    assert reporter.update(percent=50) is False
    assert reporter.done() is False
    assert reporter.flush() is False


def test_under_the_supervisor():
    target = P.discover_target(environ={_record.PROGRESS_ENV: '/a/j1.2.progress', _record.JID_ENV: 'j1.2'})
    assert target == P.ProgressTarget('supervisor', '/a/j1.2.progress', None, 'j1.2')
    assert P.discover_target(environ={_record.PROGRESS_ENV: 'relative/path'}) is None


def test_under_core_async_wrapper(core_job):
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV}, {})
    target = P.discover_target(environ={'ANSIBLE_ASYNC_DIR': core_job}, ppid=10, argv_of=argv_of,
                               parent_of=parent_of)
    assert target.mode == 'async_wrapper'
    assert target.jid == 'j123456.777'
    assert target.record == os.path.join(core_job, 'j123456.777')
    assert target.progress_file is None   # core's cleanup would leave a sidecar behind


def test_under_core_async_wrapper_through_an_intermediate_process(core_job):
    argv_of, parent_of = fake_tree({10: ['/bin/sh', '-c', 'python x'], 9: WRAPPER_ARGV}, {10: 9})
    target = P.discover_target(environ={'ANSIBLE_ASYNC_DIR': core_job}, ppid=10, argv_of=argv_of,
                               parent_of=parent_of)
    assert target.jid == 'j123456.777'


def test_core_wrapper_wins_over_an_inherited_progress_file(core_job):
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV}, {})
    target = P.discover_target(environ={'ANSIBLE_ASYNC_DIR': core_job, _record.PROGRESS_ENV: '/outer/j1.1.progress'},
                               ppid=10, argv_of=argv_of, parent_of=parent_of)
    assert target.mode == 'async_wrapper'


def test_under_the_collection_s_async_wrapper_the_supervisor_is_the_target(core_job):
    """The module's parent is the job's supervisor, forked from the collection's async_wrapper: it keeps
    the wrapper's argv, and the record it finds is the job's own ($ASYNCOPS_JOB_ID): the sidecar, not the record."""
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV}, {})
    sidecar = os.path.join(core_job, 'j123456.777.progress')
    environ = {'ANSIBLE_ASYNC_DIR': core_job, _record.PROGRESS_ENV: sidecar, _record.JID_ENV: 'j123456.777'}
    target = P.discover_target(environ=environ, ppid=10, argv_of=argv_of, parent_of=parent_of)
    assert target == P.ProgressTarget('supervisor', sidecar, None, 'j123456.777')
    # a job of this collection whose module runs under core's wrapper of another job: that record wins
    environ[_record.JID_ENV] = 'j1.1'
    target = P.discover_target(environ=environ, ppid=10, argv_of=argv_of, parent_of=parent_of)
    assert target.mode == 'async_wrapper' and target.jid == 'j123456.777'


def test_core_async_dir_with_tilde(core_job, monkeypatch):
    monkeypatch.setenv('HOME', os.path.dirname(core_job))
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV}, {})
    target = P.discover_target(environ={'ANSIBLE_ASYNC_DIR': '~/async'}, ppid=10, argv_of=argv_of,
                               parent_of=parent_of)
    assert target.record == os.path.join(core_job, 'j123456.777')


def test_ambiguous_or_missing_core_record_is_left_alone(core_job):
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV}, {})
    with open(os.path.join(core_job, 'j123456.778'), 'w') as f:
        f.write('{}')
    assert P.discover_target(environ={'ANSIBLE_ASYNC_DIR': core_job}, ppid=10, argv_of=argv_of,
                             parent_of=parent_of) is None
    argv_of, parent_of = fake_tree({10: WRAPPER_ARGV[:2] + ['j555'] + WRAPPER_ARGV[3:]}, {})
    assert P.discover_target(environ={'ANSIBLE_ASYNC_DIR': core_job}, ppid=10, argv_of=argv_of,
                             parent_of=parent_of) is None


# ---------------------------------------------------------------- writing

def test_core_record_gets_the_progress_and_keeps_its_keys(core_job):
    target = P.ProgressTarget('async_wrapper', None, os.path.join(core_job, 'j123456.777'), 'j123456.777')
    reporter = P.ProgressReporter(total=200, unit='B', target=target, clock=Clock(), wallclock=Clock(1000.0))
    assert reporter.update(current=50, message='copying')
    record = _record.read_json(target.record)
    # core's keys stay core's: the progress goes under asyncops, the one key this collection adds
    assert set(record) == {'started', 'finished', 'ansible_job_id', 'asyncops'}
    assert record['started'] is True and record['finished'] is False
    assert record['ansible_job_id'] == 'j123456.777'
    progress = record['asyncops']['progress']
    assert progress['percent'] == 25.0
    assert progress['message'] == 'copying'
    assert progress['unit'] == 'B'
    assert progress['updated_at'] == 1000.0
    assert progress['current'] == 50
    assert _record.record_state(record) == 'running' and not _record.is_supervised(record)
    assert stat.S_IMODE(os.stat(target.record).st_mode) == 0o600
    # the record is all there is: core's cleanup after a poll removes it and nothing else
    assert not [n for n in os.listdir(core_job) if n.startswith('j123456.777.')]


def test_result_progress_only_where_the_record_carries_it(core_job, tmp_path):
    target = P.ProgressTarget('async_wrapper', None, os.path.join(core_job, 'j123456.777'), 'j123456.777')
    clock = Clock()
    reporter = P.ProgressReporter(total=100, target=target, clock=clock, wallclock=Clock(1000.0))
    assert reporter.result_progress() is None        # nothing reported yet
    reporter.update(current=10)
    assert reporter.result_progress()['current'] == 10
    reporter.update(current=20)                      # throttled: not written, but the latest
    assert reporter.result_progress()['current'] == 20
    reporter.done()
    assert reporter.result_progress()['percent'] == 100
    beside = P.ProgressReporter(total=100, target=P.ProgressTarget('supervisor', str(tmp_path / 'j1.1.progress')))
    beside.update(current=10)
    assert beside.result_progress() is None          # the sidecar outlives the job there
    assert P.ProgressReporter(environ={}).result_progress() is None


def test_a_finished_or_foreign_record_is_not_touched(core_job):
    path = os.path.join(core_job, 'j123456.777')
    final = {'changed': True, 'rc': 0, 'ansible_job_id': 'j123456.777'}  # core's final write has no 'started'
    with open(path, 'w') as f:
        json.dump(final, f)
    target = P.ProgressTarget('async_wrapper', None, path, 'j123456.777')
    P.ProgressReporter(target=target).update(percent=10)
    assert _record.read_json(path) == final
    with open(path, 'w') as f:
        json.dump({'started': True, 'finished': False, 'ansible_job_id': 'j1.1'}, f)
    P.ProgressReporter(target=target).update(percent=10)
    assert _record.read_json(path) == {'started': True, 'finished': False, 'ansible_job_id': 'j1.1'}


def test_throttle_and_final_report(tmp_path):
    path = str(tmp_path / 'j1.1.progress')
    clock = Clock(0.0)
    reporter = P.ProgressReporter(total=100, target=P.ProgressTarget('supervisor', path), clock=clock)
    assert reporter.update(current=1)
    clock.now = 0.1
    assert not reporter.update(current=2)  # throttled, kept pending
    assert _record.read_progress(path)['current'] == 1
    clock.now = 0.2
    assert reporter.flush()
    assert _record.read_progress(path)['current'] == 2
    clock.now = 0.3
    assert not reporter.update(current=3)
    clock.now = 0.31
    assert reporter.update(current=100)  # 100 percent is always written
    clock.now = 0.32
    assert reporter.update(current=50, force=True)
    clock.now = 0.33
    assert reporter.done(message='all done')
    final = _record.read_progress(path)
    assert (final['percent'], final['current'], final['message']) == (100.0, 100, 'all done')
    assert reporter.writes == 5 and reporter.errors == 0


def test_rate_and_eta_count_only_this_run(tmp_path):
    clock = Clock(0.0)
    reporter = P.ProgressReporter(total=1000, unit='B', start=400, clock=clock,
                                  target=P.ProgressTarget('supervisor', str(tmp_path / 'p')))
    clock.now = 2.0
    reporter.update(current=600)
    data = json.loads(open(str(tmp_path / 'p')).read())
    assert data['rate'] == 100.0  # 200 bytes in 2 s, not 600
    assert data['eta'] == 4.0
    assert data['percent'] == 60.0


def test_write_errors_are_swallowed(tmp_path):
    reporter = P.ProgressReporter(target=P.ProgressTarget('supervisor', str(tmp_path / 'missing' / 'p')))
    assert reporter.update(percent=5)  # attempted, not raised
    assert reporter.errors == 1 and reporter.writes == 0


def test_report_progress_shortcut(tmp_path, monkeypatch):
    path = str(tmp_path / 'j7.7.progress')
    monkeypatch.setenv(_record.PROGRESS_ENV, path)
    monkeypatch.delenv('ANSIBLE_ASYNC_DIR', raising=False)
    monkeypatch.setattr(P, '_default_reporter', None)
    assert P.report_progress(percent=30, message='thirty')
    assert _record.read_progress(path)['message'] == 'thirty'


def test_end_to_end_under_a_process_that_looks_like_core_async_wrapper(tmp_path):
    """Real /proc discovery: a parent whose argv is async_wrapper's runs a child that reports progress."""
    if not os.path.exists('/proc/self/cmdline'):
        pytest.skip('needs procfs')
    async_dir = tmp_path / 'async'
    async_dir.mkdir()
    child = textwrap.dedent('''
        import sys
        sys.path.insert(0, %r)
        from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter
        r = ProgressReporter(total=10, unit='files')
        print(r.target.mode if r.target else 'none')
        r.update(current=4, message='four')
    ''' % COLLECTIONS_ROOT)
    wrapper = tmp_path / 'async_wrapper.py'
    wrapper.write_text(textwrap.dedent('''
        import json, os, subprocess, sys
        jid = '%%s.%%d' %% (sys.argv[1], os.getpid())
        with open(os.path.join(os.environ['ANSIBLE_ASYNC_DIR'], jid), 'w') as f:
            json.dump({'started': True, 'finished': False, 'ansible_job_id': jid}, f)
        sys.exit(subprocess.call([sys.executable, '-c', %r]))
    ''' % child))
    env = dict(os.environ, ANSIBLE_ASYNC_DIR=str(async_dir))
    env.pop(_record.PROGRESS_ENV, None)
    out = subprocess.run([sys.executable, str(wrapper), 'j4242', '60', 'true', '/tmp/module.py'], env=env,
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    assert out.strip() == 'async_wrapper'
    records = os.listdir(str(async_dir))
    assert len(records) == 1 and records[0].startswith('j4242.')   # the record only, no sidecar
    record = _record.read_json(str(async_dir / records[0]))
    progress = record['asyncops']['progress']
    assert progress['current'] == 4 and progress['total'] == 10
    assert progress['percent'] == 40.0 and progress['unit'] == 'files'
    assert progress['message'] == 'four'
    assert 'progress' not in record
    assert not record['finished']
