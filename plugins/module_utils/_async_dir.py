# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where the job dir is for the user a task runs as, and making sure it can hold records.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and ``_record``.
"""

from __future__ import annotations

import collections
import os
import pwd
import re
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _record

DEFAULT_ASYNC_DIR = '~/.ansible_async'
ASYNC_DIR_ENV = 'ANSIBLE_ASYNC_DIR'

# The option every module of the collection takes from its action plugin: the shell
# option async_dir, ~ not expanded. Documented by the asyncops.jobs.job.async_dir fragment.
ASYNC_DIR_ARGUMENT_SPEC = {'_async_dir': {'type': 'str'}}

_VAR_RE = re.compile(r'\$(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<braced>[^}]*)\})')


def _expand(raw: str, environ: t.Mapping[str, str], home: t.Optional[str] = None) -> str:
    """os.path.expandvars and expanduser, from environ; ``~`` is home when given."""
    def var(m: t.Match[str]) -> str:
        return environ.get(m.group('name') or m.group('braced'), m.group(0))
    raw = _VAR_RE.sub(var, raw)
    if raw == '~' or raw.startswith('~/'):
        base = home if home is not None else (environ.get('HOME') or _passwd_home())
        if base:
            raw = base + raw[1:]
    else:
        raw = os.path.expanduser(raw)  # ~user
    return os.path.abspath(raw)


def _passwd_home() -> t.Optional[str]:
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None


def resolve_async_dir(explicit: t.Optional[str] = None, environ: t.Optional[t.Mapping[str, str]] = None) -> str:
    """The async dir: the one an action plugin passed, else $ANSIBLE_ASYNC_DIR, else ~/.ansible_async.

    ``~`` expands for the user this process runs as (the become user on a target).
    """
    return candidate_async_dirs(explicit, environ)[0]


def candidate_async_dirs(explicit: t.Optional[str] = None,
                         environ: t.Optional[t.Mapping[str, str]] = None) -> t.List[str]:
    """The async dir, then where else the same setting may point.

    Core's wrapper expands ``~`` with $HOME while its status action asks the
    passwd entry; when the two differ (sudo keeping HOME, an overridden HOME)
    a record may sit in either place.
    """
    environ = os.environ if environ is None else environ
    raw = explicit or environ.get(ASYNC_DIR_ENV) or DEFAULT_ASYNC_DIR
    # environ may be a task's environment on top of this process's
    variables = collections.ChainMap(dict(environ), os.environ)  # type: t.Mapping[str, str]
    dirs = [_expand(raw, variables)]
    passwd_home = _passwd_home()
    if passwd_home:
        other = _expand(raw, variables, passwd_home)
        if other not in dirs:
            dirs.append(other)
    return dirs


def ensure_async_dir(path: str) -> str:
    """Create the async dir 0700 if missing; fail clearly if it cannot hold records."""
    try:
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)  # whatever the umask
    except FileExistsError:
        pass
    except OSError as e:
        raise _record.JobError('cannot create async dir %s: %s' % (path, e.strerror or e), path) from e
    if not os.path.isdir(path):
        raise _record.JobError('async dir %s exists but is not a directory' % path, path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise _record.JobError('async dir %s is not writable by %s' % (path, _record.user_name(os.geteuid())), path)
    return path
