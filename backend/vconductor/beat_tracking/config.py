"""The beat network's shape, without torch: the training side (network.py) and the runtime (numpy_network.py)
both build from it, and every weights file records it."""

from dataclasses import asdict, dataclass, fields

from .features import N_BANDS

OUTPUTS = ("beat", "downbeat")


@dataclass(frozen=True)
class BeatNetworkConfig:
    """The network's shape (stored in its weights file, so a file rebuilds the network it was trained as)."""

    n_bands: int = N_BANDS
    frontend_channels: int = 48
    frontend_kernel: int = 1  # frames the front end sees at once (the TCN's first layer adds +-2)
    flux: bool = False  # also feed each band's rise since the previous frame (onsets), computed inside
    channels: int = 32
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    dropout: float = 0.1

    def to_dict(self) -> dict:
        out = asdict(self)
        out["dilations"] = list(self.dilations)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "BeatNetworkConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown beat network settings: {', '.join(unknown)}")
        values = dict(values)
        if "dilations" in values:
            values["dilations"] = tuple(int(d) for d in values["dilations"])
        return cls(**values)

    @property
    def context_frames(self) -> int:
        """Frames each side that can change an output frame: the front end's plus the TCN's reach."""
        return int(self.flux) + (self.frontend_kernel - 1) // 2 + (self.kernel - 1) // 2 * sum(self.dilations)

    @property
    def input_channels(self) -> int:
        return self.n_bands * (2 if self.flux else 1)
