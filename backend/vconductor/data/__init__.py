"""Training data: the ConductorMotion100 layout (reader and validation), building samples from one's own
recordings (pose-estimator output + audio) and a synthetic, truly synchronised dataset.

The folder also holds package data (``mel_filterbank.npz``, used by ``vconductor.audio``).
"""
