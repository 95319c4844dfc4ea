"""The demo page: `vidlab.demo.run_demo` with small made-up chapter demos (no training), then the page opened in
headless Chromium: every video decodes and plays, each panel is labelled and at least 256 px tall."""
import json, shutil, subprocess
from pathlib import Path
import pytest, torch
from vidlab.core import VidlabError
from vidlab.demo import run_demo, MIN_HEIGHT
from vidlab.media import write_video, read_video

def moving_square(T=8, size=16, shift=0):
    v = torch.zeros(T, size, size, 3)
    for t in range(T): v[t, 5:10, (t + shift) % size:(t + shift) % size + 5] = 1
    return v

def contract_demo(out):
    "A demo in the contract's format, with tiny 16x16 panels."
    truth = moving_square()
    return dict(headline=dict(task='predict the next frames', data='held-out frames of a moving square',
                              metric='PSNR (dB)', model=21.5, baseline=18.0, baseline_name='copy last'),
                panels=[('truth', truth), ('model', moving_square(shift=1)), ('copy last', truth[:1].repeat(8, 1, 1, 1))],
                look_for='the square keeps moving', fps=4.0, steps=10)

def old_demo(out):
    "Today's format: flat numbers, and a video it wrote itself (wide and short, like a thumbnail strip)."
    write_video(Path(out)/'truth_model_blend.mp4', torch.rand(6, 16, 70, 3), fps=4)
    return dict(psnr_model=20.0, psnr_blend=19.5, status='done')

def lower_is_better_demo(out):
    return dict(headline=dict(task='fit', data='held-out frames', metric='LPIPS', model=0.30, baseline=0.20,
                              baseline_name='bicubic', higher_is_better=False), panels=[('truth', moving_square(4))])

def failing_demo(out): raise RuntimeError('made-up failure in a chapter')

DEMOS = dict(new=contract_demo, old=old_demo, lower=lower_is_better_demo, broken=failing_demo)

@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')/'run'
    with pytest.raises(VidlabError, match=r'1 of 4 chapter demos failed \(broken\)'): run_demo(out, demos=DEMOS)
    return out

def test_summary_and_table(demo_run):
    s = json.loads((demo_run/'summary.json').read_text())
    assert list(s['chapters']) == list(DEMOS)
    rows = {r['chapter']: r for r in s['headlines']}
    assert rows['new']['model_wins'] and rows['new']['difference'] == pytest.approx(3.5)
    assert not rows['lower']['model_wins']                     # lower is better and the model is higher
    assert 'no headline' in rows['old']['note'] and 'made-up failure' in rows['broken']['note']
    assert s['chapters']['old']['scalars'] == dict(psnr_model=20.0, psnr_blend=19.5, status='done')
    page = (demo_run/'index.html').read_text()
    assert page.count('id="headlines"') == 1 and 'PSNR (dB)' in page and 'copy last' in page
    assert 'What to look for' in page and 'made-up failure' in page

def test_videos_are_enlarged_and_browser_safe(demo_run):
    s = json.loads((demo_run/'summary.json').read_text())
    vids = [v for c in s['chapters'].values() for v in c['videos']]
    assert [v['file'] for v in vids] == ['new/demo.mp4', 'old/demo-truth_model_blend.mp4', 'lower/demo.mp4']
    for v in vids:
        frames = read_video(demo_run/v['file'])
        assert frames.shape[1] >= MIN_HEIGHT and frames.shape[1] % 2 == 0 and frames.shape[2] % 2 == 0
    new = read_video(demo_run/'new/demo.mp4')
    assert new.shape[0] == 8 and new.shape[2] >= 3 * MIN_HEIGHT      # three panels side by side, in step

def test_unknown_chapter_is_one_clear_error(tmp_path):
    with pytest.raises(VidlabError, match='no demo for nca'): run_demo(tmp_path/'x', only=['nca'], demos=DEMOS)

def chromium():
    return next((c for c in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(c)), None)

PROBE = """<script>addEventListener('load', () => setTimeout(() => {
  const v = [...document.querySelectorAll('video')].map(v => ({src: v.getAttribute('src'), ready: v.readyState,
    w: v.videoWidth, h: v.videoHeight, dur: v.duration, t: v.currentTime, err: v.error ? v.error.code : 0}));
  const labels = [...document.querySelectorAll('figcaption')].map(f => f.textContent);
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = 'PROBE ' + JSON.stringify({videos: v, labels: labels}); document.body.appendChild(p);
}, 2500));</script></body>"""

def test_page_in_headless_chromium(demo_run, tmp_path):
    exe = chromium()
    if not exe: pytest.skip('headless Chromium not installed (Debian: apt-get install chromium)')
    probe = demo_run/'probe.html'                       # next to index.html, so the relative video paths hold
    probe.write_text((demo_run/'index.html').read_text().replace('</body>', PROBE))
    flags = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-component-update', '--no-first-run', f'--user-data-dir={tmp_path/"profile"}',
             '--autoplay-policy=no-user-gesture-required', '--allow-file-access-from-files']
    r = subprocess.run(flags + ['--virtual-time-budget=10000', '--dump-dom', probe.as_uri()],
                       capture_output=True, text=True, timeout=180)
    line = next((l for l in r.stdout.splitlines() if 'PROBE {' in l), None)
    assert line, f'the probe did not run:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}'
    res = json.loads(line.split('PROBE ', 1)[1].split('</pre>')[0].replace('&amp;', '&').replace('&quot;', '"'))
    assert len(res['videos']) == 3, res
    for v in res['videos']:
        assert v['err'] == 0 and v['ready'] >= 2 and v['h'] >= MIN_HEIGHT and v['dur'] > 0, v   # decoded
    assert res['labels'][0] == 'truth | model | copy last' and 'truth model blend' in res['labels'][1]
    subprocess.run(flags + ['--window-size=1000,1400', f'--screenshot={demo_run/"page.png"}', probe.as_uri()],
                   capture_output=True, timeout=180)
