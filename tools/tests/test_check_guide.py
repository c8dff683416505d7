"""tools/check_guide.py: the guide's first run is read from the .rst as written (no Java needed)."""

from __future__ import annotations

import pathlib

import check_guide


def test_the_script_is_the_guides_files_and_commands_with_only_the_install_swapped(tmp_path):
    text, problems = check_guide.script(check_guide.GUIDE.read_text(encoding='utf-8'), tmp_path)
    assert problems == []
    assert not any(command in text for command in check_guide.INSTALL)
    assert 'cat > %s <<' % (tmp_path / 'vobiz-limits' / 'limits.yml') in text
    assert 'vobiz_lonely_announcement: ' in text and 'vobiz_overdue_announcement: ' in text
    assert 'ansible-rulebook -r vobiz.voice.enforce_limits -i inventory.yml --vars limits.yml' in text
    # a continued command stays one command; the request log is saved just before the emulator is stopped
    assert '--callback-url http://127.0.0.1:5050/vobiz/conference > emulator.log 2>&1 &' in text
    assert text.index('"$EMULATOR/log"') < text.index('kill $RULEBOOK_PID $EMULATOR_PID')


def test_a_changed_install_step_fails_the_check(tmp_path):
    guide = check_guide.GUIDE.read_text(encoding='utf-8').replace('ansible-rulebook==1.3.2', 'ansible-rulebook==1.4.0')
    assert check_guide.script(guide, pathlib.Path(tmp_path))[1] == [
        "step 1 of the guide is not %r any more: update INSTALL in tools/check_guide.py" % check_guide.INSTALL
    ]
