#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: copy_items
short_description: The module of docs/user_guide.md that reports its progress
description:
  - Works through O(count) items, O(delay) seconds each, and reports its progress with the collection's
    progress helper.
author:
  - asyncops.jobs developers (@asyncops)
options:
  count:
    description: Number of items.
    type: int
    default: 5
  delay:
    description: Seconds per item.
    type: float
    default: 1.0
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter


def main():
    module = AnsibleModule(argument_spec=dict(
        count=dict(type='int', default=5),
        delay=dict(type='float', default=1.0),
    ))
    count = module.params['count']
    progress = ProgressReporter(total=count, unit='items')   # a no-op when nobody listens
    for done in range(1, count + 1):
        time.sleep(module.params['delay'])                    # the real work goes here
        progress.update(current=done, message='item %d of %d' % (done, count))
    progress.done(message='all %d items' % count)
    module.exit_json(changed=True, count=count)


if __name__ == '__main__':
    main()
