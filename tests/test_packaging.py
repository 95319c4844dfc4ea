"""The built wheel and sdist hold the whole package (modules, shipped models, LICENSE, the `vidlab` command, the
extras); the install instructions (Colab cells, README, landing page) match settings.ini."""
import json, os, subprocess, sys, tarfile, zipfile
from configparser import ConfigParser
from pathlib import Path
import vidlab

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'nbs'/'_ext'))
import colab_cell

def test_wheel_installs_and_imports(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'build', '--no-isolation', '--outdir', tmp_path/'dist', ROOT],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert 'no files found matching' not in log and 'is absent from the `packages`' not in log, log[-3000:]
    whl, = (tmp_path/'dist').glob('vidlab-*.whl')
    sdist, = (tmp_path/'dist').glob('vidlab-*.tar.gz')
    z = zipfile.ZipFile(whl); names = z.namelist()
    for mod in (ROOT/'vidlab').glob('*.py'): assert f'vidlab/{mod.name}' in names
    for f in (ROOT/'vidlab').glob('pretrained/**/*'):                 # shipped models and pipelines
        if f.is_file() and '__pycache__' not in f.parts: assert f.relative_to(ROOT).as_posix() in names, f
    assert any(n.endswith('.dist-info/licenses/LICENSE') for n in names)
    meta = z.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
    assert 'License-Expression: Apache-2.0' in meta
    for extra in ('dev', 'onnx', 'tensorboard'): assert f'Provides-Extra: {extra}' in meta
    reqs = [l for l in meta.splitlines() if l.startswith('Requires-Dist: onnxruntime')]
    assert reqs and all('extra == "onnx"' in l for l in reqs), reqs
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'vidlab = vidlab.cli:main' in z.read(ep).decode()
    in_sdist = tarfile.open(sdist).getnames()
    for f in ('LICENSE', 'settings.ini', 'README.md', 'setup.py'): assert any(n.endswith('/' + f) for n in in_sdist), f
    assert any('/vidlab/pretrained/' in n for n in in_sdist)          # the shipped pipeline, also in the sdist
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', tmp_path/'site', whl], check=True)
    env = {**os.environ, 'PYTHONPATH': str(tmp_path/'site')}
    code = 'import vidlab, vidlab.cli; vidlab.cli.load_chapters(); print(vidlab.__file__, vidlab.__version__)'
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert str(tmp_path/'site') in out and vidlab.__version__ in out

def settings():
    cp = ConfigParser(delimiters=['=']); cp.read(ROOT/'settings.ini'); return dict(cp['DEFAULT'])

def test_install_command_follows_settings():
    cfg = settings()
    assert colab_cell.install_command(cfg) == 'pip install "vidlab @ git+https://github.com/vidlab/vidlab@main"' \
        if not colab_cell.released(cfg) else colab_cell.install_command(cfg) == 'pip install vidlab'
    assert cfg['git_url'] in colab_cell.install_command(dict(cfg, released='False'))
    assert colab_cell.install_command(dict(cfg, released='True')) == f"pip install {cfg['lib_name']}"

def install_cell(path):
    nb = json.loads(Path(path).read_text())
    i = colab_cell.find_install_cell(nb)
    return None if i is None else ''.join(nb['cells'][i]['source'])

def test_every_install_cell_matches_settings():
    "Each chapter has the Colab install cell, and every install cell (and README's, the landing page's) is current."
    cfg, want = settings(), colab_cell.cell_source(settings())
    chapters = [f for f in sorted((ROOT/'nbs').glob('[1-5][0-9]_*.ipynb'))]
    assert chapters
    stale = [f.name for f in colab_cell.default_files(ROOT) if colab_cell.rewrite(f, cfg, check=True) == 'stale']
    missing = [f.name for f in chapters if install_cell(f) is None]
    assert not stale and not missing, (f'out of date: {stale}, no install cell: {missing}; '
                                       'run `python nbs/_ext/colab_cell.py` (add --insert for missing ones)')
    assert install_cell(ROOT/'nbs'/'07_demo.ipynb') == want
    for f in ('README.md', 'nbs/index.ipynb'):
        assert colab_cell.install_command(cfg) in (ROOT/f).read_text().replace('\\"', '"'), f

def test_install_cell_rewrite_is_idempotent_and_local(tmp_path):
    "The rewrite changes the install cell's source and nothing else, and a second run changes nothing."
    src = json.loads((ROOT/'nbs'/'07_demo.ipynb').read_text())
    src['cells'][1]['source'] = ["#| eval: false\n", "import sys\n", "if 'google.colab' in sys.modules: !pip install -q vidlab"]
    f = tmp_path/'nb.ipynb'; f.write_text(json.dumps(src, sort_keys=True, indent=1, ensure_ascii=False) + '\n')
    cfg = dict(settings(), released='False')
    assert colab_cell.rewrite(f, cfg, check=True) == 'stale' and colab_cell.rewrite(f, cfg) == 'updated'
    once = f.read_text()
    assert colab_cell.rewrite(f, cfg) == 'ok' and f.read_text() == once
    new = json.loads(once)
    assert [c for i, c in enumerate(new['cells']) if i != 1] == [c for i, c in enumerate(src['cells']) if i != 1]
    assert 'git+https://github.com/vidlab/vidlab@main' in ''.join(new['cells'][1]['source'])
    assert colab_cell.rewrite(f, dict(cfg, released='True')) == 'updated'
    assert '!pip install -q vidlab' in ''.join(json.loads(f.read_text())['cells'][1]['source'])
