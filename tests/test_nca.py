"The NCA chapter: `vidlab nca train/generate` end to end on a tiny clip, bad inputs, and the functions the panel calls."
import json
import pytest
import torch
from torch import nn
from vidlab.core import save_checkpoint
from vidlab.media import read_video, write_video, save_frames
from vidlab.nca import (NCAConfig, NCA, FusedNCA, damage, generate, rollout, rd_clip, panel_generate, load_nca,
                        load_training_frames, check_frames)

TINY = ['--max_size', '48', '--max_frames', '10', '--num_epochs', '40', '--learning_rate', '1e-3',
        '--batch_size', '4', '--pool_size', '32', '--max_rollout', '3']

@pytest.fixture(scope='module')
def clip_mp4(tmp_path_factory):
    p = tmp_path_factory.mktemp('nca')/'clip.mp4'
    write_video(p, rd_clip(48, 10, seed=0), fps=12)
    return p

@pytest.fixture(scope='module')
def trained(clip_mp4):
    "`vidlab nca train --video V --frames_dir D ... --model_save_path P` (the seed's command), run once."
    from conftest import run_cli
    d = clip_mp4.parent
    r = run_cli('nca', 'train', '--video', clip_mp4, '--frames_dir', d/'frames', *TINY,
                '--model_save_path', d/'models'/'nca.pt', '--out', d/'run')
    return d, r

def test_train_from_video_extracts_frames_and_writes_the_run(trained):
    d, r = trained
    assert (d/'models'/'nca.pt').exists()
    assert len(list((d/'frames').glob('*.png'))) == 10                       # extracted with imageio-ffmpeg's ffmpeg
    for f in ['rollout.mp4', 'metrics.json', 'config.json', 'training_progress.png']: assert (d/'run'/f).exists(), f
    m = json.loads((d/'run'/'metrics.json').read_text())
    assert {'psnr_nca', 'psnr_repeat'} <= set(m) and 'latent grid 24x24' in r.stdout
    assert read_video(d/'run'/'rollout.mp4').shape[0] == 10

def test_generate_writes_a_playable_changing_mp4(trained, cli, tmp_path):
    d, _ = trained
    img = tmp_path/'input.png'
    from vidlab.media import write_image
    write_image(img, torch.rand(60, 80, 3))
    out = tmp_path/'out'/'gen.mp4'
    cli('nca', 'generate', '--model_path', d/'models'/'nca.pt', '--input_image', img, '--output_video', out,
        '--max_size', '64', '--num_steps', '12')
    v = read_video(out)
    assert v.shape == (13, 48, 64, 3)                                       # 60x80 -> longer side 64, even sizes
    assert v.std() > 0.05 and (v[1:] - v[:-1]).abs().mean() > 1e-3         # not a constant image, not a still

def test_generate_from_a_sample_image_name(trained, cli, tmp_path):
    d, _ = trained
    cli('nca', 'generate', '--model_path', d/'models'/'nca.pt', '--output_video', tmp_path/'g.mp4', '--max_size', '32',
        '--num_steps', '4', '--damage_at', '2')                             # default --input_image: the offline bunny
    assert read_video(tmp_path/'g.mp4').shape == (5, 32, 32, 3)

def test_train_from_a_frames_folder_alone(cli, tmp_path):
    save_frames(rd_clip(48, 6, seed=1), tmp_path/'frames')
    cli('nca', 'train', '--frames_dir', tmp_path/'frames', '--max_size', '48', '--num_epochs', '3', '--pool_size', '8',
        '--model_save_path', tmp_path/'m.pt', '--out', tmp_path/'run')
    assert type(load_nca(tmp_path/'m.pt')) is NCA

@pytest.mark.parametrize('case', ['corrupt video', 'empty frames folder', 'missing checkpoint', 'not an NCA checkpoint'])
def test_bad_inputs_give_clear_errors(cli, tmp_path, case):
    if case == 'corrupt video':
        (tmp_path/'bad.mp4').write_bytes(b'this is not a video' * 100)
        r, want = cli('nca', 'train', '--video', tmp_path/'bad.mp4', '--num_epochs', '1', check=False), 'could not be opened'
    elif case == 'empty frames folder':
        (tmp_path/'empty').mkdir()
        r, want = cli('nca', 'train', '--frames_dir', tmp_path/'empty', '--num_epochs', '1', check=False), 'no image frames'
    elif case == 'missing checkpoint':
        r, want = cli('nca', 'generate', '--model_path', tmp_path/'nope.pt', check=False), 'No checkpoint'
    else:
        save_checkpoint(tmp_path/'id.pt', nn.Identity())                       # a valid checkpoint of another model
        r, want = cli('nca', 'generate', '--model_path', tmp_path/'id.pt', check=False), 'not an NCA checkpoint'
    assert r.returncode == 2 and want in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_one_frame_is_not_a_video():
    with pytest.raises(Exception, match='at least 2 frames'): check_frames(torch.rand(1, 16, 16, 3), NCAConfig.fast())

def _random_nca(**kw):
    torch.manual_seed(0)
    m = NCA(NCAConfig.fast(**kw)); nn.init.normal_(m.update[-1].weight, std=0.1)
    return m.eval()

def test_fused_step_equals_the_plain_step():
    m = _random_nca(); s = torch.rand(2, m.cfg.channels, 10, 12)
    torch.testing.assert_close(FusedNCA(m)(s, 1.0), m(s, 1.0), atol=1e-4, rtol=1e-4)

def test_state_stays_in_its_box_on_long_rollouts():
    m = _random_nca(cell_size=1, channels=12)
    v, s = rollout(m, torch.rand(16, 16, 3), 100, return_state=True)
    assert torch.isfinite(s).all() and s.abs().max() <= 1 and v.min() >= 0 and v.max() <= 1

def test_damage_erases_a_disc_and_the_panel_path_runs_without_a_widget():
    s = damage(torch.ones(1, 5, 20, 20), (0.25, 0.75), 0.1)
    assert s[0, :, 5, 15].abs().sum() == 0 and s[0, :, 15, 5].abs().sum() == 5
    m = _random_nca()
    out = panel_generate(m, m.cfg.replace(update_rate=1.0), 'reaction_diffusion', num_steps=6, size=32, damaged=True)
    assert out['input'].shape == (1, 32, 32, 3) and out['NCA'].shape == (7, 32, 32, 3)

def test_update_rate_zero_freezes_the_automaton():
    m = _random_nca(); x = torch.rand(32, 32, 3)
    torch.testing.assert_close(generate(m, x, 5, max_size=32, update_rate=0.0)[-1], x)
