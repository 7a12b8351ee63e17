"""Resolution of divergence names (f-divergences and the non-f quantities)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import fdiv as _fdiv
from ._validation import check_real

__all__: list[str] = []

#: non-f quantities: name -> (required params, optional params with defaults, logarithmic)
_OTHER = {
    "renyi": (("alpha",), {}, True),
    "tsallis": (("alpha",), {}, False),
    "bhattacharyya": ((), {}, True),
    "wasserstein": ((), {"p": 1.0}, False),
    # no bandwidth: the median heuristic on the samples (as divest.ipm.mmd)
    "mmd2": ((), {"bandwidth": None}, False),
    "energy": ((), {}, False),
}

#: other spellings of the names, with what they mean (lower-case keys; "-" and " " read
#: as "_").  Matching is case-insensitive, so "KL" is "kl".
ALIASES = {
    "kullback_leibler": "kl",
    "reverse_kullback_leibler": "reverse_kl",
    "chi2": "pearson",
    "chi_squared": "pearson",
    "chisquared": "pearson",
    "pearson_chi2": "pearson",
    "neyman_chi2": "neyman",
    "jensen_shannon": "js",
    "jsd": "js",
    "total_variation": "tv",
    "hellinger_squared": "squared_hellinger",
    "mmd": "mmd2",  # divest reports the squared MMD, as divest.ipm.mmd does
    "energy_distance": "energy",
    "w1": "wasserstein(p=1)",
    "w2": "wasserstein(p=2)",
}

#: names refused because they mean different quantities in different places
AMBIGUOUS = {
    "hellinger": ("'hellinger' means H, H^2 or H^2/2 depending on the source: divest has "
                  "'squared_hellinger' = int (sqrt p - sqrt q)^2 in [0, 2] (H^2, no 1/2); "
                  "the Hellinger distance in [0, 1] of ITE/dit is sqrt(squared_hellinger / 2)"),
    "chi": ("'chi' is ambiguous: 'pearson' is int (p - q)^2 / q, 'neyman' is "
            "int (p - q)^2 / p"),
}

#: quantities that only need densities (so quadrature and Monte Carlo apply)
DENSITY_BASED = ("renyi", "tsallis", "bhattacharyya")


@dataclass(frozen=True)
class Spec:
    """A resolved divergence name."""

    base: str
    params: dict = field(default_factory=dict)
    fd: _fdiv.FDivergence | None = None
    logarithmic: bool = False

    @property
    def label(self) -> str:
        return f"{self.base}({_fdiv._fmt_params(self.params)})" if self.params else self.base

    @property
    def is_f(self) -> bool:
        return self.fd is not None

    @property
    def density_based(self) -> bool:
        return self.is_f or self.base in DENSITY_BASED

    @property
    def alpha_fd(self) -> _fdiv.FDivergence:
        """The f-divergence through which a Rényi-type quantity is computed."""
        if self.base in ("renyi", "tsallis"):
            return _fdiv.get_fdivergence("alpha", alpha=self.params["alpha"])
        if self.base == "bhattacharyya":
            return _fdiv.get_fdivergence("squared_hellinger")
        raise ValueError(f"{self.base} is not a Rényi-type quantity")

    def chernoff(self, value):
        """The Chernoff coefficient sum/integral of p^a q^(1-a) implied by the f-divergence value."""
        if self.base in ("renyi", "tsallis"):
            a = self.params["alpha"]
            return 1.0 + a * (a - 1.0) * np.asarray(value, dtype=float)
        return 1.0 - 0.5 * np.asarray(value, dtype=float)

    def from_alpha_value(self, value, se=0.0):
        """Map the alpha-divergence / squared Hellinger value to this quantity (+ delta SE)."""
        value = np.asarray(value, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.base == "renyi":
                a = self.params["alpha"]
                x = a * (a - 1.0) * value
                # x = c_alpha - 1 >= -1; x <= -1 only for disjoint supports (alpha < 1)
                out = np.where(x <= -1.0, np.inf, np.log1p(np.maximum(x, -1.0)) / (a - 1.0))
                out = np.where(np.isinf(value), np.inf, out)
                dse = np.abs(a / (1.0 + x)) * se
            elif self.base == "tsallis":
                # tsallis = (c - 1)/(alpha - 1) = alpha * D_alpha
                a = self.params["alpha"]
                out = a * value
                dse = abs(a) * se
            else:  # bhattacharyya = -log(1 - H^2/2)
                # H^2 = 2 exactly for disjoint supports
                out = np.where(value >= 2.0, np.inf, -np.log1p(-0.5 * np.minimum(value, 2.0)))
                dse = np.abs(0.5 / (1.0 - 0.5 * value)) * se
        return out, dse


    def from_log_chernoff(self, logc):
        """This Rényi-type quantity from log c, c = integral of p^a q^(1-a) (exact in logc)."""
        logc = np.asarray(logc, dtype=float)
        if self.base == "bhattacharyya":
            return -logc
        a = self.params["alpha"]
        if self.base == "renyi":
            return logc / (a - 1.0)
        with np.errstate(over="ignore"):  # c beyond 1e308 is reported as inf
            return np.expm1(logc) / (a - 1.0)

    def log_chernoff_slope(self, logc):
        """|d value / d log c|: turns a relative error of c into an error of the value."""
        if self.base == "bhattacharyya":
            return 1.0
        a = self.params["alpha"]
        if self.base == "renyi":
            return 1.0 / abs(a - 1.0)
        with np.errstate(over="ignore"):
            return float(np.exp(logc)) / abs(a - 1.0)


def canonical(name: str) -> str:
    """``name`` with its base spelled canonically: ``"KL"`` -> ``"kl"``, ``"chi2"`` ->
    ``"pearson"``, ``"Alpha(alpha=2)"`` -> ``"alpha(alpha=2)"`` (see :data:`ALIASES`).

    Unknown names are returned as they are (the caller's error lists the valid ones);
    ambiguous ones (:data:`AMBIGUOUS`) raise ``ValueError`` saying which names to use.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__} {name!r}")
    stripped = name.strip()
    head, paren, rest = stripped.partition("(")
    key = head.strip().lower().replace("-", "_").replace(" ", "_")
    if key in AMBIGUOUS:
        raise ValueError(f"name={name!r}: {AMBIGUOUS[key]}")
    if key in ALIASES:
        target = ALIASES[key]
        if paren and "(" in target:
            raise ValueError(f"name={name!r}: {head.strip()!r} stands for {target!r}, which "
                             "already fixes its parameters")
        return target + (paren + rest if paren else "")
    known = _fdiv.fdivergences() + tuple(_OTHER)
    if key in known and key != head:
        return key + paren + rest
    return name


def accepted_params(name) -> tuple[str, ...]:
    """Parameter names the divergence ``name`` takes (empty for unknown names)."""
    base = _fdiv.parse_label(canonical(name))[0] if isinstance(name, str) else name
    if base in _fdiv._REGISTRY:
        return _fdiv._REGISTRY[base][1]
    if base in _OTHER:
        required, optional, _ = _OTHER[base]
        return tuple(required) + tuple(optional)
    return ()


def resolve_base_is_density(base: str) -> bool:
    """Whether a base name is density-based (an f-divergence, renyi or bhattacharyya)."""
    return base in _fdiv.fdivergences() or base in DENSITY_BASED


def all_names() -> tuple[str, ...]:
    return _fdiv.fdivergences() + tuple(_OTHER)


def resolve(name, **params) -> Spec:
    """Resolve a name (possibly with parameters) to a :class:`Spec`; raise listing valid names."""
    base, params = _fdiv.merge_params(canonical(name), params)
    if base in _fdiv.fdivergences():
        fd = _fdiv.get_fdivergence(base, **params)
        return Spec(base, dict(fd.params), fd, fd.logarithmic)
    if base not in _OTHER:
        raise ValueError(f"unknown divergence name={base!r}; valid names: {', '.join(all_names())}")
    required, optional, log = _OTHER[base]
    missing = [p for p in required if p not in params]
    extra = [p for p in params if p not in required and p not in optional]
    if missing:
        raise ValueError(f"{base!r} needs parameter(s) {missing}; got {params}")
    if extra:
        raise ValueError(f"{base!r} takes parameter(s) {list(required) + list(optional)}; "
                         f"got unexpected {extra}")
    full = {k: v for k, v in {**optional, **params}.items() if v is not None}
    if base in ("renyi", "tsallis"):
        full["alpha"] = check_real(full["alpha"], "alpha", low=0.0, exclude=(1.0,))
    if base == "wasserstein":
        full["p"] = check_real(full["p"], "p", low=1.0, low_open=False)
    if base == "mmd2" and "bandwidth" in full:
        full["bandwidth"] = check_real(full["bandwidth"], "bandwidth", low=0.0)
    return Spec(base, full, None, log)


def value_range(name) -> tuple[float, float] | None:
    """The values the divergence ``name`` can take, ``(low, high)``; ``None`` if unknown.

    f-divergences: their ``value_range``; Rényi, Tsallis (alpha > 0), Bhattacharyya,
    Wasserstein, MMD^2, the energy distance and (conditional) mutual information
    (``"mi"``, ``"cmi"``) are non-negative.
    """
    if name in ("mi", "cmi"):
        return 0.0, math.inf
    try:
        spec = resolve(name)
    except (ValueError, TypeError):
        return None
    if spec.is_f:
        return float(spec.fd.value_range.low), float(spec.fd.value_range.high)
    if spec.base in ("renyi", "tsallis") and spec.params["alpha"] < 0:
        return None
    return 0.0, math.inf


def to_base(value, base):
    """Convert a value in nats to the unit of ``base`` (None: nats)."""
    if base is None:
        return value
    return value / math.log(base)
