# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of where the job dir is (plugins/module_utils/_async_dir.py)."""

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.tests.unit.helpers import mode_of, write_file


def test_resolve_env_else_default(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv(_async_dir.ASYNC_DIR_ENV, str(tmp_path / 'env'))
    assert _async_dir.resolve_async_dir() == str(tmp_path / 'env')
    assert _async_dir.resolve_async_dir(None) == str(tmp_path / 'env')
    monkeypatch.setenv(_async_dir.ASYNC_DIR_ENV, '')
    assert _async_dir.resolve_async_dir() == str(tmp_path / 'home' / '.ansible_async')
    monkeypatch.delenv(_async_dir.ASYNC_DIR_ENV)
    assert _async_dir.resolve_async_dir() == str(tmp_path / 'home' / '.ansible_async')
    # an explicit environment mapping is where ANSIBLE_ASYNC_DIR is looked up
    assert _async_dir.resolve_async_dir({_async_dir.ASYNC_DIR_ENV: str(tmp_path / 'm')}) == str(tmp_path / 'm')
    assert _async_dir.resolve_async_dir({}) == str(tmp_path / 'home' / '.ansible_async')


def test_resolve_expands_tilde_and_vars(monkeypatch, tmp_path):
    """The action plugins pass the shell option unexpanded: ~ and $VARS expand here, on the target."""
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('JOBS_TEST_DIR', str(tmp_path / 'vars'))
    for raw, expected in (('~/jobs', tmp_path / 'home' / 'jobs'), ('~', tmp_path / 'home'),
                          ('$JOBS_TEST_DIR/a', tmp_path / 'vars' / 'a'), ('${JOBS_TEST_DIR}/b', tmp_path / 'vars' / 'b'),
                          ('rel/dir', tmp_path / 'rel' / 'dir'), (str(tmp_path / 'a' / '..' / 'b'), tmp_path / 'b')):
        monkeypatch.chdir(str(tmp_path))
        monkeypatch.setenv(_async_dir.ASYNC_DIR_ENV, raw)
        assert _async_dir.resolve_async_dir() == str(expected), raw


def test_expansion_reads_the_environ_given(monkeypatch, tmp_path):
    """An environ passed in (the job's, not this process's) decides $VARS and ~."""
    monkeypatch.setenv('HOME', str(tmp_path / 'process-home'))
    monkeypatch.setenv('JOBS_TEST_DIR', str(tmp_path / 'process-vars'))
    env = {'HOME': str(tmp_path / 'job-home'), 'JOBS_TEST_DIR': str(tmp_path / 'job-vars')}
    assert _async_dir.resolve_async_dir(environ=env) == str(tmp_path / 'job-home' / '.ansible_async')
    for raw, expected in (('$JOBS_TEST_DIR/a', str(tmp_path / 'job-vars' / 'a')), ('${JOBS_TEST_DIR}/b', str(tmp_path / 'job-vars' / 'b')),
                          ('$UNSET_JOBS_VAR/c', os.path.abspath('$UNSET_JOBS_VAR/c')), ('~/from-env', str(tmp_path / 'job-home' / 'from-env'))):
        assert _async_dir.resolve_async_dir(environ=dict(env, **{_async_dir.ASYNC_DIR_ENV: raw})) == expected, raw
    # what it does not set comes from this process's environment
    assert _async_dir.resolve_async_dir(environ={}) == str(tmp_path / 'process-home' / '.ansible_async')
    assert _async_dir.resolve_async_dir(environ={'HOME': '/elsewhere', _async_dir.ASYNC_DIR_ENV: '$JOBS_TEST_DIR'}) == str(tmp_path / 'process-vars')
    monkeypatch.delenv('HOME')
    passwd_home = os.path.abspath(pwd.getpwuid(os.geteuid()).pw_dir)
    assert _async_dir.resolve_async_dir(environ={}) == os.path.join(passwd_home, '.ansible_async')


@pytest.mark.parametrize('environ, expected', [
    ({'ANSIBLE_ASYNC_DIR': '~/.jobs', 'PATH': '/bin'}, {'PATH': '/bin'}),
    ({'ANSIBLE_ASYNC_DIR': '~/.jobs', 'ASYNCOPS_TASK_ASYNC_DIR': '/own'}, {'ANSIBLE_ASYNC_DIR': '/own'}),
    ({'ANSIBLE_ASYNC_DIR': '~/.jobs', 'ASYNCOPS_TASK_ASYNC_DIR': ''}, {}),
    ({}, {}),
])
def test_restore_task_environment(environ, expected):
    """What a job of the task inherits: the action plugin's entry out, the task's own back."""
    _async_dir.restore_task_environment(environ)
    assert environ == expected


def test_candidates_home_overridden(monkeypatch, tmp_path):
    """$HOME differs from the passwd home: both expansions are candidates, $HOME's first (core's wrapper)."""
    passwd_home = pwd.getpwuid(os.geteuid()).pw_dir
    home = str(tmp_path / 'home')
    assert home != passwd_home
    monkeypatch.setenv('HOME', home)
    monkeypatch.delenv(_async_dir.ASYNC_DIR_ENV, raising=False)
    assert _async_dir.candidate_async_dirs() == [os.path.join(home, '.ansible_async'),
                                                 os.path.join(os.path.abspath(passwd_home), '.ansible_async')]
    assert _async_dir.resolve_async_dir() == os.path.join(home, '.ansible_async')
    assert _async_dir.candidate_async_dirs('~/x') == [os.path.join(home, 'x'), os.path.join(os.path.abspath(passwd_home), 'x')]
    # no ~: one place only
    assert _async_dir.candidate_async_dirs(str(tmp_path / 'abs')) == [str(tmp_path / 'abs')]
    # $HOME equal to the passwd home: no duplicate
    monkeypatch.setenv('HOME', passwd_home)
    assert _async_dir.candidate_async_dirs() == [os.path.join(os.path.abspath(passwd_home), '.ansible_async')]


def test_candidates_without_passwd_entry(monkeypatch, tmp_path):
    def no_entry(uid):
        raise KeyError(uid)
    monkeypatch.setattr(_async_dir.pwd, 'getpwuid', no_entry)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv(_async_dir.ASYNC_DIR_ENV, raising=False)
    assert _async_dir.candidate_async_dirs() == [str(tmp_path / '.ansible_async')]


def test_ensure_async_dir_creates_0700(tmp_path, umask022):
    path = str(tmp_path / 'deep' / 'er' / '.ansible_async')
    assert _async_dir.ensure_async_dir(path) == path
    assert os.path.isdir(path)
    assert mode_of(path) == 0o700


def test_ensure_async_dir_0700_whatever_the_umask(tmp_path):
    path = str(tmp_path / '.ansible_async')
    old = os.umask(0o277)
    try:
        _async_dir.ensure_async_dir(path)
    finally:
        os.umask(old)
    assert mode_of(path) == 0o700


def test_ensure_async_dir_accepts_existing(tmp_path):
    path = tmp_path / 'existing'
    path.mkdir()
    write_file(path / 'j1.2', b'{}')
    assert _async_dir.ensure_async_dir(str(path)) == str(path)
    assert (path / 'j1.2').read_bytes() == b'{}'
    assert _async_dir.ensure_async_dir(str(path)) == str(path)


def test_ensure_async_dir_file_in_the_way(tmp_path):
    path = tmp_path / 'file'
    write_file(path, b'not a dir')
    with pytest.raises(_record.JobError) as exc:
        _async_dir.ensure_async_dir(str(path))
    assert exc.value.msg.startswith('async dir %s exists but is not a directory (owner ' % path)
    assert exc.value.path == str(path)
    assert path.read_bytes() == b'not a dir'
    with pytest.raises(_record.JobError) as exc:
        _async_dir.ensure_async_dir(str(path / 'below'))
    assert exc.value.msg.startswith('cannot create async dir %s: ' % (path / 'below'))


def test_ensure_async_dir_unwritable(tmp_path, monkeypatch):
    path = tmp_path / 'ro'
    path.mkdir()
    seen = []

    def no_access(p, mode):
        seen.append((p, mode))
        return False
    monkeypatch.setattr(_async_dir.os, 'access', no_access)
    with pytest.raises(_record.JobError) as exc:
        _async_dir.ensure_async_dir(str(path))
    assert seen == [(str(path), os.W_OK | os.X_OK)]
    assert exc.value.msg.startswith('async dir %s is not writable by ' % path)
    assert 'uid %d' % os.geteuid() in exc.value.msg


# ---------------------------------------------------------------- trust (issue 11)

def test_own_0777_dir_is_tightened_and_kept(tmp_path):
    path = tmp_path / 'loose'
    path.mkdir()
    os.chmod(str(path), 0o777)
    write_file(path / 'j1.2', b'{}')
    assert _async_dir.check_async_dir(str(path)) is True
    assert mode_of(str(path)) == 0o700
    assert (path / 'j1.2').read_bytes() == b'{}'   # core's records stay
    os.chmod(str(path), 0o755)   # as core creates ~/.ansible_async
    assert _async_dir.ensure_async_dir(str(path)) == str(path)
    assert mode_of(str(path)) == 0o700


def test_check_without_tighten_leaves_the_mode(tmp_path):
    path = tmp_path / 'loose'
    path.mkdir()
    os.chmod(str(path), 0o755)
    assert _async_dir.check_async_dir(str(path), tighten=False) is True
    assert mode_of(str(path)) == 0o755


def test_missing_dir_is_not_an_error(tmp_path):
    assert _async_dir.check_async_dir(str(tmp_path / 'none')) is False
    write_file(tmp_path / 'file', b'')
    assert _async_dir.check_async_dir(str(tmp_path / 'file' / 'below')) is False


def test_symlinked_dir_is_refused(tmp_path):
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    link = tmp_path / 'link'
    link.symlink_to(real)
    for call in (_async_dir.check_async_dir, _async_dir.ensure_async_dir):
        with pytest.raises(_record.JobError) as exc:
            call(str(link))
        msg = exc.value.msg
        assert msg.startswith('async dir %s is a symbolic link (to %s, made by ' % (link, real))
        assert 'refusing to follow it' in msg and exc.value.path == str(link)
    assert link.is_symlink() and os.listdir(str(real)) == []


def test_dangling_symlink_is_refused_not_created(tmp_path):
    link = tmp_path / 'link'
    link.symlink_to(tmp_path / 'target')
    with pytest.raises(_record.JobError) as exc:
        _async_dir.ensure_async_dir(str(link))
    assert 'is a symbolic link' in exc.value.msg
    assert not (tmp_path / 'target').exists()


@pytest.mark.skipif(os.geteuid() != 0, reason='chown to another user needs root')
def test_foreign_dir_is_refused_and_not_tightened(tmp_path):
    path = tmp_path / 'theirs'
    path.mkdir()
    os.chmod(str(path), 0o777)
    os.chown(str(path), 65534, 65534)
    for call in (_async_dir.check_async_dir, _async_dir.ensure_async_dir):
        with pytest.raises(_record.JobError) as exc:
            call(str(path))
        msg = exc.value.msg
        assert msg.startswith('async dir %s belongs to ' % path) and 'uid 65534' in msg
        assert 'not to %s' % _record.user_name(0) in msg and '(mode 0777)' in msg
        assert 'become_user' in msg and 'ansible_async_dir' in msg
    assert mode_of(str(path)) == 0o777 and os.stat(str(path)).st_uid == 65534


def test_untrusted_dir_reason_of_a_foreign_dir(tmp_path, monkeypatch):
    """The owner rule without root: the effective uid pretends to be another."""
    path = tmp_path / 'd'
    path.mkdir(mode=0o755)
    monkeypatch.setattr(_async_dir.os, 'geteuid', lambda: os.stat(str(path)).st_uid + 1)
    with pytest.raises(_record.JobError) as exc:
        _async_dir.check_async_dir(str(path))
    assert 'belongs to ' in exc.value.msg and '(mode 0755)' in exc.value.msg
    assert mode_of(str(path)) == 0o755
