#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Prune stale asyncops/ansible job records without Ansible.

Installed by the asyncops.jobs.janitor role next to a copy of the collection's
job-record library (``_jobs.py``) and run by a systemd timer or a cron entry
as the user whose job records it prunes. It removes finished and lost jobs
(record plus sidecars) whose last write is older than --max-age, and garbage
(stray temp files, sidecars without a record) older than --max-age and one hour. It never removes a running
job: every record is judged with ``_jobs.read_live_record``, which tells a
running job from a lost one by its processes.

Exit status: 0 when everything went well (also when nothing was removed),
1 when some file could not be read or removed, 2 on bad arguments.
Nothing is printed unless --verbose or --json is given or something fails,
so cron mails only trouble.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # leave nothing behind in the install directory
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _jobs  # noqa: E402  pylint: disable=wrong-import-position

_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
# A stray file younger than this may be a write in progress: never garbage, whatever --max-age says.
# The same rule as asyncops.jobs.async_status mode=prune.
GARBAGE_MIN_AGE = 3600.0
_AGE_RE = re.compile(r'([0-9]+(?:\.[0-9]+)?)([smhdw]?)')


def parse_age(text):
    """Seconds from ``3600``, ``30m``, ``2h``, ``7d``, ``1w`` or a sum such as ``1d12h``."""
    raw = str(text).strip().lower().replace(' ', '')
    if not raw:
        raise ValueError('empty age')
    total, pos = 0.0, 0
    for m in _AGE_RE.finditer(raw):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2) or 's']
        pos = m.end()
    if pos != len(raw):
        raise ValueError('invalid age %r: use seconds or a number with a unit s, m, h, d or w '
                         '(30m, 2h, 7d, 1d12h)' % (text,))
    return total


def last_write(entry):
    """When the job last wrote anything: its record or one of its sidecars."""
    newest = entry.mtime
    for path in entry.sidecars.values():
        try:
            newest = max(newest, os.stat(path).st_mtime)
        except OSError:
            pass
    return newest


def prune_dir(async_dir, max_age, now, dry_run):
    report = {'async_dir': async_dir, 'removed': [], 'removed_files': [], 'kept_running': [],
              'kept_young': [], 'skipped': [], 'errors': []}
    cutoff = now - max_age
    garbage_cutoff = now - max(max_age, GARBAGE_MIN_AGE)
    jobs, garbage = _jobs.list_jobs(async_dir)
    for entry in jobs:
        try:
            record = _jobs.read_live_record(async_dir, entry.jid)
        except _jobs.JobNotFound:
            continue  # removed by someone else while we looked
        except _jobs.JobError as e:
            # unreadable or damaged: not provably finished, so never ours to delete
            report['skipped'].append({'jid': entry.jid, 'reason': e.msg})
            continue
        if not _jobs.is_finished(record):
            report['kept_running'].append(entry.jid)
            continue
        if last_write(entry) > cutoff:
            report['kept_young'].append(entry.jid)
            continue
        if dry_run:
            report['removed'].append(entry.jid)
            report['removed_files'].extend([entry.record] + sorted(entry.sidecars.values()))
            continue
        try:
            report['removed_files'].extend(_jobs.remove_job(async_dir, entry.jid))
            report['removed'].append(entry.jid)
        except _jobs.JobError as e:
            report['errors'].append(e.msg)
    for item in garbage:
        if item.mtime > garbage_cutoff:
            continue
        if not dry_run:
            try:
                os.unlink(item.path)
            except FileNotFoundError:
                continue
            except OSError as e:
                report['errors'].append('cannot remove %s (%s): %s' % (item.path, item.reason, e.strerror or e))
                continue
        report['removed_files'].append(item.path)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Remove finished and lost job records (and stray job files) older than --max-age. '
                    'Running jobs are never removed.')
    parser.add_argument('--async-dir', default=None,
                        help='the job directory; "~" and $VARS expand for the user running this '
                             '(default: $%s, else %s)' % (_jobs.ASYNC_DIR_ENV, _jobs.DEFAULT_ASYNC_DIR))
    parser.add_argument('--max-age', default='7d',
                        help='remove jobs whose last write is older than this: seconds or 30m, 2h, 7d, 1w '
                             '(default: %(default)s)')
    parser.add_argument('--dry-run', action='store_true', help='report what would be removed, remove nothing')
    parser.add_argument('--json', action='store_true', help='print a JSON report on stdout')
    parser.add_argument('-v', '--verbose', action='store_true', help='print one line per removed job')
    args = parser.parse_args(argv)
    try:
        max_age = parse_age(args.max_age)
    except ValueError as e:
        parser.error(str(e))

    now = time.time()
    reports = []
    status = 0
    for async_dir in _jobs.candidate_async_dirs(args.async_dir):
        try:
            report = prune_dir(async_dir, max_age, now, args.dry_run)
        except _jobs.JobError as e:
            report = {'async_dir': async_dir, 'removed': [], 'removed_files': [], 'kept_running': [],
                      'kept_young': [], 'skipped': [], 'errors': [e.msg]}
        reports.append(report)
        for msg in report['errors']:
            status = 1
            sys.stderr.write('asyncops_prune: %s\n' % msg)
        if args.verbose:
            verb = 'would remove' if args.dry_run else 'removed'
            for jid in report['removed']:
                sys.stdout.write('%s job %s from %s\n' % (verb, jid, async_dir))
            for item in report['skipped']:
                sys.stdout.write('skipped %s: %s\n' % (item['jid'], item['reason']))
    if args.json:
        result = {
            'changed': any(r['removed_files'] for r in reports) and not args.dry_run,
            'dry_run': args.dry_run,
            'max_age': max_age,
            'removed': [jid for r in reports for jid in r['removed']],
            'removed_files': [p for r in reports for p in r['removed_files']],
            'kept_running': [jid for r in reports for jid in r['kept_running']],
            'dirs': reports,
        }
        sys.stdout.write(json.dumps(result, sort_keys=True, indent=1) + '\n')
    return status


if __name__ == '__main__':
    sys.exit(main())
