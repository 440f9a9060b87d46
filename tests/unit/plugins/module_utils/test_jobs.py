# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the job record library (plugins/module_utils/_jobs.py).

Runs on every Python the module_utils support on targets (3.8+) with plain pytest;
the tests that drive ansible-core's own async_wrapper skip when ansible is not importable.
"""

from __future__ import annotations

import errno
import importlib.util
import inspect
import json
import multiprocessing
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs


# ---------------------------------------------------------------- helpers

def wait_for(condition, what, timeout=15.0):
    """Poll condition until it is true: for events in processes that are not our children."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.01)


def snapshot(root):
    """Every entry under root with its type, mode and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, 'rb') as f:
                    content = f.read()
            out[os.path.relpath(path, str(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), content)
    return out


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def write_file(path, data):
    with open(str(path), 'wb') as f:
        f.write(data)


@pytest.fixture
def adir(tmp_path):
    """An async dir inside tmp_path (tests put canaries beside it in tmp_path)."""
    d = tmp_path / 'async'
    d.mkdir()
    return str(d)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def procs():
    """Processes started by a test; killed and reaped at teardown."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.communicate()   # reaps, closes the pipes


def spawn(procs, *args):
    """A python process that waits on stdin, with args in its argv.

    Returns once the process says it runs: Popen returns as soon as exec has
    begun, when /proc/<pid>/cmdline may still be empty.
    """
    p = subprocess.Popen([sys.executable, '-c', 'import sys; print("up", flush=True); sys.stdin.read()'] + list(args),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    procs.append(p)
    assert p.stdout.readline() == 'up\n'
    return p


def kill_and_reap(p):
    p.kill()
    p.wait()


# ---------------------------------------------------------------- jids

GOOD_JIDS = [
    'j123456789012.4242',     # core today: j<random up to 12 digits>.<pid>
    'j0.1',
    '123456789.4242',         # older cores
    '0.0',
    'j' + '9' * 20 + '.' + '9' * 10,   # the longest accepted
]

ARABIC_INDIC = u'j\u0661\u0662\u0663.\u0664\u0665'   # "j123.45" in Arabic-Indic digits
FULLWIDTH = u'\uff11\uff12.\uff13'                    # "12.3" in fullwidth digits

BAD_JIDS = [
    '', ' ', '.', '..', '../x', '/', 'j1/2', 'j1.2/', '/j1.2', 'j1.2/../../x', '../j1.2', 'j1.2/..',
    '/etc/passwd', '~', '~/j1.2', '$HOME',
    'j1.2\x00', '\x00', 'j1\x00.2',
    'j1.2 ', ' j1.2', 'j1 .2', 'j1.2\n', '\nj1.2', 'j1.2\t', 'j1\t.2', 'j1.2\r', 'j1.2\x0b', u'j1.2\u00a0',
    ARABIC_INDIC, FULLWIDTH, u'j1.\u0662',
    'j1.2.3', '1..2', 'j1..2', '.1.2', '.j1.2', 'j1.2.', '1.2.', 'j.1', 'j1.', '.1', '1', 'j12', 'j',
    'k1.2', 'J1.2', 'jj1.2', 'x1.2', '1.2j', 'j1.2j', '1a.2', '0x1.2', '-1.2', '+1.2', '1.-2', '1e3.2',
    'j1.2.progress', 'j1.2.tmp', 'j1,2',
    'j' + '1' * 21 + '.2', 'j1.' + '1' * 11, 'j' + '1' * 10000 + '.1',
    None, 1, 1.2, True, b'j1.2', ['j1.2'], {'jid': 'j1.2'},
]


def _id(value):
    shown = repr(value)
    return shown if len(shown) < 30 else shown[:27] + '...'


@pytest.mark.parametrize('jid', GOOD_JIDS, ids=_id)
def test_validate_jid_accepts_core_shapes(jid):
    assert _jobs.validate_jid(jid) == jid


@pytest.mark.parametrize('jid', BAD_JIDS, ids=_id)
def test_validate_jid_refuses(jid):
    with pytest.raises(_jobs.InvalidJid) as exc:
        _jobs.validate_jid(jid)
    assert 'invalid job id' in exc.value.msg
    assert 'refusing to build a path' in exc.value.msg
    assert len(exc.value.msg) < 300   # a huge jid does not make a huge message
    assert isinstance(exc.value, _jobs.JobError)


def test_unicode_digits_would_pass_backslash_d():
    """The refusal of non-ASCII digits above is meaningful: \\d accepts them."""
    assert re.match(r'\Aj?\d+\.\d+\Z', ARABIC_INDIC)
    assert re.match(r'\A\d+\.\d+\Z', FULLWIDTH)


def test_bad_jid_touches_nothing(tmp_path, adir):
    """No function builds a path from a bad jid: nothing inside or outside the dir changes."""
    write_file(tmp_path / 'canary', b'canary')
    write_file(tmp_path / 'x', b'x')                       # where "../x" points
    write_file(tmp_path / 'x.progress', b'progress')
    write_file(os.path.join(adir, 'j1.2'), b'{"started": true}')
    before = snapshot(tmp_path)
    record = {'started': True, 'finished': True, 'rc': 0}
    calls = {
        'job_paths': lambda j: _jobs.job_paths(adir, j),
        'read_record': lambda j: _jobs.read_record(adir, j),
        'write_record': lambda j: _jobs.write_record(adir, j, record),
        'remove_job': lambda j: _jobs.remove_job(adir, j),
        'read_live_record': lambda j: _jobs.read_live_record(adir, j),
        'jid_prefix': _jobs.jid_prefix,
        'core_job_pids': _jobs.core_job_pids,
    }
    # absolute paths as jids too, aimed at the canaries themselves
    for jid in BAD_JIDS + [str(tmp_path / 'canary'), str(tmp_path / 'x')]:
        for name, call in sorted(calls.items()):
            try:
                call(jid)
            except _jobs.InvalidJid:
                pass
            else:
                pytest.fail('%s accepted the jid %r' % (name, jid))
            assert snapshot(tmp_path) == before, (name, jid)


def test_new_jid_has_core_shape():
    jids = set()
    for dummy in range(50):
        jid = _jobs.new_jid()
        assert _jobs.validate_jid(jid) == jid
        # core: 'j%d' % random.randint(0, 999999999999), then '%s.%d' % (that, os.getpid())
        m = re.match(r'\Aj(?P<rand>[0-9]{1,12})\.(?P<pid>[0-9]+)\Z', jid)
        assert m, jid
        assert int(m.group('pid')) == os.getpid()
        jids.add(jid)
    assert len(jids) > 45   # random part really random


def test_jid_prefix():
    assert _jobs.jid_prefix('j123.456') == 'j123'
    assert _jobs.jid_prefix('123.456') == '123'


def test_job_paths(adir):
    paths = _jobs.job_paths(adir, 'j1.2')
    base = os.path.join(adir, 'j1.2')
    assert paths == (base, base + '.progress', base + '.out', base + '.err')
    assert paths.record == base and paths.progress == base + '.progress'
    assert paths.out == base + '.out' and paths.err == base + '.err'


# ---------------------------------------------------------------- the async dir

def test_resolve_explicit_beats_env_beats_default(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv(_jobs.ASYNC_DIR_ENV, str(tmp_path / 'env'))
    assert _jobs.resolve_async_dir(str(tmp_path / 'explicit')) == str(tmp_path / 'explicit')
    assert _jobs.resolve_async_dir() == str(tmp_path / 'env')
    assert _jobs.resolve_async_dir(None) == str(tmp_path / 'env')
    assert _jobs.resolve_async_dir('') == str(tmp_path / 'env')
    monkeypatch.setenv(_jobs.ASYNC_DIR_ENV, '')
    assert _jobs.resolve_async_dir() == str(tmp_path / 'home' / '.ansible_async')
    monkeypatch.delenv(_jobs.ASYNC_DIR_ENV)
    assert _jobs.resolve_async_dir() == str(tmp_path / 'home' / '.ansible_async')
    # an explicit environment mapping is where ANSIBLE_ASYNC_DIR is looked up
    assert _jobs.resolve_async_dir(None, {_jobs.ASYNC_DIR_ENV: str(tmp_path / 'm')}) == str(tmp_path / 'm')
    assert _jobs.resolve_async_dir(None, {}) == str(tmp_path / 'home' / '.ansible_async')


def test_resolve_expands_tilde_and_vars(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.setenv('JOBS_TEST_DIR', str(tmp_path / 'vars'))
    assert _jobs.resolve_async_dir('~/jobs') == str(tmp_path / 'home' / 'jobs')
    assert _jobs.resolve_async_dir('~') == str(tmp_path / 'home')
    assert _jobs.resolve_async_dir('$JOBS_TEST_DIR/a') == str(tmp_path / 'vars' / 'a')
    assert _jobs.resolve_async_dir('${JOBS_TEST_DIR}/b') == str(tmp_path / 'vars' / 'b')
    monkeypatch.setenv(_jobs.ASYNC_DIR_ENV, '$JOBS_TEST_DIR/env')
    assert _jobs.resolve_async_dir() == str(tmp_path / 'vars' / 'env')
    monkeypatch.chdir(str(tmp_path))
    assert _jobs.resolve_async_dir('rel/dir') == str(tmp_path / 'rel' / 'dir')
    assert _jobs.resolve_async_dir(str(tmp_path / 'a' / '..' / 'b')) == str(tmp_path / 'b')


def test_expansion_reads_the_environ_given(monkeypatch, tmp_path):
    """An environ passed in (the job's, not this process's) decides $VARS and ~."""
    monkeypatch.setenv('HOME', str(tmp_path / 'process-home'))
    monkeypatch.setenv('JOBS_TEST_DIR', str(tmp_path / 'process-vars'))
    env = {'HOME': str(tmp_path / 'job-home'), 'JOBS_TEST_DIR': str(tmp_path / 'job-vars')}
    assert _jobs.resolve_async_dir(environ=env) == str(tmp_path / 'job-home' / '.ansible_async')
    assert _jobs.resolve_async_dir('$JOBS_TEST_DIR/a', environ=env) == str(tmp_path / 'job-vars' / 'a')
    assert _jobs.resolve_async_dir('${JOBS_TEST_DIR}/b', environ=env) == str(tmp_path / 'job-vars' / 'b')
    assert _jobs.resolve_async_dir('$UNSET_JOBS_VAR/c', environ=env) == os.path.abspath('$UNSET_JOBS_VAR/c')
    env[_jobs.ASYNC_DIR_ENV] = '~/from-env'
    assert _jobs.resolve_async_dir(environ=env) == str(tmp_path / 'job-home' / 'from-env')
    # what it does not set comes from this process's environment
    assert _jobs.resolve_async_dir(environ={}) == str(tmp_path / 'process-home' / '.ansible_async')
    assert _jobs.resolve_async_dir('$JOBS_TEST_DIR', environ={'HOME': '/elsewhere'}) == str(tmp_path / 'process-vars')
    monkeypatch.delenv('HOME')
    passwd_home = os.path.abspath(pwd.getpwuid(os.geteuid()).pw_dir)
    assert _jobs.resolve_async_dir(environ={}) == os.path.join(passwd_home, '.ansible_async')


def test_candidates_home_overridden(monkeypatch, tmp_path):
    """$HOME differs from the passwd home: both expansions are candidates, $HOME's first (core's wrapper)."""
    passwd_home = pwd.getpwuid(os.geteuid()).pw_dir
    home = str(tmp_path / 'home')
    assert home != passwd_home
    monkeypatch.setenv('HOME', home)
    monkeypatch.delenv(_jobs.ASYNC_DIR_ENV, raising=False)
    assert _jobs.candidate_async_dirs() == [os.path.join(home, '.ansible_async'),
                                            os.path.join(os.path.abspath(passwd_home), '.ansible_async')]
    assert _jobs.resolve_async_dir() == os.path.join(home, '.ansible_async')
    assert _jobs.candidate_async_dirs('~/x') == [os.path.join(home, 'x'), os.path.join(os.path.abspath(passwd_home), 'x')]
    # no ~: one place only
    assert _jobs.candidate_async_dirs(str(tmp_path / 'abs')) == [str(tmp_path / 'abs')]
    # $HOME equal to the passwd home: no duplicate
    monkeypatch.setenv('HOME', passwd_home)
    assert _jobs.candidate_async_dirs() == [os.path.join(os.path.abspath(passwd_home), '.ansible_async')]


def test_candidates_without_passwd_entry(monkeypatch, tmp_path):
    def no_entry(uid):
        raise KeyError(uid)
    monkeypatch.setattr(_jobs.pwd, 'getpwuid', no_entry)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv(_jobs.ASYNC_DIR_ENV, raising=False)
    assert _jobs.candidate_async_dirs() == [str(tmp_path / '.ansible_async')]


def test_ensure_async_dir_creates_0700(tmp_path, umask022):
    path = str(tmp_path / 'deep' / 'er' / '.ansible_async')
    assert _jobs.ensure_async_dir(path) == path
    assert os.path.isdir(path)
    assert mode_of(path) == 0o700


def test_ensure_async_dir_0700_whatever_the_umask(tmp_path):
    path = str(tmp_path / '.ansible_async')
    old = os.umask(0o277)
    try:
        _jobs.ensure_async_dir(path)
    finally:
        os.umask(old)
    assert mode_of(path) == 0o700


def test_ensure_async_dir_accepts_existing(tmp_path):
    path = tmp_path / 'existing'
    path.mkdir()
    write_file(path / 'j1.2', b'{}')
    assert _jobs.ensure_async_dir(str(path)) == str(path)
    assert (path / 'j1.2').read_bytes() == b'{}'
    assert _jobs.ensure_async_dir(str(path)) == str(path)


def test_ensure_async_dir_file_in_the_way(tmp_path):
    path = tmp_path / 'file'
    write_file(path, b'not a dir')
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.ensure_async_dir(str(path))
    assert exc.value.msg == 'async dir %s exists but is not a directory' % path
    assert exc.value.path == str(path)
    assert path.read_bytes() == b'not a dir'
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.ensure_async_dir(str(path / 'below'))
    assert exc.value.msg.startswith('cannot create async dir %s: ' % (path / 'below'))


def test_ensure_async_dir_unwritable(tmp_path, monkeypatch):
    path = tmp_path / 'ro'
    path.mkdir()
    seen = []

    def no_access(p, mode):
        seen.append((p, mode))
        return False
    monkeypatch.setattr(_jobs.os, 'access', no_access)
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.ensure_async_dir(str(path))
    assert seen == [(str(path), os.W_OK | os.X_OK)]
    assert exc.value.msg.startswith('async dir %s is not writable by ' % path)
    assert 'uid %d' % os.geteuid() in exc.value.msg


# ---------------------------------------------------------------- writes

def test_atomic_write_mode_and_content(adir, umask022):
    path = os.path.join(adir, 'j1.2')
    data = bytes(range(256)) * 1000
    _jobs.atomic_write(path, data)
    assert mode_of(path) == 0o600
    with open(path, 'rb') as f:
        assert f.read() == data
    assert os.listdir(adir) == ['j1.2']
    # replacing a world-readable file leaves a 0600 one
    os.chmod(path, 0o644)
    _jobs.atomic_write(path, b'second')
    assert mode_of(path) == 0o600
    with open(path, 'rb') as f:
        assert f.read() == b'second'
    _jobs.atomic_write(path, b'')
    assert os.path.getsize(path) == 0
    _jobs.atomic_write(path, b'x', mode=0o640)
    assert mode_of(path) == 0o640
    assert os.listdir(adir) == ['j1.2']


def test_write_record_roundtrip(adir, umask022):
    record = {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {'pid': 4, 'note': u'\u00e9t\u00e9'}}
    _jobs.write_record(adir, 'j1.2', record)
    assert mode_of(os.path.join(adir, 'j1.2')) == 0o600
    assert _jobs.read_record(adir, 'j1.2') == record


def test_write_large_record_roundtrip(adir):
    """Bigger than one read chunk."""
    record = {'stdout': 'x' * (3 * 1024 * 1024 + 17), 'rc': 0}
    _jobs.write_record(adir, 'j1.2', record)
    assert _jobs.read_record(adir, 'j1.2') == record


@pytest.mark.parametrize('code', [errno.ENOSPC, errno.EDQUOT])
def test_atomic_write_disk_full_keeps_previous(adir, monkeypatch, code):
    path = os.path.join(adir, 'j1.2')
    _jobs.atomic_write(path, b'{"old": true}')
    real_write = os.write
    partial = []

    def full_disk(fd, data):
        if partial:
            raise OSError(code, os.strerror(code))
        partial.append(real_write(fd, bytes(data[:4096])))
        return partial[-1]
    with monkeypatch.context() as m:
        m.setattr(_jobs.os, 'write', full_disk)
        with pytest.raises(_jobs.JobError) as exc:
            _jobs.atomic_write(path, b'{"new": "%s"}' % (b'y' * 100000))
    assert partial == [4096]   # some bytes went into the temp file before the disk filled
    assert 'no space left on device' in exc.value.msg
    assert 'previous content is unchanged' in exc.value.msg
    assert exc.value.path == path
    assert isinstance(exc.value.__cause__, OSError)
    with open(path, 'rb') as f:
        assert f.read() == b'{"old": true}'
    assert os.listdir(adir) == ['j1.2']   # no temp file left


def test_atomic_write_other_errors_clean_up(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    _jobs.atomic_write(path, b'old')

    def eio(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    with monkeypatch.context() as m:
        m.setattr(_jobs.os, 'fsync', eio)
        with pytest.raises(_jobs.JobError) as exc:
            _jobs.atomic_write(path, b'new')
    assert exc.value.msg == 'cannot write %s: %s' % (path, os.strerror(errno.EIO))
    assert os.listdir(adir) == ['j1.2']

    def interrupted(src, dst):
        raise KeyboardInterrupt()
    with monkeypatch.context() as m:
        m.setattr(_jobs.os, 'replace', interrupted)
        with pytest.raises(KeyboardInterrupt):
            _jobs.atomic_write(path, b'new')
    assert os.listdir(adir) == ['j1.2']
    with open(path, 'rb') as f:
        assert f.read() == b'old'


def test_atomic_write_temp_file_errors_are_job_errors(tmp_path, monkeypatch):
    missing = str(tmp_path / 'missing' / 'j1.2')
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.atomic_write(missing, b'x')
    assert exc.value.msg.startswith('cannot write %s: ' % missing)

    def no_inodes(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(_jobs.tempfile, 'mkstemp', no_inodes)
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.atomic_write(str(tmp_path / 'j1.2'), b'x')
    assert 'no space left on device' in exc.value.msg


# A writer process replacing one record over and over, alternating a big and a small version.
_WRITER = r'''
import importlib.util, json, signal, sys
spec = importlib.util.spec_from_file_location('_jobs_under_test', sys.argv[1])
jobs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(jobs)
path, how, big, small = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(True))
n = 0
while not stop:
    n += 1
    data = json.dumps({'version': n, 'pad': 'x' * (big if n % 2 else small)}).encode()
    if how == 'atomic':
        jobs.atomic_write(path, data)
    else:  # truncate then write, in place: what a reader must never see
        with open(path, 'wb') as f:
            f.write(data)
    if n == 1:
        print('ready', flush=True)
print(n, flush=True)
'''

_BIG, _SMALL = 48 * 1024, 512


def _hammer(path, how, min_reads, min_versions, stop_after_torn=None, deadline=20.0):
    """Read path while a writer replaces it; returns (reads, torn reads, versions seen, versions written)."""
    writer = subprocess.Popen([sys.executable, '-c', _WRITER, _jobs.__file__, path, how, str(_BIG), str(_SMALL)],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert writer.stdout.readline() == 'ready\n'
        reads = torn = 0
        versions = set()
        end = time.monotonic() + deadline
        while reads < min_reads or len(versions) < min_versions:
            if time.monotonic() > end or (stop_after_torn and torn >= stop_after_torn):
                break
            reads += 1
            try:
                obj = _jobs.read_json(path)
            except _jobs.JobError:
                torn += 1
                continue
            version = obj.get('version')
            if not isinstance(version, int) or len(obj.get('pad', '')) != (_BIG if version % 2 else _SMALL):
                torn += 1   # parsed, but not one of the versions written
                continue
            versions.add(version)
    finally:
        writer.send_signal(signal.SIGTERM)
        out = writer.communicate()[0]
    assert writer.returncode == 0
    return reads, torn, versions, int(out.split()[-1])


def test_atomic_write_no_torn_reads(adir):
    path = os.path.join(adir, 'j1.2')
    reads, torn, versions, written = _hammer(path, 'atomic', min_reads=10000, min_versions=50)
    assert reads >= 10000
    assert torn == 0
    # the reads ran while many versions were written: the test could have seen a torn one
    assert len(versions) >= 50, (len(versions), written)
    assert written >= max(versions)
    assert os.listdir(adir) == ['j1.2']   # the writer stopped between writes: no temp file left


def test_harness_detects_a_non_atomic_writer(adir):
    """The same harness, with a writer that truncates and writes in place, does see torn reads."""
    path = os.path.join(adir, 'j1.2')
    reads, torn, versions, written = _hammer(path, 'plain', min_reads=10000, min_versions=0, stop_after_torn=20)
    assert torn > 0, (reads, len(versions), written)
    assert written > 1


# ---------------------------------------------------------------- reads

def test_read_missing(adir, tmp_path):
    with pytest.raises(_jobs.JobNotFound) as exc:
        _jobs.read_record(adir, 'j1.2')
    assert exc.value.msg.startswith('could not find job')
    assert os.path.join(adir, 'j1.2') in exc.value.msg
    assert exc.value.path == os.path.join(adir, 'j1.2')
    with pytest.raises(_jobs.JobNotFound):
        _jobs.read_record(str(tmp_path / 'no-such-dir'), 'j1.2')
    write_file(tmp_path / 'afile', b'')
    with pytest.raises(_jobs.JobNotFound):   # the async dir is a file
        _jobs.read_record(str(tmp_path / 'afile'), 'j1.2')


@pytest.mark.parametrize('content', [
    b'', b' ', b'\n\t \n', b'{', b'{"a": 1', b'nope', b'{"a": 1}{"b": 2}', b'[]', b'[1, 2]', b'"text"', b'42',
    b'null', b'true', b'\xff\xfe{}', b'{"a": "\xff"}', b'\xef\xbb\xbf{}', b'[' * 100000, b'{"a":' * 100000,
], ids=_id)
def test_read_not_a_record(adir, content):
    path = os.path.join(adir, 'j1.2')
    write_file(path, content)
    with pytest.raises(_jobs.NotAJobRecord) as exc:
        _jobs.read_record(adir, 'j1.2')
    assert path in exc.value.msg
    assert exc.value.path == path
    if not content.strip():
        assert exc.value.msg == '%s is empty, not a job record' % path
    else:
        assert exc.value.msg.startswith('%s is not a job record: ' % path)
    with pytest.raises(_jobs.NotAJobRecord):
        _jobs.read_json(path)


def test_read_directory(adir):
    os.mkdir(os.path.join(adir, 'j1.2'))
    with pytest.raises(_jobs.NotAJobRecord) as exc:
        _jobs.read_record(adir, 'j1.2')
    assert exc.value.msg == '%s is a directory, not a job record' % os.path.join(adir, 'j1.2')


def test_read_fifo_does_not_hang(adir):
    path = os.path.join(adir, 'j1.2')
    os.mkfifo(path)
    result = []

    def read():
        try:
            _jobs.read_json(path)
        except Exception as e:  # pylint: disable=broad-exception-caught
            result.append(e)
    reader = threading.Thread(target=read)
    reader.daemon = True
    reader.start()
    reader.join(10)
    if reader.is_alive():   # unblock the reader before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail('read_json blocked on a FIFO')
    assert len(result) == 1 and isinstance(result[0], _jobs.NotAJobRecord)
    assert path in result[0].msg


def test_read_permission_denied_names_owner(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    _jobs.write_record(adir, 'j1.2', {'started': True})
    owner = os.geteuid()
    if owner == 0:
        os.chown(path, 65534, 65534)
        owner = 65534
    real_open = os.open

    def denied(p, *args, **kwargs):
        if p == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), p)
        return real_open(p, *args, **kwargs)
    monkeypatch.setattr(_jobs.os, 'open', denied)
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.read_record(adir, 'j1.2')
    assert not isinstance(exc.value, (_jobs.JobNotFound, _jobs.NotAJobRecord, _jobs.InvalidJid))
    assert exc.value.path == path
    msg = exc.value.msg
    assert msg.startswith('cannot read %s: it belongs to ' % path)
    assert 'uid %d' % owner in msg.split(' and ')[0]
    assert 'this task runs as' in msg and 'uid %d' % os.geteuid() in msg.split(' and ')[1]
    assert 'become_user' in msg


def test_read_other_os_error(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    _jobs.write_record(adir, 'j1.2', {'started': True})

    def eio(fd, n):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    with monkeypatch.context() as m:
        m.setattr(_jobs.os, 'read', eio)
        with pytest.raises(_jobs.JobError) as exc:
            _jobs.read_record(adir, 'j1.2')
    assert exc.value.msg == 'cannot read %s: %s' % (path, os.strerror(errno.EIO))


# ---------------------------------------------------------------- record states

@pytest.mark.parametrize('record, finished, state', [
    ({'started': True, 'finished': False, 'ansible_job_id': 'j1.2'}, False, 'running'),     # core 2.19+ running
    ({'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}, False, 'running'),            # core 2.17 running
    ({'started': True, 'ansible_job_id': 'j1.2'}, False, 'running'),                        # no 'finished': running
    ({'changed': True, 'rc': 0, 'stdout': 'done'}, True, 'succeeded'),                      # core final result
    ({}, True, 'succeeded'),
    ({'changed': False, 'failed': False, 'rc': 0}, True, 'succeeded'),
    ({'failed': True, 'msg': 'boom', 'rc': 2}, True, 'failed'),
    ({'failed': 1, 'cmd': 'x', 'msg': 'Traceback', 'ansible_job_id': 'j1.2'}, True, 'failed'),  # core's wrapper error
    ({'msg': 'Timeout exceeded', 'failed': True, 'child_pid': 1}, True, 'timeout'),         # core's watcher
    ({'msg': 'Timeout exceeded', 'failed': True}, True, 'failed'),                          # a module's own message
    ({'started': True, 'finished': True, 'rc': 0}, True, 'succeeded'),
    ({'started': True, 'finished': True, 'failed': True}, True, 'failed'),
    ({'started': True, 'finished': False, 'asyncops': {'state': 'running', 'pid': 1}}, False, 'running'),
    ({'started': True, 'finished': True, 'rc': 0, 'asyncops': {'state': 'succeeded'}}, True, 'succeeded'),
    ({'started': True, 'finished': True, 'failed': True, 'asyncops': {'state': 'failed'}}, True, 'failed'),
    ({'started': True, 'finished': True, 'failed': True, 'asyncops': {'state': 'timeout'}}, True, 'timeout'),
    ({'started': True, 'finished': True, 'failed': True, 'asyncops': {'state': 'killed'}}, True, 'killed'),
    ({'started': True, 'finished': True, 'failed': True, 'asyncops': {'state': 'lost'}}, True, 'lost'),
    ({'started': True, 'finished': True, 'failed': True, 'asyncops': {'state': 'bogus'}}, True, 'failed'),
    ({'started': True, 'finished': False, 'asyncops': 'not a dict'}, False, 'running'),
], ids=_id)
def test_record_state(record, finished, state):
    assert _jobs.is_finished(record) is finished
    assert _jobs.record_state(record) == state


def test_running_record_shape():
    assert _jobs.running_record('j1.2') == {'started': True, 'finished': False, 'ansible_job_id': 'j1.2'}
    ao = {'pid': 4}
    rec = _jobs.running_record('j1.2', ao)
    assert rec == {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {'pid': 4}}
    assert rec['asyncops'] is not ao


# ---------------------------------------------------------------- ansible-core's own wrapper

_CORE = {}


def _async_wrapper():
    """ansible-core's async_wrapper, loaded from its file.

    Loaded by path: ansible-test's module_utils units allow importing only
    ansible.module_utils, not ansible.modules.
    """
    if 'module' not in _CORE:
        try:
            import ansible.module_utils  # pylint: disable=import-outside-toplevel
        except ImportError as e:
            pytest.skip('ansible-core is not importable here (%s): the core-record tests need its async_wrapper' % e)
        # realpath: ansible-test's units see a tree holding a link to module_utils only
        package = os.path.dirname(os.path.realpath(os.path.dirname(ansible.module_utils.__file__)))
        path = os.path.join(package, 'modules', 'async_wrapper.py')
        if not os.path.isfile(path):
            pytest.skip('ansible-core at %s has no modules/async_wrapper.py' % package)
        lib = os.path.dirname(package)
        spec = importlib.util.spec_from_file_location('asyncops_test_core_async_wrapper', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _CORE.update(module=module, path=path, lib=lib)
    return _CORE['module']


_MODULE = r'''#!%s
import json, sys
how = sys.argv[1]
if how.startswith('fifo:'):
    with open(how[5:]) as f:      # blocks until the test writes to the FIFO
        print(json.dumps({'changed': True, 'rc': 0, 'msg': f.read()}))
elif how == 'ok':
    print(json.dumps({'changed': True, 'rc': 0, 'stdout': 'done'}))
elif how == 'fail':
    print(json.dumps({'failed': True, 'rc': 2, 'msg': 'boom'}))
else:
    print('not json at all')
'''


def _module_script(tmp_path):
    script = tmp_path / 'module.py'
    script.write_text(_MODULE % sys.executable)
    os.chmod(str(script), 0o755)
    return str(script)


def _new_core_signature(aw):
    """2.19+: _run_module(jid, *module_args); 2.17/2.18: _run_module(wrapped_cmd, jid)."""
    return list(inspect.signature(aw._run_module).parameters)[0] == 'jid'


def test_core_records_written_by_core(tmp_path, adir, monkeypatch):
    """Records written by core's own jwrite/_run_module, read with _jobs."""
    aw = _async_wrapper()
    script = _module_script(tmp_path)
    expected = {'ok': 'succeeded', 'fail': 'failed', 'garbage': 'failed'}
    for n, (how, state) in enumerate(sorted(expected.items())):
        jid = 'j%d.%d' % (100 + n, os.getpid())
        monkeypatch.setattr(aw, 'job_path', _jobs.job_paths(adir, jid).record)
        # the running record, exactly as core writes it first
        if _new_core_signature(aw):
            aw.jwrite({'started': True, 'finished': False, 'ansible_job_id': jid})
        else:
            aw.jwrite({'started': 1, 'finished': 0, 'ansible_job_id': jid})
        running = _jobs.read_record(adir, jid)
        assert not _jobs.is_finished(running) and _jobs.record_state(running) == 'running'
        assert running['ansible_job_id'] == jid
        # the final record, from core running a module
        reader, notifier = multiprocessing.Pipe()
        monkeypatch.setattr(aw, 'ipc_notifier', notifier)
        if _new_core_signature(aw):
            aw._run_module(jid, sys.executable, script, how)
        else:
            aw._run_module('%s %s' % (script, how), jid)
        reader.close()
        final = _jobs.read_record(adir, jid)
        assert _jobs.is_finished(final), final
        assert _jobs.record_state(final) == state, final
        assert _jobs.read_live_record(adir, jid) == final   # finished: no liveness verdict
    jobs, garbage = _jobs.list_jobs(adir)
    assert len(jobs) == 3 and garbage == []


@pytest.fixture
def core_jobs(adir):
    """Start jobs with core's real async_wrapper; kill what is left of them at teardown."""
    aw = _async_wrapper()
    env = dict(os.environ, ANSIBLE_ASYNC_DIR=adir)
    env['PYTHONPATH'] = os.pathsep.join([_CORE['lib']] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    jids = []

    def start(script, how, time_limit='60'):
        prefix = 'j%d' % (int(time.time() * 1000000) % 10 ** 12)
        if _new_core_signature(aw):
            args = [prefix, time_limit, 'true', script, sys.executable, script, how]
        else:
            args = [prefix, time_limit, script, how, '-preserve_tmp']
        # run as core runs it (a python process whose argv holds the jid prefix and time limit), but not
        # as "python async_wrapper.py": that would put ansible/modules, with its tempfile.py, on sys.path
        run = 'import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name="__main__")'
        out = subprocess.run([sys.executable, '-c', run, _CORE['path']] + args, env=env, check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        assert result['started'] and not result['finished'], result
        jid = result['ansible_job_id']
        jids.append(jid)
        assert _jobs.validate_jid(jid) == jid
        assert _jobs.jid_prefix(jid) == prefix
        assert result['results_file'] == _jobs.job_paths(adir, jid).record
        return jid

    yield start
    for jid in jids:
        kill_core_job(jid)


def kill_core_job(jid):
    for pid in _jobs.core_job_pids(jid):
        try:
            pgid = os.getpgid(pid)
            if pgid == os.getpgrp():   # never our own group
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    wait_for(lambda: not _jobs.core_job_pids(jid), 'the processes of %s to go' % jid)


def release(fifo):
    """Let a module blocked on the FIFO finish."""
    def open_writer():
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:   # the module has not opened it yet
                return None
            raise
    fd = wait_for(open_writer, 'the module to open %s' % fifo)
    os.write(fd, b'released')
    os.close(fd)


def test_core_job_end_to_end(tmp_path, adir, core_jobs):
    """A job run by ansible-core's async_wrapper: running, then finished; a second one killed: lost."""
    script = _module_script(tmp_path)
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    jid = core_jobs(script, 'fifo:' + fifo)
    assert _jobs.core_job_pids(jid)           # the watcher and the module runner
    live = _jobs.read_live_record(adir, jid)
    assert live == {'started': True, 'finished': False, 'ansible_job_id': jid} or live == {
        'started': 1, 'finished': 0, 'ansible_job_id': jid}
    assert _jobs.record_state(live) == 'running'
    release(fifo)
    final = wait_for(lambda: _jobs.is_finished(_jobs.read_record(adir, jid)) and _jobs.read_record(adir, jid),
                     'the final record')
    assert final['msg'] == 'released' and final['rc'] == 0
    assert _jobs.read_live_record(adir, jid) == final
    assert _jobs.record_state(final) == 'succeeded'

    fifo2 = str(tmp_path / 'fifo2')
    os.mkfifo(fifo2)
    jid2 = core_jobs(script, 'fifo:' + fifo2)
    assert _jobs.record_state(_jobs.read_live_record(adir, jid2)) == 'running'
    kill_core_job(jid2)                       # kill -9 from outside: the record still says running
    on_disk = _jobs.read_record(adir, jid2)
    assert not _jobs.is_finished(on_disk)
    lost = _jobs.read_live_record(adir, jid2)
    assert lost['finished'] and lost['failed'] and lost['started']
    assert lost['msg'] == _jobs.LOST_MSG.format(jid=jid2)
    assert lost['asyncops']['state'] == 'lost' and _jobs.record_state(lost) == 'lost'
    assert _jobs.read_record(adir, jid2) == on_disk   # judging does not write


def test_core_job_timeout_record(tmp_path, adir, core_jobs):
    """Core's watcher kills a job on its time limit and writes its timeout record."""
    script = _module_script(tmp_path)
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    jid = core_jobs(script, 'fifo:' + fifo, time_limit='1')
    record = wait_for(lambda: _jobs.is_finished(_jobs.read_record(adir, jid)) and _jobs.read_record(adir, jid),
                      'the timeout record', timeout=40.0)
    assert record['msg'] == 'Timeout exceeded'
    assert _jobs.record_state(record) == 'timeout'
    assert _jobs.read_live_record(adir, jid) == record


# ---------------------------------------------------------------- liveness

def test_process_start_time(procs):
    mine = _jobs.process_start_time(os.getpid())
    assert mine is not None
    assert all(_jobs.process_start_time(os.getpid()) == mine for dummy in range(20))
    # ansible-test forks a process per test: the child may start in this
    # process's clock tick. The parent started well before either.
    parent = _jobs.process_start_time(os.getppid())
    child = spawn(procs)
    other = _jobs.process_start_time(child.pid)
    assert other is not None and parent is not None and other != parent
    assert _jobs.process_start_time(child.pid) == other
    kill_and_reap(child)
    assert _jobs.process_start_time(child.pid) is None
    for bad in (0, -1, True, False, None, '1', 1.0):
        assert _jobs.process_start_time(bad) is None


def test_group_exists(procs):
    child = subprocess.Popen([sys.executable, '-c', 'import sys; print("up", flush=True); sys.stdin.read()'],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True,
                             start_new_session=True)
    procs.append(child)
    assert child.stdout.readline() == 'up\n'
    assert _jobs.group_exists(child.pid)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    assert _jobs.group_exists(child.pid)   # a zombie still holds its group
    child.wait()
    assert not _jobs.group_exists(child.pid)
    for nothing in (0, None):
        assert not _jobs.group_exists(nothing)


def test_core_wrapper_prefixes(procs, monkeypatch, tmp_path):
    spawn(procs, 'j123456789', '3600', 'whatever')
    spawn(procs, 'tail', 'j987654321.42')
    spawn(procs, '123456', 'abc')
    found = _jobs.core_wrapper_prefixes()
    assert 'j123456789' in found
    assert 'j987654321' not in found and '123456' not in found
    assert _jobs.wrapper_prefix_at(['x', 'j1', '-5'], 1) == 'j1'
    assert _jobs.wrapper_prefix_at(['x', 'j1', '-5'], 0) is None
    assert _jobs.wrapper_prefix_at(['j1'], 0) is None
    monkeypatch.setattr(_jobs, '_PROC', str(tmp_path / 'no-procfs'))
    assert _jobs.core_wrapper_prefixes() is None


def test_pid_is(procs):
    token = _jobs.process_start_time(os.getpid())
    assert token and token != _jobs.START_TIME_UNKNOWN
    assert _jobs.pid_is(os.getpid(), token)
    assert _jobs.pid_is(os.getpid(), None)           # no token recorded: the pid is enough
    assert _jobs.pid_is(os.getpid(), _jobs.START_TIME_UNKNOWN)   # recorded where it could not be read
    assert not _jobs.pid_is(os.getpid(), token + '0')   # PID reused by another process
    assert not _jobs.pid_is(os.getpid(), 'x')
    assert _jobs.pid_is(os.getpid(), int(token))
    for bad in (None, '1', True, 1.5):
        assert not _jobs.pid_is(bad, None)
    child = spawn(procs)
    child_token = _jobs.process_start_time(child.pid)
    assert child_token and _jobs.pid_is(child.pid, child_token)
    kill_and_reap(child)
    assert not _jobs.pid_is(child.pid, child_token)
    assert not _jobs.pid_is(child.pid, None)


def test_zombie_is_not_alive(procs):
    child = spawn(procs)
    token = _jobs.process_start_time(child.pid)
    assert _jobs.pid_is(child.pid, token)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)   # exited, not reaped: a zombie
    assert _jobs.process_start_time(child.pid) is None
    assert not _jobs.pid_is(child.pid, token)
    assert not _jobs.job_processes_alive(_jobs.running_record('j1.2', {'pid': child.pid}), 'j1.2')
    child.wait()


def test_liveness_without_procfs(procs, adir, monkeypatch, tmp_path):
    """No procfs (BSD, macOS, a container without /proc): pids still checked, nothing called lost on a guess."""
    monkeypatch.setattr(_jobs, '_PROC', str(tmp_path / 'no-procfs'))
    assert not _jobs._have_procfs()
    assert _jobs.process_start_time(os.getpid()) == _jobs.START_TIME_UNKNOWN
    assert _jobs.pid_is(os.getpid(), _jobs.START_TIME_UNKNOWN)
    assert _jobs.pid_is(os.getpid(), '12345')       # a reused PID cannot be told apart here
    child = spawn(procs)
    assert _jobs.process_start_time(child.pid) == _jobs.START_TIME_UNKNOWN
    record = _jobs.running_record('j1.2', {'pid': child.pid, 'pid_start': _jobs.START_TIME_UNKNOWN})
    _jobs.write_record(adir, 'j1.2', record)
    assert _jobs.read_live_record(adir, 'j1.2') == record
    kill_and_reap(child)
    assert _jobs.process_start_time(child.pid) is None
    assert not _jobs.pid_is(child.pid, None)
    assert _jobs.record_state(_jobs.read_live_record(adir, 'j1.2')) == 'lost'
    # a core job: its processes cannot be found, so it is not judged
    wrapper = spawn(procs, 'wrapper', 'j4242', '60')
    assert _jobs.core_job_pids('j4242.1') == []
    core = _jobs.running_record('j4242.1')
    assert _jobs.job_processes_alive(core, 'j4242.1')
    _jobs.write_record(adir, 'j4242.1', core)
    assert _jobs.read_live_record(adir, 'j4242.1') == core
    kill_and_reap(wrapper)


def test_job_processes_alive_and_pid_reuse(procs, adir):
    job = spawn(procs)
    supervisor = spawn(procs)
    ao = {'pid': job.pid, 'pid_start': _jobs.process_start_time(job.pid),
          'supervisor_pid': supervisor.pid, 'supervisor_start': _jobs.process_start_time(supervisor.pid)}
    record = _jobs.running_record('j1.2', ao)
    assert _jobs.job_processes_alive(record, 'j1.2')
    kill_and_reap(job)
    assert _jobs.job_processes_alive(record, 'j1.2')        # the supervisor still runs
    kill_and_reap(supervisor)
    assert not _jobs.job_processes_alive(record, 'j1.2')
    # only a pid, no supervisor
    alone = spawn(procs)
    record = _jobs.running_record('j1.2', {'pid': alone.pid, 'pid_start': _jobs.process_start_time(alone.pid)})
    assert _jobs.job_processes_alive(record, 'j1.2')
    kill_and_reap(alone)
    assert not _jobs.job_processes_alive(record, 'j1.2')
    # PID reuse: the recorded pid runs, but it is another process
    reused = _jobs.running_record('j1.2', {'pid': os.getpid(), 'pid_start': '1'})
    assert not _jobs.job_processes_alive(reused, 'j1.2')
    _jobs.write_record(adir, 'j1.2', reused)
    lost = _jobs.read_live_record(adir, 'j1.2')
    assert _jobs.record_state(lost) == 'lost' and lost['failed'] and lost['finished']
    assert lost['asyncops']['pid'] == os.getpid()
    same = _jobs.running_record('j1.2', {'pid': os.getpid(), 'pid_start': _jobs.process_start_time(os.getpid())})
    _jobs.write_record(adir, 'j1.2', same)
    assert _jobs.read_live_record(adir, 'j1.2') == same


def test_core_job_pids(procs, adir):
    """A core job's processes carry '<jid prefix> <time limit>' in their argv."""
    jid = 'j%d.4242' % (int(time.time() * 1000000) % 10 ** 12)
    prefix = _jobs.jid_prefix(jid)
    _jobs.write_record(adir, jid, _jobs.running_record(jid))
    assert _jobs.core_job_pids(jid) == []
    assert _jobs.record_state(_jobs.read_live_record(adir, jid)) == 'lost'
    # look-alikes that are not the job
    spawn(procs, jid)                                 # e.g. tail -f <jid>
    spawn(procs, prefix)                              # the prefix, no time limit after it
    spawn(procs, prefix, 'x', '60')
    spawn(procs, prefix + '0', '60')
    spawn(procs, 'a' + prefix, '60')
    assert _jobs.core_job_pids(jid) == []
    wrapper = spawn(procs, '/tmp/AnsiballZ_async_wrapper.py', prefix, '3600', 'true', '/tmp/AnsiballZ_x.py')
    assert prefix in _jobs.process_argv(wrapper.pid)
    assert _jobs.core_job_pids(jid) == [wrapper.pid]
    assert _jobs.read_live_record(adir, jid) == _jobs.running_record(jid)
    kill_and_reap(wrapper)
    assert _jobs.core_job_pids(jid) == []
    lost = _jobs.read_live_record(adir, jid)
    assert lost['msg'] == _jobs.LOST_MSG.format(jid=jid)
    assert _jobs.record_state(lost) == 'lost'


def test_core_job_pids_old_jid(procs):
    """Older cores: '<digits>.<pid>'; 'sleep 123456' is not the job, 'wrapper 123456 60' is."""
    prefix = '%d' % (int(time.time() * 1000000) % 10 ** 12)
    jid = prefix + '.4242'
    spawn(procs, prefix)
    assert _jobs.core_job_pids(jid) == []
    wrapper = spawn(procs, 'wrapper', prefix, '60', 'module', 'args')
    assert _jobs.core_job_pids(jid) == [wrapper.pid]


def test_read_live_record_reread_race(adir, monkeypatch):
    """The job finishes between the first read and the process check: finished, not lost."""
    running = _jobs.running_record('j1.2', {'pid': 1, 'pid_start': 'not-init'})
    finished = {'started': True, 'finished': True, 'rc': 0, 'ansible_job_id': 'j1.2'}
    reads = []

    def read_record(async_dir, jid):
        reads.append((async_dir, jid))
        return running if len(reads) == 1 else finished
    monkeypatch.setattr(_jobs, 'read_record', read_record)
    monkeypatch.setattr(_jobs, 'job_processes_alive', lambda record, jid: False)
    assert _jobs.read_live_record(adir, 'j1.2') == finished
    assert reads == [(adir, 'j1.2')] * 2
    # still running on the second read: lost
    del reads[:]
    finished = running
    assert _jobs.record_state(_jobs.read_live_record(adir, 'j1.2')) == 'lost'
    assert len(reads) == 2


def test_lost_record():
    record = _jobs.running_record('j1.2', {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0})
    record['extra'] = 'kept'
    lost = _jobs.lost_record(record, 'j1.2', now=99.0)
    assert lost['extra'] == 'kept' and lost['ansible_job_id'] == 'j1.2'
    assert lost['started'] is True and lost['finished'] is True and lost['failed'] is True
    assert lost['msg'] == _jobs.LOST_MSG.format(jid='j1.2')
    assert lost['asyncops'] == {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0, 'state': 'lost',
                                'detected_lost_at': 99.0}
    assert record['asyncops'] == {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0}   # input untouched
    core = _jobs.lost_record({'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}, 'j1.2', now=1.0)
    assert core['asyncops'] == {'state': 'lost', 'ended_at': None, 'detected_lost_at': 1.0}
    assert 'j1.2' in core['msg'] and 'kill -9' in core['msg']


# ---------------------------------------------------------------- listing and removal

def test_list_jobs(adir, tmp_path):
    def put(name, size):
        write_file(os.path.join(adir, name), b'x' * size)
        return os.path.join(adir, name)
    rec = put('j1.2', 10)
    cars = {'progress': put('j1.2.progress', 5), 'out': put('j1.2.out', 7), 'err': put('j1.2.err', 3)}
    old = put('123.456', 4)
    garbage = {
        put('j3.4.out', 6): 'sidecar without a record',
        put('j3.4.err', 1): 'sidecar without a record',
        put('j5.6.tmp', 2): 'temp file',                        # core's jwrite temp
        put('.j1.2.abcd_123.tmp', 8): 'temp file',               # ours
        put('.j1.2.progress.x9y8z7w6.tmp', 9): 'temp file',      # ours, for a sidecar
    }
    for foreign in ('notes.txt', 'j1.2.bak', 'j1.2.tmp.old', 'README', '.hidden', '.notes.abc.tmp', 'x.tmp',
                    '.old.j1.2.abc.tmp', '.j1.2.bak.abc.tmp', '.j1.2..tmp', '.j1.2.tmp',
                    'j1.2.progress.tmp', 'j1.2.log', 'J1.2', 'j1.2 '):
        put(foreign, 1)
    os.mkdir(os.path.join(adir, 'j7.8'))                        # a directory with a jid's name
    os.mkdir(os.path.join(adir, 'subdir'))
    write_file(tmp_path / 'elsewhere', b'{}')
    os.symlink(str(tmp_path / 'elsewhere'), os.path.join(adir, 'j9.9'))   # a symlink is not a record
    os.mkfifo(os.path.join(adir, 'j9.8'))

    jobs, trash = _jobs.list_jobs(adir)
    assert [j.jid for j in jobs] == ['123.456', 'j1.2']
    assert jobs[0] == _jobs.JobEntry('123.456', old, {}, 4, os.stat(old).st_mtime)
    assert jobs[1] == _jobs.JobEntry('j1.2', rec, cars, 10 + 5 + 7 + 3, os.stat(rec).st_mtime)
    assert [g.path for g in trash] == sorted(garbage)
    for g in trash:
        assert g.reason == garbage[g.path]
        assert g.size == os.path.getsize(g.path)
        assert g.mtime == os.stat(g.path).st_mtime


def test_list_jobs_missing_or_bad_dir(tmp_path):
    assert _jobs.list_jobs(str(tmp_path / 'missing')) == ([], [])
    write_file(tmp_path / 'file', b'')
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.list_jobs(str(tmp_path / 'file'))
    assert exc.value.msg.startswith('cannot list async dir %s' % (tmp_path / 'file'))


def test_list_jobs_sees_atomic_write_temp(adir, monkeypatch):
    """The temp file atomic_write makes is recognised as ours (garbage when left behind)."""
    left = []

    def keep(src, dst):
        left.append(src)
        raise OSError(errno.EIO, 'simulated')
    real_unlink = os.unlink
    with monkeypatch.context() as m:
        m.setattr(_jobs.os, 'replace', keep)
        m.setattr(_jobs.os, 'unlink', lambda p: None)   # as if the writer died before cleaning up
        with pytest.raises(_jobs.JobError):
            _jobs.write_progress(_jobs.job_paths(adir, 'j1.2').progress, {'percent': 1})
        with pytest.raises(_jobs.JobError):
            _jobs.write_record(adir, 'j1.2', {'started': True})
    assert len(left) == 2 and all(os.path.exists(p) for p in left)
    jobs, trash = _jobs.list_jobs(adir)
    assert jobs == [] and sorted(g.path for g in trash) == sorted(left)
    assert all(g.reason == 'temp file' for g in trash)
    for p in left:
        real_unlink(p)


def test_remove_job(adir):
    paths = _jobs.job_paths(adir, 'j1.2')
    for p in paths:
        write_file(p, b'x')
    neighbours = ['j1.2.tmp', '.j1.2.abc.tmp', 'j1.20', 'j11.2', 'j1.2.bak', '1.2', 'j1.2.progress.old', 'j1.2.log']
    for name in neighbours:
        write_file(os.path.join(adir, name), b'n')
    assert _jobs.remove_job(adir, 'j1.2') == list(paths)
    assert sorted(os.listdir(adir)) == sorted(neighbours)
    assert _jobs.remove_job(adir, 'j1.2') == []
    write_file(paths.record, b'x')
    write_file(paths.out, b'x')
    assert _jobs.remove_job(adir, 'j1.2') == [paths.record, paths.out]
    assert _jobs.remove_job(os.path.join(adir, 'missing'), 'j1.2') == []
    os.mkdir(paths.record)
    with pytest.raises(_jobs.JobError) as exc:
        _jobs.remove_job(adir, 'j1.2')
    assert exc.value.msg.startswith('cannot remove %s: ' % paths.record)
    assert os.path.isdir(paths.record)


# ---------------------------------------------------------------- progress

@pytest.mark.parametrize('given, expected', [
    ({'current': 50, 'total': 200}, {'percent': 25.0, 'current': 50, 'total': 200}),
    ({'current': 1, 'total': 3}, {'percent': 33.33, 'current': 1, 'total': 3}),
    ({'current': 300, 'total': 200}, {'percent': 100.0, 'current': 300, 'total': 200}),
    ({'current': -5, 'total': 200}, {'percent': 0.0, 'current': -5, 'total': 200}),
    ({'current': 5, 'total': 0}, {'current': 5, 'total': 0}),
    ({'current': 5}, {'current': 5}),
    ({'percent': 150}, {'percent': 100.0}),
    ({'percent': -3}, {'percent': 0.0}),
    ({'percent': 12.3456}, {'percent': 12.35}),
    ({'percent': '42.5'}, {'percent': 42.5}),
    ({'percent': 10, 'current': 50, 'total': 100}, {'percent': 10.0, 'current': 50, 'total': 100}),
    ({'current': '50', 'total': '100'}, {'percent': 50.0, 'current': 50.0, 'total': 100.0}),
    ({'percent': 'abc'}, {}),
    ({'percent': True}, {}),
    ({'percent': None}, {}),
    ({'percent': [1]}, {}),
    ({'percent': {}}, {}),
    ({'percent': float('nan')}, {}),
    ({'percent': float('inf')}, {}),
    ({'percent': 'nan'}, {}),
    ({'percent': '1e999'}, {}),
    ({'current': float('inf'), 'total': 10}, {'total': 10}),
    ({'current': 'x', 'total': 10}, {'total': 10}),
    ({'message': 'Downloading', 'unit': 'B'}, {'message': 'Downloading', 'unit': 'B'}),
    ({'message': 42, 'unit': 7}, {'message': '42', 'unit': '7'}),
    ({'updated_at': 1000.5, 'color': 'red'}, {'updated_at': 1000.5}),
    # the writer's own rate and eta are kept when they are numbers >= 0
    ({'rate': 1.5, 'eta': 3}, {'rate': 1.5, 'eta': 3}),
    ({'rate': '2', 'eta': 0}, {'rate': 2.0, 'eta': 0}),
    ({'rate': -1, 'eta': 'soon'}, {}),
    ({'rate': True, 'eta': float('nan')}, {}),
    ({'updated_at': 'soon'}, {}),
], ids=_id)
def test_normalize_progress(given, expected):
    full = dict({'percent': None, 'message': None, 'current': None, 'total': None, 'unit': None, 'updated_at': None},
                **expected)
    got = _jobs.normalize_progress(given)
    assert got == full
    for key in ('percent', 'current', 'total'):
        assert got[key] is None or not isinstance(got[key], bool)
    json.loads(json.dumps(got), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))


def test_progress_roundtrip(adir, umask022):
    path = _jobs.job_paths(adir, 'j1.2').progress
    before = time.time()
    written = _jobs.write_progress(path, {'current': 512, 'total': 2048, 'unit': 'B', 'message': 'fetching',
                                          'junk': 1})
    assert before <= written['updated_at'] <= time.time()
    assert written['percent'] == 25.0 and 'junk' not in written
    assert mode_of(path) == 0o600
    assert _jobs.read_progress(path) == written
    with open(path, 'rb') as f:
        json.loads(f.read().decode('utf-8'), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))
    assert _jobs.write_progress(path, {'percent': 5, 'updated_at': 7.0})['updated_at'] == 7.0
    assert _jobs.read_progress(path)['updated_at'] == 7.0
    # NaN never reaches the file
    _jobs.write_progress(path, {'percent': float('nan'), 'current': float('inf')})
    with open(path, 'rb') as f:
        on_disk = json.loads(f.read().decode('utf-8'), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))
    assert on_disk['percent'] is None and on_disk['current'] is None


@pytest.mark.parametrize('content', [b'', b'garbage', b'[1]', b'"x"', b'\xff', b'{"percent": '], ids=_id)
def test_corrupt_progress_is_none(adir, content):
    path = _jobs.job_paths(adir, 'j1.2').progress
    write_file(path, content)
    assert _jobs.read_progress(path) is None


def test_missing_or_odd_progress_is_none(adir):
    path = _jobs.job_paths(adir, 'j1.2').progress
    assert _jobs.read_progress(path) is None
    os.mkdir(path)
    assert _jobs.read_progress(path) is None


@pytest.mark.parametrize('progress, started_at, now, rate, eta', [
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, 100.0, None, 5.0, 20.0),
    ({'current': 50, 'total': 150}, 100.0, 110.0, 5.0, 20.0),           # no updated_at: now
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, 100.0, 500.0, 5.0, 20.0),   # as of the last update
    ({'current': 150, 'total': 150, 'updated_at': 110.0}, 100.0, None, 15.0, 0.0),
    ({'current': 200, 'total': 150, 'updated_at': 110.0}, 100.0, None, 20.0, 0.0),
    ({'current': 50, 'updated_at': 110.0}, 100.0, None, 5.0, None),      # no total: no eta
    ({'current': 1, 'total': 3, 'updated_at': 103.0}, 100.0, None, 0.333, 6.0),
    ({'percent': 25.0, 'updated_at': 110.0}, 100.0, None, 2.5, 30.0),   # percent only
    ({'percent': 100.0, 'updated_at': 110.0}, 100.0, None, 10.0, 0.0),
    ({'percent': 0.0, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': 0, 'total': 10, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': -5, 'total': 10, 'updated_at': 110.0}, 100.0, None, None, None),
    ({'current': 50, 'total': 150, 'updated_at': 110.0}, None, None, None, None),   # start unknown
    ({'current': 50, 'total': 150, 'updated_at': 100.0}, 100.0, None, None, None),  # no time spent
    ({'current': 50, 'total': 150, 'updated_at': 90.0}, 100.0, None, None, None),   # clock went back
    ({}, 100.0, 110.0, None, None),
    # the writer's figures win over a rate from the job's start (a resumed download)
    ({'current': 50, 'total': 150, 'updated_at': 110.0, 'rate': 25.0, 'eta': 4.0}, 100.0, None, 25.0, 4.0),
    ({'current': 50, 'total': 150, 'updated_at': 110.0, 'rate': 25.0}, 100.0, None, 25.0, None),
], ids=_id)
def test_progress_with_rate(progress, started_at, now, rate, eta):
    given = dict(progress)
    out = _jobs.progress_with_rate(progress, started_at, now)
    assert out['rate'] == rate and out['eta'] == eta
    assert progress == given      # input untouched
    for key, value in progress.items():
        assert out[key] == value


def test_progress_with_rate_uses_clock(monkeypatch):
    monkeypatch.setattr(_jobs.time, 'time', lambda: 120.0)
    out = _jobs.progress_with_rate({'current': 40, 'total': 100}, 100.0)
    assert out['rate'] == 2.0 and out['eta'] == 30.0
