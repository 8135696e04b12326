"""vconductor: music to orchestral-conductor motion (M2S-Net / M2S-GAN backend)."""

__version__ = "0.1.0"
