# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measuring probe of the benchmarks (benchmarks/run); not part of the collection.

Writes one JSON file (path in ``AOJ_BENCH_PROBE_OUT``) at the end of the
playbook with, in the controller's clock (``time.time()``):

- ``tasks``: every ``v2_playbook_on_task_start`` (name, uuid, time) in order:
  the moment the strategy moves on to a task;
- ``results``: one entry per host and task result (``ok``, ``failed``,
  ``skipped``, ``unreachable``) with the time the result reached the callback,
  the time the worker started (``v2_runner_on_start``), ``attempts``, the
  number of ``v2_runner_retry`` and ``v2_runner_on_async_poll`` events, the
  job ids the result holds and, for loops, one entry per item;
- ``counts``: the number of each callback event.

It changes nothing and prints nothing.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: aoj_bench_probe
type: aggregate
short_description: timing and event probe of the asyncops.jobs benchmarks
description:
  - Records task starts, results, retries and async polls with controller timestamps into the JSON file
    named by the environment variable E(AOJ_BENCH_PROBE_OUT).
requirements:
  - enabled with callbacks_enabled = aoj_bench_probe
"""


def _host(result):
    return result._host.get_name()


def _jids(res):
    out = {}
    for key in ('ansible_job_id', 'ansible_job_ids', 'started', 'finished', 'attempts', 'results_file', 'msg'):
        if key in res:
            value = res[key]
            if isinstance(value, (str, int, float, bool, list)) or value is None:
                out[key] = value if not isinstance(value, list) else [str(v) for v in value]
            else:
                out[key] = str(value)
    # the collection's state, elapsed and pid live under asyncops; top-level state/elapsed are the job's own
    block = res.get('asyncops')
    if isinstance(block, dict):
        keys = ('started_at', 'ended_at', 'state', 'elapsed', 'pid', 'signal', 'rc', 'reason')
        out['asyncops'] = dict((k, block.get(k)) for k in keys
                               if isinstance(block.get(k), (str, int, float, bool)) or block.get(k) is None)
    summary = res.get('summary')
    if isinstance(summary, dict):
        out['summary'] = dict((str(k), v) for k, v in summary.items() if isinstance(v, (int, float, str)))
    return out


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'aoj_bench_probe'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.t0 = time.time()
        self.tasks = []
        self.results = []
        self.items = {}
        self.starts = {}
        self.retries = {}
        self.polls = {}
        self.counts = {}
        self.plays = []

    def _count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1

    def v2_playbook_on_play_start(self, play):
        self._count('play_start')
        self.plays.append({'name': play.get_name(), 't': time.time()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._count('task_start')
        self.tasks.append({'name': task.get_name(), 'uuid': task._uuid, 't': time.time()})

    def v2_runner_on_start(self, host, task):
        self._count('runner_start')
        self.starts.setdefault((host.get_name(), task._uuid), time.time())

    def _result(self, status, result):
        now = time.time()
        self._count(status)
        key = (_host(result), result._task._uuid)
        res = result._result
        entry = {
            'host': key[0],
            'task': result._task.get_name(),
            'uuid': key[1],
            'status': status,
            't': now,
            't_runner_start': self.starts.pop(key, None),
            'retries': self.retries.pop(key, 0),
            # the poll events of `async: N, poll: M` carry core's synthetic async_status task: keyed by host
            'polls': self.polls.pop(key[0], 0),
            'items': self.items.pop(key, []),
        }
        entry.update(_jids(res))
        self.results.append(entry)

    def v2_runner_on_ok(self, result):
        self._result('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('failed', result)

    def v2_runner_on_skipped(self, result):
        self._result('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._result('unreachable', result)

    def _item(self, status, result):
        self._count('item_' + status)
        key = (_host(result), result._task._uuid)
        entry = {'status': status, 't': time.time()}
        entry.update(_jids(result._result))
        self.items.setdefault(key, []).append(entry)

    def v2_runner_item_on_ok(self, result):
        self._item('ok', result)

    def v2_runner_item_on_failed(self, result):
        self._item('failed', result)

    def v2_runner_item_on_skipped(self, result):
        self._item('skipped', result)

    def v2_runner_retry(self, result):
        self._count('retry')
        key = (_host(result), result._task._uuid)
        self.retries[key] = self.retries.get(key, 0) + 1

    def v2_runner_on_async_poll(self, result):
        self._count('async_poll')
        host = _host(result)
        self.polls[host] = self.polls.get(host, 0) + 1

    def v2_runner_on_async_ok(self, result):
        self._count('async_ok')

    def v2_runner_on_async_failed(self, result):
        self._count('async_failed')

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('AOJ_BENCH_PROBE_OUT')
        if not path:
            return
        data = {'t0': self.t0, 't_end': time.time(), 'plays': self.plays, 'tasks': self.tasks,
                'results': self.results, 'counts': self.counts}
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(data, f, default=str)
        os.replace(tmp, path)
