# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for the collection's job supervisor, for tests of async_status.

    fake_supervisor.py --async-dir DIR [--count N] [--time-limit S] [--grace S] -- CMD ARG...

Starts N jobs (``{i}`` in CMD is replaced by the job's index), each under a
detached supervisor that writes the record the way the contract says:
running record with an ``asyncops`` block (pid = pgid = the job's process
group leader, pid_start/supervisor_start tokens from /proc), output into
``<jid>.out``/``<jid>.err``, ``ASYNCOPS_PROGRESS_FILE`` exported, SIGUSR1 =
"killed from outside", a final record when the job ends. Prints the jids as
a JSON list once every running record exists.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def start_token(pid):
    with open('/proc/%d/stat' % pid, 'rb') as f:
        return f.read().rsplit(b')', 1)[1].split()[19].decode('ascii')


def write_json(path, obj):
    d, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp', dir=d)
    with os.fdopen(fd, 'w') as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def supervise(async_dir, jid, index, cmd, time_limit, grace, notify_fd):
    record_path = os.path.join(async_dir, jid)
    out, err, progress = record_path + '.out', record_path + '.err', record_path + '.progress'
    killed = []
    signal.signal(signal.SIGUSR1, lambda *_: killed.append(time.time()))
    env = dict(os.environ, ASYNCOPS_PROGRESS_FILE=progress, ASYNCOPS_JOB_ID=jid)
    with open(out, 'wb') as fo, open(err, 'wb') as fe:
        os.chmod(out, 0o600)
        os.chmod(err, 0o600)
        started_at = time.time()
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env,
                                 preexec_fn=os.setpgrp)  # pylint: disable=subprocess-popen-preexec-fn
    ao = {
        'state': 'running', 'pid': child.pid, 'pid_start': start_token(child.pid), 'pgid': child.pid,
        'supervisor_pid': os.getpid(), 'supervisor_start': start_token(os.getpid()),
        'started_at': started_at, 'ended_at': None, 'time_limit': time_limit, 'kill_grace': grace,
        'progress_file': progress, 'stdout_file': out, 'stderr_file': err,
        'rc': None, 'signal': None, 'reason': None, 'resources': {},
    }
    write_json(record_path, {'started': True, 'finished': False, 'ansible_job_id': jid, 'asyncops': ao})
    os.write(notify_fd, ('%d %s\n' % (index, jid)).encode())
    os.close(notify_fd)
    timed_out = False
    while True:
        try:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            status = 0
            break
        if pid:
            break
        if time_limit and not timed_out and time.time() - started_at > time_limit:
            timed_out = True
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except OSError:
                pass
            deadline = time.time() + grace
            while time.time() < deadline:
                pid, status = os.waitpid(child.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.05)
            if pid:
                break
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if killed:
        state, reason = 'killed', 'killed from outside'
    elif timed_out:
        state, reason = 'timeout', 'time limit of %ss exceeded' % time_limit
    elif rc == 0:
        state, reason = 'succeeded', 'exited 0'
    else:
        state, reason = 'failed', 'exited %s' % (rc if rc is not None else 'on signal %s' % sig)
    with open(out, 'rb') as f:
        stdout = f.read().decode('utf-8', 'replace')
    with open(err, 'rb') as f:
        stderr = f.read().decode('utf-8', 'replace')
    ao.update(state=state, ended_at=time.time(), rc=rc, signal=signal.Signals(sig).name if sig else None, reason=reason)
    result = {'started': True, 'finished': True, 'ansible_job_id': jid, 'changed': True, 'cmd': cmd,
              'rc': rc if rc is not None else -sig, 'stdout': stdout, 'stderr': stderr,
              'failed': state != 'succeeded', 'msg': reason, 'asyncops': ao}
    write_json(record_path, result)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--async-dir', required=True)
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--time-limit', type=float, default=None)
    p.add_argument('--grace', type=float, default=2.0)
    p.add_argument('cmd', nargs=argparse.REMAINDER)
    args = p.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
    async_dir = os.path.abspath(os.path.expanduser(args.async_dir))
    os.makedirs(async_dir, mode=0o700, exist_ok=True)
    rfd, wfd = os.pipe()
    for i in range(args.count):
        jid = 'j%d.%d' % (random.SystemRandom().randint(0, 999999999999), os.getpid())
        if os.fork() == 0:  # first fork: a new session, away from the connection
            os.close(rfd)
            os.setsid()
            if os.fork() == 0:  # the supervisor
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                try:
                    supervise(async_dir, jid, i, [a.replace('{i}', str(i)) for a in cmd], args.time_limit,
                              args.grace, wfd)
                finally:
                    os._exit(0)
            os._exit(0)
        os.wait()
    os.close(wfd)
    started = {}
    with os.fdopen(rfd) as f:
        for line in f:
            index, jid = line.split()
            started[int(index)] = jid
    jids = [started[i] for i in sorted(started)]
    if len(jids) != args.count:
        sys.exit('only %d of %d jobs started' % (len(jids), args.count))
    print(json.dumps(jids))


if __name__ == '__main__':
    main()
