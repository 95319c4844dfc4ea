"The interp chapter from the outside: `vidlab interp train/eval/upsample` end to end, and bad inputs give clear errors."
import pytest, torch
from vidlab.media import write_video, read_video
from vidlab.core import VidlabError
from vidlab.interp import (InterpConfig, KeyframeInterp, textured_shapes, eval_methods, keyframe_pipeline, upsample_video,
                           export_torchscript, interpolate, n_params)

@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    "A tiny 6-frame 64x64 clip of moving textured shapes, as an mp4."
    p = tmp_path_factory.mktemp('clip')/'in.mp4'
    write_video(p, textured_shapes(1, 64, 6, speed=2.0, seed=3)[0], fps=12)
    return p

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A run folder made by `vidlab interp train` with a tiny config."
    from conftest import run_cli
    d = tmp_path_factory.mktemp('run')
    (d/'tiny.yaml').write_text('clips: [shapes]\nn_shapes: 8\ncrop: 32\nbatch: 2\n')
    out = d/'interp'
    r = run_cli('interp', 'train', '--config', d/'tiny.yaml', '--steps', '6', '--ae_steps', '4', '--out', out)
    assert 'model' in r.stdout and 'blend' in r.stdout
    return out

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

def test_train_writes_run_folder(run):
    for f in ['config.json', 'model.pt', 'metrics.json', 'training_progress.png', 'shapes_truth_model_blend.mp4']:
        assert (run/f).exists(), f

def test_eval_cli(cli, run, tmp_path):
    r = cli('interp', 'eval', '--checkpoint', run/'model.pt', '--clip', 'shapes', '--interval', '2', '--out', tmp_path/'ev')
    for m in ['model', 'blend', 'repeat', 'pipeline']: assert m in r.stdout
    assert (tmp_path/'ev'/'metrics.json').exists()

def test_video_too_short_for_interval(cli, run, tmp_path):
    p = write_video(tmp_path/'short.mp4', textured_shapes(1, 32, 3, seed=0)[0])
    r = cli('interp', 'eval', '--checkpoint', run/'model.pt', '--video', p, '--interval', '4', check=False)
    assert r.returncode == 2 and 'interval 4 needs at least 5' in r.stderr

def test_corrupt_and_missing_files(cli, tmp_path):
    bad = tmp_path/'bad.mp4'; bad.write_bytes(b'this is not a video' * 100)
    r = cli('interp', 'upsample', '--video', bad, '--output', tmp_path/'o.mp4', check=False)
    assert r.returncode == 2 and 'could not be opened as a video' in r.stderr
    r = cli('interp', 'upsample', '--video', tmp_path/'missing.mp4', '--output', tmp_path/'o.mp4', check=False)
    assert r.returncode == 2 and 'No video file' in r.stderr
    r = cli('interp', 'eval', '--checkpoint', tmp_path/'nope.pt', check=False)
    assert r.returncode == 2 and 'No checkpoint' in r.stderr

def test_bad_options(cli, clip_file, tmp_path):
    r = cli('interp', 'train', '--flow_down', '3', check=False)
    assert r.returncode == 2 and 'invalid choice' in r.stderr
    r = cli('interp', 'upsample', '--video', clip_file, '--output', tmp_path/'o.mp4', '--factor', '1', check=False)
    assert r.returncode == 2 and 'factor must be at least 2' in r.stderr

def test_python_api_errors_and_export(tmp_path):
    cfg = InterpConfig.fast()
    model = KeyframeInterp(cfg).eval()
    assert n_params(model.interp) < 1_000_000
    with pytest.raises(VidlabError, match='needs at least 5'): keyframe_pipeline(model, torch.rand(4, 32, 32, 3), 4)
    with pytest.raises(VidlabError, match='needs at least 3'): eval_methods(model.interp, torch.rand(2, 32, 32, 3), 2)
    with pytest.raises(ValueError, match=r'\(T,H,W,3\)'): keyframe_pipeline(model, torch.rand(9, 32, 32), 4)
    with pytest.raises(VidlabError, match='at least 2'): upsample_video(model.interp, torch.rand(1, 32, 32, 3), 2)
    p = keyframe_pipeline(model, torch.rand(9, 36, 52, 3), 4)
    assert p['video'].shape == (9, 36, 52, 3) and p['bits'] < p['raw_bits']
    ts = torch.jit.load(str(export_torchscript(model.interp, tmp_path/'m.ts', size=(32, 32))))
    x0, x1 = torch.rand(1, 3, 40, 56), torch.rand(1, 3, 40, 56)
    assert torch.allclose(ts(x0, x1, torch.tensor([0.3])), model.interp(x0, x1, torch.tensor([0.3])), atol=1e-5)

def test_without_pretrained_model_upsample_fits_the_video(monkeypatch, tmp_path):
    "A plain pip install has no data/: `upsample` then trains briefly on the input video itself."
    import vidlab.interp as vi
    monkeypatch.setattr(vi, 'PRETRAINED', tmp_path/'absent.pt')
    video = textured_shapes(1, 32, 5, speed=1.5, seed=2)[0]
    model, source = vi.get_model(None, video, steps=3)
    assert 'trained 3 steps on the input video' in source
    assert upsample_video(model.interp, video, 2).shape == (9, 32, 32, 3)
    with pytest.raises(VidlabError, match='pass --checkpoint'): vi.get_model(None)
