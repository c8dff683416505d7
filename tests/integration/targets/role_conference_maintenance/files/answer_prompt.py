# -*- coding: utf-8 -*-
# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a command in a pseudo-terminal, as an operator would, and answer its prompt.

When the prompt text appears, read the emulator's request log (what was sent before anyone
answered), then type the answer. Prints one JSON object: rc, the methods logged at the prompt,
and the transcript.

usage: answer_prompt.py LOG_URL PROMPT_END ANSWER -- COMMAND...
"""

import json
import os
import pty
import select
import sys
import termios
import time
import urllib.request


def read_available(fd, timeout):
    ready = select.select([fd], [], [], timeout)[0]
    if not ready:
        return b''
    try:
        return os.read(fd, 65536) or None
    except OSError:  # EIO: the child closed the terminal
        return None


def main():
    log_url, prompt_end, answer = sys.argv[1:4]
    command = sys.argv[sys.argv.index('--') + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    transcript = b''
    at_prompt = None
    answered = False
    while True:
        # The wait paces the retyping at the prompt; otherwise the child may be silent for as long as a loaded machine
        # makes it (a child that hangs is ended by the gate, which ends a step silent for minutes).
        chunk = read_available(fd, 2 if at_prompt is not None and not answered else None)
        if chunk is None:
            break
        transcript += chunk
        if at_prompt is None and prompt_end.encode() in transcript:
            with urllib.request.urlopen(log_url) as reply:
                at_prompt = [entry['method'] for entry in json.load(reply)['requests']]
            mark = len(transcript)
        if at_prompt is not None and not answered:
            if len(transcript) > mark:  # the prompt took the answer and the play went on
                answered = True
            elif not termios.tcgetattr(fd)[3] & termios.ICANON:
                # Ansible flushes what was typed ahead and then reads in cbreak mode: type (again) only then.
                os.write(fd, answer.encode() + b'\r')
                time.sleep(1)
    status = os.waitpid(pid, 0)[1]
    print(json.dumps(dict(rc=os.waitstatus_to_exitcode(status), at_prompt=at_prompt, transcript=transcript.decode('utf-8', 'replace'))))


if __name__ == '__main__':
    main()
