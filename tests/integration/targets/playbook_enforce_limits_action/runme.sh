#!/usr/bin/env bash
# The action playbook vobiz.voice.enforce_limits_action, run the way ansible-rulebook runs it (see runme.py).
set -eu
exec python runme.py
