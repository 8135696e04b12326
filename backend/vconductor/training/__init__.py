"""Training M2S-Net (stage 1), M2S-GAN (stage 2) and the paper's Table-2 baselines.

`vconductor train sync|gan|baseline`; see docs/training.md for usage and every difference from the official
training code (docs/official-model.md#training).
"""
