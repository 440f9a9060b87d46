# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark harness: work space, collection install, loopback SSH target,
counting interpreter and ansible-playbook runs. Used by benchmarks/run only."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / 'benchmarks'
PLAYBOOKS = BENCH / 'playbooks'
SSHD_HOST = REPO / 'extensions' / 'molecule' / 'shared' / 'sshd_host.sh'
TARGET_PYTHON = '/usr/bin/python3'
SSH_USER = 'aoj-bench'


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), file=sys.stderr, flush=True)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def sh(cmd, check=True, env=None, capture=True, timeout=600):
    """Run a short helper command; its output is returned (and shown on failure)."""
    proc = subprocess.run(cmd, env=env, check=False, timeout=timeout, text=True,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)
    if check and proc.returncode != 0:
        raise RuntimeError('%s failed (rc %s):\n%s' % (' '.join(map(str, cmd)), proc.returncode, proc.stdout or ''))
    return proc.stdout or ''


class Workspace:
    """A private directory under /tmp for one benchmark run.

    ``home`` is the HOME of every ansible-playbook run (so the local
    connection's ``~/.ansible_async`` and ``~/.ansible/tmp`` are the run's own,
    never root's real ones, which other test runs may be using); ``out`` and
    ``counts`` are world-writable (sticky) so that the SSH user's jobs can
    write their timestamps there.
    """

    DIRS = (('home', 0o700), ('collections', 0o755), ('dist', 0o755), ('interp', 0o755), ('counts', 0o1777),
            ('out', 0o1777), ('probe', 0o755), ('inv', 0o755), ('ssh', 0o700), ('cp', 0o700))

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix='aojb-', dir='/tmp'))
        os.chmod(self.root, 0o755)
        for name, mode in self.DIRS:
            path = self.root / name
            path.mkdir()
            os.chmod(path, mode)
            setattr(self, name, path)
        self._seq = 0
        self.count_script = self.interp / 'count.sh'
        self.count_script.write_text(
            '#!/bin/bash\n'
            '# benchmark interpreter: logs each Python run on the target, then runs Python\n'
            'printf \'%%s %%s\\n\' "$EPOCHREALTIME" "$*" >> "%s/${0##*/}.log"\n'
            'exec %s "$@"\n' % (self.counts, TARGET_PYTHON))
        os.chmod(self.count_script, 0o755)

    def seq(self):
        self._seq += 1
        return self._seq

    def counting_interpreter(self, host):
        link = self.interp / host
        if not link.exists():
            link.symlink_to(self.count_script)
        return str(link)

    def clear_counts(self):
        for f in self.counts.iterdir():
            f.unlink()

    def read_counts(self, host):
        path = self.counts / ('%s.log' % host)
        if not path.exists():
            return []
        lines = []
        for line in path.read_text(errors='replace').splitlines():
            ts, dummy, args = line.partition(' ')
            lines.append((float(ts.replace(',', '.')), args.split()))
        return lines

    def write_config(self, forks=10):
        cfg = self.root / 'ansible.cfg'
        cfg.write_text(
            '[defaults]\n'
            'collections_path = %s\n'
            'collections_scan_sys_path = False\n'
            'callback_plugins = %s\n'
            'host_key_checking = False\n'
            'retry_files_enabled = False\n'
            'interpreter_python = %s\n'
            'deprecation_warnings = False\n'
            'forks = %d\n'
            'timeout = 30\n'
            '\n[ssh_connection]\n'
            'ssh_args = -o ControlMaster=auto -o ControlPersist=60s\n'
            % (self.collections, BENCH / 'callback_plugins', TARGET_PYTHON, forks))
        self.config = cfg
        return cfg

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def executions(lines):
    """The lines of count_executions(): (time, argv) of each module run the controller started."""
    wrapped = set()
    for dummy, argv in lines:
        if argv and argv[0].endswith('async_wrapper.py') and len(argv) > 4:
            wrapped.add(argv[4])
    return [(ts, argv) for ts, argv in lines if not (argv and argv[0] in wrapped)]


def count_executions(lines):
    """Module executions the controller started, from the counting interpreter's log.

    Every Python run on the target is logged. The built-in async_wrapper runs
    the wrapped module (the job itself) through the same interpreter: those
    runs are the job, not a round trip, and are not counted.
    """
    return len(executions(lines))


class SshTarget:
    """One sshd on 127.0.0.1 with a throwaway user and key, for the SSH runs.

    Started with the test harness's extensions/molecule/shared/sshd_host.sh,
    but with its own user (aoj-bench), port and state directory, so that it
    never touches the users, ports and processes of a test run that may be
    running at the same time.
    """

    def __init__(self, ws, port=22290):
        self.ws = ws
        self.port = port
        self.user = SSH_USER
        self.dir = ws.ssh / 'sshd'
        self.key = ws.ssh / 'id_ed25519'
        self.started = False
        self.created_user = False
        self.relay = None

    @staticmethod
    def _port_free(port):
        with socket.socket() as s:
            return s.connect_ex(('127.0.0.1', port)) != 0

    def start(self):
        if os.geteuid() != 0:
            raise RuntimeError('the SSH part needs root (it adds a throwaway user); run as root or use --no-ssh')
        for cand in range(self.port, self.port + 40):
            if self._port_free(cand):
                self.port = cand
                break
        else:
            raise RuntimeError('no free port near %d' % self.port)
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            sh(['useradd', '--create-home', '--home-dir', '/home/' + self.user, '--shell', '/bin/bash',
                '--password', '*', self.user])
            self.created_user = True
        self.home = pwd.getpwnam(self.user).pw_dir
        sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'aoj-bench', '-f', str(self.key)])
        env = dict(os.environ, AOJ_SSHD='/usr/sbin/sshd')
        sh([str(SSHD_HOST), 'start', str(self.dir), str(self.port), self.user, str(self.key) + '.pub'], env=env)
        self.started = True
        login = ['ssh'] + self.ssh_options() + ['-p', str(self.port), '%s@127.0.0.1' % self.user, 'true']
        for dummy in range(50):
            proc = subprocess.run(login, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if proc.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError('cannot log in to the benchmark sshd on port %d' % self.port)

    def ssh_options(self):
        return ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes',
                '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-i', str(self.key)]

    def start_relay(self, rtt_ms):
        """Put a relay adding rtt_ms of round-trip time in front of the sshd (for relayed host_vars)."""
        from relay import LatencyRelay
        self.relay = LatencyRelay(self.port, rtt_ms)

    def host_vars(self, pipelining, relayed=False):
        return {
            'ansible_connection': 'ssh',
            'ansible_host': '127.0.0.1',
            'ansible_port': self.relay.port if relayed else self.port,
            'ansible_user': self.user,
            'ansible_ssh_private_key_file': str(self.key),
            'ansible_ssh_common_args': ' '.join(self.ssh_options()[:10]),
            'ansible_control_path_dir': str(self.ws.cp),
            'ansible_control_path': '%(directory)s/%%C',
            'ansible_pipelining': bool(pipelining),
        }

    def close_masters(self):
        if self.started:
            sh([str(SSHD_HOST), 'close-masters', str(self.ws.cp)], check=False)

    def reset(self):
        """Start a run without job records and temp files of the last one."""
        if self.started:
            for sub in ('.ansible_async', '.ansible/tmp'):
                shutil.rmtree(os.path.join(self.home, sub), ignore_errors=True)

    def stop(self):
        if not self.started:
            return
        self.close_masters()
        if self.relay is not None:
            self.relay.close()
        sh([str(SSHD_HOST), 'stop', str(self.dir), str(self.port)], check=False)
        sh([str(SSHD_HOST), 'end-processes', self.user], check=False)
        sh(['userdel', '--remove', '--force', self.user], check=False)
        self.started = False


class Run:
    """One ansible-playbook run and what was measured around it."""

    def __init__(self, key, log_path):
        self.key = key
        self.log_path = log_path
        self.rc = None
        self.t_start = self.t_end = None
        self.cpu = None
        self.load_before = self.load_after = None
        self.probe = None
        self.counts = {}
        self.count_lines = {}
        self.proc = None
        self.timed_out = False

    @property
    def ok(self):
        return self.rc == 0

    @property
    def wall(self):
        return None if self.t_end is None else self.t_end - self.t_start

    def task_starts(self, name):
        return [t['t'] for t in (self.probe or {}).get('tasks', []) if t['name'] == name]

    def first_task_start(self):
        tasks = (self.probe or {}).get('tasks', [])
        return tasks[0]['t'] if tasks else None

    def results(self, task=None, host=None):
        out = []
        for r in (self.probe or {}).get('results', []):
            if (task is None or r['task'] == task) and (host is None or r['host'] == host):
                out.append(r)
        return out

    def last_result_time(self):
        res = (self.probe or {}).get('results', [])
        return max((r['t'] for r in res), default=None)

    def summary(self):
        return {
            'key': self.key, 'rc': self.rc, 'timed_out': self.timed_out, 'wall': self.wall,
            't_start': self.t_start, 't_end': self.t_end, 'cpu': self.cpu,
            'load_before': self.load_before, 'load_after': self.load_after,
            'log': str(self.log_path), 'probe_counts': (self.probe or {}).get('counts'),
            'executions': self.counts,
        }


class Ansible:
    """Runs ansible-playbook with the installed collection and the probe callback."""

    def __init__(self, ws, venv, logdir, ssh=None):
        self.ws = ws
        self.venv = Path(venv)
        self.logdir = Path(logdir)
        self.ssh = ssh
        self.runs = []
        self.active = set()

    def env(self, extra=None):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'ASYNCOPS_', 'AOJ_')))
        env.update({
            'HOME': str(self.ws.home),
            'ANSIBLE_CONFIG': str(self.ws.config),
            'PATH': '%s:%s' % (self.venv / 'bin', os.environ.get('PATH', '/usr/bin:/bin')),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        env.update(extra or {})
        return env

    def galaxy(self, *args):
        return sh([str(self.venv / 'bin' / 'ansible-galaxy')] + list(args), env=self.env())

    def install_collection(self):
        for f in self.ws.dist.glob('*.tar.gz'):
            f.unlink()
        self.galaxy('collection', 'build', '--force', '--output-path', str(self.ws.dist), str(REPO))
        tarball = sorted(self.ws.dist.glob('asyncops-jobs-*.tar.gz'))[-1]
        self.galaxy('collection', 'install', '--force', '-p', str(self.ws.collections), str(tarball))
        return tarball

    def has_module(self, name):
        proc = subprocess.run([str(self.venv / 'bin' / 'ansible-doc'), '-t', 'module', name], env=self.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return proc.returncode == 0

    def version(self):
        return sh([str(self.venv / 'bin' / 'ansible'), '--version'], env=self.env()).splitlines()[0].strip()

    def start(self, key, playbook, hosts, extra_vars=None, forks=10, env=None, probe=True, timeout=900):
        """Start a run in the background. hosts: {name: hostvars}."""
        n = self.ws.seq()
        stem = '%03d-%s' % (n, key)
        inv = self.ws.inv / (stem + '.json')
        inv.write_text(json.dumps({'all': {'hosts': hosts}}, indent=1))
        ev = self.ws.inv / (stem + '-vars.json')
        ev.write_text(json.dumps(extra_vars or {}))
        run = Run(key, self.logdir / (stem + '.log'))
        probe_out = self.logdir / (stem + '.probe.json')
        extra_env = {'ANSIBLE_FORKS': str(forks)}
        if probe:
            extra_env.update({'ANSIBLE_CALLBACKS_ENABLED': 'aoj_bench_probe', 'AOJ_BENCH_PROBE_OUT': str(probe_out)})
        extra_env.update(env or {})
        cmd = [str(self.venv / 'bin' / 'ansible-playbook'), '-i', str(inv), '-e', '@' + str(ev),
               str(PLAYBOOKS / playbook)]
        if self.ssh is not None:
            self.ssh.close_masters()
        run.load_before = loadavg()
        run.logf = open(run.log_path, 'w')
        run.logf.write('# %s\n' % ' '.join(cmd))
        run.logf.flush()
        run.t_start = time.time()
        run.proc = subprocess.Popen(cmd, env=self.env(extra_env), cwd=str(self.ws.root), stdout=run.logf,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.active.add(run)
        run.probe_out = probe_out
        run.stem = stem
        run.hosts = list(hosts)
        run.timer = threading.Timer(timeout, self._kill, (run,))
        run.timer.daemon = True
        run.timer.start()
        return run

    @staticmethod
    def _kill(run):
        run.timed_out = True
        try:
            os.killpg(run.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def finish(self, run):
        _pid, status, usage = os.wait4(run.proc.pid, 0)
        self.active.discard(run)
        run.t_end = time.time()
        run.timer.cancel()
        run.proc.returncode = run.rc = os.waitstatus_to_exitcode(status)
        run.cpu = usage.ru_utime + usage.ru_stime
        run.load_after = loadavg()
        run.logf.close()
        if run.probe_out.exists():
            run.probe = json.loads(run.probe_out.read_text())
        for host in run.hosts:
            lines = self.ws.read_counts(host)
            if lines:
                run.counts[host] = count_executions(lines)
                run.count_lines[host] = lines
        if run.count_lines:
            with open(self.logdir / (run.stem + '.executions.json'), 'w') as f:
                json.dump(run.count_lines, f)
        self.runs.append(run)
        status_text = 'ok' if run.ok else ('TIMED OUT' if run.timed_out else 'FAILED rc=%s' % run.rc)
        log('  %-44s %6.1fs  %s  (load %s)' % (run.key, run.wall, status_text, run.load_before[0]))
        if not run.ok:
            log('    see %s' % run.log_path)
        return run

    def abort(self):
        """End the runs still going (their process groups: each was started in its own session)."""
        for run in list(self.active):
            self._kill(run)
            try:
                os.waitpid(run.proc.pid, 0)
            except OSError:
                pass
            self.active.discard(run)

    def run(self, *args, **kwargs):
        return self.finish(self.start(*args, **kwargs))
