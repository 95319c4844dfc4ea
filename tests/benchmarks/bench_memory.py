"""Peak memory of reading a video: synthetic 720p and 1080p clips, at full size and at max_size=96.

Each case runs in its own process and reports its peak RSS, beside the size of the tensor it returns and the peak
of the same process after importing vidlab (the constant). The peak is the kernel's VmHWM of that process: Linux
carries `ru_maxrss` over from the parent across fork and exec, so it would report the launcher's peak. Usage:

    python tests/benchmarks/bench_memory.py [--frames 100]

With git available, the reader from before the streaming rewrite (commit e4c13b3~1) runs beside it at max_size=96,
as the baseline.
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

CASE = r'''
import json, re, sys, torch
from vidlab.media import read_video, iter_frames
def hwm_mb(): return int(re.search(r'VmHWM:\s+(\d+) kB', open('/proc/self/status').read()).group(1)) / 1024
path, max_size, how = sys.argv[1], (int(sys.argv[2]) or None), sys.argv[3]
if how == 'old':                                          # the reader before the streaming rewrite
    import importlib.util
    spec = importlib.util.spec_from_file_location('old_media', sys.argv[4]); old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old); read_video, how = old.read_video, 'read'
base = hwm_mb()
if how == 'read': out = read_video(path, max_size=max_size); nbytes, shape = out.numel() * 4, tuple(out.shape)
else:
    n = 0
    for f in iter_frames(path, max_size=max_size): n += 1; shape = (n, *f.shape)
    nbytes = 0
print(json.dumps(dict(base_mb=base, peak_mb=hwm_mb(),
                      out_mb=nbytes / 2**20, shape=shape)))
'''

def make_clip(path, w, h, frames):
    "A synthetic clip (moving gradients and noise, so it does not compress to nothing), written by imageio-ffmpeg."
    import numpy as np, imageio_ffmpeg
    g = imageio_ffmpeg.write_frames(str(path), (w, h), fps=25, codec='libx264', pix_fmt_out='yuv420p', quality=5,
                                    macro_block_size=2, output_params=['-preset', 'ultrafast'])
    g.send(None)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w]
    for t in range(frames):
        f = np.stack([(xx + 4 * t) % 256, (yy + 2 * t) % 256, (xx + yy + 3 * t) % 256], -1).astype(np.uint8)
        f[::8, ::8] = rng.integers(0, 256, f[::8, ::8].shape, dtype=np.uint8)
        g.send(np.ascontiguousarray(f))
    g.close()
    return path

def run(path, max_size, how, *extra):
    r = subprocess.run([sys.executable, '-c', CASE, str(path), str(max_size or 0), how, *extra], capture_output=True, text=True)
    if r.returncode: raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--frames', type=int, default=100); a = ap.parse_args()
    from vidlab.metrics import table
    rows = []
    with tempfile.TemporaryDirectory() as d:
        old = Path(d)/'old_media.py'
        g = subprocess.run(['git', 'show', 'e4c13b3~1:vidlab/media.py'], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2])
        if g.returncode == 0: old.write_text(g.stdout)
        cases = [(None, 'read'), (96, 'read'), (96, 'iter')] + ([(96, 'old')] if old.exists() else [])
        names = dict(read='read_video', iter='iter_frames', old='old read_video (baseline)')
        for name, (w, h) in [('720p', (1280, 720)), ('1080p', (1920, 1080))]:
            clip = make_clip(Path(d)/f'{name}.mp4', w, h, a.frames)
            for max_size, how in cases:
                r = run(clip, max_size, how, str(old))
                rows.append({'clip': f'{name} x {a.frames}', 'reader': names[how], 'max_size': max_size or 'full',
                             'output': 'x'.join(map(str, r['shape'])), 'output MB': r['out_mb'],
                             'RSS after import MB': r['base_mb'], 'peak RSS MB': r['peak_mb'],
                             'peak - import MB': r['peak_mb'] - r['base_mb']})
                print(rows[-1], flush=True)
    print(); print(table(rows, floatfmt='.1f'))
