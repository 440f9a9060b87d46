# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a task result says about a job, read by the collection's result contract.

A job's own keys (``state``, ``elapsed``, ``progress`` of a ``file``, ``wait_for`` or
``get_url`` result) are the job's, never ours: what this collection adds lives under
``asyncops`` (the job state, the elapsed time computed on the target, the progress, the
supervisor's start and end times). The job state is read through the record's one owner,
``_record.record_state``; a result that is no record (a module failure, the built-in's
cleanup) has no job state. Controller side; never changes a result.
"""

from __future__ import annotations

import datetime
import json
import typing as t

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status

MSG_MAX = 2000
# the message of a status of a job whose record is not there (the built-in's words exactly)
JOB_NOT_FOUND_MSG = _status.NOT_FOUND_MSG


# ---------------------------------------------------------------- plain values of a result

def is_template(value: t.Any) -> bool:
    """True for a string that still holds Jinja2 (an untemplated task argument)."""
    return isinstance(value, str) and ('{{' in value or '{%' in value)


def as_bool(value: t.Any) -> bool:
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


def as_number(value: t.Any) -> t.Optional[float]:
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


def literal(value: t.Any) -> t.Optional[str]:
    """The value if it is a plain (non-template) scalar string, else None."""
    if isinstance(value, str) and value and not is_template(value):
        return value
    return None


def iso_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec='milliseconds')


def truncate(text: t.Any, limit: int = MSG_MAX) -> t.Optional[str]:
    if text is None:
        return None
    out = to_text(text, errors='surrogate_or_replace')  # type: str
    if len(out) > limit:
        return out[:limit - 3] + '...'
    return out


def plain_copy(value: t.Any, depth: int = 0) -> t.Any:
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


def result_msg(result: t.Any) -> t.Optional[str]:
    """The result's message (its stderr when it failed without one), at most MSG_MAX characters."""
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


# ---------------------------------------------------------------- what ansible-core hands a callback

def accessor(result: t.Any) -> t.Tuple[t.Optional[str], t.Any, t.Any]:
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


# ---------------------------------------------------------------- the result contract

def ours(result: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """What the collection added to a result or per-job entry: its ``asyncops`` block ({} when there is none).

    The record's block (``_record.AsyncopsBlock``) plus, in a status result, the status view (``elapsed``,
    ``time_left``, ``progress`` with ``rate``/``eta``, ``kill``, ...).
    """
    return t.cast(t.Dict[str, t.Any], _record.asyncops_block(result))


def record_input(result: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The record ``_record.record_state`` reads, built from a task result; None for a result that is no record.

    A result seen by the controller is not the record on the host: ``started``/``finished``/``failed``
    may be 0/1 or strings, and a result with neither ``started`` nor ``finished`` set (a module
    failure, ``could not find job`` of a damaged call, the built-in's cleanup) says nothing about the
    job's state, where ``record_state`` would read a record without ``started`` as a final result.
    """
    if ours(result).get('state') in _record.STATES:
        return dict(result)
    finished = as_bool(result.get('finished'))
    started = as_bool(result.get('started'))
    if not finished and not started:
        return None
    record = dict(result)
    record['started'] = True
    record['finished'] = finished
    record['failed'] = as_bool(result.get('failed'))
    return record


def is_censored(result: t.Mapping[str, t.Any]) -> bool:
    """A result ansible-core censored for ``no_log`` (every supported core marks it with ``censored``)."""
    return 'censored' in result


def job_state(result: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The job state a result reports (one of ``_record.STATES`` or ``_record.NOT_STARTED``), or None."""
    if ours(result).get('state') == _record.NOT_STARTED or _record.is_check_mode_jid(result.get('ansible_job_id')):
        # a launch in check mode, or the status of its jid: no job, no record
        return _record.NOT_STARTED
    record = record_input(result)
    if record is None:
        return None
    return _record.record_state(record)


def _int(value: t.Any) -> t.Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# the keys of a supervised job's asyncops block that name its sidecars
SIDECAR_KEYS = ('stdout_file', 'stderr_file', 'progress_file')


class JobReport(t.NamedTuple):
    """What one job's result (or one per-job entry of a multi-job result) says about the job.

    Plain values, built by ``read``; a job's own top-level ``state``, ``elapsed`` and ``progress``
    are never read.
    """

    jid: t.Optional[str] = None
    state: t.Optional[str] = None  # one of _record.STATES, None when the result reports none
    finished: bool = False
    failed: bool = False
    started_at: t.Optional[float] = None  # asyncops.started_at, epoch seconds on the target's clock
    ended_at: t.Optional[float] = None
    elapsed: t.Optional[float] = None  # asyncops.elapsed, computed on the target
    progress: t.Optional[t.Dict[str, t.Any]] = None  # a copy of asyncops.progress
    results_file: t.Optional[str] = None
    delegated_host: t.Optional[str] = None
    msg: t.Optional[str] = None
    rc: t.Optional[int] = None  # asyncops.rc, else the job's own top-level rc
    reason: t.Optional[str] = None  # asyncops.reason: why the job ended
    supervised: bool = False  # a job of this collection's supervisor (it has sidecars)
    sidecars: t.Tuple[str, ...] = ()  # the sidecar files the result names (asyncops.stdout_file, ...)

    @classmethod
    def read(cls, result: t.Mapping[str, t.Any]) -> 'JobReport':
        block = ours(result)
        jid = result.get('ansible_job_id')
        progress = block.get('progress')
        delegated = None
        dv = result.get('_ansible_delegated_vars')
        if isinstance(dv, dict):
            delegated = literal(dv.get('ansible_delegated_host')) or literal(dv.get('ansible_host'))
        return cls(
            jid=to_text(jid) if jid else None,
            state=job_state(result),
            finished=as_bool(result.get('finished')),
            failed=as_bool(result.get('failed')),
            started_at=as_number(block.get('started_at')),
            ended_at=as_number(block.get('ended_at')),
            elapsed=as_number(block.get('elapsed')),
            progress=plain_copy(progress) if isinstance(progress, dict) else None,
            results_file=result['results_file'] if isinstance(result.get('results_file'), str) else None,
            delegated_host=delegated,
            msg=result_msg(result),
            rc=_int(block.get('rc')) if _int(block.get('rc')) is not None else _int(result.get('rc')),
            reason=block['reason'] if isinstance(block.get('reason'), str) else None,
            supervised=_record.is_supervised(result) or block.get('kind') in (_record.KIND_RUN, _record.KIND_DOWNLOAD),
            sidecars=tuple(block[key] for key in SIDECAR_KEYS if isinstance(block.get(key), str)),
        )

    def as_dict(self) -> t.Dict[str, t.Any]:
        return dict(self._asdict())


# the keys of a mode=list entry that are the collection's view of the job (a listing holds no job's own keys)
LISTING_VIEW_KEYS = ('state', 'elapsed', 'started_at', 'ended_at', 'progress')


def listing_record(entry: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """A ``mode: list`` entry as the single-job result ``JobReport.read`` takes.

    ``list`` keeps its own documented shape: each entry is the collection's listing of a job, with its
    ``state``, ``elapsed`` and ``progress`` at the top level, never the job's own result.
    """
    record = dict((key, entry[key]) for key in ('ansible_job_id', 'finished', 'failed', 'msg', 'results_file')
                  if key in entry)
    record['started'] = True
    record[_record.BLOCK_KEY] = dict((key, entry[key]) for key in LISTING_VIEW_KEYS if key in entry)
    return record


def job_entries(result: t.Mapping[str, t.Any]) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
    """The per-job entries of a multi-job result (``jids``, ``list``), or None for a single job's result.

    A single job's result names its job (``ansible_job_id``); a ``jobs`` key beside it is the job's own.
    """
    jobs = result.get('jobs')
    if 'ansible_job_id' in result or not isinstance(jobs, list):
        return None
    return [entry for entry in jobs if isinstance(entry, dict)]


def launch_entries(result: t.Mapping[str, t.Any]) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
    """The per-job entries of a batch launch (``asyncops.jobs.run`` with ``batch``), or None for any other result.

    A batch launch names its jobs in ``ansible_job_ids`` and in ``jobs`` (one entry per item, each with its
    ``ansible_job_id``), never in a top-level ``ansible_job_id``.
    """
    jids = result.get('ansible_job_ids')
    jobs = result.get('jobs')
    if 'ansible_job_id' in result or not isinstance(jids, list) or not isinstance(jobs, list):
        return None
    return [entry for entry in jobs if isinstance(entry, dict) and entry.get('ansible_job_id')]


def is_kill_result(result: t.Mapping[str, t.Any]) -> bool:
    """A result of ``asyncops.jobs.async_status`` ``mode: kill`` (its report of the kill lives under ``asyncops``)."""
    return isinstance(ours(result).get('kill'), dict)
