# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/run: asyncops.jobs against ansible-core's built-in async, side by side.

See benchmarks/README.md. Started by benchmarks/run, which picks the Python
environment; run ``benchmarks/run --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import statistics
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
import scenarios  # noqa: E402
from harness import BENCH, REPO, TARGET_PYTHON, Ansible, SshTarget, Workspace, log, sh  # noqa: E402

# The run has to finish in 20 minutes; the report, the chart and the teardown take the rest.
DEFAULT_BUDGET_MIN = 19.0
REPORT_RESERVE_S = 30.0

NAMES = dict((cls.key, cls) for cls in scenarios.ALL)
NAMES.update(dict((str(cls.number), cls) for cls in scenarios.ALL))


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='benchmarks/run',
        description='Benchmark asyncops.jobs against ansible-core\'s built-in async, side by side. Writes '
                    'benchmarks/results/<timestamp>/ (results.md, results.json, chart.png, logs/).')
    p.add_argument('--rounds', type=int, default=5, help='rounds (default 5); some scenarios cap theirs, see README')
    p.add_argument('--quick', action='store_true', help='smoke run: 1 round, small sizes')
    p.add_argument('--budget', type=float, default=DEFAULT_BUDGET_MIN,
                   help='minutes the run may take (default %g; 0: no limit): past round 1, a scenario\'s round is '
                        'left out when its previous round would not fit any more' % DEFAULT_BUDGET_MIN)
    p.add_argument('--only', default='', help='comma-separated scenarios: %s (or 1-%d)'
                   % (','.join(cls.key for cls in scenarios.ALL), len(scenarios.ALL)))
    p.add_argument('--sides', default='builtin,asyncops',
                   help='builtin,asyncops (default); "builtin" alone smoke-tests the framework without the collection')
    p.add_argument('--no-ssh', action='store_true', help='skip the SSH runs (no sshd, no throwaway user)')
    p.add_argument('--ssh-port', type=int, default=22290, help='first port tried for the loopback sshd')
    p.add_argument('--rtt', type=float, default=0, metavar='MS',
                   help='add an ssh+pipelining connection through a relay that adds MS milliseconds of round-trip '
                        'time to scenarios 1 and 5, and a 50-host run over it to scenario 7 (default 0: none)')
    p.add_argument('--keep', action='store_true', help='keep the work directory under /tmp')
    p.add_argument('--results', default=str(BENCH / 'results'), help='where the timestamped result directory goes')
    args = p.parse_args(argv)
    if args.quick:
        args.rounds = 1
    if args.rounds < 1:
        p.error('--rounds must be at least 1')
    if args.rtt < 0:
        p.error('--rtt must be 0 (none) or more milliseconds')
    if args.budget < 0:
        p.error('--budget must be 0 (no limit) or more minutes')
    args.sides = [s.strip() for s in args.sides.split(',') if s.strip()]
    if not set(args.sides) <= {'builtin', 'asyncops'} or not args.sides:
        p.error('--sides takes builtin and/or asyncops')
    wanted = [s.strip() for s in args.only.split(',') if s.strip()]
    for w in wanted:
        if w not in NAMES:
            p.error('unknown scenario %r (one of %s)' % (w, ', '.join(cls.key for cls in scenarios.ALL)))
    args.only = [cls for cls in scenarios.ALL if not wanted or cls in [NAMES[w] for w in wanted]]
    return args


def machine_info(ansible):
    cpu = '?'
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    mem = '?'
    try:
        for line in open('/proc/meminfo'):
            if line.startswith('MemTotal'):
                mem = '%.1f GiB' % (int(line.split()[1]) / 1024 / 1024)
                break
    except OSError:
        pass
    target_py = sh([TARGET_PYTHON, '--version'], check=False).strip()
    commit = sh(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'], check=False).strip()
    dirty = sh(['git', '-C', str(REPO), 'status', '--porcelain'], check=False).strip()
    return {
        'nproc': os.cpu_count(), 'cpu': cpu, 'memory': mem, 'kernel': platform.release(),
        'ansible_core': ansible.version(), 'controller_python': sys.version.split()[0],
        'target_python': '%s (%s)' % (target_py, TARGET_PYTHON), 'commit': commit,
        'work_tree': 'with uncommitted changes (%d paths)' % len(dirty.splitlines()) if dirty else 'clean',
        'uptime_start': sh(['uptime'], check=False).strip(),
    }


def write_report(outdir, args, meta, scen, ansible, t0):
    runs = ansible.runs
    loads = [r.load_before[0] for r in runs if r.load_before]
    meta['uptime_end'] = sh(['uptime'], check=False).strip()
    meta['duration_s'] = round(time.time() - t0, 1)
    meta['load_1min_during_runs'] = ({'min': min(loads), 'median': statistics.median(loads), 'max': max(loads)}
                                     if loads else None)
    high = bool(loads) and statistics.median(loads) > (os.cpu_count() or 1)

    md = ['# asyncops.jobs vs the built-in async: benchmark results', '',
          '- Command: `%s`' % meta['command'],
          '- Date: %s; total run time %d s (%.1f min)' % (meta['date'], meta['duration_s'], meta['duration_s'] / 60),
          '- Machine: %s CPUs (%s), %s memory, Linux %s' % (meta['nproc'], meta['cpu'], meta['memory'], meta['kernel']),
          '- %s; controller Python %s; target Python %s'
          % (meta['ansible_core'], meta['controller_python'], meta['target_python']),
          '- Collection: built from the work tree at %s (%s), installed with ansible-galaxy into a temp '
          'collections path' % (meta['commit'], meta['work_tree']),
          '- Rounds: %d%s; time budget: %s; sides: %s; SSH: %s'
          % (args.rounds, ' (--quick)' if args.quick else '',
             '%g min' % args.budget if args.budget else 'none', ', '.join(args.sides), meta['ssh']),
          '- Load: at start `%s`; at end `%s`' % (meta['uptime_start'], meta['uptime_end'])]
    if meta.get('interrupted'):
        md.append('- **Interrupted**: the figures are those measured until then.')
    if loads:
        md.append('- 1-minute load average before each of the %d playbook runs: min %.2f, median %.2f, max %.2f'
                  % (len(loads), min(loads), statistics.median(loads), max(loads)))
    if high:
        md.append('- **The machine was busy** (median load above its %d CPUs: other jobs were running): '
                  'absolute times are inflated and noisier than on an idle machine; the ratios of sides run '
                  'alternately in the same rounds are the more robust figures.' % (os.cpu_count() or 1))
    md += ['', 'Values: median [min – max] over the rounds; ratios are computed per round, then their median. '
           'Result compares the median (or the median ratio) with the target.', '']

    data = {'meta': meta, 'scenarios': [], 'runs': [r.summary() for r in runs]}
    verdicts = []
    for s in scen:
        rows = s.rows()
        md += ['## %d. %s' % (s.number, s.title), '', s.description(), '']
        if rows:
            md += [report.markdown_table(rows, s.a_name, s.b_name, s.ratio_name), '']
        for note in s.notes():
            md.append('- ' + note)
        if s.skipped:
            left_out = ', '.join(str(r + 1) for r in s.skipped)
            md.append('- Left out to stay inside the %g-minute time budget (`--budget`): round%s %s; the figures '
                      'above are over the other rounds.' % (args.budget, 's' if len(s.skipped) > 1 else '', left_out))
        for err in s.errors:
            md.append('- Error: ' + err)
        md.append('')
        data['scenarios'].append({'key': s.key, 'number': s.number, 'title': s.title,
                                  'rounds': [r for r in s.rounds() if r not in s.skipped], 'skipped_rounds': s.skipped,
                                  'description': s.description(), 'rows': [r.as_dict() for r in rows],
                                  'notes': s.notes(), 'errors': s.errors})
        for row in rows:
            verdict, detail = row.verdict()
            if verdict:
                verdicts.append('%d. %s — **%s** (%s)' % (s.number, row.label, verdict, detail))
    if verdicts:
        md += ['## Targets', ''] + ['- ' + v for v in verdicts] + ['']
    chart_ok = False
    try:
        chart_ok = report.chart(outdir / 'chart.png', scen)
    except Exception:  # pylint: disable=broad-except
        md.append('(chart failed: %s)' % traceback.format_exc().splitlines()[-1])
    if chart_ok:
        md += ['![chart](chart.png)', '']
    (outdir / 'results.md').write_text('\n'.join(md))
    (outdir / 'results.json').write_text(json.dumps(data, indent=1, default=str))
    return outdir / 'results.md'


def main(argv):
    args = parse_args(argv)
    t0 = time.time()
    stamp = time.strftime('%Y%m%d-%H%M%S')
    outdir = Path(args.results) / stamp
    (outdir / 'logs').mkdir(parents=True)
    venv = os.environ.get('AOJ_BENCH_VENV') or sys.prefix
    meta = {'command': 'benchmarks/run' + ''.join(' ' + shlex.quote(a) for a in argv), 'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
            'venv': venv}

    def on_signal(signum, _frame):
        raise KeyboardInterrupt('signal %d' % signum)
    # SIGTERM, and SIGINT also when started in the background (where a shell ignores it): stop, write the report
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ws = Workspace()
    ws.write_config()
    ssh = None
    ansible = Ansible(ws, venv, outdir / 'logs')
    scen = []
    try:
        log('work directory %s, results %s' % (ws.root, outdir))
        meta.update(machine_info(ansible))
        log('%s; load: %s' % (meta['ansible_core'], meta['uptime_start']))
        log('building and installing the collection')
        tarball = ansible.install_collection()
        meta['tarball'] = tarball.name
        if 'asyncops' in args.sides:
            missing = [m for m in ('asyncops.jobs.run', 'asyncops.jobs.async_status') if not ansible.has_module(m)]
            if missing:
                raise SystemExit('the installed collection lacks %s: use --sides builtin until it exists'
                                 % ', '.join(missing))
        # scale runs over SSH only through the relay
        needs_ssh = any(cls.needs_ssh for cls in args.only) or bool(args.rtt and scenarios.Scale in args.only)
        if needs_ssh and not args.no_ssh:
            log('starting the loopback sshd (user %s)' % 'aoj-bench')
            ssh = SshTarget(ws, args.ssh_port)
            ansible.ssh = ssh
            ssh.start()
            if args.rtt:
                ssh.start_relay(args.rtt)
                scenarios.CONN_LABEL['wan'] = 'ssh+pipelining, %g ms RTT' % args.rtt
            meta['ssh'] = 'sshd on 127.0.0.1:%d, user %s (its own, removed at the end)' % (ssh.port, ssh.user)
            if ssh.relay is not None:
                meta['ssh'] += '; a relay on port %d adds %g ms of round-trip time' % (ssh.relay.port, args.rtt)
        else:
            meta['ssh'] = 'not run'
        ctx = scenarios.Context(ws, ansible, ssh, args.sides, args.quick, args.rounds)
        latency = None
        for cls in args.only:
            if cls is scenarios.RoundTrips:
                scen.append(cls(ctx, latency=latency))
            else:
                scen.append(cls(ctx))
            if cls is scenarios.Latency:
                latency = scen[-1]
        total = max(max(s.rounds()) + 1 for s in scen)
        for s in scen:
            log('plan: %d. %s in round(s) %s' % (s.number, s.title, ', '.join(str(r + 1) for r in s.rounds())))
        last_round_s = {}  # scenario key -> how long its last round took
        for r in range(total):
            log('round %d of %d' % (r + 1, total))
            for s in scen:
                if r not in s.rounds():
                    continue
                # round 1 always runs: every scenario gets its figures; later rounds only add repeats
                needed = last_round_s.get(s.key, 0.0)
                if r > 0 and args.budget and time.time() - t0 + needed + REPORT_RESERVE_S > args.budget * 60:
                    s.skipped.append(r)
                    log(' %d. %s: round left out (its last round took %.0f s; budget %g min)'
                        % (s.number, s.title, needed, args.budget))
                    continue
                log(' %d. %s' % (s.number, s.title))
                started = time.time()
                try:
                    s.run_round(r)
                except Exception:  # pylint: disable=broad-except
                    s.errors.append('round %d: %s' % (r, traceback.format_exc().strip().splitlines()[-1]))
                    log(traceback.format_exc())
                last_round_s[s.key] = time.time() - started
    except KeyboardInterrupt:
        log('interrupted: writing what was measured')
        ansible.abort()
        meta['interrupted'] = True
    finally:
        if ssh is not None:
            log('stopping the loopback sshd and removing its user')
            ssh.stop()
        if args.keep:
            log('kept %s' % ws.root)
        else:
            ws.remove()
    path = write_report(outdir, args, meta, scen, ansible, t0)
    log('results: %s (%.1f min)' % (path, (time.time() - t0) / 60))
    print(path.read_text())
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
