# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scenarios of benchmarks/run. Each runs both sides per round and
turns what it measured into report rows (see report.Row)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

from harness import TARGET_PYTHON, executions, log
from report import (Row, all_of, at_most, equals, fmt_value, ratio_at_least, ratio_at_most)

PREFIX = {'local': 'l', 'ssh': 's', 'pipe': 'p', 'wan': 'w'}
# 'wan': ssh+pipelining through the latency relay (benchmarks/run --rtt MS); main.py puts the time in its label
CONN_LABEL = {'local': 'local', 'ssh': 'ssh', 'pipe': 'ssh+pipelining', 'wan': 'ssh+pipelining+RTT'}
SIDES = ('builtin', 'asyncops')


def read_float(path):
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return None


class Context:
    """What the scenarios share: the harness, the options and the plan."""

    def __init__(self, ws, ansible, ssh, sides, quick, rounds):
        self.ws = ws
        self.ansible = ansible
        self.ssh = ssh
        self.sides = sides
        self.quick = quick
        self.rounds = rounds

    def order(self, r):
        """The sides of round r, alternating which goes first."""
        sides = list(SIDES) if r % 2 == 0 else list(reversed(SIDES))
        return [s for s in sides if s in self.sides]

    @property
    def use_asyncops(self):
        return 'asyncops' in self.sides

    def conns(self, wanted):
        return [c for c in wanted if c == 'local' or (self.ssh is not None and (c != 'wan' or self.ssh.relay is not None))]

    def host(self, conn, name, counting=False, **hostvars):
        hname = '%s_%s' % (PREFIX[conn], name)
        hv = self.local_vars() if conn == 'local' else self.ssh.host_vars(conn in ('pipe', 'wan'), relayed=conn == 'wan')
        hv['ansible_python_interpreter'] = self.ws.counting_interpreter(hname) if counting else TARGET_PYTHON
        hv.update(hostvars)
        return hname, hv

    def local_vars(self):
        # a private job directory: root's real ~/.ansible_async may be in use by other runs on this machine.
        # Absolute, because core's async_status expands ~ with the passwd entry (/root) while its wrapper
        # uses $HOME. (An absolute path also spares the built-in status its `echo ~` round trip.)
        return {'ansible_connection': 'local', 'ansible_async_dir': str(self.ws.home / '.ansible_async')}

    def reset(self):
        """No job records or temp files of earlier runs (local HOME and the SSH user's home)."""
        for sub in ('.ansible_async', '.ansible/tmp'):
            shutil.rmtree(self.ws.home / sub, ignore_errors=True)
        if self.ssh is not None:
            self.ssh.reset()
        self.ws.clear_counts()


class Scenario:
    key = ''
    number = 0
    title = ''
    a_name, b_name, ratio_name = 'built-in', 'asyncops.jobs', 'built-in / asyncops'
    needs_ssh = False

    def __init__(self, ctx):
        self.ctx = ctx
        self.errors = []
        self.skipped = []  # rounds main.py left out to stay inside the time budget

    def rounds(self):
        """The rounds this scenario runs in (a cap keeps the whole run under its time budget)."""
        return list(range(self.ctx.rounds))

    def run_round(self, r):
        raise NotImplementedError

    def rows(self):
        return []

    def description(self):
        return ''

    def notes(self):
        return []

    def chart_panels(self):
        return []

    def values(self, per_round):
        return [per_round.get(r) for r in self.rounds()]


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    v.sort()
    n = len(v)
    m = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {'median': m, 'min': v[0], 'max': v[-1]}


def task_windows(probe, names):
    """{task name: [(start, end) of each run of the task: its start to its ok result reaching the controller]}.

    The tasks are those named in names; a start is matched with the first ok
    result of the same task (uuid) after it that no earlier start took.
    """
    windows = defaultdict(list)
    used = set()
    results = [x for x in probe['results'] if x['status'] == 'ok']
    for task in probe['tasks']:
        if task['name'] not in names:
            continue
        for i, res in enumerate(results):
            if i not in used and res['uuid'] == task['uuid'] and res['t'] >= task['t']:
                used.add(i)
                windows[task['name']].append((task['t'], res['t']))
                break
    return windows


def task_costs(probe, names):
    """{task name: [seconds of each run of the task]} (see task_windows)."""
    return dict((name, [end - start for start, end in spans]) for name, spans in task_windows(probe, names).items())


# --------------------------------------------------------------------------- 1

class Latency(Scenario):
    key = 'latency'
    number = 1
    title = 'End of a job seen'
    needs_ssh = True
    B_VARIANTS = ('poll1', 'poll5', 'until1', 'until5')
    A_VARIANTS = ('wait', 'wait_core')
    LABEL = {
        'poll1': 'async + poll: 1', 'poll5': 'async + poll: 5',
        'until1': 'poll: 0 + async_status until, delay: 1', 'until5': 'poll: 0 + async_status until, delay: 5',
        'wait': 'run + async_status mode=wait', 'wait_core': 'built-in async launch + asyncops mode=wait',
    }

    def __init__(self, ctx):
        super().__init__(ctx)
        self.job_len = 2
        self.conn_list = ctx.conns(['local', 'ssh', 'wan'])
        self.lat = defaultdict(dict)    # (conn, variant) -> {round: seconds}
        self.execs = defaultdict(dict)  # (conn, variant) -> {round: module executions}
        self.last_call = defaultdict(dict)  # (conn, variant) -> {round: start of the last call - job end}

    # The first FULL_ROUNDS rounds run every variant over every connection; later ones only the 1 s
    # variants and asyncops over the local connection. The 5 s variants take the longest and vary the
    # least (their latency is their poll interval); the whole run has to fit its time budget.
    SLOW_VARIANTS = ('poll5', 'until5')
    FULL_ROUNDS = 3

    def variants(self, side, r):
        if side != 'builtin':
            return self.A_VARIANTS
        if r >= self.FULL_ROUNDS:
            return tuple(v for v in self.B_VARIANTS if v not in self.SLOW_VARIANTS)
        return self.B_VARIANTS

    def run_round(self, r):
        ws = self.ctx.ws
        for conn in self.conn_list if r < self.FULL_ROUNDS else self.conn_list[:1]:
            for side in self.ctx.order(r):
                tag = 'lat-r%d-%s-%s' % (r, conn, side)
                hosts = dict(self.ctx.host(conn, v, counting=True, aoj_variant=v, aoj_job_len=self.job_len)
                             for v in self.variants(side, r))
                self.ctx.reset()
                run = self.ctx.ansible.run('s1-%s' % tag, 'jobs_%s.yml' % side, hosts,
                                           extra_vars={'aoj_out': str(ws.out), 'aoj_tag': tag}, timeout=300)
                for v in self.variants(side, r):
                    hname = '%s_%s' % (PREFIX[conn], v)
                    end = read_float(ws.out / ('%s-%s.end' % (tag, hname)))
                    moved = run.task_starts('%s moved on' % v)
                    if not [x for x in run.results(task='%s moved on' % v, host=hname) if x['status'] == 'ok']:
                        moved = None
                    if end is None or not moved:
                        self.errors.append('round %d %s %s: no figure (see %s)' % (r, conn, v, run.log_path))
                        continue
                    self.lat[(conn, v)][r] = moved[0] - end
                    if hname in run.counts:
                        self.execs[(conn, v)][r] = run.counts[hname]
                        # when the last call (the one that saw the end) started on the target, relative to the end
                        self.last_call[(conn, v)][r] = executions(run.count_lines[hname])[-1][0] - end

    def description(self):
        return ('One job of %d s (`sh -c \'sleep %d; date +%%s.%%N > FILE\'`: writing its end time is its last act) '
                'per variant, one variant after the other on one host, over %s. Measured: from the end time the job '
                'wrote to the moment the play moves on, i.e. the controller\'s `v2_playbook_on_task_start` of the '
                'task after the wait (a `set_fact`), recorded by the probe callback (same clock: the targets are '
                'this machine).' % (self.job_len, self.job_len, ' and '.join(CONN_LABEL[c] for c in self.conn_list)))

    def rows(self):
        rows = []
        for conn in self.conn_list:
            wait = self.values(self.lat[(conn, 'wait')])
            for v in self.B_VARIANTS:
                slow = v in self.SLOW_VARIANTS
                rows.append(Row(
                    '%s: built-in %s vs asyncops wait' % (CONN_LABEL[conn], self.LABEL[v]), 's',
                    a=self.values(self.lat[(conn, v)]), b=wait,
                    target='asyncops ≤ 0.25 s' + (', ≥ 10× better' if slow else ''),
                    check=all_of(at_most(0.25), ratio_at_least(10)) if slow else at_most(0.25)))
            rows.append(Row('%s: drop-in: built-in launch + asyncops wait (vs built-in delay: 5)' % CONN_LABEL[conn],
                            's', a=self.values(self.lat[(conn, 'until5')]),
                            b=self.values(self.lat[(conn, 'wait_core')]), target='asyncops ≤ 0.25 s',
                            check=at_most(0.25)))
        return rows

    def notes(self):
        full = [r for r in self.rounds() if r < self.FULL_ROUNDS]
        out = ['Rounds: %d over %s; %s and the `poll: 5` and `delay: 5` variants in the first %d of them only (the '
               'slowest runs, and their latency is their poll interval).'
               % (len(self.rounds()), CONN_LABEL[self.conn_list[0]],
                  ', '.join(CONN_LABEL[c] for c in self.conn_list[1:]) or 'the other connections', len(full))]
        for conn in self.conn_list:
            parts = []
            for v in self.A_VARIANTS + ('until1',):
                st = stats(self.values(self.last_call[(conn, v)]))
                if st:
                    parts.append('%s %s [%s – %s]' % (v, fmt_value(st['median'], 's'), fmt_value(st['min'], 's'),
                                                      fmt_value(st['max'], 's')))
            if parts:
                out.append('%s: when the call that saw the end started its Python on the target, relative to the '
                           'job\'s end (negative: it was already waiting): %s. A positive figure for `wait` means the '
                           'wait call was still being started when the job ended, so the latency holds that call\'s '
                           'own start-up cost.' % (CONN_LABEL[conn], '; '.join(parts)))
        return out

    def chart_panels(self):
        variants = list(self.B_VARIANTS) + list(self.A_VARIANTS)
        series = []
        for conn in self.conn_list:
            series.append((CONN_LABEL[conn], [stats(self.values(self.lat[(conn, v)])) for v in variants]))
        return [{
            'title': '1. End of a %d s job seen (job end → play moves on)' % self.job_len, 'ylabel': 'seconds (log)',
            'groups': ['b: poll 1', 'b: poll 5', 'b: until 1', 'b: until 5', 'a: wait', 'a: wait\n(core job)'],
            'series': series, 'log': True, 'hline': 0.25, 'hline_label': 'target 0.25 s', 'fmt': '{:.2f}',
            'colors': ['#4f81bd', '#c0504d', '#9bbb59'],
        }]


# --------------------------------------------------------------------------- 2

class RoundTrips(Scenario):
    key = 'roundtrips'
    number = 2
    title = 'Round trips per job'

    def __init__(self, ctx, latency=None):
        super().__init__(ctx)
        self.latency = latency
        self.lengths = [6] if ctx.quick else [20, 60]
        if latency is None:
            self.lengths = [2] + self.lengths
        self.execs = defaultdict(lambda: defaultdict(dict))  # length -> variant -> {round: n}

    def rounds(self):
        return [0]

    def run_round(self, r):
        if r not in self.rounds():
            return
        ws = self.ctx.ws
        self.ctx.reset()
        starts = []
        for side in self.ctx.order(r):
            tag = 'rt-r%d-%s' % (r, side)
            variants = Latency.B_VARIANTS if side == 'builtin' else Latency.A_VARIANTS
            hosts = dict(self.ctx.host('local', '%s_%ds' % (v, n), counting=True, aoj_variant=v, aoj_job_len=n)
                         for v in variants for n in self.lengths)
            # every host at once (free strategy), both sides at once: the counts do not depend on timing
            starts.append((side, variants, self.ctx.ansible.start(
                's2-%s' % tag, 'jobs_%s.yml' % side, hosts, extra_vars={'aoj_out': str(ws.out), 'aoj_tag': tag},
                forks=len(hosts), env={'ANSIBLE_STRATEGY': 'free'}, timeout=max(self.lengths) * 3 + 300)))
        for side, variants, run in starts:
            self.ctx.ansible.finish(run)
            for v in variants:
                for n in self.lengths:
                    hname = 'l_%s_%ds' % (v, n)
                    done = [x for x in run.results(task='%s moved on' % v, host=hname) if x['status'] == 'ok']
                    if done and hname in run.counts:
                        self.execs[n][v][r] = run.counts[hname]
                    else:
                        self.errors.append('%s %d s: no figure (see %s)' % (v, n, run.log_path))

    def all_lengths(self):
        return ([self.latency.job_len] if self.latency else []) + self.lengths

    def figures(self, n, v):
        if self.latency is not None and n == self.latency.job_len:
            return self.latency.values(self.latency.execs[('local', v)])
        return [self.execs[n][v].get(r) for r in self.rounds()]

    def description(self):
        src = ('the %d s jobs are those of scenario 1 (local, every round); ' % self.latency.job_len
               if self.latency else '')
        return ('Module executions on the target per job, launch included, counted by a logging interpreter: each '
                'host\'s `ansible_python_interpreter` is a 2-line bash script that appends its argv to a log and '
                'execs `/usr/bin/python3`; the runs of the wrapped module that core\'s `async_wrapper` starts '
                '(the job itself) are not counted. A built-in `poll: N` task counts its launch, every poll and '
                'the cleanup call core makes after the last poll. %sthe %s s jobs run once (round 1: the counts do '
                'not depend on timing), every variant on its own host at once (free strategy), local connection.'
                % (src, ' and '.join(str(n) for n in self.lengths)))

    def rows(self):
        rows = []
        for n in self.all_lengths():
            wait = self.figures(n, 'wait')
            for v in Latency.B_VARIANTS:
                rows.append(Row('%d s job: built-in %s vs asyncops run + wait' % (n, Latency.LABEL[v]), 'count',
                                a=self.figures(n, v), b=wait,
                                target='asyncops: 1 wait call per job (+1 launch = 2)', check=equals(2)))
            rows.append(Row('%d s job: built-in launch + asyncops wait (drop-in)' % n, 'count',
                            a=self.figures(n, 'until1'), b=self.figures(n, 'wait_core'),
                            target='1 wait call per job (+1 launch = 2)', check=equals(2)))
        return rows

    def chart_panels(self):
        lengths = self.all_lengths()
        series = []
        for v in list(Latency.B_VARIANTS) + ['wait', 'wait_core']:
            series.append((('built-in ' if v in Latency.B_VARIANTS else 'asyncops ') + v,
                           [stats(self.figures(n, v)) for n in lengths]))
        return [{
            'title': '2. Module executions on the target per job', 'ylabel': 'executions (log)',
            'groups': ['%d s job' % n for n in lengths], 'series': series, 'log': True, 'fmt': '{:.0f}',
        }]


# --------------------------------------------------------------------------- 3

class ManyJobs(Scenario):
    key = 'many'
    number = 3
    title = 'Many jobs on one host'

    def __init__(self, ctx):
        super().__init__(ctx)
        # size -> number of rounds it runs in: one, to fit the run's time budget (the built-in side of
        # 100 jobs alone takes over a minute; both sizes gave the same ratio in each of 2 rounds before)
        self.sizes = {10: 1} if ctx.quick else {50: 1, 100: 1}
        self.wall = defaultdict(lambda: defaultdict(dict))
        self.inplay = defaultdict(lambda: defaultdict(dict))
        self.execs = defaultdict(lambda: defaultdict(dict))

    def rounds(self):
        return list(range(max(self.sizes.values())))

    @staticmethod
    def durations(n):
        return [1 + (i * 2) % 5 for i in range(n)]  # 1, 3, 5, 2, 4, 1, ...: 1–5 s, 3 s on average

    def run_round(self, r):
        for n, cap in self.sizes.items():
            if r >= cap:
                continue
            durations = self.durations(n)
            batch = [{'name': 'j%d' % i, 'argv': ['sleep', str(d)]} for i, d in enumerate(durations)]
            for side in self.ctx.order(r):
                self.ctx.reset()
                hname, hv = self.ctx.host('local', 'many%d_%s' % (n, side), counting=True)
                run = self.ctx.ansible.run('s3-n%d-r%d-%s' % (n, r, side), 'many_%s.yml' % side, {hname: hv},
                                           extra_vars={'aoj_durations': durations, 'aoj_batch': batch},
                                           timeout=1200)
                moved = run.task_starts('moved on')
                if not run.ok or not moved:
                    self.errors.append('%d jobs round %d %s: failed (see %s)' % (n, r, side, run.log_path))
                    continue
                self.wall[n][side][r] = run.wall
                self.inplay[n][side][r] = moved[0] - run.first_task_start()
                self.execs[n][side][r] = run.counts.get(hname)

    def vals(self, table, n, side):
        return [table[n][side].get(r) for r in range(self.sizes[n])]

    def description(self):
        return ('%s jobs of 1–5 s (`sleep 1`…`sleep 5`, 3 s on average) on one host (local connection). Built-in: '
                '`command` with `async: 600, poll: 0` in a loop, then a looped `async_status` with `until: finished`, '
                '`delay: 1`. asyncops.jobs: one `run` with `batch` (concurrency = number of jobs, all at once like '
                'the built-in loop), then one `async_status` `mode: wait` with `jids` and `cleanup: true`. Wall time '
                'end to end is the `ansible-playbook` process from start to exit; "in play" is from the first task\'s '
                'start to the start of the task after the wait.'
                % ' and '.join(str(n) for n in self.sizes))

    def rows(self):
        rows = []
        for n in self.sizes:
            rows.append(Row('%d jobs: module executions (round trips)' % n, 'count',
                            a=self.vals(self.execs, n, 'builtin'), b=self.vals(self.execs, n, 'asyncops'),
                            target='≥ 20× fewer', check=ratio_at_least(20)))
            rows.append(Row('%d jobs: wall time end to end' % n, 's',
                            a=self.vals(self.wall, n, 'builtin'), b=self.vals(self.wall, n, 'asyncops'),
                            target='≥ 5× less', check=ratio_at_least(5)))
            rows.append(Row('%d jobs: in play (first task → play moves on)' % n, 's',
                            a=self.vals(self.inplay, n, 'builtin'), b=self.vals(self.inplay, n, 'asyncops')))
        return rows

    def notes(self):
        return ['Rounds: %s (the built-in side of 100 jobs alone takes one to two minutes on 2 cores).'
                % ', '.join('%d jobs in %d round%s' % (n, c, 's' if c > 1 else '') for n, c in self.sizes.items()),
                'The built-in side leaves its %s job records on the host (a `poll: 0` job is never cleaned up unless '
                'a further `mode: cleanup` call per job is made); asyncops.jobs removes them in the wait call.'
                % '/'.join(str(n) for n in self.sizes)]

    def chart_panels(self):
        sizes = list(self.sizes)
        panels = []
        for table, title, ylabel in ((self.execs, '3. Many jobs: module executions', 'executions (log)'),
                                     (self.wall, '3. Many jobs: wall time end to end', 'seconds (log)')):
            panels.append({
                'title': title, 'ylabel': ylabel, 'groups': ['%d jobs' % n for n in sizes], 'log': True,
                'series': [(side, [stats(self.vals(table, n, side)) for n in sizes]) for side in SIDES],
                'fmt': '{:.0f}' if table is self.execs else '{:.1f}', 'colors': ['#c0504d', '#2e7d32'],
            })
        return panels


# --------------------------------------------------------------------------- 4

class PidWatcher(threading.Thread):
    """Finds the PID files the jobs write and notes when each process is gone (every 10 ms)."""

    def __init__(self, directory, prefix):
        super().__init__(daemon=True)
        self.directory = directory
        self.prefix = prefix
        self.pids = {}   # file stem -> pid
        self.gone = {}   # file stem -> time
        self.halt = threading.Event()

    @staticmethod
    def alive(pid):
        try:
            with open('/proc/%d/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ('Z', 'X')

    def run(self):
        while not self.halt.is_set():
            now = time.time()
            for stem, pid in list(self.pids.items()):
                if stem not in self.gone and not self.alive(pid):
                    self.gone[stem] = now
            for name in os.listdir(self.directory):
                if name.startswith(self.prefix) and name.endswith('.pid'):
                    stem = name[:-4]
                    if stem in self.pids:
                        continue
                    try:
                        self.pids[stem] = int((self.directory / name).read_text().strip())
                    except (OSError, ValueError):
                        pass  # not written yet
            time.sleep(0.01)

    def pending(self):
        return [s for s in self.pids if s not in self.gone]

    def stop(self):
        self.halt.set()
        self.join()

    def kill_leftovers(self):
        for stem in self.pending():
            pid = self.pids[stem]
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').strip()
                if cmd == b'sleep 600':
                    os.kill(pid, signal.SIGKILL)
                    log('  killed leftover job %s (pid %d)' % (stem, pid))
            except OSError:
                pass


class TimeLimits(Scenario):
    key = 'limits'
    number = 4
    title = 'Time limit accuracy'

    def __init__(self, ctx):
        super().__init__(ctx)
        self.limits = [3] if ctx.quick else [3, 7, 12, 23]
        self.grace = 2
        self.over = defaultdict(lambda: defaultdict(dict))    # job -> side -> {round: s}
        self.record = defaultdict(lambda: defaultdict(dict))  # job -> side -> {round: s}
        self.states = defaultdict(list)

    def rounds(self):
        # the kill times barely vary from round to round; every round is a ~30 s window
        return list(range(1 if self.ctx.quick else min(self.ctx.rounds, 2)))

    def jobs(self):
        jobs = [{'name': 'l%d' % n, 'limit': n, 'grace': 5, 'ignore_term': False} for n in self.limits]
        jobs.append({'name': 'term3', 'limit': 3, 'grace': self.grace, 'ignore_term': True})
        return jobs

    def run_round(self, r):
        if r not in self.rounds():
            return
        ws = self.ctx.ws
        self.ctx.reset()
        prefix = 'lim-r%d-' % r
        watcher = PidWatcher(ws.out, prefix)
        watcher.start()
        runs = {}
        jobs = self.jobs()
        # both sides' jobs run in the same window: launched one side after the other, the first side alternating
        for side in self.ctx.order(r):
            tag = '%s%s' % (prefix, side)
            hname, hv = self.ctx.host('local', 'limit_%s' % side)
            runs[side] = self.ctx.ansible.run('s4-r%d-%s' % (r, side), 'limit_%s.yml' % side, {hname: hv},
                                              extra_vars={'aoj_out': str(ws.out), 'aoj_tag': tag, 'aoj_limits': jobs},
                                              timeout=300)
        expected = len(jobs) * len(runs)
        deadline = time.time() + max(j['limit'] + j['grace'] for j in jobs) + 30
        while time.time() < deadline:
            if len(watcher.pids) >= expected and not watcher.pending():
                break
            time.sleep(0.2)
        watcher.stop()
        watcher.kill_leftovers()
        for side, run in runs.items():
            tag = '%s%s' % (prefix, side)
            jids = {}
            for res in run.results(task='launch'):
                for item, job in zip(res.get('items', []), jobs):
                    if item.get('ansible_job_id'):
                        jids[job['name']] = item['ansible_job_id']
            for job in jobs:
                stem = '%s-%s' % (tag, job['name'])
                start = read_float(ws.out / (stem + '.start'))
                gone = watcher.gone.get(stem)
                if start is None or gone is None:
                    self.errors.append('round %d %s %s: no figure (see %s)' % (r, side, job['name'], run.log_path))
                    continue
                self.over[job['name']][side][r] = gone - (start + job['limit'])
                rec_end, state = self.record_end(jids.get(job['name']))
                if rec_end is not None:
                    self.record[job['name']][side][r] = rec_end - (start + job['limit'])
                self.states[(side, job['name'])].append(state)

    def record_end(self, jid):
        """asyncops: the record's asyncops.ended_at; built-in: the record's mtime (its final write)."""
        if not jid:
            return None, None
        path = self.ctx.ws.home / '.ansible_async' / jid
        try:
            data = json.loads(path.read_text())
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            return None, None
        block = data.get('asyncops') if isinstance(data.get('asyncops'), dict) else {}
        state = block.get('state') or data.get('msg')
        if block.get('ended_at') is not None:
            return float(block['ended_at']), state
        return mtime, state

    def vals(self, table, job, side):
        return [table[job][side].get(r) for r in self.rounds()]

    def description(self):
        return ('`sleep 600` (`sh -c \'date +%%s.%%N > START; echo $$ > PIDFILE; exec sleep 600\'`) with limits %s s '
                '(built-in: `async: LIMIT, poll: 0`; asyncops.jobs: `run` with `time_limit: LIMIT`), local connection. The '
                'driver reads each PID file and checks `/proc/PID` every 10 ms; overshoot = the moment the process is '
                'gone (no longer in /proc, or a zombie) − (job start + limit). Also a job that ignores SIGTERM '
                '(`trap "" TERM`) with a 3 s limit; asyncops.jobs `kill_grace: %d`, so it is due at 3 + %d = %d s. '
                'Both sides\' jobs run in the same window each round (they sleep; the launch order alternates).'
                % (', '.join(str(n) for n in self.limits), self.grace, self.grace, 3 + self.grace))

    def rows(self):
        rows = []
        for job in self.jobs():
            if job['ignore_term']:
                label = 'limit 3 s, job ignores SIGTERM: overshoot over the limit'
                target, check = 'asyncops ≤ grace (%d s) + 0.5 s' % self.grace, at_most(self.grace + 0.5)
            else:
                label = 'limit %d s: overshoot (process gone − start − limit)' % job['limit']
                target, check = 'asyncops ≤ 0.5 s', at_most(0.5)
            rows.append(Row(label, 's', a=self.vals(self.over, job['name'], 'builtin'),
                            b=self.vals(self.over, job['name'], 'asyncops'), target=target, check=check))
        return rows

    def notes(self):
        out = ['Rounds: %d (the kill times barely vary; each round is a ~30 s window).' % len(self.rounds())]
        for job in self.jobs():
            a = stats(self.vals(self.record, job['name'], 'builtin'))
            b = stats(self.vals(self.record, job['name'], 'asyncops'))
            states = dict((side, sorted(set(str(s) for s in self.states[(side, job['name'])]))) for side in SIDES)
            out.append('%s: the record says the job ended %s after the limit (built-in: record mtime; state %s), '
                       '%s (asyncops.jobs: `asyncops.ended_at`; state %s).'
                       % (job['name'], fmt_value(a and a['median'], 's'), '/'.join(states['builtin']) or '?',
                          fmt_value(b and b['median'], 's'), '/'.join(states['asyncops']) or '?'))
        return out

    def chart_panels(self):
        jobs = self.jobs()
        return [{
            'title': '4. Time limit overshoot (process gone − start − limit)', 'ylabel': 'seconds',
            'groups': ['%d s' % j['limit'] if not j['ignore_term'] else '3 s,\nignores TERM' for j in jobs],
            'series': [(side, [stats(self.vals(self.over, j['name'], side)) for j in jobs]) for side in SIDES],
            'hline': 0.5, 'hline_label': 'target 0.5 s', 'fmt': '{:.2f}', 'colors': ['#c0504d', '#2e7d32'],
        }]


# --------------------------------------------------------------------------- 5

class Cost(Scenario):
    key = 'cost'
    number = 5
    title = 'Launch and status cost'
    needs_ssh = True
    TASKS = ('sync', 'builtin launch', 'asyncops launch', 'builtin status', 'asyncops status',
             'asyncops status of core job')

    def __init__(self, ctx):
        super().__init__(ctx)
        self.repeats = 2
        self.conn_list = ctx.conns(['local', 'ssh', 'pipe', 'wan'])
        self.cost = defaultdict(lambda: defaultdict(dict))  # conn -> task -> {round: median s}
        self.trips = defaultdict(dict)  # task -> {round: median round trips through the relay ('wan' only)}

    def rounds(self):
        # 3 rounds of 2 repeats per connection keep the whole run inside its time budget
        return list(range(min(self.ctx.rounds, 3)))

    def run_round(self, r):
        for conn in self.conn_list:
            self.ctx.reset()
            hname, hv = self.ctx.host(conn, 'cost')
            run = self.ctx.ansible.run('s5-r%d-%s' % (r, conn), 'cost.yml', {hname: hv},
                                       extra_vars={'aoj_repeats': self.repeats,
                                                   'aoj_use_asyncops': self.ctx.use_asyncops}, timeout=600)
            if run.probe is None:
                self.errors.append('round %d %s: no probe data (see %s)' % (r, conn, run.log_path))
                continue
            for name, spans in task_windows(run.probe, self.TASKS).items():
                self.cost[conn][name][r] = stats([end - start for start, end in spans])['median']
                if conn == 'wan':
                    relay = self.ctx.ssh.relay
                    self.trips[name][r] = stats([relay.round_trips_between(start, end) for start, end in spans])['median']

    def vals(self, conn, task):
        return [self.cost[conn][task].get(r) for r in self.rounds()]

    def description(self):
        return ('One host, %s. Each of %d rounds runs one playbook per connection that repeats %d times, interleaved (the '
                'built-in first in even repeats, asyncops.jobs first in odd ones): a plain `command: /bin/true` '
                '(reference); a launch of `/bin/true` with `async: 60, poll: 0` and with `asyncops.jobs.run`; a '
                'status call on a running job (`sleep 300` started at the top) with `ansible.builtin.async_status` '
                'and with `asyncops.jobs.async_status` (on its own job, and on the built-in job: the drop-in case). '
                'A task\'s cost is from its start (`v2_playbook_on_task_start`) to its result reaching the '
                'controller; the figure of a round is the median of its repeats.'
                % (', '.join(CONN_LABEL[c] for c in self.conn_list), len(self.rounds()), self.repeats))

    def rows(self):
        rows = []
        for conn in self.conn_list:
            pipe = conn == 'pipe'
            target = 'asyncops ≤ 0.6× built-in (ratio ≥ 1.67×)' if pipe else 'never worse (ratio ≥ 1×)'
            check = ratio_at_least(1 / 0.6) if pipe else ratio_at_least(1.0)
            rows.append(Row('%s: launch (async poll: 0 vs run)' % CONN_LABEL[conn], 's',
                            a=self.vals(conn, 'builtin launch'), b=self.vals(conn, 'asyncops launch'),
                            target=target, check=check))
            rows.append(Row('%s: status of a running job (each on its own job)' % CONN_LABEL[conn], 's',
                            a=self.vals(conn, 'builtin status'), b=self.vals(conn, 'asyncops status'),
                            target=target, check=check))
            rows.append(Row('%s: status of a built-in job (drop-in)' % CONN_LABEL[conn], 's',
                            a=self.vals(conn, 'builtin status'), b=self.vals(conn, 'asyncops status of core job'),
                            target=target, check=check))
            rows.append(Row('%s: plain sync `command` (reference, in the built-in column)' % CONN_LABEL[conn], 's',
                            a=self.vals(conn, 'sync')))
        if 'wan' in self.conn_list:
            for what, a, b in (('launch', 'builtin launch', 'asyncops launch'),
                               ('status of a running job', 'builtin status', 'asyncops status'),
                               ('status of a built-in job', 'builtin status', 'asyncops status of core job'),
                               ('plain sync `command` (reference)', 'sync', None)):
                rows.append(Row('%s: round trips counted by the relay, %s' % (CONN_LABEL['wan'], what), 'count',
                                a=self.trip_vals(a), b=self.trip_vals(b) if b else None))
        return rows

    def trip_vals(self, task):
        return [self.trips[task].get(r) for r in self.rounds()]

    def chart_panels(self):
        groups, series_a, series_b, series_s = [], [], [], []
        for conn in self.conn_list:
            for what, a, b in (('launch', 'builtin launch', 'asyncops launch'),
                               ('status', 'builtin status', 'asyncops status')):
                groups.append('%s\n%s' % (what, CONN_LABEL[conn]))
                series_a.append(stats(self.vals(conn, a)))
                series_b.append(stats(self.vals(conn, b)))
                series_s.append(stats(self.vals(conn, 'sync')))
        return [{
            'title': '5. Cost of one launch / one status call', 'ylabel': 'seconds', 'groups': groups,
            'series': [('built-in', series_a), ('asyncops', series_b), ('plain sync task', series_s)],
            'fmt': '{:.2f}', 'colors': ['#c0504d', '#2e7d32', '#7f7f7f'],
        }]


# --------------------------------------------------------------------------- 6

class CallbackOverhead(Scenario):
    key = 'callback'
    number = 6
    title = 'Callback overhead'
    a_name, b_name, ratio_name = 'without callback', 'with asyncops.jobs.async_log', 'with / without'

    def __init__(self, ctx):
        super().__init__(ctx)
        if ctx.quick:
            self.hosts, self.batch, self.poll0, self.polled, self.checks = 2, 10, 2, 2, 1
        else:
            # about 1,000 events (4 jids calls per batch job, ~11 built-in events a host); most of the time goes
            # to the built-in's module runs
            self.hosts, self.batch, self.poll0, self.polled, self.checks = 4, 60, 4, 3, 2
        self.cap = 1 if ctx.quick else min(ctx.rounds, 2)
        self.wall = defaultdict(dict)
        self.cpu = defaultdict(dict)
        self.events = {}

    def rounds(self):
        return list(range(self.cap))

    def run_round(self, r):
        if r >= self.cap:
            return
        hosts = dict(self.ctx.host('local', 'cb%02d' % i) for i in range(self.hosts))
        batch = [{'name': 'b%d' % i, 'argv': ['sleep', '0.5']} for i in range(self.batch)]
        for variant in (('without', 'with') if r % 2 == 0 else ('with', 'without')):
            self.ctx.reset()
            env = {}
            log_path = self.ctx.ws.root / ('async_log-r%d.jsonl' % r)
            if variant == 'with':
                env = {'ANSIBLE_CALLBACKS_ENABLED': 'asyncops.jobs.async_log', 'ASYNCOPS_ASYNC_LOG_PATH': str(log_path)}
            run = self.ctx.ansible.run('s6-r%d-%s' % (r, variant), 'callback_load.yml', hosts, forks=self.hosts,
                                       extra_vars={'aoj_batch': batch, 'aoj_poll0_jobs': self.poll0,
                                                   'aoj_polled_len': self.polled, 'aoj_status_checks': self.checks,
                                                   'aoj_use_asyncops': self.ctx.use_asyncops},
                                       env=env, probe=False, timeout=900)
            if not run.ok:
                self.errors.append('round %d %s: failed (see %s)' % (r, variant, run.log_path))
                continue
            self.wall[variant][r] = run.wall
            self.cpu[variant][r] = run.cpu
            if variant == 'with':
                try:
                    with open(log_path) as f:
                        self.events[r] = sum(1 for dummy in f)
                except OSError:
                    self.events[r] = None

    def description(self):
        return ('%d hosts (local connection, forks %d), each: a built-in `sleep %d` with `async: 60, poll: 1`; %d '
                'built-in `poll: 0` launches collected by an `async_status` `until` loop; an asyncops.jobs batch of %d '
                'jobs, waited for with one `mode: wait` over their `jids`, checked %d more times with `jids` and '
                'cleaned up with `mode: cleanup` (each of those calls is one event per job). Run without and with '
                '`ANSIBLE_CALLBACKS_ENABLED=asyncops.jobs.async_log` (console lines and JSON-lines log on, its '
                'defaults), the order alternating per round, the probe callback off. Wall time: the `ansible-playbook` '
                'process; CPU: user+system of it and its reaped children (the controller and the modules it ran).'
                % (self.hosts, self.hosts, self.polled, self.poll0, self.batch, self.checks))

    def rows(self):
        rounds = self.rounds()
        wall_a = [self.wall['without'].get(r) for r in rounds]
        wall_b = [self.wall['with'].get(r) for r in rounds]
        return [
            Row('wall time of the play', 's', a=wall_a, b=wall_b, ratio_b_over_a=True,
                target='≤ 1.05× (≤ 5 % extra)', check=ratio_at_most(1.05)),
            Row('CPU time (controller + modules)', 's', a=[self.cpu['without'].get(r) for r in rounds],
                b=[self.cpu['with'].get(r) for r in rounds], ratio_b_over_a=True),
            Row('async events logged (lines in the JSON-lines file)', 'count',
                b=[self.events.get(r) for r in rounds]),
        ]

    def notes(self):
        return ['Rounds: %d (each round is two full plays).' % self.cap,
                'The 1-minute load average right after this scenario counts its own short-lived job processes.']


# --------------------------------------------------------------------------- 7

class Scale(Scenario):
    key = 'scale'
    number = 7
    title = 'Scale'
    SIDES3 = ('builtin', 'asyncops', 'sync')

    def __init__(self, ctx):
        super().__init__(ctx)
        self.job_len = 3
        # (hosts, forks, connection) -> rounds. The plain synchronous task is the floor of "start and
        # collect" (one execution per host): the target is to come close to it, with the built-in beside.
        if ctx.quick:
            self.configs = {(10, 10, 'local'): 1}
        else:
            self.configs = {(50, 10, 'local'): 1, (200, 50, 'local'): 1}
        if 'wan' in ctx.conns(['wan']):
            self.configs[(10, 10, 'wan') if ctx.quick else (50, 10, 'wan')] = 1
        self.wall = defaultdict(lambda: defaultdict(dict))    # config -> side -> {round: s}
        self.inplay = defaultdict(lambda: defaultdict(dict))  # config -> side -> {round: s}
        self.cpu = defaultdict(lambda: defaultdict(dict))     # config -> side -> {round: CPU s per host}

    def rounds(self):
        return list(range(max(self.configs.values())))

    @staticmethod
    def label(config):
        n, forks, conn = config
        return '%d hosts, forks %d%s' % (n, forks, '' if conn == 'local' else ', ' + CONN_LABEL[conn])

    def run_round(self, r):
        for config, cap in self.configs.items():
            if r >= cap:
                continue
            n, forks, conn = config
            hosts = dict(self.ctx.host(conn, 'scale%03d' % i) for i in range(n))
            order = [s for s in self.SIDES3 if s in self.ctx.sides or s == 'sync']
            k = r % len(order)
            for side in order[k:] + order[:k]:
                self.ctx.reset()
                run = self.ctx.ansible.run('s7-h%d-%s-r%d-%s' % (n, conn, r, side), 'scale_%s.yml' % side, hosts,
                                           forks=forks, extra_vars={'aoj_job_len': self.job_len}, timeout=1500)
                if not run.ok:
                    self.errors.append('%s round %d %s: failed (see %s)' % (self.label(config), r, side, run.log_path))
                    continue
                self.wall[config][side][r] = run.wall
                if run.cpu is not None:
                    self.cpu[config][side][r] = run.cpu / n
                first, last = run.first_task_start(), run.last_result_time()
                if first and last:
                    self.inplay[config][side][r] = last - first

    def vals(self, table, config, side):
        return [table[config][side].get(r) for r in range(self.configs[config])]

    def description(self):
        return ('Inventory hosts (%s), one `sleep %d` job each, launched on every host then waited '
                'for. Built-in: `async: 600, poll: 0`, then `async_status` `until: finished`, `delay: 1`. '
                'asyncops.jobs: `run`, then `async_status` `mode: wait`. The floor: a plain synchronous '
                '`command: sleep %d`, at every size. The three alternate their order per round. Wall time: the '
                '`ansible-playbook` process; "in play": first task start → last result; CPU: user + system seconds '
                'of `ansible-playbook` and the children it reaped (with the local connection that includes the '
                'modules it ran; not the detached jobs), per host.'
                % ('; '.join(self.label(c) for c in self.configs), self.job_len, self.job_len))

    def rows(self):
        rows = []
        for config in self.configs:
            label = self.label(config)
            rows.append(Row('%s: wall time, built-in vs asyncops' % label, 's',
                            a=self.vals(self.wall, config, 'builtin'), b=self.vals(self.wall, config, 'asyncops'),
                            note='beside the floor below'))
            rows.append(Row('%s: wall time, plain sync task (the floor, built-in column) vs asyncops' % label, 's',
                            a=self.vals(self.wall, config, 'sync'), b=self.vals(self.wall, config, 'asyncops'),
                            target='asyncops ≤ 1.1× sync (ratio ≥ 0.91×)', check=ratio_at_least(1 / 1.1)))
            rows.append(Row('%s: in play, built-in vs asyncops' % label, 's',
                            a=self.vals(self.inplay, config, 'builtin'), b=self.vals(self.inplay, config, 'asyncops')))
            rows.append(Row('%s: CPU seconds per host, built-in vs asyncops' % label, 's',
                            a=self.vals(self.cpu, config, 'builtin'), b=self.vals(self.cpu, config, 'asyncops')))
            rows.append(Row('%s: CPU seconds per host, plain sync task vs asyncops' % label, 's',
                            a=self.vals(self.cpu, config, 'sync'), b=self.vals(self.cpu, config, 'asyncops')))
        return rows

    def notes(self):
        return ['Rounds: %s (200 hosts take 4 to 5 minutes for the built-in on 2 cores).'
                % ', '.join('%s in %d round%s' % (self.label(c), k, 's' if k > 1 else '') for c, k in self.configs.items())]

    def chart_panels(self):
        configs = list(self.configs)
        return [{
            'title': '7. Scale: one %d s job per host, wall time' % self.job_len, 'ylabel': 'seconds',
            'groups': [self.label(c) for c in configs],
            'series': [(side, [stats(self.vals(self.wall, c, side)) for c in configs]) for side in self.SIDES3],
            'fmt': '{:.1f}', 'colors': ['#c0504d', '#2e7d32', '#7f7f7f'],
        }]


# --------------------------------------------------------------------------- 8

RECORD_NAME = re.compile(r'^j?[0-9]+\.[0-9]+$')  # a job record: no temp file, no sidecar


class RecordWatcher(threading.Thread):
    """Notes the mtime of the first and of the last version of every job record in a directory (every 10 ms)."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.directory = directory
        self.first = {}  # record name -> mtime of the first version seen
        self.last = {}   # record name -> mtime of the last version seen
        self.halt = threading.Event()

    def scan(self):
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return  # not made yet
        for entry in entries:
            if not RECORD_NAME.match(entry.name):
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            self.first.setdefault(entry.name, mtime)
            self.last[entry.name] = mtime

    def run(self):
        while not self.halt.is_set():
            self.scan()
            time.sleep(0.01)

    def stop(self):
        self.halt.set()
        self.join()
        self.scan()


class Wrapper(Scenario):
    key = 'wrapper'
    number = 8
    title = 'async_wrapper replacement'
    a_name, b_name, ratio_name = 'core async_wrapper', 'replacement', 'core / replacement'
    needs_ssh = True
    CALLBACK = 'asyncops.jobs.supervise'
    TASKS = ('launch', 'builtin status', 'asyncops status', 'sync')
    # SSH and SSH+pipelining in the first round only (the time budget); local in every round
    FULL_ROUNDS = 1
    SHORT_LABEL = {'local': 'local', 'ssh': 'ssh', 'pipe': 'ssh+pipe'}  # for the chart's crowded axis

    def __init__(self, ctx):
        super().__init__(ctx)
        self.limit = 2
        self.repeats = 2 if ctx.quick else 3
        self.conn_list = ctx.conns(['local', 'ssh', 'pipe'])
        self.cost = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))  # conn -> side -> task -> {round: s}
        self.over = defaultdict(lambda: defaultdict(dict))  # conn -> side -> {round: s}, what the record says
        self.over_mtime = defaultdict(lambda: defaultdict(dict))  # conn -> side -> {round: s}, record mtimes
        self.ends = defaultdict(list)  # side -> how its limit jobs ended

    def rounds(self):
        return list(range(min(self.ctx.rounds, 3)))

    def conns_of_round(self, r):
        return self.conn_list if r < self.FULL_ROUNDS else self.conn_list[:1]

    def async_dir(self, conn):
        home = self.ctx.ws.home if conn == 'local' else Path(self.ctx.ssh.home)
        return home / '.ansible_async'

    def run_round(self, r):
        for conn in self.conns_of_round(r):
            for side in self.ctx.order(r):
                self.ctx.reset()
                hname, hv = self.ctx.host(conn, 'wrapper')
                env = {'ANSIBLE_CALLBACKS_ENABLED': 'aoj_bench_probe,' + self.CALLBACK} if side == 'asyncops' else {}
                watcher = RecordWatcher(self.async_dir(conn))
                watcher.start()
                try:
                    run = self.ctx.ansible.run(
                        's8-r%d-%s-%s' % (r, conn, side), 'wrapper_side.yml', {hname: hv}, env=env, timeout=600,
                        extra_vars={'aoj_repeats': self.repeats, 'aoj_limit': self.limit,
                                    'aoj_use_asyncops': self.ctx.use_asyncops})
                finally:
                    watcher.stop()
                self.collect(r, conn, side, run, watcher)

    def collect(self, r, conn, side, run, watcher):
        where = 'round %d %s %s' % (r + 1, CONN_LABEL[conn], side)
        if run.probe is None:
            self.errors.append('%s: no probe data (see %s)' % (where, run.log_path))
            return
        # the replacement ran the jobs of its side, and only those: its start result has the asyncops block
        launched = [x for x in run.results(task='launch') + run.results(task='limit job') if x['status'] == 'ok']
        wrong = [x for x in launched if bool(x.get('asyncops')) != (side == 'asyncops')]
        if not launched or wrong:
            self.errors.append('%s: %s (see %s)' % (where, 'no launch' if not launched else
                                                    'a launch %s the replacement' % ('without' if side == 'asyncops'
                                                                                     else 'under'), run.log_path))
            return
        for name, vals in task_costs(run.probe, self.TASKS).items():
            self.cost[conn][side][name][r] = stats(vals)['median']
        jid = next((x.get('ansible_job_id') for x in run.results(task='limit job')), None)
        try:
            record = json.loads((self.async_dir(conn) / jid).read_text())
        except (OSError, TypeError, ValueError) as e:
            self.errors.append('%s: no record of the limit job %s: %s (see %s)' % (where, jid, e, run.log_path))
            return
        if jid in watcher.first:
            self.over_mtime[conn][side][r] = watcher.last[jid] - watcher.first[jid] - self.limit
        block = record.get('asyncops') if isinstance(record.get('asyncops'), dict) else {}
        if side == 'asyncops':
            try:
                self.over[conn][side][r] = (float(block['ended_at']) - float(block['started_at'])
                                            - float(block['time_limit']))
            except (KeyError, TypeError, ValueError):
                self.errors.append('%s: the record of %s lacks asyncops started_at/ended_at/time_limit'
                                   % (where, jid))
            sent = '→'.join(block.get('signals_sent') or []) or 'none'
            self.ends[side].append('%s, signals sent %s' % (block.get('state'), sent))
        else:
            self.ends[side].append(str(record.get('msg')))
            if record.get('msg') != 'Timeout exceeded':
                self.errors.append('%s: the record of %s does not say `Timeout exceeded`' % (where, jid))
            else:
                self.over[conn][side][r] = self.over_mtime[conn][side].get(r)

    def vals(self, table, conn, side):
        return [table[conn][side].get(r) for r in self.rounds()]

    def costs(self, conn, side, task):
        return [self.cost[conn][side][task].get(r) for r in self.rounds()]

    def description(self):
        return (
            '`ansible.builtin.command` run with `async:`, by ansible-core\'s `async_wrapper` (callback off) and by '
            'the collection\'s replacement (`ANSIBLE_CALLBACKS_ENABLED=%s`): the same playbook, one '
            '`ansible-playbook` run per side, the side going first alternating per round, one host over %s. '
            'Launch: `command: /bin/true` with `async: 60, poll: 0`. Status: `ansible.builtin.async_status` and '
            '`asyncops.jobs.async_status` of a finished job (a `/bin/true` job of the same side, launched and waited '
            'for at the top). A task\'s cost is from its start (`v2_playbook_on_task_start`) to its result reaching '
            'the controller; each run repeats every task %d times and its figure is their median. Time limit: '
            '`command: sleep 60` with `async: %d, poll: 0`, alone on the host (the controller then pauses %d s). '
            'Overshoot, replacement: what its record says, `asyncops.ended_at − asyncops.started_at − '
            'asyncops.time_limit`. Overshoot, core: its record has no times, so the driver watches the record '
            'file every 10 ms: mtime of the final record (`Timeout exceeded`) − mtime of the first one (`started`, '
            'written by the module\'s runner right after the fork that starts the watcher\'s clock) − the limit.'
            % (self.CALLBACK, ', '.join(CONN_LABEL[c] for c in self.conn_list), self.repeats, self.limit,
               self.limit + 2))

    def rows(self):
        rows = []
        for conn in self.conn_list:
            label = CONN_LABEL[conn]
            rows.append(Row('%s: time limit %d s, `sleep 60` (SIGTERM honoured): overshoot per the record'
                            % (label, self.limit), 's',
                            a=self.vals(self.over, conn, 'builtin'), b=self.vals(self.over, conn, 'asyncops'),
                            target='replacement ≤ 0.5 s', check=at_most(0.5)))
            rows.append(Row('%s: launch (`async: 60, poll: 0`)' % label, 's',
                            a=self.costs(conn, 'builtin', 'launch'), b=self.costs(conn, 'asyncops', 'launch'),
                            target='no slower (ratio ≥ 1×)', check=ratio_at_least(1.0)))
            rows.append(Row('%s: `ansible.builtin.async_status` of a finished job' % label, 's',
                            a=self.costs(conn, 'builtin', 'builtin status'),
                            b=self.costs(conn, 'asyncops', 'builtin status'),
                            target='no slower (ratio ≥ 1×)', check=ratio_at_least(1.0)))
            rows.append(Row('%s: `asyncops.jobs.async_status` of a finished replacement job vs '
                            '`ansible.builtin.async_status` of a finished core job' % label, 's',
                            a=self.costs(conn, 'builtin', 'builtin status'),
                            b=self.costs(conn, 'asyncops', 'asyncops status'),
                            target='no slower (ratio ≥ 1×)', check=ratio_at_least(1.0)))
            rows.append(Row('%s: `asyncops.jobs.async_status` of a finished job, core\'s vs the replacement\'s' % label,
                            's', a=self.costs(conn, 'builtin', 'asyncops status'),
                            b=self.costs(conn, 'asyncops', 'asyncops status')))
            rows.append(Row('%s: plain sync `command` (reference: without / with the callback)' % label, 's',
                            a=self.costs(conn, 'builtin', 'sync'), b=self.costs(conn, 'asyncops', 'sync')))
        return rows

    def notes(self):
        if len(self.conn_list) > 1:
            out = ['Rounds: %d over %s; %s in the first %d only (the time budget).'
                   % (len(self.rounds()), CONN_LABEL[self.conn_list[0]],
                      ' and '.join(CONN_LABEL[c] for c in self.conn_list[1:]), self.FULL_ROUNDS)]
        else:
            out = ['Rounds: %d over %s (no SSH in this run).' % (len(self.rounds()), CONN_LABEL[self.conn_list[0]])]
        for conn in self.conn_list:
            a = stats(self.vals(self.over_mtime, conn, 'builtin'))
            b = stats(self.vals(self.over_mtime, conn, 'asyncops'))
            if a or b:
                out.append('%s: the same record-file view for both (final mtime − first mtime − limit): core %s, '
                           'replacement %s.' % (CONN_LABEL[conn], fmt_value(a and a['median'], 's'),
                                                fmt_value(b and b['median'], 's')))
        for side, name in (('builtin', 'core'), ('asyncops', 'replacement')):
            if self.ends[side]:
                out.append('How the limit jobs ended (%s): %s.' % (name, '; '.join(sorted(set(self.ends[side])))))
        out.append('Core\'s watcher of a %d s limit checks every %g s and sends SIGKILL, then sleeps 1 s before it '
                   'writes `Timeout exceeded`: its job is gone about at the limit, its record says so about 1 s '
                   'later. The replacement sends SIGTERM at the limit and writes the final record as soon as the '
                   'module has exited.' % (self.limit, self.limit / 2))
        return out

    def chart_panels(self):
        groups, core, repl = [], [], []
        for conn in self.conn_list:
            for what, task in (('launch', 'launch'), ('builtin\nstatus', 'builtin status'),
                               ('asyncops\nstatus', 'asyncops status')):
                groups.append('%s\n%s' % (what, self.SHORT_LABEL[conn]))
                core.append(stats(self.costs(conn, 'builtin', task)))
                repl.append(stats(self.costs(conn, 'asyncops', task)))
        return [{
            'title': '8. async_wrapper replacement: %d s limit overshoot (record)' % self.limit, 'ylabel': 'seconds',
            'groups': [CONN_LABEL[c] for c in self.conn_list],
            'series': [('core async_wrapper', [stats(self.vals(self.over, c, 'builtin')) for c in self.conn_list]),
                       ('replacement', [stats(self.vals(self.over, c, 'asyncops')) for c in self.conn_list])],
            'hline': 0.5, 'hline_label': 'target 0.5 s', 'fmt': '{:.2f}', 'colors': ['#c0504d', '#2e7d32'],
        }, {
            'title': '8. async_wrapper replacement: cost of a launch / status call of a finished job',
            'ylabel': 'seconds', 'groups': groups,
            'series': [('core async_wrapper', core), ('replacement', repl)], 'fmt': '{:.2f}',
            'colors': ['#c0504d', '#2e7d32'],
        }]


# --------------------------------------------------------------------------- 9

IMPORT_LINE = re.compile(r'^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)')


def import_seconds(stderr):
    """Total import time of a `python -X importtime` run: the cumulative times of its top-level imports."""
    total = 0
    for line in stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if m and not m.group(3):
            total += int(m.group(2))
    return total / 1e6


class Payload(Scenario):
    key = 'payload'
    number = 9
    title = 'What each call ships and imports'
    # AnsiballZ file of each measured task, in the order the playbook runs them (two share a name)
    FILES = (('sync command', 'AnsiballZ_command.py'), ('builtin launch', 'AnsiballZ_command.py'),
             ('builtin status', 'AnsiballZ_async_status.py'), ('asyncops status', 'AnsiballZ_async_status.py'),
             ('asyncops launch', 'AnsiballZ_run.py'), ('builtin download', 'AnsiballZ_get_url.py'),
             ('asyncops download', 'AnsiballZ_download.py'))
    REPEATS = 5

    def __init__(self, ctx):
        super().__init__(ctx)
        self.size = {}  # task -> bytes shipped (the AnsiballZ file; the built-in launch adds async_wrapper.py)
        self.imports = defaultdict(dict)  # task -> {round: median seconds of imports}
        self.wall = defaultdict(dict)  # task -> {round: median seconds of the whole payload run}
        self.files = {}

    def rounds(self):
        return list(range(min(self.ctx.rounds, 3)))

    def collect(self):
        self.ctx.reset()
        remote_tmp = self.ctx.ws.root / 'payload-tmp'
        shutil.rmtree(remote_tmp, ignore_errors=True)
        hname, hv = self.ctx.host('local', 'payload', ansible_remote_tmp=str(remote_tmp))
        run = self.ctx.ansible.run('s9-payload', 'payload.yml', {hname: hv},
                                   env={'ANSIBLE_KEEP_REMOTE_FILES': '1'}, probe=False, timeout=300)
        if not run.ok:
            self.errors.append('the payload playbook failed (see %s)' % run.log_path)
            return
        dirs = sorted(remote_tmp.glob('ansible-tmp-*'), key=lambda d: float(d.name.split('-')[2]))
        dirs = [d for d in dirs if list(d.glob('AnsiballZ_*.py'))]
        if len(dirs) != len(self.FILES):
            self.errors.append('found %d AnsiballZ payloads, expected %d (see %s)' % (len(dirs), len(self.FILES), remote_tmp))
            return
        for (task, name), d in zip(self.FILES, dirs):
            path = d / name
            if not path.exists():
                self.errors.append('%s: no %s in %s' % (task, name, d))
                continue
            self.files[task] = path
            self.size[task] = path.stat().st_size + sum(f.stat().st_size for f in d.glob('async_wrapper.py'))

    def run_round(self, r):
        if r == 0:
            self.collect()
        for task, path in self.files.items():
            if task == 'builtin launch':
                continue  # its payload runs as the job, under async_wrapper: its cost is the sync command's
            walls, imports = [], []
            for dummy in range(self.REPEATS):
                t0 = time.monotonic()
                proc = subprocess.run([TARGET_PYTHON, '-X', 'importtime', str(path)], cwd=str(path.parent),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
                walls.append(time.monotonic() - t0)
                imports.append(import_seconds(proc.stderr))
            self.wall[task][r] = stats(walls)['median']
            self.imports[task][r] = stats(imports)['median']

    def description(self):
        return ('One call of each module over the local connection with `ANSIBLE_KEEP_REMOTE_FILES=1`; the driver '
                'then weighs the AnsiballZ file each call shipped (the built-in launch: plus `async_wrapper.py`) and '
                'runs each %d times per round as the target does (`%s -X importtime AnsiballZ_<module>.py`, its '
                'arguments inside): the median wall time of that run and of its imports (the cumulative time of '
                'the top-level imports; AnsiballZ imports from a zip and compiles every time, nothing is cached). '
                'The built-in launch is weighed only: its payload runs as the job.' % (self.REPEATS, TARGET_PYTHON))

    def rows(self):
        rows = []
        for what, a, b in (('status', 'builtin status', 'asyncops status'),
                           ('launch (built-in: command + async_wrapper.py)', 'builtin launch', 'asyncops launch'),
                           ('download (get_url vs download)', 'builtin download', 'asyncops download')):
            rows.append(Row('%s: payload shipped' % what, 'KB', a=[self.kb(a)], b=[self.kb(b)]))
        for what, a, b in (('status', 'builtin status', 'asyncops status'),
                           ('download (get_url vs download)', 'builtin download', 'asyncops download')):
            rows.append(Row('%s: imports on the target' % what, 's', a=self.values(self.imports[a]),
                            b=self.values(self.imports[b])))
            rows.append(Row('%s: the payload\'s run on the target' % what, 's', a=self.values(self.wall[a]),
                            b=self.values(self.wall[b]), target='never worse (ratio ≥ 1×)', check=ratio_at_least(1.0)))
        rows.append(Row('launch: imports on the target (built-in: the sync command\'s module)', 's',
                        a=self.values(self.imports['sync command']), b=self.values(self.imports['asyncops launch'])))
        rows.append(Row('plain sync `command` (reference): payload', 'KB', a=[self.kb('sync command')]))
        rows.append(Row('plain sync `command` (reference): the payload\'s run on the target', 's',
                        a=self.values(self.wall['sync command'])))
        return rows

    def kb(self, task):
        size = self.size.get(task)
        return None if size is None else size / 1024.0


ALL = (Latency, RoundTrips, ManyJobs, TimeLimits, Cost, CallbackOverhead, Scale, Wrapper, Payload)
