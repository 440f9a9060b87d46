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
  - Downloads O(url) to O(dest) like M(ansible.builtin.get_url), with the same return values, and
    also
  - reports its progress (bytes done, total, percent, rate, ETA) while it runs, whether it runs
    plainly, under the C(async) keyword (then C(ansible.builtin.async_status) and the C(poll)
    loop return it as C(progress)), or as a job of this collection (O(background=true));
  - writes to C(<dest>.part) beside O(dest) and, when run again after a timeout, a kill or a lost
    connection, resumes that partial file with an HTTP C(Range) request (a server that answers
    with the whole file instead is handled too);
  - verifies O(checksum) before the file appears at O(dest), which is replaced atomically and left
    untouched when the checksum does not match.
  - It works under C(async)/C(poll) exactly as M(ansible.builtin.get_url) does, so a playbook can
    swap one for the other.
author:
  - asyncops.jobs developers (@asyncops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - asyncops.jobs.job
  - asyncops.jobs.job.async_dir
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
    details: Reports whether the file would be downloaded; no request is made for it.
  diff_mode:
    support: none
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
        the last component of the URL's path.
      - The partial file is C(<dest>.part), in the same directory.
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
  background:
    description:
      - Run the download as a job of this collection, under its supervisor, and return its job id
        at once (like M(asyncops.jobs.run)). Collect it with M(asyncops.jobs.async_status).
      - O(time_limit) and O(kill_grace) apply to it. A job stopped by its time limit or killed keeps
        its partial file, so running the task again resumes it.
      - Not with the C(async) keyword.
    type: bool
    default: false
  timeout:
    description:
      - Timeout in seconds for the connection and for each read (not for the whole download; see
        O(time_limit) with O(background=true), or the C(async) keyword).
    type: int
    default: 10
  headers:
    description:
      - Extra HTTP headers, as a dictionary.
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
    is written into core's running job record as C(progress), and into C(<jid>.progress).
  - A partial file is resumed as it is. Give O(checksum) to detect a source that changed between
    two attempts; on a mismatch the partial file is removed, so the next run starts over.
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
"""

RETURN = r"""
dest:
  description: The file written.
  returned: success
  type: str
  sample: /var/lib/images/disk.qcow2
url:
  description: The URL, with any password masked.
  returned: always
  type: str
checksum_dest:
  description: SHA1 of O(dest) before it was replaced, if it existed.
  returned: success
  type: str
checksum_src:
  description: SHA1 of the downloaded file.
  returned: when a file was downloaded
  type: str
size:
  description: Size of O(dest) in bytes.
  returned: success
  type: int
status_code:
  description: The HTTP status of the request (C(206) when a partial file was resumed).
  returned: when a request was made
  type: int
msg:
  description: What happened.
  returned: always
  type: str
elapsed:
  description: Seconds the download took.
  returned: always
  type: int
resumed_from:
  description: Bytes of the partial file that were kept (C(0) when the download started over).
  returned: when a request was made
  type: int
bytes_transferred:
  description: Bytes received by this run.
  returned: when a request was made
  type: int
backup_file:
  description: The backup of O(dest), with O(backup=true).
  returned: when a backup was made
  type: str
ansible_job_id:
  description: With O(background=true), the job id.
  returned: with O(background=true)
  type: str
results_file:
  description: With O(background=true), the job's record on the target.
  returned: with O(background=true)
  type: str
progress:
  description:
    - Under the C(async) keyword, the last progress report (C(percent), C(current), C(total), C(unit),
      C(message), C(rate), C(eta), C(updated_at)), so that the final status of the job still shows it.
  returned: when run under the C(async) keyword and a request was made
  type: dict
pid:
  description: With O(background=true), the job's process.
  returned: with O(background=true)
  type: int
supervisor_pid:
  description: With O(background=true), the supervisor process.
  returned: with O(background=true)
  type: int
asyncops:
  description: With O(background=true), C(state) (V(running)) and C(started_at) (epoch seconds) of the job.
  returned: with O(background=true)
  type: dict
"""

import hashlib
import http.client
import os
import re
import shutil
import socket
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import fetch_url, url_argument_spec

from ansible_collections.asyncops.jobs.plugins.module_utils import _jobs
from ansible_collections.asyncops.jobs.plugins.module_utils import _progress
from ansible_collections.asyncops.jobs.plugins.module_utils import _supervisor

CHUNK = 65536
_HEX_RE = re.compile(r'\A[0-9a-fA-F]+\Z')
_BSD_LINE_RE = re.compile(r'\A(?P<algo>[A-Za-z0-9-]+) ?\((?P<name>.*)\) ?= ?(?P<digest>[0-9a-fA-F]+)\s*\Z')
_CONTENT_RANGE_RE = re.compile(r'\Abytes\s+(?:(?P<start>[0-9]+)-(?P<end>[0-9]+)|\*)/(?P<total>[0-9]+|\*)\Z')


class DownloadError(Exception):
    def __init__(self, msg, **result):
        super(DownloadError, self).__init__(msg)
        self.msg = msg
        self.result = result


class _ModuleExit(Exception):
    """exit_json/fail_json called inside a background job (by us or by fetch_url)."""

    def __init__(self, result):
        super(_ModuleExit, self).__init__(result.get('msg'))
        self.result = result


def _mask_url(url):
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(':%s@' % parts.password, ':********@', 1)
        return parts._replace(netloc=netloc).geturl()
    return url


def url_filename(url):
    name = os.path.basename(urlsplit(url).path)
    return name or 'index.html'


def parse_checksum_lines(lines, names):
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


def _content_range(value):
    if not value:
        return None
    m = _CONTENT_RANGE_RE.match(value.strip())
    if not m:
        return None
    start = int(m.group('start')) if m.group('start') is not None else None
    total = int(m.group('total')) if m.group('total') != '*' else None
    return start, total


def _file_digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


class Downloader(object):
    """One download: the module's parameters, and what happened."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.url = p['url']
        self.dest = p['dest']
        if os.path.isdir(self.dest):
            self.dest = os.path.join(self.dest, url_filename(self.url))
        self.part = self.dest + '.part'
        self.progress = None  # the ProgressReporter of the transfer, once it began
        self.force = p['force']
        self.resume = p['resume']
        self.timeout = p['timeout']
        self.headers = dict(p['headers'] or {})
        self.algorithm = None
        self.expected = None
        self.checksum_url = None
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
        self.result = dict(url=_mask_url(self.url), dest=self.dest, changed=False, checksum_dest=None,
                           checksum_src=None, elapsed=0, msg='')

    def _fetch(self, url, headers, method='GET'):
        p = self.module.params
        response, info = fetch_url(self.module, url, headers=headers, method=method, use_proxy=p['use_proxy'],
                                   timeout=self.timeout, decompress=False, use_netrc=p['use_netrc'],
                                   unredirected_headers=p['unredirected_headers'], ciphers=p['ciphers'])
        if response is not None and info.get('status') not in (200, 206) and (
                url.startswith('file:/') or (url.startswith('ftp:/') and str(info.get('msg', '')).startswith('OK'))):
            info['status'] = 200  # as get_url: file and FTP answers carry no HTTP status, and no ranges
        return response, info

    def fetch_expected_checksum(self):
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

    def check_destination(self):
        directory = os.path.dirname(self.dest) or '.'
        if not os.path.isdir(directory):
            raise DownloadError('Destination %s does not exist' % directory)
        if not os.access(directory, os.W_OK):
            raise DownloadError('Destination %s is not writable' % directory)

    def _keep_existing(self, msg):
        file_args = self.module.load_file_common_arguments(self.module.params, path=self.dest)
        changed = self.module.set_fs_attributes_if_different(file_args, False)
        self.result.update(changed=changed, size=os.path.getsize(self.dest),
                           msg=msg + (' but file attributes changed' if changed else ''))
        return self.result

    def run(self):
        """Download (or not); returns the result, raises DownloadError with a partial result."""
        start = time.time()
        try:
            return self._run()
        except DownloadError as e:
            for key, value in self.result.items():
                if key != 'msg':
                    e.result.setdefault(key, value)
            raise
        finally:
            self.result['elapsed'] = int(time.time() - start)

    def _run(self):
        self.check_destination()
        self.fetch_expected_checksum()
        if os.path.exists(self.dest):
            if not self.force and self.expected:
                if _file_digest(self.dest, self.algorithm) == self.expected:
                    return self._keep_existing('file already exists')
            elif not self.force:
                return self._keep_existing('file already exists')
            self.result['checksum_dest'] = self.module.sha1(self.dest)
        if self.module.check_mode:
            self.result.update(changed=True, msg='the file would be downloaded')
            return self.result
        try:
            status = self._download()
        finally:
            # under core's wrapper the result replaces the record that carried the progress
            carried = self.progress.result_progress() if self.progress is not None else None
            if carried is not None:
                self.result['progress'] = carried
        if self.expected:
            actual = _file_digest(self.part, self.algorithm)
            if actual != self.expected:
                self._discard_part()
                raise DownloadError('The checksum for %s did not match %s; it was %s. %s is unchanged and the '
                                    'partial file was removed.' % (self.part, self.expected, actual, self.dest),
                                    status_code=status)
        self.result['checksum_src'] = self.module.sha1(self.part)
        changed = self.result['checksum_src'] != self.result['checksum_dest']
        if changed:
            if self.module.params['backup'] and os.path.exists(self.dest):
                self.result['backup_file'] = self.module.backup_local(self.dest)
            try:
                self.module.atomic_move(self.part, self.dest, unsafe_writes=self.module.params['unsafe_writes'])
            except Exception as e:  # pylint: disable=broad-except
                raise DownloadError('failed to move %s to %s: %s' % (self.part, self.dest, to_native(e)))
        else:
            self._discard_part()
        file_args = self.module.load_file_common_arguments(self.module.params, path=self.dest)
        changed = self.module.set_fs_attributes_if_different(file_args, changed)
        self.result.update(changed=changed, size=os.path.getsize(self.dest), status_code=status)
        self.result['msg'] = 'OK (%d bytes)' % self.result['size']
        return self.result

    def _discard_part(self):
        try:
            os.unlink(self.part)
        except FileNotFoundError:
            pass

    def _download(self):
        """Fill <dest>.part, resuming it when the server allows; returns the HTTP status."""
        if not self.resume:
            self._discard_part()
        offset = os.path.getsize(self.part) if os.path.isfile(self.part) else 0
        headers = dict(self.headers)
        if offset:
            headers['Range'] = 'bytes=%d-' % offset
        response, info = self._fetch(self.url, headers)
        status = info.get('status')
        total = None
        if status == 416 and offset:
            # nothing after offset: the partial file may already be the whole file
            found = _content_range(info.get('content-range'))
            if found and found[1] == offset:
                self.result.update(resumed_from=offset, bytes_transferred=0)
                return 206
            self._discard_part()
            offset = 0
            headers.pop('Range')
            response, info = self._fetch(self.url, headers)
            status = info.get('status')
        if status == 206 and offset:
            found = _content_range(info.get('content-range'))
            if not found or found[0] != offset:
                raise DownloadError('the server answered the range request for bytes %d- with %s; the partial '
                                    'file is kept' % (offset, info.get('content-range')), status_code=status)
            total = found[1]
        elif status == 200:
            offset = 0  # the whole file (no Range support, or a changed resource)
            length = info.get('content-length')
            total = int(length) if length and length.isdigit() else None
        else:
            raise DownloadError('Request failed', status_code=status, response=info.get('msg'))
        if response is None:
            raise DownloadError('Request failed: no response body', status_code=status)
        self.result.update(resumed_from=offset, bytes_transferred=0)
        progress = self.progress = _progress.ProgressReporter(total=total, unit='B', start=offset)
        name = os.path.basename(self.dest)
        progress.update(current=offset, message='downloading %s' % name, force=True)
        done = 0
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if offset else os.O_TRUNC), 0o600)
        try:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (socket.timeout, OSError, http.client.HTTPException) as e:
                    raise DownloadError('the connection was lost after %d bytes (%s); %s is kept: run the task again '
                                        'to resume' % (offset + done, to_native(e), self.part),
                                        status_code=status, bytes_transferred=done, resumed_from=offset)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
                done += len(chunk)
                self.result['bytes_transferred'] = done
                progress.update(current=offset + done, message='downloading %s' % name)
            os.fsync(fd)
        finally:
            os.close(fd)
        if total is not None and offset + done != total:
            raise DownloadError('the download ended after %d of %d bytes; %s is kept: run the task again to resume'
                                % (offset + done, total, self.part), status_code=status, bytes_transferred=done,
                                resumed_from=offset)
        progress.done(message='downloaded %s' % name)
        return status


def _argument_spec():
    spec = url_argument_spec()
    spec['url_username']['aliases'] = ['username']
    spec['url_password']['aliases'] = ['password']
    spec.update(_supervisor.job_argument_spec())
    spec.update(
        url=dict(type='str', required=True),
        dest=dict(type='path', required=True),
        checksum=dict(type='str', default=''),
        resume=dict(type='bool', default=True),
        background=dict(type='bool', default=False),
        timeout=dict(type='int', default=10),
        headers=dict(type='dict'),
        backup=dict(type='bool', default=False),
        unredirected_headers=dict(type='list', elements='str', default=[]),
        use_netrc=dict(type='bool', default=True),
        ciphers=dict(type='list', elements='str'),
    )
    return spec


def _as_job(module, downloader):
    """The body of a background download: runs in a fork of the supervisor, returns the result."""
    def exit_json(**kwargs):
        raise _ModuleExit(kwargs)

    def fail_json(msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise _ModuleExit(kwargs)

    def body():
        # in the job (a fork of the supervisor): an exit must return the result, not print it
        module.exit_json = exit_json
        module.fail_json = fail_json
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
            if made and not tmpdir_was_given and not module._keep_remote_files:  # pylint: disable=protected-access
                shutil.rmtree(made, ignore_errors=True)
        if os.path.exists(downloader.dest):
            result = module.add_path_info(dict(result, dest=downloader.dest))
        return result
    return body


def main():
    module = AnsibleModule(argument_spec=_argument_spec(), add_file_common_args=True, supports_check_mode=True)
    params = module.params
    if not params['background'] and params['time_limit']:
        module.warn('time_limit is used with background=true only; under the async keyword, async sets the limit')
    try:
        downloader = Downloader(module)
    except DownloadError as e:
        module.fail_json(msg=e.msg, url=_mask_url(params['url']), dest=params['dest'])

    if params['background']:
        if module.check_mode:
            module.exit_json(changed=True, msg='would start a download job', url=downloader.result['url'],
                             dest=downloader.dest)
        try:
            downloader.check_destination()
        except DownloadError as e:
            module.fail_json(msg=e.msg, url=downloader.result['url'], dest=downloader.dest)
        spec = _supervisor.JobSpec(
            target=_as_job(module, downloader), kind=_supervisor.KIND_DOWNLOAD,
            cmd='download %s to %s' % (downloader.result['url'], downloader.dest),
            time_limit=params['time_limit'], kill_grace=params['kill_grace'],
            base_result=dict(url=downloader.result['url'], dest=downloader.dest))
        async_dir = _jobs.resolve_async_dir(params['_async_dir'])
        try:
            result = _supervisor.launch(spec, async_dir)
        except _supervisor.LaunchError as e:
            module.fail_json(msg=e.msg)
        except _jobs.JobError as e:
            module.fail_json(msg=e.msg)
        result.pop('cmd', None)
        result.update(url=downloader.result['url'], dest=downloader.dest)
        module.exit_json(**result)

    try:
        result = downloader.run()
    except DownloadError as e:
        e.result.pop('msg', None)
        module.fail_json(msg=e.msg, **e.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
