# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of durations (plugins/module_utils/_durations.py): parsing, printing, rate and ETA."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _durations


@pytest.mark.parametrize('value, seconds', [
    (600, 600.0), (0, 0.0), (1.5, 1.5), ('600', 600.0), ('90', 90.0), ('90s', 90.0), ('15m', 900.0),
    ('30m', 1800.0), ('2h', 7200.0), ('2hours', 7200.0), ('2 hours', 7200.0), ('1 hour', 3600.0), ('2H', 7200.0),
    ('3d', 259200.0), ('7d', 604800.0), ('1w', 604800.0), ('2weeks', 1209600.0), ('10sec', 10.0),
    ('5 minutes', 300.0), ('1h30m', 5400.0), ('1d 12h', 129600.0), ('1d12h30m15s', 131415.0),
    ('1.5h', 5400.0), (' 90 s ', 90.0), ('2 days', 172800.0),
])
def test_parse_duration(value, seconds):
    assert _durations.parse_duration(value) == seconds


@pytest.mark.parametrize('value', ['', '   ', 'soon', '5x', '-5', '+5', -1, -0.5, None, True, False, '1h junk',
                                   'h', '1.h', '1e3', '1,5h', float('nan'), float('inf'), [1], {'h': 1},
                                   '9' * 400 + 's'])
def test_parse_duration_refuses(value):
    with pytest.raises(ValueError, match=r'invalid max_age .*'):
        _durations.parse_duration(value, 'max_age')


def test_parse_duration_error_names_the_value():
    with pytest.raises(ValueError) as e:
        _durations.parse_duration('2 fortnights')
    assert str(e.value) == ("invalid duration '2 fortnights': give seconds or a duration such as 30m, 2h, 7d "
                            "or 1h30m")
    with pytest.raises(ValueError, match='cannot be negative'):
        _durations.parse_duration(-3, 'age')


@pytest.mark.parametrize('value, seconds', [
    ('0:00:01.500000', 1.5), ('1:02:03', 3723.0), ('1 day, 0:00:01', 86401.0), ('2 days, 1:00:00', 176400.0),
    ('junk', None), (None, None), (1.5, None), ('1:2:3', None),
])
def test_parse_delta(value, seconds):
    assert _durations.parse_delta(value) == seconds


def test_format_delta_and_timestamp_as_command_prints_them():
    assert _durations.format_delta(1.5) == '0:00:01.500000'
    assert _durations.format_delta(0) == '0:00:00'
    assert _durations.format_delta(-3) == '0:00:00'   # a clock that went back is no negative duration
    assert _durations.parse_delta(_durations.format_delta(86401.25)) == 86401.25
    epoch = 1700000000.123456
    assert _durations.format_timestamp(epoch) == datetime.datetime.fromtimestamp(epoch).strftime('%Y-%m-%d %H:%M:%S.%f')


@pytest.mark.parametrize('current, total, percent, spent, rate, eta', [
    (50, 150, None, 10.0, 5.0, 20.0),
    (150, 150, None, 10.0, 15.0, 0.0),
    (200, 150, None, 10.0, 20.0, 0.0),         # past the total: nothing left
    (50, None, None, 10.0, 5.0, None),          # no total: no eta
    (1, 3, None, 3.0, 0.333, 6.0),
    (None, None, 25.0, 10.0, 2.5, 30.0),        # percent only: percent a second
    (None, None, 100.0, 10.0, 10.0, 0.0),
    (50, 150, 90.0, 10.0, 5.0, 20.0),           # current wins over percent
    (None, None, 0.0, 10.0, None, None),        # nothing done yet
    (0, 10, None, 10.0, None, None),
    (-5, 10, None, 10.0, None, None),
    (50, 150, None, None, None, None),          # start unknown
    (50, 150, None, 0.0, None, None),           # no time spent
    (50, 150, None, -10.0, None, None),         # clock went back
    (None, None, None, 10.0, None, None),
])
def test_rate_and_eta(current, total, percent, spent, rate, eta):
    assert _durations.rate_and_eta(current, total, percent, spent) == (rate, eta)
