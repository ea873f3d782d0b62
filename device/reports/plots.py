"""The evaluation's pictures as PNG bytes: DET curve, score histograms, error versus discard (matplotlib, Agg).

``Figure`` + ``FigureCanvasAgg`` directly, not pyplot: no global figure state, so web threads may
draw at once, and no display is ever looked for. The PNGs show rates and scores only.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    # Fixed metadata: the same evaluation draws the same bytes (no software/date stamp).
    fig.savefig(out, format="png", dpi=100, metadata={"Software": None})
    return out.getvalue()


def det_png(fmr: np.ndarray, fnmr: np.ndarray, n_impostor: int, n_genuine: int, lines: dict[str, float],
            points: dict[str, tuple[float, float]]) -> bytes:  # fmt: skip
    """FNMR against FMR on log axes; rates of 0 sit at the floor one pair would make."""
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    floor_x, floor_y = 1 / max(n_impostor, 1) / 2, 1 / max(n_genuine, 1) / 2
    ax.plot(np.maximum(fmr, floor_x), np.maximum(fnmr, floor_y), color="#2f5d8a", drawstyle="steps-post")
    for label, (x, y) in points.items():
        ax.plot([max(x, floor_x)], [max(y, floor_y)], "o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"false match rate ({n_impostor} impostor pairs)")
    ax.set_ylabel(f"false non-match rate ({n_genuine} genuine pairs)")
    ax.set_title("DET curve")
    ax.axvline(1 / max(n_impostor, 1), color="grey", linestyle=":", label="one impostor pair")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def scores_png(genuine: np.ndarray, impostor: np.ndarray, lines: dict[str, float]) -> bytes:
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    bins = np.linspace(-0.3, 1.0, 66)
    ax.hist(impostor, bins=bins, density=True, alpha=0.6, color="#b5533c", label=f"impostor ({len(impostor)})")
    ax.hist(genuine, bins=bins, density=True, alpha=0.6, color="#2f5d8a", label=f"genuine ({len(genuine)})")
    for (label, value), style in zip(lines.items(), ("-", "--", ":"), strict=False):
        ax.axvline(value, color="black", linestyle=style, label=f"{label} {value:.3f}")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("density")
    ax.set_title("Score distributions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def edc_png(edc: dict) -> bytes:
    """Error versus discard: FNMR at the line against the share of lowest-quality photos discarded,
    the unified score bold, each component thin; the gate's own cut as a vertical line."""
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    if "curves" in edc:
        for name, points in edc["curves"].items():
            pts = [(d, f) for d, f, _ in points if f is not None]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            bold = name == "unified"
            ax.plot(xs, ys, drawstyle="steps-post", linewidth=2.5 if bold else 1.0, alpha=1.0 if bold else 0.7,
                    color="#2f5d8a" if bold else None, label=name)  # fmt: skip
        ax.axvline(edc["gate_discards"], color="grey", linestyle=":", label=f"gate fails {edc['gate_discards']:.0%}")
        ax.set_xlabel(f"share of photos discarded, lowest quality first ({edc['photos']} photos)")
        ax.set_ylabel(f"FNMR at the line {edc['line']:.3f} ({edc['genuine_pairs']} genuine pairs)")
        ax.legend(fontsize=7, ncol=2, loc="best", framealpha=0.6)
    else:
        ax.text(0.5, 0.5, edc.get("note", "no data"), ha="center", va="center", wrap=True)
    ax.set_title("Error versus discard (quality gate)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _png(fig)
