# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The end of a playbook: the table of every job seen, the warning about jobs never collected, and the
``asyncops.jobs.async_status`` tasks that clean them up (from the tracker's job summaries)."""

from __future__ import annotations

import json
import typing as t

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.module_utils._record import NOT_STARTED
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._console import fmt_duration, host_label


def _yaml_scalar(value: t.Any) -> str:
    """A YAML scalar that round-trips as the same string."""
    text = to_text(value)  # type: str
    safe = text and all(c.isalnum() or c in '._-/' for c in text) and not text[0] in '-.' \
        and text.lower() not in ('true', 'false', 'yes', 'no', 'on', 'off', 'null', 'y', 'n', '~')
    try:
        float(text)
        safe = False
    except ValueError:
        pass
    if safe:
        return text
    return json.dumps(text)


class RecapBuilder(object):
    """The end-of-playbook table, the unreaped warning and the cleanup tasks."""

    COLUMNS = ('host', 'task', 'jid', 'state', 'duration', 'polls', 'collected')
    TASK_WIDTH = 40

    def table(self, jobs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
        rows = [list(self.COLUMNS)]
        for job in jobs:
            task = job.get('task') or ''
            if len(task) > self.TASK_WIDTH:
                task = task[:self.TASK_WIDTH - 3] + '...'
            not_started = job.get('state') == NOT_STARTED
            rows.append([
                host_label(job.get('host'), job.get('delegate_to')),
                task,
                job.get('jid') or ('(no_log)' if job.get('no_log') else '?'),
                job.get('state') or 'unknown',
                '-' if not_started else fmt_duration(job.get('duration')),
                '%d' % (job.get('polls') or 0),
                self.collected(job),
            ])
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.COLUMNS))]
        lines = []
        for row in rows:
            lines.append('  '.join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        return '\n'.join(lines)

    @staticmethod
    def collected(job: t.Mapping[str, t.Any]) -> str:
        """'cleaned' (record and files removed), 'files left' (the record only), 'status' (final status seen),
        'no_log' (read by no_log tasks only: hidden), 'NO', or '-' (not started, or not launched in this run)."""
        if job.get('sidecars_left'):
            return 'files left'
        if job.get('cleaned'):
            return 'cleaned'
        if job.get('collected'):
            return 'status'
        if job.get('hidden'):
            return 'no_log'
        if job.get('state') == NOT_STARTED:
            return '-'
        return 'NO' if job.get('launched') else '-'

    @staticmethod
    def leftover_notes(jobs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
        """One line per job whose record was removed while its files were left: what is left, what removes it."""
        lines = []
        for job in jobs:
            where = host_label(job.get('host'), job.get('delegate_to'))
            lines.append('%s on %s: %s' % (job.get('jid'), where, job.get('cleanup_hint')))
        return '\n'.join(lines)

    @staticmethod
    def banner(title: str, width: int = 79) -> str:
        title = '%s ' % title
        return title + '*' * max(3, width - len(title))

    def warning_text(self, jobs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
        names = []
        for job in jobs:
            names.append('%s on %s (task "%s", %s)'
                         % (job['jid'], host_label(job['host'], job.get('delegate_to')), job.get('task') or '?',
                            job.get('state') or 'unknown'))
        count = len(jobs)
        return ('%d async job%s started in this run %s never collected (no final status, no cleanup): %s. '
                'Clean up with the asyncops.jobs.async_status tasks printed below.'
                % (count, '' if count == 1 else 's', 'was' if count == 1 else 'were', '; '.join(names)))

    def cleanup_task(self, job: t.Mapping[str, t.Any]) -> str:
        """The exact asyncops.jobs.async_status task that removes the job's record (YAML, list item)."""
        lines = []
        jid = job['jid']
        host = job.get('delegate_to') or job['host']
        if job.get('may_be_running'):
            lines.append('# %s may still be running on %s: stop it first with mode: kill,' % (jid, host))
            lines.append('# or wait for it with mode: wait and cleanup: true instead of mode: cleanup.')
        title = 'Clean up async job %s of task "%s" on %s' % (jid, job.get('task') or '?', host)
        lines.append('- name: %s' % _yaml_scalar(title))
        lines.append('  asyncops.jobs.async_status:')
        lines.append('    jid: %s' % _yaml_scalar(jid))
        lines.append('    mode: cleanup')
        lines.append('  delegate_to: %s' % _yaml_scalar(host))
        if job.get('become'):
            lines.append('  become: true')
            if job.get('become_user'):
                lines.append('  become_user: %s' % _yaml_scalar(job['become_user']))
        results_file = job.get('results_file')
        if results_file and '/' in results_file:
            async_dir = results_file.rsplit('/', 1)[0]
            if async_dir and not async_dir.endswith('/.ansible_async'):
                lines.append('  vars:')
                lines.append('    ansible_async_dir: %s' % _yaml_scalar(async_dir))
        return '\n'.join(lines)

    def cleanup_tasks(self, jobs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
        return '\n'.join(self.cleanup_task(job) for job in jobs)
