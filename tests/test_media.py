"Issue 10 items 6 and 7: video of any length in bounded memory, and inputs read at their own timing or refused."
import json, subprocess, sys, warnings
import numpy as np, pytest, torch
import imageio_ffmpeg
from PIL import Image
from vidlab.media import read_video, iter_frames, iter_chunks, video_fps, save_frames, write_video, VideoError

def _clip(path, w, h, frames):
    g = imageio_ffmpeg.write_frames(str(path), (w, h), fps=25, codec='libx264', pix_fmt_out='yuv420p',
                                    macro_block_size=2, output_params=['-preset', 'ultrafast'])
    g.send(None)
    yy, xx = np.mgrid[0:h, 0:w]
    for t in range(frames): g.send(np.ascontiguousarray(np.stack([(xx + 4 * t) % 256, (yy + t) % 256, xx * 0 + t], -1).astype(np.uint8)))
    g.close()
    return path

PEAK = r'''
import re, sys
from vidlab.media import read_video
hwm = lambda: int(re.search(r'VmHWM:\s+(\d+) kB', open('/proc/self/status').read()).group(1)) / 1024
base = hwm(); v = read_video(sys.argv[1], max_size=48)
print(hwm() - base, tuple(v.shape))
'''

@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads VmHWM from /proc')
def test_small_read_of_a_large_clip_stays_small(tmp_path):
    "Item 6: reading 60 frames of 1080p at max_size=48 costs a few MB above the imports (it was ~5 MB per frame)."
    clip = _clip(tmp_path/'big.mp4', 1920, 1080, 60)
    r = subprocess.run([sys.executable, '-c', PEAK, str(clip)], capture_output=True, text=True, timeout=600)
    extra_mb, shape = r.stdout.split(' ', 1)
    assert shape.strip() == '(60, 26, 48, 3)', r.stderr
    assert float(extra_mb) < 60, f'peak grew by {extra_mb} MB for a 0.9 MB result'

def test_streaming_readers(tmp_path):
    clip = _clip(tmp_path/'c.mp4', 64, 48, 20)
    v = read_video(clip, frame_step=3, start=1)
    frames = list(iter_frames(clip, frame_step=3, start=1))
    assert len(frames) == len(v) == 7 and torch.equal(torch.stack(frames), v)
    assert [len(c) for c in iter_chunks(clip, chunk=8)] == [8, 8, 4]
    assert read_video(clip, max_frames=5, max_size=32).shape == (5, 24, 32, 3)

def test_gif_keeps_its_own_timing(tmp_path):
    "Item 7: a GIF with uneven delays was resampled to 50 fps (repeated frames)."
    g = torch.Generator().manual_seed(0)
    frames = [Image.fromarray((torch.rand(24, 32, 3, generator=g) * 255).byte().numpy()) for _ in range(36)]
    frames[0].save(tmp_path/'a.gif', save_all=True, append_images=frames[1:], duration=[100, 30, 70] * 12, loop=0)
    v = read_video(tmp_path/'a.gif')
    assert len(v) == 36 and all((v[i] - v[i + 1]).abs().max() > 0 for i in range(35))   # no repeated frames
    assert abs(video_fps(tmp_path/'a.gif') - 36 / 2.4) < 0.1

def test_short_file_warns(tmp_path):
    "Item 7: an mp4 with its index at the front, cut to 30%, decoded 12 of 36 frames without a word."
    g = torch.Generator().manual_seed(0)
    good = write_video(tmp_path/'good.mp4', torch.rand(36, 64, 64, 3, generator=g), fps=24)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-loglevel', 'error', '-i', str(good), '-c', 'copy',
                    '-movflags', '+faststart', str(tmp_path/'front.mp4')], check=True)
    b = (tmp_path/'front.mp4').read_bytes(); (tmp_path/'cut.mp4').write_bytes(b[:len(b) * 3 // 10])
    with pytest.warns(UserWarning, match='container announces 36'): v = read_video(tmp_path/'cut.mp4')
    assert len(v) < 36
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert len(read_video(good)) == 36                            # a whole file reads without a warning

def test_mixed_frame_folder_is_refused_before_decoding(tmp_path, monkeypatch):
    "Item 7: a folder of frames of mixed sizes was decoded whole before the error."
    save_frames(torch.rand(5, 16, 16, 3), tmp_path); save_frames(torch.rand(1, 16, 20, 3), tmp_path, 'z{:d}.png')
    import vidlab.media as m
    calls = []
    monkeypatch.setattr(m.media, 'read_image', lambda p, **kw: calls.append(p))
    with pytest.raises(VideoError, match='frames differ in size'): read_video(tmp_path)
    assert calls == []                                                # nothing was decoded

def test_rotated_phone_video(tmp_path):
    "A phone video (display rotation 90) comes out upright at its displayed size, scaled or not."
    clip = _clip(tmp_path/'c.mp4', 64, 48, 4)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), '-loglevel', 'error', '-display_rotation', '90', '-i', str(clip),
                    '-c', 'copy', str(tmp_path/'rot.mp4')], check=True)
    assert read_video(tmp_path/'rot.mp4').shape == (4, 64, 48, 3)
    assert read_video(tmp_path/'rot.mp4', max_size=32).shape == (4, 32, 24, 3)
