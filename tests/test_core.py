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
