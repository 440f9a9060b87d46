# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The async_log timeline: one self-contained HTML page of a run's jobs (one lane per host, one bar per job).

The page holds its data as JSON in a ``<script type="application/json">`` element (``<``, ``>`` and ``&``
escaped, so no task name or message can end the element), its own CSS and JS inline, and a
Content-Security-Policy that allows only those two blocks (by hash) and ``data:`` images: it loads nothing.
The script builds the lanes from the JSON with ``textContent`` and attributes only, never from markup.

The JSON is compact: strings are stored once in ``strings`` and referred to by index; a job is an array
in the order of ``fields``; times are seconds after ``t0`` (the earliest time of the run); a job's marks
(``[time, kind index, ...]``) and progress samples (``[time, percent, ...]``) are flat arrays.
"""

from __future__ import annotations

import base64
import collections.abc
import hashlib
import html
import json
import math
import os
import re
import tempfile
import typing as t

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._private_dirs import make_private_dirs

# The colour a bar gets, in legend order. 'uncollected' is a job launched in this run whose final status was
# never seen (and whose record was not removed); 'pruned' and 'unknown' are drawn neutral.
SHOWN_STATES = (
    'succeeded', 'failed', 'timeout', 'killed', 'lost', 'running', 'uncollected', 'not_started', 'pruned', 'unknown',
)
# the event that makes each mark; 'started' is the bar's own start and 'unreaped' the end of the run
MARK_OF_EVENT = {
    'poll': 'poll',
    'async_ok': 'poll',
    'async_failed': 'poll',
    'retry': 'retry',
    'status': 'status',
    'lost': 'status',
    'wait': 'wait',
    'kill': 'kill',
    'cleanup': 'cleanup',
    'prune': 'cleanup',
}
MARK_KINDS = ('poll', 'retry', 'status', 'wait', 'kill', 'cleanup')
JOB_FIELDS = (
    'lane', 'row', 'jid', 'task', 'play', 'state', 'shown', 'start', 'end', 'duration', 'rc', 'reason', 'msg',
    'polls', 'cleanup_hint', 'delegate_to', 'marks', 'progress',
)
# string fields of a job that are stored once in the string table
INTERNED_FIELDS = ('task', 'play', 'state', 'shown', 'reason', 'msg', 'cleanup_hint', 'delegate_to')
# A message or hint that holds the job's own jid or host is stored as a template, a list of its other parts
# and these numbers in their places, so that the same text of many jobs is stored once; the page fills them in.
JID_PART = 0
HOST_PART = 1
# messages and hints longer than this are cut (with an ellipsis): the page shows them, it does not archive them
MAX_TEXT = 2000
TIME_DIGITS = 3
ROW_GAP = 0.005
PERCENT_DIGITS = 1

JsonDict = t.Dict[str, t.Any]


def _number(value: t.Any) -> t.Optional[float]:
    """A finite float from a number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: t.Any) -> t.Optional[str]:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 1] + '\u2026'
    return text


def _natural_key(name: t.Optional[str]) -> t.Tuple[t.Any, ...]:
    """web2 < web10: digit runs compare as numbers."""
    if name is None:
        return ((1, ''),)
    parts = re.split(r'(\d+)', name)
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in parts if part)


def progress_percent(progress: t.Any) -> t.Optional[float]:
    """The percentage a progress report says (its ``percent``, else ``current``/``total``), 0 to 100; None if none."""
    if not isinstance(progress, dict):
        return None
    percent = _number(progress.get('percent'))
    if percent is None:
        current = _number(progress.get('current'))
        total = _number(progress.get('total'))
        if current is None or total is None or total <= 0:
            return None
        percent = 100.0 * current / total
    return min(100.0, max(0.0, percent))


def shown_state(job: t.Mapping[str, t.Any]) -> str:
    """The colour of a job's bar: its final state, or 'uncollected' for a job launched and never collected."""
    state = job.get('state') or 'unknown'
    if state == 'not_started':
        return state
    if job.get('launched') and not job.get('collected') and not job.get('cleaned'):
        return 'uncollected'
    return state if state in SHOWN_STATES else 'unknown'


Template = t.List[t.Union[str, int]]


class _Strings(object):
    """The page's string table: each distinct string (or template) once."""

    def __init__(self) -> None:
        self.items = []  # type: t.List[t.Union[str, Template]]
        self._index = {}  # type: t.Dict[t.Union[str, t.Tuple[t.Union[str, int], ...]], int]

    def ref(self, text: t.Union[None, str, Template]) -> t.Optional[int]:
        if text is None:
            return None
        key = text if isinstance(text, str) else tuple(text)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.items)
            self.items.append(text)
        return index


def _templated(text: t.Optional[str], jid: str, host: t.Optional[str]) -> t.Union[None, str, Template]:
    """``text`` as a template when it holds the job's jid or host (see JID_PART), else as it is."""
    names = sorted((name for name in (jid, host) if name), key=len, reverse=True)
    if text is None or not names:
        return text
    pieces = re.split('(%s)' % '|'.join(re.escape(name) for name in names), text)
    if len(pieces) == 1:
        return text
    return [JID_PART if piece == jid else HOST_PART if piece == host else piece
            for index, piece in enumerate(pieces) if piece or index % 2]


class _DrawnJob(object):
    """One job as drawn: its times on the controller's clock, its marks and progress samples."""

    def __init__(self, host: t.Optional[str], jid: str, job: t.Mapping[str, t.Any],
                 events: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        self.host = host
        self.jid = jid
        self.job = job
        self.events = events
        self.start = None  # type: t.Optional[float]
        self.end = None    # type: t.Optional[float]
        self.row = 0
        self.marks = []     # type: t.List[t.Tuple[float, int]]
        self.progress = []  # type: t.List[t.Tuple[float, float]]

    def resolve_times(self) -> None:
        """Start and end from the summary, else from the events (the first event's epoch less its elapsed time)."""
        job = self.job
        epochs = [e for e in (_number(event.get('epoch')) for event in self.events) if e is not None]
        start = _number(job.get('start'))
        if start is None and self.events:
            first = self.events[0]
            epoch = _number(first.get('epoch'))
            elapsed = _number(first.get('elapsed')) or 0.0
            if epoch is not None:
                start = epoch - max(0.0, elapsed)
        duration = _number(job.get('duration'))
        if duration is None and job.get('finished'):
            # the elapsed time of a job's events stops at its end
            duration = next((e for e in (_number(event.get('elapsed')) for event in reversed(self.events)) if e is not None), None)
        if 'end' in job:
            end = _number(job.get('end'))
        elif job.get('finished') or (job.get('state') or 'unknown') not in ('running', 'unknown'):
            end = start + duration if (start is not None and duration is not None) else (epochs[-1] if epochs else None)
        else:
            end = None
        if start is None:
            start = end if end is not None else (epochs[0] if epochs else None)
        if start is not None and end is not None and end < start:
            end = start
        self.start = start
        self.end = end
        for event in self.events:
            epoch = _number(event.get('epoch'))
            if epoch is None:
                continue
            kind = MARK_OF_EVENT.get(str(event.get('event')))
            if kind is not None:
                self.marks.append((epoch, MARK_KINDS.index(kind)))
            percent = progress_percent(event.get('progress'))
            if percent is not None:
                self.progress.append((epoch, percent))
        self.progress.sort(key=lambda sample: sample[0])
        if self.progress and start is not None and self.progress[0][0] > start and self.progress[0][1] > 0:
            # progress starts at nothing when the job starts
            self.progress.insert(0, (start, 0.0))

    def extent(self, generated_at: float) -> t.Tuple[float, float]:
        """The span of the lane the bar takes, its marks included."""
        start = self.start if self.start is not None else generated_at
        end = self.end if self.end is not None else max(generated_at, start)
        for epoch, _kind in self.marks:
            end = max(end, epoch)
        return start, end


def _rel(value: t.Optional[float], origin: float) -> t.Optional[float]:
    return None if value is None else round(value - origin, TIME_DIGITS)


def _mappings(items: t.Iterable[object]) -> t.Iterator[t.Mapping[str, t.Any]]:
    """The items that are mappings (anything else a caller passed is skipped)."""
    for item in items:
        if isinstance(item, collections.abc.Mapping):
            yield item


def _group_events(events: t.Sequence[t.Mapping[str, t.Any]]
                  ) -> t.Tuple[t.Dict[t.Tuple[t.Optional[str], str], t.List[t.Mapping[str, t.Any]]],
                               t.List[t.Tuple[t.Optional[str], str]]]:
    by_job = {}  # type: t.Dict[t.Tuple[t.Optional[str], str], t.List[t.Mapping[str, t.Any]]]
    order = []   # type: t.List[t.Tuple[t.Optional[str], str]]
    for event in _mappings(events):
        if not event.get('jid'):
            continue
        key = (_text(event.get('host')), str(event.get('jid')))
        if key not in by_job:
            by_job[key] = []
            order.append(key)
        by_job[key].append(event)
    return by_job, order


def _job_from_events(events: t.Sequence[t.Mapping[str, t.Any]]) -> JsonDict:
    """A stand-in summary for a job only seen in events (the last event says its state)."""
    last = events[-1]
    first = events[0]
    unreaped = any(event.get('event') == 'unreaped' for event in events)
    return {
        'host': last.get('host'),
        'jid': last.get('jid'),
        'task': first.get('task'),
        'play': first.get('play'),
        'state': last.get('state') or 'unknown',
        'finished': bool(last.get('finished')),
        'msg': next((event.get('msg') for event in reversed(events) if event.get('msg')), None),
        'delegate_to': last.get('delegate_to'),
        'launched': unreaped,
        'collected': not unreaped,
        'cleaned': False,
    }


def page_data(jobs: t.Sequence[t.Mapping[str, t.Any]], events: t.Sequence[t.Mapping[str, t.Any]],
              title: str, generated_at: float) -> JsonDict:
    """The data the page draws, as embedded in it (see the module's docstring for its shape)."""
    now = _number(generated_at)
    if now is None:
        now = 0.0
    by_job, event_order = _group_events(events)
    drawn_jobs = []  # type: t.List[_DrawnJob]
    seen = set()  # type: t.Set[t.Tuple[t.Optional[str], str]]
    for job in _mappings(jobs):
        key = (_text(job.get('host')), str(job.get('jid') or ''))
        if key in seen:
            continue
        seen.add(key)
        drawn_jobs.append(_DrawnJob(key[0], key[1], job, by_job.get(key, [])))
    for key in event_order:
        if key not in seen:
            seen.add(key)
            drawn_jobs.append(_DrawnJob(key[0], key[1], _job_from_events(by_job[key]), by_job[key]))
    for drawn in drawn_jobs:
        drawn.resolve_times()

    times = [now]
    for drawn in drawn_jobs:
        start, end = drawn.extent(now)
        times.extend((start, end))
        times.extend(epoch for epoch, _percent in drawn.progress)
    origin = min(times)
    # bars closer than this (a few pixels at the page's first zoom) take separate rows, to be told apart
    gap = (max(times) - origin) * ROW_GAP

    lanes = {}  # type: t.Dict[t.Optional[str], t.List[_DrawnJob]]
    for drawn in drawn_jobs:
        lanes.setdefault(drawn.host, []).append(drawn)
    hosts = sorted(lanes, key=_natural_key)
    strings = _Strings()
    lane_rows = []  # type: t.List[t.List[t.Any]]
    job_rows = []  # type: t.List[t.List[t.Any]]
    for lane_index, host in enumerate(hosts):
        row_ends = []  # type: t.List[float]
        for drawn in sorted(lanes[host], key=lambda other: other.extent(now)[0]):
            start, end = drawn.extent(now)
            drawn.row = next((row for row, row_end in enumerate(row_ends) if row_end + gap <= start), len(row_ends))
            if drawn.row == len(row_ends):
                row_ends.append(end)
            else:
                row_ends[drawn.row] = end
            job_rows.append(_job_row(drawn, lane_index, origin, strings))
        lane_rows.append([strings.ref(host), max(1, len(row_ends))])
    return {
        'version': 1,
        'title': _text(title) or '',
        'generated_at': now,
        't0': origin,
        't1': round(max(times) - origin, TIME_DIGITS),
        'fields': list(JOB_FIELDS),
        'states': list(SHOWN_STATES),
        'mark_kinds': list(MARK_KINDS),
        'parts': {'jid': JID_PART, 'host': HOST_PART},
        'strings': strings.items,
        'lanes': lane_rows,
        'jobs': job_rows,
    }


def _job_row(drawn: _DrawnJob, lane: int, origin: float, strings: _Strings) -> t.List[t.Any]:
    job = drawn.job
    rc = job.get('rc')
    values = {
        'lane': lane,
        'row': drawn.row,
        'jid': drawn.jid,
        'start': _rel(drawn.start, origin),
        'end': _rel(drawn.end, origin),
        'duration': _number(job.get('duration')),
        'rc': rc if isinstance(rc, int) and not isinstance(rc, bool) else None,
        'polls': int(_number(job.get('polls')) or 0),
        'marks': [value for epoch, kind in drawn.marks for value in (round(epoch - origin, TIME_DIGITS), kind)],
        'progress': [value for epoch, percent in drawn.progress
                     for value in (round(epoch - origin, TIME_DIGITS), round(percent, PERCENT_DIGITS))],
    }  # type: JsonDict
    texts = {
        'task': _text(job.get('task')),
        'play': _text(job.get('play')),
        'state': _text(job.get('state')) or 'unknown',
        'shown': shown_state(job),
        'reason': _text(job.get('reason')),
        'msg': _templated(_text(job.get('msg')), drawn.jid, drawn.host),
        'cleanup_hint': _templated(_text(job.get('cleanup_hint')), drawn.jid, drawn.host),
        'delegate_to': _text(job.get('delegate_to')),
    }
    for name in INTERNED_FIELDS:
        values[name] = strings.ref(texts[name])
    return [values[name] for name in JOB_FIELDS]


def _json_default(value: t.Any) -> str:
    return str(value)


def embed_json(data: t.Any) -> str:
    """JSON for a ``<script type="application/json">`` element: no ``<``, ``>`` or ``&`` left to end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(',', ':'), allow_nan=False, default=_json_default)
    return text.replace('&', '\\u0026').replace('<', '\\u003c').replace('>', '\\u003e')


def _csp_hash(source: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(source.encode('utf-8')).digest()).decode('ascii')


def render(jobs: t.Sequence[t.Mapping[str, t.Any]], events: t.Sequence[t.Mapping[str, t.Any]],
           title: str, generated_at: float) -> str:
    """The whole page (str): the run's jobs as bars, one lane per host."""
    data = page_data(jobs, events, title, generated_at)
    policy = "default-src 'none'; script-src %s; style-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
        _csp_hash(_SCRIPT), _csp_hash(_STYLE))
    return _PAGE.format(
        policy=html.escape(policy),
        title=html.escape(data['title'] or 'async jobs'),
        style=_STYLE,
        data=embed_json(data),
        script=_SCRIPT,
    )


def write_timeline(path: str, jobs: t.Sequence[t.Mapping[str, t.Any]], events: t.Sequence[t.Mapping[str, t.Any]],
                   title: str, generated_at: float) -> None:
    """Write the page to ``path`` atomically (a temp file in the same directory, then a rename).

    Missing parent directories are created 0700; a new file is 0600, a replaced file keeps its mode.
    Raises OSError when it cannot.
    """
    page = render(jobs, events, title, generated_at).encode('utf-8')
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    make_private_dirs(directory)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(page)
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="asyncops.jobs.async_log">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<header id="top">
<h1 id="title">{title}</h1>
<div id="meta"></div>
<div id="controls">
<label>Hosts <input id="host-filter" type="search" placeholder="filter by host name" autocomplete="off"></label>
<label>Zoom <input id="zoom" type="range" min="0" max="60" value="0"></label>
<label title="draw the jobs of a host on one row, overlapping"><input id="one-row" type="checkbox"> one row per host</label>
<span id="shown-count"></span>
</div>
<div id="legend" role="group" aria-label="states (click to show or hide)"></div>
<div id="mark-legend"></div>
</header>
<main id="chart"><div id="grid"><div id="axis"><div class="label corner">host</div><div id="ticks" class="plot"></div></div>\
<div id="lanes"><div id="gridlines" class="plot"></div></div></div></main>
<aside id="details" hidden><button id="details-close" type="button" title="close (Esc)">&#215;</button>\
<h2 id="details-title"></h2><dl id="details-list"></dl><div id="details-progress"></div></aside>
<noscript><p class="noscript">This page draws its timeline with JavaScript; turn it on to see the jobs.</p></noscript>
<script id="timeline-data" type="application/json">{data}</script>
<script>{script}</script>
</body>
</html>
"""

_STYLE = """
:root{--label:190px;--row:16px;--plotw:1000px;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2329}
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{display:flex;flex-direction:column;background:#fff}
header{padding:8px 12px 6px;border-bottom:1px solid #d0d5da;background:#f6f8fa}
h1{font-size:16px;margin:0 0 2px;overflow-wrap:anywhere}
#meta{color:#4a545e;margin-bottom:6px}
#controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin-bottom:6px}
#controls input[type=search]{width:220px;padding:2px 6px}
#shown-count{color:#4a545e}
#legend,#mark-legend{display:flex;flex-wrap:wrap;gap:4px 6px;align-items:center}
#mark-legend{margin-top:4px;color:#4a545e;font-size:12px;gap:4px 14px}
.chip{display:inline-flex;gap:5px;align-items:center;border:1px solid #c3c9cf;border-radius:12px;padding:1px 9px 1px 6px;
background:#fff;font:inherit;cursor:pointer;color:inherit}
.chip[aria-pressed=false]{opacity:.45;text-decoration:line-through}
.chip .n{font-variant-numeric:tabular-nums;color:#4a545e}
.chip.empty{display:none}
.sw{display:inline-block;width:22px;height:10px;border-radius:2px;position:relative}
main{flex:1;overflow:auto;position:relative}
#grid{width:calc(var(--label) + var(--plotw) + 16px);padding-right:16px;position:relative;overflow-x:clip}
#axis{position:sticky;top:0;z-index:5;display:flex;height:24px;background:#fff;border-bottom:1px solid #c3c9cf}
.label{position:sticky;left:0;z-index:4;flex:none;width:var(--label);padding:0 8px;background:#fff;white-space:nowrap;
overflow:hidden;text-overflow:ellipsis;border-right:1px solid #d0d5da}
.corner{line-height:24px;color:#4a545e;z-index:6}
.plot{position:relative;flex:none;width:var(--plotw)}
#ticks{height:24px}
.tick{position:absolute;top:0;height:24px;border-left:1px solid #9aa3ad;padding-left:3px;font-size:11px;line-height:22px;
color:#4a545e;white-space:nowrap}
#lanes{position:relative}
#gridlines{position:absolute;top:0;bottom:0;left:var(--label);pointer-events:none}
.gl{position:absolute;top:0;bottom:0;border-left:1px solid #eef0f2}
.lane{display:flex;border-bottom:1px solid #e3e6e9;position:relative}
.lane:hover .label{background:#f2f6fb}
.lane .label{font-size:12px;padding-top:1px}
.bar{position:absolute;height:calc(var(--row) - 4px);min-width:4px;border-radius:2px;cursor:pointer;overflow:hidden}
.bar:hover,.bar.sel{outline:2px solid #111;outline-offset:1px;z-index:3}
.bar svg{position:absolute;inset:0;width:100%;height:100%;pointer-events:none}
.bar polyline{fill:none;stroke:#fff;stroke-width:1.5;opacity:.95}
.bar polygon{fill:#fff;opacity:.28}
.tail{position:absolute;height:0;border-top:1px dotted #8a939c;pointer-events:none}
.mk{position:absolute;pointer-events:none;z-index:2}
.tail-sample{display:inline-block;width:24px;border-top:1px dotted #4a545e;vertical-align:middle;margin-right:4px}
.mk.k-poll{width:2px;height:calc(var(--row) - 2px);background:#1d2329;margin-left:-1px}
.mk.k-retry{width:6px;height:6px;border-radius:50%;background:#fff;border:1.5px solid #1d2329;margin-left:-3px}
.mk.k-status{width:2px;height:calc(var(--row) - 2px);background:#0b5cad;margin-left:-1px}
.mk.k-wait{width:7px;height:7px;background:#1d2329;transform:rotate(45deg);margin-left:-3.5px}
.mk.k-kill{width:9px;height:9px;margin-left:-4.5px;background:linear-gradient(45deg,transparent 40%,#b00020 40% 60%,transparent 60%),
linear-gradient(-45deg,transparent 40%,#b00020 40% 60%,transparent 60%)}
.mk.k-cleanup{width:0;height:0;border-left:4px solid transparent;border-right:4px solid transparent;
border-top:7px solid #6b7480;margin-left:-4px}
#mark-legend .mk{position:relative;display:inline-block;vertical-align:middle;margin-right:4px;top:auto!important}
.s-succeeded{background:#2f9e44}
.s-failed{background:#d6336c}
.s-timeout{background:#f08c00}
.s-killed{background:#7048e8}
.s-lost{background:#5c3a21}
.s-running{background:repeating-linear-gradient(135deg,#1c7ed6 0 6px,#4dabf7 6px 12px)}
.s-uncollected{background:repeating-linear-gradient(135deg,#fab005 0 5px,#fff3bf 5px 10px);box-shadow:inset 0 0 0 1px #e67700}
.s-not_started{background:#fff;box-shadow:inset 0 0 0 1px #868e96;border:1px dashed #868e96}
.s-pruned{background:#adb5bd}
.s-unknown{background:#ced4da}
.s-uncollected polyline,.s-not_started polyline,.s-unknown polyline{stroke:#1d2329}
aside{position:fixed;right:12px;bottom:12px;width:380px;max-width:calc(100vw - 24px);max-height:60vh;overflow:auto;z-index:10;
background:#fff;border:1px solid #9aa3ad;border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.18);padding:8px 12px}
aside.left{right:auto;left:calc(var(--label) + 12px)}
aside.pinned{border-color:#1d2329;box-shadow:0 4px 20px rgba(0,0,0,.3)}
aside h2{font-size:14px;margin:0 24px 6px 0;overflow-wrap:anywhere}
#details-close{position:absolute;right:6px;top:4px;border:0;background:none;font-size:18px;cursor:pointer;display:none}
aside.pinned #details-close{display:block}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
dt{color:#4a545e}
dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}
#details-progress svg{width:100%;height:70px;margin-top:6px;background:#f6f8fa}
#details-progress polyline{fill:none;stroke:#0b5cad;stroke-width:2}
.noscript{padding:12px}
.hidden{display:none!important}
"""

_SCRIPT = r"""
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var LABELS = {succeeded: 'succeeded', failed: 'failed', timeout: 'time limit hit', killed: 'killed', lost: 'lost',
    running: 'still running', uncollected: 'never collected', not_started: 'not started (check mode)',
    pruned: 'pruned', unknown: 'unknown'};
  var MARK_LABELS = {poll: 'poll', retry: 'retry', status: 'status', wait: 'wait', kill: 'kill', cleanup: 'cleanup'};
  // pixels from the top of a bar to the top of a mark, to centre each shape on the bar
  var MARK_OFFSET = {poll: -2, status: -2, retry: 3, wait: 2, kill: 1, cleanup: 2};
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var F = {};
  data.fields.forEach(function (name, i) { F[name] = i; });
  var S = data.strings;
  var t1 = Math.max(data.t1, 0.001);
  var now = data.generated_at - data.t0;
  var hidden = {};
  var bars = [];
  var laneEls = [];
  var pinned = null;
  var root = document.documentElement;
  var rowPx = parseFloat(getComputedStyle(root).getPropertyValue('--row')) || 16;

  function str(i) { return i === null || i === undefined ? null : S[i]; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function pct(x) { return (100 * x / t1) + '%'; }
  // a string of the table, or a template: a list of strings and the numbers that stand for the job's jid and host
  function text(i, jid, host) {
    var s = str(i);
    if (s === null || typeof s === 'string') { return s; }
    return s.map(function (part) {
      return part === data.parts.jid ? jid : part === data.parts.host ? (host === null ? '' : host) : part;
    }).join('');
  }
  function fmtDur(s) {
    if (s === null || s === undefined || !isFinite(s)) { return '?'; }
    if (s < 60) { return (s < 10 ? s.toFixed(2).replace(/\.?0+$/, '') : s.toFixed(1).replace(/\.0$/, '')) + 's'; }
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
    if (sec === 60) { sec = 0; m += 1; }
    return (h ? h + 'h' : '') + (m ? m + 'm' : '') + (sec || (!h && !m) ? sec + 's' : '');
  }
  function fmtTime(rel) {
    if (rel === null || rel === undefined) { return null; }
    return new Date((data.t0 + rel) * 1000).toISOString().replace('T', ' ').replace(/\.(\d\d)\d*Z$/, '.$1 UTC');
  }

  function job(b) {
    var r = b.row, host = str(data.lanes[r[F.lane]][0]), jid = r[F.jid];
    return {host: host, jid: jid, task: str(r[F.task]), play: str(r[F.play]), state: str(r[F.state]),
      shown: str(r[F.shown]), start: r[F.start], end: r[F.end], duration: r[F.duration], rc: r[F.rc],
      reason: str(r[F.reason]), msg: text(r[F.msg], jid, host), polls: r[F.polls],
      cleanup_hint: text(r[F.cleanup_hint], jid, host), delegate_to: str(r[F.delegate_to]),
      marks: r[F.marks], progress: r[F.progress]};
  }

  function buildLegend() {
    var counts = {};
    data.jobs.forEach(function (r) { var s = S[r[F.shown]]; counts[s] = (counts[s] || 0) + 1; });
    var legend = document.getElementById('legend');
    data.states.forEach(function (s) {
      var chip = el('button', 'chip' + (counts[s] ? '' : ' empty'));
      chip.type = 'button';
      chip.dataset.state = s;
      chip.setAttribute('aria-pressed', 'true');
      chip.title = 'show or hide the jobs that are ' + LABELS[s];
      chip.appendChild(el('span', 'sw s-' + s));
      chip.appendChild(el('span', null, LABELS[s]));
      chip.appendChild(el('span', 'n', String(counts[s] || 0)));
      chip.addEventListener('click', function () {
        hidden[s] = !hidden[s];
        chip.setAttribute('aria-pressed', hidden[s] ? 'false' : 'true');
        applyFilters();
      });
      legend.appendChild(chip);
    });
    var marks = document.getElementById('mark-legend');
    data.mark_kinds.forEach(function (k) {
      var item = el('span');
      item.appendChild(el('span', 'mk k-' + k));
      item.appendChild(document.createTextNode(MARK_LABELS[k] || k));
      marks.appendChild(item);
    });
    var tail = el('span', null, 'from the end of a job to the check that saw it');
    tail.insertBefore(el('span', 'tail-sample'), tail.firstChild);
    marks.appendChild(tail);
  }

  function progressSvg(r, start, span, cls, withArea) {
    var p = r[F.progress];
    if (!p || p.length < 2) { return null; }
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 1000 100');
    svg.setAttribute('preserveAspectRatio', 'none');
    if (cls) { svg.setAttribute('class', cls); }
    var pts = [];
    for (var i = 0; i < p.length; i += 2) {
      var x = span > 0 ? Math.max(0, Math.min(1000, 1000 * (p[i] - start) / span)) : 1000;
      pts.push(x.toFixed(1) + ',' + (100 - p[i + 1]).toFixed(1));
    }
    if (withArea) {
      var area = document.createElementNS(NS, 'polygon');
      area.setAttribute('points', pts[0].split(',')[0] + ',100 ' + pts.join(' ') + ' ' + pts[pts.length - 1].split(',')[0] + ',100');
      svg.appendChild(area);
    }
    var line = document.createElementNS(NS, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(line);
    return svg;
  }

  function buildLanes() {
    var lanesEl = document.getElementById('lanes');
    var frag = document.createDocumentFragment();
    var plots = [];
    data.lanes.forEach(function (lane, i) {
      var host = str(lane[0]);
      var laneEl = el('div', 'lane');
      laneEl.dataset.host = host === null ? '' : host;
      var label = el('div', 'label', host === null ? '(no host)' : host);
      label.title = host === null ? '' : host;
      laneEl.appendChild(label);
      var plot = el('div', 'plot');
      laneEl.appendChild(plot);
      plots.push(plot);
      laneEls.push({el: laneEl, host: (host || '').toLowerCase(), bars: []});
      frag.appendChild(laneEl);
    });
    data.jobs.forEach(function (r, i) {
      var lane = r[F.lane], start = r[F.start] === null ? now : r[F.start];
      var end = r[F.end] === null ? Math.max(now, start) : r[F.end];
      var b = el('div', 'bar s-' + S[r[F.shown]]);
      b.style.left = pct(start);
      b.style.width = pct(Math.max(0, end - start));
      b.dataset.index = String(i);
      b.dataset.jid = r[F.jid];
      b.dataset.host = str(data.lanes[lane][0]) || '';
      b.dataset.state = S[r[F.state]];
      b.dataset.shown = S[r[F.shown]];
      var svg = progressSvg(r, start, end - start, null, true);
      if (svg) { b.appendChild(svg); b.dataset.progress = String(r[F.progress].length / 2); }
      var plot = plots[lane];
      plot.appendChild(b);
      var m = r[F.marks], last = end, items = [b], offsets = [0];
      for (var j = 0; j < m.length; j += 2) {
        var mk = el('span', 'mk k-' + data.mark_kinds[m[j + 1]]);
        mk.style.left = pct(m[j]);
        plot.appendChild(mk);
        items.push(mk);
        offsets.push(MARK_OFFSET[data.mark_kinds[m[j + 1]]] || 0);
        if (m[j] > last) { last = m[j]; }
      }
      if (last > end) {
        var tail = el('span', 'tail');
        tail.style.left = pct(end);
        tail.style.width = pct(last - end);
        plot.appendChild(tail);
        items.push(tail);
        offsets.push((rowPx - 4) / 2);
      }
      var rec = {index: i, row: r, el: b, items: items, offsets: offsets, lane: laneEls[lane]};
      bars.push(rec);
      laneEls[lane].bars.push(rec);
    });
    lanesEl.appendChild(frag);
    layout();
  }

  // each job on its own row of its lane (no overlap), or every job of a host on one row
  function layout() {
    var oneRow = document.getElementById('one-row').checked;
    laneEls.forEach(function (lane, i) {
      lane.el.style.height = ((oneRow ? 1 : data.lanes[i][1]) * rowPx + 2) + 'px';
    });
    bars.forEach(function (rec) {
      var top = (oneRow ? 0 : rec.row[F.row]) * rowPx + 3;
      rec.items.forEach(function (e, k) { e.style.top = (top + rec.offsets[k]) + 'px'; });
    });
  }

  function niceStep(span, px) {
    var target = span * 90 / Math.max(px, 1);
    var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) { if (steps[i] >= target) { return steps[i]; } }
    return Math.ceil(target / 86400) * 86400;
  }

  function buildAxis() {
    var ticks = document.getElementById('ticks'), lines = document.getElementById('gridlines');
    ticks.textContent = '';
    lines.textContent = '';
    var px = ticks.getBoundingClientRect().width;
    var step = niceStep(t1, px);
    for (var i = 0; i * step <= t1 + 1e-9; i++) {
      var x = i * step;
      var tk = el('div', 'tick', x === 0 ? '0s' : '+' + fmtDur(x));
      tk.style.left = pct(x);
      ticks.appendChild(tk);
      var gl = el('div', 'gl');
      gl.style.left = pct(x);
      lines.appendChild(gl);
    }
  }

  function setWidth() {
    var chart = document.getElementById('chart');
    var label = parseFloat(getComputedStyle(root).getPropertyValue('--label')) || 190;
    var base = Math.max(300, chart.clientWidth - label - 20);
    var zoom = Math.pow(2, Number(document.getElementById('zoom').value) / 10);
    var center = (chart.scrollLeft + chart.clientWidth / 2 - label) / Math.max(1, chart.scrollWidth - label);
    root.style.setProperty('--plotw', Math.round(base * zoom) + 'px');
    chart.scrollLeft = Math.max(0, center * (chart.scrollWidth - label) - chart.clientWidth / 2 + label);
    buildAxis();
  }

  function applyFilters() {
    var q = document.getElementById('host-filter').value.trim().toLowerCase();
    var shownBars = 0, shownLanes = 0;
    laneEls.forEach(function (lane) {
      var any = false;
      lane.bars.forEach(function (b) {
        var on = !hidden[S[b.row[F.shown]]];
        b.items.forEach(function (e) { e.classList.toggle('hidden', !on); });
        b.el.dataset.visible = on ? '1' : '0';
        if (on) { any = true; }
      });
      var on = any && (!q || lane.host.indexOf(q) !== -1);
      lane.el.classList.toggle('hidden', !on);
      if (on) {
        shownLanes += 1;
        lane.bars.forEach(function (b) { if (b.el.dataset.visible === '1') { shownBars += 1; } });
      }
    });
    document.getElementById('shown-count').textContent =
      shownBars + ' of ' + data.jobs.length + ' jobs, ' + shownLanes + ' of ' + data.lanes.length + ' hosts shown';
  }

  function row(dl, name, value) {
    if (value === null || value === undefined || value === '') { return; }
    dl.appendChild(el('dt', null, name));
    var dd = el('dd', null, String(value));
    dd.dataset.field = name;
    dl.appendChild(dd);
  }

  function showDetails(rec) {
    var j = job(rec), panel = document.getElementById('details'), dl = document.getElementById('details-list');
    document.getElementById('details-title').textContent = j.task === null ? '(unnamed task)' : j.task;
    dl.textContent = '';
    row(dl, 'task', j.task);
    row(dl, 'play', j.play);
    row(dl, 'host', j.delegate_to ? j.host + ' -> ' + j.delegate_to : j.host);
    row(dl, 'jid', j.jid);
    row(dl, 'state', LABELS[j.shown] === j.state || j.shown === j.state ? j.state :
      LABELS[j.shown] + ' (' + j.state + ')');
    row(dl, 'rc', j.rc);
    row(dl, 'reason', j.reason);
    row(dl, 'message', j.msg);
    row(dl, 'started', fmtTime(j.start));
    row(dl, 'ended', j.end === null ? (j.shown === 'not_started' ? null : 'not seen') : fmtTime(j.end));
    var dur = j.duration;
    if (dur === null && j.start !== null) { dur = (j.end === null ? now : j.end) - j.start; }
    row(dl, 'duration', fmtDur(dur) + (j.end === null && j.shown !== 'not_started' ? ' (until the end of the run)' : ''));
    var kinds = {};
    for (var i = 1; i < j.marks.length; i += 2) {
      var k = data.mark_kinds[j.marks[i]];
      kinds[k] = (kinds[k] || 0) + 1;
    }
    var parts = Object.keys(kinds).map(function (k) { return kinds[k] + ' ' + k; });
    row(dl, 'polls', String(j.polls) + (parts.length ? ' (' + parts.join(', ') + ')' : ''));
    if (j.progress.length) { row(dl, 'progress', j.progress[j.progress.length - 1] + '%'); }
    row(dl, 'cleanup', j.cleanup_hint);
    var prog = document.getElementById('details-progress');
    prog.textContent = '';
    var start = j.start === null ? now : j.start, end = j.end === null ? Math.max(now, start) : j.end;
    var last = j.progress.length ? Math.max(end, j.progress[j.progress.length - 2]) : end;
    var svg = progressSvg(rec.row, start, last - start, null, false);
    if (svg) { prog.appendChild(svg); }
    var box = rec.el.getBoundingClientRect();
    panel.classList.toggle('left', box.left + box.width / 2 > window.innerWidth / 2);
    panel.hidden = false;
  }

  function select(rec, pin) {
    if (pinned && pinned !== rec) { pinned.el.classList.remove('sel'); }
    pinned = pin ? rec : null;
    document.getElementById('details').classList.toggle('pinned', !!pin);
    if (pin) { rec.el.classList.add('sel'); }
    showDetails(rec);
  }

  function unpin() {
    if (pinned) { pinned.el.classList.remove('sel'); }
    pinned = null;
    var panel = document.getElementById('details');
    panel.classList.remove('pinned');
    panel.hidden = true;
  }

  function barOf(target) {
    var b = target && target.closest ? target.closest('.bar') : null;
    return b ? bars[Number(b.dataset.index)] : null;
  }

  function meta() {
    var text = data.lanes.length + (data.lanes.length === 1 ? ' host, ' : ' hosts, ') + data.jobs.length +
      (data.jobs.length === 1 ? ' job' : ' jobs');
    if (data.jobs.length) { text += ', from ' + fmtTime(0) + ' for ' + fmtDur(data.t1); }
    text += '; written ' + fmtTime(now);
    document.getElementById('meta').textContent = text;
  }

  meta();
  buildLegend();
  buildLanes();
  setWidth();
  applyFilters();
  var lanesEl = document.getElementById('lanes');
  lanesEl.addEventListener('mouseover', function (e) {
    var rec = barOf(e.target);
    if (rec && !pinned) { showDetails(rec); }
  });
  lanesEl.addEventListener('mouseleave', function () {
    if (!pinned) { document.getElementById('details').hidden = true; }
  });
  lanesEl.addEventListener('click', function (e) {
    var rec = barOf(e.target);
    if (rec) { select(rec, true); } else { unpin(); }
  });
  document.getElementById('details-close').addEventListener('click', unpin);
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') { unpin(); } });
  document.getElementById('host-filter').addEventListener('input', applyFilters);
  document.getElementById('zoom').addEventListener('input', setWidth);
  document.getElementById('one-row').addEventListener('change', layout);
  window.addEventListener('resize', setWidth);

  window.asyncopsTimeline = {
    data: data,
    bars: function () {
      return bars.map(function (rec) {
        var j = job(rec);
        return {host: j.host, jid: j.jid, task: j.task, state: j.state, shown: j.shown,
          visible: !rec.el.classList.contains('hidden') && !rec.lane.el.classList.contains('hidden')};
      });
    },
    job: function (index) { return job(bars[index]); },
    select: function (index) { select(bars[index], true); }
  };
  document.body.dataset.ready = '1';
}());
"""
