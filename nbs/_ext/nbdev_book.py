"""Read nbdev notebooks into Jupyter Book (myst-nb): nbdev's `#|` directives become cell tags and disappear.

Registered in `_config.yml` as the `.ipynb` reader (`nb_custom_formats`) and loaded via `sphinx.local_extensions`.

| nbdev directive                         | in the book                                   |
|-----------------------------------------|-----------------------------------------------|
| `#| hide`, `#| default_exp ...`         | `remove-cell` (runs, never shown)             |
| `#| gpu`, `#| slow`, `#| eval: false`   | `skip-execution` (shown, not run)             |
| `#| echo: false` / `#| output: false`   | `remove-input` / `remove-output`              |
| anything else (`#| export`, ...)        | the line is dropped                           |
"""
import os, re
import nbformat

DIRECTIVE = re.compile(r'^\s*#\s*\|\s*(.*?)\s*$')
SKIP = {'gpu', 'slow', 'eval: false', 'eval:false'}

def _tags(directive: str):
    d = directive.lower()
    if d == 'hide' or d.startswith('default_exp'): return ['remove-cell']
    if d in SKIP or d.split()[0] in ('gpu', 'slow'): return ['skip-execution']
    if d.replace(' ', '') == 'echo:false': return ['remove-input']
    if d.replace(' ', '') == 'output:false': return ['remove-output']
    return []

def nbdev_to_tags(nb):
    "Turn the `#|` lines of each code cell into cell tags and strip them from the source."
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        lines, keep, tags = cell.source.splitlines(), [], []
        for i, line in enumerate(lines):
            m = DIRECTIVE.match(line)
            if m and all(DIRECTIVE.match(l) or not l.strip() for l in lines[:i]): tags += _tags(m.group(1))
            else: keep.append(line)
        cell.source = '\n'.join(keep).strip('\n')
        if not cell.source.strip() and 'remove-cell' not in tags: tags.append('remove-cell')
        if tags: cell.metadata['tags'] = sorted(set(cell.metadata.get('tags', [])) | set(tags))
    return nb

def read_nbdev(text: str):
    return nbdev_to_tags(nbformat.reads(text, as_version=4))

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')

def _add_static(app):
    if app.builder.format == 'html': app.builder.config.html_static_path.append(STATIC)

def setup(app):
    # the book shows the quick (fast) runs unless asked for the full ones
    if not os.environ.get('VIDLAB_FULL'): os.environ.setdefault('VIDLAB_FAST', '1')
    os.environ.setdefault('OMP_NUM_THREADS', '1')   # one kernel at a time, small ops: more threads only contend
    app.connect('builder-inited', _add_static)
    app.add_css_file('nbdev_book.css')             # code cells of 100 columns fit the page (static/)
    return dict(parallel_read_safe=True)
