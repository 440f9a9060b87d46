# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The async_log callback's console lines: one line per event, with a progress bar, rate and ETA.

Rate and ETA are computed by ``_durations.rate_and_eta``, the collection's only computation of them.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils._record import NOT_STARTED
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._results import JOB_NOT_FOUND_MSG, as_number, truncate

BYTE_UNITS = ('b', 'byte', 'bytes')


def fmt_duration(seconds: t.Optional[float]) -> str:
    """4.2s, 1m05s, 1h02m03s; '?' when unknown."""
    if seconds is None:
        return '?'
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return '%.1fs' % seconds
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%dh%02dm%02ds' % (hours, minutes, secs)
    return '%dm%02ds' % (minutes, secs)


def _fmt_number(value: t.Optional[float]) -> str:
    if value is None:
        return '?'
    if float(value).is_integer():
        return '%d' % value
    return '%.1f' % value


def _byte_scale(value: t.Optional[float]) -> t.Tuple[int, str]:
    units = ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB')
    scale = 0
    value = abs(value or 0)
    while value >= 1024 and scale < len(units) - 1:
        value /= 1024.0
        scale += 1
    return scale, units[scale]


def fmt_quantity(current: t.Optional[float], total: t.Optional[float], unit: t.Optional[str]) -> str:
    """'420.0/1000.0 MiB', '42/100 files', '7 items'."""
    if unit and unit.lower() in BYTE_UNITS:
        scale, name = _byte_scale(total if total is not None else current)
        div = float(1024 ** scale)
        if scale == 0:
            cur = _fmt_number(current)
            tot = _fmt_number(total) if total is not None else None
        else:
            cur = '%.1f' % (current / div) if current is not None else '?'
            tot = '%.1f' % (total / div) if total is not None else None
        text = cur if tot is None else '%s/%s' % (cur, tot)
        return '%s %s' % (text, name)
    text = _fmt_number(current)
    if total is not None:
        text = '%s/%s' % (text, _fmt_number(total))
    if unit:
        text = '%s %s' % (text, unit)
    return text


def fmt_rate(rate: t.Optional[float], unit: t.Optional[str]) -> t.Optional[str]:
    if rate is None:
        return None
    if unit and unit.lower() in BYTE_UNITS:
        scale, name = _byte_scale(rate)
        if scale == 0:
            return '%s B/s' % _fmt_number(round(rate, 1))
        return '%.1f %s/s' % (rate / float(1024 ** scale), name)
    return '%.1f %s/s' % (rate, unit or 'units')


def progress_bar(percent: float, width: int = 20) -> str:
    """'[#########-----------]' for a percentage (clamped to 0..100)."""
    width = max(1, int(width))
    percent = max(0.0, min(100.0, float(percent)))
    filled = int(round(width * percent / 100.0))
    return '[%s%s]' % ('#' * filled, '-' * (width - filled))


def _rate_and_eta(current: t.Optional[float], total: t.Optional[float], percent: t.Optional[float],
                  rate: t.Optional[float], elapsed: t.Optional[float], prev_sample: t.Optional[t.Tuple[float, float]],
                  sample_time: t.Optional[float]) -> t.Tuple[t.Optional[float], t.Optional[float]]:
    """(rate, eta): the job's own rate, else the rate between the last two samples, else the average since
    the start; the ETA at that rate."""
    if rate is not None:
        if rate > 0 and current:
            # the ETA at the job's own rate: the time it would have taken to do ``current`` at that rate
            return rate, _durations.rate_and_eta(current, total, None, current / rate)[1]
        return rate, None
    if current is not None and prev_sample is not None and sample_time is not None:
        prev_current, prev_time = prev_sample
        if sample_time > prev_time and current >= prev_current:
            # between the two samples: what was done since the previous one, in the time since then
            remaining_total = None if total is None else total - prev_current
            between = _durations.rate_and_eta(current - prev_current, remaining_total, None, sample_time - prev_time)
            if between[0] is not None:
                return between
    if elapsed:
        return _durations.rate_and_eta(current, total, None if current is not None else percent, elapsed)
    return None, None


def display_progress(progress: t.Any, elapsed: t.Optional[float] = None,
                     prev_sample: t.Optional[t.Tuple[float, float]] = None,
                     now: t.Optional[float] = None) -> t.Optional[t.Dict[str, t.Any]]:
    """The progress to show: ``percent``, ``rate`` and ``eta`` filled in where they can be computed.

    What the job reported wins; ``prev_sample`` is the previous sample ``(current, time)``, ``elapsed``
    the seconds since the job started. Returns a new dict; ``None`` for no progress.
    """
    if not isinstance(progress, dict):
        return None
    out = dict(progress)
    current = as_number(progress.get('current'))
    total = as_number(progress.get('total'))
    percent = as_number(progress.get('percent'))
    if percent is None and current is not None and total:
        percent = 100.0 * current / total
    rate, eta = _rate_and_eta(current, total, percent, as_number(progress.get('rate')), elapsed, prev_sample,
                              as_number(progress.get('updated_at')) or now)
    reported_eta = as_number(progress.get('eta'))
    out['current'] = current
    out['total'] = total
    out['percent'] = percent
    out['rate'] = rate
    out['eta'] = reported_eta if reported_eta is not None else eta
    return out


def host_label(host: t.Optional[str], delegate_to: t.Optional[str]) -> str:
    """'h1', or 'h1 -> h4' for a task delegated to another host (as ansible-core's default callback shows it)."""
    label = host or '?'
    if delegate_to and delegate_to != host:
        label += ' -> %s' % delegate_to
    return label


def has_progress(progress: t.Any) -> bool:
    if not isinstance(progress, dict):
        return False
    return any(progress.get(key) is not None for key in ('percent', 'current', 'message'))


class ConsoleFormatter(object):
    """Builds the one-line console messages."""

    LABELS = {
        'started': 'start',
        'poll': 'poll',
        'retry': 'retry',
        'status': 'status',
        'wait': 'wait',
        'kill': 'kill',
        'cleanup': 'cleanup',
        'prune': 'prune',
        'lost': 'LOST',
        'async_ok': 'done',
        'async_failed': 'failed',
    }

    def __init__(self, progress_bar: bool = True, bar_width: int = 20) -> None:
        self.progress_bar = progress_bar
        self.bar_width = bar_width

    def progress_text(self, progress: t.Any, finished: bool = False) -> t.Optional[str]:
        """'[####----]  40.0%  400/1000 MiB  10.0 MiB/s  ETA 1m00s  downloading' from a display progress."""
        if not isinstance(progress, dict):
            return None
        parts = []
        percent = progress.get('percent')
        if percent is not None:
            if self.progress_bar:
                parts.append(progress_bar(percent, self.bar_width))
            parts.append('%5.1f%%' % percent)
        current = progress.get('current')
        if current is not None:
            parts.append(fmt_quantity(current, progress.get('total'), progress.get('unit')))
        rate = progress.get('rate')
        rate_text = fmt_rate(rate, progress.get('unit')) if current is not None and rate else None
        if rate_text:
            parts.append(rate_text)
        eta = progress.get('eta')
        if eta is not None and eta > 0 and not finished:
            parts.append('ETA %s' % fmt_duration(eta))
        message = truncate(progress.get('message') or None, 80)
        if message:
            parts.append(message)
        return '  '.join(parts) if parts else None

    def line(self, event: t.Mapping[str, t.Any], progress: t.Optional[t.Mapping[str, t.Any]] = None,
             retries: t.Optional[int] = None) -> str:
        """The console line of an event (``progress`` is the display progress, if any)."""
        name = event['event']
        label = self.LABELS.get(name, name)
        attempt = event.get('attempt')
        head = 'async %s' % label
        if name in ('poll', 'retry', 'status', 'wait') and attempt:
            head += ' #%s' % attempt
            if name == 'retry' and retries:
                head += '/%s' % retries
        fields = [head, host_label(event.get('host'), event.get('delegate_to'))]
        if event.get('task'):
            fields.append(event['task'])
        if event.get('jid'):
            fields.append(event['jid'])
        state = event.get('state') or ''
        elapsed = event.get('elapsed')
        text = self.progress_text(progress, finished=bool(event.get('finished'))) if progress else None
        if state == NOT_STARTED:
            detail = 'not started (check mode)'
        elif name == 'started':
            detail = 'started'
        elif event.get('msg') == JOB_NOT_FOUND_MSG and name in ('status', 'wait', 'retry'):
            # the record is gone: the lookup says nothing about how the job ended
            detail = JOB_NOT_FOUND_MSG
        elif state == 'unknown' and event.get('msg') and name in ('status', 'wait', 'retry'):
            # a status whose result is hidden (no_log): say why the state is unknown
            detail = 'unknown: %s' % truncate(event['msg'], 120)
        elif name == 'prune' and not event.get('jid'):
            detail = event.get('msg') or 'pruned'
        elif name in ('async_ok', 'async_failed'):
            detail = '%s after %s' % (state or ('failed' if event.get('failed') else 'succeeded'), fmt_duration(elapsed))
            if event.get('msg') and (event.get('failed') or state == 'timeout'):
                detail += ': %s' % truncate(event['msg'], 120)
        elif name == 'cleanup':
            detail = 'record removed (job %s)' % (state or 'unknown')
            if event.get('sidecars_left'):
                detail += '; left: %s' % ', '.join(event['sidecars_left'])
            if event.get('failed') and event.get('msg'):
                detail = 'cleanup failed: %s' % truncate(event['msg'], 120)
        elif name in ('lost', 'kill'):
            detail = state or name
            if event.get('msg'):
                detail += ': %s' % truncate(event['msg'], 120)
        else:
            detail = state or 'unknown'
        if text and name not in ('async_ok', 'async_failed', 'cleanup', 'prune'):
            fields.append(text)
            if elapsed is not None:
                fields.append('%s elapsed' % fmt_duration(elapsed))
        else:
            if elapsed is not None and name not in ('async_ok', 'async_failed'):
                detail += ', %s elapsed' % fmt_duration(elapsed)
            fields.append(detail)
        return ' | '.join(to_text(f) for f in fields)
