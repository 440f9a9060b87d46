# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the job record (plugins/module_utils/_record.py): names, shape, every state, writes, reads.

Runs on every Python the module_utils support on targets (3.8+) with plain pytest;
the tests that drive ansible-core's own async_wrapper skip when ansible is not importable.
"""

from __future__ import annotations

import errno
import fcntl
import importlib.util
import inspect
import json
import multiprocessing
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _liveness
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.tests.unit.helpers import mode_of, snapshot, wait_for, write_file


def _id(value):
    shown = repr(value)
    return shown if len(shown) < 30 else shown[:27] + '...'


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


@pytest.mark.parametrize('jid', GOOD_JIDS, ids=_id)
def test_validate_jid_accepts_core_shapes(jid):
    assert _record.validate_jid(jid) == jid


@pytest.mark.parametrize('jid', BAD_JIDS, ids=_id)
def test_validate_jid_refuses(jid):
    with pytest.raises(_record.InvalidJid) as exc:
        _record.validate_jid(jid)
    assert 'invalid job id' in exc.value.msg
    assert 'refusing to build a path' in exc.value.msg
    assert len(exc.value.msg) < 300   # a huge jid does not make a huge message
    assert isinstance(exc.value, _record.JobError)


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
        'job_paths': lambda j: _record.job_paths(adir, j),
        'read_record': lambda j: _record.read_record(adir, j),
        'write_record': lambda j: _record.write_record(adir, j, record),
        'remove_job': lambda j: _record.remove_job(adir, j),
        'read_live_record': lambda j: _liveness.read_live_record(adir, j),
        'jid_prefix': _record.jid_prefix,
        'core_job_pids': _proc.core_job_pids,
    }
    # absolute paths as jids too, aimed at the canaries themselves
    for jid in BAD_JIDS + [str(tmp_path / 'canary'), str(tmp_path / 'x')]:
        for name, call in sorted(calls.items()):
            try:
                call(jid)
            except _record.InvalidJid:
                pass
            else:
                pytest.fail('%s accepted the jid %r' % (name, jid))
            assert snapshot(tmp_path) == before, (name, jid)


def test_new_jid_has_core_shape():
    jids = set()
    for dummy in range(50):
        jid = _record.new_jid()
        assert _record.validate_jid(jid) == jid
        # core: 'j%d' % random.randint(0, 999999999999), then '%s.%d' % (that, os.getpid())
        m = re.match(r'\Aj(?P<rand>[0-9]{1,12})\.(?P<pid>[0-9]+)\Z', jid)
        assert m, jid
        assert int(m.group('pid')) == os.getpid()
        jids.add(jid)
    assert len(jids) > 45   # random part really random


def test_new_jid_is_never_a_check_mode_jid(monkeypatch):
    class LowestRandom(object):
        def randint(self, low, high):
            return low
    monkeypatch.setattr(_record.random, 'SystemRandom', LowestRandom)
    assert not _record.is_check_mode_jid(_record.new_jid())


def test_check_mode_jid_names_no_job_of_anyone():
    jids = set(_record.check_mode_jid() for dummy in range(50))
    assert len(jids) > 45
    for jid in jids:
        assert _record.validate_jid(jid) == jid
        assert _record.is_check_mode_jid(jid)
    for other in ('j123.45', '0.45', 'j01.4', 'j0.', 'j0.1/x', None, 7):
        assert not _record.is_check_mode_jid(other), other


def test_not_started_result_ends_an_until_loop_and_says_why():
    result = _record.not_started_result('j0.77')
    assert result['finished'] is True and result['started'] is False and result['skipped'] is True
    assert result['changed'] is False and 'check mode' in result['msg'] and 'j0.77' in result['msg']
    assert result[_record.BLOCK_KEY] == {'state': _record.NOT_STARTED, 'check_mode': True}


def test_jid_prefix():
    assert _record.jid_prefix('j123.456') == 'j123'
    assert _record.jid_prefix('123.456') == '123'


def test_job_paths(adir):
    paths = _record.job_paths(adir, 'j1.2')
    base = os.path.join(adir, 'j1.2')
    assert paths == (base, base + '.progress', base + '.out', base + '.err')
    assert paths.record == base and paths.progress == base + '.progress'
    assert paths.out == base + '.out' and paths.err == base + '.err'


# ---------------------------------------------------------------- writes

def test_atomic_write_mode_and_content(adir, umask022):
    path = os.path.join(adir, 'j1.2')
    data = bytes(range(256)) * 1000
    _record.atomic_write(path, data)
    assert mode_of(path) == 0o600
    with open(path, 'rb') as f:
        assert f.read() == data
    assert os.listdir(adir) == ['j1.2']
    # replacing a world-readable file leaves a 0600 one
    os.chmod(path, 0o644)
    _record.atomic_write(path, b'second')
    assert mode_of(path) == 0o600
    with open(path, 'rb') as f:
        assert f.read() == b'second'
    _record.atomic_write(path, b'')
    assert os.path.getsize(path) == 0
    _record.atomic_write(path, b'x', mode=0o640)
    assert mode_of(path) == 0o640
    assert os.listdir(adir) == ['j1.2']


def test_write_record_roundtrip(adir, umask022):
    record = {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {'pid': 4, 'note': u'\u00e9t\u00e9'}}
    _record.write_record(adir, 'j1.2', record)
    assert mode_of(os.path.join(adir, 'j1.2')) == 0o600
    assert _record.read_record(adir, 'j1.2') == record


def test_write_large_record_roundtrip(adir):
    """Bigger than one read chunk."""
    record = {'stdout': 'x' * (3 * 1024 * 1024 + 17), 'rc': 0}
    _record.write_record(adir, 'j1.2', record)
    assert _record.read_record(adir, 'j1.2') == record


@pytest.mark.parametrize('code', [errno.ENOSPC, errno.EDQUOT])
def test_atomic_write_disk_full_keeps_previous(adir, monkeypatch, code):
    path = os.path.join(adir, 'j1.2')
    _record.atomic_write(path, b'{"old": true}')
    real_write = os.write
    partial = []

    def full_disk(fd, data):
        if partial:
            raise OSError(code, os.strerror(code))
        partial.append(real_write(fd, bytes(data[:4096])))
        return partial[-1]
    with monkeypatch.context() as m:
        m.setattr(_record.os, 'write', full_disk)
        with pytest.raises(_record.JobError) as exc:
            _record.atomic_write(path, b'{"new": "%s"}' % (b'y' * 100000))
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
    _record.atomic_write(path, b'old')

    def eio(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    with monkeypatch.context() as m:
        m.setattr(_record.os, 'fsync', eio)
        with pytest.raises(_record.JobError) as exc:
            _record.atomic_write(path, b'new')
    assert exc.value.msg == 'cannot write %s: %s' % (path, os.strerror(errno.EIO))
    assert os.listdir(adir) == ['j1.2']

    def interrupted(src, dst):
        raise KeyboardInterrupt()
    with monkeypatch.context() as m:
        m.setattr(_record.os, 'replace', interrupted)
        with pytest.raises(KeyboardInterrupt):
            _record.atomic_write(path, b'new')
    assert os.listdir(adir) == ['j1.2']
    with open(path, 'rb') as f:
        assert f.read() == b'old'


def test_atomic_write_temp_file_errors_are_job_errors(tmp_path, monkeypatch):
    missing = str(tmp_path / 'missing' / 'j1.2')
    with pytest.raises(_record.JobError) as exc:
        _record.atomic_write(missing, b'x')
    assert exc.value.msg.startswith('cannot write %s: ' % missing)

    def no_inodes(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(_record.tempfile, 'mkstemp', no_inodes)
    with pytest.raises(_record.JobError) as exc:
        _record.atomic_write(str(tmp_path / 'j1.2'), b'x')
    assert 'no space left on device' in exc.value.msg


_WRITER = r'''
import importlib.util, json, signal, sys
spec = importlib.util.spec_from_file_location('_record_under_test', sys.argv[1])
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
    writer = subprocess.Popen([sys.executable, '-c', _WRITER, _record.__file__, path, how, str(_BIG), str(_SMALL)],
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
                obj = _record.read_json(path)
            except _record.JobError:
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
    with pytest.raises(_record.JobNotFound) as exc:
        _record.read_record(adir, 'j1.2')
    assert exc.value.msg.startswith('could not find job')
    assert os.path.join(adir, 'j1.2') in exc.value.msg
    assert exc.value.path == os.path.join(adir, 'j1.2')
    with pytest.raises(_record.JobNotFound):
        _record.read_record(str(tmp_path / 'no-such-dir'), 'j1.2')
    write_file(tmp_path / 'afile', b'')
    with pytest.raises(_record.JobNotFound):   # the async dir is a file
        _record.read_record(str(tmp_path / 'afile'), 'j1.2')


@pytest.mark.parametrize('content', [
    b'', b' ', b'\n\t \n', b'{', b'{"a": 1', b'nope', b'{"a": 1}{"b": 2}', b'[]', b'[1, 2]', b'"text"', b'42',
    b'null', b'true', b'\xff\xfe{}', b'{"a": "\xff"}', b'\xef\xbb\xbf{}', b'[' * 100000, b'{"a":' * 100000,
], ids=_id)
def test_read_not_a_record(adir, content):
    path = os.path.join(adir, 'j1.2')
    write_file(path, content)
    with pytest.raises(_record.NotAJobRecord) as exc:
        _record.read_record(adir, 'j1.2')
    assert path in exc.value.msg
    assert exc.value.path == path
    if not content.strip():
        assert exc.value.msg == '%s is empty, not a job record' % path
    else:
        assert exc.value.msg.startswith('%s is not a job record: ' % path)
    with pytest.raises(_record.NotAJobRecord):
        _record.read_json(path)


def test_read_directory(adir):
    os.mkdir(os.path.join(adir, 'j1.2'))
    with pytest.raises(_record.NotAJobRecord) as exc:
        _record.read_record(adir, 'j1.2')
    assert exc.value.msg == '%s is a directory, not a job record' % os.path.join(adir, 'j1.2')


def test_read_fifo_does_not_hang(adir):
    path = os.path.join(adir, 'j1.2')
    os.mkfifo(path)
    result = []

    def read():
        try:
            _record.read_json(path)
        except Exception as e:  # pylint: disable=broad-exception-caught
            result.append(e)
    reader = threading.Thread(target=read)
    reader.daemon = True
    reader.start()
    reader.join(10)
    if reader.is_alive():   # unblock the reader before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail('read_json blocked on a FIFO')
    assert len(result) == 1 and isinstance(result[0], _record.NotAJobRecord)
    assert path in result[0].msg


def test_read_permission_denied_names_owner(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    _record.write_record(adir, 'j1.2', {'started': True})
    owner = os.geteuid()  # another user's record is refused before any open (test_read_foreign_record_refused)
    real_open = os.open

    def denied(p, *args, **kwargs):
        if p == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), p)
        return real_open(p, *args, **kwargs)
    monkeypatch.setattr(_record.os, 'open', denied)
    with pytest.raises(_record.JobError) as exc:
        _record.read_record(adir, 'j1.2')
    assert not isinstance(exc.value, (_record.JobNotFound, _record.NotAJobRecord, _record.InvalidJid))
    assert exc.value.path == path
    msg = exc.value.msg
    assert msg.startswith('cannot read %s: it belongs to ' % path)
    assert 'uid %d' % owner in msg.split(' and ')[0]
    assert 'this task runs as' in msg and 'uid %d' % os.geteuid() in msg.split(' and ')[1]
    assert 'become_user' in msg


def test_read_other_os_error(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    _record.write_record(adir, 'j1.2', {'started': True})

    def eio(fd, n):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    with monkeypatch.context() as m:
        m.setattr(_record.os, 'read', eio)
        with pytest.raises(_record.JobError) as exc:
            _record.read_record(adir, 'j1.2')
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
    assert _record.is_finished(record) is finished
    assert _record.record_state(record) == state


def test_running_record_shape():
    assert _record.running_record('j1.2') == {'started': True, 'finished': False, 'ansible_job_id': 'j1.2'}
    ao = {'pid': 4}
    rec = _record.running_record('j1.2', ao)
    assert rec == {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': {'pid': 4}}
    assert rec['asyncops'] is not ao


# ---------------------------------------------------------------- builders: every state, one shape

FINAL_KEYS = {'state', 'ended_at', 'rc', 'signal', 'reason', 'resources'}


def _declared(block):
    """Every key of block is declared in AsyncopsBlock (the one schema)."""
    undeclared = set(block) - set(_record.AsyncopsBlock.__annotations__)
    assert not undeclared, undeclared


def _running(adir, **kw):
    job = _record.job_block(_record.KIND_RUN, 'sleep 60', 5.0, name='nap', time_limit=30.0)
    args = dict(pid=200, pid_start='777', started_at=1000.0)
    args.update(kw)
    return _record.running_block(job, _record.job_paths(adir, 'j1.2'), 100, '555', 1024, _record.WRITER_JOB, **args)


def test_job_and_running_blocks(adir):
    job = _record.job_block(_record.KIND_DOWNLOAD, 'https://x/y', 2.0)
    assert job == {'version': _record.RECORD_VERSION, 'kind': 'download', 'name': None, 'cmd': 'https://x/y',
                   'time_limit': None, 'kill_grace': 2.0, 'queued': False, 'pid': None, 'pgid': None}
    block = _running(adir)
    paths = _record.job_paths(adir, 'j1.2')
    assert block == {
        'version': _record.RECORD_VERSION, 'kind': 'run', 'name': 'nap', 'cmd': 'sleep 60', 'time_limit': 30.0,
        'kill_grace': 5.0, 'state': 'running', 'queued': False, 'pid': 200, 'pid_start': '777', 'pgid': 200,
        'supervisor_pid': 100, 'supervisor_start': '555', 'started_at': 1000.0, 'ended_at': None,
        'output_limit': 1024, 'progress_file': paths.progress, 'progress_writer': 'job', 'stdout_file': paths.out,
        'stderr_file': paths.err, 'rc': None, 'signal': None, 'reason': None, 'resources': None}
    _declared(block)
    record = _record.running_record('j1.2', block)
    assert record == {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'asyncops': block}
    assert record['asyncops'] is not block
    assert _record.record_state(record) == 'running' and not _record.is_finished(record)
    assert _record.is_supervised(record)


def test_queued_block(adir):
    batch = {'runner_pid': 9, 'index': 1, 'size': 3}
    block = _running(adir, pid=None, pid_start=None, started_at=None, queued=True, queued_at=900.0, batch=batch)
    assert block['queued'] is True and block['queued_at'] == 900.0 and block['batch'] == batch
    assert block['pid'] is None and block['pgid'] is None and block['state'] == 'running'
    _declared(block)
    assert _record.record_state(_record.running_record('j1.2', block)) == 'running'


def test_progress_folded_into_a_core_running_record():
    core = {'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}
    progress = {'percent': 40.0, 'current': 4, 'total': 10, 'unit': 'files', 'message': 'four', 'updated_at': 5.0,
                'rate': 1.0, 'eta': 6.0}
    folded = _record.with_progress(core, progress)
    assert folded == {'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2', 'asyncops': {'progress': progress}}
    assert core == {'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}   # input untouched
    _declared(folded['asyncops'])
    assert _record.record_state(folded) == 'running' and not _record.is_supervised(folded)
    again = _record.with_progress(folded, {'percent': 50.0})
    assert again['asyncops'] == {'progress': {'percent': 50.0}}
    assert folded['asyncops']['progress'] is not progress


@pytest.mark.parametrize('state, failed', [('succeeded', False), ('failed', True), ('timeout', True),
                                           ('killed', True), ('lost', True)])
def test_final_states(adir, state, failed):
    resources = {'cpu_user': 0.5, 'cpu_system': 0.25, 'max_rss_kb': 2048}
    block = _record.final_block(_running(adir), state, 1012.5, rc=0 if state == 'succeeded' else -15,
                                signal=None if state == 'succeeded' else 'SIGTERM', reason='exited',
                                resources=resources, signals_sent=['SIGTERM'], stdout_truncated=3,
                                stderr_truncated=0)
    _declared(block)
    assert FINAL_KEYS <= set(block)
    assert (block['state'], block['ended_at'], block['resources'], block['signals_sent']) == (
        state, 1012.5, resources, ['SIGTERM'])
    assert block['started_at'] == 1000.0 and block['pid'] == 200   # what was known while it ran stays
    record = _record.final_record('j1.2', {'rc': block['rc'], 'stdout': 'x', 'failed': 'ignored',
                                           'started': False, 'asyncops': 'ignored'}, block)
    assert record['started'] is True and record['finished'] is True and record['ansible_job_id'] == 'j1.2'
    assert record['failed'] is failed and record['stdout'] == 'x' and record['asyncops'] == block
    assert _record.is_finished(record) and _record.record_state(record) == state


def test_final_block_refuses_running_and_fills_only_what_is_missing():
    with pytest.raises(ValueError, match='not the state of a finished job'):
        _record.final_block({}, 'running', 1.0)
    with pytest.raises(ValueError):
        _record.final_block({}, 'bogus', 1.0)
    known = {'started_at': 5.0, 'time_limit': 60.0, 'pid': 7, 'pgid': 7}
    block = _record.final_block(known, 'killed', 9.0, started_at=1.0, time_limit=2.0, pid=3)
    assert (block['started_at'], block['time_limit'], block['pid'], block['pgid']) == (5.0, 60.0, 7, 7)
    block = _record.final_block({}, 'killed', 9.0, started_at=1.0, time_limit=2.0, pid=3, killed_by='me')
    assert block == {'state': 'killed', 'ended_at': 9.0, 'rc': None, 'signal': None, 'reason': None,
                     'resources': None, 'started_at': 1.0, 'time_limit': 2.0, 'pid': 3, 'pgid': 3, 'killed_by': 'me'}
    assert known == {'started_at': 5.0, 'time_limit': 60.0, 'pid': 7, 'pgid': 7}   # input untouched


def test_final_record_keeps_what_the_job_adds_to_the_block():
    """A job run as a target (download) adds keys to the block; the supervisor's own keys win."""
    block = _record.final_block({'kind': 'download', 'pid': 5}, 'succeeded', 2.0, rc=0)
    own = {'resumed_from': 100, 'bytes_transferred': 900, 'state': 'forged', 'pid': 1}
    record = _record.final_record('j1.2', {'dest': '/x', 'state': 'file', 'asyncops': own}, block)
    assert record['state'] == 'file' and record['dest'] == '/x'     # the job's own keys, untouched
    ao = record['asyncops']
    assert (ao['resumed_from'], ao['bytes_transferred']) == (100, 900)
    assert (ao['state'], ao['pid'], ao['kind']) == ('succeeded', 5, 'download')
    _declared(ao)


def test_killed_core_record_keeps_core_shape():
    """The killer writes a core job's record as core writes a final result: no 'started' key."""
    block = _record.final_block({}, 'killed', 9.0, signal='SIGTERM', reason=_record.REASON_KILLED, pid=42,
                                time_limit=60.0, killed_by='asyncops.jobs.async_status')
    record = _record.final_record('j1.2', {'msg': 'killed by me'}, block, core_shape=True)
    assert record == {'msg': 'killed by me', 'failed': True, 'ansible_job_id': 'j1.2', 'asyncops': block}
    assert _record.is_finished(record) and _record.record_state(record) == 'killed'
    assert FINAL_KEYS <= set(record['asyncops'])


def test_never_started_block(adir):
    block = _record.final_block(_running(adir, queued=True, pid=None), 'killed', 5.0,
                                reason=_record.REASON_KILLED, never_started=True)
    assert block['queued'] is False and block['never_started'] is True and 'skipped' not in block
    _declared(block)


def test_lost_record():
    record = _record.running_record('j1.2', {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0})
    record['extra'] = 'kept'
    lost = _record.lost_record(record, 'j1.2', now=99.0)
    assert lost['extra'] == 'kept' and lost['ansible_job_id'] == 'j1.2'
    assert lost['started'] is True and lost['finished'] is True and lost['failed'] is True
    assert lost['msg'] == _record.LOST_MSG.format(jid='j1.2')
    assert lost['asyncops'] == {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0, 'state': 'lost',
                                'rc': None, 'signal': None, 'reason': None, 'resources': None,
                                'detected_lost_at': 99.0}
    assert record['asyncops'] == {'pid': 5, 'started_at': 10.0, 'ended_at': 12.0}   # input untouched
    assert _record.record_state(lost) == 'lost'
    core = _record.lost_record({'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}, 'j1.2', now=1.0)
    assert core['asyncops'] == {'state': 'lost', 'ended_at': None, 'rc': None, 'signal': None, 'reason': None,
                                'resources': None, 'detected_lost_at': 1.0}
    assert 'j1.2' in core['msg'] and 'kill -9' in core['msg']
    assert FINAL_KEYS <= set(core['asyncops'])
    _declared(core['asyncops'])


def test_skipped_record(adir):
    for block in (_record.job_block(_record.KIND_RUN, 'touch x', 5.0), _running(adir)):
        record = _record.skipped_record('j1.2', {'rc': 0, 'msg': 'Did not run command', 'changed': False}, block,
                                        now=50.0)
        ao = record['asyncops']
        _declared(ao)
        assert FINAL_KEYS <= set(ao)
        assert (ao['state'], ao['reason'], ao['rc'], ao['skipped'], ao['queued'], ao['ended_at']) == (
            'succeeded', 'skipped', 0, True, False, 50.0)
        assert ao['started_at'] == (50.0 if block.get('started_at') is None else block['started_at'])
        assert 'pid' in ao and 'pgid' in ao
        assert record['failed'] is False and record['finished'] is True and record['msg'] == 'Did not run command'
        assert _record.record_state(record) == 'succeeded'


def test_job_result_and_collected_result():
    final = _record.final_record('j1.2', {'rc': 0, 'stdout': 'hi'}, _record.final_block({}, 'succeeded', 1.0))
    assert _record.job_result(final) == {'rc': 0, 'stdout': 'hi', 'failed': False}
    kept = _record.collected_result(final, '/x/j1.2')
    assert kept == dict(final, results_file='/x/j1.2')
    removed = _record.collected_result(final, None)
    assert set(removed) == {'rc', 'stdout', 'failed', 'asyncops'}
    assert removed['asyncops']['record_removed'] is True and 'record_removed' not in final['asyncops']


def test_read_and_write_errors_name_the_job(adir):
    with pytest.raises(_record.JobNotFound) as e:
        _record.read_record(adir, 'j1.2')
    path = os.path.join(adir, 'j1.2')
    assert e.value.path == path
    assert e.value.result == {'ansible_job_id': 'j1.2', 'results_file': path, 'started': True, 'finished': True}
    write_file(path, b'[]')
    with pytest.raises(_record.NotAJobRecord) as e:
        _record.read_record(adir, 'j1.2')
    assert e.value.result['ansible_job_id'] == 'j1.2'
    with pytest.raises(_record.JobError) as e:
        _record.write_record(os.path.join(adir, 'missing'), 'j1.2', {})
    assert e.value.result['ansible_job_id'] == 'j1.2' and e.value.msg.startswith('cannot write')
    with pytest.raises(_record.InvalidJid):
        _record.read_record(adir, '../x')


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
    """Records written by core's own jwrite/_run_module, read with _record."""
    aw = _async_wrapper()
    script = _module_script(tmp_path)
    expected = {'ok': 'succeeded', 'fail': 'failed', 'garbage': 'failed'}
    for n, (how, state) in enumerate(sorted(expected.items())):
        jid = 'j%d.%d' % (100 + n, os.getpid())
        monkeypatch.setattr(aw, 'job_path', _record.job_paths(adir, jid).record)
        # the running record, exactly as core writes it first
        if _new_core_signature(aw):
            aw.jwrite({'started': True, 'finished': False, 'ansible_job_id': jid})
        else:
            aw.jwrite({'started': 1, 'finished': 0, 'ansible_job_id': jid})
        running = _record.read_record(adir, jid)
        assert not _record.is_finished(running) and _record.record_state(running) == 'running'
        assert running['ansible_job_id'] == jid
        # the final record, from core running a module
        reader, notifier = multiprocessing.Pipe()
        monkeypatch.setattr(aw, 'ipc_notifier', notifier)
        if _new_core_signature(aw):
            aw._run_module(jid, sys.executable, script, how)
        else:
            aw._run_module('%s %s' % (script, how), jid)
        reader.close()
        final = _record.read_record(adir, jid)
        assert _record.is_finished(final), final
        assert _record.record_state(final) == state, final
        assert _liveness.read_live_record(adir, jid) == final   # finished: no liveness verdict
    jobs, garbage = _record.list_jobs(adir)
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
        assert _record.validate_jid(jid) == jid
        assert _record.jid_prefix(jid) == prefix
        assert result['results_file'] == _record.job_paths(adir, jid).record
        return jid

    yield start
    for jid in jids:
        kill_core_job(jid)


def kill_core_job(jid):
    """kill -9 of a core job from outside: its wrapper's processes first, then their groups.

    In that order no process of the wrapper outlives the module: core's watcher moves
    the runner into its own group only after the fork, so the module may sit in the
    watcher's group, and a runner that saw it die would write a final record.
    """
    pids = _proc.core_job_pids(jid)
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pgid in groups - {os.getpgrp()}:   # never our own group
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    wait_for(lambda: not _proc.core_job_pids(jid), 'the processes of %s to go' % jid)


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
    assert _proc.core_job_pids(jid)           # the watcher and the module runner
    live = _liveness.read_live_record(adir, jid)
    assert live == {'started': True, 'finished': False, 'ansible_job_id': jid} or live == {
        'started': 1, 'finished': 0, 'ansible_job_id': jid}
    assert _record.record_state(live) == 'running'
    release(fifo)
    final = wait_for(lambda: _record.is_finished(_record.read_record(adir, jid)) and _record.read_record(adir, jid),
                     'the final record')
    assert final['msg'] == 'released' and final['rc'] == 0
    assert _liveness.read_live_record(adir, jid) == final
    assert _record.record_state(final) == 'succeeded'

    fifo2 = str(tmp_path / 'fifo2')
    os.mkfifo(fifo2)
    jid2 = core_jobs(script, 'fifo:' + fifo2)
    assert _record.record_state(_liveness.read_live_record(adir, jid2)) == 'running'
    kill_core_job(jid2)                       # kill -9 from outside: the record still says running
    on_disk = _record.read_record(adir, jid2)
    assert not _record.is_finished(on_disk)
    lost = _liveness.read_live_record(adir, jid2)
    assert lost['finished'] and lost['failed'] and lost['started']
    assert lost['msg'] == _record.LOST_MSG.format(jid=jid2)
    assert lost['asyncops']['state'] == 'lost' and _record.record_state(lost) == 'lost'
    assert _record.read_record(adir, jid2) == on_disk   # judging does not write


def test_core_job_timeout_record(tmp_path, adir, core_jobs):
    """Core's watcher kills a job on its time limit and writes its timeout record."""
    script = _module_script(tmp_path)
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    jid = core_jobs(script, 'fifo:' + fifo, time_limit='1')
    record = wait_for(lambda: _record.is_finished(_record.read_record(adir, jid)) and _record.read_record(adir, jid),
                      'the timeout record', timeout=40.0)
    assert record['msg'] == 'Timeout exceeded'
    assert _record.record_state(record) == 'timeout'
    assert _liveness.read_live_record(adir, jid) == record


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

    jobs, trash = _record.list_jobs(adir)
    assert [j.jid for j in jobs] == ['123.456', 'j1.2']
    assert jobs[0] == _record.JobEntry('123.456', old, {}, 4, os.stat(old).st_mtime)
    assert jobs[1] == _record.JobEntry('j1.2', rec, cars, 10 + 5 + 7 + 3, os.stat(rec).st_mtime)
    assert [g.path for g in trash] == sorted(garbage)
    for g in trash:
        assert g.reason == garbage[g.path]
        assert g.size == os.path.getsize(g.path)
        assert g.mtime == os.stat(g.path).st_mtime


def test_list_jobs_missing_or_bad_dir(tmp_path):
    assert _record.list_jobs(str(tmp_path / 'missing')) == ([], [])
    write_file(tmp_path / 'file', b'')
    with pytest.raises(_record.JobError) as exc:
        _record.list_jobs(str(tmp_path / 'file'))
    assert exc.value.msg.startswith('cannot list async dir %s' % (tmp_path / 'file'))


def test_list_jobs_sees_atomic_write_temp(adir, monkeypatch):
    """The temp file atomic_write makes is recognised as ours (garbage when left behind)."""
    left = []

    def keep(src, dst):
        left.append(src)
        raise OSError(errno.EIO, 'simulated')
    real_unlink = os.unlink
    with monkeypatch.context() as m:
        m.setattr(_record.os, 'replace', keep)
        m.setattr(_record.os, 'unlink', lambda p: None)   # as if the writer died before cleaning up
        with pytest.raises(_record.JobError):
            _record.write_progress(_record.job_paths(adir, 'j1.2').progress, {'percent': 1})
        with pytest.raises(_record.JobError):
            _record.write_record(adir, 'j1.2', {'started': True})
    assert len(left) == 2 and all(os.path.exists(p) for p in left)
    jobs, trash = _record.list_jobs(adir)
    assert jobs == [] and sorted(g.path for g in trash) == sorted(left)
    assert all(g.reason == 'temp file' for g in trash)
    for p in left:
        real_unlink(p)


def test_remove_job(adir):
    paths = _record.job_paths(adir, 'j1.2')
    for p in paths:
        write_file(p, b'x')
    neighbours = ['j1.2.tmp', '.j1.2.abc.tmp', 'j1.20', 'j11.2', 'j1.2.bak', '1.2', 'j1.2.progress.old', 'j1.2.log']
    for name in neighbours:
        write_file(os.path.join(adir, name), b'n')
    assert _record.remove_job(adir, 'j1.2') == list(paths)
    assert sorted(os.listdir(adir)) == sorted(neighbours)
    assert _record.remove_job(adir, 'j1.2') == []
    write_file(paths.record, b'x')
    write_file(paths.out, b'x')
    assert _record.remove_job(adir, 'j1.2') == [paths.record, paths.out]
    assert _record.remove_job(os.path.join(adir, 'missing'), 'j1.2') == []
    os.mkdir(paths.record)
    with pytest.raises(_record.JobError) as exc:
        _record.remove_job(adir, 'j1.2')
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
    got = _record.normalize_progress(given)
    assert got == full
    for key in ('percent', 'current', 'total'):
        assert got[key] is None or not isinstance(got[key], bool)
    json.loads(json.dumps(got), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))


def test_progress_roundtrip(adir, umask022):
    path = _record.job_paths(adir, 'j1.2').progress
    before = time.time()
    written = _record.write_progress(path, {'current': 512, 'total': 2048, 'unit': 'B', 'message': 'fetching',
                                            'junk': 1})
    assert before <= written['updated_at'] <= time.time()
    assert written['percent'] == 25.0 and 'junk' not in written
    assert mode_of(path) == 0o600
    assert _record.read_progress(path) == written
    with open(path, 'rb') as f:
        json.loads(f.read().decode('utf-8'), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))
    assert _record.write_progress(path, {'percent': 5, 'updated_at': 7.0})['updated_at'] == 7.0
    assert _record.read_progress(path)['updated_at'] == 7.0
    # NaN never reaches the file
    _record.write_progress(path, {'percent': float('nan'), 'current': float('inf')})
    with open(path, 'rb') as f:
        on_disk = json.loads(f.read().decode('utf-8'), parse_constant=lambda c: pytest.fail('not JSON: %s' % c))
    assert on_disk['percent'] is None and on_disk['current'] is None


@pytest.mark.parametrize('content', [b'', b'garbage', b'[1]', b'"x"', b'\xff', b'{"percent": '], ids=_id)
def test_corrupt_progress_is_none(adir, content):
    path = _record.job_paths(adir, 'j1.2').progress
    write_file(path, content)
    assert _record.read_progress(path) is None


def test_missing_or_odd_progress_is_none(adir):
    path = _record.job_paths(adir, 'j1.2').progress
    assert _record.read_progress(path) is None
    os.mkdir(path)
    assert _record.read_progress(path) is None


# ---------------------------------------------------------------- trust (issue 11): open_private

def test_symlinked_record_is_refused_and_not_followed(adir, tmp_path):
    secret = tmp_path / 'secret'
    write_file(secret, b'{"rc": 0, "stolen": true}')
    path = os.path.join(adir, 'j1.2')
    os.symlink(str(secret), path)
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.read_record(adir, 'j1.2')
    assert isinstance(exc.value, _record.NotAJobRecord)
    assert exc.value.msg.startswith('%s is a symbolic link, not a job record; refusing to follow it' % path)
    assert exc.value.reason == 'is a symbolic link'
    with pytest.raises(_record.UntrustedFile):
        _record.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    assert secret.read_bytes() == b'{"rc": 0, "stolen": true}'


def test_symlinked_progress_sidecar_reads_as_none(adir, tmp_path):
    secret = tmp_path / 'secret'
    write_file(secret, b'{"percent": 50}')
    paths = _record.job_paths(adir, 'j1.2')
    os.symlink(str(secret), paths.progress)
    assert _record.read_progress(paths.progress) is None
    _record.write_progress(paths.progress, {'percent': 60})   # replaces the link, never writes through it
    assert not os.path.islink(paths.progress)
    assert secret.read_bytes() == b'{"percent": 50}'
    assert _record.read_progress(paths.progress)['percent'] == 60


def test_hard_linked_record_is_refused(adir, tmp_path):
    other = tmp_path / 'other'
    write_file(other, b'{"rc": 0}')
    path = os.path.join(adir, 'j1.2')
    os.link(str(other), path)
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.read_record(adir, 'j1.2')
    assert exc.value.msg.startswith('%s has 2 hard links (a file of a job has exactly one) (owner ' % path)
    assert 'refusing to trust it' in exc.value.msg


@pytest.mark.skipif(os.geteuid() != 0, reason='chown to another user needs root')
def test_record_of_another_user_is_refused(adir):
    path = _record.job_paths(adir, 'j1.2').record
    _record.write_record(adir, 'j1.2', {'rc': 0, 'asyncops': {'pid': 1, 'stdout_file': '/etc/shadow'}})
    os.chown(path, 65534, 65534)
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.read_record(adir, 'j1.2')
    msg = exc.value.msg
    assert msg.startswith('%s belongs to ' % path) and 'uid 65534' in msg
    assert 'not to %s, the user this task runs as' % _record.user_name(0) in msg and 'mode 0600' in msg
    assert exc.value.result['ansible_job_id'] == 'j1.2'


def test_record_of_another_euid_is_refused(adir, monkeypatch):
    """The owner rule without root: the effective uid pretends to be another."""
    _record.write_record(adir, 'j1.2', {'rc': 0})
    me = os.geteuid()
    monkeypatch.setattr(_record.os, 'geteuid', lambda: me + 1)
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.read_record(adir, 'j1.2')
    assert 'belongs to %s, not to ' % _record.user_name(me) in exc.value.msg


def test_fifo_is_refused_before_any_open(adir, monkeypatch):
    path = os.path.join(adir, 'j1.2')
    os.mkfifo(path)
    opened = []
    real_open = os.open
    monkeypatch.setattr(_record.os, 'open', lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.read_json(path)
    assert exc.value.msg.startswith('%s is not a regular file (a FIFO) (owner ' % path)
    assert opened == []


def test_open_private_creates_and_appends(adir, umask022):
    path = os.path.join(adir, 'j1.2.out')
    fd = _record.open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b'a')
    finally:
        os.close(fd)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fd = _record.open_private(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b'b')
    finally:
        os.close(fd)
    fd = _record.open_private(path)
    try:
        assert _record.read_fd(fd, path) == b'ab'
        assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        os.close(fd)
    with pytest.raises(_record.JobNotFound):
        _record.open_private(os.path.join(adir, 'j3.4.out'))


def test_open_private_refuses_shared_write_when_asked(adir):
    path = os.path.join(adir, 'part')
    write_file(path, b'x')
    os.chmod(path, 0o664)
    os.close(_record.open_private(path))   # a record: the dir is what keeps others out
    with pytest.raises(_record.UntrustedFile) as exc:
        _record.open_private(path, refuse_shared_write=True)
    assert exc.value.reason == 'is writable by its group or by others (mode 0664)'


def test_record_replaced_while_read_is_still_read(adir, monkeypatch):
    """An atomic replace between the check and the read leaves a file with no link: that is no refusal."""
    _record.write_record(adir, 'j1.2', {'version': 1})
    real_open = os.open

    replaced = []

    def replace_then_open(p, *a, **k):
        fd = real_open(p, *a, **k)
        if not replaced:
            replaced.append(p)
            _record.write_record(adir, 'j1.2', {'version': 2})
        return fd
    monkeypatch.setattr(_record.os, 'open', replace_then_open)
    assert _record.read_record(adir, 'j1.2') == {'version': 1}
    assert replaced == [os.path.join(adir, 'j1.2')]
    assert _record.read_record(adir, 'j1.2') == {'version': 2}
