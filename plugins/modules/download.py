#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: download
short_description: Download a file over HTTP, HTTPS or FTP with progress, resume and checksum
version_added: 0.1.0
description:
  - Downloads O(url) to O(dest) like M(ansible.builtin.get_url), with the same return values at the top
    level of its result, and also
  - reports its progress (bytes done, total, percent, rate, ETA) while it runs, whether it runs
    plainly, under the C(async) keyword (then C(ansible.builtin.async_status) and the C(poll)
    loop return it as C(asyncops.progress)), or as a job of this collection (O(background=true));
  - writes to C(<dest>.part) beside O(dest) and, when run again after a timeout, a kill or a lost
    connection, resumes that partial file with an HTTP C(Range) request guarded by C(If-Range), so that a
    file that changed on the server is downloaded again from its start instead of being spliced;
  - verifies O(checksum) before the file appears at O(dest), which is replaced atomically and left
    untouched when the checksum does not match.
  - It works under C(async)/C(poll) exactly as M(ansible.builtin.get_url) does, so a playbook can
    swap one for the other. What this module adds to get_url's result is under the one key C(asyncops).
author:
  - asyncops.jobs developers (@asyncops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - asyncops.jobs.job
  - asyncops.jobs.job.background_default_false
  - ansible.builtin.files
attributes:
  action:
    support: full
  bypass_host_loop:
    support: none
  async:
    support: full
  check_mode:
    support: full
    details:
      - Reports whether the file would be downloaded; no request is made for it.
      - With O(background=true), starts nothing and writes nothing on the target (no job directory, no record) and
        returns a check-mode job id (C(j0.<n>)) with RV(started=false) and C(asyncops.state=not_started), so that a
        task collecting the job with M(asyncops.jobs.async_status) passes C(--check) too; that module answers such a
        job id as not started, without touching the target.
  diff_mode:
    support: none
    details:
      - As with M(ansible.builtin.get_url), C(--diff) shows nothing and the result has no C(diff); the result's
        RV(checksum_dest) and RV(checksum_src) say whether the file changed.
  platform:
    platforms: posix
options:
  url:
    description:
      - HTTP, HTTPS, or FTP URL in the form (http|https|ftp)://[user[:pass]]@host.domain[:port]/path.
    type: str
    required: true
  dest:
    description:
      - Where to write the file. When it is an existing directory, the file is written in it under
        the last component of the URL's path. A symbolic link to a directory is followed only when it
        belongs to the user the task runs as or to root.
      - The partial file is C(<dest>.part), in the same directory, described by C(<dest>.part.meta).
      - Something at O(dest) that is not a regular file with a single link (a symbolic link, a file with
        other hard links) is never followed nor changed in place; the downloaded file replaces it.
    type: path
    required: true
  checksum:
    description:
      - 'The expected checksum, C(<algorithm>:<hexdigest>), for example C(sha256:9f86d08...).'
      - 'Or C(<algorithm>:<url>) of a checksum file in the format of C(sha256sum) (C(<digest>  <name>)
        lines; BSD C(SHA256 (name) = digest) lines too), from which the line for the file name of
        O(url) (or of O(dest)) is used.'
      - The download is verified before it is moved to O(dest); on a mismatch the task fails, the
        partial file is removed and O(dest) is left as it was.
      - When O(dest) exists with this checksum, nothing is downloaded.
    type: str
    default: ''
  force:
    description:
      - Without a O(checksum), an existing O(dest) is kept (C(changed=false)) unless O(force=true);
        with O(force=true) the file is downloaded and O(dest) replaced if it differs.
    type: bool
    default: false
  resume:
    description:
      - Resume a partial file left by an earlier attempt. With O(resume=false) it is discarded and
        the download starts over.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds for the connection and for each read (not for the whole download; see
        O(time_limit) with O(background=true), or the C(async) keyword).
    type: int
    default: 10
  headers:
    description:
      - Extra HTTP headers, as a dictionary. C(Range) and C(If-Range) are the module's own.
    type: dict
  backup:
    description:
      - Keep a backup of O(dest), named with a timestamp, before it is replaced.
    type: bool
    default: false
  http_agent:
    description:
      - The C(User-Agent) header.
    type: str
    default: ansible-httpget
  use_proxy:
    description:
      - If V(false), no proxy is used, even if one is defined in an environment variable on the target.
    type: bool
    default: true
  validate_certs:
    description:
      - If V(false), SSL certificates are not validated. Only for personally controlled sites using
        self-signed certificates.
    type: bool
    default: true
  url_username:
    description:
      - The username for HTTP basic authentication.
    type: str
    aliases: [username]
  url_password:
    description:
      - The password for HTTP basic authentication.
    type: str
    aliases: [password]
  force_basic_auth:
    description:
      - Send the basic authentication header with the first request instead of waiting for a 401.
    type: bool
    default: false
  client_cert:
    description:
      - PEM formatted certificate chain file for SSL client authentication.
    type: path
  client_key:
    description:
      - PEM formatted file with the private key for SSL client authentication.
    type: path
  use_gssapi:
    description:
      - Use GSSAPI (Kerberos) authentication. Needs the Python C(gssapi) library on the target.
    type: bool
    default: false
  use_netrc:
    description:
      - Use credentials from C(~/.netrc) when the host is listed there.
    type: bool
    default: true
  unredirected_headers:
    description:
      - Headers not sent again after a redirect.
    type: list
    elements: str
    default: []
  ciphers:
    description:
      - SSL/TLS ciphers to use for the request, in OpenSSL cipher list format.
    type: list
    elements: str
notes:
  - Progress is reported at most four times a second, with C(unit=B). Under the C(async) keyword it
    is written into core's running job record as C(asyncops.progress); with O(background=true), into
    the job's C(<jid>.progress).
  - A download job (O(background=true)) stopped by its O(time_limit) or killed keeps its partial file, so running the
    task again resumes it. O(background=true) does not combine with the C(async) keyword (the task fails).
  - The first response's C(ETag) (else its C(Last-Modified)) is kept in C(<dest>.part.meta) (JSON, mode
    C(0600)). A resume sends it as C(If-Range); when the server's file changed (a C(200) instead of a
    C(206), or a C(206) or C(416) with another C(ETag), C(Last-Modified) or size) the download starts over
    from byte 0 and says why in C(asyncops.restart_reason). A partial file without a usable description
    (none, another URL, a server that gave neither validator) is not resumed either.
  - C(<dest>.part) and C(<dest>.part.meta) are opened without following links and used only when they are
    regular files of the user the task runs as, with one link, not writable by their group or others. Any
    other C(<dest>.part) is left untouched (never appended to, truncated, or changed in mode or owner); the
    download goes to a private temp file beside O(dest) instead, and says so in a warning.
  - O(mode), O(owner) and O(group) are set through the open downloaded file before it is renamed onto
    O(dest), never through a path.
  - Compressed transfer is not requested, so that byte ranges refer to the file itself.
seealso:
  - module: ansible.builtin.get_url
  - module: asyncops.jobs.run
  - module: asyncops.jobs.async_status
"""

EXAMPLES = r"""
- name: Download an image, checked against the published SHA256SUMS, with progress under async
  asyncops.jobs.download:
    url: https://example.com/images/disk.qcow2
    dest: /var/lib/images/disk.qcow2
    checksum: sha256:https://example.com/images/SHA256SUMS
  async: 3600
  poll: 15

- name: Same as a job of this collection, with a hard limit; returns at once
  asyncops.jobs.download:
    url: https://example.com/images/disk.qcow2
    dest: /var/lib/images/
    checksum: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    background: true
    time_limit: 3600
  register: fetch

- name: Wait for it
  asyncops.jobs.async_status:
    jid: "{{ fetch.ansible_job_id }}"
    mode: wait
  register: fetched

- name: Say whether it resumed
  ansible.builtin.debug:
    msg: >-
      {{ fetched.dest }} ({{ fetched.size }} bytes, {{ fetched.state }}):
      {{ fetched.asyncops.resumed_from }} bytes kept from an earlier attempt
"""

RETURN = r"""
dest:
  description: The file written.
  returned: always
  type: str
  sample: /var/lib/images/disk.qcow2
url:
  description: The URL, with any password masked.
  returned: always
  type: str
  sample: https://example.com/images/disk.qcow2
checksum_dest:
  description: SHA1 of O(dest) before it was replaced, if it was a regular file.
  returned: always
  type: str
  sample: 6e642bb8dd5c2e027bf21dd923337cbb4214f827
checksum_src:
  description: SHA1 of the downloaded file.
  returned: always
  type: str
  sample: 6e642bb8dd5c2e027bf21dd923337cbb4214f827
md5sum:
  description: MD5 of the downloaded file (V(null) where MD5 is not allowed, on FIPS systems).
  returned: when a file was downloaded
  type: str
  sample: 2a5aeecc61dc98c4d780b14b330e3282
src:
  description: The partial file the download was written to before it was moved to O(dest).
  returned: when a file was downloaded
  type: str
  sample: /var/lib/images/disk.qcow2.part
size:
  description: Size of O(dest) in bytes.
  returned: success
  type: int
  sample: 1220
state:
  description: State of O(dest) (V(file)), as M(ansible.builtin.get_url) returns it.
  returned: success
  type: str
  sample: file
mode:
  description: Permissions of O(dest).
  returned: success
  type: str
  sample: '0644'
owner:
  description: Owner of O(dest).
  returned: success
  type: str
  sample: httpd
group:
  description: Group of O(dest).
  returned: success
  type: str
  sample: httpd
uid:
  description: Owner id of O(dest).
  returned: success
  type: int
  sample: 100
gid:
  description: Group id of O(dest).
  returned: success
  type: int
  sample: 100
secontext:
  description: The SELinux security context of O(dest).
  returned: success, where SELinux is enabled
  type: str
  sample: unconfined_u:object_r:user_tmp_t:s0
status_code:
  description: The HTTP status of the request (C(206) when a partial file was resumed).
  returned: when a request was made
  type: int
  sample: 200
response:
  description: The HTTP message of a failed request.
  returned: when the request failed
  type: str
  sample: 'HTTP Error 404: Not Found'
msg:
  description: What happened.
  returned: always
  type: str
  sample: OK (1220 bytes)
elapsed:
  description: Seconds the download took.
  returned: always
  type: int
  sample: 23
backup_file:
  description: The backup of O(dest), with O(backup=true).
  returned: when a backup was made
  type: str
  sample: /var/lib/images/disk.qcow2.4242.2026-01-31@12:00:00~
changed:
  description: Whether O(dest) or its attributes changed (with O(background=true), V(true) at the launch).
  returned: always
  type: bool
ansible_job_id:
  description:
    - With O(background=true), the job id.
    - In check mode a check-mode job id (C(j0.<n>)) that names no job; M(asyncops.jobs.async_status) answers it as not
      started.
  returned: with O(background=true)
  type: str
  sample: j123456789.4242
results_file:
  description: With O(background=true), the job's record on the target.
  returned: with O(background=true), but not in check mode
  type: str
  sample: /root/.ansible_async/j123456789.4242
started:
  description:
    - With O(background=true), V(true) once the job runs, as the C(async) keyword's launch returns it.
    - V(false) in check mode.
  returned: with O(background=true)
  type: bool
finished:
  description: With O(background=true), V(false) at the launch.
  returned: with O(background=true)
  type: bool
asyncops:
  description:
    - What this collection adds to M(ansible.builtin.get_url)'s result.
    - With O(background=true) the launch returns the job's C(state) (V(running)), C(started_at) (epoch
      seconds), C(pid), C(supervisor_pid), C(cmd), C(kind) (V(download)), C(url) and C(dest) here; the
      job's final record holds the keys below, with the supervisor's (see M(asyncops.jobs.async_status)).
    - With O(background=true) in check mode, C(state) (V(not_started)), C(check_mode) (V(true)), C(cmd), C(kind),
      C(url), C(dest), C(time_limit) and C(kill_grace).
  returned: always, except when the arguments are refused
  type: dict
  contains:
    state:
      description: With O(background=true), V(running) at the launch (V(not_started) in check mode).
      returned: with O(background=true)
      type: str
    started_at:
      description: With O(background=true), when the job started, in epoch seconds.
      returned: with O(background=true)
      type: float
    pid:
      description: With O(background=true), the job's main process.
      returned: with O(background=true)
      type: int
    supervisor_pid:
      description: With O(background=true), the job's supervisor process.
      returned: with O(background=true)
      type: int
    cmd:
      description: With O(background=true), what the job does as one line, for people.
      returned: with O(background=true)
      type: str
    kind:
      description: With O(background=true), V(download).
      returned: with O(background=true)
      type: str
    name:
      description: With O(background=true), the job's name (null).
      returned: with O(background=true)
      type: str
    url:
      description: With O(background=true), the O(url).
      returned: with O(background=true)
      type: str
    dest:
      description: With O(background=true), the O(dest).
      returned: with O(background=true)
      type: str
    resumed_from:
      description: Bytes of the partial file that were kept (C(0) when the download started over).
      returned: always, except at a background launch
      type: int
      sample: 1048576
    bytes_transferred:
      description: Bytes received by this run.
      returned: always, except at a background launch
      type: int
      sample: 3145728
    rate:
      description: Bytes a second this run received (V(null) when nothing was transferred).
      returned: always, except at a background launch
      type: float
      sample: 524288.0
    restart_reason:
      description:
        - Why a partial file was not resumed (the server's file changed, the server ignored the range, the
          partial file was not ours or had no usable description, O(resume=false)); V(null) otherwise.
      returned: always, except at a background launch
      type: str
      sample: the file on the server changed since the partial download (its ETag was "a1" and is now "b2")
    partial_file:
      description: The file the download was written to (C(<dest>.part), or a private temp file when that is not ours).
      returned: always, except at a background launch
      type: str
      sample: /var/lib/images/disk.qcow2.part
    warnings:
      description: What was not trusted and left alone (a C(<dest>.part) of another user, a symbolic link at O(dest)).
      returned: when something was not trusted
      type: list
      elements: str
    progress:
      description:
        - Under the C(async) keyword, the last progress report (C(percent), C(current), C(total), C(unit),
          C(message), C(rate), C(eta), C(updated_at)), so that the final status of the job still shows it.
      returned: when run under the C(async) keyword and a request was made
      type: dict
"""

import errno
import grp
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import stat
import tempfile
import time
import typing as t
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import fetch_url, url_argument_spec

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_dir
from ansible_collections.asyncops.jobs.plugins.module_utils import _durations
from ansible_collections.asyncops.jobs.plugins.module_utils import _progress
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor

CHUNK = 65536
PART_SUFFIX = '.part'
META_SUFFIX = '.part.meta'  # beside the partial file: what the server said of the file it is part of
META_VERSION = 1
META_MAX_BYTES = 65536
_HEX_RE = re.compile(r'\A[0-9a-fA-F]+\Z')
_BSD_LINE_RE = re.compile(r'\A(?P<algo>[A-Za-z0-9-]+) ?\((?P<name>.*)\) ?= ?(?P<digest>[0-9a-fA-F]+)\s*\Z')
_CONTENT_RANGE_RE = re.compile(r'\Abytes\s+(?:(?P<start>[0-9]+)-(?P<end>[0-9]+)|\*)/(?P<total>[0-9]+|\*)\Z')
# the keys of a launch result that stay at the top level (ansible.builtin's async launch keys)
_LAUNCH_KEYS = ('changed', 'started', 'finished', 'ansible_job_id', 'results_file')


class DownloadError(Exception):
    """The download failed; msg is for the user, result holds get_url's keys known at that point."""

    def __init__(self, msg: str, **result: t.Any) -> None:
        super(DownloadError, self).__init__(msg)
        self.msg = msg
        self.result = result


class _ModuleExit(Exception):
    """exit_json/fail_json called inside a background job (by us or by fetch_url)."""

    def __init__(self, result: t.Dict[str, t.Any]) -> None:
        super(_ModuleExit, self).__init__(result.get('msg'))
        self.result = result


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(':%s@' % parts.password, ':********@', 1)
        return parts._replace(netloc=netloc).geturl()
    return url


def url_filename(url: str) -> str:
    name = os.path.basename(urlsplit(url).path)
    return name or 'index.html'


def parse_checksum_lines(lines: t.Iterable[str], names: t.Container[str]) -> t.Optional[str]:
    """The digest for one of names in sha256sum-style (or BSD-style) lines; None if absent."""
    single = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        m = _BSD_LINE_RE.match(line)
        if m:
            if os.path.basename(m.group('name')) in names:
                return m.group('digest')
            continue
        fields = line.split(None, 1)
        if len(fields) == 1 and _HEX_RE.match(fields[0]):
            single.append(fields[0])
            continue
        if len(fields) == 2 and _HEX_RE.match(fields[0]):
            name = fields[1].strip().lstrip('*')
            if name.startswith('./'):
                name = name[2:]
            if name in names or os.path.basename(name) in names:
                return fields[0]
    if len(single) == 1:
        return single[0]
    return None


def _content_range(value: t.Optional[str]) -> t.Optional[t.Tuple[t.Optional[int], t.Optional[int]]]:
    if not value:
        return None
    m = _CONTENT_RANGE_RE.match(value.strip())
    if not m:
        return None
    start = int(m.group('start')) if m.group('start') is not None else None
    total = int(m.group('total')) if m.group('total') != '*' else None
    return start, total


# ---------------------------------------------------------------- trust

def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def open_own_file(path: str, flags: int) -> t.Tuple[t.Optional[int], t.Optional[str]]:
    """_record.open_private for files beside dest, as (fd, None); (None, why not) when the file is not ours
    (a link, not a regular file, another user's, hard-linked, or writable by its group or others: dest's
    directory may be shared); (None, None) when there is none."""
    try:
        return _record.open_private(path, flags, refuse_shared_write=True), None
    except _record.JobNotFound:
        return None, None
    except _record.UntrustedFile as e:
        return None, e.reason
    except _record.JobError as e:
        return None, 'cannot be opened (%s)' % e.msg


def _unlink_if_same(path: str, st: os.stat_result) -> None:
    """Remove path when it still is the file st describes (never another user's swap)."""
    try:
        if _same_file(os.lstat(path), st):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _digests(fd: int, algorithms: t.Sequence[str]) -> t.Dict[str, t.Optional[str]]:
    """{algorithm: hexdigest} of the whole file open at fd (None for an algorithm this Python refuses: FIPS)."""
    hashes = {}  # type: t.Dict[str, t.Any]
    for algorithm in algorithms:
        try:
            hashes[algorithm] = hashlib.new(algorithm)
        except ValueError:
            hashes[algorithm] = None
    position = 0
    while True:
        block = os.pread(fd, 1 << 20, position)
        if not block:
            break
        position += len(block)
        for h in hashes.values():
            if h is not None:
                h.update(block)
    return {name: (h.hexdigest() if h is not None else None) for name, h in hashes.items()}


def _url_key(url: str) -> str:
    """What the meta sidecar keeps of the URL: a hash of its scheme, host, port and path. Not its password,
    and not its query, which changes with every signed URL of the same file."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    key = '%s://%s:%s%s' % (parts.scheme.lower(), (parts.hostname or '').lower(), port or '', parts.path)
    return hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()


def _validators(info: t.Mapping[str, t.Any]) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """The response's ETag and Last-Modified (None when absent)."""
    return info.get('etag') or None, info.get('last-modified') or None


def if_range_value(meta: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The If-Range of a resume: the ETag of the first response, else its Last-Modified (a weak ETag
    may not be used in If-Range); None when there is neither."""
    etag = meta.get('etag')  # type: t.Optional[str]
    if etag and not etag.startswith('W/'):
        return etag
    last_modified = meta.get('last_modified')  # type: t.Optional[str]
    return last_modified or None


def validator_change(meta: t.Mapping[str, t.Any], info: t.Mapping[str, t.Any],
                     total: t.Optional[int] = None) -> t.Optional[str]:
    """How the server's file differs from the one the partial file is part of, or None when nothing says so."""
    etag, last_modified = _validators(info)
    if meta.get('etag') and etag and etag != meta['etag']:
        return 'its ETag was %s and is now %s' % (meta['etag'], etag)
    if meta.get('last_modified') and last_modified and last_modified != meta['last_modified']:
        return 'its Last-Modified was %s and is now %s' % (meta['last_modified'], last_modified)
    if total is not None and meta.get('total') is not None and total != meta['total']:
        return 'its size was %d bytes and is now %d' % (meta['total'], total)
    return None


def validator_matches(meta: t.Mapping[str, t.Any], info: t.Mapping[str, t.Any]) -> bool:
    """Whether the response carries a validator equal to the partial file's."""
    etag, last_modified = _validators(info)
    if meta.get('etag') and etag:
        return bool(etag == meta['etag'])
    if meta.get('last_modified') and last_modified:
        return bool(last_modified == meta['last_modified'])
    return False


def _parse_mode(mode: t.Any, st: os.stat_result) -> int:
    """mode as ansible.builtin.file takes it (int, octal string, symbolic) for a file with stat st."""
    if isinstance(mode, int):
        return mode
    try:
        return int(mode, 8)
    except (TypeError, ValueError):
        pass
    try:
        value = int(AnsibleModule._symbolic_mode_to_octal(st, mode))  # pylint: disable=protected-access
    except Exception as e:  # pylint: disable=broad-except
        raise DownloadError('mode must be in octal or symbolic form: %s' % to_native(e))
    if value != stat.S_IMODE(value):
        raise DownloadError('Invalid mode supplied, only permission info is allowed: %s' % mode)
    return value


def _resolve_uid(owner: str) -> int:
    try:
        return int(owner)
    except ValueError:
        try:
            return pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise DownloadError('chown failed: failed to look up user %s' % owner)


def _resolve_gid(group: str) -> int:
    try:
        return int(group)
    except ValueError:
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise DownloadError('chgrp failed: failed to look up group %s' % group)


class Partial(object):
    """The file the download is written to: ``<dest>.part`` when it is ours, else a private temp file."""

    def __init__(self, fd: int, path: str, private: bool) -> None:
        self.fd = fd
        self.path = path
        self.private = private  # a temp file of this run only: never resumed, removed on failure
        self.st = os.fstat(fd)
        self.closed = False

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def truncate(self) -> None:
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
            self.closed = True

    def remove(self) -> None:
        _unlink_if_same(self.path, self.st)


class Downloader(object):
    """One download: the module's parameters, and what happened."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        p = module.params
        self.url = p['url']
        self.dest = p['dest']
        if os.path.isdir(self.dest):
            self._check_directory_link(self.dest)
            self.dest = os.path.join(self.dest, url_filename(self.url))
        self.part_path = self.dest + PART_SUFFIX
        self.meta_path = self.dest + META_SUFFIX
        # once the download began: the file written to, the meta sidecar's content, the progress reporter
        self.partial = None  # type: t.Optional[Partial]
        self.meta = None  # type: t.Optional[t.Dict[str, t.Any]]
        self.progress = None  # type: t.Optional[_progress.ProgressReporter]
        self.force = p['force']
        self.resume = p['resume']
        self.timeout = p['timeout']
        self.headers = dict(p['headers'] or {})
        self.algorithm = None  # type: t.Optional[str]
        self.expected = None  # type: t.Optional[str]  # the digest dest must have, once known
        self.checksum_url = None  # type: t.Optional[str]
        checksum = (p['checksum'] or '').strip()
        if checksum:
            try:
                algorithm, value = checksum.split(':', 1)
            except ValueError:
                raise DownloadError('The checksum parameter has to be in format <algorithm>:<checksum>')
            algorithm = algorithm.strip().lower()
            try:
                hashlib.new(algorithm)
            except ValueError:
                raise DownloadError('unsupported checksum algorithm %r; use one of %s'
                                    % (algorithm, ', '.join(sorted(hashlib.algorithms_available))))
            self.algorithm = algorithm
            value = value.strip()
            if re.match(r'\A(https?|ftp|file)://', value):
                self.checksum_url = value
            else:
                value = re.sub(r'\W+', '', value).lower()
                if not _HEX_RE.match(value):
                    raise DownloadError('The checksum format is invalid')
                self.expected = value
        # what the collection adds to get_url's result (asyncops), and the warnings it gave
        self.extra = dict(resumed_from=0, bytes_transferred=0, restart_reason=None, partial_file=None,
                          rate=None)  # type: t.Dict[str, t.Any]
        self.warnings = []  # type: t.List[str]
        self.result = dict(url=_mask_url(self.url), dest=self.dest, changed=False, checksum_dest=None,
                           checksum_src=None, elapsed=0, msg='')  # type: t.Dict[str, t.Any]

    @staticmethod
    def _check_directory_link(path: str) -> None:
        """A link at dest to a directory is followed only when it is the user's own or root's."""
        path = path.rstrip(os.sep) or os.sep  # with a trailing slash, lstat would look through the link
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in (os.geteuid(), 0):
            raise DownloadError('%s is a symbolic link of %s; a link another user could have planted is not '
                                'followed' % (path, _record.user_name(st.st_uid)))

    def _the_partial(self) -> Partial:
        if self.partial is None:
            raise RuntimeError('no partial file is open yet')
        return self.partial

    def _matches_expected(self, fd: int) -> bool:
        """Whether the file open at fd has the expected checksum."""
        if self.algorithm is None or self.expected is None:
            raise RuntimeError('no checksum to compare with')
        return _digests(fd, [self.algorithm])[self.algorithm] == self.expected

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        self.module.warn(msg)

    def _fetch(self, url: str, headers: t.Mapping[str, str],
               method: str = 'GET') -> t.Tuple[t.Any, t.Dict[str, t.Any]]:
        p = self.module.params
        response, info = fetch_url(self.module, url, headers=headers, method=method, use_proxy=p['use_proxy'],
                                   timeout=self.timeout, decompress=False, use_netrc=p['use_netrc'],
                                   unredirected_headers=p['unredirected_headers'], ciphers=p['ciphers'])
        if response is not None and info.get('status') not in (200, 206) and (
                url.startswith('file:/') or (url.startswith('ftp:/') and str(info.get('msg', '')).startswith('OK'))):
            info['status'] = 200  # as get_url: file and FTP answers carry no HTTP status, and no ranges
        return response, info

    def fetch_expected_checksum(self) -> None:
        if self.checksum_url is None:
            return
        response, info = self._fetch(self.checksum_url, {})
        if response is None or info.get('status') != 200:
            raise DownloadError('Request failed for the checksum file %s: %s'
                                % (_mask_url(self.checksum_url), info.get('msg')), status_code=info.get('status'))
        try:
            text = to_text(response.read(4 << 20), errors='surrogate_or_replace')
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError('cannot read the checksum file %s: %s' % (_mask_url(self.checksum_url), to_native(e)))
        names = {url_filename(self.url), os.path.basename(self.dest)}
        digest = parse_checksum_lines(text.splitlines(), names)
        if digest is None:
            raise DownloadError("Unable to find a checksum for file '%s' in '%s'"
                                % (url_filename(self.url), _mask_url(self.checksum_url)))
        self.expected = digest.lower()

    def check_destination(self) -> None:
        directory = os.path.dirname(self.dest) or '.'
        if not os.path.isdir(directory):
            raise DownloadError('Destination %s does not exist' % directory)
        if not os.access(directory, os.W_OK):
            raise DownloadError('Destination %s is not writable' % directory)

    # -- the result

    def run(self) -> t.Dict[str, t.Any]:
        """Download (or not); returns the result, raises DownloadError with a partial result."""
        start = time.time()
        try:
            result = self._run()
        except DownloadError as e:
            self.result['elapsed'] = int(time.time() - start)
            for key, value in self.result.items():
                if key != 'msg':
                    e.result.setdefault(key, value)
            e.result = self._finish(e.result)
            raise
        finally:
            if self.partial is not None:
                self.partial.close()
        self.result['elapsed'] = int(time.time() - start)
        return self._finish(result)

    def _finish(self, result: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """get_url's keys at the top level, the collection's under asyncops."""
        extra = dict(self.extra)
        carried = self.progress.result_progress() if self.progress is not None else None
        if carried is not None:
            # under core's wrapper the result replaces the running record that carried the progress
            extra['progress'] = carried
        if self.warnings:
            extra['warnings'] = list(self.warnings)
        result[_record.BLOCK_KEY] = extra
        return result

    # -- the existing destination

    def _open_dest(self) -> t.Tuple[t.Optional[int], t.Optional[os.stat_result]]:
        """(fd, stat) of dest when it is a regular file with a single link, to read and keep; (None, None)
        when there is none. Anything else at dest (a symbolic link, a FIFO, a file with other links) is never
        followed nor changed in place: the download replaces it."""
        try:
            before = os.lstat(self.dest)
        except FileNotFoundError:
            return None, None
        what = None
        if stat.S_ISLNK(before.st_mode):
            what = 'a symbolic link'
        elif not stat.S_ISREG(before.st_mode):
            what = 'not a regular file'
        elif before.st_nlink != 1:
            what = 'a file with %d hard links' % before.st_nlink
        if what is None:
            try:
                fd = os.open(self.dest, os.O_RDONLY | _record.OPEN_FLAGS)
            except PermissionError:
                raise DownloadError('Destination %s is not readable' % self.dest)
            except OSError as e:
                raise DownloadError('cannot open %s: %s' % (self.dest, e.strerror or e))
            st = os.fstat(fd)
            if _same_file(st, before) and stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                return fd, st
            os.close(fd)
            what = 'replaced while it was examined'
        self.warn('%s is %s: it is not followed nor changed; the download replaces it' % (self.dest, what))
        return None, None

    # -- the run

    def _run(self) -> t.Dict[str, t.Any]:
        self.check_destination()
        self.fetch_expected_checksum()
        dest_fd, dest_st = self._open_dest()
        try:
            if dest_fd is not None:
                if not self.force:
                    if self.expected is None or self._matches_expected(dest_fd):
                        return self._keep_existing(dest_fd, 'file already exists')
                self.result['checksum_dest'] = _digests(dest_fd, ['sha1'])['sha1']
            if self.module.check_mode:
                self.result.update(changed=True, msg='the file would be downloaded')
                return self.result
            status = self._download()
            return self._place(status, dest_fd, dest_st)
        finally:
            if dest_fd is not None:
                os.close(dest_fd)

    def _keep_existing(self, dest_fd: int, msg: str) -> t.Dict[str, t.Any]:
        changed = self._apply_file_attributes(dest_fd, self.dest, False)
        self.result.update(changed=changed, msg=msg + (' but file attributes changed' if changed else ''))
        return self.result

    def _place(self, status: int, dest_fd: t.Optional[int],
               dest_st: t.Optional[os.stat_result]) -> t.Dict[str, t.Any]:
        """Verify the partial file and put it at dest: attributes set on our file, then one rename."""
        partial = self._the_partial()
        digests = _digests(partial.fd, ['sha1', 'md5'])
        self.result['src'] = partial.path
        if self.expected is not None and not self._matches_expected(partial.fd):
            actual = _digests(partial.fd, [str(self.algorithm)])[str(self.algorithm)]
            self._discard()
            raise DownloadError('The checksum for %s did not match %s; it was %s. %s is unchanged and the '
                                'partial file was removed.' % (partial.path, self.expected, actual, self.dest),
                                status_code=status)
        self.result['checksum_src'] = digests['sha1']
        changed = self.result['checksum_src'] != self.result['checksum_dest']
        if changed:
            if self.module.params['backup'] and dest_fd is not None and dest_st is not None:
                self.result['backup_file'] = self._backup(dest_fd, dest_st)
            self._take_dest_attributes(dest_st)
            self._apply_file_attributes(partial.fd, partial.path, True)
            self._rename_onto_dest()
            changed = True
        elif dest_fd is not None:  # the same content as dest: dest was a file to keep
            self._discard()
            changed = self._apply_file_attributes(dest_fd, self.dest, False)
        self._remove_meta()
        self.result.update(changed=changed, size=os.fstat(partial.fd).st_size, status_code=status,
                           md5sum=digests['md5'])
        self.result['msg'] = 'OK (%d bytes)' % self.result['size']
        return self.result

    def _take_dest_attributes(self, dest_st: t.Optional[os.stat_result]) -> None:
        """Our file gets what ansible's atomic_move gives: the replaced file's owner and mode, or for a new
        file the mode the umask allows (the partial file is 0600 until now)."""
        partial = self._the_partial()
        fd = partial.fd
        if dest_st is not None:
            try:
                os.fchown(fd, dest_st.st_uid, dest_st.st_gid)
            except OSError as e:
                if e.errno != errno.EPERM:
                    raise DownloadError('cannot set the owner of %s: %s' % (partial.path, e.strerror or e))
            os.fchmod(fd, stat.S_IMODE(dest_st.st_mode))
            return
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)

    def _apply_file_attributes(self, fd: int, path: str, changed: bool) -> bool:
        """The task's owner, group and mode, set through fd; its SELinux context and attributes on path,
        which must name fd's file. Returns changed, or True when something was (or would be) changed."""
        p = self.module.params
        st = os.fstat(fd)
        uid = _resolve_uid(p['owner']) if p['owner'] is not None else -1
        gid = _resolve_gid(p['group']) if p['group'] is not None else -1
        if (uid != -1 and uid != st.st_uid) or (gid != -1 and gid != st.st_gid):
            changed = True
            if not self.module.check_mode:
                try:
                    os.fchown(fd, uid, gid)
                except OSError as e:
                    raise DownloadError('chown failed: %s' % (e.strerror or e), path=path)
                st = os.fstat(fd)
        if p['mode'] is not None:
            mode = _parse_mode(p['mode'], st)
            if mode != stat.S_IMODE(st.st_mode):
                changed = True
                if not self.module.check_mode:
                    os.fchmod(fd, mode)
        if any(p.get(k) is not None for k in ('seuser', 'serole', 'setype', 'selevel', 'attributes')):
            try:
                same = _same_file(os.lstat(path), st)
            except OSError:
                same = False
            if not same:
                raise DownloadError('%s changed while its attributes were set; nothing was set through it' % path)
            file_args = self.module.load_file_common_arguments(p, path=path)
            changed = self.module.set_context_if_different(path, file_args['secontext'], changed)
            changed = self.module.set_attributes_if_different(path, file_args['attributes'], changed)
        return changed

    def _backup(self, dest_fd: int, dest_st: os.stat_result) -> str:
        """A date-marked copy of dest (as ansible's backup_local names it), made from the open dest."""
        backup = '%s.%s.%s' % (self.dest, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~'))
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _record.OPEN_FLAGS, 0o600)
        except OSError as e:
            raise DownloadError('Could not make backup of %s to %s: %s' % (self.dest, backup, e.strerror or e))
        try:
            position = 0
            while True:
                block = os.pread(dest_fd, 1 << 20, position)
                if not block:
                    break
                _write_all(fd, block)
                position += len(block)
            try:
                os.fchown(fd, dest_st.st_uid, dest_st.st_gid)
            except OSError:
                pass  # not root: the backup is ours
            os.fchmod(fd, stat.S_IMODE(dest_st.st_mode))
            os.utime(fd, ns=(dest_st.st_atime_ns, dest_st.st_mtime_ns))
        finally:
            os.close(fd)
        return backup

    def _rename_onto_dest(self) -> None:
        """One rename of our (still open, verified) file onto dest: a link at dest is replaced, not followed."""
        partial = self._the_partial()
        try:
            now = os.lstat(partial.path)
        except OSError:
            now = None
        if now is None or not _same_file(now, partial.st):
            raise DownloadError('%s is no longer the file that was downloaded; %s is unchanged'
                                % (partial.path, self.dest))
        try:
            os.rename(partial.path, self.dest)
        except OSError as e:
            if self.module.params['unsafe_writes'] and e.errno in (errno.EBUSY, errno.ETXTBSY, errno.EPERM,
                                                                   errno.EACCES, errno.EXDEV):
                self._write_in_place()
                return
            raise DownloadError('failed to move %s to %s: %s' % (partial.path, self.dest, e.strerror or e))
        if self.module.selinux_enabled():
            self.module.set_context_if_different(self.dest, self.module.selinux_default_context(self.dest), False)

    def _write_in_place(self) -> None:
        """unsafe_writes: copy into dest itself, which must be a regular file that is no one else's trick."""
        partial = self._the_partial()
        fd, reason = open_own_file(self.dest, os.O_WRONLY)
        if fd is None:
            raise DownloadError('cannot write %s in place (unsafe_writes): it %s' % (self.dest, reason or 'is gone'))
        try:
            os.ftruncate(fd, 0)
            position = 0
            while True:
                block = os.pread(partial.fd, 1 << 20, position)
                if not block:
                    break
                _write_all(fd, block)
                position += len(block)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._discard()

    # -- the partial file and its meta sidecar

    def _open_partial(self) -> Partial:
        """Partial of <dest>.part when it is ours to write (created here if missing), else of a private temp file."""
        fd, reason = open_own_file(self.part_path, os.O_RDWR)
        if fd is not None:
            return Partial(fd, self.part_path, private=False)
        if reason is None:
            try:
                fd = os.open(self.part_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _record.OPEN_FLAGS, 0o600)
                return Partial(fd, self.part_path, private=False)
            except FileExistsError:
                reason = 'appeared while the download began'
            except OSError as e:
                raise DownloadError('cannot create %s: %s' % (self.part_path, e.strerror or e))
        directory, name = os.path.split(self.dest)
        try:
            fd, path = tempfile.mkstemp(prefix='.%s.' % name, suffix=PART_SUFFIX, dir=directory or '.')
        except OSError as e:
            raise DownloadError('cannot create a temp file beside %s: %s' % (self.dest, e.strerror or e))
        self.warn('%s %s: it was left untouched, and the download started over in the private temp file %s '
                  '(it cannot be resumed)' % (self.part_path, reason, path))
        self.extra['restart_reason'] = '%s %s' % (self.part_path, reason)
        return Partial(fd, path, private=True)

    def _read_meta(self) -> t.Tuple[t.Optional[t.Dict[str, t.Any]], t.Optional[str]]:
        """The meta sidecar of the partial file, or (None, why it cannot be used)."""
        fd, reason = open_own_file(self.meta_path, os.O_RDONLY)
        if fd is None:
            return None, ('%s %s' % (self.meta_path, reason) if reason
                          else 'there is no %s saying which file it is part of' % self.meta_path)
        try:
            data = os.read(fd, META_MAX_BYTES + 1)
        except OSError as e:
            return None, 'cannot read %s: %s' % (self.meta_path, e.strerror or e)
        finally:
            os.close(fd)
        try:
            meta = json.loads(data.decode('utf-8')) if len(data) <= META_MAX_BYTES else None
        except (ValueError, UnicodeDecodeError):
            meta = None
        if not isinstance(meta, dict) or meta.get('version') != META_VERSION:
            return None, '%s is not a partial file description of this module' % self.meta_path
        if meta.get('url_sha256') != _url_key(self.url):
            return None, 'the partial file is part of another URL'
        st = self._the_partial().st
        if meta.get('part') != {'dev': st.st_dev, 'ino': st.st_ino}:
            return None, '%s describes another partial file' % self.meta_path
        for key in ('etag', 'last_modified'):
            if meta.get(key) is not None and not isinstance(meta[key], str):
                return None, '%s is not a partial file description of this module' % self.meta_path
        if meta.get('total') is not None and not isinstance(meta['total'], int):
            return None, '%s is not a partial file description of this module' % self.meta_path
        return meta, None

    def _write_meta(self, info: t.Mapping[str, t.Any], total: t.Optional[int]) -> None:
        """Say which file of the server the partial file is part of (its validators), for a later resume."""
        partial = self._the_partial()
        if partial.private:
            return
        etag, last_modified = _validators(info)
        st = partial.st
        self.meta = {'version': META_VERSION, 'url_sha256': _url_key(self.url), 'etag': etag,
                     'last_modified': last_modified, 'total': total, 'part': {'dev': st.st_dev, 'ino': st.st_ino}}
        try:
            _record.atomic_write(self.meta_path, json.dumps(self.meta, sort_keys=True).encode('utf-8'))
        except _record.JobError as e:
            self.warn('%s; the partial file will not be resumed' % e.msg)

    def _remove_meta(self) -> None:
        """Remove the meta sidecar when it is ours (never another user's file of that name)."""
        try:
            st = os.lstat(self.meta_path)
        except FileNotFoundError:
            return
        if _record.untrusted_reason(st, refuse_shared_write=True) is None:
            _unlink_if_same(self.meta_path, st)

    def _discard(self) -> None:
        if self.partial is not None:
            self.partial.remove()
        self._remove_meta()

    def _resume_point(self) -> t.Tuple[int, t.Optional[str]]:
        """(offset, If-Range value) to resume from; (0, None) to start over, with the reason in extra."""
        partial = self._the_partial()
        size = partial.size()
        if partial.private or not size:
            return 0, None
        if not self.resume:
            self.extra['restart_reason'] = 'resume is false'
            return 0, None
        meta, reason = self._read_meta()
        if meta is not None:
            validator = if_range_value(meta)
            if validator is None:
                reason = 'the server gave no ETag or Last-Modified to check the file against'
            elif meta.get('total') is not None and size > meta['total']:
                reason = 'the partial file is longer than the file it is part of'
            else:
                self.meta = meta
                return size, validator
        self.extra['restart_reason'] = 'the partial file was not resumed: %s' % reason
        return 0, None

    def _request(self, offset: int, validator: t.Optional[str]) -> t.Tuple[t.Any, t.Dict[str, t.Any]]:
        headers = dict(self.headers)
        headers.pop('Range', None)
        headers.pop('If-Range', None)
        if offset:
            headers['Range'] = 'bytes=%d-' % offset
            headers['If-Range'] = validator
        return self._fetch(self.url, headers)

    def _restart(self, why: str) -> None:
        self.extra['restart_reason'] = why
        self._the_partial().truncate()

    def _download(self) -> int:
        """Fill the partial file, resuming it when the server's file is unchanged; returns the HTTP status."""
        partial = self.partial = self._open_partial()
        self.extra['partial_file'] = partial.path
        try:
            return self._transfer()
        except BaseException:
            if partial.private or not partial.size():
                partial.remove()  # nothing to resume from
            raise

    def _transfer(self) -> int:
        offset, validator = self._resume_point()
        response, info = self._request(offset, validator)
        status = info.get('status')
        total = None
        if offset:
            meta = self.meta if self.meta is not None else {}
            changed = None
            found = _content_range(info.get('content-range'))
            if status == 416:
                if found and found[1] == offset and validator_matches(meta, info):
                    self.extra.update(resumed_from=offset, bytes_transferred=0)
                    return 206  # the partial file is the whole file
                change = validator_change(meta, info, found[1] if found else None)
                if change is not None:
                    changed = 'the file on the server changed since the partial download (%s)' % change
                else:
                    changed = ('the server refused the range request for bytes %d- (416) without showing that '
                               'its file is the one the partial file is part of' % offset)
            elif status == 206:
                if not found or found[0] != offset:
                    raise DownloadError('the server answered the range request for bytes %d- with %s; the partial '
                                        'file is kept' % (offset, info.get('content-range')), status_code=status)
                change = validator_change(meta, info, found[1])
                if change is not None:
                    changed = 'the file on the server changed since the partial download (%s)' % change
                else:
                    total = found[1]
            elif status == 200:
                change = validator_change(meta, info)
                self._restart('the file on the server changed since the partial download (%s)' % change
                              if change else 'the server sent the whole file instead of the range asked for')
                offset = 0
            if changed is not None:
                self._restart(changed + '; the download started over')
                offset = 0
                if response is not None:
                    response.close()
                response, info = self._request(0, None)
                status = info.get('status')
        if status != 200 and not (status == 206 and offset):
            raise DownloadError('Request failed', status_code=status, response=info.get('msg'))
        if response is None:
            raise DownloadError('Request failed: no response body', status_code=status)
        if not offset:
            self._the_partial().truncate()
            length = info.get('content-length')
            total = int(length) if length and length.isdigit() else None
            self._write_meta(info, total)
        return self._receive(response, status, offset, total)

    def _receive(self, response: t.Any, status: int, offset: int, total: t.Optional[int]) -> int:
        self.extra.update(resumed_from=offset, bytes_transferred=0)
        progress = self.progress = _progress.ProgressReporter(total=total, unit='B', start=offset)
        name = os.path.basename(self.dest)
        progress.update(current=offset, message='downloading %s' % name, force=True)
        fd = self._the_partial().fd
        os.lseek(fd, offset, os.SEEK_SET)
        began = time.monotonic()
        done = 0
        try:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (socket.timeout, OSError, http.client.HTTPException) as e:
                    raise DownloadError('the connection was lost after %d bytes (%s); %s'
                                        % (offset + done, to_native(e), self._kept()), status_code=status)
                if not chunk:
                    break
                try:
                    _write_all(fd, chunk)
                except OSError as e:
                    raise self._write_failed(e, offset + done, status)
                done += len(chunk)
                self.extra['bytes_transferred'] = done
                progress.update(current=offset + done, message='downloading %s' % name)
            try:
                os.fsync(fd)
            except OSError as e:
                raise self._write_failed(e, offset + done, status)
        finally:
            self.extra['rate'] = _durations.rate_and_eta(done, None, None, time.monotonic() - began)[0]
        if total is not None and offset + done != total:
            raise DownloadError('the download ended after %d of %d bytes; %s' % (offset + done, total, self._kept()),
                                status_code=status)
        progress.done(message='downloaded %s' % name)
        return status

    def _write_failed(self, e: OSError, written: int, status: int) -> DownloadError:
        """A failed write of the partial file (a full disk, a quota) as a clear task failure."""
        return DownloadError('cannot write %s after %d bytes: %s; %s'
                             % (self._the_partial().path, written, e.strerror or e, self._kept()), status_code=status)

    def _kept(self) -> str:
        partial = self._the_partial()
        if partial.private:
            return 'the partial file could not be kept (%s is not ours): the next run starts over' % self.part_path
        return '%s is kept: run the task again to resume' % partial.path


def _argument_spec() -> t.Dict[str, t.Any]:
    spec = dict(url_argument_spec())  # type: t.Dict[str, t.Any]
    spec['url_username']['aliases'] = ['username']
    spec['url_password']['aliases'] = ['password']
    spec.update(_supervisor.job_argument_spec(background=False))
    spec.update(
        url=dict(type='str', required=True),
        dest=dict(type='path', required=True),
        checksum=dict(type='str', default=''),
        resume=dict(type='bool', default=True),
        timeout=dict(type='int', default=10),
        headers=dict(type='dict'),
        backup=dict(type='bool', default=False),
        unredirected_headers=dict(type='list', elements='str', default=[]),
        use_netrc=dict(type='bool', default=True),
        ciphers=dict(type='list', elements='str'),
    )
    return spec


def _as_job(module: AnsibleModule, downloader: Downloader) -> t.Callable[[], t.Dict[str, t.Any]]:
    """The body of a background download: runs in a fork of the supervisor, returns the result."""
    def exit_json(**kwargs: t.Any) -> t.NoReturn:
        raise _ModuleExit(kwargs)

    def fail_json(msg: str, **kwargs: t.Any) -> t.NoReturn:
        kwargs.update(failed=True, msg=msg)
        raise _ModuleExit(kwargs)

    def body() -> t.Dict[str, t.Any]:
        # in the job (a fork of the supervisor): an exit must return the result, not print it
        module.exit_json = exit_json  # type: ignore[method-assign]
        module.fail_json = fail_json  # type: ignore[method-assign]
        tmpdir_was_given = module._tmpdir is not None  # pylint: disable=protected-access
        try:
            result = downloader.run()
        except DownloadError as e:
            result = dict(e.result, failed=True, msg=e.msg)
        except _ModuleExit as e:
            result = e.result
        finally:
            # fetch_url makes a module tmp dir that AnsibleModule removes at exit;
            # the job ends with os._exit, so that is done here
            made = module._tmpdir  # pylint: disable=protected-access
            if made and not tmpdir_was_given and not getattr(module, '_keep_remote_files', False):
                shutil.rmtree(made, ignore_errors=True)
        # what exit_json adds to a result that names a file (state, mode, owner, ...), as get_url returns it
        return dict(module.add_path_info(dict(result, dest=downloader.dest)))
    return body


def launch_result(launched: t.Mapping[str, t.Any], downloader: Downloader) -> t.Dict[str, t.Any]:
    """The launch of a background download: ansible.builtin's async launch keys; the rest under asyncops."""
    result = {key: launched[key] for key in _LAUNCH_KEYS if key in launched}
    block = dict(launched.get(_record.BLOCK_KEY) or {})
    for key, value in launched.items():
        if key not in _LAUNCH_KEYS and key != _record.BLOCK_KEY:
            block.setdefault(key, value)
    block.update(kind=_record.KIND_DOWNLOAD, url=downloader.result['url'], dest=downloader.dest)
    result[_record.BLOCK_KEY] = block
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=_argument_spec(), add_file_common_args=True, supports_check_mode=True)
    params = module.params
    if not params['background'] and params['time_limit']:
        module.warn('time_limit is used with background=true only; under the async keyword, async sets the limit')
    try:
        downloader = Downloader(module)
    except DownloadError as e:
        module.fail_json(msg=e.msg, url=_mask_url(params['url']), dest=params['dest'])

    if params['background']:
        where = {'url': downloader.result['url'], 'dest': downloader.dest}
        spec = _supervisor.JobSpec(
            target=_as_job(module, downloader), kind=_record.KIND_DOWNLOAD,
            cmd='download %s to %s' % (downloader.result['url'], downloader.dest),
            time_limit=params['time_limit'], kill_grace=params['kill_grace'], base_result=where)
        if module.check_mode:
            # a check-mode jid, which asyncops.jobs.async_status answers as not started: nothing starts or is written
            result = _supervisor.check_mode_launch(spec, 'would start a download job: %s' % spec.display)
            result[_record.BLOCK_KEY].update(where)
            module.exit_json(**result)
        try:
            downloader.check_destination()
        except DownloadError as e:
            module.fail_json(msg=e.msg, **where)
        async_dir = _async_dir.resolve_async_dir()
        try:
            launched = _supervisor.launch(spec, async_dir)
        except _supervisor.LaunchError as e:
            module.fail_json(msg=e.msg)
        except _record.JobError as e:
            module.fail_json(msg=e.msg)
        module.exit_json(**launch_result(launched, downloader))

    try:
        result = downloader.run()
    except DownloadError as e:
        e.result.pop('msg', None)
        module.fail_json(msg=e.msg, **e.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
