"The built wheel holds the whole package and its `vidlab` command."
import os, subprocess, sys, zipfile
from pathlib import Path
import vidlab

ROOT = Path(__file__).resolve().parents[1]

def test_wheel_installs_and_imports(tmp_path):
    subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', tmp_path/'dist', ROOT],
                   check=True, capture_output=True, cwd=tmp_path)
    whl, = (tmp_path/'dist').glob('vidlab-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    for mod in (ROOT/'vidlab').glob('*.py'): assert f'vidlab/{mod.name}' in names
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'vidlab = vidlab.cli:main' in zipfile.ZipFile(whl).read(ep).decode()
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', tmp_path/'site', whl], check=True)
    env = {**os.environ, 'PYTHONPATH': str(tmp_path/'site')}
    code = 'import vidlab, vidlab.cli; vidlab.cli.load_chapters(); print(vidlab.__file__, vidlab.__version__)'
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert str(tmp_path/'site') in out and vidlab.__version__ in out
