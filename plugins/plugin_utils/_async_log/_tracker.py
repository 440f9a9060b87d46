# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The jobs the controller has seen and the events they make: pure logic, no display, no file.

``JobTracker.process`` turns one callback result into event dicts (one JSON line each in the
log) and keeps every job's state; what a result says about a job is read by ``_results``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import typing as t
import uuid

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._results import (
    JOB_NOT_FOUND_MSG,
    JobReport,
    as_bool,
    as_number,
    iso_time,
    is_censored,
    is_kill_result,
    job_entries,
    launch_entries,
    listing_record,
    literal,
    plain_copy,
    result_msg,
)
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tasks import TaskInfo

MODE_EVENTS = {
    'status': 'status',
    'wait': 'wait',
    'kill': 'kill',
    'cleanup': 'cleanup',
    'prune': 'prune',
    'list': 'list',
}
# the state of a job only seen being pruned
PRUNED = 'pruned'
# the state of a job whose outcome the controller cannot know: its record was removed before its end was seen,
# or only tasks with no_log read it
UNKNOWN = 'unknown'
CONTROLLER_TIMEOUT_MSG = 'async task did not complete within the requested time - %ss'
# Seconds of disagreement tolerated between the controller's clock and the job record's.
CLOCK_TOLERANCE = 2.0
EVENT_FIELDS = (
    'time', 'epoch', 'event', 'playbook', 'play', 'task', 'task_uuid', 'action', 'host', 'delegate_to',
    'jid', 'attempt', 'elapsed', 'progress', 'finished', 'failed', 'state', 'msg', 'mode', 'run_id', 'pid',
)
# states in which a job has ended although its record may not say finished
ENDED_STATES = (_record.LOST, _record.KILLED, _record.TIMEOUT)
# states whose end is not known (a duration of such a job would be a guess)
OPEN_STATES = (None, _record.RUNNING, UNKNOWN)
BUILTIN_CLEANUP = 'ansible.builtin.async_status'


class Job(object):
    """One job on one host, as the controller has seen it."""

    def __init__(self, host: t.Optional[str], jid: t.Optional[str]) -> None:
        self.host = host
        self.key = (host, jid or '')  # type: t.Tuple[t.Optional[str], str]  # the tracker's key
        self.jid = jid              # None: a job of a no_log task that ended before its first poll (core hid its jid)
        self.task = None            # type: t.Optional[TaskInfo]  # the launching task (or first task seen with the job)
        self.play = None            # type: t.Optional[str]
        self.launched = False       # started in this run (poll: 0 start or polled task)
        self.launch = None          # type: t.Optional[str]  # 'poll0', 'polled', 'job'
        self.ctrl_start = None      # type: t.Optional[float]  # controller time the launching task started
        self.record_start = None    # type: t.Optional[float]  # asyncops.started_at from the record
        self.record_end = None      # type: t.Optional[float]  # asyncops.ended_at from the record
        self.target_elapsed = None  # type: t.Optional[float]  # last asyncops.elapsed computed on the target
        self.ended = None           # type: t.Optional[float]  # controller time the end was seen
        self.state = None           # type: t.Optional[str]
        self.finished = False
        self.failed = False
        self.collected = False      # a final status was seen
        self.cleaned = False        # the record was removed (cleanup, prune, or built-in poll)
        self.checks = 0             # status checks (built-in polls, retries, status/wait calls)
        self.polls = 0              # built-in poll events
        self.progress = None        # type: t.Optional[t.Dict[str, t.Any]]
        self.progress_seen = False
        self.progress_time = None   # type: t.Optional[float]  # controller time the progress sample was seen
        # (current, time) of the previous, different progress sample
        self.prev_sample = None     # type: t.Optional[t.Tuple[float, float]]
        self.msg = None             # type: t.Optional[str]
        self.results_file = None    # type: t.Optional[str]
        self.delegate_to = None     # type: t.Optional[str]
        self.last_event = None      # type: t.Optional[str]
        self.no_log = False         # launched by a task with no_log: its progress and messages are never kept
        self.hidden = False         # a task with no_log read its status: its outcome is hidden from the controller
        self.rc = None              # type: t.Optional[int]
        self.reason = None          # type: t.Optional[str]
        self.has_sidecars = False   # a job of this collection's supervisor: .out, .err, .progress beside the record
        self.sidecar_paths = ()     # type: t.Tuple[str, ...]
        self.sidecars_left = False  # the record was removed by ansible.builtin.async_status, its sidecars were not

    @property
    def not_started(self) -> bool:
        return self.state == _record.NOT_STARTED

    def start_time(self, now: float) -> t.Optional[float]:
        """The job's start on the controller's clock, corrected by the record where it says more."""
        if self.not_started:
            return None
        rec = self.record_start
        ctrl = self.ctrl_start
        if rec is not None:
            if ctrl is None:
                return rec if rec <= now + CLOCK_TOLERANCE else None
            if ctrl - CLOCK_TOLERANCE <= rec <= now + CLOCK_TOLERANCE:
                return rec
        return ctrl

    def elapsed(self, now: float) -> t.Optional[float]:
        """Seconds since the job started, frozen at its end; None when the start is unknown.

        The record's own times win (start and end, or the elapsed time the target computed);
        otherwise the controller's clock from the (corrected) start to the end seen, or to ``now``.
        """
        if self.not_started:
            return None
        if self.record_start is not None and self.record_end is not None and self.record_end >= self.record_start:
            return self.record_end - self.record_start
        if not self.finished and self.state in OPEN_STATES and self.end_unknown:
            return None
        if self.target_elapsed is not None:
            return self.target_elapsed
        start = self.start_time(now)
        if start is None:
            return None
        end = self.ended if self.ended is not None else now
        return max(0.0, end - start)

    @property
    def end_unknown(self) -> bool:
        """The record is gone (or hidden) and its end was never seen: the job's end cannot be known."""
        return self.cleaned or self.hidden or self.state == UNKNOWN

    def end_time(self, now: float) -> t.Optional[float]:
        """When the job ended (the controller gave up, for a time-out); None while running or unknown."""
        if self.state in OPEN_STATES or self.not_started:
            return None
        elapsed = self.elapsed(now)
        start = self.start_time(now)
        if elapsed is not None and start is not None:
            return start + elapsed
        return self.ended

    @property
    def needs_reaping(self) -> bool:
        return (self.launched and not self.collected and not self.cleaned and not self.hidden
                and not self.not_started)

    @property
    def may_be_running(self) -> bool:
        return not self.finished and not self.not_started

    def sidecar_names(self) -> t.List[str]:
        names = [os.path.basename(path) for path in self.sidecar_paths]
        return names or ['%s.%s' % (self.jid, kind) for kind in _record.SIDECARS]

    def cleanup_hint(self) -> t.Optional[str]:
        """What this job left on its host and the task that removes it; None when nothing is left."""
        if self.jid is None or self.not_started:
            return None
        where = self.host if not self.delegate_to else self.delegate_to
        task = 'asyncops.jobs.async_status with jid: %s and mode: cleanup (delegate_to: %s)' % (self.jid, where)
        if self.sidecars_left:
            return ('the record was removed by ansible.builtin.async_status, its files %s are left: remove them with %s'
                    % (', '.join(self.sidecar_names()), task))
        if self.needs_reaping:
            if self.may_be_running:
                return ('the record (and the job, maybe still running) is left: stop it with mode: kill, or wait for it '
                        'with mode: wait and cleanup: true; then remove it with %s' % task)
            return 'the record is left: remove it with %s' % task
        return None

    def summary(self, now: float) -> t.Dict[str, t.Any]:
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
            'start': self.start_time(now),
            'end': self.end_time(now),
            'rc': self.rc,
            'reason': self.reason,
            'msg': None if self.no_log else self.msg,
            'cleanup_hint': self.cleanup_hint(),
            'no_log': self.no_log,
            'hidden': self.hidden,
            'sidecars_left': self.sidecar_names() if self.sidecars_left else [],
        }


class JobTracker(object):
    """Turns callback results into event dicts and keeps the state of every job seen.

    Pure logic: no display, no file. Every public method takes the lock, so results arriving from
    the strategy's results thread and from the main thread are serialized.
    """

    def __init__(self, clock: t.Optional[t.Callable[[], float]] = None, run_id: t.Optional[str] = None) -> None:
        self._clock = clock or time.time
        self._lock = threading.RLock()
        self._jobs = {}              # type: t.Dict[t.Tuple[t.Optional[str], str], Job]
        self._order = []             # type: t.List[t.Tuple[t.Optional[str], str]]  # keys in first-seen order
        self._running = {}           # type: t.Dict[t.Optional[str], t.Tuple[TaskInfo, float]]  # host -> task, start
        # (host, task uuid) -> controller time the last job of that task ended
        self._last_end = {}          # type: t.Dict[t.Tuple[t.Optional[str], t.Optional[str]], float]
        # (host, task uuid, jid) -> status checks made by that task
        self._task_checks = {}       # type: t.Dict[t.Tuple[t.Optional[str], t.Optional[str], str], int]
        # (host, task uuid) -> keys of the jobs that task launched on that host, in order
        self._launched_by = {}       # type: t.Dict[t.Tuple[t.Optional[str], t.Optional[str]], t.List[t.Tuple[t.Optional[str], str]]]
        self.playbook = None         # type: t.Optional[str]
        self.play = None             # type: t.Optional[str]
        self.run_id = run_id or uuid.uuid4().hex
        self.pid = os.getpid()

    # -- context ---------------------------------------------------------
    def set_playbook(self, name: t.Optional[str]) -> None:
        with self._lock:
            self.playbook = name

    def set_play(self, name: t.Optional[str]) -> None:
        with self._lock:
            self.play = name

    def task_started(self, host: t.Optional[str], task: t.Any, now: t.Optional[float] = None) -> None:
        """A task starts on a host (``v2_runner_on_start``): the launching time of any job it starts."""
        info = TaskInfo.from_task(task)
        with self._lock:
            self._running[host] = (info, self._now(now))

    # -- queries -----------------------------------------------------------
    def jobs(self, now: t.Optional[float] = None) -> t.List[t.Dict[str, t.Any]]:
        with self._lock:
            at = self._now(now)
            return [self._jobs[key].summary(at) for key in self._order]

    def unreaped(self, now: t.Optional[float] = None) -> t.List[t.Dict[str, t.Any]]:
        with self._lock:
            at = self._now(now)
            return [self._jobs[key].summary(at) for key in self._order if self._jobs[key].needs_reaping]

    def leftovers(self, now: t.Optional[float] = None) -> t.List[t.Dict[str, t.Any]]:
        """Jobs whose record was removed by the built-in async_status while their sidecar files were left."""
        with self._lock:
            at = self._now(now)
            return [self._jobs[key].summary(at) for key in self._order if self._jobs[key].sidecars_left]

    def get_job(self, host: t.Optional[str], jid: t.Optional[str]) -> t.Optional[Job]:
        with self._lock:
            return self._jobs.get((host, jid)) if jid else None

    # -- events ------------------------------------------------------------
    def process(self, kind: str, host: t.Optional[str], task: t.Any, result: t.Any,
                now: t.Optional[float] = None) -> t.List[t.Dict[str, t.Any]]:
        """Events (list of dicts) for one callback.

        ``kind`` is one of ``ok``, ``failed``, ``skipped``, ``item_ok``, ``item_failed``, ``item_skipped``,
        ``retry``, ``poll``, ``async_ok``, ``async_failed``. ``task`` is a Task or a TaskInfo; ``result`` is never modified.
        """
        if not isinstance(result, dict):
            return []
        info = TaskInfo.from_task(task)
        with self._lock:
            at = self._now(now)
            censored = is_censored(result)
            if kind == 'poll':
                return self._on_poll(host, info, result, at)
            if kind in ('async_ok', 'async_failed'):
                if censored:
                    return self._on_censored_end(kind, host, info, at)
                return self._on_async_end(kind, host, info, result, at)
            if kind in ('skipped', 'item_skipped'):
                # a status of a check-mode jid says skipped; any other skipped task says nothing about a job
                if not info.is_status or censored or not self._reports_not_started(result):
                    return []
                kind = 'ok' if kind == 'skipped' else 'item_ok'
            if kind in ('ok', 'failed') and isinstance(result.get('results'), list):
                # the summary of a loop: every item was seen on its own
                return []
            if info.is_status:
                if censored:
                    return self._on_censored_status(kind, host, info, at)
                return self._on_status(kind, host, info, result, at)
            if kind == 'retry':
                return []
            if info.is_polled_async:
                # the end of a polled task was reported by async_ok/async_failed already
                return []
            if censored:
                # a launch by a task with no_log: ansible-core hides its job id from every callback
                return []
            report = JobReport.read(result)
            if as_bool(result.get('finished')) or not (as_bool(result.get('started')) or report.state == _record.NOT_STARTED):
                return []
            entries = launch_entries(result)
            if entries is not None:
                return self._on_batch_start(host, info, report, entries, at)
            if result.get('ansible_job_id'):
                return [self._launch(host, info, to_text(result['ansible_job_id']), report, at)]
            return []

    @staticmethod
    def _reports_not_started(result: t.Dict[str, t.Any]) -> bool:
        entries = job_entries(result)
        records = entries if entries is not None else [result]
        return any(JobReport.read(rec).state == _record.NOT_STARTED for rec in records)

    def end_events(self, now: t.Optional[float] = None) -> t.List[t.Dict[str, t.Any]]:
        """One ``unreaped`` event per job started and never collected (for the log, at the end)."""
        with self._lock:
            at = self._now(now)
            events = []
            for key in self._order:
                job = self._jobs[key]
                if job.needs_reaping:
                    events.append(self._event('unreaped', job, at, task=job.task, msg=self._unreaped_msg(job)))
            return events

    # -- internals ---------------------------------------------------------
    def _now(self, now: t.Optional[float]) -> float:
        return self._clock() if now is None else now

    def _job(self, host: t.Optional[str], jid: str, shown_jid: t.Optional[str] = '') -> Job:
        key = (host, jid)
        job = self._jobs.get(key)
        if job is None:
            job = Job(host, jid if shown_jid == '' else shown_jid)
            job.key = key
            job.play = self.play
            self._jobs[key] = job
            self._order.append(key)
        return job

    def _launched(self, host: t.Optional[str], job: Job, info: t.Optional[TaskInfo]) -> None:
        """Note ``job`` as launched on ``host`` by task ``info`` (to find it again when core hides its jid)."""
        job.launched = True
        if info is not None and info.no_log:
            job.no_log = True
        if info is not None and info.uuid is not None:
            self._launched_by.setdefault((host, info.uuid), []).append(job.key)

    def _launching(self, host: t.Optional[str],
                   fallback: t.Optional[TaskInfo]) -> t.Tuple[t.Optional[TaskInfo], t.Optional[float]]:
        running = self._running.get(host)
        if running is None:
            return fallback, None
        return running

    @staticmethod
    def _unreaped_msg(job: Job) -> str:
        if job.finished:
            return 'job record left on the host: never collected'
        if job.state == _record.TIMEOUT:
            return 'the controller stopped waiting; the job may still be running'
        return 'no final status seen: the job may still be running'

    @staticmethod
    def _absorb(job: Job, report: JobReport, now: float) -> t.Optional[t.Dict[str, t.Any]]:
        """Update a job from what a result reports; returns the event's own copy of the progress, if any."""
        if report.started_at is not None:
            job.record_start = report.started_at
        if report.ended_at is not None:
            job.record_end = report.ended_at
        if report.elapsed is not None:
            job.target_elapsed = report.elapsed
        if report.results_file is not None:
            job.results_file = report.results_file
        if report.rc is not None:
            job.rc = report.rc
        if report.reason is not None:
            job.reason = report.reason
        if report.sidecars:
            job.sidecar_paths = report.sidecars
        if report.supervised:
            job.has_sidecars = True
        progress = report.progress
        if progress is not None:
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
            progress = plain_copy(progress)
        if report.delegated_host and report.delegated_host != job.host:
            job.delegate_to = report.delegated_host
        return progress

    @staticmethod
    def _hidden(report: JobReport, no_log: bool) -> JobReport:
        """The report without what no_log hides (the progress, whose message comes from the job, and the message)."""
        if not no_log:
            return report
        return report._replace(progress=None, msg=None)

    @staticmethod
    def _set_state(job: Job, state: t.Optional[str], finished: bool, failed: bool, now: float,
                   msg: t.Optional[str] = None) -> None:
        job.state = state
        if finished and not job.finished:
            job.finished = True
            if job.ended is None:
                job.ended = now
        job.failed = bool(failed)
        if msg is not None:
            job.msg = msg

    def _event(self, name: str, job: t.Optional[Job], now: float, task: t.Optional[TaskInfo] = None,
               attempt: t.Optional[int] = None, progress: t.Optional[t.Dict[str, t.Any]] = None,
               finished: t.Optional[bool] = None, failed: t.Optional[bool] = None, msg: t.Optional[str] = None,
               mode: t.Optional[str] = None, host: t.Optional[str] = None,
               with_elapsed: bool = True) -> t.Dict[str, t.Any]:
        task = task or (job.task if job else None)
        elapsed = job.elapsed(now) if (job and with_elapsed) else None
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
            'jid': job.jid if job else None,
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
        }  # type: t.Dict[str, t.Any]
        if job is not None:
            job.last_event = name
        return event

    def _launch(self, host: t.Optional[str], info: TaskInfo, jid: str, report: JobReport, now: float,
                supervised: bool = False) -> t.Dict[str, t.Any]:
        """A job started without polling (``poll: 0``, ``asyncops.jobs.run``, a batch item): its ``started`` event."""
        job = self._job(host, jid)
        running, started = self._launching(host, info)
        if running is not None and running.uuid == info.uuid and started is not None:
            job.ctrl_start = started
        else:
            job.ctrl_start = now
        job.task = info
        job.play = self.play
        self._launched(host, job, info)
        job.launch = 'job' if (supervised or report.supervised) else 'poll0'
        if job.launch == 'job':
            job.has_sidecars = True
        if info.delegate_to:
            job.delegate_to = info.delegate_to
        report = self._hidden(report, info.no_log)
        progress = self._absorb(job, report, now)
        state = report.state or _record.RUNNING
        if state == _record.SUCCEEDED:
            # a launch result says started, not finished: whatever the record says, the job was just started
            state = _record.RUNNING
        self._set_state(job, state, False, False, now)
        return self._event('started', job, now, task=info, progress=progress, finished=False, failed=False,
                           msg=report.msg)

    def _on_batch_start(self, host: t.Optional[str], info: TaskInfo, report: JobReport,
                        entries: t.List[t.Dict[str, t.Any]], now: float) -> t.List[t.Dict[str, t.Any]]:
        """One ``started`` event per job of a batch launch; each job is a job of the launching task."""
        events = []
        for entry in entries:
            entry_report = JobReport.read(entry)
            if entry_report.state is None or entry_report.state == _record.RUNNING:
                # an entry names its job; the launch's state (running, or not_started in check mode) is every job's
                entry_report = entry_report._replace(state=report.state)
            events.append(self._launch(host, info, to_text(entry['ansible_job_id']), entry_report, now,
                                       supervised=report.state != _record.NOT_STARTED))
        return events

    def _job_for_polled_task(self, host: t.Optional[str], jid: str, info: t.Optional[TaskInfo], now: float) -> Job:
        """The job of a task that uses ``async: N, poll: M``; its first event may be a poll or the end."""
        job = self._job(host, jid)
        if not job.launched:
            launching, started = self._launching(host, info)
            if launching is None or launching.is_status or not launching.async_val:
                launching = info if (info and not info.is_status) else launching
            job.task = launching
            job.play = self.play
            self._launched(host, job, launching)
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

    def _on_poll(self, host: t.Optional[str], info: TaskInfo, result: t.Dict[str, t.Any],
                 now: float) -> t.List[t.Dict[str, t.Any]]:
        report = JobReport.read(result)
        if not report.jid:
            return []
        job = self._job_for_polled_task(host, report.jid, None, now)
        if job.task is None:
            job.task = info
        # the polls of a no_log task are not censored by ansible-core, but they carry what the job reports
        report = self._hidden(report, job.no_log)
        progress = self._absorb(job, report, now)
        job.polls += 1
        job.checks += 1
        self._set_state(job, report.state or _record.RUNNING, report.finished, report.failed, now)
        return [self._event('poll', job, now, attempt=job.polls, progress=progress, finished=report.finished,
                            failed=report.failed, msg=report.msg)]

    def _on_async_end(self, kind: str, host: t.Optional[str], info: TaskInfo, result: t.Dict[str, t.Any],
                      now: float) -> t.List[t.Dict[str, t.Any]]:
        async_result = result.get('async_result')
        rec = result
        if isinstance(async_result, dict) and not result.get('ansible_job_id'):
            rec = async_result
        report = JobReport.read(rec)
        jid = report.jid or (to_text(result['ansible_job_id']) if result.get('ansible_job_id') else None)
        if not jid:
            return []
        job = self._job_for_polled_task(host, jid, info, now)
        if job.task is None or job.task.is_status:
            job.task = info
        report = self._hidden(report, job.no_log or info.no_log)
        progress = self._absorb(job, report, now)
        msg = None if (job.no_log or info.no_log) else result_msg(result)
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
            self._set_state(job, _record.TIMEOUT, False, True, now, msg=msg)
        else:
            job.checks += 1
            failed = kind == 'async_failed' or report.failed
            state = report.state
            if state in (None, _record.RUNNING, _record.SUCCEEDED):
                state = _record.FAILED if failed else _record.SUCCEEDED
            self._set_state(job, state, True, failed, now, msg=msg)
            job.collected = True
            # ansible-core removes the record of a polled job that finished
            job.cleaned = True
        if job.task.uuid is not None:
            self._last_end[(host, job.task.uuid)] = now
        event = self._event(kind, job, now, task=info if not info.is_status else job.task, attempt=job.checks or None,
                            progress=progress, finished=job.finished, failed=job.failed, msg=msg)
        if core_msg is not None:
            event['core_msg'] = core_msg
        return [event]

    def _polled_job_of(self, host: t.Optional[str], info: TaskInfo) -> t.Optional[Job]:
        """The job a polled task launched on ``host`` and has not seen end: the one its censored end belongs to."""
        for key in reversed(self._launched_by.get((host, info.uuid), [])):
            job = self._jobs[key]
            if job.launch == 'polled' and not job.finished and job.ended is None:
                return job
        return None

    def _on_censored_end(self, kind: str, host: t.Optional[str], info: TaskInfo,
                         now: float) -> t.List[t.Dict[str, t.Any]]:
        """The end of a polled task with no_log: ansible-core censored it (no jid, no state, no message).

        It ends the job that task launched on that host: the one its (uncensored) polls named, or, when the job
        ended before its first poll, a job whose jid nobody saw. ansible-core's poll loop reports a poll for
        every check but the one that finds the job finished, so a failure after as many polls as fit in
        ``async`` is the controller giving up (a time-out), any other failure the job's own.
        """
        job = self._polled_job_of(host, info)
        if job is None:
            count = len(self._launched_by.get((host, info.uuid), []))
            job = self._job(host, 'no_log:%s:%d' % (info.uuid, count), shown_jid=None)
            job.task = info
            job.play = self.play
            self._launched(host, job, info)
            job.launch = 'polled'
            _running, started = self._launching(host, info)
            job.ctrl_start = started if started is not None else now
            last_end = self._last_end.get((host, info.uuid))
            if last_end is not None and last_end > job.ctrl_start:
                job.ctrl_start = last_end
        job.no_log = True
        if info.delegate_to and not job.delegate_to:
            job.delegate_to = info.delegate_to
        gave_up = (kind == 'async_failed' and bool(info.async_val) and bool(info.poll)
                   and job.polls >= math.ceil(float(info.async_val) / float(info.poll or 1)))
        if gave_up:
            job.ended = now
            self._set_state(job, _record.TIMEOUT, False, True, now, msg=CONTROLLER_TIMEOUT_MSG % info.async_val)
            msg = job.msg  # type: t.Optional[str]
        else:
            job.checks += 1
            failed = kind == 'async_failed'
            self._set_state(job, _record.FAILED if failed else _record.SUCCEEDED, True, failed, now)
            job.collected = True
            job.cleaned = True  # ansible-core removed the record of the polled job that finished
            msg = None
        if info.uuid is not None:
            self._last_end[(host, info.uuid)] = now
        return [self._event(kind, job, now, task=info, attempt=job.checks or None, finished=job.finished,
                            failed=job.failed, msg=msg)]

    def _on_censored_status(self, kind: str, host: t.Optional[str], info: TaskInfo,
                            now: float) -> t.List[t.Dict[str, t.Any]]:
        """A status task with no_log: its result is censored, and its arguments may hold secrets.

        Only the jobs already seen on that host that its (literal) ``jid``/``jids`` name are touched: a task
        read their status, and what it found is hidden. Any other value is never logged.
        """
        wanted = []  # type: t.List[t.Any]
        wanted.append(info.args.get('jid'))
        if isinstance(info.args.get('jids'), list):
            wanted.extend(info.args['jids'])
        mode = literal(info.args.get('mode'))
        if mode not in MODE_EVENTS:
            mode = 'status'
        events = []
        for jid in wanted:
            job = self.get_job(host, literal(jid))
            if job is None or mode in ('list', 'prune'):
                continue
            job.checks += 1
            if mode == 'cleanup' and kind not in ('failed', 'item_failed'):
                job.cleaned = True
                job.collected = True
            elif not job.finished and not job.not_started:
                job.hidden = True
                job.state = UNKNOWN
            name = 'retry' if kind == 'retry' else MODE_EVENTS[mode]
            events.append(self._event(name, job, now, task=info, mode=mode, finished=job.finished, failed=job.failed,
                                      msg='the result is hidden by no_log'))
        return events

    @staticmethod
    def _status_mode(info: TaskInfo, result: t.Dict[str, t.Any]) -> str:
        mode = literal(info.args.get('mode'))
        if mode in MODE_EVENTS:
            return mode
        if isinstance(result.get('removed'), list):
            return 'prune'
        if isinstance(result.get('garbage'), list):
            return 'list'
        if is_kill_result(result):
            return 'kill'
        if 'erased' in result and 'results_file' not in result:
            return 'cleanup'
        return 'status'

    def _on_status(self, kind: str, host: t.Optional[str], info: TaskInfo, result: t.Dict[str, t.Any],
                   now: float) -> t.List[t.Dict[str, t.Any]]:
        mode = self._status_mode(info, result)
        if mode == 'prune':
            return self._on_prune(host, info, result, now)
        entries = job_entries(result)
        if entries is not None and mode == 'list':
            entries = [listing_record(entry) for entry in entries]
        events = []
        for rec in entries if entries is not None else [result]:
            jid = rec.get('ansible_job_id')
            if not jid and entries is None:
                jid = literal(info.args.get('jid'))
            if not jid:
                continue
            events.extend(self._status_record(kind, host, info, result, rec, to_text(jid), mode, now))
        return events

    def _on_prune(self, host: t.Optional[str], info: TaskInfo, result: t.Dict[str, t.Any],
                  now: float) -> t.List[t.Dict[str, t.Any]]:
        removed = result.get('removed')
        if not isinstance(removed, list):
            removed = []
        events = []
        for item in removed:
            job = self._job(host, to_text(item.get('ansible_job_id') if isinstance(item, dict) else item))
            if job.task is None:
                job.task = info
            job.cleaned = True
            job.collected = True
            job.sidecars_left = False
            if job.state is None:
                job.state = PRUNED
            events.append(self._event('prune', job, now, task=info, msg=result_msg(result), mode='prune',
                                      finished=job.finished, failed=job.failed))
        if not removed:
            events.append(self._event('prune', None, now, task=info, host=host,
                                      msg=result_msg(result) or 'nothing to prune', mode='prune', finished=False,
                                      failed=as_bool(result.get('failed')), with_elapsed=False))
        return events

    def _status_record(self, kind: str, host: t.Optional[str], info: TaskInfo, result: t.Dict[str, t.Any],
                       rec: t.Dict[str, t.Any], jid: str, mode: str, now: float) -> t.List[t.Dict[str, t.Any]]:
        report = JobReport.read(rec)
        job = self._job(host, jid)
        if job.task is None:
            job.task = info
            job.play = self.play
        msg = report.msg or (result_msg(result) if rec is not result else None)
        # asked after the record was removed (or in another directory): nothing about the job's state or end
        not_found = msg == JOB_NOT_FOUND_MSG
        if job.state == _record.TIMEOUT and not job.finished and not not_found:
            # the controller gave up on it, but the job went on: its clock runs again
            job.ended = None
        progress = self._absorb(job, report, now)
        if info.delegate_to and not job.delegate_to:
            job.delegate_to = info.delegate_to
        state = report.state
        finished = report.finished
        failed = report.failed or (rec is result and kind in ('failed', 'item_failed'))

        if state == _record.NOT_STARTED:
            # a jid of a launch in check mode: no job ran, nothing ended, nothing is left to collect
            self._set_state(job, _record.NOT_STARTED, False, False, now, msg=msg)
            if mode == 'list':
                return []
            return [self._event('retry' if kind == 'retry' else MODE_EVENTS[mode], job, now, task=info, mode=mode,
                                msg=msg, finished=False, failed=False)]

        if mode == 'list':
            if state == _record.LOST:
                self._set_state(job, _record.LOST, True, True, now, msg=msg)
                job.collected = True
                return [self._event('lost', job, now, task=info, progress=progress, mode=mode, msg=msg,
                                    finished=True, failed=True)]
            if state:
                self._set_state(job, state, finished, failed and finished, now)
            return []

        if mode == 'cleanup':
            if not failed or not_found:
                job.cleaned = True
                job.collected = True
                if info.is_asyncops_status:
                    job.sidecars_left = False
                elif job.has_sidecars and not not_found:
                    # the built-in removes the record only: the supervisor's .out, .err and .progress stay
                    job.sidecars_left = True
            if state == _record.LOST:
                self._set_state(job, _record.LOST, True, True, now, msg=msg)
            event = self._event('cleanup', job, now, task=info, progress=progress, mode=mode, msg=msg,
                                finished=job.finished, failed=report.failed)
            if job.sidecars_left:
                event['sidecars_left'] = job.sidecar_names()
            return [event]

        check_key = (host, info.uuid, jid)
        self._task_checks[check_key] = self._task_checks.get(check_key, 0) + 1
        attempt = self._task_checks[check_key]
        if kind != 'retry':
            # the next run of this task starts counting again
            self._task_checks.pop(check_key, None)
        job.checks += 1

        if mode == 'kill':
            if state == _record.KILLED:
                self._set_state(job, _record.KILLED, True, True, now, msg=msg)
                job.collected = True
            elif state:
                self._set_state(job, state, finished, failed, now, msg=msg)
                if finished:
                    job.collected = True
            return [self._event('kill', job, now, task=info, attempt=attempt, progress=progress, mode=mode, msg=msg,
                                finished=job.finished, failed=failed)]

        if not_found:
            if not job.finished and job.state in OPEN_STATES:
                # its end was never seen and cannot be any more
                job.state = UNKNOWN
            return [self._event('retry' if kind == 'retry' else MODE_EVENTS[mode], job, now, task=info,
                                attempt=attempt, mode=mode, msg=msg, finished=job.finished, failed=job.failed)]

        if state is None:
            state = _record.record_state({'started': True, 'finished': finished, 'failed': failed})
        if state == _record.SUCCEEDED and failed:
            state = _record.FAILED
        if finished or state in ENDED_STATES:
            self._set_state(job, state, True, failed or state in ENDED_STATES, now, msg=msg)
            job.collected = True
            if mode == 'wait' and as_bool(info.args.get('cleanup')):
                job.cleaned = True
        else:
            self._set_state(job, state, False, False, now, msg=msg)

        if state == _record.LOST:
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
