#!/usr/bin/python3
"""Draws a soak run (scripts/soak.mjs's samples.csv) as one PNG: memory, event-loop delay, queues, rates, drops.

    soak-plot.py samples.csv soak.png [TITLE]

Needs Debian's python3-matplotlib (no PyPI). Flood bursts are shaded.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "soak"
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{src}: no samples")

    def col(name):
        return [float(r[name]) if r.get(name) not in (None, "") else float("nan") for r in rows]

    t = [x / 60 for x in col("t_s")]
    flood = col("flood")
    fig, axes = plt.subplots(5, 1, figsize=(11, 13), sharex=True)
    panels = [
        ("memory (MiB)", [("rss_mib", "RSS"), ("heap_used_mib", "JS heap used")]),
        ("event-loop delay (ms)", [("loop_delay_p99_ms", "p99 per interval"), ("loop_delay_max_ms", "max per interval")]),
        ("flow batches waiting", [("batches_waiting", "for verdicts/sinks"), ("batches_classifying", "in the model"), ("batches_writing_sqlite", "in the SQLite writer")]),
        ("rates", [("packets_per_s", "packets/s"), ("flows_per_s", "flows/s (x100)")]),
        ("flows / drops", [("flows_active", "active flows"), ("kernel_dropped", "kernel drops (cumulative)")]),
    ]
    for ax, (label, series) in zip(axes, panels):
        for name, legend in series:
            y = col(name)
            if name == "flows_per_s":
                y = [v * 100 for v in y]
            ax.plot(t, y, label=legend, linewidth=1)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        # Shade the samples taken while a flood burst was on.
        for i, fl in enumerate(flood):
            if fl == 1:
                left = t[i - 1] if i > 0 else t[i]
                ax.axvspan(left, t[i], color="orange", alpha=0.2, linewidth=0)
    axes[-1].set_xlabel("minutes")
    fig.suptitle(f"sensor soak: {title} (orange: flood bursts)")
    fig.tight_layout()
    fig.savefig(dst, dpi=90)


if __name__ == "__main__":
    main()
