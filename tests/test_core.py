"The core's contracts and its clear errors on bad input."
import json, tempfile
from dataclasses import dataclass
from pathlib import Path
import numpy as np, pytest, torch
from vidlab.core import Config, ConfigError, VidlabError, knob, save_checkpoint, load_checkpoint, is_fast
from vidlab.media import read_video, write_video, read_image, VideoError
from vidlab.data import sample_clip, clip_path
from vidlab.metrics import ssim, psnr, linear_blend

def test_fast_in_tests(): assert is_fast()

def test_bikes_shape():
    v = read_video(clip_path('bikes'))
    assert v.shape == (250, 272, 640, 3) and v.dtype == torch.float32 and 0 <= v.min() and v.max() <= 1

def test_frames_and_steps():
    v = sample_clip('carphone', max_size=88, max_frames=10, frame_step=3)
    assert v.shape == (10, 72, 88, 3)

@pytest.mark.parametrize('content,err', [(None, FileNotFoundError), (b'', VideoError), (b'hello, not a video', VideoError)])
def test_bad_video_files(tmp_path, content, err):
    p = tmp_path/'clip.mp4'
    if content is not None: p.write_bytes(content)
    with pytest.raises(err, match='clip.mp4'): read_video(p)

def test_truncated_video(tmp_path):
    good = write_video(tmp_path/'good.mp4', torch.rand(10, 32, 32, 3)).read_bytes()
    (tmp_path/'cut.mp4').write_bytes(good[:len(good) // 3])
    with pytest.raises(VideoError): read_video(tmp_path/'cut.mp4')

def test_empty_frames_folder(tmp_path):
    (tmp_path/'notes.txt').write_text('no frames here')
    with pytest.raises(VideoError, match='no image frames'): read_video(tmp_path)

def test_grey_and_alpha_become_rgb(tmp_path):
    import mediapy as media
    media.write_image(tmp_path/'grey.png', (np.random.rand(20, 30) * 255).astype(np.uint8))
    media.write_image(tmp_path/'rgba.png', (np.random.rand(20, 30, 4) * 255).astype(np.uint8))
    assert read_image(tmp_path/'grey.png').shape == (20, 30, 3)
    assert read_image(tmp_path/'rgba.png').shape == (20, 30, 3)
    assert read_video(tmp_path).shape == (2, 20, 30, 3)

def test_odd_sizes_written_even(tmp_path):
    import subprocess, imageio_ffmpeg
    p = write_video(tmp_path/'odd.mp4', torch.rand(4, 33, 47, 3))
    assert read_video(p).shape == (4, 34, 48, 3)
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-i', str(p)], capture_output=True, text=True).stderr
    assert 'h264' in probe and 'yuv420p' in probe

def test_ssim_matches_scikit_image():
    skm = pytest.importorskip('skimage.metrics')
    g = torch.Generator().manual_seed(0)
    a = torch.rand(48, 64, 3, generator=g)
    for noise in (0.05, 0.2, 0.5):
        b = (a + noise * torch.randn(a.shape, generator=g)).clamp(0, 1)
        ref = skm.structural_similarity(a.numpy(), b.numpy(), channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
        assert abs(ssim(a, b) - ref) < 1e-4

def test_baselines_on_real_clip():
    v = sample_clip('carphone', max_size=88, max_frames=9)
    assert psnr(linear_blend(v[::2], 2), v) > 25

@dataclass
class C(Config):
    width: int = knob(8, 1, 64)
    lr: float = 1e-3
    FAST = dict(width=4)

def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match='unknown key'): C.from_dict(dict(depth=3))
    with pytest.raises(ConfigError, match='width: expected int'): C.from_dict(dict(width=2.5))
    (tmp_path/'c.yaml').write_text('width: [1, 2]\n')
    with pytest.raises(ConfigError, match='width'): C.load(tmp_path/'c.yaml')
    (tmp_path/'c.json').write_text('{not json')
    with pytest.raises(ConfigError, match='not valid JSON'): C.load(tmp_path/'c.json')

def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='No checkpoint'): load_checkpoint(tmp_path/'missing.pt')
    (tmp_path/'junk.pt').write_bytes(b'\x00' * 100)
    with pytest.raises(VidlabError, match='not a readable checkpoint'): load_checkpoint(tmp_path/'junk.pt')
    torch.save({'weights': torch.zeros(3)}, tmp_path/'other.pt')
    with pytest.raises(VidlabError, match='not a vidlab checkpoint'): load_checkpoint(tmp_path/'other.pt')


# ---- issue 10: each guarantee has a test that failed on the old core ----
import math, os, stat, subprocess, sys, textwrap
from torch import nn
from vidlab.core import register, run_dir, release_run, save_json, type_hints, LOCK
from vidlab.train import fit, NonFiniteLoss, step_generator

@pytest.mark.parametrize('folder', [False, True])
def test_checkpoint_cannot_run_code(tmp_path, folder):
    "Item 1: a file of plain strings asking to 'rebuild' subprocess.run is refused before anything is called."
    target = tmp_path/'SOMEFILE'
    evil = tmp_path/('model_final.pt' if folder else 'evil.pt')
    for cfg_cls in ['argparse.Namespace', 'builtins.list', 'vidlab.core.Config']:
        torch.save(dict(model={}, model_class='subprocess.run', config=['touch', str(target)], config_class=cfg_cls,
                        extra={}), evil)
        with pytest.raises(VidlabError, match='refused'): load_checkpoint(tmp_path if folder else evil)
        assert not target.exists()
    torch.save(dict(model={}, model_class='subprocess.run', config=None, config_class=None, extra={}), evil)
    with pytest.raises(VidlabError, match='not a registered vidlab class'): load_checkpoint(evil)
    assert not target.exists()

@register
class _Net(nn.Module):
    def __init__(self, cfg=None): super().__init__(); self.lin = nn.Linear(4, 1)
    def forward(self, x): return self.lin(x)

def test_registered_model_round_trip(tmp_path):
    m = _Net(); p = save_checkpoint(tmp_path/'m.pt', m)
    assert torch.equal(load_checkpoint(p, expect=_Net).model.lin.weight, m.lin.weight)
    with pytest.raises(VidlabError, match='not a Linear'): load_checkpoint(p, expect=nn.Linear)

X4 = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
def _mse(m, b): return (m(X4) ** 2).mean()

def test_non_finite_loss_keeps_last_finite_weights(tmp_path):
    "Item 2: the model and the checkpoint hold finite weights with a finite loss, and fit raises."
    torch.manual_seed(0); m = _Net()
    with pytest.raises(NonFiniteLoss, match='lower learning rate'):
        fit(m, _mse, lambda s: s, 100, opt=torch.optim.SGD(m.parameters(), lr=1e8), ckpt_path=tmp_path/'s.pt', progress=False)
    assert math.isfinite(_mse(m, 0).item())
    m2 = _Net(); m2.load_state_dict(torch.load(tmp_path/'s.pt', weights_only=True)['model'])
    assert math.isfinite(_mse(m2, 0).item())

def test_metrics_never_score_broken_predictions():
    "Item 2: a NaN prediction has PSNR nan (it was 100 dB)."
    x = torch.rand(3, 16, 16, 3)
    assert math.isnan(psnr(torch.full_like(x, float('nan')), x)) and math.isnan(ssim(torch.full_like(x, float('inf')), x))

def _batch(step): return torch.randint(0, 64, (16,), generator=step_generator(3, step))
def _loss(m, b): return ((m(X4[b]) - X4[b, :1]) ** 2).mean()

def _train(path=None, resume=False, stop=None, steps=30):
    torch.manual_seed(0); m = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 1))
    n = [0]
    def loss(m, b):
        if n[0] == stop: raise KeyboardInterrupt
        n[0] += 1; return _loss(m, b)
    h = fit(m, loss, _batch, steps, lr=1e-2, sched='cosine', ckpt_path=path, resume=resume, progress=False,
            eval_fn=lambda m: dict(r=torch.rand(1).item()), eval_every=7)
    return m, h

def test_interrupt_saves_and_resume_is_bitwise(tmp_path):
    "Items 3 and 4: Ctrl-C propagates after saving; resume continues at the right step with the same result."
    ref, _ = _train()
    with pytest.raises(KeyboardInterrupt): _train(tmp_path/'s.pt', stop=11)
    assert torch.load(tmp_path/'s.pt', weights_only=True)['extra']['step'] == 10
    m, h = _train(tmp_path/'s.pt', resume=True)
    assert h.status == 'done' and h.steps('loss')[0] == 0          # the history before the interrupt is kept
    for a, b in zip(ref.parameters(), m.parameters()): assert torch.equal(a, b)

def test_evaluation_does_not_change_training():
    "Item 5: the same seed gives the same weights whatever random numbers eval_fn draws, and however often."
    def run(every):
        torch.manual_seed(0); m = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 1))
        fit(m, _loss, _batch, 20, progress=False, eval_fn=lambda m: dict(r=torch.rand(1).item()), eval_every=every)
        return m
    a, b = run(3), run(5)
    for p, q in zip(a.parameters(), b.parameters()): assert torch.equal(p, q)

def _clipped_step(stale=None, frozen=True):
    "One SGD step of fit with clip=0.1 on the first Linear; the second one does not train."
    torch.manual_seed(0); m = nn.Sequential(nn.Linear(4, 16), nn.Linear(16, 1))
    head = m[1].requires_grad_(not frozen)
    # a gradient left over from an earlier phase (frozen) or from outside the optimizer
    if stale is not None:
        for p in head.parameters(): p.grad = torch.full_like(p, stale)
    opt = torch.optim.SGD(m[0].parameters(), lr=0.5)
    fit(m, _loss, _batch, 1, opt=opt, clip=0.1, progress=False)
    return m[0].weight.detach().clone(), head.weight.detach().clone()

def test_clipping_ignores_parameters_that_do_not_train():
    "The clip norm counts only what the optimizer updates: a stale .grad elsewhere changes nothing."
    ref, head0 = _clipped_step()
    for kw in (dict(stale=1e3), dict(stale=1e3, frozen=False)):
        w, head = _clipped_step(**kw)
        assert torch.allclose(w, ref, atol=1e-7), kw
        assert torch.equal(head, head0), kw                # the head never moves

def test_run_dir_refuses_a_live_run(tmp_path):
    "Item 8: a folder that a live process holds is refused; a dead one's lock is taken over."
    code = f"from vidlab.core import run_dir; import time; run_dir({str(tmp_path/'run')!r}); print('locked', flush=True); time.sleep(60)"
    p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == 'locked'
        with pytest.raises(VidlabError, match='holds a live run'): run_dir(tmp_path/'run')
    finally: p.kill(); p.wait()
    assert run_dir(tmp_path/'run') == tmp_path/'run'               # the dead process's lock is taken over
    release_run(tmp_path/'run'); assert not (tmp_path/'run'/LOCK).exists()

def test_atomic_files_have_the_usual_mode(tmp_path):
    "Item 8: config.json / metrics.json were 0600."
    umask = os.umask(0o022); os.umask(umask)
    p = save_json(tmp_path/'metrics.json', dict(a=1))
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~umask

def test_config_ranges_are_enforced():
    "Item 9: knob lo/hi are checked (negative sizes used to crash later)."
    with pytest.raises(ConfigError, match=r'width: -5 is out of range, must be in \[1, 64\]'): C.from_dict(dict(width=-5))
    with pytest.raises(ConfigError, match='width: 65'): C.fast(width=65)
    assert C.fast(width=64).width == 64

def test_config_defined_in_a_notebook_namespace():
    "Item 10: a config class defined where its module is not (nbdev_test's in-process runs) resolves its hints."
    ns = {'__name__': '__main__'}
    exec(textwrap.dedent('''
        from __future__ import annotations
        from typing import Optional
        from dataclasses import dataclass
        from vidlab.core import Config, knob
        @dataclass
        class NbConfig(Config):
            width: int = knob(8, 1, 64)
            frames: Optional[int] = None
        '''), ns)
    assert type_hints(ns['NbConfig'])['width'] is int and ns['NbConfig'].from_dict(dict(frames=3)).frames == 3

def test_fit_estimates_time_and_memory(capsys):
    "Issue 18 item 3: the first steps give the expected time per step, total time and peak memory."
    fit(_Net(), _mse, lambda s: s, 20, progress=False, estimate=True)
    out = capsys.readouterr().out
    assert 's/step on cpu' in out and 'for the 14 steps left' in out and 'GiB RSS' in out
    fit(_Net(), _mse, lambda s: s, 20, progress=False)                  # quick runs are quiet
    assert capsys.readouterr().out == ''
