# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The errors of the vobiz.voice client: one ``VobizError`` family; no message ever holds the auth token.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""


class VobizError(Exception):
    """Base class of every error raised here; ``str()`` never contains the token."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class VobizInputError(VobizError):
    """Bad module input; ``option`` names the offending option, ``also`` the others the message names (the way out)."""

    def __init__(self, message, option=None, also=()):
        super().__init__(message)
        self.option = option
        self.also = tuple(also)

    @property
    def options(self):
        """Every option the refusal is about: the offending one first."""
        return [option for option in (self.option,) + self.also if option is not None]


class VobizRequestError(VobizError):
    """A request that got no usable answer (transport failure after retries, or an HTTP error)."""

    def __init__(self, message, status=None, attempts=0, ambiguous=False):
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.ambiguous = ambiguous


class VobizFatalError(VobizError):
    """An error that stops the whole batch: no further request is started after it.

    ``attempts``: how many attempts the request that got it had sent (this one included; 0 when it is no answer to a
    request); ``ambiguous``: an earlier attempt of that request may have been carried out unheard.
    """

    def __init__(self, message, status=None, attempts=0, ambiguous=False):
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.ambiguous = ambiguous
        #: For batches: the per-item results (input order, ``None`` = not run).
        self.results = None


class VobizAuthError(VobizFatalError):
    """HTTP 401 or 403."""


class VobizTLSError(VobizFatalError):
    """The server certificate could not be verified."""


class VobizUnknownRouteError(VobizFatalError):
    """HTTP 404 that is not the conference API's own: the path (``api_url``) looks wrong."""


class VobizBatchAborted(VobizError):
    """A request that was not started because a fatal error stopped the batch."""


class VobizInterrupted(VobizFatalError):
    """The run was interrupted (SIGINT, SIGTERM): no request was started after it."""

    def __init__(self, message, signal_name=None):
        super().__init__(message)
        self.signal_name = signal_name
        #: For batches: the input indices of the items in flight whose answer did not come (outcome unknown).
        self.unanswered = []


class VobizItemError(VobizError):
    """One item of a batch could not be done for a reason other than an HTTP answer; only that item fails.

    ``interrupted`` is true for an item whose request was in flight when the run was interrupted
    (its outcome is unknown), false for an unexpected error in the worker (a name that cannot be
    encoded, a bug) and for the item whose request got the fatal answer that stopped the batch (``status``, and
    ``ambiguous`` when an earlier attempt of it may have been carried out unheard). ``message`` never holds the token.
    """

    def __init__(self, message, interrupted=False, cause=None, status=None, ambiguous=False):
        super().__init__(message)
        self.interrupted = interrupted
        self.cause = cause
        self.status = status
        self.ambiguous = ambiguous
