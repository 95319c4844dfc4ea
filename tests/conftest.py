import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('IN_TEST', '1')          # fast configs, one torch thread per process (see vidlab.core)
os.environ.setdefault('HF_HUB_OFFLINE', '1')   # nothing is fetched at run time
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')

def run_cli(*args, check=True, timeout=600, cwd=None):
    "Run `python -m vidlab.cli ARGS` and return the CompletedProcess (stdout+stderr as text)."
    import subprocess
    r = subprocess.run([sys.executable, '-m', 'vidlab.cli', *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=cwd, env={**os.environ})
    if check and r.returncode != 0: raise AssertionError(f'vidlab {" ".join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}')
    return r

@pytest.fixture
def cli(): return run_cli
