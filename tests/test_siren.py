"`vidlab siren train` and every render mode end to end on a tiny clip; bad checkpoints and impossible sizes fail clearly."
import pytest
import torch
from conftest import run_cli
from vidlab.cli import main
from vidlab.media import read_video


def run_main(capsys, *args):
    "The CLI in this process (fast), for the error cases: returns (exit code, stderr)."
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err

TINY = ['--video', 'bikes', '--max_size', '32', '--max_frames', '4', '--epochs', '4', '--save_every', '2',
        '--hidden_features', '32', '--hidden_layers', '2', '--batch_size', '512', '--omega_0', '30', '--lr', '1e-3']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('siren')/'run'
    r = run_cli('siren', 'train', *TINY, '--output_dir', out)
    assert 'PSNR' in r.stdout
    assert 'fitting 4 frames of 32x14' in r.stdout.splitlines()[0]         # what is fitted, said before training
    assert 'max_frames=4 reached' in r.stdout
    return out


def test_train_writes_the_seed_folder(run):
    names = {p.name for p in run.iterdir()}
    for f in ['config.json', 'model_final.pt', 'checkpoint_epoch_0002.pt', 'checkpoint_epoch_0004.pt', 'recon_epoch_0002.png',
              'training_progress.png', 'comparison_frame_0000.png', 'comparison.mp4', 'metrics.json']:
        assert f in names, f
    assert read_video(run/'comparison.mp4').shape[0] == 4


@pytest.mark.parametrize('mode,args,shape', [
    ('reconstruct', [], (4, 14, 32)),
    ('interpolate', ['--temporal_scale', '3'], (10, 14, 32)),
    ('superres', ['--spatial_scale', '2'], (4, 28, 64)),
    ('custom', ['--width', '48', '--height', '20', '--num_frames', '6'], (6, 20, 48))])
def test_render_modes(run, tmp_path, mode, args, shape):
    out = tmp_path/'gen'
    r = run_cli('siren', 'render', '--checkpoint', run/'model_final.pt', '--mode', mode, *args, '--output_dir', out)
    assert f'{shape[0]} frames of {shape[2]}x{shape[1]}' in r.stdout
    (mp4,) = out.glob('*.mp4')
    assert read_video(mp4).shape == (*shape, 3)
    assert len(list(out.glob('frame_*.png'))) == shape[0]


def test_render_defaults_to_generated_next_to_checkpoint(run):
    run_cli('siren', 'render', '--checkpoint', run/'checkpoint_epoch_0002.pt', '--no_frames')
    assert (run/'generated'/'reconstruct.mp4').exists()


def test_full_hd_custom_render_is_tiled(run, tmp_path):
    "1920x1080 frames are computed 4,096 pixels at a time and streamed to the mp4."
    r = run_cli('siren', 'render', '--checkpoint', run, '--mode', 'custom', '--width', '1920', '--height', '1080',
                '--num_frames', '2', '--no_frames', '--output_dir', tmp_path)
    (mp4,) = tmp_path.glob('*.mp4')
    assert read_video(mp4).shape == (2, 1080, 1920, 3)


@pytest.mark.parametrize('ckpt,msg', [('missing.pt', 'No checkpoint'), ('junk.pt', 'not a readable checkpoint'),
                                      ('emptydir', 'without model_final.pt')])
def test_bad_checkpoint_is_a_clear_error(tmp_path, capsys, ckpt, msg):
    (tmp_path/'junk.pt').write_bytes(b'not a checkpoint'); (tmp_path/'emptydir').mkdir()
    rc, err = run_main(capsys, 'siren', 'render', '--checkpoint', tmp_path/ckpt)
    assert rc == 2 and msg in err


@pytest.mark.parametrize('args,msg', [(['--mode', 'custom', '--width', '0', '--height', '10', '--num_frames', '3'], 'cannot render'),
                                      (['--mode', 'custom', '--width', '100000', '--height', '100000', '--num_frames', '3'], 'limit'),
                                      (['--mode', 'custom', '--width', '64'], 'custom mode needs'),
                                      (['--mode', 'superres', '--spatial_scale', '0'], 'spatial_scale must be > 0')])
def test_impossible_render_size_is_a_clear_error(run, capsys, args, msg):
    rc, err = run_main(capsys, 'siren', 'render', '--checkpoint', run/'model_final.pt', *args)
    assert rc == 2 and msg in err


@pytest.mark.parametrize('args,msg', [(['--video', 'no_such_video.mp4'], 'No video file'),
                                      (['--video', 'bikes', '--omega_0', '-1'], 'omega_0: -1.0 is out of range'),
                                      (['--video', 'bikes', '--lr', '1e6'], 'lr: 1000000.0 is out of range'),
                                      (['--video', 'bikes', '--resume'], '--resume needs --output_dir'),
                                      (['--video', 'bikes', '--hidden_layers', 'three'], 'hidden_layers')])
def test_bad_training_input_is_a_clear_error(tmp_path, capsys, args, msg):
    rc, err = run_main(capsys, 'siren', 'train', *args, '--output_dir', tmp_path/'run')
    assert rc == 2 and msg in err


def test_a_corrupt_checkpoint_fails_cleanly_from_the_shell(tmp_path):
    (tmp_path/'junk.pt').write_bytes(b'not a checkpoint')
    r = run_cli('siren', 'render', '--checkpoint', tmp_path/'junk.pt', check=False)
    assert r.returncode == 2 and 'not a readable checkpoint' in r.stderr and 'Traceback' not in r.stderr


def test_bf16_path_matches_float32():
    from vidlab.siren import Siren, SirenConfig
    torch.manual_seed(0)
    m = Siren(SirenConfig(hidden_features=64, hidden_layers=3, precision='fp32'))
    x = torch.rand(1000, 3) * 2 - 1
    y32 = m(x)
    m.cfg = m.cfg.replace(precision='bf16')
    assert (m(x) - y32).abs().max() < 0.03


def test_same_seed_same_numbers_and_precision_recorded(run, tmp_path):
    "Two identical runs give the same numbers; config.json and metrics.json say which precision ran."
    import json
    from vidlab.siren import resolve_precision
    other = tmp_path/'again'
    run_cli('siren', 'train', *TINY, '--output_dir', other)
    a, b = (json.loads((d/'metrics.json').read_text()) for d in (run, other))
    assert a['psnr'] == b['psnr'] and a['ssim'] == b['ssim']
    assert a['precision'] == json.loads((run/'config.json').read_text())['precision'] == resolve_precision('auto', 'cpu')


def test_interrupt_then_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    """Ctrl-C at epoch 20 of `siren train` (raised from the evaluation hook: the same step every
    run), then `--resume` on its folder: the same final numbers as a run never stopped."""
    import json
    import vidlab.siren as siren
    args = list(TINY); args[args.index('--epochs') + 1] = '400'; args[args.index('--save_every') + 1] = '20'
    run_cli('siren', 'train', *args, '--output_dir', tmp_path/'ref')
    fit_video = siren.fit_video

    def ctrl_c_at_epoch_20(*a, on_eval=None, **kw):  # KeyboardInterrupt is what SIGINT raises
        def hook(m, ev):
            on_eval(m, ev)
            if round(ev['epoch']) == 20: raise KeyboardInterrupt
        return fit_video(*a, on_eval=hook, **kw)
    monkeypatch.setattr(siren, 'fit_video', ctrl_c_at_epoch_20)
    part = tmp_path/'part'
    rc, err = run_main(capsys, 'siren', 'train', *args, '--output_dir', part)
    assert rc == 130 and 'interrupted' in err and '--resume' in err, (rc, err[-500:])
    assert not (part/'model_final.pt').exists() and (part/'train_state.pt').exists()
    assert (part/'checkpoint_epoch_0020.pt').exists() and not (part/'checkpoint_epoch_0040.pt').exists()
    monkeypatch.setattr(siren, 'fit_video', fit_video)
    run_cli('siren', 'train', *args, '--output_dir', part, '--resume')
    ref, res = (json.loads((d/'metrics.json').read_text()) for d in (tmp_path/'ref', part))
    assert abs(ref['psnr'] - res['psnr']) < 1e-4 and ref['epochs'] == res['epochs']


def test_snapshots_in_a_time_limited_run(tmp_path):
    "checkpoint_epoch_*.pt / recon_epoch_*.png every save_every epochs also when a time limit ends the run."
    import json
    out = tmp_path/'timed'
    args = [a if a != '4' else '1000' for a in TINY]              # --epochs 1000 (and --max_frames stays 4)
    args[args.index('--max_frames') + 1] = '4'
    args[args.index('--save_every') + 1] = '1'
    run_cli('siren', 'train', *args, '--time_limit', '3', '--output_dir', out)
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'time-limit' and m['epochs'] >= 1
    n = int(m['epochs'])
    assert len(list(out.glob('checkpoint_epoch_*.pt'))) >= n >= 1
    assert len(list(out.glob('recon_epoch_*.png'))) >= n
    hist = json.loads((out/'history.json').read_text())
    assert sum('psnr' in r for r in hist['rows']) >= n            # a PSNR point per epoch: a curve, not a dot


def test_a_collapsed_fit_exits_non_zero(tmp_path):
    "At lr 1 the loss stays finite (the sigmoid bounds it) but the fit collapses: one line, non-zero, no model_final."
    out = tmp_path/'collapsed'
    args = list(TINY); args[args.index('--lr') + 1] = '1'
    r = run_cli('siren', 'train', *args, '--output_dir', out, check=False)
    assert r.returncode != 0 and 'collapsed' in r.stderr and 'Traceback' not in r.stderr
    assert not (out/'model_final.pt').exists()


def test_render_fast_path_matches_forward():
    "The separable first layer + fused hidden layers render the same function as forward()."
    from vidlab.siren import Siren, SirenConfig, siren_frame, video_coords
    torch.manual_seed(0)
    for prec, tol in (('fp32', 1e-5), ('bf16', 0.03)):
        m = Siren(SirenConfig(hidden_features=64, hidden_layers=3, omega_t=2.0, precision=prec), frames=9)
        ref = m(video_coords(torch.tensor([0.25]), 30, 44))[0]
        assert (siren_frame(m, 0.25, 30, 44, chunk=200) - ref).abs().max() < tol


def test_quantize_and_h264_rates():
    from vidlab.siren import Siren, SirenConfig, quantize, h264, bits_per_pixel, n_params
    from vidlab.data import sample_clip
    m = Siren(SirenConfig(hidden_features=32, hidden_layers=2))
    n = n_params(m)
    assert quantize(m, 32)[1] == 32 * n and quantize(m, 16)[1] == 16 * n
    q8, bits = quantize(m, 8)
    assert bits == 8 * n + 64 * sum(p.numel() > 0 for p in m.parameters())
    for p, r in ((p, r) for p, r in zip(m.parameters(), q8.parameters()) if p.numel()):
        assert (p - r).abs().max() <= (p.max() - p.min()) / 255 / 2 + 1e-6   # within half a level
    v = sample_clip('bikes', max_size=32, max_frames=4)
    dec, b1 = h264(v, 20); _, b2 = h264(v, 40)
    assert dec.shape == v.shape and b2 < b1 and 0 < bits_per_pixel(b2, v) < 24


def test_linear_base_hybrid_renders_reloads_and_is_counted(tmp_path):
    "base='linear': the base is the per-pixel line in t; fast path = forward(); a checkpoint renders the same; its bits count."
    from vidlab.siren import (Siren, SirenConfig, siren_frame, video_coords, linear_time_base, frame_times, train_siren,
                              load_siren, render_video, quantize, n_params)
    from vidlab.data import sample_clip
    v = sample_clip('bikes', max_size=32, max_frames=4)
    line = torch.linspace(0, 1, 4).view(-1, 1, 1, 1) * 0.5 + 0.2                  # a clip that is exactly a line in t
    a, b = linear_time_base(line.expand(4, 3, 5, 3)).unbind(0)
    assert torch.allclose(a, torch.full_like(a, 0.45)) and torch.allclose(b, torch.full_like(b, 0.25))
    cfg = SirenConfig.fast(hidden_features=32, hidden_layers=2, epochs=3, batch_size=512, base='linear', omega_t=2.0,
                           save_every=3)
    for prec, tol in (('fp32', 1e-5), ('bf16', 0.03)):
        torch.manual_seed(0)
        m = Siren(cfg.replace(precision=prec), frames=4).set_base(v)
        ref = m(video_coords(torch.tensor([0.25]), 30, 44))[0].clamp(0, 1)
        assert (siren_frame(m, 0.25, 30, 44, chunk=200) - ref).abs().max() < tol
    r = train_siren(v, cfg, tmp_path/'run', progress=False)
    m, _ = load_siren(tmp_path/'run')
    assert torch.equal(render_video(m, 4, 14, 32), render_video(r.model, 4, 14, 32))
    assert quantize(r.model, 8)[1] == 8 * (n_params(r.model) + r.model.base.numel()) + 64 * (sum(p.numel() > 0 for p in m.parameters()) + 1)


def test_global_motion_follows_a_sliding_picture_and_beats_blend(tmp_path):
    """motion='global' on a picture sliding right at constant speed, trained on the even frames: the learned
    shift grows left to right, the odd frames beat linear blend, fast path = forward(), a checkpoint reloads."""
    from vidlab.siren import SirenConfig, train_siren, load_siren, render_video, siren_frame, video_coords
    from vidlab.metrics import psnr, linear_blend
    x, y = torch.meshgrid(torch.linspace(0, 1, 20), torch.linspace(0, 1, 40), indexing='ij')
    T = 9
    clip = torch.stack([torch.stack([0.5 + 0.4 * torch.sin(6 * (y - 0.06 * k)) * torch.cos(3 * x),
                                     0.5 + 0.3 * torch.cos(5 * (y - 0.06 * k) + 2 * x), 0.3 + 0 * x], -1)
                        for k in range(T)])                                  # (T, 20, 40, 3), 2.4 px a frame
    even, odd = clip[::2], clip[1::2]
    cfg = SirenConfig.fast(hidden_features=32, hidden_layers=2, epochs=60, batch_size=512, base='linear',
                           motion='global', precision='fp32', save_every=60)
    r = train_siren(even, cfg, tmp_path/'run', progress=False)
    d = r.model.shift_at(torch.linspace(-1, 1, 5))[:, 0]
    assert (d.diff() > 0).all(), d                                           # x - d(t): d grows as it slides right
    pred = render_video(r.model, 2 * len(even) - 1, 20, 40)[1::2]
    assert psnr(pred, odd) > psnr(linear_blend(even, 2)[1::2], odd)
    ref = r.model(video_coords(torch.tensor([0.3]), 20, 40))[0].clamp(0, 1)
    assert (siren_frame(r.model, 0.3, 20, 40, chunk=100) - ref).abs().max() < 1e-5
    m, _ = load_siren(tmp_path/'run')
    assert torch.equal(render_video(m, 5, 20, 40), render_video(r.model, 5, 20, 40))


def test_time_setting_chosen_on_training_frames_and_correction_beat_blend():
    """fit_interpolator on a picture sliding at constant speed, trained on its even frames: validation on the
    training frames alone rejects a time scale that invents between frames and picks global motion over none;
    the corrected render is exact at the training frames and beats linear blend on the odd (never seen) frames."""
    from vidlab.siren import SirenConfig, fit_interpolator, corrected_render, lerp_frames, frame_times
    from vidlab.metrics import psnr, linear_blend
    x, y = torch.meshgrid(torch.linspace(0, 1, 20), torch.linspace(0, 1, 40), indexing='ij')
    clip = torch.stack([torch.stack([0.5 + 0.4 * torch.sin(6 * (y - 0.06 * k)) * torch.cos(3 * x),
                                     0.5 + 0.3 * torch.cos(5 * (y - 0.06 * k) + 2 * x), 0.3 + 0 * x], -1)
                        for k in range(9)])                                  # (9, 20, 40, 3), 2.4 px a frame
    even, odd = clip[::2], clip[1::2]
    cfg = SirenConfig.fast(hidden_features=32, hidden_layers=2, epochs=60, batch_size=512, base='linear',
                           omega_0=10.0, precision='fp32')
    cands = (dict(omega_t=20.0, motion='none'), dict(omega_t=2.0, motion='none'), dict(omega_t=2.0, motion='global'))
    run, choice, rows = fit_interpolator(even, cfg, cands)
    assert [set(r) for r in rows] == [{'omega_t', 'motion', 'validation_psnr'}] * 3
    assert choice == dict(omega_t=2.0, motion='global'), rows
    t2 = frame_times(2 * len(even) - 1)
    fixed = corrected_render(run.model, even, t2)
    assert (fixed[::2] - even).abs().max() < 1e-5
    blend = linear_blend(even, 2)
    assert psnr(fixed[1::2], odd) > psnr(blend[1::2], odd) + 1
    assert torch.allclose(lerp_frames(even, t2), blend, atol=1e-6)
