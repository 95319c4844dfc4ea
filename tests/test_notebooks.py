"Run every notebook once, in its fast config, exactly as `nbdev_test` does (cells flagged slow/gpu are skipped)."
import os
from configparser import ConfigParser
from pathlib import Path
import pytest
from nbdev.test import test_nb
from fastcore.xtras import working_directory

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/'nbs').glob('[0-9a-z]*.ipynb'))
cfg = ConfigParser(); cfg.read(ROOT/'settings.ini')
SKIP_FLAGS = cfg['DEFAULT']['tst_flags'].split()

def test_there_are_notebooks(): assert len(NBS) >= 8

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    with working_directory(ROOT/'nbs'):
        ok, secs = test_nb(nb, skip_flags=SKIP_FLAGS, basepath=ROOT)
    assert ok, f'{nb.name} failed (run `nbdev_test --path {nb.relative_to(ROOT)}` to see the cell)'
