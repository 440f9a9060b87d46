#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prune stale asyncops/ansible job records without Ansible.

Installed by the asyncops.jobs.janitor role together with the collection's own
module_utils it needs, under ``ansible_collections/asyncops/jobs/plugins/module_utils/``
next to this file, and run by a systemd timer or a cron entry as the user
whose job records it prunes. Every decision is the collection's: the age is
parsed by ``_durations.parse_duration``, the job directory found by
``_async_dir.candidate_async_dirs`` and what goes decided and removed by
``_prune.prune_jobs``, exactly as ``asyncops.jobs.async_status mode=prune``
does. This script only parses arguments, prints and sets the exit status.

Exit status: 0 when everything went well (also when nothing was removed),
1 when some file could not be read or removed, 2 on bad arguments.
Nothing is printed unless --verbose or --json is given or something fails,
so cron mails only trouble.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # leave nothing behind in the install directory
INSTALL_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, INSTALL_DIR)

# pylint: disable=wrong-import-position
from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir  # noqa: E402
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations  # noqa: E402
from ansible_collections.asyncops.jobs.plugins.module_utils import _prune  # noqa: E402
from ansible_collections.asyncops.jobs.plugins.module_utils import _record  # noqa: E402

MODULE_UTILS_DIR = os.path.join(INSTALL_DIR, 'ansible_collections', 'asyncops', 'jobs', 'plugins', 'module_utils')


def foreign_modules():
    """Modules imported from anywhere but the install directory (another copy of the collection on sys.path)."""
    return [m.__file__ for m in (_async_dir, _durations, _prune, _record)
            if os.path.dirname(os.path.abspath(m.__file__)) != MODULE_UTILS_DIR]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Remove finished and lost job records (and stray job files) older than --max-age, '
                    'as asyncops.jobs.async_status mode=prune does. Running jobs are never removed.')
    parser.add_argument('--async-dir', default=None,
                        help='the job directory; "~" and $VARS expand for the user running this '
                             '(default: $%s, else %s)' % (_async_dir.ASYNC_DIR_ENV, _async_dir.DEFAULT_ASYNC_DIR))
    parser.add_argument('--max-age', default='7d',
                        help='remove jobs whose last write is older than this: seconds, or 30m, 2h, 2hours, 7d, '
                             '1w, 1h30m (default: %(default)s)')
    parser.add_argument('--dry-run', action='store_true', help='report what would be removed, remove nothing')
    parser.add_argument('--json', action='store_true', help='print a JSON report on stdout')
    parser.add_argument('-v', '--verbose', action='store_true', help='print one line per removed job or file')
    args = parser.parse_args(argv)
    try:
        max_age = _durations.parse_duration(args.max_age, 'max_age')
    except ValueError as e:
        parser.error(str(e))

    foreign = foreign_modules()
    if foreign:
        sys.stderr.write('asyncops_prune: the collection code was not imported from %s: %s\n'
                         % (MODULE_UTILS_DIR, ', '.join(foreign)))
        return 1

    now = time.time()
    async_dirs = _async_dir.candidate_async_dirs(args.async_dir)
    reports = []
    status = 0
    seen = set()
    for async_dir in async_dirs:
        report = {'async_dir': async_dir, 'errors': []}
        try:
            # refuses a symlink or a dir of another user, makes ours private (not in a dry run)
            if not _async_dir.check_async_dir(async_dir, tighten=not args.dry_run):
                continue  # nothing to prune there
            st = os.stat(async_dir)
            if (st.st_dev, st.st_ino) in seen:
                continue  # the same directory by another name, as the module dedupes it
            seen.add((st.st_dev, st.st_ino))
            pruned = _prune.prune_jobs([async_dir], max_age, now, args.dry_run)
            report.update((k, pruned[k]) for k in ('removed', 'removed_files', 'removed_garbage', 'kept_running'))
            # a record that cannot be read or trusted is never removed: say so, so that cron mails it
            report['errors'].extend('kept %s: %s' % (u['path'], u['reason']) for u in pruned['kept_unreadable'])
        except _record.JobError as e:
            report['errors'].append(e.msg)
        except OSError as e:
            report['errors'].append('cannot access async dir %s: %s' % (async_dir, e.strerror or e))
        reports.append(report)
        for msg in report['errors']:
            status = 1
            sys.stderr.write('asyncops_prune: %s\n' % msg)
        if args.verbose:
            verb = 'would remove' if args.dry_run else 'removed'
            for jid in report.get('removed', []):
                sys.stdout.write('%s job %s from %s\n' % (verb, jid, async_dir))
            for path in report.get('removed_garbage', []):
                sys.stdout.write('%s stray file %s\n' % (verb, path))
    if args.json:
        # the shape of async_status mode=prune, plus dry_run, errors and the report of each directory
        result = {
            'changed': any(r.get('removed_files') for r in reports) and not args.dry_run,
            'dry_run': args.dry_run,
            'max_age': max_age,
            'async_dirs': async_dirs,
            'removed': [jid for r in reports for jid in r.get('removed', [])],
            'removed_files': [p for r in reports for p in r.get('removed_files', [])],
            'removed_garbage': [p for r in reports for p in r.get('removed_garbage', [])],
            'kept_running': sum(r.get('kept_running', 0) for r in reports),
            'errors': [msg for r in reports for msg in r['errors']],
            'dirs': reports,
        }
        sys.stdout.write(json.dumps(result, sort_keys=True, indent=1) + '\n')
    return status


if __name__ == '__main__':
    sys.exit(main())
