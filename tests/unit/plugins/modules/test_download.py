# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of asyncops.jobs.download (plugins/modules/download.py), against a loopback server."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import stat
import tempfile
import threading
import time

import pytest

import ansible
from ansible.module_utils.common import warnings as module_warnings

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.modules import download
from ansible_collections.asyncops.jobs.tests.unit.helpers import run_module, wait_gone


SERVER = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'integration', 'targets', 'download', 'files',
                      'range_server.py')
SIZE = 300000
CUT = 100000

# the server runs in a thread of this process; the supervisor forks (the module itself never runs threads)
pytestmark = pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')

as_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (a file owned by another user)')

# what ansible.builtin.get_url can return at the top level (its RETURN, plus the keys every result may have)
GET_URL_KEYS = {'backup_file', 'changed', 'checksum_dest', 'checksum_src', 'dest', 'elapsed', 'gid', 'group',
                'md5sum', 'mode', 'msg', 'owner', 'secontext', 'size', 'src', 'state', 'status_code', 'uid', 'url',
                'response', 'failed', 'invocation', 'warnings'}


@pytest.fixture(autouse=True)
def module_tmp_in_tmp_path(monkeypatch, tmp_path_factory):
    # fetch_url makes a module tmp dir that AnsibleModule removes at exit;
    # ansible-test ends each test's fork before that runs. Not in tmp_path,
    # whose listing the tests check.
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path_factory.mktemp('module_tmp')))


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    # AnsibleModule.warn() collects into a process-wide store that exit_json returns
    monkeypatch.setattr(module_warnings, '_global_warnings', type(module_warnings._global_warnings)())


def call(capsys, **args):
    args.setdefault('use_proxy', False)
    return run_module(download.main, capsys, args)[1]


def _load_get_url():
    # by its file: ansible-test's unit test environment has ansible.module_utils only (then None)
    path = os.path.join(os.path.dirname(ansible.__file__), 'modules', 'get_url.py')
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location('asyncops_test_builtin_get_url', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


get_url = _load_get_url()

# The top-level keys get_url returns (secontext too where SELinux is on), as measured against
# ansible.builtin.get_url itself whenever its code is at hand (direct pytest; see get_url_keys).
GET_URL_DOWNLOADED = {'changed', 'checksum_dest', 'checksum_src', 'dest', 'elapsed', 'gid', 'group', 'md5sum', 'mode',
                      'msg', 'owner', 'size', 'src', 'state', 'status_code', 'uid', 'url'}
GET_URL_KEPT = {'changed', 'checksum_dest', 'checksum_src', 'dest', 'elapsed', 'gid', 'group', 'mode', 'msg', 'owner',
                'size', 'state', 'uid', 'url'}


def get_url_keys(capsys, pinned, **args):
    """The keys of get_url's result for args: from get_url itself when it can run here (and then they must be the
    pinned ones), else the pinned ones."""
    if get_url is None:
        return set(pinned)
    args.setdefault('use_proxy', False)
    keys = set(run_module(get_url.main, capsys, args)[1]) - {'invocation', 'secontext'}
    assert keys == pinned, 'ansible.builtin.get_url returns other keys than the test expects: %s' % sorted(keys)
    return keys


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    spec = importlib.util.spec_from_file_location('asyncops_range_server', SERVER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    root = tmp_path_factory.mktemp('www')
    data = os.urandom(SIZE)
    (root / 'file.bin').write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (root / 'SUMS').write_text('# made by the test\n%s *./file.bin\n%s  other.bin\n' % (digest, '0' * 64))
    answering = threading.Condition()
    in_flight = [0]

    class Handler(mod.Handler):
        # the client has its answer before the handler logs it: log() waits
        # for every request already begun to have written its line
        def _serve(self, body):
            with answering:
                in_flight[0] += 1
            try:
                super(Handler, self)._serve(body)
            finally:
                with answering:
                    in_flight[0] -= 1
                    answering.notify_all()

    httpd = mod.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    httpd.daemon_threads = True
    httpd.root = str(root)
    httpd.log_path = str(root.parent / 'server.log')
    open(httpd.log_path, 'w').close()
    thread = threading.Thread(target=httpd.serve_forever)
    thread.daemon = True
    thread.start()

    class Server(object):
        base = 'http://127.0.0.1:%d' % httpd.server_address[1]
        sha256 = digest
        content = data
        www = root

        @staticmethod
        def log():
            with answering:
                assert answering.wait_for(lambda: in_flight[0] == 0, timeout=30), 'a request never ended'
            with open(httpd.log_path) as f:
                return [json.loads(line) for line in f]

        @classmethod
        def publish(cls, name, content, mtime):
            """Serve content as name, with mtime (so its ETag and Last-Modified say which version it is)."""
            path = root / name
            tmp = root / ('.' + name + '.tmp')
            tmp.write_bytes(content)
            os.utime(str(tmp), (mtime, mtime))
            os.replace(str(tmp), str(path))
            return cls.base + '/' + name
    yield Server
    httpd.shutdown()


def cut_download(capsys, url, dest, cut=CUT):
    """A download whose connection is lost after cut bytes: leaves <dest>.part and its meta."""
    result = call(capsys, url=url + ('&' if '?' in url else '?') + 'cut=%d' % cut, dest=dest)
    assert result['failed'] and 'run the task again to resume' in result['msg'], result
    assert os.path.getsize(dest + '.part') == cut
    return result


def listing(directory):
    return sorted(os.listdir(str(directory)))


def snapshot(path):
    st = os.lstat(str(path))
    with open(str(path), 'rb') as f:
        return f.read(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns


@pytest.fixture
def victim(tmp_path):
    """A file elsewhere that a planted link points at: it must come out of every test unchanged."""
    other = tmp_path / 'elsewhere'
    other.mkdir()
    path = other / 'root-only'
    path.write_bytes(b'secret: never append, truncate, chmod or chown me\n')
    os.chmod(str(path), 0o600)
    return path


# ---------------------------------------------------------------- helpers of the module


def test_parse_checksum_lines():
    lines = ['# comment', 'aa11  ./dir/file.bin', 'bb22 *other.bin', 'SHA256 (third.bin) = cc33', '', 'dd44  x y.bin']
    assert download.parse_checksum_lines(lines, {'file.bin'}) == 'aa11'
    assert download.parse_checksum_lines(lines, {'other.bin'}) == 'bb22'
    assert download.parse_checksum_lines(lines, {'third.bin'}) == 'cc33'
    assert download.parse_checksum_lines(lines, {'x y.bin'}) == 'dd44'
    assert download.parse_checksum_lines(lines, {'missing'}) is None
    assert download.parse_checksum_lines(['ee55'], {'anything'}) == 'ee55'
    assert download.parse_checksum_lines(['ee55', 'ff66'], {'anything'}) is None


def test_content_range_and_names():
    assert download._content_range('bytes 100-199/200') == (100, 200)
    assert download._content_range('bytes */200') == (None, 200)
    assert download._content_range('bytes 0-9/*') == (0, None)
    assert download._content_range('junk') is None
    assert download._content_range(None) is None
    assert download.url_filename('http://h/a/b.tar.gz?x=1') == 'b.tar.gz'
    assert download.url_filename('http://h/') == 'index.html'
    assert download._mask_url('https://u:secret@h/x') == 'https://u:********@h/x'
    assert download._mask_url('https://h/x') == 'https://h/x'


def test_validators():
    meta = {'etag': '"a1"', 'last_modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'total': 10}
    assert download.if_range_value(meta) == '"a1"'
    assert download.if_range_value(dict(meta, etag='W/"a1"')) == meta['last_modified']  # weak: not in If-Range
    assert download.if_range_value(dict(meta, etag=None)) == meta['last_modified']
    assert download.if_range_value({'etag': None, 'last_modified': None}) is None
    assert download.validator_change(meta, {'etag': '"a1"'}) is None
    assert download.validator_change(meta, {}) is None
    assert 'is now "b2"' in download.validator_change(meta, {'etag': '"b2"'})
    assert 'Last-Modified' in download.validator_change(meta, {'last-modified': 'Tue, 02 Jan 2024 00:00:00 GMT'})
    assert 'size' in download.validator_change(meta, {'etag': '"a1"'}, total=11)
    assert download.validator_matches(meta, {'etag': '"a1"'})
    assert not download.validator_matches(meta, {'etag': '"b2"'})
    assert not download.validator_matches(meta, {})
    # the query (a signed URL's signature) and the password are not part of what the partial file belongs to
    assert download._url_key('http://u:p@H:80/a?sig=1') == download._url_key('http://h:80/a?sig=2')
    assert download._url_key('http://h/a') != download._url_key('http://h/b')


# ---------------------------------------------------------------- the result contract


def own_keys(result):
    """The top-level keys of a module result, but those every result may have and asyncops."""
    return set(result) - {'invocation', 'secontext', 'asyncops'}


def test_result_keys_are_get_url_keys(capsys, server, tmp_path):
    args = dict(url=server.base + '/file.bin', checksum='sha256:%s' % server.sha256, mode='0640')
    theirs = get_url_keys(capsys, GET_URL_DOWNLOADED, dest=str(tmp_path / 'theirs.bin'), **args)
    ours = call(capsys, dest=str(tmp_path / 'ours.bin'), **args)
    assert own_keys(ours) == theirs
    assert ours['state'] == 'file' and ours['src'] == str(tmp_path / 'ours.bin.part')
    assert (ours['mode'], ours['size'], ours['status_code'], ours['msg']) == ('0640', SIZE, 200, 'OK (%d bytes)' % SIZE)
    assert ours['md5sum'] == hashlib.md5(server.content).hexdigest()
    assert set(ours['asyncops']) == {'resumed_from', 'bytes_transferred', 'rate', 'restart_reason', 'partial_file'}
    # the file is there: both keep it, with the same keys
    theirs = get_url_keys(capsys, GET_URL_KEPT, dest=str(tmp_path / 'theirs.bin'), **args)
    ours = call(capsys, dest=str(tmp_path / 'ours.bin'), **args)
    assert own_keys(ours) == theirs
    assert ours['msg'] == 'file already exists' and not ours['changed']
    # a failure: only get_url's keys at the top level
    failed = call(capsys, url=server.base + '/missing.bin', dest=str(tmp_path / 'm'))
    assert failed['failed'] and set(failed) - {'asyncops'} <= GET_URL_KEYS
    assert failed['asyncops']['bytes_transferred'] == 0


# ---------------------------------------------------------------- downloads


def test_full_download_then_idempotent(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    result = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:%s' % server.sha256, mode='0640')
    assert result['changed'] and result['status_code'] == 200
    assert result['size'] == SIZE and result['asyncops']['bytes_transferred'] == SIZE
    assert result['asyncops']['resumed_from'] == 0 and result['asyncops']['restart_reason'] is None
    assert result['checksum_src'] == hashlib.sha1(server.content).hexdigest()
    assert result['md5sum'] == hashlib.md5(server.content).hexdigest()
    assert result['checksum_dest'] is None
    assert result['msg'] == 'OK (%d bytes)' % SIZE
    assert result['mode'] == '0640' and stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert open(dest, 'rb').read() == server.content
    assert listing(tmp_path) == ['f.bin']  # no partial file, no meta left
    requests = len(server.log())
    again = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:%s' % server.sha256, mode='0640')
    assert not again['changed'] and again['msg'] == 'file already exists'
    assert len(server.log()) == requests


def test_new_file_gets_the_umask_mode_and_replaced_file_keeps_its_mode(capsys, server, tmp_path):
    old = os.umask(0o027)
    try:
        dest = tmp_path / 'f.bin'
        call(capsys, url=server.base + '/file.bin', dest=str(dest))
        assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o640  # 0666 & ~umask, as get_url's atomic_move
        dest.write_bytes(b'old')
        os.chmod(str(dest), 0o604)
        result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True)
        assert result['changed'] and result['mode'] == '0604' and dest.read_bytes() == server.content
    finally:
        os.umask(old)


def test_resume_of_an_unchanged_file_sends_if_range(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    meta = json.loads(open(dest + '.part.meta').read())
    assert stat.S_IMODE(os.stat(dest + '.part.meta').st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest + '.part').st_mode) == 0o600
    assert meta['etag'] and meta['last_modified'] and meta['total'] == SIZE
    result = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:' + server.base + '/SUMS')
    assert result['changed'] and result['status_code'] == 206
    assert result['asyncops']['resumed_from'] == CUT and result['asyncops']['bytes_transferred'] == SIZE - CUT
    assert result['asyncops']['restart_reason'] is None
    last = server.log()[-1]
    assert (last['range'], last['if_range'], last['status'], last['bytes_sent']) == (
        'bytes=%d-' % CUT, meta['etag'], 206, SIZE - CUT)
    assert open(dest, 'rb').read() == server.content
    assert listing(tmp_path) == ['f.bin']


def test_resume_with_last_modified_only(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin?noetag=1', dest)
    meta = json.loads(open(dest + '.part.meta').read())
    assert meta['etag'] is None and meta['last_modified']
    result = call(capsys, url=server.base + '/file.bin?noetag=1', dest=dest)
    assert result['status_code'] == 206 and result['asyncops']['resumed_from'] == CUT
    assert server.log()[-1]['if_range'] == meta['last_modified']
    assert open(dest, 'rb').read() == server.content


@pytest.mark.parametrize('server_mode', ['', '?noifrange=1'], ids=['if-range', 'no-if-range-support'])
def test_resume_of_a_changed_file_starts_over(capsys, server, tmp_path, server_mode):
    # the same size, a new ETag and Last-Modified: without If-Range, a resume splices the two versions
    first, second = os.urandom(SIZE), os.urandom(SIZE)
    name = 'changing%s.bin' % ('-noifrange' if server_mode else '')
    now = time.time()
    url = server.publish(name, first, now - 100)
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, url + server_mode, dest)
    etag = server.log()[-1]['etag']
    server.publish(name, second, now - 50)
    requests = len(server.log())
    result = call(capsys, url=url + server_mode, dest=dest)
    assert open(dest, 'rb').read() == second, 'two versions spliced' if result.get('status_code') == 206 else ''
    assert result['changed'] and not result.get('failed')
    assert result['status_code'] == 200 and result['size'] == SIZE
    assert result['asyncops']['resumed_from'] == 0 and result['asyncops']['bytes_transferred'] == SIZE
    assert 'the file on the server changed' in result['asyncops']['restart_reason']
    assert result['checksum_src'] == hashlib.sha1(second).hexdigest()
    log = server.log()[requests:]
    assert log[0]['range'] == 'bytes=%d-' % CUT and log[0]['if_range'] == etag
    if server_mode:  # the server sent the new file's tail (206): the module saw its new ETag and asked again
        assert [e['status'] for e in log] == [206, 200] and log[1]['range'] is None
    else:
        assert [e['status'] for e in log] == [200]
    assert listing(tmp_path) == ['f.bin']


def test_server_without_validators_is_not_resumed(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin?novalidator=1', dest)
    result = call(capsys, url=server.base + '/file.bin?novalidator=1', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and 'no ETag or Last-Modified' in result['asyncops']['restart_reason']
    assert server.log()[-1]['range'] is None
    assert open(dest, 'rb').read() == server.content


def test_server_without_range_support(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    result = call(capsys, url=server.base + '/file.bin?norange=1', dest=dest)
    assert result['status_code'] == 200 and result['asyncops']['resumed_from'] == 0
    assert result['asyncops']['bytes_transferred'] == SIZE
    assert 'whole file' in result['asyncops']['restart_reason']
    assert open(dest, 'rb').read() == server.content


def test_partial_file_without_meta_starts_over(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(b'garbage that must not survive')
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and result['asyncops']['bytes_transferred'] == SIZE
    assert 'there is no %s.part.meta' % dest in result['asyncops']['restart_reason']
    assert server.log()[-1]['range'] is None
    assert open(dest, 'rb').read() == server.content


def write_meta(dest, server, name='file.bin', total=SIZE):
    """The meta a first response of the server's name would have left (as the module writes it)."""
    st = os.stat(str(server.www / name))
    part = os.stat(dest + '.part')
    meta = {'version': download.META_VERSION, 'url_sha256': download._url_key(server.base + '/' + name),
            'etag': '"%x-%x"' % (st.st_mtime_ns, st.st_size), 'last_modified': None, 'total': total,
            'part': {'dev': part.st_dev, 'ino': part.st_ino}}
    fd = os.open(dest + '.part.meta', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(meta, f)
    return meta


def test_complete_partial_file_gets_416(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(server.content)
    write_meta(dest, server)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['changed'] and result['asyncops']['resumed_from'] == SIZE
    assert result['asyncops']['bytes_transferred'] == 0
    assert server.log()[-1]['status'] == 416
    assert open(dest, 'rb').read() == server.content


def test_partial_file_longer_than_the_resource_starts_over(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(server.content + b'extra')
    write_meta(dest, server)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and result['asyncops']['bytes_transferred'] == SIZE
    assert 'longer' in result['asyncops']['restart_reason']
    assert open(dest, 'rb').read() == server.content


def test_meta_of_another_url_or_file_is_not_used(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    result = call(capsys, url=server.base + '/file.bin?x=1', dest=dest + '.other')
    assert result['asyncops']['resumed_from'] == 0  # another dest: another partial file
    os.rename(dest + '.part', dest + '.part.old')  # a copy of the partial file is another file
    with open(dest + '.part.old', 'rb') as src, open(dest + '.part', 'wb') as copy:
        copy.write(src.read())
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and 'another partial file' in result['asyncops']['restart_reason']
    assert open(dest, 'rb').read() == server.content


def test_lost_connection_keeps_the_partial_file(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    result = cut_download(capsys, server.base + '/file.bin', dest)
    assert result['asyncops']['bytes_transferred'] == CUT and not os.path.exists(dest)
    assert set(result) - {'asyncops'} <= GET_URL_KEYS
    result = call(capsys, url=server.base + '/file.bin', dest=dest, resume=False)
    assert result['asyncops']['resumed_from'] == 0 and result['asyncops']['bytes_transferred'] == SIZE
    assert result['asyncops']['restart_reason'] == 'resume is false'
    assert open(dest, 'rb').read() == server.content


def test_full_disk_is_a_clear_failure_that_keeps_the_partial_file(capsys, server, tmp_path, monkeypatch):
    written = []

    def full_after_one_chunk(fd, data):
        if written:
            raise OSError(28, 'No space left on device')
        written.append(len(data))
        os.write(fd, data)

    monkeypatch.setattr(download, '_write_all', full_after_one_chunk)
    dest = str(tmp_path / 'f.bin')
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['failed'] is True and 'No space left on device' in result['msg']
    assert 'cannot write %s.part after %d bytes' % (dest, written[0]) in result['msg']
    assert 'run the task again to resume' in result['msg']
    assert os.path.getsize(dest + '.part') == written[0] and not os.path.exists(dest)


def test_checksum_mismatch_leaves_dest_untouched(capsys, server, tmp_path):
    dest = tmp_path / 'f.bin'
    dest.write_bytes(b'old')
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), checksum='sha256:' + '0' * 64)
    assert result['failed'] and 'did not match' in result['msg']
    assert dest.read_bytes() == b'old'
    assert listing(tmp_path) == ['f.bin']  # neither the partial file nor its meta
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), checksum='sha256:' + server.base + '/nothere')
    assert result['failed'] and 'checksum file' in result['msg'] and result['status_code'] == 404
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), checksum='sha256:zz')
    assert result['failed'] and result['msg'] == 'The checksum format is invalid'
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), checksum='nosuchalgo:00')
    assert result['failed'] and 'unsupported checksum algorithm' in result['msg']
    assert dest.read_bytes() == b'old'


def test_existing_dest_force_and_check_mode(capsys, server, tmp_path):
    dest = tmp_path / 'f.bin'
    dest.write_bytes(b'old')
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest))
    assert not result['changed'] and dest.read_bytes() == b'old'
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True, _ansible_check_mode=True)
    assert result['changed'] and dest.read_bytes() == b'old'
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), mode='0600', _ansible_check_mode=True)
    assert result['changed'] and result['msg'] == 'file already exists but file attributes changed'
    assert stat.S_IMODE(dest.stat().st_mode) != 0o600
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True, backup=True)
    assert result['changed'] and dest.read_bytes() == server.content
    assert open(result['backup_file'], 'rb').read() == b'old'
    assert result['checksum_dest'] == hashlib.sha1(b'old').hexdigest()


def test_same_content_sets_attributes_only(capsys, server, tmp_path):
    dest = tmp_path / 'f.bin'
    dest.write_bytes(server.content)
    os.chmod(str(dest), 0o644)
    inode = dest.stat().st_ino
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True, mode='u=rw,g=,o=')
    assert result['changed'] and result['mode'] == '0600'
    assert result['checksum_src'] == result['checksum_dest'] and dest.stat().st_ino == inode
    assert listing(tmp_path) == ['f.bin']
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True, mode='0600')
    assert not result['changed']


def test_dest_directory_and_errors(capsys, server, tmp_path):
    result = call(capsys, url=server.base + '/file.bin', dest=str(tmp_path))
    assert result['dest'] == str(tmp_path / 'file.bin') and result['changed']
    result = call(capsys, url=server.base + '/missing.bin', dest=str(tmp_path / 'm'))
    assert result['failed'] and result['status_code'] == 404
    assert not os.path.exists(str(tmp_path / 'm.part'))  # no request answered: nothing to resume
    result = call(capsys, url=server.base + '/file.bin', dest=str(tmp_path / 'no' / 'such' / 'f'))
    assert result['failed'] and 'does not exist' in result['msg']


def test_the_internal_async_dir_option_is_gone(capsys, server, tmp_path):
    """The async dir comes in the module's environment: _async_dir is refused as any unknown option."""
    requests = len(server.log())
    result = call(capsys, url=server.base + '/file.bin', dest=str(tmp_path / 'f'), background=True,
                  _async_dir=str(tmp_path / 'async'))
    assert result['failed'] and 'Unsupported parameters' in result['msg'] and '_async_dir' in result['msg']
    assert os.listdir(str(tmp_path)) == [] and len(server.log()) == requests


def test_file_url(capsys, server, tmp_path):
    src = tmp_path / 'src.bin'
    src.write_bytes(b'local data')
    dest = str(tmp_path / 'copy.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(b'local')
    result = call(capsys, url='file://%s' % src, dest=dest,
                  checksum='sha256:%s' % hashlib.sha256(b'local data').hexdigest())
    assert result['changed'] and result['asyncops']['resumed_from'] == 0 and result['size'] == 10
    assert open(dest, 'rb').read() == b'local data'


# ---------------------------------------------------------------- trust: what another user could have written


def assert_untouched_part(result, dest, before, reason):
    assert not result.get('failed'), result
    assert open(dest, 'rb').read() is not None
    part = result['asyncops']['partial_file']
    assert part != dest + '.part' and os.path.dirname(part) == os.path.dirname(dest)
    assert reason in result['asyncops']['restart_reason']
    assert any(dest + '.part' in w and 'untouched' in w for w in result['asyncops']['warnings'])
    assert snapshot(dest + '.part') == before


def test_planted_symlink_part_is_never_followed(capsys, server, tmp_path, victim):
    dest = str(tmp_path / 'f.bin')
    os.symlink(str(victim), dest + '.part')
    before = snapshot(victim)
    link_before = snapshot(dest + '.part')
    result = call(capsys, url=server.base + '/file.bin', dest=dest, mode='0644', owner=str(os.geteuid()))
    assert snapshot(victim) == before
    assert_untouched_part(result, dest, link_before, 'is a symbolic link')
    assert os.readlink(dest + '.part') == str(victim)
    assert open(dest, 'rb').read() == server.content
    assert listing(tmp_path) == ['elsewhere', 'f.bin', 'f.bin.part']  # the private temp file is gone


def test_planted_symlink_part_on_a_lost_connection(capsys, server, tmp_path, victim):
    dest = str(tmp_path / 'f.bin')
    os.symlink(str(victim), dest + '.part')
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin?cut=%d' % CUT, dest=dest)
    assert result['failed'] and 'could not be kept' in result['msg']
    assert snapshot(victim) == before
    assert listing(tmp_path) == ['elsewhere', 'f.bin.part']


@as_root
def test_part_of_another_user_is_untouched(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    nobody = pwd.getpwnam('nobody')
    os.chown(dest + '.part', nobody.pw_uid, nobody.pw_gid)
    before = snapshot(dest + '.part')
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert_untouched_part(result, dest, before, 'belongs to nobody')
    assert open(dest, 'rb').read() == server.content
    assert server.log()[-1]['range'] is None


def test_group_writable_part_is_untouched(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    os.chmod(dest + '.part', 0o620)
    before = snapshot(dest + '.part')
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert_untouched_part(result, dest, before, 'writable by its group or by others (mode 0620)')
    assert open(dest, 'rb').read() == server.content


def test_hard_linked_part_is_untouched(capsys, server, tmp_path, victim):
    dest = str(tmp_path / 'f.bin')
    os.link(str(victim), dest + '.part')
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert_untouched_part(result, dest, snapshot(dest + '.part'), 'has 2 hard links')
    assert snapshot(victim) == before


def test_fifo_part_is_not_opened(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    os.mkfifo(dest + '.part', 0o600)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert 'is not a regular file' in result['asyncops']['restart_reason']
    assert stat.S_ISFIFO(os.lstat(dest + '.part').st_mode) and open(dest, 'rb').read() == server.content


def test_planted_symlink_meta_is_never_followed(capsys, server, tmp_path, victim):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    os.unlink(dest + '.part.meta')
    os.symlink(str(victim), dest + '.part.meta')
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and 'is a symbolic link' in result['asyncops']['restart_reason']
    assert snapshot(victim) == before
    assert open(dest, 'rb').read() == server.content


@as_root
def test_meta_of_another_user_is_not_used(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    os.chown(dest + '.part.meta', pwd.getpwnam('nobody').pw_uid, -1)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['asyncops']['resumed_from'] == 0 and 'belongs to nobody' in result['asyncops']['restart_reason']
    assert open(dest, 'rb').read() == server.content


def test_symlink_at_dest_is_replaced_not_followed(capsys, server, tmp_path, victim):
    dest = tmp_path / 'f.bin'
    os.symlink(str(victim), str(dest))
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), mode='0644', backup=True,
                  owner=str(os.geteuid()))
    assert result['changed'] and not result.get('failed')
    assert not dest.is_symlink() and dest.read_bytes() == server.content
    assert result['state'] == 'file' and result['mode'] == '0644'
    assert result['checksum_dest'] is None and 'backup_file' not in result  # the link's target was never read
    assert any('symbolic link' in w for w in result['asyncops']['warnings'])
    assert snapshot(victim) == before


def test_symlink_at_dest_is_never_kept(capsys, server, tmp_path, victim):
    # without force or checksum an existing file is kept; a link is not a file of dest's to keep
    dest = tmp_path / 'f.bin'
    os.symlink(str(victim), str(dest))
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), mode='0666')
    assert result['changed'] and not dest.is_symlink() and dest.read_bytes() == server.content
    assert snapshot(victim) == before


def test_hard_link_at_dest_is_replaced_not_changed(capsys, server, tmp_path, victim):
    dest = tmp_path / 'f.bin'
    os.link(str(victim), str(dest))
    before = snapshot(victim)
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), mode='0666')
    assert result['changed'] and dest.read_bytes() == server.content
    assert dest.stat().st_ino != victim.stat().st_ino
    assert snapshot(victim) == before


@as_root
def test_directory_link_of_another_user_is_not_followed(capsys, server, tmp_path):
    target = tmp_path / 'target'
    target.mkdir()
    link = tmp_path / 'dir'
    os.symlink(str(target), str(link))
    os.lchown(str(link), pwd.getpwnam('nobody').pw_uid, -1)
    for dest in (str(link), str(link) + '/'):
        result = call(capsys, url=server.base + '/file.bin', dest=dest)
        assert result['failed'] and 'symbolic link of nobody' in result['msg']
    assert listing(target) == []
    os.lchown(str(link), 0, -1)  # root's own link is followed
    result = call(capsys, url=server.base + '/file.bin', dest=str(link))
    assert result['dest'] == str(link / 'file.bin') and listing(target) == ['file.bin']


# ---------------------------------------------------------------- as a job of this collection


def test_background_job_reports_progress_and_result(capsys, server, tmp_path, monkeypatch):
    async_dir = str(tmp_path / 'async')
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', async_dir)
    dest = str(tmp_path / 'bg.bin')
    remote_tmp = tmp_path / 'remote_tmp'
    remote_tmp.mkdir()
    launched = call(capsys, url=server.base + '/file.bin?rate=600000', dest=dest, background=True,
                    time_limit=30, _ansible_remote_tmp=str(remote_tmp))
    assert set(launched) - {'invocation'} == {'changed', 'started', 'finished', 'ansible_job_id', 'results_file',
                                              'asyncops'}
    assert launched['started'] and not launched['finished'] and launched['asyncops']['dest'] == dest
    assert launched['asyncops']['kind'] == 'download' and launched['asyncops']['state'] == 'running'
    wait_gone(launched['asyncops']['supervisor_pid'])
    record = _record.read_record(async_dir, launched['ansible_job_id'])
    assert record['finished'] and not record['failed'] and record['changed']
    assert record['asyncops']['kind'] == 'download' and record['asyncops']['state'] == 'succeeded'
    assert record['size'] == SIZE and record['dest'] == dest and record['mode']
    # get_url's own state of the file, not the job's
    assert record['state'] == 'file'
    progress = _record.read_progress(record['asyncops']['progress_file'])
    assert progress['percent'] == 100 and progress['unit'] == 'B' and progress['total'] == SIZE
    assert open(dest, 'rb').read() == server.content
    # the job ends with os._exit, past AnsibleModule's atexit cleanup of the tmp dir fetch_url made
    assert list(remote_tmp.iterdir()) == []


def test_background_result_follows_the_contract(capsys, server, tmp_path, monkeypatch):
    async_dir = str(tmp_path / 'async')
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', async_dir)
    dest = str(tmp_path / 'bg.bin')
    cut_download(capsys, server.base + '/file.bin', dest)
    theirs = get_url_keys(capsys, GET_URL_DOWNLOADED, url=server.base + '/file.bin', dest=str(tmp_path / 'theirs.bin'))
    launched = call(capsys, url=server.base + '/file.bin', dest=dest, background=True)
    wait_gone(launched['asyncops']['supervisor_pid'])
    record = _record.read_record(async_dir, launched['ansible_job_id'])
    own = _record.job_result(record)
    own.pop('failed')
    assert own_keys(own) == theirs
    assert record['asyncops']['resumed_from'] == CUT and record['asyncops']['bytes_transferred'] == SIZE - CUT
    assert record['status_code'] == 206 and open(dest, 'rb').read() == server.content


def test_background_in_check_mode_starts_nothing(capsys, server, tmp_path, monkeypatch):
    async_dir = str(tmp_path / 'async')
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', async_dir)
    dest = str(tmp_path / 'bg.bin')
    requests = len(server.log())
    result = call(capsys, url=server.base + '/file.bin', dest=dest, background=True, time_limit=60,
                  _ansible_check_mode=True)
    assert result['changed'] is True and result['started'] is False and result['finished'] is False
    assert _record.is_check_mode_jid(result['ansible_job_id']) and 'results_file' not in result
    assert result['msg'] == 'would start a download job: download %s/file.bin to %s' % (server.base, dest)
    assert result['asyncops']['state'] == 'not_started' and result['asyncops']['check_mode'] is True
    assert (result['asyncops']['kind'], result['asyncops']['url'], result['asyncops']['dest']) == (
        'download', server.base + '/file.bin', dest)
    assert result['asyncops']['time_limit'] == 60.0
    assert os.listdir(str(tmp_path)) == [] and len(server.log()) == requests


def test_background_failure_is_in_the_record(capsys, server, tmp_path, monkeypatch):
    async_dir = str(tmp_path / 'async')
    monkeypatch.setenv('ANSIBLE_ASYNC_DIR', async_dir)
    remote_tmp = tmp_path / 'remote_tmp'
    remote_tmp.mkdir()
    launched = call(capsys, url=server.base + '/missing.bin', dest=str(tmp_path / 'x'), background=True,
                    _ansible_remote_tmp=str(remote_tmp))
    wait_gone(launched['asyncops']['supervisor_pid'])
    record = _record.read_record(async_dir, launched['ansible_job_id'])
    assert record['failed'] and record['status_code'] == 404 and record['msg'] == 'Request failed'
    assert list(remote_tmp.iterdir()) == []
    assert record['asyncops']['state'] == 'failed'
