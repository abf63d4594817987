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
    # Each panel: a label, the series on the left axis, and optionally one on a right axis (other units).
    panels = [
        ("memory (MiB)", [("rss_mib", "RSS"), ("heap_used_mib", "JS heap used")], None),
        ("event-loop delay (ms)", [("loop_delay_p99_ms", "p99 per interval"), ("loop_delay_max_ms", "max per interval")], None),
        ("flow batches waiting", [("batches_waiting", "for verdicts/sinks"), ("batches_classifying", "in the model"), ("batches_writing_sqlite", "in the SQLite writer")], None),
        ("packets/s", [("packets_per_s", "packets/s")], ("flows_per_s", "flows written/s (right)")),
        ("active flows", [("flows_active", "active flows")], ("kernel_dropped", "kernel drops, cumulative (right)")),
    ]
    for ax, (label, series, right) in zip(axes, panels):
        for name, legend in series:
            ax.plot(t, col(name), label=legend, linewidth=1)
        handles, labels = ax.get_legend_handles_labels()
        if right:
            ax2 = ax.twinx()
            ax2.plot(t, col(right[0]), label=right[1], linewidth=1, color="tab:red")
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(handles, labels, loc="upper left", fontsize=8)
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
