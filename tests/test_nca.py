"The NCA chapter: `vidlab nca train/generate` end to end on a tiny clip, bad inputs, and the functions the panel calls."
import json
import pytest
import torch
from torch import nn
from vidlab.core import save_checkpoint
from vidlab.media import read_video, write_video, save_frames, write_image
from vidlab.nca import (NCAConfig, NCA, FusedNCA, damage, generate, rollout, iter_rollout, rd_clip, panel_generate,
                        panel_train, load_nca, load_training_frames, check_frames, train_nca, checker_energy,
                        evaluate_next_frame)

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
                '--model_save_path', d/'models'/'nca.pt', '--output_dir', d/'run')
    return d, r

def test_train_from_video_extracts_frames_and_writes_the_run(trained):
    d, r = trained
    assert (d/'models'/'nca.pt').exists() and (d/'run'/'train_state.pt').exists()
    assert len(list((d/'frames').glob('*.png'))) == 10                       # extracted with imageio-ffmpeg's ffmpeg
    for f in ['rollout.mp4', 'metrics.json', 'config.json', 'training_progress.png', 'history.json']:
        assert (d/'run'/f).exists(), f
    m = json.loads((d/'run'/'metrics.json').read_text())
    assert {'psnr_nca', 'psnr_repeat', 'psnr_mean'} <= set(m) and 'latent grid 12x12' in r.stdout
    assert read_video(d/'run'/'rollout.mp4').shape[0] == 7                   # 2 x max_rollout frames + the start
    h = json.loads((d/'run'/'history.json').read_text())
    assert any('eval_loss' in row for row in h['rows'])                       # the fixed evaluation loss is logged

def test_resume_continues_the_run_in_its_folder(trained, cli):
    d, _ = trained
    r = cli('nca', 'train', '--video', d/'clip.mp4', '--frames_dir', d/'frames', *TINY,
            '--model_save_path', d/'models'/'nca2.pt', '--output_dir', d/'run', '--resume')
    assert 'resuming' in r.stdout                                            # the saved state, not a fresh start
    a, b = load_nca(d/'models'/'nca.pt'), load_nca(d/'models'/'nca2.pt')
    for x, y in zip(a.state_dict().values(), b.state_dict().values()): torch.testing.assert_close(x, y)

def test_a_non_empty_frames_dir_is_refused(trained, cli):
    d, _ = trained
    r = cli('nca', 'train', '--video', d/'clip.mp4', '--frames_dir', d/'frames', '--num_epochs', '1',
            '--output_dir', d/'run3', check=False)
    assert r.returncode == 2 and 'not empty' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_generate_writes_a_playable_changing_mp4(trained, cli, tmp_path):
    d, _ = trained
    img = tmp_path/'input.png'
    write_image(img, torch.rand(60, 80, 3))
    out = tmp_path/'out'/'gen.mp4'
    cli('nca', 'generate', '--model_path', d/'models'/'nca.pt', '--input_image', img, '--output_video', out,
        '--max_size', '64', '--num_steps', '12', '--damage_at', '4')
    v = read_video(out)
    assert v.shape == (13, 48, 64, 3)                                       # 60x80 -> longer side 64, multiple of 4
    assert v.std() > 0.05 and (v[1:] - v[:-1]).abs().mean() > 1e-4         # not a constant image, not a still

def test_generate_from_a_sample_image_name(trained, cli, tmp_path):
    d, _ = trained
    cli('nca', 'generate', '--model_path', d/'models'/'nca.pt', '--output_video', tmp_path/'g.mp4', '--max_size', '32',
        '--num_steps', '4', '--damage_at', '2')                             # default --input_image: the offline bunny
    assert read_video(tmp_path/'g.mp4').shape == (5, 32, 32, 3)

def test_train_motion_transfer_from_a_frames_folder(cli, tmp_path):
    save_frames(rd_clip(48, 6, seed=1), tmp_path/'frames')
    r = cli('nca', 'train', '--mode', 'motion-transfer', '--frames_dir', tmp_path/'frames', '--max_size', '48',
            '--num_epochs', '3', '--pool_size', '8', '--model_save_path', tmp_path/'m.pt', '--output_dir', tmp_path/'run')
    assert type(load_nca(tmp_path/'m.pt')) is NCA and (tmp_path/'run'/'generated.mp4').exists()
    assert load_nca(tmp_path/'m.pt').cfg.mode == 'motion-transfer' and 'motion_late' in r.stdout

@pytest.mark.parametrize('case', ['corrupt video', 'empty frames folder', 'missing checkpoint', 'not an NCA checkpoint',
                                  'channels out of range', 'latent as big as the frame', 'update rate out of range'])
def test_bad_inputs_give_clear_errors(cli, tmp_path, case):
    if case == 'corrupt video':
        (tmp_path/'bad.mp4').write_bytes(b'this is not a video' * 100)
        r, want = cli('nca', 'train', '--video', tmp_path/'bad.mp4', '--num_epochs', '1', check=False), 'could not be opened'
    elif case == 'empty frames folder':
        (tmp_path/'empty').mkdir()
        r, want = cli('nca', 'train', '--frames_dir', tmp_path/'empty', '--num_epochs', '1', check=False), 'no image frames'
    elif case == 'missing checkpoint':
        r, want = cli('nca', 'generate', '--model_path', tmp_path/'nope.pt', check=False), 'No checkpoint'
    elif case == 'not an NCA checkpoint':
        save_checkpoint(tmp_path/'id.pt', nn.Identity())                       # a valid checkpoint of another model
        r, want = cli('nca', 'generate', '--model_path', tmp_path/'id.pt', check=False), 'refused'
    elif case == 'channels out of range':
        r, want = cli('nca', 'train', '--channels', '-5', check=False), 'out of range'
    elif case == 'latent as big as the frame':
        r, want = cli('nca', 'train', '--cell_size', '2', '--channels', '12', check=False), 'as many numbers'
    else:
        r, want = cli('nca', 'generate', '--model_path', tmp_path/'x.pt', '--update_rate', '2', check=False), ''
    assert r.returncode == 2 and want in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_a_checkpoint_naming_other_code_is_refused_before_it_runs(cli, tmp_path):
    marker = tmp_path/'pwned'
    torch.save(dict(model={}, model_class='subprocess.run', config=['touch', str(marker)],
                    config_class='builtins.list', extra={}), tmp_path/'evil.pt')
    r = cli('nca', 'generate', '--model_path', tmp_path/'evil.pt', '--output_video', tmp_path/'o.mp4', check=False)
    assert r.returncode == 2 and not marker.exists() and 'Traceback' not in r.stderr, r.stderr

def test_one_frame_is_not_a_video():
    with pytest.raises(Exception, match='at least 2 frames'): check_frames(torch.rand(1, 16, 16, 3), NCAConfig.fast())

def test_same_seed_same_numbers():
    cfg = NCAConfig.fast(num_epochs=3, max_frames=4, pool_size=8, batch_size=2)
    f = torch.rand(4, 16, 16, 3)
    a, ha = train_nca(cfg, f, progress=False)
    b, hb = train_nca(cfg, f, progress=False)
    assert ha['loss'] == hb['loss']
    for x, y in zip(a.state_dict().values(), b.state_dict().values()): assert torch.equal(x, y)

def _random_nca(**kw):
    torch.manual_seed(0)
    m = NCA(NCAConfig.fast(**kw)); nn.init.normal_(m.update[-1].weight, std=0.1)
    return m.eval()

def test_fused_step_equals_the_plain_step():
    m = _random_nca(); s = torch.rand(2, m.cfg.channels, 10, 12) * 2 - 1
    torch.testing.assert_close(FusedNCA(m)(s, 1.0), m(s, 1.0), atol=1e-4, rtol=1e-4)

def test_state_and_picture_stay_in_their_box_on_long_rollouts():
    m = _random_nca()
    v, s = rollout(m, torch.rand(16, 16, 3), 100, return_state=True)
    assert torch.isfinite(s).all() and s.abs().max() <= 1 and v.min() >= 0 and v.max() <= 1

def test_the_update_cannot_write_the_cell_checkerboard():
    "The low-passed update: from a smooth state, a random rule adds (almost) no energy at the grid's own frequency."
    m = _random_nca(padding='circular')
    s = torch.zeros(1, m.cfg.channels, 16, 16)
    s2 = m(s, 0.5)                                                             # random mask, random rule
    chk = ((torch.arange(16)[:, None] + torch.arange(16)) % 2 * 2 - 1).float()
    assert (s2 * chk).sum((2, 3)).abs().max() < 1e-4

def test_damage_erases_a_disc_and_the_panel_path_runs_without_a_widget():
    s = damage(torch.ones(1, 5, 20, 20), (0.25, 0.75), 0.1)
    assert s[0, :, 5, 15].abs().sum() == 0 and s[0, :, 15, 5].abs().sum() == 5
    m, seen = _random_nca(), []
    out = panel_generate(m, m.cfg.replace(update_rate=1.0), 'reaction_diffusion', num_steps=6, size=32, damaged=True,
                         on_frame=lambda t, f: seen.append(t))
    assert out['input'].shape == (1, 32, 32, 3) and out['NCA'].shape == (7, 32, 32, 3) and seen == list(range(7))

def test_the_panel_trains_on_the_clip_it_is_given(tmp_path):
    write_video(tmp_path/'c.mp4', torch.rand(5, 32, 32, 3))
    cfg = NCAConfig.fast(num_epochs=2, max_frames=4, pool_size=8, batch_size=2, max_size=32)
    assert type(panel_train(cfg, video=str(tmp_path/'c.mp4'), progress=False)) is NCA
    assert type(panel_train(cfg, clip='shapes', progress=False)) is NCA

def test_update_rate_zero_freezes_the_automaton():
    m = _random_nca(); x = torch.rand(32, 32, 3)
    torch.testing.assert_close(generate(m, x, 5, max_size=32, update_rate=0.0)[-1], x, atol=1e-5, rtol=0)

def test_rollout_streams_frame_by_frame():
    m = _random_nca(); it = iter_rollout(m, torch.rand(16, 16, 3), 3)
    assert next(it).shape == (16, 16, 3) and len(list(it)) == 3

@pytest.mark.slow
def test_quick_run_beats_its_baselines_without_a_grid():
    "The chapter's quick run (next-frame, reaction-diffusion): held-out baselines and the 2x2-checker target."
    cfg = NCAConfig.fast()
    train = rd_clip(cfg.max_size, cfg.max_frames, seed=0)
    H = len(train) - 1
    test = rd_clip(cfg.max_size, 4 * H + 1, seed=1)
    model, _ = train_nca(cfg, train, valid=test[:len(train)], progress=False)
    res = evaluate_next_frame(model, test, train, H)
    assert res['psnr_nca'] > max(res['psnr_repeat'], res['psnr_mean']), res
    torch.manual_seed(0)
    v = rollout(FusedNCA(model), test[0], 4 * H)
    ratio = checker_energy(v[1:]) / checker_energy(test[1:])
    assert ratio.max() <= 1.5, ratio.max()

def test_the_shipped_checkpoints_load_and_animate_a_photo():
    from pathlib import Path
    for name in ['bikes_motion.pt', 'rd_next_frame.pt']:
        m = load_nca(Path(__file__).resolve().parents[1]/'data'/'nca'/name)
        v = generate(m, 'bunny', 6, max_size=32)
        assert v.shape == (7, 32, 32, 3) and torch.isfinite(v).all()
    assert m.cfg.mode == 'next-frame' and load_nca(Path(__file__).resolve().parents[1]/'data'/'nca'/'bikes_motion.pt').cfg.mode == 'motion-transfer'
