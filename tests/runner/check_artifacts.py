# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks the artifacts of an ``ansible-runner run`` of tests/runner/playbook.yml with asyncops.jobs.async_log enabled.

    python check_artifacts.py --artifacts DIR --log FILE --timeline FILE --payload-size N [--supervised] [--self-test]

DIR is runner's ``artifacts/<ident>`` directory (status, rc, stdout, job_events/). Checks:

* runner says ``successful`` with rc 0;
* runner's ``awx_display`` output is intact: every job event file is valid JSON with the usual keys, counters run
  1..N without a gap, the line numbers follow each other, the ``stdout`` file is the events' stdout joined, there is
  one ``playbook_on_stats``, and no event stdout holds a Python traceback or a warning of the collection's callbacks
  about their own failure;
* the JSON-lines log holds the events of every job of the playbook (and of no other);
* every console line the callback printed for a job event of the log is in the stdout of runner's job events, and
  no job line is there that the log does not have; the recap names every job;
* runner's own ``runner_on_async_poll`` events of the download carry ``asyncops.progress`` (with ``--supervised``
  also the supervisor's ``asyncops.state`` and ``pid``), one per poll of the log;
* the timeline page exists, is HTML, and the callback said where it wrote it.

``--self-test`` first checks the artifacts as they are (they must pass), then tampers with copies of them in ways
each check must catch, and fails unless every tampered copy fails with the expected message.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import typing as t

# the launching task of each job of playbook.yml, and the log events its job must have
JOB_EVENTS = {
    'Download under async with poll': {'poll', 'async_ok'},
    'Start a command as a job': {'started', 'wait'},
    'Start a command without polling': {'started', 'status'},
    'Start a job nobody collects': {'started', 'unreaped'},
}
UNCOLLECTED_TASK = 'Start a job nobody collects'
DOWNLOAD_TASK = 'Download under async with poll'
# log events that print no console line of their own (unreaped jobs are named in the recap and a warning)
SILENT_EVENTS = {'list', 'unreaped'}
EVENT_KEYS = ('event', 'uuid', 'counter', 'stdout', 'start_line', 'end_line')
FORBIDDEN = (
    ('a Python traceback', 'Traceback (most recent call last)'),
    ('an async_log error warning', 'asyncops.jobs.async_log: error in'),
    ('an async_log log-file warning', 'asyncops.jobs.async_log: cannot write'),
    ('a supervise warning', 'asyncops.jobs.supervise:'),
)
ANSI_RE = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
RETRY_OF_RE = re.compile(r'^(async retry #[0-9]+)/[0-9]+$')
TIMELINE_LINE = 'asyncops.jobs.async_log: timeline written to '


def _import_console_formatter() -> t.Any:
    """The callback's own console formatter (the one place its line format lives), from ANSIBLE_COLLECTIONS_PATH."""
    for root in reversed(os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep)):
        if root and root not in sys.path:
            sys.path.insert(0, root)
    from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._console import ConsoleFormatter
    return ConsoleFormatter


@dataclasses.dataclass
class Options:
    artifacts: str
    log: str
    timeline: str
    payload_size: int
    supervised: bool = False


class Checker(object):
    """Runs every check and collects what failed (all of it, not only the first)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.failures = []  # type: t.List[str]
        self.notes = []  # type: t.List[str]
        self.events = []  # type: t.List[t.Dict[str, t.Any]]
        self.log_events = []  # type: t.List[t.Dict[str, t.Any]]
        self.console_lines = []  # type: t.List[str]

    def fail(self, msg: str) -> None:
        self.failures.append(msg)

    def run(self) -> t.List[str]:
        self.check_status()
        self.load_events()
        self.check_event_stream()
        self.check_forbidden()
        self.load_log()
        self.check_jobs_in_log()
        self.check_console_lines()
        self.check_poll_events()
        self.check_timeline()
        return self.failures

    # -- runner ------------------------------------------------------------
    def _read(self, name: str) -> t.Optional[str]:
        path = os.path.join(self.options.artifacts, name)
        try:
            with open(path, encoding='utf-8', newline='') as f:
                return f.read()
        except OSError as exc:
            self.fail('cannot read runner artifact %s: %s' % (path, exc))
            return None

    def check_status(self) -> None:
        status = self._read('status')
        if status is not None and status.strip() != 'successful':
            self.fail('runner status is %r, not successful' % status.strip())
        rc = self._read('rc')
        if rc is not None and rc.strip() != '0':
            self.fail('runner rc is %r, not 0' % rc.strip())

    def load_events(self) -> None:
        paths = glob.glob(os.path.join(self.options.artifacts, 'job_events', '*.json'))
        if not paths:
            self.fail('no job events in %s/job_events' % self.options.artifacts)
        for path in paths:
            try:
                with open(path, encoding='utf-8') as f:
                    event = json.load(f)
            except (OSError, ValueError) as exc:
                self.fail('job event %s is not valid JSON: %s' % (os.path.basename(path), exc))
                continue
            missing = [key for key in EVENT_KEYS if key not in event]
            if missing:
                self.fail('job event %s lacks %s' % (os.path.basename(path), ', '.join(missing)))
                continue
            if os.path.basename(path) != '%s-%s.json' % (event['counter'], event['uuid']):
                self.fail('job event file %s holds counter %s, uuid %s' % (os.path.basename(path), event['counter'], event['uuid']))
            self.events.append(event)
        self.events.sort(key=lambda e: e['counter'])
        for event in self.events:
            self.console_lines.extend(ANSI_RE.sub('', line) for line in event['stdout'].splitlines())

    def check_event_stream(self) -> None:
        counters = [e['counter'] for e in self.events]
        if counters != list(range(1, len(counters) + 1)):
            gaps = sorted(set(range(1, (max(counters) if counters else 0) + 1)) - set(counters))
            self.fail('job event counters are not 1..%d without gaps (missing: %s)' % (len(counters), gaps or 'none, duplicates'))
        uuids = collections.Counter(e['uuid'] for e in self.events)
        duplicates = [uuid for uuid, count in uuids.items() if count > 1]
        if duplicates:
            self.fail('job event uuids used more than once: %s' % duplicates)
        previous_end = 0
        for event in self.events:
            lines = len(event['stdout'].splitlines())
            if event['start_line'] != previous_end or event['end_line'] - event['start_line'] < lines:
                self.fail('job event %s (%s) spans lines %s-%s after an event that ended at line %s, with %d lines of stdout'
                          % (event['counter'], event['event'], event['start_line'], event['end_line'], previous_end, lines))
            previous_end = event['end_line']
        stats = [e for e in self.events if e['event'] == 'playbook_on_stats']
        if len(stats) != 1:
            self.fail('%d playbook_on_stats events, not 1' % len(stats))
        if self.events and self.events[0]['event'] != 'playbook_on_start':
            self.fail('the first job event is %s, not playbook_on_start' % self.events[0]['event'])
        stdout = self._read('stdout')
        joined = '\n'.join(e['stdout'] for e in self.events if e['stdout'])
        if stdout is not None and stdout.rstrip('\n') != joined:
            self.fail("runner's stdout file is not the stdout of its job events joined: output outside awx_display's events")

    def check_forbidden(self) -> None:
        for event in self.events:
            for what, text in FORBIDDEN:
                if text in event['stdout']:
                    line = _line_with(ANSI_RE.sub('', event['stdout']), text)
                    self.fail('job event %s (%s) holds %s: %s' % (event['counter'], event['event'], what, line))

    # -- the callback's log ----------------------------------------------------
    def load_log(self) -> None:
        try:
            with open(self.options.log, encoding='utf-8') as f:
                lines = f.read().splitlines()
        except OSError as exc:
            self.fail('cannot read the JSON-lines log: %s' % exc)
            return
        for number, line in enumerate(lines, 1):
            try:
                event = json.loads(line)
            except ValueError as exc:
                self.fail('log line %d is not JSON: %s' % (number, exc))
                continue
            if not isinstance(event, dict) or 'event' not in event:
                self.fail('log line %d is not an event: %s' % (number, line[:200]))
                continue
            self.log_events.append(event)
        run_ids = {e.get('run_id') for e in self.log_events}
        if len(run_ids) > 1:
            self.fail('the log holds events of %d runs, not 1: %s' % (len(run_ids), sorted(map(str, run_ids))))

    def jobs(self) -> t.Dict[t.Tuple[str, str], t.List[t.Dict[str, t.Any]]]:
        """The log's events of each job (host, jid), in order."""
        by_job = {}  # type: t.Dict[t.Tuple[str, str], t.List[t.Dict[str, t.Any]]]
        for event in self.log_events:
            if event.get('jid'):
                by_job.setdefault((str(event.get('host')), str(event['jid'])), []).append(event)
        return by_job

    def check_jobs_in_log(self) -> None:
        launched = collections.defaultdict(list)  # type: t.Dict[str, t.List[str]]
        for (host, jid), events in self.jobs().items():
            task = str(events[0].get('task'))
            launched[task].append(jid)
            kinds = {e['event'] for e in events}
            if task not in JOB_EVENTS:
                self.fail('the log has job %s on %s of task %r, which playbook.yml does not launch' % (jid, host, task))
                continue
            missing = JOB_EVENTS[task] - kinds
            if missing:
                self.fail('the log lacks the %s events of job %s (task %r); it has %s' % (', '.join(sorted(missing)), jid, task, sorted(kinds)))
            if task != UNCOLLECTED_TASK and 'unreaped' in kinds:
                self.fail('job %s (task %r) was collected, yet the log says unreaped' % (jid, task))
        for task in JOB_EVENTS:
            if len(launched.get(task, [])) != 1:
                self.fail('the log has %d jobs of task %r, not 1' % (len(launched.get(task, [])), task))
        self.notes.append('log: %d events of %d jobs' % (len(self.log_events), len(self.jobs())))

    # -- the callback's console lines in runner's events -----------------------
    def check_console_lines(self) -> None:
        formatter = _import_console_formatter()(progress_bar=False)
        expected = collections.Counter()  # type: t.Counter[t.Tuple[str, ...]]
        jids = set()
        for (host, jid), events in self.jobs().items():
            jids.add(jid)
            for event in events:
                if event['event'] not in SILENT_EVENTS:
                    expected[_line_key(formatter.line(event), jid)] += 1
        shown = collections.Counter()  # type: t.Counter[t.Tuple[str, ...]]
        for line in self.console_lines:
            for jid in jids:
                if line.startswith('async ') and (' | %s | ' % jid in line or line.endswith(' | ' + jid)):
                    shown[_line_key(line, jid)] += 1
        for key in sorted(expected - shown):
            self.fail("the callback's console line %r of the log is in no job event's stdout" % ' | '.join(key))
        for key in sorted(shown - expected):
            self.fail("job events show the callback line %r, which the log does not have" % ' | '.join(key))
        self.notes.append("console: %d callback lines of %d jobs in runner's job events" % (sum(shown.values()), len(jids)))
        recap = next((number for number, line in enumerate(self.console_lines) if line.startswith('ASYNC JOBS RECAP')), None)
        if recap is None:
            self.fail("no ASYNC JOBS RECAP in runner's job events")
            return
        recap_text = '\n'.join(self.console_lines[recap:])
        for jid in sorted(jids):
            if jid not in recap_text:
                self.fail('the recap does not name job %s' % jid)

    # -- runner's poll events ----------------------------------------------------
    def check_poll_events(self) -> None:
        download = [jid for (host, jid), events in self.jobs().items() if events[0].get('task') == DOWNLOAD_TASK]
        if not download:
            return  # check_jobs_in_log says so
        jid = download[0]
        # ansible-core hands the callbacks its internal async_status task for each poll: find them by jid
        polls = [e for e in self.events if e['event'] == 'runner_on_async_poll'
                 and (e.get('event_data', {}).get('res') or {}).get('ansible_job_id') == jid]
        if not polls:
            self.fail('no runner_on_async_poll event of job %s (task %r)' % (jid, DOWNLOAD_TASK))
            return
        with_progress = 0
        carried = []
        for event in polls:
            res = event.get('event_data', {}).get('res') or {}
            ours = res['asyncops'] if isinstance(res.get('asyncops'), dict) else {}  # type: t.Dict[str, t.Any]
            carried.append(sorted(ours))
            progress = ours.get('progress')
            if isinstance(progress, dict):
                if progress.get('unit') != 'B' or progress.get('total') != self.options.payload_size:
                    self.fail('runner_on_async_poll event %s: progress %s is not of the %d-byte download'
                              % (event['counter'], progress, self.options.payload_size))
                elif isinstance(progress.get('current'), int) and progress['current'] > 0:
                    with_progress += 1
            if self.options.supervised and (ours.get('state') != 'running' or not isinstance(ours.get('pid'), int)):
                self.fail('runner_on_async_poll event %s: no supervisor state and pid under asyncops (%s)' % (event['counter'], sorted(ours)))
        if not with_progress:
            self.fail('none of the %d runner_on_async_poll events of the download carries asyncops.progress with bytes done' % len(polls))
        logged = [e for e in self.log_events if e['event'] == 'poll' and e.get('jid') == jid]
        if len(logged) != len(polls):
            self.fail('runner has %d runner_on_async_poll events of the download, the log %d poll events' % (len(polls), len(logged)))
        kinds = sorted(set(', '.join(keys) or '(no asyncops)' for keys in carried))
        self.notes.append('runner_on_async_poll: %d of %d carry asyncops.progress; keys under asyncops: %s'
                          % (with_progress, len(polls), ' / '.join(kinds)))

    # -- the timeline -------------------------------------------------------------
    def check_timeline(self) -> None:
        path = self.options.timeline
        try:
            with open(path, encoding='utf-8') as f:
                page = f.read()
        except (OSError, ValueError) as exc:
            self.fail('cannot read the timeline page: %s' % exc)
            return
        if not page.lstrip().lower().startswith('<!doctype html') or '</html>' not in page.lower():
            self.fail('the timeline page %s is not an HTML document: %r' % (path, page[:80]))
        if not any(line.strip() == TIMELINE_LINE + path for line in self.console_lines):
            self.fail("runner's job events lack the line %r" % (TIMELINE_LINE + path))
        self.notes.append('timeline: %d bytes' % len(page.encode('utf-8')))


def _line_key(line: str, jid: str) -> t.Tuple[str, ...]:
    """The fields of a callback console line up to its jid (what follows changes with time and progress)."""
    fields = line.split(' | ')
    fields = fields[:fields.index(jid) + 1] if jid in fields else fields
    match = RETRY_OF_RE.match(fields[0])
    if match:
        fields[0] = match.group(1)  # the retry count is printed, not logged
    return tuple(fields)


def _line_with(text: str, needle: str) -> str:
    return next((line for line in text.splitlines() if needle in line), needle)[:200]


def check(options: Options) -> Checker:
    checker = Checker(options)
    checker.run()
    return checker


# -- self-test: each tampered copy must fail ------------------------------------------------------------------------
def _events_in(artifacts: str) -> t.List[t.Tuple[str, t.Dict[str, t.Any]]]:
    found = []
    for path in glob.glob(os.path.join(artifacts, 'job_events', '*.json')):
        with open(path, encoding='utf-8') as f:
            found.append((path, json.load(f)))
    return sorted(found, key=lambda item: item[1]['counter'])


def _write_event(path: str, event: t.Dict[str, t.Any]) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(event, f)


def _first(artifacts: str, match: t.Callable[[t.Dict[str, t.Any]], bool]) -> t.Tuple[str, t.Dict[str, t.Any]]:
    return next(item for item in _events_in(artifacts) if match(item[1]))


def _set_file(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def _tamper_status(copy: Options) -> None:
    _set_file(os.path.join(copy.artifacts, 'status'), 'failed\n')


def _tamper_gap(copy: Options) -> None:
    items = _events_in(copy.artifacts)
    os.unlink(items[len(items) // 2][0])


def _tamper_json(copy: Options) -> None:
    path = _events_in(copy.artifacts)[1][0]
    with open(path, encoding='utf-8') as f:
        text = f.read()
    _set_file(path, text[:len(text) // 2])


def _tamper_stats(copy: Options) -> None:
    path, event = _first(copy.artifacts, lambda e: e['event'] == 'playbook_on_stats')
    event['event'] = 'verbose'
    _write_event(path, event)


def _inject(copy: Options, text: str) -> None:
    path, event = _first(copy.artifacts, lambda e: e['event'] == 'runner_on_ok')
    event['stdout'] += '\r\n' + text
    event['end_line'] += 1
    for later_path, later in _events_in(copy.artifacts):
        if later['counter'] > event['counter']:
            later['start_line'] += 1
            later['end_line'] += 1
            _write_event(later_path, later)
    _write_event(path, event)
    joined = '\n'.join(item['stdout'] for _path, item in _events_in(copy.artifacts) if item['stdout'])
    _set_file(os.path.join(copy.artifacts, 'stdout'), joined + '\n')


def _tamper_traceback(copy: Options) -> None:
    _inject(copy, 'Traceback (most recent call last):')


def _tamper_error_warning(copy: Options) -> None:
    _inject(copy, '[WARNING]: asyncops.jobs.async_log: error in v2_runner_on_ok (events may be missing): boom')


def _tamper_outside_events(copy: Options) -> None:
    with open(os.path.join(copy.artifacts, 'stdout'), 'a', encoding='utf-8') as f:
        f.write('a line no job event holds\n')


def _tamper_console_line(copy: Options) -> None:
    path, event = _first(copy.artifacts, lambda e: 'async wait #' in e['stdout'])
    event['stdout'] = '\r\n'.join(line for line in event['stdout'].split('\r\n') if 'async wait #' not in line)
    _write_event(path, event)


def _tamper_poll_progress(copy: Options) -> None:
    for path, event in _events_in(copy.artifacts):
        if event['event'] == 'runner_on_async_poll':
            event['event_data']['res'].get('asyncops', {}).pop('progress', None)
            _write_event(path, event)


def _tamper_supervisor_state(copy: Options) -> None:
    for path, event in _events_in(copy.artifacts):
        if event['event'] == 'runner_on_async_poll':
            event['event_data']['res']['asyncops'] = {'progress': event['event_data']['res'].get('asyncops', {}).get('progress')}
            _write_event(path, event)


def _tamper_log_job(copy: Options) -> None:
    with open(copy.log, encoding='utf-8') as f:
        lines = f.read().splitlines()
    _set_file(copy.log, ''.join(line + '\n' for line in lines if json.loads(line).get('event') != 'status'))


def _tamper_timeline(copy: Options) -> None:
    _set_file(copy.timeline, 'not a page\n')


TAMPERINGS = (
    ('runner status failed', _tamper_status, 'runner status is'),
    ('a job event removed', _tamper_gap, 'without gaps'),
    ('a job event cut in half', _tamper_json, 'is not valid JSON'),
    ('no playbook_on_stats', _tamper_stats, 'playbook_on_stats events, not 1'),
    ('a traceback in an event', _tamper_traceback, 'a Python traceback'),
    ('an async_log error warning in an event', _tamper_error_warning, 'an async_log error warning'),
    ('output outside the events', _tamper_outside_events, 'output outside'),
    ("a callback line dropped from runner's events", _tamper_console_line, 'is in no job event'),
    ('no progress in the poll events', _tamper_poll_progress, 'carries asyncops.progress'),
    ('a status event dropped from the log', _tamper_log_job, 'lacks the status events'),
    ('the timeline not HTML', _tamper_timeline, 'not an HTML document'),
)
SUPERVISED_TAMPERINGS = (
    ('no supervisor state in the poll events', _tamper_supervisor_state, 'no supervisor state and pid'),
)


def self_test(options: Options) -> t.List[str]:
    """Tampers with copies of the artifacts, log and timeline; returns what a check failed to catch."""
    problems = []
    tamperings = TAMPERINGS + (SUPERVISED_TAMPERINGS if options.supervised else ())
    with tempfile.TemporaryDirectory(prefix='check-artifacts-') as tmp:
        for number, (what, tamper, expected) in enumerate(tamperings):
            root = os.path.join(tmp, str(number))
            os.mkdir(root)
            copy = Options(artifacts=os.path.join(root, 'artifacts'), log=os.path.join(root, 'async_log.jsonl'),
                           timeline=options.timeline, payload_size=options.payload_size, supervised=options.supervised)
            shutil.copytree(options.artifacts, copy.artifacts)
            shutil.copyfile(options.log, copy.log)
            if tamper is _tamper_timeline:
                copy.timeline = os.path.join(root, 'timeline.html')
                shutil.copyfile(options.timeline, copy.timeline)
            tamper(copy)
            failures = check(copy).failures
            if not any(expected in failure for failure in failures):
                problems.append('self-test: %s: no failure saying %r (failures: %s)' % (what, expected, failures or 'none'))
            else:
                print('self-test: %s: caught' % what)
    return problems


def main(argv: t.Optional[t.List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--artifacts', required=True, help="runner's artifacts/<ident> directory")
    parser.add_argument('--log', required=True, help="the callback's JSON-lines log")
    parser.add_argument('--timeline', required=True, help="the callback's timeline page")
    parser.add_argument('--payload-size', type=int, required=True, help='the size of the downloaded file, in bytes')
    parser.add_argument('--supervised', action='store_true', help='asyncops.jobs.supervise was enabled')
    parser.add_argument('--self-test', action='store_true', help='also check that tampered copies fail')
    args = parser.parse_args(argv)
    options = Options(artifacts=args.artifacts, log=args.log, timeline=args.timeline, payload_size=args.payload_size,
                      supervised=args.supervised)
    checker = check(options)
    for note in checker.notes:
        print('%s: %s' % (args.artifacts, note))
    failures = list(checker.failures)
    if args.self_test and not failures:
        failures.extend(self_test(options))
    for failure in failures:
        print('FAILED: %s: %s' % (args.artifacts, failure), file=sys.stderr)
    if failures:
        return 1
    print('%s: all checks passed' % args.artifacts)
    return 0


if __name__ == '__main__':
    sys.exit(main())
