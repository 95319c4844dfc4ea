"""Run every notebook once, in its fast config, with plain `nbdev_test` exactly as a user (or the card, or CI) runs
it: all notebooks, nbdev's default workers, in-process runs. Cells flagged slow/gpu are skipped. The test runs
`nbdev_test` in a subprocess, so nothing the notebooks register leaks into the other tests, and it names the
notebooks that failed."""
import os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT/'nbs').glob('[0-9a-z]*.ipynb'))

def test_there_are_notebooks(): assert len(NBS) >= 8

def test_nbdev_test():
    nbdev_test = Path(sys.executable).parent/'nbdev_test'
    env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'VIDLAB_FULL')}   # nbdev_test sets IN_TEST
    r = subprocess.run([str(nbdev_test)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600)
    out = r.stdout + r.stderr
    failed = re.findall(r'^\s+(\S+\.ipynb)\s*$', out.split('nbdev Tests Failed On The Following Notebooks:')[-1], re.M) \
        if 'Failed On The Following' in out else []
    assert r.returncode == 0 and 'Success' in out, f'nbdev_test failed in {failed or "?"}:\n{out[-6000:]}'
