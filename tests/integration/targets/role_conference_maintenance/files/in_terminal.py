# -*- coding: utf-8 -*-
# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a command in a pseudo-terminal, as an operator would: answer its prompt, or press Ctrl-C.

    in_terminal.py LOG_URL PROMPT_END ANSWER -- COMMAND...
    in_terminal.py LOG_URL --ctrl-c-after DELETES -- COMMAND...

Answering: when the prompt text appears, read the emulator's request log (what was sent before anyone answered),
then type the answer. Ctrl-C: once the emulator's log holds DELETES hang-up requests, type Ctrl-C (the terminal sends
SIGINT to its foreground process group, as for an operator). Prints one JSON object: rc, the methods logged at the
prompt, the number of DELETEs logged when Ctrl-C was typed (None if the command ended first), and the transcript.
"""

import json
import os
import pty
import select
import signal
import sys
import termios
import time
import urllib.request

#: How often the request log is read while waiting to press Ctrl-C (seconds).
CTRL_C_POLL_SECONDS = 0.1


def read_log(url):
    """The emulator's logged requests."""
    with urllib.request.urlopen(url) as reply:
        return json.load(reply)['requests']


def read_available(fd, timeout):
    ready = select.select([fd], [], [], timeout)[0]
    if not ready:
        return b''
    try:
        return os.read(fd, 65536) or None
    except OSError:  # EIO: the child closed the terminal
        return None


def main():
    log_url = sys.argv[1]
    ctrl_c_after = int(sys.argv[3]) if sys.argv[2] == '--ctrl-c-after' else None
    prompt_end, answer = sys.argv[2:4] if ctrl_c_after is None else (None, None)
    command = sys.argv[sys.argv.index('--') + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        # As an interactive shell starts its foreground job: Ctrl-C and Ctrl-\ at their defaults. A caller started as
        # a background job of a non-interactive shell ignores SIGINT, Python keeps an ignored SIGINT ignored, and the
        # command would then never see Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        os.execvp(command[0], command)
    transcript = b''
    at_prompt = None
    answered = False
    deletes_at_ctrl_c = None
    while True:
        pressing = ctrl_c_after is not None and deletes_at_ctrl_c is None
        if pressing:
            logged = len(read_log(log_url + '?method=DELETE'))
            if logged >= ctrl_c_after:
                os.write(fd, b'\x03')
                deletes_at_ctrl_c, pressing = logged, False
        # The wait paces the retyping at the prompt and the reads of the log before Ctrl-C; otherwise the child may be
        # silent for as long as a loaded machine makes it (a child that hangs is ended by the gate, which ends a step
        # silent for minutes).
        chunk = read_available(
            fd, CTRL_C_POLL_SECONDS if pressing else 2 if at_prompt is not None and not answered else None
        )
        if chunk is None:
            break
        transcript += chunk
        if prompt_end is not None and at_prompt is None and prompt_end.encode() in transcript:
            at_prompt = [entry['method'] for entry in read_log(log_url)]
            mark = len(transcript)
        if at_prompt is not None and not answered:
            if len(transcript) > mark:  # the prompt took the answer and the play went on
                answered = True
            elif not termios.tcgetattr(fd)[3] & termios.ICANON:
                # Ansible flushes what was typed ahead and then reads in cbreak mode: type (again) only then.
                os.write(fd, answer.encode() + b'\r')
                time.sleep(1)
    status = os.waitpid(pid, 0)[1]
    result = dict(rc=os.waitstatus_to_exitcode(status), at_prompt=at_prompt, deletes_at_ctrl_c=deletes_at_ctrl_c)
    print(json.dumps(dict(result, transcript=transcript.decode('utf-8', 'replace'))))


if __name__ == '__main__':
    main()
