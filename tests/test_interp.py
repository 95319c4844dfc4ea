"The interp chapter from the outside: its commands end to end, resume, failure modes and bad inputs."
import importlib.util
import pytest, torch
from vidlab.media import write_video, read_video, write_image
from vidlab.core import VidlabError, save_checkpoint
from vidlab.train import NonFiniteLoss
from vidlab.interp import (InterpConfig, KeyframeInterp, textured_shapes, eval_methods, keyframe_pipeline,
                           upsample_video, export_torchscript, export_onnx, onnx_error, n_params, train, load_data,
                           read_frame, generate_video, jpeg_roundtrip, h264_roundtrip, entropy_bits, _example,
                           PRETRAINED, load_model, interpolate_pair)
import vidlab

TINY = dict(clips=['shapes'], n_shapes=8, crop=32, batch=2, steps=6, ae_steps=4, max_gap=4)

@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    "A tiny 6-frame 64x64 clip of moving textured shapes, as an mp4."
    p = tmp_path_factory.mktemp('clip')/'in.mp4'
    write_video(p, textured_shapes(1, 64, 6, speed=2.0, seed=3)[0], fps=12)
    return p

@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    "Two PNG frames of odd size (37x53) of moving shapes, and a third one."
    d = tmp_path_factory.mktemp('frames')
    c = textured_shapes(1, 64, 9, speed=2.0, seed=4)[0][:, :37, :53]
    return [write_image(d/f'f{i}.png', c[i]) for i in (0, 4, 8)], c

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A run folder made by `vidlab interp train` with a tiny config."
    from conftest import run_cli
    d = tmp_path_factory.mktemp('run')
    (d/'tiny.yaml').write_text('clips: [shapes]\nn_shapes: 8\ncrop: 32\nbatch: 2\n')
    out = d/'interp'
    r = run_cli('interp', 'train', '--config', d/'tiny.yaml', '--steps', '6', '--ae_steps', '4', '--refine2_width', '8',
                '--refine2_steps', '3', '--out', out)
    assert 'model' in r.stdout and 'blend' in r.stdout
    return out

def test_train_writes_run_folder(run):
    for f in ['config.json', 'model.pt', 'metrics.json', 'training_progress.png', 'shapes_truth_model_blend.mp4',
              'state_ae.pt', 'state_interp.pt', 'state_refine2.pt']:
        assert (run/f).exists(), f

def test_pair_cli_full_resolution_any_size(cli, frames, tmp_path):
    (a, b, _), c = frames
    r = cli('interp', 'pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'mid.png')
    assert '37x53' in r.stdout
    mid = read_frame(tmp_path/'mid.png')
    assert mid.shape == (37, 53, 3)
    assert (mid - c[2]).abs().mean() < (0.5 * (c[0] + c[4]) - c[2]).abs().mean()   # nearer the truth than the blend
    cli('interp', 'pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'m.png', '--times', '0.25', '0.75')
    assert read_frame(tmp_path/'m_0.250.png').shape == (37, 53, 3) and (tmp_path/'m_0.750.png').exists()
    cli('interp', 'pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'seq.mp4', '--n', '3')
    assert len(read_video(tmp_path/'seq.mp4')) == 5
    r = cli('interp', 'pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'tta.png', '--tta', '4')
    assert read_frame(tmp_path/'tta.png').shape == (37, 53, 3) and 'pretrained' in r.stdout

def test_shipped_model_is_package_data():
    "The default model lives inside the package (so a plain pip install has it) and loads offline."
    assert PRETRAINED.is_relative_to(vidlab.__path__[0]) and PRETRAINED.exists()
    m = load_model(PRETRAINED)
    assert n_params(m.interp) < 1_000_000
    a, b = torch.rand(21, 30, 3), torch.rand(21, 30, 3)
    assert interpolate_pair(m.interp, a, b, [0.5], tta=2).shape == (1, 21, 30, 3)

def test_pair_bad_inputs(cli, frames, tmp_path):
    (a, b, _), _ = frames
    r = cli('interp', 'pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'x.png', '--t', '1.5', check=False)
    assert r.returncode == 2 and 'strictly between 0 and 1' in r.stderr
    other = write_image(tmp_path/'small.png', torch.rand(20, 20, 3))
    r = cli('interp', 'pair', '--frame0', a, '--frame1', other, '--output', tmp_path/'x.png', check=False)
    assert r.returncode == 2 and 'differ in size' in r.stderr
    r = cli('interp', 'pair', '--frame0', tmp_path/'none.png', '--frame1', b, '--output', tmp_path/'x.png', check=False)
    assert r.returncode == 2 and 'No image' in r.stderr

def test_generate_cli(cli, frames, tmp_path):
    (a, b, c3), _ = frames
    r = cli('interp', 'generate', '--images', a, b, c3, '--seconds', '1', '--fps', '8', '--output', tmp_path/'g.mp4')
    v = read_video(tmp_path/'g.mp4')
    assert len(v) == 9 and '9 frames' in r.stdout                # 2 gaps x 2^2 halvings + 1 >= 8 frames
    r = cli('interp', 'generate', '--images', a, '--output', tmp_path/'g1.mp4', check=False)
    assert r.returncode == 2 and 'at least 2 images' in r.stderr

def test_generate_keeps_the_photos():
    imgs = textured_shapes(1, 32, 9, seed=6)[0][::4]
    model = KeyframeInterp(InterpConfig.fast()).eval()
    v = generate_video(model.interp, imgs, 9, progress=False)
    assert v.shape == (9, 32, 32, 3) and torch.equal(v[::4], imgs)

def test_upsample_cli(cli, clip_file, tmp_path):
    out = tmp_path/'out.mp4'
    r = cli('interp', 'upsample', '--video', clip_file, '--factor', '2', '--output', out, '--steps', '20')
    assert '6 -> 11 frames' in r.stdout
    src, v = read_video(clip_file), read_video(out)
    assert len(v) == 11 and v.shape[1:] == src.shape[1:]
    for i in range(1, 11, 2):   # every new frame differs from both of its neighbours
        assert (v[i] - v[i - 1]).abs().mean() > 2e-3 and (v[i] - v[i + 1]).abs().mean() > 2e-3, i

def test_upsample_factor_3_with_checkpoint(cli, clip_file, run, tmp_path):
    out = tmp_path/'out3.mp4'
    cli('interp', 'upsample', '--video', clip_file, '--factor', '3', '--output', out, '--checkpoint', run/'model.pt')
    assert len(read_video(out)) == 16

def test_eval_cli_says_its_size(cli, run, tmp_path):
    r = cli('interp', 'eval', '--checkpoint', run/'model.pt', '--clip', 'shapes', '--interval', '2', '--out', tmp_path/'ev')
    for m in ['model', 'blend', 'repeat', 'pipeline']: assert m in r.stdout
    assert 'at 64x512' in r.stdout and '--max_size' in r.stdout
    assert (tmp_path/'ev'/'metrics.json').exists()
    r = cli('interp', 'eval', '--checkpoint', run, '--clip', 'carphone', '--max_size', '96')
    assert 'x96 ' in r.stdout

def test_huge_lr_fails_and_keeps_finite_weights(cli, tmp_path):
    out = tmp_path/'nan'
    r = cli('interp', 'train', '--clips', 'shapes', '--n_shapes', '8', '--crop', '32', '--batch', '2', '--steps', '6',
            '--ae_steps', '6', '--lr', '1e6', '--out', out, check=False)
    assert r.returncode == 1 and 'training stopped' in r.stderr, r.stderr
    assert not (out/'model.pt').exists()                          # nothing broken is saved as final
    from vidlab.core import read_checkpoint
    ck = read_checkpoint(out/'state_ae.pt')
    assert all(torch.isfinite(v).all() for v in ck['model'].values() if v.is_floating_point())

class _StopAt:
    "An extra loss (weight 0) that presses Ctrl-C at its n-th call."
    def __init__(self, n): self.n, self.calls = n, 0
    def __call__(self, pred, target):
        self.calls += 1
        if self.calls == self.n: raise KeyboardInterrupt
        return (pred * 0).sum()

def test_interrupt_then_resume_equals_one_run(tmp_path):
    cfg = InterpConfig.fast(**TINY)
    data = load_data(cfg)
    ref, _, _ = train(cfg, out=tmp_path/'a', data=data, progress=False)
    with pytest.raises(KeyboardInterrupt):                        # in the interpolator phase
        train(cfg, out=tmp_path/'b', data=data, progress=False, extra_losses={'stop': (0.0, _StopAt(cfg.ae_steps + 3))})
    assert not (tmp_path/'b'/'model.pt').exists()
    again, hist, _ = train(cfg, out=tmp_path/'b', data=data, progress=False, resume=True)
    assert hist['interp'].status == 'done'
    for (k, v), w in zip(ref.state_dict().items(), again.state_dict().values()): assert torch.equal(v, w), k

def test_second_refiner_phase(tmp_path):
    "With refine2_width > 0 a third phase trains the U-Net alone: the flow stage ends as it was."
    cfg = InterpConfig.fast(**TINY, refine2_width=8, refine2_steps=3)
    data = load_data(cfg)
    m, hist, _ = train(cfg, out=tmp_path/'r2', data=data, progress=False)
    plain, _, _ = train(cfg.replace(refine2_steps=0), data=data, progress=False)
    assert hist['refine2'].status == 'done' and (tmp_path/'r2'/'state_refine2.pt').exists()
    assert any(v.abs().sum() > 0 for k, v in m.interp.refine2.state_dict().items() if k.startswith('d0.1'))
    for k, v in plain.interp.state_dict().items():
        if not k.startswith('refine2'): assert torch.equal(v, m.interp.state_dict()[k]), k

def test_finetune_from_init(tmp_path):
    "init starts from a saved model: ae_steps=0 keeps its autoencoder, the interpolator moves on from its weights."
    cfg = InterpConfig.fast(**TINY)
    data = load_data(cfg)
    base, _, _ = train(cfg, out=tmp_path/'base', data=data, progress=False)
    ft_cfg = cfg.replace(init=str(tmp_path/'base'), ae_steps=0, steps=2, lap_weight=1.0, decoded_keys=True)
    ft, hist, _ = train(ft_cfg, data=data, progress=False)
    assert 'ae' not in hist and hist['interp'].status == 'done'
    assert all(torch.equal(a, b) for a, b in zip(base.ae.state_dict().values(), ft.ae.state_dict().values()))
    moved = [not torch.equal(a, b) for a, b in zip(base.interp.state_dict().values(), ft.interp.state_dict().values())]
    assert any(moved)
    fresh, _, _ = train(ft_cfg.replace(init=''), data=data, progress=False)   # without init: another model
    assert not torch.equal(fresh.ae.enc[0][0].weight, ft.ae.enc[0][0].weight)
    with pytest.raises(Exception):                                        # another architecture is refused
        train(ft_cfg.replace(width=16), data=data, progress=False)

def test_interrupt_in_autoencoder_phase_stops_everything(tmp_path):
    cfg = InterpConfig.fast(**TINY)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out=tmp_path/'c', data=load_data(cfg), progress=False, extra_losses={'stop': (0.0, _StopAt(2))})
    assert (tmp_path/'c'/'state_ae.pt').exists() and not (tmp_path/'c'/'state_interp.pt').exists()

def test_same_seed_same_numbers():
    cfg = InterpConfig.fast(**TINY)
    data = load_data(cfg)
    (m1, _, r1), (m2, _, r2) = [train(cfg, data=data, progress=False) for _ in range(2)]
    assert r1['rows'] == r2['rows']
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))

def test_checkpoint_naming_another_class_is_refused(cli, frames, tmp_path):
    (a, b, _), _ = frames
    evil = tmp_path/'evil.pt'
    torch.save(dict(model={}, model_class='subprocess.run', config=['touch', str(tmp_path/'pwned')],
                    config_class='builtins.list', extra={}), evil)
    for args in (['eval', '--clip', 'shapes'], ['pair', '--frame0', a, '--frame1', b, '--output', tmp_path/'x.png']):
        r = cli('interp', *args, '--checkpoint', evil, check=False)
        assert r.returncode == 2 and 'refused' in r.stderr, r.stderr
    assert not (tmp_path/'pwned').exists()

def test_corrupt_and_missing_files(cli, tmp_path):
    bad = tmp_path/'bad.mp4'; bad.write_bytes(b'this is not a video' * 100)
    r = cli('interp', 'upsample', '--video', bad, '--output', tmp_path/'o.mp4', check=False)
    assert r.returncode == 2 and 'could not be opened as a video' in r.stderr
    r = cli('interp', 'upsample', '--video', tmp_path/'missing.mp4', '--output', tmp_path/'o.mp4', check=False)
    assert r.returncode == 2 and 'No video file' in r.stderr
    r = cli('interp', 'eval', '--checkpoint', tmp_path/'nope.pt', check=False)
    assert r.returncode == 2 and 'No checkpoint' in r.stderr

def test_video_too_short_for_interval(cli, run, tmp_path):
    p = write_video(tmp_path/'short.mp4', textured_shapes(1, 32, 3, seed=0)[0])
    r = cli('interp', 'eval', '--checkpoint', run/'model.pt', '--video', p, '--interval', '4', check=False)
    assert r.returncode == 2 and 'interval 4 needs at least 5' in r.stderr

def test_bad_options(cli, clip_file, tmp_path):
    r = cli('interp', 'train', '--levels', '9', check=False)
    assert r.returncode == 2 and 'levels' in r.stderr
    r = cli('interp', 'upsample', '--video', clip_file, '--output', tmp_path/'o.mp4', '--factor', '1', check=False)
    assert r.returncode == 2 and 'factor must be at least 2' in r.stderr

BIG = dict(refine2_width=32, full_res_update=True)    # every optional part of the interpolator switched on

def test_python_api_errors_and_torchscript(tmp_path):
    model = KeyframeInterp(InterpConfig.full(**BIG)).eval()
    assert n_params(model.interp) < 1_000_000
    with pytest.raises(VidlabError, match='needs at least 5'): keyframe_pipeline(model, torch.rand(4, 32, 32, 3), 4)
    with pytest.raises(VidlabError, match='needs at least 3'): eval_methods(model.interp, torch.rand(2, 32, 32, 3), 2)
    with pytest.raises(ValueError, match=r'\(T,H,W,3\)'): keyframe_pipeline(model, torch.rand(9, 32, 32), 4)
    with pytest.raises(VidlabError, match='at least 2'): upsample_video(model.interp, torch.rand(1, 32, 32, 3), 2)
    p = keyframe_pipeline(model, torch.rand(9, 36, 52, 3), 4)
    assert p['video'].shape == (9, 36, 52, 3) and p['bits'] <= p['raw_code_bits'] < p['raw_bits']
    torch.nn.init.normal_(model.interp.refine2.d0[-1].weight, std=0.01)   # the second refiner at work
    ts = torch.jit.load(str(export_torchscript(model.interp, tmp_path/'m.ts', size=(32, 32))))
    x0, x1, t = _example((40, 57))
    assert torch.allclose(ts(x0, x1, t), model.interp(x0, x1, t), atol=1e-5)

@pytest.mark.skipif(not (importlib.util.find_spec('onnx') and importlib.util.find_spec('onnxruntime')),
                    reason='optional extra vidlab[onnx] (onnx, onnxruntime) not installed')
def test_onnx_export_any_size(tmp_path):
    torch.manual_seed(0)
    model = KeyframeInterp(InterpConfig.fast()).eval()
    assert onnx_error(export_onnx(model.interp, tmp_path/'m.onnx', size=(32, 32)), model.interp) < 1e-3
    full = KeyframeInterp(InterpConfig.full(**BIG)).eval()              # with the second refiner, made non-zero
    torch.nn.init.normal_(full.interp.refine2.d0[-1].weight, std=0.01)
    assert onnx_error(export_onnx(full.interp, tmp_path/'f.onnx', size=(32, 32)), full.interp) < 1e-3

@pytest.mark.slow
@pytest.mark.skipif(not (importlib.util.find_spec('onnx') and importlib.util.find_spec('onnxruntime')
                         and importlib.util.find_spec('onnxscript')),
                    reason='optional extra vidlab[onnx] (onnx, onnxruntime, onnxscript) not installed')
def test_onnx_dynamo_export_any_size(tmp_path):
    "torch.export's exporter (minutes on a CPU): the padding is in the graph, so odd sizes work too."
    torch.manual_seed(0)
    full = KeyframeInterp(InterpConfig.full(**BIG)).eval()
    torch.nn.init.normal_(full.interp.refine2.d0[-1].weight, std=0.01)
    p = export_onnx(full.interp, tmp_path/'d.onnx', size=(32, 32), dynamo=True)
    assert onnx_error(p, full.interp, sizes=((48, 64), (37, 53), (21, 30))) < 1e-3

def test_codec_bits_are_counted():
    v = textured_shapes(1, 64, 9, seed=8)[0]
    lo, hi = jpeg_roundtrip(v, 10), jpeg_roundtrip(v, 90)
    assert 0 < lo[1] < hi[1] and lo[0].shape == v.shape
    h = h264_roundtrip(v, 30)
    assert h[0].shape == v.shape and h[1] > 0
    z = torch.tensor([[[[0., 0.], [0., 0.]]]])
    assert entropy_bits(z) == 0.0                                 # a constant code costs nothing
    assert entropy_bits(torch.tensor([[[[0., 1.], [0., 1.]]]])) == pytest.approx(4.0)

def test_real_frac_sets_the_share_of_real_triplets():
    "`real_frac` gives the real clips that share of the draws; 0 keeps the uniform draw over clips (1 real in 41)."
    from vidlab.interp import clip_weights, triplet_batch
    real = torch.ones(8, 64, 64, 3, dtype=torch.uint8) * 200                  # one bright 'real' clip
    synth = [torch.zeros(8, 64, 64, 3, dtype=torch.uint8)] * 40               # 40 dark 'synthetic' clips
    clips, flags = [real] + synth, [True] + [False] * 40
    share = lambda w: float((triplet_batch(clips, 2000, 16, 4, torch.Generator().manual_seed(0), w)[0]
                             .mean((1, 2, 3)) > 0.5).float().mean())
    assert abs(share(clip_weights(flags, 0.5)) - 0.5) < 0.05
    assert share(clip_weights(flags, 0.0)) < 0.06 and clip_weights(flags, 0.0) is None
    assert clip_weights([True, True], 0.5) is None                           # one kind only: uniform
    data = load_data(InterpConfig(**TINY))
    assert data['real'] == [False] * len(data['train'])
