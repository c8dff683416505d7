# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _errors: one family, each error its message, and which of them stop a run."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _errors

FATAL = (_errors.VobizAuthError, _errors.VobizTLSError, _errors.VobizUnknownRouteError, _errors.VobizInterrupted)
NOT_FATAL = (_errors.VobizInputError, _errors.VobizRequestError, _errors.VobizBatchAborted, _errors.VobizItemError)


@pytest.mark.parametrize('error_class', FATAL + NOT_FATAL)
def test_every_error_is_its_message(error_class):
    error = error_class('what went wrong')
    assert isinstance(error, _errors.VobizError)
    assert str(error) == error.message == 'what went wrong'
    # A batch reads these to stop (fatal) or to fail one item alone (not fatal).
    assert isinstance(error, _errors.VobizFatalError) is (error_class in FATAL)


def test_a_fatal_error_carries_the_results_of_its_batch():
    error = _errors.VobizAuthError('HTTP 401', status=401, attempts=2, ambiguous=True)
    assert (error.status, error.attempts, error.ambiguous, error.results) == (401, 2, True, None)
    interrupted = _errors.VobizInterrupted('Interrupted by SIGINT', 'SIGINT')
    assert interrupted.signal_name == 'SIGINT' and interrupted.unanswered == [] and interrupted.results is None


def test_an_input_error_names_every_option_it_is_about():
    message = 'match "*" selects every conference; set all=true instead'
    refused = _errors.VobizInputError(message, option='match', also=('all',))
    assert refused.options == ['match', 'all']
    assert _errors.VobizInputError('bad', option='parallel').options == ['parallel']
    assert _errors.VobizInputError('bad').options == []
