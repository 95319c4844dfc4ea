"""The install instructions, written from settings.ini: every notebook's Colab cell, README's and the landing page's.

Until the first PyPI release (`released = False` in settings.ini) vidlab installs from the repository (`git_url`,
`branch`); after it (`released = True`) from PyPI. Flip that one key, then run

    python nbs/_ext/colab_cell.py            # the notebooks in nbs/, nbs/index.ipynb and README.md (or name some)
    python nbs/_ext/colab_cell.py --check    # change nothing; exit 1 if one of them is out of date

In a notebook it touches only the install cell (the first code cell that mentions `google.colab` and `pip install`,
among the first three code cells) and only its source; in README.md and Markdown cells only the text between the
two `<!-- install ... -->` marks. Running it twice changes nothing. `--insert` adds the Colab cell after the first
Markdown cell of a notebook that has none.
"""
import argparse, json, re, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARK = '# Colab only: install vidlab (this cell does nothing anywhere else)'

def settings(root=ROOT) -> dict:
    cp = ConfigParser(delimiters=['=']); cp.read(Path(root)/'settings.ini', encoding='utf-8')
    return dict(cp['DEFAULT'])

def released(cfg: dict) -> bool: return cfg.get('released', 'false').strip().lower() in ('1', 'true', 'yes')

def install_spec(cfg: dict | None = None) -> str:
    "What `pip install` gets: the PyPI name once released, else the repository's branch."
    cfg = cfg or settings()
    return cfg['lib_name'] if released(cfg) else f"{cfg['lib_name']} @ git+{cfg['git_url']}@{cfg['branch']}"

def install_command(cfg: dict | None = None) -> str:
    "The shell command a reader runs (quoted for a shell)."
    spec = install_spec(cfg)
    return f'pip install {spec}' if ' ' not in spec else f'pip install "{spec}"'

def cell_source(cfg: dict | None = None) -> str:
    "The canonical install cell (does nothing outside Colab; not run by nbdev_test or the book)."
    return '\n'.join(['#| eval: false', MARK, 'import sys', "if 'google.colab' in sys.modules:",
                      f'    !{install_command(cfg).replace("pip install", "pip install -q", 1)}'])

TORCH = 'torch==2.13.0'        # the PyTorch the book was tested with
CPU_INDEX = 'https://download.pytorch.org/whl/cpu'
BEGIN, END = '<!-- install: written by nbs/_ext/colab_cell.py from settings.ini -->', '<!-- /install -->'
BLOCK = re.compile(re.escape(BEGIN) + '.*?' + re.escape(END), re.S)

def install_block(cfg: dict | None = None) -> str:
    "The Markdown that README.md and the landing page show between the install marks."
    cfg = cfg or settings()
    where = ('vidlab is on PyPI.' if released(cfg) else
             f"vidlab is not on PyPI yet: until its first release, pip installs it from [the repository]({cfg['git_url']})"
             f" (afterwards this line becomes `pip install {cfg['lib_name']}`).")
    return '\n'.join([BEGIN, where, '', '```bash',
        "# no NVIDIA GPU: PyTorch's CPU build (PyPI's Linux wheel is the multi-GB CUDA one)",
        f'command -v nvidia-smi || CPU="--index-url={CPU_INDEX}"',
        f'pip install {TORCH} $CPU', install_command(cfg),
        "vidlab demo    # every chapter's quick run; then open runs/demo-*/index.html", '```', END])

def rewrite_block(text: str, cfg: dict | None = None) -> str:
    "`text` with its install block (if any) brought up to date."
    return BLOCK.sub(lambda m: install_block(cfg), text)

def _src(cell) -> str: return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']

def find_install_cell(nb: dict):
    "Index of the notebook's install cell, or None."
    codes = [i for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code'][:3]
    for i in codes:
        s = _src(nb['cells'][i])
        if MARK in s or ('google.colab' in s and 'pip install' in s): return i
    return None

def _as_lines(src: str) -> list[str]:
    lines = src.split('\n')
    return [l + '\n' for l in lines[:-1]] + [lines[-1]]

def _rewrite_md(path, cfg, check) -> str:
    text = path.read_text(encoding='utf-8')
    if not BLOCK.search(text): return 'none'
    new = rewrite_block(text, cfg)
    if new == text: return 'ok'
    if not check: path.write_text(new, encoding='utf-8')
    return 'stale' if check else 'updated'

def rewrite(path, cfg: dict | None = None, check=False, insert=False) -> str:
    "Bring one file's install text up to date: 'ok', 'updated', 'stale' (with `check`), 'inserted' or 'none'."
    path, cfg = Path(path), cfg or settings()
    if path.suffix != '.ipynb': return _rewrite_md(path, cfg, check)
    want, nb = cell_source(cfg), json.loads(path.read_text(encoding='utf-8'))
    i, status = find_install_cell(nb), 'ok'
    for c in nb['cells']:                          # install blocks in Markdown cells (the landing page)
        if c['cell_type'] == 'markdown' and BLOCK.search(src := _src(c)) and rewrite_block(src, cfg) != src:
            c['source'], status = _as_lines(rewrite_block(src, cfg)), 'updated'
    if i is not None and _src(nb['cells'][i]) != want:
        nb['cells'][i]['source'], status = _as_lines(want), 'updated'
    elif i is None and insert:
        first_md = next((j for j, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown'), -1)
        nb['cells'].insert(first_md + 1, dict(cell_type='code', execution_count=None, metadata={}, outputs=[],
                                              source=_as_lines(want)))
        status = 'inserted'
    if status == 'ok': return 'ok' if i is not None or BLOCK.search(path.read_text(encoding='utf-8')) else 'none'
    if check: return 'stale'
    # nbdev_clean's JSON layout (sorted keys, indent 1, no ASCII escaping, a final newline): no spurious diff
    path.write_text(json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return status

def default_files(root=ROOT) -> list[Path]:
    return sorted((Path(root)/'nbs').glob('[0-9]*.ipynb')) + [Path(root)/'nbs'/'index.ipynb', Path(root)/'README.md']

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('files', nargs='*', help='default: the numbered notebooks in nbs/, nbs/index.ipynb, README.md')
    p.add_argument('--check', action='store_true', help='change nothing; exit 1 if a cell is out of date')
    p.add_argument('--insert', action='store_true', help='add the cell where a notebook has none')
    a = p.parse_args(argv)
    paths = a.files or default_files()
    cfg, bad = settings(), 0
    for f in paths:
        s = rewrite(f, cfg, check=a.check, insert=a.insert)
        bad += s == 'stale'
        print(f'{s:8} {f}')
    print(f'install: {install_command(cfg)}')
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
