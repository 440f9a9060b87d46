# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ages and durations, parsed and printed; the rate and ETA of a job's progress.

Private to the collection. Runs on the target (Python 3.8+) and on the
controller, and imports only the standard library.
"""

from __future__ import annotations

import datetime
import math
import re
import typing as t

_PART_RE = re.compile(r'\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*')
_UNITS = {}  # type: t.Dict[str, int]
for _seconds, _names in ((1, ('', 's', 'sec', 'secs', 'second', 'seconds')),
                         (60, ('m', 'min', 'mins', 'minute', 'minutes')),
                         (3600, ('h', 'hr', 'hrs', 'hour', 'hours')),
                         (86400, ('d', 'day', 'days')),
                         (604800, ('w', 'week', 'weeks'))):
    _UNITS.update(dict.fromkeys(_names, _seconds))

_DELTA_RE = re.compile(r'\A(?:(?P<days>-?[0-9]+) days?, )?(?P<h>[0-9]+):(?P<m>[0-9]{2}):(?P<s>[0-9]{2}(?:\.[0-9]+)?)\Z')


def parse_duration(value: t.Any, name: str = 'duration') -> float:
    """Seconds from 600, '600', '90s', '30m', '2h', '2hours', '7d', '1w' or a sum such as '1h30m' or '1d 12h'.

    Raises ValueError (naming ``name`` and the value) for anything else: a
    negative or non-finite number, an unknown unit, an empty string.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError('invalid %s %r: give seconds or a duration such as 30m, 2h, 7d' % (name, value))
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError('invalid %s %r: give a finite number of seconds' % (name, value))
        if value < 0:
            raise ValueError('invalid %s %r: it cannot be negative' % (name, value))
        return float(value)
    text = str(value).strip()
    total, pos = 0.0, 0
    while pos < len(text):
        m = _PART_RE.match(text, pos)
        if not m or m.group(2).lower() not in _UNITS:
            break
        total += float(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError('invalid %s %r: give seconds or a duration such as 30m, 2h, 7d or 1h30m' % (name, value))
    if not math.isfinite(total):
        shown = text if len(text) <= 40 else text[:40] + '...'
        raise ValueError('invalid %s %r: give a finite number of seconds' % (name, shown))
    return total


def parse_delta(value: t.Any) -> t.Optional[float]:
    """Seconds in a command result's ``delta`` ('0:00:01.234567', '1 day, 2:03:04.5'); None for anything else."""
    if not isinstance(value, str):
        return None
    m = _DELTA_RE.match(value.strip())
    if not m:
        return None
    return (int(m.group('days') or 0) * 86400 + int(m.group('h')) * 3600 + int(m.group('m')) * 60
            + float(m.group('s')))


def format_timestamp(epoch: float) -> str:
    """A local time as ansible.builtin.command prints ``start`` and ``end``."""
    return datetime.datetime.fromtimestamp(epoch).strftime('%Y-%m-%d %H:%M:%S.%f')


def format_delta(seconds: float) -> str:
    """A duration as ansible.builtin.command prints ``delta`` (0:00:01.500000)."""
    return str(datetime.timedelta(seconds=max(seconds, 0.0)))


def rate_and_eta(current: t.Optional[float], total: t.Optional[float], percent: t.Optional[float],
                 seconds_spent: t.Optional[float]) -> t.Tuple[t.Optional[float], t.Optional[float]]:
    """(rate, eta) of a job that did ``current`` of ``total`` (or ``percent``) in ``seconds_spent``.

    rate is units a second when current is known, else percent a second; eta
    is the seconds left at that rate (0.0 once current reaches total). Either
    is None where it cannot be computed: no time spent, nothing done yet, no
    total to reach.
    """
    if not seconds_spent or seconds_spent <= 0:
        return None, None
    if current is not None and current > 0:
        rate = current / seconds_spent
        eta = None  # type: t.Optional[float]
        if total is not None:
            eta = round(max(total - current, 0) / rate, 1)
        return round(rate, 3), eta
    if percent is not None and percent > 0:
        return round(percent / seconds_spent, 4), round(max(100.0 - percent, 0.0) * seconds_spent / percent, 1)
    return None, None
