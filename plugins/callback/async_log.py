# -*- coding: utf-8 -*-
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: async_log
type: notification
author:
  - asyncops.jobs developers (@asyncops)
short_description: Log every async job event to a JSON-lines file and the console
version_added: 0.1.0
description:
  - Records every event of background (async) jobs as one JSON object per line in a log file, shows a concise
    line per poll on the console (with a progress bar when the job reports progress), and prints a recap of every
    job at the end of the playbook with a warning that names each job that was started and never collected.
  - "Events: V(started) (a task with O(ignore:poll=0), or a job launched by M(asyncops.jobs.run) or
    M(asyncops.jobs.download)); V(poll) (each poll made by the built-in C(async)/C(poll) keywords);
    V(async_ok) and V(async_failed) (the end of a polled task, including the synthesized
    C(async task did not complete within the requested time) failure, logged with C(state=timeout));
    V(retry) (each retry of an C(until) loop around M(ansible.builtin.async_status) or M(asyncops.jobs.async_status),
    tied to the job id it polls); V(status) (the final result of a status task); V(wait), V(kill), V(cleanup) and
    V(prune) (the modes of M(asyncops.jobs.async_status)); V(lost) (a job reported lost); V(unreaped) (written at
    the end of the playbook for each job that was started and never collected)."
  - "Each line holds: C(time) (ISO 8601, UTC), C(epoch), C(event), C(playbook), C(play), C(task), C(task_uuid),
    C(action), C(host), C(delegate_to), C(jid), C(attempt), C(elapsed) (seconds since the job started, on the
    job's own clock: the controller's start time of the launching task, corrected by the job record where it says
    more), C(progress), C(finished), C(failed), C(state), C(msg), C(mode), C(run_id) (one per C(ansible-playbook) run)
    and C(pid)."
  - The log file is opened with C(O_APPEND) and every line is written with a single C(write) call, so several
    runs can append to the same file at once. A new file is created with mode C(0600).
  - Works beside any stdout callback. The plugin only reads results; it never changes them.
requirements:
  - Enable the callback with O(ignore:callbacks_enabled=asyncops.jobs.async_log) in C(ansible.cfg)
    or E(ANSIBLE_CALLBACKS_ENABLED).
notes:
  - Results of tasks with C(no_log) are censored by ansible-core before callbacks see them, so the plugin cannot
    see the job ID of a job started by such a task.
  - Variables are read from extra vars (C(-e)) and from the C(vars) of a play, at the start of each play.
seealso:
  - module: asyncops.jobs.async_status
  - module: ansible.builtin.async_status
  - ref: playbooks_async
    description: Asynchronous actions and polling.
options:
  log_path:
    description:
      - The JSON-lines file that receives one line per event.
      - Missing parent directories are created with mode C(0700).
    type: path
    default: ~/.ansible/async_log.jsonl
    ini:
      - section: callback_async_log
        key: log_path
    env:
      - name: ASYNCOPS_ASYNC_LOG_PATH
    vars:
      - name: asyncops_async_log_path
  console:
    description:
      - Print one line per job event (start, poll, retry, end, wait, kill, cleanup, prune, lost) on the console.
    type: bool
    default: true
    ini:
      - section: callback_async_log
        key: console
    env:
      - name: ASYNCOPS_ASYNC_LOG_CONSOLE
    vars:
      - name: asyncops_async_log_console
  progress_bar:
    description:
      - Draw a text progress bar in console lines when the job reports its progress as a percentage or as
        done/total.
      - When disabled, the percentage, done/total, rate and ETA are still printed as text.
    type: bool
    default: true
    ini:
      - section: callback_async_log
        key: progress_bar
    env:
      - name: ASYNCOPS_ASYNC_LOG_PROGRESS_BAR
    vars:
      - name: asyncops_async_log_progress_bar
  progress_bar_width:
    description:
      - Width of the progress bar, in characters.
    type: int
    default: 20
    ini:
      - section: callback_async_log
        key: progress_bar_width
    env:
      - name: ASYNCOPS_ASYNC_LOG_PROGRESS_BAR_WIDTH
    vars:
      - name: asyncops_async_log_progress_bar_width
  quiet_without_progress:
    description:
      - At verbosity 0, print no console line for jobs that report no progress. Warnings (timeout, lost) are
        still printed, and the log file still receives every event.
    type: bool
    default: false
    ini:
      - section: callback_async_log
        key: quiet_without_progress
    env:
      - name: ASYNCOPS_ASYNC_LOG_QUIET_WITHOUT_PROGRESS
    vars:
      - name: asyncops_async_log_quiet_without_progress
  console_stream:
    description:
      - Where console lines and the recap are printed.
      - V(auto) prints to stderr when the stdout callback writes JSON (its name ends with C(json) or C(jsonl)),
        so that its output stays parseable, and to stdout otherwise.
    type: str
    default: auto
    choices: [auto, stdout, stderr]
    ini:
      - section: callback_async_log
        key: console_stream
    env:
      - name: ASYNCOPS_ASYNC_LOG_CONSOLE_STREAM
    vars:
      - name: asyncops_async_log_console_stream
  recap:
    description:
      - Print a table of every job seen (host, task, job ID, state, duration, polls) at the end of the playbook.
    type: bool
    default: true
    ini:
      - section: callback_async_log
        key: recap
    env:
      - name: ASYNCOPS_ASYNC_LOG_RECAP
    vars:
      - name: asyncops_async_log_recap
  unreaped_warning:
    description:
      - At the end of the playbook, warn about each job that was started and never collected (no final status was
        seen and no cleanup was done), and print the M(asyncops.jobs.async_status) task that cleans it up.
    type: bool
    default: true
    ini:
      - section: callback_async_log
        key: unreaped_warning
    env:
      - name: ASYNCOPS_ASYNC_LOG_UNREAPED_WARNING
    vars:
      - name: asyncops_async_log_unreaped_warning
"""

import datetime
import json
import os
import threading
import time
import uuid

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

from ansible.module_utils.common.text.converters import to_text


STATUS_ACTIONS = frozenset((
    'async_status',
    'ansible.builtin.async_status',
    'ansible.legacy.async_status',
    'asyncops.jobs.async_status',
))
ASYNCOPS_STATUS_ACTIONS = frozenset(('asyncops.jobs.async_status',))
KNOWN_STATES = frozenset(('running', 'succeeded', 'failed', 'timeout', 'killed', 'lost'))
MODE_EVENTS = {
    'status': 'status',
    'wait': 'wait',
    'kill': 'kill',
    'cleanup': 'cleanup',
    'prune': 'prune',
    'list': 'list',
}
CONTROLLER_TIMEOUT_MSG = 'async task did not complete within the requested time - %ss'
MSG_MAX = 2000
# Seconds of disagreement tolerated between the controller's clock and the job record's.
CLOCK_TOLERANCE = 2.0
EVENT_FIELDS = (
    'time', 'epoch', 'event', 'playbook', 'play', 'task', 'task_uuid', 'action', 'host', 'delegate_to',
    'jid', 'attempt', 'elapsed', 'progress', 'finished', 'failed', 'state', 'msg', 'mode', 'run_id', 'pid',
)


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def is_template(value):
    """True for a string that still holds Jinja2 (an untemplated task argument)."""
    return isinstance(value, str) and ('{{' in value or '{%' in value)


def as_bool(value):
    """Truthiness of ``finished``/``failed``/``started`` fields, which may be bools, 0/1 or strings."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'true', 'yes', 'on', 'y', 't')
    return bool(value)


def as_number(value):
    """A float for ints, floats and numeric strings; None otherwise (bools are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def literal(value):
    """The value if it is a plain (non-template) scalar string, else None."""
    if isinstance(value, str) and value and not is_template(value):
        return value
    return None


def iso_time(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec='milliseconds')


def truncate(text, limit=MSG_MAX):
    if text is None:
        return None
    text = to_text(text, errors='surrogate_or_replace')
    if len(text) > limit:
        return text[:limit - 3] + '...'
    return text


def result_msg(result):
    if not isinstance(result, dict):
        return None
    msg = result.get('msg')
    if msg in (None, '') and as_bool(result.get('failed')):
        msg = result.get('stderr') or result.get('module_stderr')
    if msg in (None, ''):
        return None
    if not isinstance(msg, str):
        try:
            msg = json.dumps(msg, default=str)
        except (TypeError, ValueError):
            msg = to_text(msg)
    return truncate(msg)


def plain_copy(value, depth=0):
    """A JSON-friendly deep copy of ``value`` (never the same objects as the result)."""
    if depth > 8:
        return to_text(value)
    if isinstance(value, dict):
        return dict((to_text(k), plain_copy(v, depth + 1)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain_copy(v, depth + 1) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return to_text(value)


def accessor(result):
    """(host name, task, result dict) of a callback result on every supported core.

    ansible-core 2.19+ passes a ``CallbackTaskResult`` (``.host``, ``.task``, ``.result``);
    2.17 and 2.18 pass a ``TaskResult`` (``._host``, ``._task``, ``._result``).
    """
    host = getattr(result, 'host', None)
    if host is None:
        host = getattr(result, '_host', None)
    task = getattr(result, 'task', None)
    if task is None:
        task = getattr(result, '_task', None)
    res = None
    if hasattr(type(result), 'result') or 'result' in getattr(result, '__dict__', {}):
        res = result.result
    if res is None:
        res = getattr(result, '_result', None)
    if res is None:
        res = {}
    if host is not None and hasattr(host, 'get_name'):
        host_name = host.get_name()
    else:
        host_name = to_text(host) if host is not None else None
    return host_name, task, res


class TaskInfo(object):
    """What the tracker needs to know of a task: plain values, built from a Task or by hand in tests."""

    __slots__ = ('name', 'uuid', 'action', 'args', 'async_val', 'poll', 'delegate_to', 'become', 'become_user')

    def __init__(self, name=None, uuid=None, action=None, args=None, async_val=0, poll=None,
                 delegate_to=None, become=None, become_user=None):
        self.name = name
        self.uuid = uuid
        self.action = action
        self.args = dict(args or {})
        self.async_val = async_val or 0
        self.poll = poll
        self.delegate_to = delegate_to
        self.become = become
        self.become_user = become_user

    @classmethod
    def from_task(cls, task):
        if task is None:
            return cls()
        if isinstance(task, TaskInfo):
            return task

        def attr(name, default=None):
            try:
                return getattr(task, name, default)
            except Exception:  # pylint: disable=broad-except
                return default

        name = None
        try:
            name = task.get_name()
        except Exception:  # pylint: disable=broad-except
            name = attr('name')
        raw_args = attr('args') or {}
        args = {}
        if isinstance(raw_args, dict):
            for key in ('jid', 'jids', 'mode', 'cleanup', 'timeout', 'wait_for'):
                if key in raw_args:
                    args[key] = plain_copy(raw_args[key])
        async_val = attr('async_val', 0)
        poll = attr('poll')
        become = attr('become')
        become_user = literal(attr('become_user'))
        return cls(
            name=to_text(name) if name is not None else None,
            uuid=attr('_uuid'),
            action=attr('action'),
            args=args,
            async_val=async_val if isinstance(async_val, int) else (int(as_number(async_val) or 0)),
            poll=poll if isinstance(poll, int) else (None if as_number(poll) is None else int(as_number(poll))),
            delegate_to=literal(attr('delegate_to')),
            become=become if isinstance(become, bool) else None,
            become_user=become_user,
        )

    @property
    def is_status(self):
        return self.action in STATUS_ACTIONS

    @property
    def is_asyncops_status(self):
        return self.action in ASYNCOPS_STATUS_ACTIONS

    @property
    def is_polled_async(self):
        return bool(self.async_val) and (self.poll is None or self.poll > 0)


# ---------------------------------------------------------------------------
# the job model
# ---------------------------------------------------------------------------

def record_state(rec):
    """The job state a status or job record reports, or None."""
    if not isinstance(rec, dict):
        return None
    state = rec.get('state')
    if state in KNOWN_STATES:
        return state
    block = rec.get('asyncops')
    if isinstance(block, dict) and block.get('state') in KNOWN_STATES:
        return block.get('state')
    if 'finished' in rec or 'started' in rec:
        if as_bool(rec.get('finished')):
            if rec.get('msg') == 'Timeout exceeded':
                return 'timeout'
            return 'failed' if as_bool(rec.get('failed')) else 'succeeded'
        if as_bool(rec.get('started')):
            return 'running'
    return None


class Job(object):
    """One job on one host, as the controller has seen it."""

    def __init__(self, host, jid):
        self.host = host
        self.jid = jid
        self.task = None            # TaskInfo of the launching task (or first task seen with the job)
        self.play = None
        self.launched = False       # started in this run (poll: 0 start or polled task)
        self.launch = None          # 'poll0', 'polled', 'job'
        self.ctrl_start = None      # controller time the launching task started on the host
        self.record_start = None    # asyncops.started_at from the record
        self.record_end = None      # asyncops.ended_at from the record
        self.target_elapsed = None  # last elapsed computed on the target (asyncops.jobs.async_status)
        self.ended = None           # controller time the end was seen
        self.state = None
        self.finished = False
        self.failed = False
        self.collected = False      # a final status was seen
        self.cleaned = False        # the record was removed (cleanup, prune, or built-in poll)
        self.checks = 0             # status checks (built-in polls, retries, status/wait calls)
        self.polls = 0              # built-in poll events
        self.progress = None
        self.progress_seen = False
        self.progress_time = None   # controller time the current progress sample was seen
        self.prev_sample = None     # (current, time) of the previous, different progress sample
        self.msg = None
        self.results_file = None
        self.delegate_to = None
        self.last_event = None

    def start_time(self, now):
        """The job's start on the controller's clock, corrected by the record where it says more."""
        rec = self.record_start
        ctrl = self.ctrl_start
        if rec is not None:
            if ctrl is None:
                return rec if rec <= now + CLOCK_TOLERANCE else None
            if ctrl - CLOCK_TOLERANCE <= rec <= now + CLOCK_TOLERANCE:
                return rec
        return ctrl

    def elapsed(self, now):
        """Seconds since the job started, frozen at its end; None when the start is unknown.

        The record's own times win (start and end, or the elapsed time the target computed);
        otherwise the controller's clock from the (corrected) start to the end seen, or to ``now``.
        """
        if self.record_start is not None and self.record_end is not None and self.record_end >= self.record_start:
            return self.record_end - self.record_start
        if self.target_elapsed is not None:
            return self.target_elapsed
        start = self.start_time(now)
        if start is None:
            return None
        end = self.ended if self.ended is not None else now
        return max(0.0, end - start)

    @property
    def needs_reaping(self):
        return self.launched and not self.collected and not self.cleaned

    @property
    def may_be_running(self):
        return not self.finished

    def summary(self, now):
        elapsed = self.elapsed(now)
        return {
            'host': self.host,
            'jid': self.jid,
            'task': self.task.name if self.task else None,
            'task_uuid': self.task.uuid if self.task else None,
            'play': self.play,
            'state': self.state or 'unknown',
            'duration': None if elapsed is None else round(elapsed, 3),
            'polls': self.checks,
            'launched': self.launched,
            'collected': self.collected,
            'cleaned': self.cleaned,
            'finished': self.finished,
            'failed': self.failed,
            'may_be_running': self.may_be_running,
            'delegate_to': self.delegate_to,
            'become': self.task.become if self.task else None,
            'become_user': self.task.become_user if self.task else None,
            'results_file': self.results_file,
            'progress_seen': self.progress_seen,
        }


class JobTracker(object):
    """Turns callback results into event dicts and keeps the state of every job seen.

    Pure logic: no display, no file. Every public method takes the lock, so results arriving from
    the strategy's results thread and from the main thread are serialized.
    """

    def __init__(self, clock=None, run_id=None):
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self._jobs = {}              # (host, jid) -> Job
        self._order = []             # keys in first-seen order
        self._running = {}           # host -> (TaskInfo, controller start time)
        self._last_end = {}          # (host, task uuid) -> controller time the last job of that task ended
        self._task_checks = {}       # (host, task uuid, jid) -> status checks made by that task
        self.playbook = None
        self.play = None
        self.run_id = run_id or uuid.uuid4().hex
        self.pid = os.getpid()

    # -- context ---------------------------------------------------------
    def set_playbook(self, name):
        with self._lock:
            self.playbook = name

    def set_play(self, name):
        with self._lock:
            self.play = name

    def task_started(self, host, task, now=None):
        """A task starts on a host (``v2_runner_on_start``): the launching time of any job it starts."""
        info = TaskInfo.from_task(task)
        with self._lock:
            self._running[host] = (info, self._now(now))

    # -- queries -----------------------------------------------------------
    def jobs(self, now=None):
        with self._lock:
            now = self._now(now)
            return [self._jobs[key].summary(now) for key in self._order]

    def unreaped(self, now=None):
        with self._lock:
            now = self._now(now)
            return [self._jobs[key].summary(now) for key in self._order if self._jobs[key].needs_reaping]

    def get_job(self, host, jid):
        with self._lock:
            return self._jobs.get((host, jid))

    # -- events ------------------------------------------------------------
    def process(self, kind, host, task, result, now=None):
        """Events (list of dicts) for one callback.

        ``kind`` is one of ``ok``, ``failed``, ``item_ok``, ``item_failed``, ``retry``, ``poll``,
        ``async_ok``, ``async_failed``. ``task`` is a Task or a TaskInfo; ``result`` is never modified.
        """
        if not isinstance(result, dict):
            return []
        info = TaskInfo.from_task(task)
        with self._lock:
            now = self._now(now)
            if kind == 'poll':
                return self._on_poll(host, info, result, now)
            if kind in ('async_ok', 'async_failed'):
                return self._on_async_end(kind, host, info, result, now)
            if kind in ('ok', 'failed') and isinstance(result.get('results'), list):
                # the summary of a loop: every item was seen on its own
                return []
            if info.is_status:
                return self._on_status(kind, host, info, result, now)
            if kind == 'retry':
                return []
            if info.is_polled_async:
                # the end of a polled task was reported by async_ok/async_failed already
                return []
            jid = result.get('ansible_job_id')
            if jid and as_bool(result.get('started')) and not as_bool(result.get('finished')):
                return self._on_start(host, info, result, now)
            return []

    def end_events(self, now=None):
        """One ``unreaped`` event per job started and never collected (for the log, at the end)."""
        with self._lock:
            now = self._now(now)
            events = []
            for key in self._order:
                job = self._jobs[key]
                if job.needs_reaping:
                    events.append(self._event('unreaped', job, now, task=job.task, msg=self._unreaped_msg(job)))
            return events

    # -- internals ---------------------------------------------------------
    def _now(self, now):
        return self._clock() if now is None else now

    def _job(self, host, jid):
        key = (host, jid)
        job = self._jobs.get(key)
        if job is None:
            job = Job(host, jid)
            job.play = self.play
            self._jobs[key] = job
            self._order.append(key)
        return job

    def _launching(self, host, fallback):
        running = self._running.get(host)
        if running is None:
            return fallback, None
        return running

    @staticmethod
    def _unreaped_msg(job):
        if job.finished:
            return 'job record left on the host: never collected'
        if job.state == 'timeout':
            return 'the controller stopped waiting; the job may still be running'
        return 'no final status seen: the job may still be running'

    def _absorb(self, job, rec, now, info=None):
        """Update a job from a status/job record; returns the progress dict (a copy) if any."""
        block = rec.get('asyncops')
        if isinstance(block, dict):
            started_at = as_number(block.get('started_at'))
            if started_at is not None:
                job.record_start = started_at
            ended_at = as_number(block.get('ended_at'))
            if ended_at is not None:
                job.record_end = ended_at
        if isinstance(block, dict) or (info is not None and info.is_asyncops_status):
            # top-level ``elapsed`` is the job's time as computed on the target by asyncops.jobs.async_status
            # (other modules' ``elapsed``, e.g. of wait_for or uri, mean something else)
            job.target_elapsed = as_number(rec.get('elapsed'))
        if isinstance(rec.get('results_file'), str):
            job.results_file = rec['results_file']
        progress = rec.get('progress')
        if isinstance(progress, dict):
            progress = plain_copy(progress)
            prev = job.progress
            if prev is not None and (prev.get('updated_at') != progress.get('updated_at')
                                     or prev.get('current') != progress.get('current')):
                prev_current = as_number(prev.get('current'))
                prev_time = as_number(prev.get('updated_at')) or job.progress_time
                if prev_current is not None and prev_time is not None:
                    job.prev_sample = (prev_current, prev_time)
            job.progress = progress
            job.progress_time = now
            job.progress_seen = True
            progress = plain_copy(progress)  # the event's own copy
        else:
            progress = None
        dv = rec.get('_ansible_delegated_vars')
        if isinstance(dv, dict):
            delegated = literal(dv.get('ansible_delegated_host')) or literal(dv.get('ansible_host'))
            if delegated and delegated != job.host:
                job.delegate_to = delegated
        return progress

    def _set_state(self, job, state, finished, failed, now, msg=None):
        job.state = state
        if finished and not job.finished:
            job.finished = True
            if job.ended is None:
                job.ended = now
        job.failed = bool(failed)
        if msg is not None:
            job.msg = msg

    def _event(self, name, job, now, task=None, attempt=None, progress=None, finished=None, failed=None,
               msg=None, mode=None, jid=None, host=None, elapsed='auto'):
        task = task or (job.task if job else None)
        if elapsed == 'auto':
            elapsed = job.elapsed(now) if job else None
        event = {
            'time': iso_time(now),
            'epoch': round(now, 6),
            'event': name,
            'playbook': self.playbook,
            'play': self.play,
            'task': task.name if task else None,
            'task_uuid': task.uuid if task else None,
            'action': task.action if task else None,
            'host': job.host if job else host,
            'delegate_to': (job.delegate_to if job else None) or (task.delegate_to if task else None),
            'jid': job.jid if job else jid,
            'attempt': attempt,
            'elapsed': None if elapsed is None else round(elapsed, 3),
            'progress': progress,
            'finished': job.finished if (job and finished is None) else bool(finished),
            'failed': job.failed if (job and failed is None) else bool(failed),
            'state': job.state if job else None,
            'msg': msg,
            'mode': mode,
            'run_id': self.run_id,
            'pid': self.pid,
        }
        if job is not None:
            job.last_event = name
        return event

    def _on_start(self, host, info, result, now):
        jid = to_text(result['ansible_job_id'])
        job = self._job(host, jid)
        running, started = self._launching(host, info)
        if running is not None and running.uuid == info.uuid and started is not None:
            job.ctrl_start = started
        else:
            job.ctrl_start = now
        job.task = info
        job.play = self.play
        job.launched = True
        job.launch = 'job' if 'pid' in result or isinstance(result.get('asyncops'), dict) else 'poll0'
        if info.delegate_to:
            job.delegate_to = info.delegate_to
        progress = self._absorb(job, result, now, info)
        state = record_state(result) or 'running'
        if state == 'succeeded' and not as_bool(result.get('finished')):
            state = 'running'
        self._set_state(job, state, False, False, now)
        return [self._event('started', job, now, task=info, progress=progress, finished=False, failed=False,
                            msg=result_msg(result))]

    def _job_for_polled_task(self, host, jid, info, now):
        """The job of a task that uses ``async: N, poll: M``; its first event may be a poll or the end."""
        job = self._job(host, jid)
        if not job.launched:
            launching, started = self._launching(host, info)
            if launching is None or launching.is_status or not launching.async_val:
                launching = info if (info and not info.is_status) else launching
            job.task = launching
            job.play = self.play
            job.launched = True
            job.launch = 'polled'
            start = started if started is not None else now
            if launching is not None:
                last_end = self._last_end.get((host, launching.uuid))
                if last_end is not None and last_end > start:
                    # a loop: this item's job started when the previous item's job ended
                    start = last_end
            job.ctrl_start = start
            if launching is not None and launching.delegate_to:
                job.delegate_to = launching.delegate_to
        return job

    def _on_poll(self, host, info, result, now):
        jid = result.get('ansible_job_id')
        if not jid:
            return []
        jid = to_text(jid)
        job = self._job_for_polled_task(host, jid, None, now)
        if job.task is None:
            job.task = info
        progress = self._absorb(job, result, now, info)
        job.polls += 1
        job.checks += 1
        state = record_state(result) or 'running'
        finished = as_bool(result.get('finished'))
        self._set_state(job, state, finished, as_bool(result.get('failed')), now)
        return [self._event('poll', job, now, attempt=job.polls, progress=progress, finished=finished,
                            failed=as_bool(result.get('failed')), msg=result_msg(result))]

    def _on_async_end(self, kind, host, info, result, now):
        async_result = result.get('async_result')
        rec = result
        if isinstance(async_result, dict) and not result.get('ansible_job_id'):
            rec = async_result
        jid = rec.get('ansible_job_id') or result.get('ansible_job_id')
        if not jid:
            return []
        jid = to_text(jid)
        job = self._job_for_polled_task(host, jid, info, now)
        if job.task is None or job.task.is_status:
            job.task = info
        progress = self._absorb(job, rec, now, info)
        msg = result_msg(result)
        core_msg = None
        controller_timeout = (kind == 'async_failed' and isinstance(async_result, dict)
                              and not as_bool(async_result.get('finished')))
        if controller_timeout:
            # the controller gave up polling; the record stays on the host and the job may still run.
            # (ansible-core 2.19+ words this failure "async task produced unparsable results".)
            expected = CONTROLLER_TIMEOUT_MSG % (info.async_val if info.async_val else '?')
            if msg != expected:
                core_msg = msg
                msg = expected
            job.ended = now
            self._set_state(job, 'timeout', False, True, now, msg=msg)
        else:
            job.checks += 1
            state = record_state(rec)
            failed = kind == 'async_failed' or as_bool(rec.get('failed'))
            if state in (None, 'running', 'succeeded'):
                state = 'failed' if failed else 'succeeded'
            self._set_state(job, state, True, failed, now, msg=msg)
            job.collected = True
            # ansible-core removes the record of a polled job that finished
            job.cleaned = True
        if job.task is not None and job.task.uuid is not None:
            self._last_end[(host, job.task.uuid)] = now
        event = self._event(kind, job, now, task=info if not info.is_status else job.task, attempt=job.checks or None,
                            progress=progress, finished=job.finished, failed=job.failed, msg=msg)
        if core_msg is not None:
            event['core_msg'] = core_msg
        return [event]

    def _status_mode(self, info, result):
        mode = literal(info.args.get('mode'))
        if mode in MODE_EVENTS:
            return mode
        if isinstance(result.get('removed'), list):
            return 'prune'
        if 'killed' in result:
            return 'kill'
        if 'erased' in result and 'results_file' not in result:
            return 'cleanup'
        return 'status'

    def _on_status(self, kind, host, info, result, now):
        mode = self._status_mode(info, result)
        events = []
        if mode == 'prune':
            removed = result.get('removed') if isinstance(result.get('removed'), list) else []
            for jid in removed:
                jid = to_text(jid.get('ansible_job_id') if isinstance(jid, dict) else jid)
                job = self._job(host, jid)
                if job.task is None:
                    job.task = info
                job.cleaned = True
                job.collected = True
                if job.state is None:
                    job.state = 'pruned'
                events.append(self._event('prune', job, now, task=info, msg=result_msg(result), mode=mode,
                                          finished=job.finished, failed=job.failed))
            if not removed:
                events.append(self._event('prune', None, now, task=info, host=host, msg=result_msg(result) or 'nothing to prune',
                                          mode=mode, finished=False, failed=as_bool(result.get('failed')),
                                          elapsed=None))
            return events

        records = result.get('jobs') if isinstance(result.get('jobs'), list) else None
        if records is None:
            records = [result]
        for rec in records:
            if not isinstance(rec, dict):
                continue
            jid = rec.get('ansible_job_id')
            if not jid and len(records) == 1:
                jid = literal(info.args.get('jid'))
            if not jid:
                continue
            jid = to_text(jid)
            events.extend(self._status_record(kind, host, info, result, rec, jid, mode, now))
        return events

    def _status_record(self, kind, host, info, result, rec, jid, mode, now):
        job = self._job(host, jid)
        if job.task is None:
            job.task = info
            job.play = self.play
        if job.state == 'timeout' and not job.finished:
            # the controller gave up on it, but the job went on: its clock runs again
            job.ended = None
        progress = self._absorb(job, rec, now, info)
        if info.delegate_to and not job.delegate_to:
            job.delegate_to = info.delegate_to
        msg = result_msg(rec) or (result_msg(result) if rec is not result else None)
        state = record_state(rec)
        finished = as_bool(rec.get('finished'))
        failed = as_bool(rec.get('failed')) or (rec is result and kind in ('failed', 'item_failed'))

        if mode == 'list':
            if state == 'lost':
                self._set_state(job, 'lost', True, True, now, msg=msg)
                job.collected = True
                return [self._event('lost', job, now, task=info, progress=progress, mode=mode, msg=msg,
                                    finished=True, failed=True)]
            if state:
                self._set_state(job, state, finished, failed and finished, now)
            return []

        if mode == 'cleanup':
            if not failed or msg == 'could not find job':
                job.cleaned = True
                job.collected = True
            if state == 'lost':
                self._set_state(job, 'lost', True, True, now, msg=msg)
            return [self._event('cleanup', job, now, task=info, progress=progress, mode=mode, msg=msg,
                                finished=job.finished, failed=as_bool(rec.get('failed')))]

        check_key = (host, info.uuid, jid)
        self._task_checks[check_key] = self._task_checks.get(check_key, 0) + 1
        attempt = self._task_checks[check_key]
        if kind != 'retry':
            # the next run of this task starts counting again
            self._task_checks.pop(check_key, None)
        job.checks += 1

        if mode == 'kill':
            killed = as_bool(rec.get('killed')) or state == 'killed'
            if killed:
                self._set_state(job, 'killed', True, True, now, msg=msg)
                job.collected = True
            elif state:
                self._set_state(job, state, finished, failed, now, msg=msg)
                if finished:
                    job.collected = True
            return [self._event('kill', job, now, task=info, attempt=attempt, progress=progress, mode=mode, msg=msg,
                                finished=job.finished, failed=failed)]

        if msg == 'could not find job' and (job.cleaned or job.collected):
            # asked after the record was removed: nothing new about the job
            return [self._event('retry' if kind == 'retry' else MODE_EVENTS[mode], job, now, task=info,
                                attempt=attempt, mode=mode, msg=msg, finished=True, failed=True)]

        if state is None:
            state = 'running' if not finished else ('failed' if failed else 'succeeded')
        if state == 'succeeded' and failed:
            state = 'failed'
        if finished or state in ('lost', 'killed', 'timeout'):
            self._set_state(job, state, True, failed or state in ('lost', 'killed', 'timeout'), now, msg=msg)
            job.collected = True
            if mode == 'wait' and as_bool(info.args.get('cleanup')):
                job.cleaned = True
        else:
            self._set_state(job, state, False, False, now, msg=msg)

        if state == 'lost':
            name = 'lost'
        elif kind == 'retry':
            name = 'retry'
        else:
            name = MODE_EVENTS[mode]
        if job.finished:
            # the job's own outcome (a failed_when on the status task does not change it)
            failed = job.failed
        return [self._event(name, job, now, task=info, attempt=attempt, progress=progress, mode=mode, msg=msg,
                            finished=finished or job.finished, failed=failed)]


# ---------------------------------------------------------------------------
# console formatting
# ---------------------------------------------------------------------------

BYTE_UNITS = ('b', 'byte', 'bytes')


def fmt_duration(seconds):
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


def _fmt_number(value):
    if value is None:
        return '?'
    if float(value).is_integer():
        return '%d' % value
    return '%.1f' % value


def _byte_scale(value):
    units = ('B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB')
    scale = 0
    value = abs(value or 0)
    while value >= 1024 and scale < len(units) - 1:
        value /= 1024.0
        scale += 1
    return scale, units[scale]


def fmt_quantity(current, total, unit):
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


def fmt_rate(rate, unit):
    if rate is None:
        return None
    if unit and unit.lower() in BYTE_UNITS:
        scale, name = _byte_scale(rate)
        if scale == 0:
            return '%s B/s' % _fmt_number(round(rate, 1))
        return '%.1f %s/s' % (rate / float(1024 ** scale), name)
    return '%.1f %s/s' % (rate, unit or 'units')


def progress_bar(percent, width=20):
    """'[#########-----------]' for a percentage (clamped to 0..100)."""
    width = max(1, int(width))
    percent = max(0.0, min(100.0, float(percent)))
    filled = int(round(width * percent / 100.0))
    return '[%s%s]' % ('#' * filled, '-' * (width - filled))


def normalize_progress(progress, elapsed=None, prev_sample=None, now=None):
    """The progress dict with ``percent``, ``rate`` and ``eta`` filled in where they can be computed.

    ``rate`` comes from the record, else from the previous sample ``(current, time)``, else from the
    average since the job started (``current / elapsed``). Returns a new dict; ``None`` for no progress.
    """
    if not isinstance(progress, dict):
        return None
    out = dict(progress)
    current = as_number(progress.get('current'))
    total = as_number(progress.get('total'))
    percent = as_number(progress.get('percent'))
    if percent is None and current is not None and total:
        percent = 100.0 * current / total
    rate = as_number(progress.get('rate'))
    if rate is None and current is not None:
        sample_time = as_number(progress.get('updated_at')) or now
        if prev_sample is not None and sample_time is not None:
            prev_current, prev_time = prev_sample
            if sample_time > prev_time and current >= prev_current:
                rate = (current - prev_current) / (sample_time - prev_time)
        if rate is None and elapsed:
            rate = current / elapsed if elapsed > 0 else None
    eta = as_number(progress.get('eta'))
    if eta is None and rate and current is not None and total is not None and total >= current:
        eta = (total - current) / rate
    out['current'] = current
    out['total'] = total
    out['percent'] = percent
    out['rate'] = rate
    out['eta'] = eta
    return out


def has_progress(progress):
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

    def __init__(self, progress_bar=True, bar_width=20):
        self.progress_bar = progress_bar
        self.bar_width = bar_width

    def progress_text(self, progress, finished=False):
        """'[####----]  40.0%  400/1000 MiB  10.0 MiB/s  ETA 1m00s  downloading' from a normalized progress."""
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
        if current is not None and rate:
            parts.append(fmt_rate(rate, progress.get('unit')))
        eta = progress.get('eta')
        if eta is not None and eta > 0 and not finished:
            parts.append('ETA %s' % fmt_duration(eta))
        message = progress.get('message')
        if message:
            parts.append(truncate(message, 80))
        return '  '.join(parts) if parts else None

    def line(self, event, progress=None, retries=None):
        """The console line of an event (``progress`` is the normalized progress, if any)."""
        name = event.get('event')
        label = self.LABELS.get(name, name)
        attempt = event.get('attempt')
        head = 'async %s' % label
        if name in ('poll', 'retry', 'status', 'wait') and attempt:
            head += ' #%s' % attempt
            if name == 'retry' and retries:
                head += '/%s' % retries
        fields = [head, event.get('host') or '?']
        if event.get('task'):
            fields.append(event['task'])
        if event.get('jid'):
            fields.append(event['jid'])
        state = event.get('state') or ''
        elapsed = event.get('elapsed')
        text = self.progress_text(progress, finished=bool(event.get('finished'))) if progress else None
        if name == 'started':
            detail = 'started'
        elif name == 'prune' and not event.get('jid'):
            detail = event.get('msg') or 'pruned'
        elif name in ('async_ok', 'async_failed'):
            detail = '%s after %s' % (state or ('failed' if event.get('failed') else 'succeeded'), fmt_duration(elapsed))
            if event.get('msg') and (event.get('failed') or state == 'timeout'):
                detail += ': %s' % truncate(event['msg'], 120)
        elif name == 'cleanup':
            detail = 'record removed (job %s)' % (state or 'unknown')
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


# ---------------------------------------------------------------------------
# recap
# ---------------------------------------------------------------------------

def _yaml_scalar(value):
    """A YAML scalar that round-trips as the same string."""
    text = to_text(value)
    safe = text and all(c.isalnum() or c in '._-/' for c in text) and not text[0] in '-.' \
        and text.lower() not in ('true', 'false', 'yes', 'no', 'on', 'off', 'null', 'y', 'n', '~')
    try:
        float(text)
        safe = False
    except ValueError:
        pass
    if safe:
        return text
    return json.dumps(text)


class RecapBuilder(object):
    """The end-of-playbook table, the unreaped warning and the cleanup tasks."""

    COLUMNS = ('host', 'task', 'jid', 'state', 'duration', 'polls', 'collected')
    TASK_WIDTH = 40

    def table(self, jobs):
        rows = [list(self.COLUMNS)]
        for job in jobs:
            task = job.get('task') or ''
            if len(task) > self.TASK_WIDTH:
                task = task[:self.TASK_WIDTH - 3] + '...'
            rows.append([
                job.get('host') or '?',
                task,
                job.get('jid') or '?',
                job.get('state') or 'unknown',
                fmt_duration(job.get('duration')),
                '%d' % (job.get('polls') or 0),
                self.collected(job),
            ])
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.COLUMNS))]
        lines = []
        for row in rows:
            lines.append('  '.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        return '\n'.join(lines)

    @staticmethod
    def collected(job):
        """'cleaned' (record removed), 'status' (final status seen) or 'NO'."""
        if job.get('cleaned'):
            return 'cleaned'
        if job.get('collected'):
            return 'status'
        return 'NO' if job.get('launched') else '-'

    @staticmethod
    def banner(title, width=79):
        title = '%s ' % title
        return title + '*' * max(3, width - len(title))

    def warning_text(self, jobs):
        names = []
        for job in jobs:
            names.append('%s on %s (task "%s", %s)'
                         % (job['jid'], job['host'], job.get('task') or '?', job.get('state') or 'unknown'))
        count = len(jobs)
        return ('%d async job%s started in this run %s never collected (no final status, no cleanup): %s. '
                'Clean up with the asyncops.jobs.async_status tasks printed below.'
                % (count, '' if count == 1 else 's', 'was' if count == 1 else 'were', '; '.join(names)))

    def cleanup_task(self, job):
        """The exact asyncops.jobs.async_status task that removes the job's record (YAML, list item)."""
        lines = []
        jid = job['jid']
        host = job.get('delegate_to') or job['host']
        if job.get('may_be_running'):
            lines.append('# %s may still be running on %s: stop it first with mode: kill,' % (jid, host))
            lines.append('# or wait for it with mode: wait and cleanup: true instead of mode: cleanup.')
        title = 'Clean up async job %s of task "%s" on %s' % (jid, job.get('task') or '?', host)
        lines.append('- name: %s' % _yaml_scalar(title))
        lines.append('  asyncops.jobs.async_status:')
        lines.append('    jid: %s' % _yaml_scalar(jid))
        lines.append('    mode: cleanup')
        lines.append('  delegate_to: %s' % _yaml_scalar(host))
        if job.get('become'):
            lines.append('  become: true')
            if job.get('become_user'):
                lines.append('  become_user: %s' % _yaml_scalar(job['become_user']))
        results_file = job.get('results_file')
        if results_file and '/' in results_file:
            async_dir = results_file.rsplit('/', 1)[0]
            if async_dir and not async_dir.endswith('/.ansible_async'):
                lines.append('  vars:')
                lines.append('    ansible_async_dir: %s' % _yaml_scalar(async_dir))
        return '\n'.join(lines)

    def cleanup_tasks(self, jobs):
        return '\n'.join(self.cleanup_task(job) for job in jobs)


# ---------------------------------------------------------------------------
# the log file
# ---------------------------------------------------------------------------

def _json_default(value):
    return to_text(value)


def event_line(event):
    """One JSON line (str, with the newline) for an event."""
    return json.dumps(event, ensure_ascii=False, separators=(', ', ': '), default=_json_default) + '\n'


class JsonLinesWriter(object):
    """Appends JSON lines to a file: O_APPEND, one write() per line, created 0600."""

    def __init__(self, path):
        self.path = os.path.expanduser(path)
        self._fd = None
        self._lock = threading.Lock()

    def open(self):
        with self._lock:
            if self._fd is None:
                parent = os.path.dirname(self.path)
                if parent and not os.path.isdir(parent):
                    os.makedirs(parent, 0o700)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0)
                self._fd = os.open(self.path, flags, 0o600)
        return self

    def write(self, event):
        data = event_line(event).encode('utf-8', 'replace')
        with self._lock:
            if self._fd is None:
                raise ValueError('log file %s is not open' % self.path)
            written = os.write(self._fd, data)
            if written != len(data):  # pragma: no cover - disk full and the like
                raise IOError('short write to %s (%d of %d bytes)' % (self.path, written, len(data)))

    def close(self):
        with self._lock:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                finally:
                    self._fd = None


# ---------------------------------------------------------------------------
# settings and the callback
# ---------------------------------------------------------------------------

class Settings(object):
    """The plugin's options as plain attributes."""

    NAMES = ('log_path', 'console', 'progress_bar', 'progress_bar_width', 'quiet_without_progress',
             'console_stream', 'recap', 'unreaped_warning')
    DEFAULTS = {
        'log_path': '~/.ansible/async_log.jsonl',
        'console': True,
        'progress_bar': True,
        'progress_bar_width': 20,
        'quiet_without_progress': False,
        'console_stream': 'auto',
        'recap': True,
        'unreaped_warning': True,
    }

    def __init__(self, **kwargs):
        for name in self.NAMES:
            setattr(self, name, kwargs.get(name, self.DEFAULTS[name]))

    @classmethod
    def from_getter(cls, get_option):
        values = {}
        for name in cls.NAMES:
            try:
                value = get_option(name)
            except KeyError:
                value = None
            if value is not None:
                values[name] = value
        return cls(**values)

    def use_stderr(self, stdout_callback=None):
        if self.console_stream == 'stderr':
            return True
        if self.console_stream == 'stdout':
            return False
        name = (stdout_callback or '').rsplit('.', 1)[-1].lower()
        return name.endswith('json') or name.endswith('jsonl')


class CallbackModule(CallbackBase):
    """Logs every async job event to a JSON-lines file and the console; recap at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'asyncops.jobs.async_log'
    CALLBACK_NEEDS_ENABLED = True

    VAR_NAMES = {
        'asyncops_async_log_path': 'log_path',
        'asyncops_async_log_console': 'console',
        'asyncops_async_log_progress_bar': 'progress_bar',
        'asyncops_async_log_progress_bar_width': 'progress_bar_width',
        'asyncops_async_log_quiet_without_progress': 'quiet_without_progress',
        'asyncops_async_log_console_stream': 'console_stream',
        'asyncops_async_log_recap': 'recap',
        'asyncops_async_log_unreaped_warning': 'unreaped_warning',
    }

    def __init__(self, display=None, options=None):
        super(CallbackModule, self).__init__(display=display, options=options)
        self._lock = threading.RLock()
        self._tracker = JobTracker()
        self._settings = Settings()
        self._writer = None
        self._log_failed = False
        self._errors = set()
        self._base_var_options = None   # what ansible-core passed (2.19+: templated extra vars)
        self._base_direct = None
        self._play_vars_applied = False
        self._in_play_hook = False

    # -- options -------------------------------------------------------------
    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        if not self._in_play_hook:
            self._base_var_options = dict(var_options) if var_options else None
            self._base_direct = dict(direct) if direct else None
        with self._lock:
            self._settings = Settings.from_getter(self.get_option)
            if self._writer is not None and self._writer.path != os.path.expanduser(self._settings.log_path):
                self._writer.close()
                self._writer = None
                self._log_failed = False

    def _apply_play_vars(self, play):
        """Re-read the documented variables from extra vars and the play's vars (all supported cores).

        Values ansible-core already resolved (2.19+ templates extra vars) stay underneath; a play's
        variables apply to that play only.
        """
        variables = {}
        sources = []
        try:
            sources.append(play.vars or {})
        except Exception:  # pylint: disable=broad-except
            pass
        try:
            sources.append(play.get_variable_manager().extra_vars or {})
        except Exception:  # pylint: disable=broad-except
            pass
        for source in sources:
            if not isinstance(source, dict):
                continue
            for name in self.VAR_NAMES:
                if name in source and not is_template(source[name]):
                    variables[name] = source[name]
        if variables or self._play_vars_applied:
            merged = dict(self._base_var_options or {})
            merged.update(variables)
            self._in_play_hook = True
            try:
                self.set_options(var_options=merged, direct=self._base_direct)
            finally:
                self._in_play_hook = False
            self._play_vars_applied = bool(variables)

    # -- output --------------------------------------------------------------
    def _stderr(self):
        return self._settings.use_stderr(getattr(C, 'DEFAULT_STDOUT_CALLBACK', None))

    def _print(self, msg, color=None):
        self._display.display(msg, color=color, stderr=self._stderr())

    def _log(self, events):
        if not events or self._log_failed:
            return
        try:
            if self._writer is None:
                self._writer = JsonLinesWriter(self._settings.log_path).open()
            for event in events:
                self._writer.write(event)
        except (IOError, OSError, ValueError) as exc:
            self._log_failed = True
            self._display.warning('asyncops.jobs.async_log: cannot write the log file %s: %s; no more events will be '
                                  'logged in this run' % (self._settings.log_path, to_text(exc)))

    def _show(self, events, retries=None):
        settings = self._settings
        if not settings.console:
            return
        formatter = ConsoleFormatter(progress_bar=settings.progress_bar, bar_width=settings.progress_bar_width)
        for event in events:
            if event['event'] == 'list':
                continue
            job = self._tracker.get_job(event.get('host'), event.get('jid')) if event.get('jid') else None
            progress = None
            if event.get('progress') is not None:
                progress = normalize_progress(event['progress'], event.get('elapsed'),
                                              job.prev_sample if job else None, event.get('epoch'))
            warn = event['event'] == 'lost' or event.get('state') == 'timeout'
            if (settings.quiet_without_progress and self._display.verbosity < 1 and not warn
                    and not (job is not None and job.progress_seen) and not has_progress(progress)):
                continue
            color = None
            if warn:
                color = C.COLOR_WARN
            elif event.get('failed') and event['event'] != 'retry':
                color = C.COLOR_ERROR
            self._print(formatter.line(event, progress, retries=retries), color=color)

    def _handle(self, kind, result):
        host, task, res = accessor(result)
        if not isinstance(res, dict):
            return
        with self._lock:
            events = self._tracker.process(kind, host, task, res)
            if not events:
                return
            self._log(events)
            self._show(events, retries=res.get('retries') if kind == 'retry' else None)

    def _guard(self, name, func, *args):
        try:
            func(*args)
        except Exception as exc:  # pylint: disable=broad-except
            if name not in self._errors:
                self._errors.add(name)
                self._display.warning('asyncops.jobs.async_log: error in %s (events may be missing): %s'
                                      % (name, to_text(exc)))

    # -- callback methods ----------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        name = getattr(playbook, '_file_name', None)
        self._tracker.set_playbook(os.path.basename(name) if name else None)

    def v2_playbook_on_play_start(self, play):
        try:
            name = play.get_name()
        except Exception:  # pylint: disable=broad-except
            name = None
        self._tracker.set_play(to_text(name).strip() if name else None)
        self._guard('v2_playbook_on_play_start', self._apply_play_vars, play)

    def v2_runner_on_start(self, host, task):
        name = host.get_name() if hasattr(host, 'get_name') else to_text(host)
        self._guard('v2_runner_on_start', self._tracker.task_started, name, task)

    def v2_runner_on_ok(self, result):
        self._guard('v2_runner_on_ok', self._handle, 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._guard('v2_runner_on_failed', self._handle, 'failed', result)

    def v2_runner_item_on_ok(self, result):
        self._guard('v2_runner_item_on_ok', self._handle, 'item_ok', result)

    def v2_runner_item_on_failed(self, result):
        self._guard('v2_runner_item_on_failed', self._handle, 'item_failed', result)

    def v2_runner_retry(self, result):
        self._guard('v2_runner_retry', self._handle, 'retry', result)

    def v2_runner_on_async_poll(self, result):
        self._guard('v2_runner_on_async_poll', self._handle, 'poll', result)

    def v2_runner_on_async_ok(self, result):
        self._guard('v2_runner_on_async_ok', self._handle, 'async_ok', result)

    def v2_runner_on_async_failed(self, result):
        self._guard('v2_runner_on_async_failed', self._handle, 'async_failed', result)

    def v2_playbook_on_stats(self, stats):
        self._guard('v2_playbook_on_stats', self._finish)

    def _finish(self):
        with self._lock:
            self._log(self._tracker.end_events())
            jobs = self._tracker.jobs()
            unreaped = self._tracker.unreaped()
            builder = RecapBuilder()
            if self._settings.recap and jobs:
                self._print('\n' + builder.banner('ASYNC JOBS RECAP'))
                self._print(builder.table(jobs))
            if self._settings.unreaped_warning and unreaped:
                self._display.warning('asyncops.jobs.async_log: ' + builder.warning_text(unreaped))
                self._print('\n' + builder.banner('ASYNC JOBS CLEANUP'), color=C.COLOR_WARN)
                self._print(builder.cleanup_tasks(unreaped), color=C.COLOR_WARN)
            if self._writer is not None:
                self._writer.close()
                self._writer = None
