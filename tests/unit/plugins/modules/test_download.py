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
import tempfile
import threading

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs
from ansible_collections.asyncops.jobs.plugins.modules import download
from ansible_collections.asyncops.jobs.tests.unit.helpers import run_module, wait_gone


SERVER = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'integration', 'targets', 'download', 'files',
                      'range_server.py')
SIZE = 300000

# the server runs in a thread of this process; the supervisor forks (the module itself never runs threads)
pytestmark = pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')


@pytest.fixture(autouse=True)
def module_tmp_in_tmp_path(monkeypatch, tmp_path):
    # fetch_url makes a module tmp dir that AnsibleModule removes at exit;
    # ansible-test ends each test's fork before that runs
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))


def call(capsys, **args):
    args.setdefault('use_proxy', False)
    return run_module(download.main, capsys, args)[1]


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

        @staticmethod
        def log():
            with answering:
                assert answering.wait_for(lambda: in_flight[0] == 0, timeout=30), 'a request never ended'
            with open(httpd.log_path) as f:
                return [json.loads(line) for line in f]
    yield Server
    httpd.shutdown()


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


# ---------------------------------------------------------------- downloads

def test_full_download_then_idempotent(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    result = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:%s' % server.sha256, mode='0640')
    assert result['changed'] and result['status_code'] == 200
    assert result['size'] == SIZE and result['bytes_transferred'] == SIZE and result['resumed_from'] == 0
    assert result['checksum_src'] == hashlib.sha1(server.content).hexdigest()
    assert result['checksum_dest'] is None
    assert result['msg'] == 'OK (%d bytes)' % SIZE
    assert result['mode'] == '0640'
    assert open(dest, 'rb').read() == server.content
    assert not os.path.exists(dest + '.part')
    requests = len(server.log())
    again = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:%s' % server.sha256, mode='0640')
    assert not again['changed'] and again['msg'] == 'file already exists'
    assert len(server.log()) == requests


def test_resume_from_a_partial_file(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(server.content[:1000])
    result = call(capsys, url=server.base + '/file.bin', dest=dest, checksum='sha256:' + server.base + '/SUMS')
    assert result['changed'] and result['status_code'] == 206
    assert result['resumed_from'] == 1000 and result['bytes_transferred'] == SIZE - 1000
    last = server.log()[-1]
    assert (last['range'], last['status'], last['bytes_sent']) == ('bytes=1000-', 206, SIZE - 1000)
    assert open(dest, 'rb').read() == server.content


def test_server_without_range_support(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(b'garbage that must not survive')
    result = call(capsys, url=server.base + '/file.bin?norange=1', dest=dest)
    assert result['status_code'] == 200 and result['resumed_from'] == 0 and result['bytes_transferred'] == SIZE
    assert open(dest, 'rb').read() == server.content


def test_complete_partial_file_gets_416(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(server.content)
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['changed'] and result['resumed_from'] == SIZE and result['bytes_transferred'] == 0
    assert server.log()[-1]['status'] == 416
    assert open(dest, 'rb').read() == server.content


def test_partial_file_longer_than_the_resource_starts_over(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(server.content + b'extra')
    result = call(capsys, url=server.base + '/file.bin', dest=dest)
    assert result['resumed_from'] == 0 and result['bytes_transferred'] == SIZE
    assert open(dest, 'rb').read() == server.content


def test_lost_connection_keeps_the_partial_file(capsys, server, tmp_path):
    dest = str(tmp_path / 'f.bin')
    result = call(capsys, url=server.base + '/file.bin?cut=100000', dest=dest)
    assert result['failed'] and 'run the task again to resume' in result['msg']
    assert os.path.getsize(dest + '.part') == 100000 and not os.path.exists(dest)
    result = call(capsys, url=server.base + '/file.bin', dest=dest, resume=False)
    assert result['resumed_from'] == 0 and result['bytes_transferred'] == SIZE


def test_checksum_mismatch_leaves_dest_untouched(capsys, server, tmp_path):
    dest = tmp_path / 'f.bin'
    dest.write_bytes(b'old')
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), checksum='sha256:' + '0' * 64)
    assert result['failed'] and 'did not match' in result['msg']
    assert dest.read_bytes() == b'old'
    assert not os.path.exists(str(dest) + '.part')
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
    result = call(capsys, url=server.base + '/file.bin', dest=str(dest), force=True, backup=True)
    assert result['changed'] and dest.read_bytes() == server.content
    assert open(result['backup_file'], 'rb').read() == b'old'
    assert result['checksum_dest'] == hashlib.sha1(b'old').hexdigest()


def test_dest_directory_and_errors(capsys, server, tmp_path):
    result = call(capsys, url=server.base + '/file.bin', dest=str(tmp_path))
    assert result['dest'] == str(tmp_path / 'file.bin') and result['changed']
    result = call(capsys, url=server.base + '/missing.bin', dest=str(tmp_path / 'm'))
    assert result['failed'] and result['status_code'] == 404
    result = call(capsys, url=server.base + '/file.bin', dest=str(tmp_path / 'no' / 'such' / 'f'))
    assert result['failed'] and 'does not exist' in result['msg']


def test_file_url(capsys, server, tmp_path):
    src = tmp_path / 'src.bin'
    src.write_bytes(b'local data')
    dest = str(tmp_path / 'copy.bin')
    with open(dest + '.part', 'wb') as f:
        f.write(b'local')
    result = call(capsys, url='file://%s' % src, dest=dest,
                  checksum='sha256:%s' % hashlib.sha256(b'local data').hexdigest())
    assert result['changed'] and result['resumed_from'] == 0 and result['size'] == 10
    assert open(dest, 'rb').read() == b'local data'


def test_background_job_reports_progress_and_result(capsys, server, tmp_path):
    async_dir = str(tmp_path / 'async')
    dest = str(tmp_path / 'bg.bin')
    remote_tmp = tmp_path / 'remote_tmp'
    remote_tmp.mkdir()
    launched = call(capsys, url=server.base + '/file.bin?rate=600000', dest=dest, background=True,
                    time_limit=30, _async_dir=async_dir, _ansible_remote_tmp=str(remote_tmp))
    assert launched['started'] and not launched['finished'] and launched['dest'] == dest
    wait_gone(launched['supervisor_pid'])
    record = _jobs.read_record(async_dir, launched['ansible_job_id'])
    assert record['finished'] and not record['failed'] and record['changed']
    assert record['asyncops']['kind'] == 'download' and record['asyncops']['state'] == 'succeeded'
    assert record['size'] == SIZE and record['dest'] == dest and record['mode']
    progress = _jobs.read_progress(record['asyncops']['progress_file'])
    assert progress['percent'] == 100 and progress['unit'] == 'B' and progress['total'] == SIZE
    assert open(dest, 'rb').read() == server.content
    # the job ends with os._exit, past AnsibleModule's atexit cleanup of the tmp dir fetch_url made
    assert list(remote_tmp.iterdir()) == []


def test_background_failure_is_in_the_record(capsys, server, tmp_path):
    async_dir = str(tmp_path / 'async')
    remote_tmp = tmp_path / 'remote_tmp'
    remote_tmp.mkdir()
    launched = call(capsys, url=server.base + '/missing.bin', dest=str(tmp_path / 'x'), background=True,
                    _async_dir=async_dir, _ansible_remote_tmp=str(remote_tmp))
    wait_gone(launched['supervisor_pid'])
    record = _jobs.read_record(async_dir, launched['ansible_job_id'])
    assert record['failed'] and record['status_code'] == 404 and record['msg'] == 'Request failed'
    assert list(remote_tmp.iterdir()) == []
    assert record['asyncops']['state'] == 'failed'
