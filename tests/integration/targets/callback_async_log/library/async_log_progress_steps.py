#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: async_log_progress_steps
short_description: Test fixture that works in steps and reports its progress
description:
  - Sleeps O(delay) seconds per step for O(steps) steps and reports each step with the collection's progress
    helper (C(_progress.ProgressReporter)). Under the built-in C(async) keyword the helper folds the progress
    into the running job record under C(asyncops.progress), so that polls and M(ansible.builtin.async_status)
    carry it.
  - Its result carries the last progress under C(asyncops.progress), and a C(progress) key of its own (a
    string) that the callback must not take for the job's progress.
author:
  - asyncops.jobs developers (@asyncops)
options:
  steps:
    description: Number of steps.
    type: int
    default: 5
  delay:
    description: Seconds per step.
    type: float
    default: 1.0
  message:
    description:
      - A text put before each step's progress message (a test puts a secret there to show it is not logged).
    type: str
    default: ''
  release_file:
    description:
      - Before the last step, wait until this file exists (at most 300 seconds), so that a test can
        observe the running job for as long as it needs.
    type: path
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter


def main():
    module = AnsibleModule(
        argument_spec=dict(
            steps=dict(type='int', default=5),
            delay=dict(type='float', default=1.0),
            release_file=dict(type='path'),
            message=dict(type='str', default=''),
        ),
    )
    steps = max(1, module.params['steps'])
    delay = module.params['delay']
    release = module.params['release_file']
    progress = ProgressReporter(total=steps, unit='steps')
    for done in range(steps):
        progress.update(current=done, message='%sstep %d of %d' % (module.params['message'], done, steps), force=True)
        time.sleep(delay)
    deadline = time.time() + 300
    while release and not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.1)
    progress.update(current=steps, message='step %d of %d' % (steps, steps), force=True)
    result = {'changed': True, 'steps': steps, 'progress': 'all %d steps done' % steps,
              'job_record': progress.target.record if progress.target else None}
    last = progress.result_progress()
    if last is not None:
        # under core's wrapper the result replaces the running record: keep the progress it carried
        result = _record.with_progress(result, last)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
