"""Simulated UPSes on pseudo-terminals, for testing serial drivers without hardware."""

from support.sim.base import PtySim
from support.sim.megatec import MegatecSim

__all__ = ["MegatecSim", "PtySim"]
