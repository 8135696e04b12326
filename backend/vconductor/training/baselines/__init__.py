"""The comparison models of the paper's Table 2, trainable on the standard dataset layout.

- ``lstm``: Shlizerman et al. - MFCC -> one uni-directional LSTM (200 units) -> dense layers; MSE loss.
- ``cnn_lstm``: Yalta et al. - a CNN over the mel -> LSTM encoder-decoder; MSE + a contrastive loss that pulls
  the encoder's features towards those of the true motion and away from another sample's.
- ``gan``: Ginosar et al.'s loss (WGAN-GP adversarial + L1) on KHMM's three music features: a pitch proxy,
  loudness and a sawtooth beat signal.
All features are derived from the dataset's mel (see features.py), so no audio is needed.
"""

from .inference import load_baseline
from .trainer import BaselineTrainer, train_baseline

__all__ = ["BaselineTrainer", "load_baseline", "train_baseline"]
