# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the async_log callback's console lines."""

from __future__ import annotations

import pytest

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log import _console


@pytest.mark.parametrize('percent, width, expected', [
    (0, 10, '[----------]'),
    (42.0, 20, '[########------------]'),
    (100, 10, '[##########]'),
    (150, 4, '[####]'),
    (-5, 4, '[----]'),
])
def test_progress_bar(percent, width, expected):
    assert _console.progress_bar(percent, width) == expected


@pytest.mark.parametrize('seconds, expected', [
    (None, '?'), (0, '0.0s'), (4.24, '4.2s'), (59.94, '59.9s'), (65, '1m05s'), (3723, '1h02m03s'),
])
def test_fmt_duration(seconds, expected):
    assert _console.fmt_duration(seconds) == expected


def test_quantities_and_rates():
    mib = 1024 * 1024
    assert _console.fmt_quantity(420 * mib, 1000 * mib, 'B') == '420.0/1000.0 MiB'
    assert _console.fmt_quantity(500, 1000, 'bytes') == '500/1000 B'
    assert _console.fmt_quantity(42, 100, 'files') == '42/100 files'
    assert _console.fmt_quantity(7, None, None) == '7'
    assert _console.fmt_rate(10.5 * mib, 'B') == '10.5 MiB/s'
    assert _console.fmt_rate(3.25, 'files') == '3.2 files/s'
    assert _console.fmt_rate(None, 'B') is None


def test_display_progress_computes_percent_rate_eta():
    p = _console.display_progress({'current': 250, 'total': 1000, 'unit': 'rows', 'updated_at': 20.0},
                                  elapsed=10.0, prev_sample=(150, 10.0))
    assert p['percent'] == 25.0
    assert p['rate'] == 10.0          # (250 - 150) / (20 - 10)
    assert p['eta'] == 75.0           # (1000 - 250) / 10
    # no previous sample: the average since the start
    p = _console.display_progress({'current': 300, 'total': 1000}, elapsed=30.0)
    assert (p['rate'], p['eta']) == (10.0, 70.0)
    # what the record says wins
    p = _console.display_progress({'percent': 5.0, 'current': 1, 'total': 10, 'rate': 2.0, 'eta': 99.0},
                                  elapsed=1.0)
    assert (p['percent'], p['rate'], p['eta']) == (5.0, 2.0, 99.0)
    assert _console.display_progress(None) is None


def test_console_line_with_progress_bar():
    mib = 1024 * 1024
    fmt = _console.ConsoleFormatter(progress_bar=True, bar_width=20)
    ev = {'event': 'poll', 'host': 'web1', 'task': 'Download image', 'jid': 'j1.2', 'attempt': 3,
          'state': 'running', 'elapsed': 40.0}
    progress = _console.display_progress(
        {'percent': 42.0, 'current': 420 * mib, 'total': 1000 * mib, 'unit': 'B', 'rate': 10.5 * mib,
         'message': 'downloading'}, elapsed=40.0)
    line = fmt.line(ev, progress)
    assert line == ('async poll #3 | web1 | Download image | j1.2 | [########------------]   42.0%  '
                    '420.0/1000.0 MiB  10.5 MiB/s  ETA 55.2s  downloading | 40.0s elapsed')
    plain = _console.ConsoleFormatter(progress_bar=False).line(ev, progress)
    assert '[' not in plain and '42.0%' in plain and 'ETA 55.2s' in plain


def test_console_lines_without_progress():
    fmt = _console.ConsoleFormatter()
    ev = {'event': 'poll', 'host': 'h', 'task': 'Sleep', 'jid': 'j1.1', 'attempt': 2, 'state': 'running',
          'elapsed': 4.04}
    assert fmt.line(ev) == 'async poll #2 | h | Sleep | j1.1 | running, 4.0s elapsed'
    ev = dict(ev, event='retry', attempt=3)
    assert fmt.line(ev, retries=11) == 'async retry #3/11 | h | Sleep | j1.1 | running, 4.0s elapsed'
    ev = {'event': 'async_failed', 'host': 'h', 'task': 'Slow', 'jid': 'j1.1', 'attempt': 1, 'state': 'timeout',
          'failed': True, 'elapsed': 6.5, 'msg': 'async task did not complete within the requested time - 6s'}
    assert fmt.line(ev) == ('async failed | h | Slow | j1.1 | timeout after 6.5s: '
                            'async task did not complete within the requested time - 6s')


def test_display_progress_percent_only_gets_an_eta():
    """A job that reports only a percentage: the ETA at its average pace since the start (no rate shown)."""
    p = _console.display_progress({'percent': 25.0, 'message': 'migrating'}, elapsed=10.0)
    assert p['eta'] == 30.0
    line = _console.ConsoleFormatter().line({'event': 'poll', 'host': 'h', 'jid': 'j1.1', 'attempt': 1,
                                             'state': 'running', 'elapsed': 10.0}, p)
    assert line == 'async poll #1 | h | j1.1 | [#####---------------]   25.0%  ETA 30.0s  migrating | 10.0s elapsed'


def test_display_progress_between_samples_and_without_clock():
    # the job went faster lately: the rate of the last interval, not the average since the start
    p = _console.display_progress({'current': 900, 'total': 1060, 'updated_at': 100.0}, elapsed=100.0,
                                  prev_sample=(100, 90.0))
    assert (p['rate'], p['eta']) == (80.0, 2.0)
    # a sample older than the previous one (clock jump): the average since the start
    p = _console.display_progress({'current': 900, 'total': 990, 'updated_at': 80.0}, elapsed=100.0,
                                  prev_sample=(100, 90.0))
    assert (p['rate'], p['eta']) == (9.0, 10.0)
    # no start, no sample: nothing to compute
    p = _console.display_progress({'current': 5, 'total': 10})
    assert (p['percent'], p['rate'], p['eta']) == (50.0, None, None)
