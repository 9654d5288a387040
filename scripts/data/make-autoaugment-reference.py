#!/usr/bin/python3
"""Reference values for test/data/autoaugment.test.ts from torchvision 0.14: each RandAugment/TrivialAugmentWide
operation (torchvision.transforms.autoaugment._apply_op, nearest, fill None) on one float image (posterize and
equalize on its 8-bit version), and both augmentation spaces.
Run once: /usr/bin/python3 scripts/data/make-autoaugment-reference.py"""
import json, os
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import RandAugment, TrivialAugmentWide, _apply_op

torch.manual_seed(1)
x = torch.rand(3, 10, 12)
u = (x * 255).to(torch.uint8)
flat = lambda t: [round(float(v), 7) for v in t.reshape(-1)]
ops = {}
for name, mag in [('ShearX', 0.25), ('ShearX', -0.3), ('ShearY', 0.2), ('TranslateX', 3.7), ('TranslateY', -4.2), ('Rotate', 23.0),
                  ('Rotate', -135.0), ('Brightness', 0.5), ('Color', -0.6), ('Contrast', 0.4), ('Sharpness', 0.9), ('Sharpness', -0.5),
                  ('Solarize', 0.5), ('AutoContrast', 0.0), ('Identity', 0.0)]:
    ops[f'{name} {mag}'] = flat(_apply_op(x, name, mag, InterpolationMode.NEAREST, None))
for name, mag in [('Posterize', 3), ('Posterize', 6), ('Equalize', 0.0)]:
    ops[f'{name} {mag}'] = flat(_apply_op(u, name, mag, InterpolationMode.NEAREST, None).float() / 255)
space = lambda s: [[k, [round(float(v), 7) for v in m.reshape(-1)], bool(signed)] for k, (m, signed) in s.items()]
ref = {'x': flat(x), 'u': flat(u.float() / 255), 'ops': ops,
       'randAugmentSpace': space(RandAugment()._augmentation_space(31, (10, 12))),
       'trivialSpace': space(TrivialAugmentWide()._augmentation_space(31))}
with open(os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'data', 'autoaugment-reference.json'), 'w') as f:
    json.dump(ref, f, separators=(',', ':'))
