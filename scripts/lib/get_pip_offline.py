"""Offline stand-in for ansible-test's get-pip script.

scripts/lib/env.sh copies this file to ~/.ansible/test/cache/get_pip_<ver>.py,
filling in the two placeholders. ansible-test runs it in a fresh virtual
environment with pip's arguments, e.g. ``pip==25.2 --no-setuptools --no-wheel``.
It runs pip straight from the pinned wheel and installs the requested
packages from the local wheel directory only.
"""

import glob
import os
import sys

WHEELS = '@WHEELS@'
PIP_VERSION = '@PIP_VERSION@'


def main():
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    found = glob.glob(os.path.join(WHEELS, 'pip-%s-*.whl' % PIP_VERSION))

    if not found:
        sys.exit('pip %s wheel not found in %s; rerun scripts/test.sh to fetch it' % (PIP_VERSION, WHEELS))

    sys.path.insert(0, found[0])

    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    sys.exit(pip_main(['install', '--upgrade', '--force-reinstall', '--no-index', '--find-links', WHEELS] + args))


if __name__ == '__main__':
    main()
