"The `vidlab` command: every chapter registered, errors exit 2 with a message, `vidlab demo` writes its summary."
import json, pkgutil
import pytest
import vidlab
from vidlab.cli import CORE_MODULES, DEMOS, load_chapters

CHAPTERS = sorted(m.name for m in pkgutil.iter_modules(vidlab.__path__) if m.name not in CORE_MODULES and not m.name.startswith('_'))

def test_help_lists_every_chapter(cli):
    out = cli('--help').stdout
    for ch in CHAPTERS: assert ch in out

def test_info(cli): assert "'mode': 'fast'" in cli('info').stdout

def test_unknown_chapter_is_a_usage_error(cli):
    r = cli('no-such-chapter', check=False)
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_demo_with_nothing_to_run_says_why(cli, tmp_path):
    r = cli('demo', '--only', 'no-such-chapter', '--out', tmp_path/'demo', check=False)
    assert r.returncode == 2 and 'no chapter demos' in r.stderr

def test_every_chapter_has_a_demo():
    load_chapters()
    assert sorted(DEMOS) == CHAPTERS

@pytest.mark.skipif(not CHAPTERS, reason='no chapters yet')
def test_demo_writes_videos_and_summary(cli, tmp_path):
    load_chapters()
    ch = 'siren' if 'siren' in DEMOS else sorted(DEMOS)[0]
    cli('demo', '--only', ch, '--out', tmp_path/'demo')
    summary = json.loads((tmp_path/'demo'/'summary.json').read_text())
    assert ch in summary and (tmp_path/'demo'/'summary.md').exists()
    assert list((tmp_path/'demo'/ch).rglob('*.mp4'))
