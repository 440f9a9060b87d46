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
  - "It reads what this collection adds to a result under C(asyncops) only: the job state (C(asyncops.state),
    else the C(started)/C(finished)/C(failed) keys of the built-in), C(asyncops.elapsed), C(asyncops.started_at),
    C(asyncops.ended_at) and C(asyncops.progress). A job's own top-level keys, such as the C(state) of a
    M(ansible.builtin.file) result or the C(elapsed) of M(ansible.builtin.wait_for), are never taken for the
    job's."
requirements:
  - Enable the callback with O(ignore:callbacks_enabled=asyncops.jobs.async_log) in C(ansible.cfg)
    or E(ANSIBLE_CALLBACKS_ENABLED).
notes:
  - "Results of tasks with C(no_log) are censored by ansible-core before callbacks see them. The end of a polled
    task (C(async)/C(poll)) with C(no_log) still ends the job that task launched on that host (the job its polls
    named); its polls are logged without progress or message. A job started with C(poll=0) or by
    M(asyncops.jobs.run) under C(no_log) is not tracked (ansible-core hides its job ID). A status task with
    C(no_log) is logged only for jobs already seen on that host, without its result; a job only such tasks read
    shows C(no_log) in the recap instead of a warning. Nothing a C(no_log) task hides (messages, output, progress,
    arguments) is written to the log, the console or the timeline."
  - "A batch launch (M(asyncops.jobs.run) with O(asyncops.jobs.run#module:batch)) gives a V(started) event and
    a recap row per job, under the launching task."
  - "In check mode a launch of M(asyncops.jobs.run) or M(asyncops.jobs.download) starts nothing and returns a job
    ID that names no job: such a job is shown C(not_started), never as a job to clean up."
  - "A task delegated to another host is shown as C(host -> delegated host), as the default stdout callback does."
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
  timeline_path:
    description:
      - When set, write a self-contained HTML page of the run's jobs (one lane per host, one bar per job) to this
        path at the end of the playbook, after the recap, and print where it was written.
      - Missing parent directories are created with mode C(0700), a new file with mode C(0600); the page is
        replaced atomically. A failure to write it is one warning.
      - The events of the run are kept in memory only when this is set.
    type: path
    ini:
      - section: callback_async_log
        key: timeline_path
    env:
      - name: ASYNCOPS_ASYNC_LOG_TIMELINE_PATH
    vars:
      - name: asyncops_async_log_timeline_path
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

import os
import threading
import time
import typing as t

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.callback import CallbackBase

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._console import (
    ConsoleFormatter,
    display_progress,
    has_progress,
)
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log import _timeline
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._event_log import JsonLinesWriter
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._recap import RecapBuilder
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._results import accessor, is_template
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._tracker import JobTracker


def _color(name: str) -> t.Optional[str]:
    """A color of ansible-core's configuration (``C.COLOR_WARN``, ...: set when its configuration loads)."""
    color = getattr(C, name, None)  # type: t.Optional[str]
    return color


class Settings(object):
    """The plugin's options as plain attributes, read once each time ansible-core sets them."""

    log_path: str
    console: bool
    progress_bar: bool
    progress_bar_width: int
    quiet_without_progress: bool
    console_stream: str
    recap: bool
    unreaped_warning: bool
    timeline_path: t.Optional[str]

    NAMES = ('log_path', 'console', 'progress_bar', 'progress_bar_width', 'quiet_without_progress',
             'console_stream', 'recap', 'unreaped_warning', 'timeline_path')
    DEFAULTS = {
        'log_path': '~/.ansible/async_log.jsonl',
        'console': True,
        'progress_bar': True,
        'progress_bar_width': 20,
        'quiet_without_progress': False,
        'console_stream': 'auto',
        'recap': True,
        'unreaped_warning': True,
        'timeline_path': None,
    }  # type: t.Dict[str, t.Any]

    def __init__(self, **kwargs: t.Any) -> None:
        for name in self.NAMES:
            setattr(self, name, kwargs.get(name, self.DEFAULTS[name]))

    @classmethod
    def from_getter(cls, get_option: t.Callable[[str], t.Any]) -> 'Settings':
        values = {}
        for name in cls.NAMES:
            try:
                value = get_option(name)
            except KeyError:
                value = None
            if value is not None:
                values[name] = value
        return cls(**values)

    def use_stderr(self, stdout_callback: t.Optional[str] = None) -> bool:
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
        'asyncops_async_log_timeline_path': 'timeline_path',
    }

    def __init__(self, display: t.Any = None, options: t.Any = None) -> None:
        super(CallbackModule, self).__init__(display=display, options=options)
        self._lock = threading.RLock()
        self._tracker = JobTracker()
        self._settings = Settings()
        self._writer = None  # type: t.Optional[JsonLinesWriter]
        self._log_failed = False
        self._errors = set()  # type: t.Set[str]
        # the run's events, as logged, for the timeline (kept only while timeline_path is set)
        self._events = []  # type: t.List[t.Dict[str, t.Any]]
        # what ansible-core passed (2.19+: templated extra vars)
        self._base_var_options = None  # type: t.Optional[t.Dict[str, t.Any]]
        self._base_direct = None  # type: t.Optional[t.Dict[str, t.Any]]
        self._play_vars_applied = False
        self._in_play_hook = False

    # -- options -------------------------------------------------------------
    def set_options(self, task_keys: t.Any = None, var_options: t.Any = None, direct: t.Any = None) -> None:
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

    def _apply_play_vars(self, play: t.Any) -> None:
        """Re-read the documented variables from extra vars and the play's vars (all supported cores).

        Values ansible-core already resolved (2.19+ templates extra vars) stay underneath; a play's
        variables apply to that play only.
        """
        variables = {}  # type: t.Dict[str, t.Any]
        sources = []  # type: t.List[t.Any]
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
    def _stderr(self) -> bool:
        return self._settings.use_stderr(getattr(C, 'DEFAULT_STDOUT_CALLBACK', None))

    def _print(self, msg: str, color: t.Optional[str] = None) -> None:
        self._display.display(msg, color=color, stderr=self._stderr())

    def _log(self, events: t.List[t.Dict[str, t.Any]]) -> None:
        if events and self._settings.timeline_path:
            self._events.extend(events)
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

    def _show(self, events: t.List[t.Dict[str, t.Any]], retries: t.Optional[int] = None) -> None:
        settings = self._settings
        if not settings.console:
            return
        formatter = ConsoleFormatter(progress_bar=settings.progress_bar, bar_width=settings.progress_bar_width)
        for event in events:
            if event['event'] == 'list':
                continue
            jid = event.get('jid')
            job = self._tracker.get_job(event.get('host'), jid) if jid else None
            progress = None
            if event.get('progress') is not None:
                progress = display_progress(event['progress'], event.get('elapsed'),
                                            job.prev_sample if job else None, event.get('epoch'))
            warn = event['event'] == 'lost' or event.get('state') == 'timeout'
            if (settings.quiet_without_progress and self._display.verbosity < 1 and not warn
                    and not (job is not None and job.progress_seen) and not has_progress(progress)):
                continue
            color = None
            if warn:
                color = _color('COLOR_WARN')
            elif event.get('failed') and event['event'] != 'retry':
                color = _color('COLOR_ERROR')
            self._print(formatter.line(event, progress, retries=retries), color=color)

    def _handle(self, kind: str, result: t.Any) -> None:
        host, task, res = accessor(result)
        if not isinstance(res, dict):
            return
        with self._lock:
            events = self._tracker.process(kind, host, task, res)
            if not events:
                return
            self._log(events)
            self._show(events, retries=res.get('retries') if kind == 'retry' else None)

    def _guard(self, name: str, func: t.Callable[..., None], *args: t.Any) -> None:
        try:
            func(*args)
        except Exception as exc:  # pylint: disable=broad-except
            if name not in self._errors:
                self._errors.add(name)
                self._display.warning('asyncops.jobs.async_log: error in %s (events may be missing): %s'
                                      % (name, to_text(exc)))

    # -- callback methods ----------------------------------------------------
    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        name = getattr(playbook, '_file_name', None)
        self._tracker.set_playbook(os.path.basename(name) if name else None)

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        try:
            name = play.get_name()
        except Exception:  # pylint: disable=broad-except
            name = None
        self._tracker.set_play(to_text(name).strip() if name else None)
        self._guard('v2_playbook_on_play_start', self._apply_play_vars, play)

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        name = host.get_name() if hasattr(host, 'get_name') else to_text(host)
        self._guard('v2_runner_on_start', self._tracker.task_started, name, task)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._guard('v2_runner_on_ok', self._handle, 'ok', result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._guard('v2_runner_on_failed', self._handle, 'failed', result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._guard('v2_runner_on_skipped', self._handle, 'skipped', result)

    def v2_runner_item_on_skipped(self, result: t.Any) -> None:
        self._guard('v2_runner_item_on_skipped', self._handle, 'item_skipped', result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._guard('v2_runner_item_on_ok', self._handle, 'item_ok', result)

    def v2_runner_item_on_failed(self, result: t.Any) -> None:
        self._guard('v2_runner_item_on_failed', self._handle, 'item_failed', result)

    def v2_runner_retry(self, result: t.Any) -> None:
        self._guard('v2_runner_retry', self._handle, 'retry', result)

    def v2_runner_on_async_poll(self, result: t.Any) -> None:
        self._guard('v2_runner_on_async_poll', self._handle, 'poll', result)

    def v2_runner_on_async_ok(self, result: t.Any) -> None:
        self._guard('v2_runner_on_async_ok', self._handle, 'async_ok', result)

    def v2_runner_on_async_failed(self, result: t.Any) -> None:
        self._guard('v2_runner_on_async_failed', self._handle, 'async_failed', result)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        self._guard('v2_playbook_on_stats', self._finish)

    def _finish(self) -> None:
        with self._lock:
            self._log(self._tracker.end_events())
            now = time.time()
            jobs = self._tracker.jobs(now)
            unreaped = self._tracker.unreaped(now)
            leftovers = self._tracker.leftovers(now)
            builder = RecapBuilder()
            if self._settings.recap and jobs:
                self._print('\n' + builder.banner('ASYNC JOBS RECAP'))
                self._print(builder.table(jobs))
                if leftovers:
                    self._print(builder.leftover_notes(leftovers), color=_color('COLOR_WARN'))
            if self._settings.unreaped_warning and (unreaped or leftovers):
                if unreaped:
                    self._display.warning('asyncops.jobs.async_log: ' + builder.warning_text(unreaped))
                self._print('\n' + builder.banner('ASYNC JOBS CLEANUP'), color=_color('COLOR_WARN'))
                self._print(builder.cleanup_tasks(list(unreaped) + list(leftovers)), color=_color('COLOR_WARN'))
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._settings.timeline_path:
                self._write_timeline(self._settings.timeline_path, jobs, now)
            self._events = []

    def _write_timeline(self, path: str, jobs: t.List[t.Dict[str, t.Any]], now: float) -> None:
        path = os.path.expanduser(path)
        title = self._tracker.playbook or 'ansible-playbook'
        try:
            _timeline.write_timeline(path, jobs, list(self._events), title, now)
        except OSError as exc:
            self._display.warning('asyncops.jobs.async_log: cannot write the timeline %s: %s' % (path, to_text(exc)))
            return
        self._print('asyncops.jobs.async_log: timeline written to %s' % path)
