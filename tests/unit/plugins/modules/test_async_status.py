# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the module asyncops.jobs.async_status: options in, one JSON result out."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.asyncops.jobs.plugins.modules import async_status
from ansible_collections.asyncops.jobs.tests.unit.helpers import run_module


def call(capsys, **args):
    """Run the module; return (exit code, result)."""
    return run_module(async_status.main, capsys, args)


@pytest.fixture
def adir(tmp_path, monkeypatch):
    """The job dir, in the module's environment as the action plugin puts it there."""
    d = tmp_path / 'async'
    d.mkdir()
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', str(d))
    return str(d)


def write(adir, jid, obj):
    with open(os.path.join(adir, jid), 'w') as f:
        json.dump(obj, f)


def test_status_of_a_finished_job_prints_the_job_result(capsys, adir):
    record = {'rc': 0, 'changed': True, 'stdout': 'hello', 'path': '/nonexistent/x',
              'warnings': ['a warning of the job'], 'ansible_job_id': 'j1.2'}
    write(adir, 'j1.2', record)
    code, result = call(capsys, jid='j1.2')
    assert code == 0
    ours = result.pop('asyncops')
    # as the job wrote it (no re-processing of warnings or path), plus exactly the keys the built-in adds
    assert result == dict(record, started=True, finished=True, results_file=os.path.join(adir, 'j1.2'))
    assert ours['state'] == 'succeeded'


def test_a_file_jobs_state_and_elapsed_come_back_untouched(capsys, adir):
    record = {'changed': True, 'state': 'directory', 'path': '/srv/x', 'elapsed': 3, 'progress': 'x'}
    write(adir, 'j1.2', record)
    code, result = call(capsys, jid='j1.2')
    assert code == 0 and result['asyncops']['state'] == 'succeeded'
    del result['asyncops']
    assert result == dict(record, ansible_job_id='j1.2', started=True, finished=True,
                          results_file=os.path.join(adir, 'j1.2'))


def test_a_failed_job_fails_the_task(capsys, adir):
    write(adir, 'j1.2', {'rc': 3, 'failed': True, 'msg': 'boom'})
    code, result = call(capsys, jid='j1.2')
    assert result['failed'] is True and result['msg'] == 'boom' and result['asyncops']['state'] == 'failed'
    code, result = call(capsys, jid='j1.2', fail_on_job_failure=False)
    assert result['failed'] is False and result['asyncops']['state'] == 'failed'
    assert result['asyncops']['job_failed'] is True


def test_unknown_job(capsys, adir, monkeypatch):
    code, result = call(capsys, jid='j1.2')
    assert code == 1 and result['failed'] is True and result['msg'] == 'could not find job'
    assert result['started'] is True and result['finished'] is True and result['ansible_job_id'] == 'j1.2'
    assert result['asyncops']['searched']['dirs'] == [adir] and 'searched' not in result
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', adir + '/missing')
    code, result = call(capsys, jid='j1.2')
    assert code == 1 and result['msg'] == 'could not find job'
    assert result['asyncops']['searched']['dirs'] == [adir + '/missing']


def test_traversal_jid_is_refused(capsys, tmp_path, adir):
    canary = tmp_path / 'f'
    canary.write_text('x')
    code, result = call(capsys, jid='../f', mode='cleanup')
    assert code == 1 and 'invalid job id' in result['msg'] and canary.exists()


@pytest.mark.parametrize('args, match', [
    ({'jid': 'j1.2', 'jids': ['j1.2']}, 'mutually exclusive'),
    ({'mode': 'status'}, 'jid, jids'),
    ({'mode': 'prune'}, 'max_age'),
    ({'mode': 'wait', 'jid': 'j1.2', 'wait_for': 'some'}, 'wait_for'),
    ({'mode': 'list', 'state_filter': ['gone']}, 'value of state_filter must be one or more of'),
    ({'mode': 'explode'}, 'mode'),
    ({'jid': 'j1.2', 'kill_grace': -1}, 'kill_grace must not be negative'),
    ({'jid': 'j1.2', 'wait_timeout': -1}, 'wait_timeout must not be negative'),
    ({'jid': 'j1.2', 'mode': 'wait', 'timeout': 5}, 'Unsupported parameters'),  # renamed wait_timeout
    ({'jid': 'j1.2', 'mode': 'kill', 'grace': 5}, 'Unsupported parameters'),    # renamed kill_grace
    ({'mode': 'list', 'state': ['running']}, 'module: state. Supported'),  # renamed state_filter
])
def test_option_errors(capsys, adir, args, match):
    code, result = call(capsys, **args)
    assert code == 1 and match in result['msg']


def test_list_and_prune_use_exit_json(capsys, adir):
    write(adir, 'j1.2', {'rc': 0})
    code, result = call(capsys, mode='list')
    assert code == 0 and [j['ansible_job_id'] for j in result['jobs']] == ['j1.2']
    assert result['changed'] is False
    code, result = call(capsys, mode='prune', max_age='0s', _ansible_check_mode=True)
    assert code == 0 and result['removed'] == ['j1.2'] and result['changed'] is True
    assert os.path.exists(os.path.join(adir, 'j1.2'))  # check mode
    code, result = call(capsys, mode='prune', max_age=0)
    assert result['removed'] == ['j1.2'] and not os.path.exists(os.path.join(adir, 'j1.2'))


def test_cleanup_in_check_mode_changes_nothing(capsys, adir):
    write(adir, 'j1.2', {'rc': 0})
    code, result = call(capsys, jid='j1.2', mode='cleanup', _ansible_check_mode=True)
    assert code == 0 and result['changed'] is False and result['erased'] == os.path.join(adir, 'j1.2')
    assert os.path.exists(os.path.join(adir, 'j1.2'))
    code, result = call(capsys, jid='j1.2', mode='cleanup')
    assert not os.path.exists(os.path.join(adir, 'j1.2'))


def test_many_jobs(capsys, adir):
    write(adir, 'j1.1', {'rc': 0})
    write(adir, 'j1.2', {'rc': 1, 'failed': True})
    code, result = call(capsys, jids=['j1.1', 'j1.2'])
    assert result['failed'] is True and result['summary']['failed'] == 1 and result['summary']['total'] == 2
    code, result = call(capsys, jids=['j1.1', 'j1.2'], mode='wait', wait_timeout=1,
                        fail_on_job_failure=False)
    assert 'failed' not in result and result['finished'] is True and result['asyncops']['waited'] < 1
    assert [j['asyncops']['state'] for j in result['jobs']] == ['succeeded', 'failed']


def test_async_dir_from_the_environment(capsys, tmp_path, monkeypatch):
    """$ANSIBLE_ASYNC_DIR (set by the action plugin or core's wrapper), else ~/.ansible_async, as core's modules do."""
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('ANSIBLE_ASYNC_DIR', raising=False)
    default = tmp_path / '.ansible_async'
    default.mkdir()
    write(str(default), 'j1.2', {'rc': 0})
    code, result = call(capsys, jid='j1.2')
    assert code == 0 and result['results_file'] == str(default / 'j1.2')
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', '~/jobs')  # ~ unexpanded, as the action plugin passes it
    (tmp_path / 'jobs').mkdir()
    write(str(tmp_path / 'jobs'), 'j3.4', {'rc': 0})
    code, result = call(capsys, jid='j3.4')
    assert code == 0 and result['results_file'] == str(tmp_path / 'jobs' / 'j3.4')


def test_the_internal_option_is_gone(capsys, adir):
    """The async dir comes in the environment only: a task passing _async_dir fails as with any unknown option."""
    write(adir, 'j1.2', {'rc': 0})
    code, result = call(capsys, jid='j1.2', _async_dir=adir)
    assert code == 1 and 'Unsupported parameters' in result['msg'] and '_async_dir' in result['msg']
