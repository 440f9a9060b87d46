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


# ---------------------------------------------------------------- the sidecar's ceiling and the record's budget

FLOODS = {
    'random bytes': os.urandom,
    'NUL bytes': lambda n: b'\0' * n,
    'one long line': lambda n: b'x' * n,
    'empty lines': lambda n: b'\n' * n,
}


@pytest.mark.parametrize('kind', sorted(FLOODS))
def test_the_sidecar_never_passes_its_ceiling(tmp_path, monkeypatch, kind):
    # a 64 KiB read appended to a file just under twice a 1000-byte limit once made it 67 times the
    # limit until the rewrite that followed: the size is looked at after every write, inside feed()
    sizes = []
    write_all = _output.write_all

    def watched_write_all(fd, data):
        write_all(fd, data)
        sizes.append(os.fstat(fd).st_size)

    monkeypatch.setattr(_output, 'write_all', watched_write_all)
    path = str(tmp_path / 'x.out')
    stream = _output.OutputStream(path, 1000)
    data = FLOODS[kind](10 * 1024 * 1024)  # 10 MiB: for 'one long line', a single line
    for start in range(0, len(data), 65536):
        stream.feed(data[start:start + 65536])
        sizes.append(os.path.getsize(path))
    stream.feed(b'end')
    sizes.append(os.path.getsize(path))
    stream.close()
    assert max(sizes) <= 2000 and stream.max_file_size <= 2000
    with open(path, 'rb') as f:
        assert f.read() == (data + b'end')[-1000:]
    assert stream.dropped == len(data) + 3 - 1000


def test_the_sidecar_grows_by_appends_up_to_its_ceiling(tmp_path):
    path = str(tmp_path / 'x.out')
    stream = _output.OutputStream(path, 10)
    sizes = []
    for chunk in (b'0123456789', b'abcdefghij', b'k'):
        stream.feed(chunk)
        sizes.append(os.path.getsize(path))
    assert sizes == [10, 20, 10]  # the append that would pass 20 is a rewrite of the tail instead
    with open(path, 'rb') as f:
        assert f.read() == b'bcdefghijk'


def test_a_link_at_the_sidecar_is_never_followed(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'precious')
    path = tmp_path / 'x.out'
    path.symlink_to(victim)
    stream = _output.OutputStream(str(path), 100)
    stream.feed(b'job output\n')
    stream.close()
    assert victim.read_bytes() == b'precious'
    assert not path.is_symlink() and path.read_bytes() == b'job output\n'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600


def test_a_link_planted_before_a_rewrite_is_not_followed(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'precious')
    path = tmp_path / 'x.out'
    stream = _output.OutputStream(str(path), 10)
    stream.feed(b'0123456789')
    os.unlink(str(path))
    path.symlink_to(victim)
    stream.feed(b'abcdefghijk')  # past the ceiling: rewritten (a rename over the link), then reopened
    stream.feed(b'!')
    stream.close()
    assert victim.read_bytes() == b'precious'
    assert not path.is_symlink() and path.read_bytes() == b'cdefghijk!'


@pytest.mark.parametrize('kind', sorted(FLOODS))
def test_fit_output_keeps_the_record_in_budget(kind):
    tail = FLOODS[kind](1000)
    skips = _output.fit_output([tail, b''], 2000)
    kept = _output._text(tail[skips[0]:])
    assert _output.encoded_cost(kept) + _output.encoded_cost('') <= 2000
    assert skips[1] == 0
    # the most that fits: one byte more would not
    if skips[0]:
        assert _output.encoded_cost(_output._text(tail[skips[0] - 1:])) + 4 > 2000 - 4
    assert kept == _output._text(tail)[-len(kept):] if kept else True


def test_fit_output_keeps_what_fits_and_shares_the_rest():
    assert _output.fit_output([b'hello\n', b'oops'], 2000) == [0, 0]
    small, big = b'tiny', os.urandom(5000)
    skips = _output.fit_output([small, big], 2000)
    assert skips[0] == 0  # the small stream keeps all; the big one gets what is left
    assert _output.encoded_cost('tiny') + _output.encoded_cost(_output._text(big[skips[1]:])) <= 2000
    both = _output.fit_output([os.urandom(5000), os.urandom(5000)], 2000)
    assert all(skip > 0 for skip in both)


def test_strip_empty_ends_drops_only_the_trailing_newlines(tmp_path):
    stream = _output.OutputStream(str(tmp_path / 'x.out'), 100)
    stream.feed(b'\nfirst\n\nlast\n\r\n\n')
    stream.close()
    assert stream.kept_text(0) == '\nfirst\n\nlast'
    assert stream.kept_text(0, strip_empty_ends=False) == '\nfirst\n\nlast\n\r\n\n'


def test_fit_output_counts_the_newlines_kept_without_strip_empty_ends():
    tail = b'\n' * 1000
    assert _output.fit_output([tail, b''], 2000) == [0, 0]  # stripped, they cost nothing
    skip = _output.fit_output([tail, b''], 2000, strip_empty_ends=False)[0]
    assert skip > 0
    assert _output.encoded_cost(_output._text(tail[skip:], strip_empty_ends=False)) + _output.encoded_cost('') <= 2000


def test_plain_text_of_the_limit_costs_about_twice_the_limit():
    # the budget (2 x output_limit) keeps most of an ordinary text tail
    tail = b''.join(b'line %d\n' % i for i in range(2000))[-1000:]
    skip = _output.fit_output([tail, b''], 2000)[0]
    assert skip < 200
