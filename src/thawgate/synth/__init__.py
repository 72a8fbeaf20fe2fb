"""The synthetic exchange: staff, accounts with histories, and a labelled request stream."""

from thawgate.synth.generate import generate
from thawgate.synth.world import BENIGN, SCENARIOS, SynthRequest, World

__all__ = ["BENIGN", "SCENARIOS", "SynthRequest", "World", "generate"]
