"""The Laplace approximation the offline learner fits with: MAP weights, posterior precision and
log evidence of a logistic choice with a lapse rate, for many models at once."""

from __future__ import annotations

import numpy as np

# People slip: an answer is taken to be a coin flip this often, so one slip on an obvious pair
# cannot drag the fit the way it does under a plain logistic likelihood.
LAPSE_RATE = 0.08


def laplace(
    x: np.ndarray,
    mean: np.ndarray,
    precision: np.ndarray,
    *,
    offset: np.ndarray | None = None,
    iterations: int = 12,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MAP weights, posterior precision and log evidence of many models at once (x: models ×
    pairs × columns of winner-minus-loser differences), by damped Newton steps."""
    batch, _, width = x.shape
    xt = x.transpose(0, 2, 1)
    shift = np.zeros(x.shape[:2]) if offset is None else np.broadcast_to(offset, x.shape[:2])
    slope_scale = 1 - 2 * LAPSE_RATE

    def log_posterior(w: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        margin = np.matmul(x[rows], w[:, :, None])[:, :, 0] + shift[rows]
        chosen = LAPSE_RATE + slope_scale * sigmoid(margin)
        prior = 0.5 * (precision[rows] * (w - mean[rows]) ** 2).sum(axis=1)
        return np.log(chosen).sum(axis=1) - prior

    def newton(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = sigmoid(np.matmul(x, w[:, :, None])[:, :, 0] + shift)
        chosen = LAPSE_RATE + slope_scale * s
        slope = slope_scale * s * (1 - s)
        gradient = np.matmul(xt, (slope / chosen)[:, :, None])[:, :, 0] - precision * (w - mean)
        curvature = slope**2 / (chosen * (1 - chosen))
        information = np.matmul(xt * curvature[:, None, :], x)
        information += precision[:, :, None] * np.eye(width)
        return gradient, information

    w = mean.copy()
    value = log_posterior(w)
    for _ in range(iterations):
        gradient, information = newton(w)
        step = np.linalg.solve(information, gradient[..., None])[..., 0]
        size = np.ones(batch)
        candidate = w + step
        candidate_value = log_posterior(candidate)
        for _halving in range(6):
            worse = candidate_value < value - 1e-12
            if not worse.any():
                break
            size[worse] *= 0.5
            candidate[worse] = w[worse] + size[worse, None] * step[worse]
            candidate_value[worse] = log_posterior(candidate[worse], worse)
        worse = candidate_value < value
        candidate[worse], candidate_value[worse] = w[worse], value[worse]
        converged = np.abs(candidate_value - value).max() < 1e-7
        w, value = candidate, candidate_value
        if converged:
            break
    _, information = newton(w)
    _, log_det = np.linalg.slogdet(information)
    log_evidence = value + 0.5 * np.log(precision).sum(axis=1) - 0.5 * log_det
    return w, information, log_evidence


def sigmoid(margins: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * margins))
