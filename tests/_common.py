"""Names and constants shared by the test modules."""

import math

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)

#: every registered f-divergence, families at several parameters
F_NAMES = ["kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffreys", "js",
           "js_weighted(pi=0.25)", "js_weighted(pi=0.5)", "js_weighted(pi=0.8)", "gan", "tv",
           "alpha(alpha=-1)", "alpha(alpha=0.5)", "alpha(alpha=2)", "alpha(alpha=3)"]
#: the density-based quantities that are not f-divergences
OTHER_NAMES = ["renyi(alpha=0.5)", "renyi(alpha=2)", "renyi(alpha=3)", "tsallis(alpha=0.5)",
               "tsallis(alpha=2)", "bhattacharyya"]
