# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-core's async_wrapper, replaced: every module run with ``async:`` becomes a supervised job.

Private to the collection; runs on the target (Python 3.8+). The wrapper
script ``plugins/async_wrapper/async_wrapper.py`` calls ``main()``; the
callback ``asyncops.jobs.supervise`` puts that script's directory first in
the controller's module path, where core looks up ``ansible.legacy.async_wrapper``.

It takes core's command line (two forms, ``parse_argv``), runs the module under
``_supervisor`` with core's jid (``<prefix>.<pid of this process>``), writes
its records in core's shape plus the ``asyncops`` block, and prints core's
start result. The task's environment may set ``ASYNCOPS_SUPERVISE=false``
(the module then runs as core's own wrapper runs it, ``_core_wrapper``) and
``ASYNCOPS_KILL_GRACE`` (seconds between SIGTERM and SIGKILL at the time limit).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor

SUPERVISE_ENV = 'ASYNCOPS_SUPERVISE'
KILL_GRACE_ENV = 'ASYNCOPS_KILL_GRACE'
_OFF = ('0', 'false', 'no', 'off')
USAGE = ('usage: async_wrapper <jid> <time_limit> <preserve_tmp> <module_path> <invocation_args> ... '
         '(ansible-core 2.19 and later) or async_wrapper <jid> <time_limit> <modulescript> <argsfile> '
         '[-preserve_tmp] (older). Humans, do not call directly!')


class UsageError(ValueError):
    pass


class WrapperArgs(t.NamedTuple):
    """What core's command line says."""
    jid_prefix: str
    time_limit: float
    preserve_tmp: bool
    module_path: str  # the module's AnsiballZ file in the task's remote tmp dir
    module_argv: t.List[str]  # how to run the module
    cmd: str  # the module's command as core's failure results show it
    booleans: bool  # core 2.19+ writes started/finished as booleans, older cores as 1/0


def _interpreter(path: str) -> t.List[str]:
    """The module's shebang line as argv (core before 2.19 runs the interpreter itself)."""
    try:
        with open(path, 'rb') as f:
            head = f.read(1024)
    except OSError:
        return []
    if head[:2] != b'#!' or b'\n' not in head:
        return []
    return [os.fsdecode(a) for a in head[2:head.index(b'\n')].strip().split(b' ') if a]


def parse_argv(argv: t.Sequence[str]) -> WrapperArgs:
    """Core's command line, in either form; UsageError when it is neither.

    2.19 and later: ``jid limit true|false module_path invocation_args...``
    (invocation_args is the whole command: interpreter, module, args file).
    2.17 and 2.18: ``jid limit module_path argsfile|_ [-preserve_tmp]``.
    A module path is never the word true or false, so the two cannot be confused.
    """
    if len(argv) < 5:
        raise UsageError(USAGE)
    prefix, limit = argv[1], argv[2]
    if not _record.is_jid_prefix(prefix):
        raise UsageError('async_wrapper: %r is not a job id prefix. %s' % (prefix, USAGE))
    try:
        time_limit = float(limit)
    except ValueError:
        time_limit = math.nan
    if not math.isfinite(time_limit):
        raise UsageError('async_wrapper: the time limit %r is not a number. %s' % (limit, USAGE))
    if argv[3].lower() in ('true', 'false'):
        module_argv = list(argv[5:])
        if not module_argv:
            raise UsageError(USAGE)
        return WrapperArgs(prefix, time_limit, argv[3].lower() == 'true', argv[4], module_argv,
                           shlex.join(module_argv), True)
    module_path, argsfile = argv[3], argv[4]
    if '-tmp-' not in os.path.dirname(module_path):
        preserve_tmp = True
    else:
        preserve_tmp = len(argv) > 5 and argv[5] == '-preserve_tmp'
    cmd = module_path if argsfile == '_' else '%s %s' % (module_path, argsfile)
    module_argv = shlex.split(cmd)
    return WrapperArgs(prefix, time_limit, preserve_tmp, module_path, _interpreter(module_argv[0]) + module_argv,
                       cmd, False)


def supervised(environ: t.Mapping[str, str]) -> bool:
    return environ.get(SUPERVISE_ENV, '').strip().lower() not in _OFF


def kill_grace(environ: t.Mapping[str, str]) -> float:
    """The grace from the task's environment (a duration: 10, 10s, 1m), else the supervisor's default."""
    raw = environ.get(KILL_GRACE_ENV, '').strip()
    if not raw:
        return _supervisor.DEFAULT_KILL_GRACE
    try:
        return _durations.parse_duration(raw)
    except ValueError as e:
        raise UsageError('%s=%s: %s' % (KILL_GRACE_ENV, raw, e)) from None


def start_result(args: WrapperArgs, jid: str, results_file: str) -> t.Dict[str, t.Any]:
    """What core's wrapper prints once the job runs (started/finished as this core writes them)."""
    true, false = (True, False) if args.booleans else (1, 0)
    return {'failed': false, 'started': true, 'finished': false, 'ansible_job_id': jid,
            'results_file': results_file, '_ansible_suppress_tmpdir_delete': not args.preserve_tmp}


def launch(args: WrapperArgs, jid: str, async_dir: str, environ: t.Mapping[str, str]) -> t.Dict[str, t.Any]:
    """Start the module as a supervised job; the start result, with the job's details under asyncops."""
    spec = _supervisor.JobSpec(
        argv=args.module_argv, kind=_record.KIND_MODULE, cmd=args.cmd, time_limit=args.time_limit or None,
        kill_grace=kill_grace(environ),
        cleanup_dir=None if args.preserve_tmp else os.path.dirname(args.module_path))
    launched = _supervisor.launch(spec, async_dir, jid=jid)
    result = start_result(args, jid, launched['results_file'])
    result[_record.BLOCK_KEY] = launched[_record.BLOCK_KEY]
    return result


def run(argv: t.Sequence[str], environ: t.Mapping[str, str]) -> t.Tuple[t.Dict[str, t.Any], int]:
    """The wrapper's whole work: (the result to print, the exit code).

    On a failure the task's remote tmp dir is removed here (unless kept): the
    controller has handed it to the wrapper and forgotten it.
    """
    try:
        args = parse_argv(argv)
    except UsageError as e:
        return {'failed': True, 'msg': str(e)}, 1
    result, code = _run(args, environ)
    if code and not args.preserve_tmp:
        _supervisor.remove_task_tmp(os.path.dirname(args.module_path))
    return result, code


def _run(args: WrapperArgs, environ: t.Mapping[str, str]) -> t.Tuple[t.Dict[str, t.Any], int]:
    try:
        jid = _record.validate_jid('%s.%d' % (args.jid_prefix, os.getpid()))
        async_dir = _async_dir.resolve_async_dir(environ=environ)
        if not supervised(environ):
            # imported here: only an opted-out task compiles it
            from ansible_collections.asyncops.jobs.plugins.module_utils import _core_wrapper
            return _core_wrapper.launch(args, jid, async_dir, start_result(args, jid, _record.job_paths(async_dir, jid).record)), 0
        return launch(args, jid, async_dir, environ), 0
    except ValueError as e:  # UsageError, or a limit the supervisor refuses
        return {'failed': True, 'msg': str(e)}, 1
    except _supervisor.LaunchError as e:
        result = {'failed': True, 'msg': e.msg}  # type: t.Dict[str, t.Any]
        if 'rc' in e.result:
            result.update(rc=e.result['rc'], cmd=args.cmd)
        return result, 1
    except _record.JobError as e:
        return {'failed': True, 'msg': e.msg}, 1


def main() -> None:
    result, code = run(sys.argv, os.environ)
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()
    raise SystemExit(code)  # not os._exit: AnsiballZ removes its payload on the way out
