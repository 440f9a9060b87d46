# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the async_log JSON-lines event log."""

from __future__ import annotations

import json
import os
import stat
import threading

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._event_log import JsonLinesWriter


def read_log(path):
    with open(str(path)) as f:
        return [json.loads(line) for line in f]


def test_writer_creates_0600_file_and_dirs(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / 'a' / 'b' / 'log.jsonl'
        writer = JsonLinesWriter(str(path)).open()
        writer.write({'event': 'x', 'msg': u'd\u00e9j\u00e0 vu'})
        writer.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(tmp_path / 'a')).st_mode) == 0o700
    assert read_log(path) == [{'event': 'x', 'msg': u'd\u00e9j\u00e0 vu'}]


def test_writer_appends_from_many_writers_at_once(tmp_path):
    path = tmp_path / 'log.jsonl'
    path.write_text(u'{"event": "earlier run"}\n')
    writers = [JsonLinesWriter(str(path)).open() for dummy in range(4)]
    barrier = threading.Barrier(len(writers))
    per_writer = 300
    filler = 'x' * 3000  # lines larger than a pipe buffer

    def work(n, writer):
        barrier.wait()
        for i in range(per_writer):
            writer.write({'writer': n, 'i': i, 'filler': filler})

    threads = [threading.Thread(target=work, args=(n, w)) for n, w in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.close()
    lines = read_log(path)
    assert lines[0] == {'event': 'earlier run'}
    assert len(lines) == 1 + per_writer * len(writers)
    for n in range(len(writers)):
        assert [l['i'] for l in lines[1:] if l['writer'] == n] == list(range(per_writer))
