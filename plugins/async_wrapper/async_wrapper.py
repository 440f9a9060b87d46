# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ansible-core runs every async: task through the module it resolves as ansible.legacy.async_wrapper.
# The callback asyncops.jobs.supervise puts this directory first in the module path, so that this
# file is the one resolved; it must stay alone in its directory (every file here becomes a module).

from __future__ import annotations

from ansible_collections.asyncops.jobs.plugins.module_utils._async_wrapper import main

if __name__ == '__main__':
    main()
