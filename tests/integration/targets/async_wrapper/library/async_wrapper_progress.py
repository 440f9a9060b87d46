#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: async_wrapper_progress
short_description: Test module that reports its progress with the collection's helper
description:
  - Reports O(steps) steps, O(delay) seconds apart, with C(_progress.ProgressReporter), then waits at the last
    step until O(release_file) exists (at most O(release_timeout) seconds), then reports 100 percent and exits.
  - Under the collection's async_wrapper the helper writes the job's progress sidecar and the supervisor folds it
    into the running record, so that the controller's C(poll) loop sees it.
author:
  - asyncops.jobs developers (@asyncops)
options:
  steps:
    description: Number of steps before the wait.
    type: int
    default: 6
  delay:
    description: Seconds per step.
    type: float
    default: 0.5
  release_file:
    description: Wait at the last step until this file exists.
    type: path
  release_timeout:
    description: Wait at most this many seconds for O(release_file).
    type: float
    default: 120
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter


def main():
    module = AnsibleModule(
        argument_spec=dict(
            steps=dict(type='int', default=6),
            delay=dict(type='float', default=0.5),
            release_file=dict(type='path'),
            release_timeout=dict(type='float', default=120),
        ),
    )
    steps = max(1, module.params['steps'])
    total = steps + 1
    progress = ProgressReporter(total=total, unit='steps')
    for done in range(steps):
        progress.update(current=done, message='step %d of %d' % (done + 1, total), force=True)
        time.sleep(module.params['delay'])
    progress.update(current=steps, message='step %d of %d' % (total, total), force=True)
    release = module.params['release_file']
    deadline = time.monotonic() + module.params['release_timeout']
    while release and not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.1)
    progress.done(message='done')
    module.exit_json(changed=True, steps=total, released=bool(release and os.path.exists(release)),
                     progress_reported=progress.active)


if __name__ == '__main__':
    main()
