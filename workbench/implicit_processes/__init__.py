"""Sparse Implicit Processes (SIP; Santana, Zaldívar, Hernández-Lobato, ICML 2022) in PyTorch, and their use to correct
a wrongly assumed model (Santana, Ortega, Hernández-Lobato, Zaldívar, 2022).

* :mod:`.priors`: implicit-process priors that draw function samples (BNN, neural sampler, GP, a physical model);
* :mod:`.sparse`: moments of prior samples and the Gaussian conditional ``p(f_x | u)``;
* :mod:`.posterior`: the implicit posterior ``q(u)`` (a neural sampler);
* :mod:`.discriminator`: the KL between two implicit distributions, read from a classifier;
* :mod:`.energy`: the α-energy data term;
* :mod:`.sip`: the model and its training (``SIP(...).fit(X, y).predict(X*)``);
* :mod:`.predictive`: mixture predictives and their scores (test log-likelihood, RMSE, CRPS);
* :mod:`.gp`, :mod:`.vi_bnn`, :mod:`.assumed`: the baselines (exact GP, SVGP, mean-field VI BNN) and the assumed
  physical model's exact posterior;
* :mod:`.datasets`: the paper's synthetic sets, their generators, the bias case, two real sets, the splits;
* :mod:`.experiments`: ``reproduce`` (quick in-process, the full grid on the runner);
* :mod:`.explorer`: the page (``Explorer``, loaded on first use: the core never imports the UI).
"""

from workbench.implicit_processes.assumed import AssumedOscillator
from workbench.implicit_processes.datasets import (DATASETS, RegressionData, bimodal, heteroscedastic, load, oscillator,
                                                   split)
from workbench.implicit_processes.discriminator import Discriminator, discriminator_loss, kl_estimate
from workbench.implicit_processes.energy import alpha_energy
from workbench.implicit_processes.experiments import reproduce
from workbench.implicit_processes.gp import ExactGP, SparseVariationalGP
from workbench.implicit_processes.posterior import InducingSampler
from workbench.implicit_processes.predictive import GaussianMixture, crps_gaussian_mixture
from workbench.implicit_processes.priors import (PRIORS, BNNPrior, GPPrior, ImplicitPrior, NeuralSamplerPrior,
                                                 OscillatorPrior, make_prior)
from workbench.implicit_processes.sip import RELEASED, SIP
from workbench.implicit_processes.sparse import Moments, conditional, empirical_moments
from workbench.implicit_processes.vi_bnn import VIBNN

__all__ = ["ImplicitPrior", "BNNPrior", "NeuralSamplerPrior", "GPPrior", "OscillatorPrior", "PRIORS", "make_prior",
           "Moments", "empirical_moments", "conditional", "InducingSampler", "Discriminator", "discriminator_loss",
           "kl_estimate", "alpha_energy", "SIP", "RELEASED", "GaussianMixture", "crps_gaussian_mixture", "ExactGP",
           "SparseVariationalGP", "VIBNN", "AssumedOscillator", "DATASETS", "RegressionData", "load", "split",
           "bimodal", "heteroscedastic", "oscillator", "reproduce", "Explorer", "warmup"]


def __getattr__(name):
    if name == "Explorer":
        from workbench.implicit_processes.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warmup() -> None:
    """Load the paper's data sets (what the page starts from) before the first visitor."""
    for name in ("bimodal", "heteroscedastic"):
        load(name)
