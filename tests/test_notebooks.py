"""Run every notebook once, in its fast config, exactly as `nbdev_test` does (cells flagged slow/gpu are skipped).
Each notebook runs in its own process, so what one defines (configs, registered commands) cannot leak into another
or into the other tests."""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/'nbs').glob('[0-9a-z]*.ipynb'))

def test_there_are_notebooks(): assert len(NBS) >= 8

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    nbdev_test = Path(sys.executable).parent/'nbdev_test'
    r = subprocess.run([str(nbdev_test), '--path', str(nb.relative_to(ROOT)), '--n_workers', '0'], cwd=ROOT,
                       capture_output=True, text=True, env={**os.environ, 'IN_TEST': '1'}, timeout=1800)
    assert r.returncode == 0 and 'Success' in r.stdout, f'{nb.name} failed:\n{(r.stdout + r.stderr)[-5000:]}'
