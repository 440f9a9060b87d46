# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of a supervised job's output (plugins/module_utils/_output.py)."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _output


def test_output_stream_keeps_the_tail_and_bounds_the_file(tmp_path):
    path = str(tmp_path / 'x.out')
    stream = _output.OutputStream(path, 10)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for chunk in (b'0123456', b'789abcd', b'efghij', b'klmn\n'):
        stream.feed(chunk)
        assert os.path.getsize(path) <= 20
    assert bytes(stream.tail) == (b'0123456789abcdefghijklmn\n')[-10:]
    assert stream.dropped == 15
    stream.close()
    with open(path, 'rb') as f:
        assert f.read() == b'fghijklmn\n'
    assert stream.text() == 'fghijklmn'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_output_stream_survives_an_unwritable_sidecar(tmp_path):
    stream = _output.OutputStream(str(tmp_path / 'missing' / 'x.out'), 100)
    assert stream.fd is None
    stream.feed(b'still kept\n')
    stream.close()
    assert stream.text() == 'still kept'


def test_line_splitter():
    split = _output.LineSplitter()
    assert split.feed(b'10%\r20') == ['10%']
    assert split.feed(b'%\n\nfoo') == ['20%']
    assert split.finish() == ['foo']
    assert split.finish() == []
    assert split.feed(b'x' * 100000) == []
    assert len(split.buf) == 65536


def test_progress_regex():
    regex = _output.compile_progress_regex(r'(?P<percent>[0-9.]+)%( (?P<message>\w+))?')
    assert _output.match_progress(regex, 'at 42.5% copying')['percent'] == 42.5
    assert _output.match_progress(regex, 'at 42.5% copying')['message'] == 'copying'
    assert _output.match_progress(regex, 'nothing') is None
    regex = _output.compile_progress_regex(r'(?P<current>\d+)/(?P<total>\d+)')
    found = _output.match_progress(regex, 'file 3/4')
    assert (found['current'], found['total'], found['percent']) == (3, 4, 75.0)
    assert _output.compile_progress_regex(None) is None
    with pytest.raises(ValueError, match='named group percent'):
        _output.compile_progress_regex(r'(?P<pct>\d+)%')
    with pytest.raises(ValueError, match='not a valid regular expression'):
        _output.compile_progress_regex(r'(?P<percent>')
