# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback HTTP server for the download tests: byte ranges, throttling, a request log.

    python range_server.py --root DIR --port-file FILE --log FILE [--pid-file FILE]

Serves the files of DIR on 127.0.0.1 (a free port, written to --port-file once
it listens; when --port-file is a FIFO, the port is written into it, so a shell
can wait for the server with ``read port < fifo``). Query parameters of a request:

* ``rate=N``: send at most N bytes a second (the server sleeps between chunks);
* ``norange=1``: ignore Range headers and always answer 200 with the whole file;
* ``cut=N``: close the connection after N bytes of the body (a lost connection);
* ``noifrange=1``: honour Range but ignore If-Range (a server without If-Range
  support: a changed file is still sent as a 206 of the new content);
* ``novalidator=1``: send neither ETag nor Last-Modified;
* ``noetag=1``: send Last-Modified only.

Each file is served with an ``ETag`` (made of its mtime in nanoseconds and its
size) and a ``Last-Modified``; a Range request whose ``If-Range`` matches
neither is answered with the whole file (200), as RFC 9110 says.

Every response is logged as one JSON line: path, range asked, if_range sent,
status, bytes_sent, etag, and whether the body was sent completely.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import re
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_RANGE_RE = re.compile(r'\Abytes=(?P<start>[0-9]*)-(?P<end>[0-9]*)\Z')
_LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = 'asyncops-range-server/1'
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _log(self, **entry):
        entry['time'] = time.time()
        with _LOG_LOCK:
            with open(self.server.log_path, 'a') as f:
                f.write(json.dumps(entry, sort_keys=True) + '\n')

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        rate = int(query.get('rate', ['0'])[0])
        use_range = query.get('norange', ['0'])[0] != '1'
        cut = int(query.get('cut', ['-1'])[0])
        name = os.path.basename(parts.path)
        path = os.path.join(self.server.root, name)
        asked = self.headers.get('Range')
        if not name or not os.path.isfile(path):
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            self._log(path=parts.path, range=asked, status=404, bytes_sent=0, complete=True)
            return
        st = os.stat(path)
        size = st.st_size
        validators = {}
        if query.get('novalidator', ['0'])[0] != '1':
            validators = {'ETag': '"%x-%x"' % (st.st_mtime_ns, size),
                          'Last-Modified': email.utils.formatdate(st.st_mtime, usegmt=True)}
            if query.get('noetag', ['0'])[0] == '1':
                del validators['ETag']
        if_range = self.headers.get('If-Range')
        if if_range and query.get('noifrange', ['0'])[0] != '1':
            # a strong comparison: a weak ETag (W/...) never matches
            if if_range not in (validators.get('ETag'), validators.get('Last-Modified')):
                use_range = False
        start, end, status = 0, size - 1, 200
        if asked and use_range:
            m = _RANGE_RE.match(asked.strip())
            if m and m.group('start'):
                start = int(m.group('start'))
                if m.group('end'):
                    end = min(int(m.group('end')), size - 1)
                status = 206
                if start >= size:
                    self.send_response(416)
                    self.send_header('Content-Range', 'bytes */%d' % size)
                    self.send_header('Content-Length', '0')
                    for name, value in validators.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self._log(path=parts.path, range=asked, if_range=if_range, status=416, bytes_sent=0,
                              etag=validators.get('ETag'), complete=True)
                    return
        length = max(end - start + 1, 0)
        self.send_response(status)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(length))
        if use_range:
            self.send_header('Accept-Ranges', 'bytes')
        if status == 206:
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, size))
        for name, value in validators.items():
            self.send_header(name, value)
        self.end_headers()
        sent = 0
        complete = True
        if body:
            chunk = 16384
            began = time.monotonic()
            try:
                with open(path, 'rb') as f:
                    f.seek(start)
                    while sent < length:
                        if 0 <= cut <= sent:
                            complete = False
                            self.close_connection = True
                            break
                        want = min(chunk, length - sent)
                        if cut >= 0:
                            want = min(want, cut - sent)
                        data = f.read(want)
                        if not data:
                            break
                        self.wfile.write(data)
                        sent += len(data)
                        if rate:
                            ahead = began + sent / float(rate) - time.monotonic()
                            if ahead > 0:
                                time.sleep(ahead)
            except (BrokenPipeError, ConnectionResetError):
                complete = False
                self.close_connection = True
        self._log(path=parts.path, range=asked, if_range=if_range, status=status, bytes_sent=sent,
                  etag=validators.get('ETag'), complete=complete and sent == length)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', required=True)
    parser.add_argument('--port-file', required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument('--pid-file')
    args = parser.parse_args()
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    server.root = os.path.abspath(args.root)
    server.log_path = os.path.abspath(args.log)
    if args.pid_file:
        with open(args.pid_file, 'w') as f:
            f.write('%d\n' % os.getpid())
    port = '%d\n' % server.server_address[1]
    if os.path.exists(args.port_file) and stat.S_ISFIFO(os.stat(args.port_file).st_mode):
        with open(args.port_file, 'w') as f:  # blocks until the reader is there
            f.write(port)
    else:
        tmp = args.port_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write(port)
        os.rename(tmp, args.port_file)  # appears whole, once the socket listens
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
