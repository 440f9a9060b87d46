#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: run
short_description: Start a command as a supervised background job
version_added: 0.1.0
description:
  - Starts a command on the target as a background job and returns its job id at once, like
    M(ansible.builtin.command) with C(async) and C(poll=0), but under a supervisor that enforces
    O(time_limit) to within a fraction of a second (C(SIGTERM) to the job's process group, then
    C(SIGKILL)), streams the job's output into files you can read while it runs, records the
    return code or the signal, why it ended and its resource use, and removes nothing you did not ask for.
  - The launch is one module call; it returns when the job's record exists, while the job runs
    on without holding the connection open.
  - Collect the job with M(asyncops.jobs.async_status) (or C(ansible.builtin.async_status)), or
    set O(background=false) to run it in the foreground under the same supervisor.
  - With O(batch), one launch starts many commands, at most O(concurrency) at a time, each with its
    own job id and record.
  - The job learns the path of its progress file in E(ASYNCOPS_PROGRESS_FILE) and its job id in
    E(ASYNCOPS_JOB_ID); see the collection's C(docs/progress.md).
author:
  - asyncops.jobs developers (@asyncops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.raw
  - asyncops.jobs.job
  - asyncops.jobs.job.background_default_true
attributes:
  action:
    support: full
  bypass_host_loop:
    support: none
  async:
    support: none
    details: The module starts a background job by itself; use O(background=false) to block.
  check_mode:
    support: full
    details:
      - Starts nothing and writes nothing on the target (no job directory, no record), and reports what would be
        started (C(changed=true); C(changed=false) when O(creates)/O(removes) say there is nothing to do).
      - With O(background=true), it returns a check-mode job id (C(j0.<n>), also one per O(batch) item) with RV(started=false)
        and C(asyncops.state=not_started), so that a task collecting the job with M(asyncops.jobs.async_status) passes
        C(--check) too; that module answers such a job id as not started, without touching the target.
        M(ansible.builtin.async_status) fails on it (C(could not find job)).
      - With O(background=false), no job id is returned (nothing is left to collect).
  diff_mode:
    support: none
  platform:
    platforms: posix
  raw:
    support: partial
    details:
      - The command can be given free-form (the task's value, as M(ansible.builtin.command) takes it)
        on ansible-core 2.19 or later; it is then O(cmd). ansible-core 2.17 and 2.18 refuse a free-form command of a
        collection module (C(has extra params)); use O(cmd) there.
options:
  cmd:
    description:
      - The command to run, split into arguments like a shell would. No shell runs it, so
        pipes, redirections and C(;) do not work; use O(shell) for those.
      - A free-form command (ansible-core 2.19 or later, see the C(raw) attribute) is this option; giving both,
        or a free-form command with O(argv), O(shell) or O(batch), is an error.
      - Exactly one of O(cmd), O(argv), O(shell) and O(batch) is required.
    type: str
  argv:
    description:
      - The command as a list of arguments; no quoting needed, no shell.
    type: list
    elements: str
  shell:
    description:
      - A script run with C(/bin/sh -c) (or O(executable) C(-c)).
    type: str
  executable:
    description:
      - The shell that runs O(shell) (and the O(batch) items that use C(shell)).
    type: path
  chdir:
    description:
      - Change into this directory before running the command.
    type: path
  env:
    description:
      - Environment variables added to the job's environment.
    type: dict
  stdin:
    description:
      - Data fed to the job's standard input, which is otherwise C(/dev/null).
    type: str
  stdin_add_newline:
    description:
      - Whether to append a newline to O(stdin).
    type: bool
    default: true
  expand_argument_vars:
    description:
      - Expand C($VARIABLES) and C(~) in the arguments of O(cmd) and O(argv), like
        M(ansible.builtin.command).
    type: bool
    default: true
  strip_empty_ends:
    description:
      - Strip the empty lines (the trailing newlines) from the end of RV(stdout) and RV(stderr) of the job's result,
        as M(ansible.builtin.command) does. The result is recorded so, and M(asyncops.jobs.async_status) returns it so.
      - The live output files C(<jid>.out) and C(<jid>.err) keep the output as it was written.
    type: bool
    default: true
  creates:
    description:
      - A path or glob; when it exists the command is not run. The task then reports
        C(changed=false) and, with O(background=true), still returns a job id whose record is already
        finished, so the tasks that collect the job work unchanged.
      - A relative path is relative to O(chdir).
    type: path
  removes:
    description:
      - A path or glob; when it does not exist the command is not run (as for O(creates)).
    type: path
  output_limit:
    description:
      - At most this many bytes of each of stdout and stderr are kept, the last ones
        (the result says how many were dropped in C(asyncops.stdout_truncated)).
      - The live output files C(<jid>.out) and C(<jid>.err) hold at least that tail and never
        more than twice as much, not even for a moment.
      - The final record keeps of each tail what fits its budget; RV(stdout), RV(stdout_lines), RV(stderr) and
        RV(stderr_lines) together take at most twice O(output_limit) as JSON, whatever the output (binary, NUL
        bytes, empty lines, one huge line). What is dropped is counted in C(asyncops.stdout_truncated).
    type: int
    default: 1048576
  progress_regex:
    description:
      - A regular expression applied to every line of the job's output (stdout and stderr;
        C(\r) ends a line too). When it matches, the supervisor writes the job's progress from its
        named groups C(percent), or C(current) and C(total), and optionally C(message).
      - The supervisor is then the only writer of the progress file, and the job is not given
        E(ASYNCOPS_PROGRESS_FILE).
      - 'Example: C(''(?P<percent>[0-9.]+)%'').'
    type: str
  keep_record:
    description:
      - With O(background=false), keep the job's record and output files (and return its job id)
        instead of removing them once the result is returned.
      - With O(background=true) the record is always kept, for M(asyncops.jobs.async_status) to collect.
    type: bool
    default: false
  batch:
    description:
      - Start many commands with one launch. A batch supervisor on the target runs them, at most
        O(concurrency) at a time, in list order; each gets its own job id and record from the start.
      - Items not yet started have a record in state C(running) with C(asyncops.queued=true), and
        their own supervisor process, so liveness checks, waits and kills work on them.
      - Items inherit O(chdir), O(env) (merged), O(executable), O(time_limit), O(kill_grace),
        O(output_limit), O(progress_regex), O(strip_empty_ends) and O(expand_argument_vars) from the task.
      - O(creates) and O(removes) of an item are checked when the item starts.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - A label for the job, returned in RV(jobs) and recorded as C(asyncops.name).
        type: str
      cmd:
        description: As O(cmd).
        type: str
      argv:
        description: As O(argv).
        type: list
        elements: str
      shell:
        description: As O(shell).
        type: str
      chdir:
        description: As O(chdir).
        type: path
      env:
        description: Added to O(env).
        type: dict
      stdin:
        description: As O(stdin).
        type: str
      creates:
        description: As O(creates), checked when the item starts.
        type: path
      removes:
        description: As O(removes), checked when the item starts.
        type: path
      time_limit:
        description: As O(time_limit).
        type: float
      kill_grace:
        description: As O(kill_grace).
        type: float
      output_limit:
        description: As O(output_limit).
        type: int
      progress_regex:
        description: As O(progress_regex).
        type: str
      strip_empty_ends:
        description: As O(strip_empty_ends).
        type: bool
  concurrency:
    description:
      - With O(batch), how many commands run at once. Default is the number of CPUs of the target.
    type: int
notes:
  - A job is its process group. When its main process ends, processes it left in the group get
    C(SIGTERM), then C(SIGKILL) after O(kill_grace). To leave a daemon running, start it in its
    own session (C(setsid)).
  - This module does not support the C(async) keyword; it is asynchronous by itself.
seealso:
  - module: asyncops.jobs.async_status
  - module: asyncops.jobs.download
  - module: ansible.builtin.command
"""

EXAMPLES = r"""
- name: Start a migration with a 30 minute limit
  asyncops.jobs.run:
    cmd: /opt/app/bin/migrate --all
    chdir: /opt/app
    time_limit: 1800
    kill_grace: 30
  register: migration

- name: Wait for it (one round trip, ends as soon as the job does)
  asyncops.jobs.async_status:
    jid: "{{ migration.ansible_job_id }}"
    mode: wait
    wait_timeout: 1900

- name: A script that reports its own progress
  asyncops.jobs.run:
    shell: |
      for i in 1 2 3 4; do
        sleep 10
        echo "{\"percent\": $((i * 25)), \"message\": \"step $i\"}" > "$ASYNCOPS_PROGRESS_FILE"
      done

- name: Progress parsed from the output by the supervisor
  asyncops.jobs.run:
    argv: [rsync, -a, --info=progress2, /srv/data/, /mnt/backup/]
    progress_regex: '(?P<percent>[0-9]+)%'

- name: Run in the foreground with a hard limit, like command with a timeout
  asyncops.jobs.run:
    cmd: make test
    chdir: /src
    time_limit: 600
    background: false

- name: Four builds, two at a time, one launch
  asyncops.jobs.run:
    batch:
      - {name: core, cmd: make -C /src/core}
      - {name: ui, cmd: make -C /src/ui, time_limit: 900}
      - {name: docs, shell: make -C /src/docs > /var/log/docs.log 2>&1}
      - {name: tests, argv: [make, -C, /src/tests], env: {CI: "1"}}
    concurrency: 2
  register: builds

- name: Wait for all of them
  asyncops.jobs.async_status:
    jids: "{{ builds.ansible_job_ids }}"
    mode: wait
"""

RETURN = r"""
ansible_job_id:
  description:
    - The job id, to pass to M(asyncops.jobs.async_status).
    - In check mode a check-mode job id (C(j0.<n>)) that names no job; M(asyncops.jobs.async_status) answers it as not
      started.
  returned: >-
    when a job was started or skipped by O(creates)/O(removes), and in check mode (not with O(batch), not with
    O(background=false) unless O(keep_record))
  type: str
  sample: j720385469551.18034
results_file:
  description: The job's record on the target.
  returned: with RV(ansible_job_id), but not in check mode
  type: str
  sample: /root/.ansible_async/j720385469551.18034
started:
  description: Always true when a job was launched (core's async result shape); false in check mode.
  returned: with O(background=true)
  type: bool
finished:
  description: False after a launch (also in check mode), true when O(creates)/O(removes) skipped the command.
  returned: with O(background=true)
  type: bool
cmd:
  description:
    - The command, as a list of arguments (a string for O(shell)), as M(ansible.builtin.command) returns it.
    - After a launch with O(background=true) it is C(asyncops.cmd) (one line), not a top-level key.
  returned: with O(background=false), in check mode, and when O(creates)/O(removes) skipped the command
  type: raw
jobs:
  description: With O(batch), one entry per item, in order.
  returned: with O(batch)
  type: list
  elements: dict
  contains:
    name:
      description: The item's name.
      type: str
    ansible_job_id:
      description: The item's job id (in check mode a check-mode job id).
      type: str
    results_file:
      description: The item's record (not in check mode).
      type: str
    cmd:
      description: In check mode, the item's command, as RV(cmd).
      type: raw
    result:
      description: With O(background=false), the item's final result.
      type: dict
ansible_job_ids:
  description: With O(batch), the job ids in order (in check mode, check-mode job ids).
  returned: with O(batch) (but not with O(background=false) unless O(keep_record))
  type: list
  elements: str
rc:
  description: The return code; a negative number -N when signal N ended the job.
  returned: with O(background=false), and when O(creates)/O(removes) skipped the command
  type: int
stdout:
  description:
    - The job's standard output, its end, trailing newlines removed unless O(strip_empty_ends=false).
    - At most the last O(output_limit) bytes, and as many of them as fit the record's budget, see C(asyncops.stdout_truncated).
  returned: with O(background=false), and when O(creates)/O(removes) skipped the command
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: with O(background=false), and when O(creates)/O(removes) skipped the command
  type: list
  elements: str
stderr:
  description: The job's standard error, like RV(stdout).
  returned: with O(background=false)
  type: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: with O(background=false)
  type: list
  elements: str
start:
  description: When the job started.
  returned: with O(background=false)
  type: str
  sample: '2026-05-04 10:11:12.123456'
end:
  description: When the last process of the job was gone.
  returned: with O(background=false)
  type: str
delta:
  description: How long the job ran.
  returned: with O(background=false)
  type: str
  sample: '0:00:01.504310'
msg:
  description: What happened, when it was not a plain success.
  returned: sometimes
  type: str
asyncops:
  description:
    - Everything this collection adds to the result; nothing of it is at the top level.
    - With O(background=false), what the supervisor recorded; the record's C(asyncops) block.
    - After a launch, C(state) (V(running)), C(started_at), C(pid), C(supervisor_pid), C(cmd), C(kind) and C(name).
    - With O(batch), C(supervisor_pid) (the batch runner), C(concurrency) and C(size).
    - In check mode, C(state) (V(not_started)) and C(check_mode) (V(true)), with C(cmd), C(kind), C(name),
      C(time_limit) and C(kill_grace) of the job that would start (with O(batch), C(concurrency) and C(size));
      C(reason) V(skipped) when O(creates)/O(removes) say there is nothing to do.
  returned: always, but when O(creates)/O(removes) skipped the command with O(background=true) outside check mode
  type: dict
  contains:
    state:
      description: How the job ended; V(running) after a launch; V(not_started) in check mode.
      type: str
      choices: [running, succeeded, failed, timeout, killed, not_started]
    check_mode:
      description: V(true) in check mode, where nothing was started.
      type: bool
    pid:
      description: The job's main process (its process group leader).
      type: int
    supervisor_pid:
      description: The supervisor process (with O(batch), the batch runner).
      type: int
    cmd:
      description: The command as one line.
      type: str
    rc:
      description: The job's return code; a negative number -N when signal N ended it.
      type: int
    stdout_truncated:
      description:
        - Bytes of the standard output not in RV(stdout), that is those before the last O(output_limit) bytes and those
          dropped from the head of that tail so that RV(stdout), RV(stdout_lines), RV(stderr) and RV(stderr_lines)
          take at most twice O(output_limit) in the record (binary output costs up to 6 bytes a byte as JSON).
      type: int
    stderr_truncated:
      description: As C(stdout_truncated), of the standard error.
      type: int
    warnings:
      description:
        - Set when the disk was too full for the whole final record. The output tails are left out first;
          when not even that can be written, a minimal record (rc, signal, reason, state and why) is written
          over the running record, in the space it reserved when the job started.
      type: list
      elements: str
    concurrency:
      description: With O(batch), how many commands run at once.
      type: int
    reason:
      description: Why it ended.
      type: str
      choices: [exited, signalled, timeout, killed, skipped]
    signal:
      description: The signal that ended the main process, by name, or null.
      type: str
      sample: SIGTERM
    started_at:
      description: Epoch seconds.
      type: float
    ended_at:
      description: Epoch seconds.
      type: float
    time_limit:
      description: The O(time_limit), or null.
      type: float
    resources:
      description: C(cpu_user) and C(cpu_system) seconds and C(max_rss_kb) of the job's processes.
      type: dict
    version:
      description: The version of the record format its writer used.
      type: int
      sample: 1
    kind:
      description: What the job runs, V(run) for a command of this module.
      type: str
      choices: [run, download, module]
    name:
      description: The job's name (a O(batch) item's C(name)), or null.
      type: str
    kill_grace:
      description: The O(kill_grace) of the job.
      type: float
    pgid:
      description: The job's process group, which time limits and kills signal.
      type: int
    pid_start:
      description:
        - The kernel's start time of C(pid), so that a reused process id is never taken for the job.
      type: str
    supervisor_start:
      description: The kernel's start time of C(supervisor_pid).
      type: str
    output_limit:
      description: The O(output_limit) of the job, bytes of each output stream kept.
      type: int
    stdout_file:
      description: The file the job's standard output is written to while it runs, next to its record.
      type: str
    stderr_file:
      description: The file the job's standard error is written to while it runs.
      type: str
    progress_file:
      description: The file progress reports are read from (see the progress docs).
      type: str
    progress_writer:
      description: Who writes the progress file, the V(supervisor) (from O(progress_regex)) or the V(job).
      type: str
      choices: [supervisor, job]
    queued:
      description: With O(batch), V(true) while a job waits for its turn.
      type: bool
    signals_sent:
      description: The signals the supervisor sent the job's group, in order.
      type: list
      elements: str
      sample: [SIGTERM, SIGKILL]
    record_removed:
      description: With O(background=false) and O(keep_record=false), V(true) as the record was removed once read.
      type: bool
    size:
      description: With O(batch), how many commands it has.
      type: int
"""

import os
import pwd
import shlex
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _batch
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor

_COMMAND_KEYS = ('cmd', 'argv', 'shell')
_INHERITED = ('time_limit', 'kill_grace', 'output_limit', 'progress_regex', 'strip_empty_ends')


def _argument_spec() -> t.Dict[str, t.Any]:
    spec = _supervisor.job_argument_spec(background=True)
    spec.update(
        cmd=dict(type='str'),
        argv=dict(type='list', elements='str'),
        shell=dict(type='str'),
        executable=dict(type='path'),
        chdir=dict(type='path'),
        env=dict(type='dict'),
        stdin=dict(type='str'),
        stdin_add_newline=dict(type='bool', default=True),
        expand_argument_vars=dict(type='bool', default=True),
        strip_empty_ends=dict(type='bool', default=True),
        creates=dict(type='path'),
        removes=dict(type='path'),
        output_limit=dict(type='int', default=_supervisor.DEFAULT_OUTPUT_LIMIT),
        progress_regex=dict(type='str'),
        keep_record=dict(type='bool', default=False),
        batch=dict(type='list', elements='dict', options=dict(
            name=dict(type='str'),
            cmd=dict(type='str'),
            argv=dict(type='list', elements='str'),
            shell=dict(type='str'),
            chdir=dict(type='path'),
            env=dict(type='dict'),
            stdin=dict(type='str'),
            creates=dict(type='path'),
            removes=dict(type='path'),
            time_limit=dict(type='float'),
            kill_grace=dict(type='float'),
            output_limit=dict(type='int'),
            progress_regex=dict(type='str'),
            strip_empty_ends=dict(type='bool'),
        ), mutually_exclusive=[list(_COMMAND_KEYS)], required_one_of=[list(_COMMAND_KEYS)]),
        concurrency=dict(type='int'),
    )
    return spec


def _home_of(user: str) -> str:
    if not user:
        home = os.environ.get('HOME')
        if home:
            return home
        user_entry = pwd.getpwuid(os.getuid())
    else:
        user_entry = pwd.getpwnam(user)
    return user_entry.pw_dir


def _expand(arg: str, expand: bool) -> str:
    """$VARIABLES and a leading ~ or ~user expanded, as ansible.builtin.command does."""
    if not expand:
        return arg
    arg = os.path.expandvars(arg)
    if arg.startswith('~'):
        user, sep, rest = arg[1:].partition('/')
        try:
            arg = (_home_of(user).rstrip('/') + sep + rest) or '/'
        except KeyError:  # no such user: left as it is
            pass
    return arg


def build_spec(params: t.Mapping[str, t.Any], item: t.Optional[t.Mapping[str, t.Any]] = None) -> _supervisor.JobSpec:
    """The JobSpec of the task (item None) or of one batch item; raises ValueError on bad input."""
    item = item or {}
    source = item if item else params
    expand = params['expand_argument_vars']
    if source.get('shell') is not None:
        argv = [params['executable'] or '/bin/sh', '-c', source['shell']]
        cmd = source['shell']
    elif source.get('argv') is not None:
        argv = [_expand(to_text(a), expand) for a in source['argv']]
        cmd = argv
    elif source.get('cmd') is not None:
        try:
            argv = [_expand(a, expand) for a in shlex.split(source['cmd'])]
        except ValueError as e:
            raise ValueError('cannot split cmd %r: %s' % (source['cmd'], e))
        cmd = argv
    else:
        raise ValueError('one of cmd, argv, shell is required')
    if not argv:
        raise ValueError('the command is empty')
    env = {}
    for source_env in (params.get('env'), item.get('env')):
        for key, value in (source_env or {}).items():
            env[to_text(key)] = to_text(value)
    stdin = item.get('stdin') if item else params.get('stdin')
    data = None
    if stdin is not None:
        if params['stdin_add_newline']:
            stdin += '\n'
        data = to_bytes(stdin, errors='surrogate_or_strict')
    inherited = {}  # type: t.Dict[str, t.Any]
    for key in _INHERITED:
        value = item.get(key)
        inherited[key] = params.get(key) if value is None else value
    name = item.get('name')
    if item and name is None:
        name = cmd if isinstance(cmd, str) else shlex.join(cmd)
    return _supervisor.JobSpec(
        argv=argv, cmd=cmd, name=name, kind=_record.KIND_RUN,
        chdir=item.get('chdir') or params.get('chdir'), env=env, stdin=data,
        creates=item.get('creates') if item else params.get('creates'),
        removes=item.get('removes') if item else params.get('removes'),
        **inherited)


def main() -> None:
    module = AnsibleModule(
        argument_spec=_argument_spec(),
        mutually_exclusive=[list(_COMMAND_KEYS) + ['batch']],
        required_one_of=[list(_COMMAND_KEYS) + ['batch']],
        supports_check_mode=True,
    )
    params = module.params
    async_dir = _async_dir.resolve_async_dir()
    _async_dir.restore_task_environment(os.environ)
    if params['executable'] and not params['shell'] and not params['batch']:
        module.warn('executable is used with shell only; ignored')
    if params['keep_record'] and params['background']:
        module.warn('keep_record is used with background=false only; with background=true the record is always kept')
    if params['concurrency'] is not None and params['concurrency'] < 1:
        module.fail_json(msg='concurrency must be at least 1')

    try:
        if params['batch']:
            specs = [build_spec(params, item) for item in params['batch']]
        else:
            specs = [build_spec(params)]
    except ValueError as e:
        module.fail_json(msg=to_text(e))

    if params['batch']:
        run_batch(module, specs, async_dir)
    run_one(module, specs[0], async_dir)


def run_one(module: AnsibleModule, spec: _supervisor.JobSpec, async_dir: str) -> None:
    params = module.params
    skip = _supervisor.skip_message(spec.creates, spec.removes, spec.chdir, check_mode=module.check_mode)
    if module.check_mode:
        module.exit_json(**check_mode_result(spec, skip, wait=not params['background']))
    if skip is not None:
        if not params['background']:
            record = _supervisor.skipped_job_record(spec, 'j0.0', skip)
            for key in _record.ENVELOPE_KEYS:
                record.pop(key)
            module.exit_json(**record)
        try:
            _async_dir.ensure_async_dir(async_dir)
            jid = _record.new_jid()
            record = _supervisor.skipped_job_record(spec, jid, skip)
            _record.write_record(async_dir, jid, record)
        except _record.JobError as e:
            module.fail_json(msg=e.msg)
        record.pop(_record.BLOCK_KEY)
        record['results_file'] = _record.job_paths(async_dir, jid).record
        module.exit_json(**record)
    try:
        result = _supervisor.launch(spec, async_dir, wait=not params['background'], keep_record=params['keep_record'])
    except _supervisor.LaunchError as e:
        e.result.pop('ok', None)
        e.result.pop('msg', None)
        e.result.pop('traceback', None)
        module.fail_json(msg=e.msg, **e.result)
    except _record.JobError as e:
        module.fail_json(msg=e.msg, cmd=spec.cmd)
    if result.get('failed'):
        module.fail_json(**result)
    module.exit_json(**result)


def check_mode_result(spec: _supervisor.JobSpec, skip: t.Optional[t.Tuple[str, str]], wait: bool) -> _record.Record:
    """What the task returns in check mode; nothing is started or written.

    Without wait, a check-mode jid (finished when creates/removes skip the command, as the skip's
    record is outside check mode) that asyncops.jobs.async_status answers as not started, so the
    start-then-wait pair passes --check. With wait, nothing is left to collect: no jid.
    """
    if skip is None:
        verb = 'would run' if wait else 'would start'
        result = _supervisor.check_mode_launch(spec, '%s the job: %s' % (verb, spec.display))
    else:
        result = _supervisor.check_mode_launch(spec, skip[0])
        result.update(changed=False, finished=True, stdout=skip[1], rc=0)
        result[_record.BLOCK_KEY].update(reason=_record.REASON_SKIPPED, skipped=True)
    result['cmd'] = spec.cmd
    if wait:
        for key in _record.ENVELOPE_KEYS:
            result.pop(key)
    return result


def run_batch(module: AnsibleModule, specs: t.Sequence[_supervisor.JobSpec], async_dir: str) -> None:
    params = module.params
    concurrency = params['concurrency'] or os.cpu_count() or 1
    if module.check_mode:
        module.exit_json(**_batch.check_mode_batch(specs, concurrency, wait=not params['background']))
    try:
        result = _batch.launch_batch(specs, async_dir, concurrency, wait=not params['background'],
                                     keep_record=params['keep_record'])
    except _supervisor.LaunchError as e:
        module.fail_json(msg=e.msg)
    except _record.JobError as e:
        module.fail_json(msg=e.msg)
    if result.get('failed'):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
