# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Progress reporting for modules: one call that works plainly, under ``async:`` and as a job.

Private to the collection, but meant to be imported by any module (the
collection's and the user's)::

    from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter

    progress = ProgressReporter(total=size, unit='B')
    for chunk in chunks:
        ...
        progress.update(current=done, message='copying')
    progress.done()

Where it writes:

* under this collection's supervisor (``asyncops.jobs.run``, ``asyncops.jobs.download``
  with ``background: true``, any module under ``async:`` with ``asyncops.jobs.supervise``
  on, which folds it into the record for ``poll:``): the file named by ``$ASYNCOPS_PROGRESS_FILE``,
  the job's ``<jid>.progress`` sidecar, and nothing else (the supervisor owns
  the record);
* under ansible-core's own ``async_wrapper`` (the ``async:`` keyword): the
  running record itself, under ``asyncops.progress`` (core's own keys stay
  untouched). Between the wrapper's first write and its final one the module
  is the only writer of that record, so ``ansible.builtin.async_status`` and
  the controller's ``poll:`` loop return the progress. No sidecar there: core's
  cleanup removes only the record;
* when the module runs synchronously: nowhere, every call is a cheap no-op.

Writes replace files atomically and happen at most every ``min_interval``
seconds (default 0.25); a report of 100 percent, ``done()`` and
``update(force=True)`` are always written. Progress is advisory: a write that
fails is dropped, never raised.

Runs on the target (Python 3.8+) and imports only the standard library and
the collection's ``_async_dir``, ``_durations``, ``_proc`` and ``_record``.
"""

from __future__ import annotations

import os
import time
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _proc
from ansible_collections.asyncops.jobs.plugins.module_utils import _record

__all__ = ['ProgressReporter', 'report_progress', 'discover_target', 'ProgressTarget']

DEFAULT_MIN_INTERVAL = 0.25
# how far up the process tree the async_wrapper may be (it is the direct parent
# in every core from 2.17 to 2.21; a shell or an interpreter shim may sit between)
_MAX_ANCESTORS = 4


class ProgressTarget(t.NamedTuple):
    """Where progress goes: the sidecar, plus the running record of a core async job."""
    mode: str  # 'supervisor' or 'async_wrapper'
    # None under core's wrapper: its cleanup removes only the record, so a
    # sidecar would be left behind; the record carries the progress instead
    progress_file: t.Optional[str]
    record: t.Optional[str] = None
    jid: t.Optional[str] = None


def _find_core_record(prefix: str, environ: t.Mapping[str, str]) -> t.Optional[t.Tuple[str, str]]:
    """(async_dir, jid) of the one running core record whose jid starts with prefix + '.'."""
    for async_dir in _async_dir.candidate_async_dirs(environ=environ):
        try:
            if not _async_dir.check_async_dir(async_dir, tighten=False):
                continue
        except _record.JobError:
            continue  # a dir another user could have planted: no progress there
        try:
            names = os.listdir(async_dir)
        except OSError:
            continue
        found = []
        for name in names:
            if not name.startswith(prefix + '.'):
                continue
            if _record.is_record_name(name):
                found.append(name)
        if len(found) == 1:
            return async_dir, found[0]
    return None


def discover_target(environ: t.Optional[t.Mapping[str, str]] = None,
                    ppid: t.Optional[int] = None,
                    argv_of: t.Callable[[int], t.List[str]] = _proc.process_argv,
                    parent_of: t.Callable[[int], int] = _proc.parent_pid) -> t.Optional[ProgressTarget]:
    """Where this process should report progress, or None when nobody is listening.

    Core's async_wrapper is looked for first (it is the nearer ancestor when a
    module runs under ``async:`` inside a job of this collection), then
    ``$ASYNCOPS_PROGRESS_FILE``.
    """
    environ = os.environ if environ is None else environ
    if _async_dir.ASYNC_DIR_ENV in environ:
        pid = os.getppid() if ppid is None else ppid
        for dummy in range(_MAX_ANCESTORS):
            if pid <= 1:
                break
            prefix = _proc.wrapper_jid_prefix(argv_of(pid))
            if prefix:
                found = _find_core_record(prefix, environ)
                # under the collection's async_wrapper the "wrapper" is the job's own supervisor
                if found and found[1] != environ.get(_record.JID_ENV):
                    paths = _record.job_paths(found[0], found[1])
                    return ProgressTarget('async_wrapper', None, paths.record, found[1])
                break
            pid = parent_of(pid)
    path = environ.get(_record.PROGRESS_ENV)
    if path and os.path.isabs(path):
        return ProgressTarget('supervisor', path, None, environ.get(_record.JID_ENV) or None)
    return None


class ProgressReporter(object):
    """Report progress of the running module; see the module docstring.

    ``total`` and ``unit`` are defaults for every update. ``start`` is the
    amount already done before this run (a resumed download): the rate and
    ETA count only what this run did.
    """

    def __init__(self, total: t.Optional[float] = None, unit: t.Optional[str] = None,
                 min_interval: float = DEFAULT_MIN_INTERVAL, start: t.Optional[float] = None,
                 environ: t.Optional[t.Mapping[str, str]] = None,
                 target: t.Optional[ProgressTarget] = None,
                 clock: t.Callable[[], float] = time.monotonic,
                 wallclock: t.Callable[[], float] = time.time) -> None:
        self.target = target if target is not None else discover_target(environ)
        self.total = total
        self.unit = unit
        self.min_interval = min_interval
        self._clock = clock
        self._wallclock = wallclock
        self._t0 = clock()
        self._start = start or 0
        self._last_write = None  # type: t.Optional[float]
        self._pending = None  # type: t.Optional[t.Dict[str, t.Any]]
        self.last = None  # type: t.Optional[t.Dict[str, t.Any]]
        self.writes = 0
        self.errors = 0

    @property
    def active(self) -> bool:
        return self.target is not None

    def update(self, current: t.Optional[float] = None, total: t.Optional[float] = None,
               percent: t.Optional[float] = None, message: t.Optional[str] = None,
               unit: t.Optional[str] = None, force: bool = False) -> bool:
        """Record progress; returns True when it was written now (False: throttled or inactive)."""
        if self.target is None:
            return False
        if total is not None:
            self.total = total
        if unit is not None:
            self.unit = unit
        data = dict(_record.normalize_progress({
            'percent': percent, 'message': message, 'current': current,
            'total': self.total, 'unit': self.unit}))  # type: t.Dict[str, t.Any]
        now = self._clock()
        data['updated_at'] = self._wallclock()
        data.update(self._rate(data, now))
        final = data['percent'] is not None and data['percent'] >= 100
        if not (force or final) and self._last_write is not None and now - self._last_write < self.min_interval:
            self._pending = data
            return False
        self._write(data, now)
        return True

    def done(self, message: t.Optional[str] = None) -> bool:
        """Report 100 percent (current = total when a total is known), always written."""
        current = self.total if self.total is not None else (self.last or {}).get('current')
        return self.update(current=current, percent=100, message=message, force=True)

    def flush(self) -> bool:
        """Write the last throttled update, if any."""
        if self._pending is None or self.target is None:
            return False
        self._write(self._pending, self._clock())
        return True

    def result_progress(self) -> t.Optional[t.Dict[str, t.Any]]:
        """The latest report, for the module's result to carry as ``asyncops.progress``; None unless under core's wrapper.

        There the module's result replaces the running record, and with it the
        progress it carried; returned in the result, the final status still has it.
        """
        if self.target is None or self.target.mode != 'async_wrapper':
            return None
        data = self._pending if self._pending is not None else self.last
        return None if data is None else dict(data)

    def _rate(self, data: t.Mapping[str, t.Any], now: float) -> t.Dict[str, t.Any]:
        """rate and eta of what this run did (a resumed download's earlier bytes do not count)."""
        current, total = data.get('current'), data.get('total')
        if current is None:
            return {'rate': None, 'eta': None}
        done = max(current - self._start, 0)
        rate, eta = _durations.rate_and_eta(done, None if total is None else total - self._start, None,
                                            now - self._t0)
        return {'rate': rate, 'eta': eta}

    def _write(self, data: t.Dict[str, t.Any], now: float) -> None:
        self._pending = None
        self._last_write = now
        self.last = data
        target = self.target
        if target is None:
            return
        try:
            if target.progress_file is not None:
                _record.write_json(target.progress_file, data)
            if target.record is not None:
                self._fold_into_record(target.record, target.jid, data)
            self.writes += 1
        except (_record.JobError, OSError, ValueError):
            self.errors += 1

    @staticmethod
    def _fold_into_record(path: str, jid: t.Optional[str], data: t.Mapping[str, t.Any]) -> None:
        """Put the progress into core's running record (we are its only writer until the module exits).

        The record is read through _record.open_private (never a link, never another user's) and
        replaced atomically (a rename, which never writes through a link).
        """
        try:
            record = _record.read_json(path)
        except _record.JobError:
            return
        if _record.is_finished(record) or record.get('ansible_job_id') != jid:
            return  # not the running record we expect: leave it alone
        _record.write_json(path, _record.with_progress(record, data))


_default_reporter = None  # type: t.Optional[ProgressReporter]


def report_progress(percent: t.Optional[float] = None, message: t.Optional[str] = None,
                    current: t.Optional[float] = None, total: t.Optional[float] = None,
                    unit: t.Optional[str] = None, force: bool = False) -> bool:
    """Module-level shortcut over one process-wide ProgressReporter."""
    global _default_reporter
    if _default_reporter is None:
        _default_reporter = ProgressReporter()
    return _default_reporter.update(current=current, total=total, percent=percent, message=message,
                                    unit=unit, force=force)
