"Datasets (vidlab.data): streamed clips and the real datasets' layouts, on tiny fakes; nothing is downloaded."
import csv, io, json, pickle, tarfile, urllib.error, urllib.request, warnings, zipfile
from pathlib import Path
import pytest
import torch
from torch.utils.data import DataLoader
import vidlab.data as data
from vidlab.core import VidlabError
from vidlab.media import VideoError, read_video, write_image

@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    "Any attempt to reach a network in these tests fails loudly (file:// URLs still work)."
    real = urllib.request.urlopen
    def guard(url, *a, **k):
        if not str(getattr(url, 'full_url', url)).startswith('file:'):
            raise AssertionError(f'a test tried to download {url}')
        return real(url, *a, **k)
    monkeypatch.setattr(urllib.request, 'urlopen', guard)

@pytest.fixture
def videos(tmp_path):
    "Four captioned videos of 40, 24, 30 and 32 frames at 25 fps."
    root = data.fake_videos(tmp_path/'vids', {'cat.mp4': 40, 'dog.mp4': 24, 'bird.mp4': 30, 'cow.mp4': 32})
    (root/'captions.csv').write_text('file,caption\ncat.mp4,a cat\ndog.mp4,a dog\nbird.mp4,a bird\ncow.mp4,a cow\n')
    return root

def test_index_is_built_without_decoding(videos, monkeypatch):
    calls = []
    monkeypatch.setattr(data, 'clip_frames', lambda *a, **k: calls.append(a) or iter(()))
    ds = data.VideoClips(videos, frames=8)
    assert len(ds) == 3 + 5 + 4 + 3                                    # bird, cat, cow, dog
    assert calls == []                                                 # nothing decoded to build it
    assert ds.info == [(30, 25.0), (40, 25.0), (32, 25.0), (24, 25.0)]

def test_clips_follow_stride_and_fps(videos):
    ds = data.VideoClips(videos, frames=4, fps=12.5, stride=2, captions=None)
    assert ds.steps == [2, 2, 2, 2]
    starts = [s for f, s in ds.clips if ds.names[f] == 'dog.mp4']
    assert starts == [0, 4, 8, 12, 16]                              # 7 frames a clip, starts 2 sampled frames apart
    item = ds[ds.clips.index((ds.names.index('dog.mp4'), 4))]
    torch.testing.assert_close(item['video'], read_video(videos/'dog.mp4')[4:12:2])
    assert set(item) == {'video', 'file', 'start'}

def test_sizes(videos):
    assert data.VideoClips(videos, frames=2, size=16)[0]['video'].shape == (2, 16, 16, 3)
    assert data.VideoClips(videos, frames=2, max_size=16)[0]['video'].shape == (2, 16, 16, 3)
    v = data.VideoClips(videos, frames=2, uint8=True)[0]['video']
    assert v.dtype == torch.uint8 and v.shape == (2, 32, 32, 3)

def test_dataloader_with_workers(videos):
    ds = data.VideoClips(videos, frames=8, size=16)
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2.clips == ds.clips
    seen = []
    for b in DataLoader(ds, batch_size=3, shuffle=True, num_workers=2, generator=torch.Generator().manual_seed(0)):
        assert b['video'].shape[1:] == (8, 16, 16, 3) and len(b['caption']) == len(b['file'])
        seen += [(f, int(s)) for f, s in zip(b['file'], b['start'])]
    assert sorted(seen) == sorted((ds.names[f], s) for f, s in ds.clips)

def test_split_by_file_is_disjoint_and_stable(tmp_path):
    root = data.fake_videos(tmp_path/'many', {f'c{i}.mp4': 8 for i in range(10)})
    tr = data.VideoClips(root, 8, split='train', test_fraction=0.3)
    te = data.VideoClips(root, 8, split='test', test_fraction=0.3)
    assert len(te.files) == 3 and not set(tr.names) & set(te.names)
    assert sorted(tr.names + te.names) == sorted(p.name for p in root.glob('*.mp4'))
    assert data.VideoClips(root, 8, split='test', test_fraction=0.3).names == te.names
    assert data.VideoClips(root, 8, split='test', test_fraction=0.3, seed=1).names != te.names
    assert data.VideoClips(sorted(root.glob('*.mp4'))[::-1], 8, split='test', test_fraction=0.3).names == te.names[::-1]

def test_class_folders_give_labels_and_captions(tmp_path):
    root = data.fake_videos(tmp_path/'cls', {'TaiChi/a.mp4': 8, 'TaiChi/b.mp4': 8, 'YoYo/c.mp4': 8})
    ds = data.VideoClips(root, 8)
    assert ds.classes == ['TaiChi', 'YoYo']
    assert [(ds[i]['label'], ds[i]['caption']) for i in range(3)] == [(0, 'tai chi'), (0, 'tai chi'), (1, 'yo yo')]

def test_captions_jsonl_and_mapping(videos):
    (videos/'captions.csv').unlink()
    (videos/'captions.jsonl').write_text(''.join(json.dumps({'file': p.name, 'caption': p.stem})
                                                 + '\n' for p in videos.glob('*.mp4')))
    assert data.VideoClips(videos, 8)[0]['caption'] == 'bird'
    assert data.VideoClips(videos, 8, captions={p.name: 'x' for p in videos.glob('*.mp4')})[0]['caption'] == 'x'

def test_clear_errors(tmp_path, videos):
    (tmp_path/'empty').mkdir()
    with pytest.raises(VidlabError, match='is empty'): data.VideoClips(tmp_path/'empty')
    (tmp_path/'txt').mkdir(); (tmp_path/'txt'/'notes.txt').write_text('x')
    with pytest.raises(VidlabError, match='no video files'): data.VideoClips(tmp_path/'txt')
    with pytest.raises(FileNotFoundError, match='no video folder'): data.VideoClips(tmp_path/'nope')
    with pytest.raises(VidlabError, match='too short'): data.VideoClips(videos, frames=41)
    with pytest.warns(UserWarning, match='dog.mp4'): data.VideoClips(videos, frames=25)
    with pytest.raises(VidlabError, match=r'3 of 4 videos have no caption, e\.g\. bird\.mp4'):
        data.VideoClips(videos, captions={'cat.mp4': 'a cat'})
    (videos/'captions.csv').write_text('file,caption\ncat.mp4,\n')
    with pytest.raises(VidlabError, match='row 1 needs a file and a non-empty caption'): data.VideoClips(videos)
    (tmp_path/'bad').mkdir(); (tmp_path/'bad'/'broken.mp4').write_text('not a video')
    with pytest.raises(VideoError, match='broken.mp4 could not be opened'): data.VideoClips(tmp_path/'bad')
    with pytest.raises(ValueError, match='split'): data.VideoClips(videos, split='val')
    with pytest.raises(ValueError, match='frames'): data.VideoClips(videos, frames=0)

def test_index_file_cache(videos, tmp_path, monkeypatch):
    idx = tmp_path/'index.json'
    a = data.VideoClips(videos, 8, index_file=idx)
    assert len(json.loads(idx.read_text())) == 4
    monkeypatch.setattr(data, 'probe_video', lambda p: (_ for _ in ()).throw(AssertionError('probed again')))
    assert data.VideoClips(videos, 8, index_file=idx).clips == a.clips

# ---- downloads ----------------------------------------------------------------------------------------

def test_download_unreachable_network_says_what_to_do(tmp_path, monkeypatch):
    def down(url, *a, **k): raise urllib.error.URLError('[Errno 101] Network is unreachable')
    monkeypatch.setattr(urllib.request, 'urlopen', down)
    with pytest.raises(VidlabError) as e: data.download(data.UCF101_URL, tmp_path/'UCF101.rar')
    msg = str(e.value)
    assert data.UCF101_URL in msg and 'Network is unreachable' in msg and 'by hand' in msg and 'curl' in msg
    assert not (tmp_path/'UCF101.rar').exists() and not (tmp_path/'UCF101.rar.part').exists()

def test_download_unroutable_address(tmp_path, monkeypatch):
    monkeypatch.undo()                                       # the real urlopen, on an address nothing answers
    with pytest.raises(VidlabError, match=r'could not download http://10\.255\.255\.1/x\.zip'):
        data.download('http://10.255.255.1/x.zip', tmp_path/'x.zip', timeout=1)

def test_download_checksum_and_reuse(tmp_path):
    src = tmp_path/'src.bin'; src.write_bytes(b'frames' * 1000)
    got = data.download(src.as_uri(), tmp_path/'d'/'a.bin', md5=data.md5sum(src))
    assert got.read_bytes() == src.read_bytes()
    with pytest.raises(VidlabError, match='MD5'): data.download(src.as_uri(), tmp_path/'d'/'b.bin', md5='0' * 32)
    assert not list((tmp_path/'d').glob('b.bin*'))
    assert data.download('http://example.invalid/a.bin', got) == got      # already there: no network needed

def test_extract(tmp_path, monkeypatch):
    z = tmp_path/'a.zip'
    with zipfile.ZipFile(z, 'w') as f: f.writestr('x/y.txt', 'zip')
    t = tmp_path/'a.tar.gz'
    with tarfile.open(t, 'w:gz') as f:
        info = tarfile.TarInfo('x/z.txt'); info.size = 3; f.addfile(info, io.BytesIO(b'tar'))
    out = data.extract(t, data.extract(z, tmp_path/'out'))
    assert (out/'x'/'y.txt').read_text() == 'zip' and (out/'x'/'z.txt').read_text() == 'tar'
    (tmp_path/'a.rar').write_bytes(b'Rar!\x1a\x07\x00')
    monkeypatch.setattr(data.shutil, 'which', lambda name: None)
    with pytest.raises(VidlabError, match='install unrar'): data.extract(tmp_path/'a.rar', tmp_path/'out')

# ---- real datasets, on fakes in their own layouts -----------------------------------------------------

def test_ucf101(tmp_path):
    root = data.fake_ucf101(tmp_path/'ucf', classes=('ApplyEyeMakeup', 'YoYo', 'BlowDryHair'))
    split = data.prepare_ucf101(root)
    assert [len(v) for v in split.values()] == [6, 6]
    assert not {p.name for p in split['train']} & {p.name for p in split['test']}
    ds = data.load_video_dataset(f'ucf101:{root}', 'train', frames=8, fps=12.5, size=16)
    assert ds.classes == ['ApplyEyeMakeup', 'BlowDryHair', 'YoYo']
    assert {(b['caption'], b['label']) for b in (ds[i] for i in range(len(ds)))} == \
        {('apply eye makeup', 0), ('blow dry hair', 1), ('yo yo', 2)}
    with pytest.raises(FileNotFoundError, match='trainlist02.txt'): data.prepare_ucf101(root, fold=2)
    plain = data.load_video_dataset(f'ucf101:{root}', 'test', frames=8, labels=None, captions=None)
    assert set(plain[0]) == {'video', 'file', 'start'} and len(plain.files) == 6

def test_ucf101_missing_and_download_failure(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match='download=True'): data.prepare_ucf101(tmp_path/'none')
    monkeypatch.setattr(urllib.request, 'urlopen',
                        lambda *a, **k: (_ for _ in ()).throw(urllib.error.URLError('unreachable')))
    with pytest.raises(VidlabError, match='UCF101.rar'): data.prepare_ucf101(tmp_path/'none', download=True)

def test_kinetics_both_layouts(tmp_path):
    for flat in (False, True):
        root = data.fake_kinetics(tmp_path/f'k{flat}', flat=flat)
        with pytest.warns(UserWarning, match='1 of 5 Kinetics train clips are not on disk'):
            ds = data.load_video_dataset(f'kinetics:{root}', frames=8, size=16)
        assert ds.classes == ['abseiling', 'playing guitar'] and len(ds.files) == 4
        assert {ds[i]['caption'] for i in range(len(ds))} == {'abseiling', 'playing guitar'}
    with pytest.raises(FileNotFoundError, match='annotations/val.csv'): data.prepare_kinetics(root, 'val')

def test_kinetics_nothing_on_disk_points_at_downloaders(tmp_path):
    root = data.fake_kinetics(tmp_path/'k')
    for p in (root/'train').rglob('*.mp4'): p.unlink()
    with pytest.raises(VidlabError, match='does not download from YouTube'): data.prepare_kinetics(root)

def test_kinetics_fetch_from_mirror_offline(tmp_path, monkeypatch):
    "download=True: the annotation csv, the path list and the tar parts, served from local files."
    src = data.fake_kinetics(tmp_path/'src', flat=True)
    tar = tmp_path/'part_0.tar.gz'
    with tarfile.open(tar, 'w:gz') as t:
        for p in (src/'train').glob('*.mp4'): t.add(p, arcname=p.name)
    served = {'annotations/train.csv': src/'annotations'/'train.csv', 'part_0.tar.gz': tar}
    (tmp_path/'paths.txt').write_text(data.KINETICS_URL.format(version='400') + 'train/part_0.tar.gz\n')
    served['k400_train_path.txt'] = tmp_path/'paths.txt'
    asked = []
    def fetch(url, dest, md5=None, timeout=30):
        asked.append(url)
        key = next(k for k in served if url.endswith(k))
        Path(dest).parent.mkdir(parents=True, exist_ok=True); Path(dest).write_bytes(served[key].read_bytes())
        return Path(dest)
    monkeypatch.setattr(data, '_fetch', fetch)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        clips = data.prepare_kinetics(tmp_path/'k400', download=True, parts=1)
    assert asked[0] == 'https://s3.amazonaws.com/kinetics/400/annotations/train.csv'
    assert asked[1] == 'https://s3.amazonaws.com/kinetics/400/train/k400_train_path.txt'
    assert len(clips) == 4 and all(p.parent == tmp_path/'k400'/'train' for p in clips)

def test_vimeo_triplets(tmp_path):
    root = data.fake_vimeo(tmp_path/'v')
    tr, te = data.vimeo_triplets(root, 'train'), data.load_video_dataset(f'vimeo:{root}', 'test')
    assert (len(tr), len(te)) == (2, 1) and te.names == ['00002/0001']
    f0, f1, mid = tr[0]
    ref = data._fake_frames(3, 32, 0)
    for got, want in zip((f0, mid, f1), ref): torch.testing.assert_close(got, want, atol=1 / 255, rtol=0)
    (root/'vimeo_triplet'/'sequences'/'00001'/'0002'/'im2.png').unlink()
    with pytest.raises(VidlabError, match='1 of 2 triplets .* e.g. 00001/0002'): data.vimeo_triplets(root, 'train')
    with pytest.raises(FileNotFoundError, match='vimeo_triplet.zip'): data.vimeo_triplets(tmp_path/'none')

def test_middlebury_triplets_both_layouts(tmp_path):
    root = data.fake_middlebury(tmp_path/'m', ('Dimetrodon', 'Urban2', 'Venus'))
    mb = data.load_video_dataset(f'middlebury:{root}')
    assert mb.names == ['Dimetrodon', 'Urban2', 'Venus'] and mb[1][2].shape == (32, 32, 3)
    batch = next(iter(DataLoader(mb, batch_size=3)))
    assert [b.shape for b in batch] == [(3, 32, 32, 3)] * 3
    (root/'input').rename(root/'other-data'); (root/'gt').rename(root/'other-gt-interp')   # as the zips unpack
    assert data.middlebury_triplets(root).names == mb.names

def test_load_video_dataset_specs(videos):
    assert len(data.load_video_dataset(str(videos), 'all', frames=8).files) == 4
    assert len(data.load_video_dataset(f'folder:{videos}', 'test', frames=8, test_fraction=0.25).files) == 1
    assert len(data.load_video_dataset('carphone', 'all', frames=16, max_size=64)) == 7
    with pytest.raises(ValueError, match='unknown dataset'): data.load_video_dataset('ucf:/x')

@pytest.mark.parametrize('fps', [8, 24, 30000 / 1001, 60])
def test_seek_lands_on_the_same_frames(tmp_path, fps):
    "MP4s are seeked by time, AVIs read by frame number: both give exactly the frames of a full decode."
    for ext in ('.mp4', '.avi'):
        p = data.fake_videos(tmp_path, {f'v{ext}': 90}, fps=fps)/f'v{ext}'
        n, rate = data.probe_video(p)
        full = read_video(p)
        assert n == len(full) == 90
        for start in (1, 2, 37, 80):
            torch.testing.assert_close(data.read_clip(p, start, 4, 3, fps=rate), full[start:start + 10:3])

def test_folders_of_frames_are_videos(tmp_path, videos):
    for seq in ('walk', 'run'):
        for i, f in enumerate(data.moving_shapes(1, 32, 10, seed=len(seq))[0][0]):
            write_image(tmp_path/'seqs'/'Sport'/seq/f'{i:05d}.png', f)
    ds = data.VideoClips(tmp_path/'seqs', frames=5, fps=12)
    assert ds.names == ['Sport/run', 'Sport/walk'] and ds.steps == [2, 2] and ds.classes == ['Sport']
    torch.testing.assert_close(ds[0]['video'], read_video(tmp_path/'seqs'/'Sport'/'run', frame_step=2))
    write_image(videos/'thumbnail.png', torch.zeros(8, 8, 3))          # an image beside videos is no video
    assert 'thumbnail.png' not in ''.join(data.VideoClips(videos, 8).names) and len(data.list_videos(videos)) == 4

def test_step_batches_resume_like_a_straight_run(videos, tmp_path):
    "fit over step_batches: 3 steps, then resumed to 6, ends with the weights of 6 steps in one go."
    from vidlab.train import fit
    ds = data.VideoClips(videos, frames=4, size=8)
    loss = lambda m, b: (m(b['video'].mean((1, 2, 3))) - b['start'].float()[:, None] / 40).pow(2).mean()
    def run(ckpt, stops):
        torch.manual_seed(0); model = torch.nn.Linear(3, 1)
        for steps in stops:
            fit(model, loss, step_batches_of(ds), steps, lr=0.05, ckpt_path=ckpt, resume=True, plot=False,
                progress=False, estimate=False)
        return model.weight.detach().clone()
    step_batches_of = lambda ds: data.step_batches(ds, 4, seed=3, num_workers=2)
    torch.testing.assert_close(run(tmp_path/'a.pt', [6]), run(tmp_path/'b.pt', [3, 6]), rtol=0, atol=0)

def test_kinetics_older_validate_csv(tmp_path):
    root = data.fake_kinetics(tmp_path/'k', split='val')
    (root/'annotations'/'val.csv').rename(root/'annotations'/'validate.csv')    # the DeepMind tarball's name
    with pytest.warns(UserWarning): assert len(data.prepare_kinetics(root, 'val')) == 4

def test_step_batches_shard_over_ranks(videos):
    "Under N processes each rank's step_batches reads its contiguous share of the global batch, with workers."
    ds = data.VideoClips(videos, frames=4, size=8)
    for step in (0, 3):
        whole = [i for i in next(iter(data.StepSampler(len(ds), 4, seed=5, start=step)))]
        shares = [next(iter(data.StepSampler(len(ds), 4, seed=5, start=step, rank=r, world=2))) for r in range(2)]
        assert shares[0] + shares[1] == whole
    one = data.step_batches(ds, 4, seed=5, num_workers=2, rank=0, world=1)(2)
    two = [data.step_batches(ds, 4, seed=5, num_workers=2, rank=r, world=2)(2) for r in range(2)]
    torch.testing.assert_close(torch.cat([b['video'] for b in two]), one['video'])
    assert sum((b['caption'] for b in two), []) == list(one['caption'])
    assert data.step_batches(ds, 4, rank=1, world=2).sharded                  # fit does not cut it again
    with pytest.raises(VidlabError, match='does not split over 3 ranks'): data.StepSampler(len(ds), 4, world=3)

def test_vimeo_triplets_stream_with_workers(tmp_path):
    "Triplets are read from disk by the DataLoader's workers, one item at a time."
    ds = data.vimeo_triplets(data.fake_vimeo(tmp_path/'v', [f'0000{i}/0001' for i in range(1, 6)]), 'train')
    batches = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert [b[0].shape[0] for b in batches] == [2, 2] and batches[0][2].shape == (2, 32, 32, 3)
