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
  - Sleeps O(delay) seconds per step for O(steps) steps.
  - Run under the built-in C(async) keyword, it folds its progress into the running job record, as the
    collection's progress helper does under ansible-core's async_wrapper, so that polls and
    M(ansible.builtin.async_status) carry a C(progress) dict.
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
  release_file:
    description:
      - Before the last step, wait until this file exists (at most 300 seconds), so that a test can
        observe the running job for as long as it needs.
    type: path
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule


def _ancestor_cmdlines():
    pid = os.getppid()
    for dummy in range(6):
        if pid <= 1:
            return
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = [a.decode('utf-8', 'replace') for a in f.read().split(b'\0') if a]
            with open('/proc/%d/stat' % pid) as f:
                pid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (IOError, OSError, ValueError, IndexError):
            return
        yield argv


def find_job_record():
    """The running record of this job: <async_dir>/<prefix>.<pid>, <prefix> is an argument of async_wrapper."""
    async_dir = os.path.expanduser(os.environ.get('ANSIBLE_ASYNC_DIR', '~/.ansible_async'))
    if not os.path.isdir(async_dir):
        return None
    for argv in _ancestor_cmdlines():
        for arg in argv:
            if re.match(r'^j?\d+$', arg):
                names = [n for n in os.listdir(async_dir) if n.startswith(arg + '.') and re.match(r'^j?\d+\.\d+$', n)]
                if len(names) == 1:
                    return os.path.join(async_dir, names[0])
    return None


def write_progress(path, done, steps):
    jid = os.path.basename(path)
    record = {
        'started': True,
        'finished': False,
        'ansible_job_id': jid,
        'progress': {
            'percent': 100.0 * done / steps,
            'message': 'step %d of %d' % (done, steps),
            'current': done,
            'total': steps,
            'unit': 'steps',
            'rate': None,
            'eta': None,
            'updated_at': time.time(),
        },
    }
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(json.dumps(record))
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            steps=dict(type='int', default=5),
            delay=dict(type='float', default=1.0),
            release_file=dict(type='path'),
        ),
    )
    steps = max(1, module.params['steps'])
    delay = module.params['delay']
    release = module.params['release_file']
    record = find_job_record()
    for done in range(steps):
        if record:
            write_progress(record, done, steps)
        time.sleep(delay)
    deadline = time.time() + 300
    while release and not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.1)
    if record:
        write_progress(record, steps, steps)
    module.exit_json(changed=True, steps=steps, job_record=record,
                     progress={'percent': 100.0, 'current': steps, 'total': steps, 'unit': 'steps',
                               'message': 'done', 'updated_at': time.time()})


if __name__ == '__main__':
    main()
