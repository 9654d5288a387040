#!/usr/bin/python3
# Reference values for lathe's image transforms from torchvision 0.14 (Debian's python3-torchvision) and Pillow,
# written once to test/fixtures/data/image-reference.json, with the small PNGs the image-folder cases read
# (test/fixtures/data/image-folder/). Run: /usr/bin/python3 scripts/data/make-image-reference.py
import json, os
import numpy as np
import torch
from PIL import Image
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode as IM

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'data')
torch.manual_seed(0)
rng = np.random.default_rng(0)
ref = {}
flat = lambda t: [round(float(v), 7) for v in t.reshape(-1)]

# colour: one 3x4x5 image, each op alone and a chain; the two-pixel greyscale case
img = torch.rand(3, 4, 5)
ref['colour_input'] = flat(img)
ref['colour'] = {
    'brightness_1.3': flat(F.adjust_brightness(img, 1.3)),
    'contrast_0.7': flat(F.adjust_contrast(img, 0.7)),
    'contrast_1.8': flat(F.adjust_contrast(img, 1.8)),
    'saturation_1.6': flat(F.adjust_saturation(img, 1.6)),
    'saturation_0.4': flat(F.adjust_saturation(img, 0.4)),
    'hue_0.2': flat(F.adjust_hue(img, 0.2)),
    'hue_-0.35': flat(F.adjust_hue(img, -0.35)),
    'chain': flat(F.adjust_saturation(F.adjust_brightness(F.adjust_hue(F.adjust_contrast(img, 0.6), 0.1), 1.4), 0.3)),
}
two = torch.tensor([[[1.0, 0.0]]])
ref['colour_two_pixels'] = flat(F.adjust_contrast(F.adjust_brightness(two, 1.3), 0.7))

# resize of float tensors: torchvision's tensor path (antialias True = PIL's filters, False = F.interpolate)
small = torch.rand(2, 7, 9)
ref['resize_input'] = flat(small)
cases = {}
for (oh, ow) in [(4, 5), (13, 17), (7, 4)]:
    for mode, name in [(IM.BILINEAR, 'bilinear'), (IM.BICUBIC, 'bicubic')]:
        for aa in [True, False]:
            cases[f'{name}_{aa}_{oh}x{ow}'] = flat(F.resize(small, [oh, ow], interpolation=mode, antialias=aa))
ref['resize'] = cases
impulse = torch.zeros(1, 1, 8)
impulse[0, 0, 3] = 1.0
impulse[0, 0, 4] = 1.0
ref['impulse_8_to_16'] = flat(F.resize(impulse, [1, 16], interpolation=IM.BILINEAR, antialias=True))

# geometry on the same 2x7x9 input
geo = {
    'center_crop_4x5': flat(F.center_crop(small, [4, 5])),
    'center_crop_4x6': flat(F.center_crop(small, [4, 6])),
    'center_crop_9x11': flat(F.center_crop(small, [9, 11])),
    'vflip': flat(F.vflip(small)),
    'resized_crop_1_2_5x6_to_8x8': flat(F.resized_crop(small, 1, 2, 5, 6, [8, 8], interpolation=IM.BILINEAR, antialias=True)),
}
for mode in ['constant', 'edge', 'reflect', 'symmetric']:
    geo[f'pad_{mode}'] = flat(F.pad(small, [1, 2, 3, 1], fill=0.5 if mode == 'constant' else 0, padding_mode=mode))
ref['geometry'] = geo

# image folder: PNGs decoded and resized by Pillow as torchvision's ImageFolder + Resize would
folder = os.path.join(ROOT, 'image-folder', 'a')
os.makedirs(folder, exist_ok=True)
rgb = Image.fromarray(rng.integers(0, 256, (11, 13, 3), dtype=np.uint8), 'RGB')
rgb.save(os.path.join(folder, 'noise.png'))
prim = np.zeros((11, 13, 3), dtype=np.uint8)
prim[:, 0:3] = [255, 0, 0]
prim[:, 3:6] = [0, 255, 0]
prim[:, 6:9] = [0, 0, 255]
prim[:, 9:] = [200, 120, 40]
Image.fromarray(prim, 'RGB').save(os.path.join(folder, 'primaries.png'))
pil = {}
for fname in ['noise.png', 'primaries.png']:
    im = Image.open(os.path.join(folder, fname))
    for ch, mode in [(3, 'RGB'), (1, 'L')]:
        conv = im.convert(mode)
        pil[f'{fname}_{ch}_native'] = np.asarray(conv).reshape(-1).tolist() if ch == 1 else np.asarray(conv).transpose(2, 0, 1).reshape(-1).tolist()
        for (h, w) in [(7, 9), (20, 26)]:
            for name, rs in [('bilinear', Image.BILINEAR), ('bicubic', Image.BICUBIC), ('nearest', Image.NEAREST)]:
                a = np.asarray(conv.resize((w, h), rs))
                a = a[None] if ch == 1 else a.transpose(2, 0, 1)
                pil[f'{fname}_{ch}_{name}_{h}x{w}'] = a.reshape(-1).tolist()
ref['pil'] = pil

# PNG layouts the JS decoder must read as Pillow does (convert('RGB') and convert('L'))
pngdir = os.path.join(ROOT, 'png')
os.makedirs(pngdir, exist_ok=True)
base = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8), 'RGB')
variants = {
    'L': base.convert('L'), 'LA': base.convert('LA'), 'RGB': base, 'RGBA': base.convert('RGBA'),
    'P8': base.quantize(200), 'P4': base.quantize(12), '1': base.convert('1'),
}
png = {}
for name, im in variants.items():
    path = os.path.join(pngdir, f'{name}.png')
    im.save(path, bits=4) if name == 'P4' else im.save(path)
    back = Image.open(path)
    png[name] = {'RGB': np.asarray(back.convert('RGB')).transpose(2, 0, 1).reshape(-1).tolist(), 'L': np.asarray(back.convert('L')).reshape(-1).tolist()}
ref['png'] = png

with open(os.path.join(ROOT, 'image-reference.json'), 'w') as f:
    json.dump(ref, f, separators=(',', ':'))
