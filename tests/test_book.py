"""Build the Jupyter Book (it executes every notebook once, fast config) and check the pages a reader sees:
no nbdev `#|` lines, hidden cells gone, slow/gpu cells not run, tables rendered as tables, one search bar, videos
embedded and playing, every page in the toc built."""
import re, subprocess, sys, shutil
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]

def toc_files():
    toc = yaml.safe_load((ROOT/'_toc.yml').read_text())
    return [toc['root']] + [c['file'] for part in toc.get('parts', []) for c in part['chapters']]

def build_book(out):
    "Build the book into `out` (it executes each notebook once) and return the HTML folder."
    jb = Path(sys.executable).parent/'jupyter-book'
    r = subprocess.run([str(jb) if jb.exists() else 'jupyter-book', 'build', str(ROOT), '--path-output', str(out), '-W', '-n', '--keep-going'],
                       capture_output=True, text=True, timeout=3600)
    log = r.stdout + r.stderr
    assert r.returncode == 0, f'jupyter-book build failed:\n{log[-6000:]}'
    return out/'_build'/'html'

def check_every_toc_page_is_built(html):
    for f in toc_files(): assert (html/f'{f}.html').exists(), f

DIRECTIVE_LINE = re.compile(r'^\s*#\s*\|\s*[\w-]+', re.M)     # `#| export` at a line start (not `x  # |v|`)

def check_no_nbdev_directives_leak(html):
    for f in toc_files():
        text = (html/f'{f}.html').read_text()
        line = DIRECTIVE_LINE.search(re.sub(r'<[^>]+>', '', text))
        assert not line, f'{f}: a #| line shows on the page: {line.group(0) if line else ""}'
        assert 'Traceback' not in text, f'{f}: a cell failed'

def check_hidden_cells_are_removed(html):
    text = (html/'nbs/00_core.html').read_text()
    assert 'from fastcore.test import' not in text          # a hide cell of every notebook
    assert 'default_exp' not in text

MD_TABLE_RULE = re.compile(r'^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$', re.M)   # |---|---| printed as text
OUTPUT_PRE = re.compile(r'<div class="output [^"]*"><div class="highlight"><pre>(.*?)</pre>', re.S)

def check_tables_are_rendered(html):
    "A Markdown table a cell outputs (vidlab.metrics.table) is an HTML table, not printed text."
    tables = 0
    for f in toc_files():
        text = (html/f'{f}.html').read_text()
        for out in OUTPUT_PRE.findall(text):
            assert not MD_TABLE_RULE.search(re.sub(r'<[^>]+>', '', out)), \
                f'{f}: a Markdown table is printed as text (make it the cell\'s last expression, or display it)'
        tables += text.count('<table')
    assert tables, 'no page has an HTML table'

def check_one_search_bar(html):
    "sphinx-book-theme 1.3 + pydata-sphinx-theme 0.17 add a second, full-width search field on every page."
    for f in toc_files():
        n = (html/f'{f}.html').read_text().count('search-button-field')
        assert n == 1, f'{f}: {n} search fields (pin the theme versions of settings.ini)'

def check_videos_are_embedded(html):
    for page in ['nbs/01_media', 'nbs/02_data'] + [f for f in toc_files() if re.match(r'nbs/[1-5]\d_', f)]:
        text = (html/f'{page}.html').read_text()
        assert '<video' in text and 'data:video/mp4;base64' in text, f'{page} has no playable video'

def check_colab_launch_buttons(html):
    text = (html/'nbs/01_media.html').read_text()
    assert 'colab.research.google.com/github/vidlab/vidlab/blob/main/nbs/01_media.ipynb' in text

def chromium():
    return next((c for c in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(c)), None)

CHECK_JS = """<script>setTimeout(function(){var r=[...document.querySelectorAll('video')].map(
v=>v.readyState+':'+v.videoWidth+':'+(v.error?v.error.code:0));var d=document.createElement('pre');
d.textContent='VIDCHECK '+JSON.stringify(r);document.body.appendChild(d);},3000);</script></body>"""

def check_videos_play_in_chromium(html, tmp_path):
    "Every embedded video decodes in a real browser (h264/yuv420p, even sizes)."
    import json
    for page in ['nbs/02_data'] + [f for f in toc_files() if re.match(r'nbs/[1-5]\d_', f)]:
        probe = html/(page + '_probe.html')
        probe.write_text((html/f'{page}.html').read_text().replace('</body>', CHECK_JS))
        r = subprocess.run([chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                            '--disable-component-update', '--no-first-run', f'--user-data-dir={tmp_path/page.replace("/", "_")}',
                            '--virtual-time-budget=15000', '--dump-dom', probe.as_uri()], capture_output=True, text=True, timeout=120)
        line = [l for l in r.stdout.splitlines() if '>VIDCHECK [' in l or l.startswith('VIDCHECK [')]
        assert line, f'{page}: the probe did not run'
        states = json.loads(line[-1].split('VIDCHECK ', 1)[1].split('</pre>')[0])
        assert states and all(s.split(':')[0] in ('3', '4') and s.split(':')[1] != '0' and s.endswith(':0') for s in states), f'{page}: {states}'


def test_book(tmp_path):
    "One build (so each notebook runs once for the book), then every check on its pages."
    html = build_book(tmp_path/'book')
    for check in (check_every_toc_page_is_built, check_no_nbdev_directives_leak, check_hidden_cells_are_removed,
                  check_tables_are_rendered, check_one_search_bar, check_videos_are_embedded,
                  check_colab_launch_buttons): check(html)
    if chromium(): check_videos_play_in_chromium(html, tmp_path)
    else: print('headless Chromium not installed (Debian: chromium): the browser check was skipped')
