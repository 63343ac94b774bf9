"""`python -m bench` (`make bench`): a quick side-by-side summary of the headline ratios.

By default a quick subset runs, each at a small size, and one table sums it up, every figure
against a baseline measured in the same run (minutes, not hours):

- bench.clerk_query: the hub (resolvers and compiled, 2 workers) against PostGraphile (aim ≥ 1.0;
  the compiled path in alternated rounds, the round with the median p99 ratio summed up, with the
  CPU each server and PostgreSQL spent per request in that round);
- bench.trivial: the hub's `{ viewer }` against a bare strawberry app (aim ≥ 0.7);
- bench.scale at 50,000 applicants (250,000 materials, 500,000 log entries) against 5,000: the
  clerk's query and the notice, p50 and p99, large / small (aim ≤ 1.2); export and verify rates;
- bench.audit's offline verification of a 200,000-entry export against plain SHA-256 of its lines;
- bench.soak for 60 s: errors, a gapless verified log, RSS peak over RSS at the start of the
  window (the full soak's window starts at minute 2; a soak under 4 minutes judges its second half).

Every size and duration is the benchmark's own variable (HUB_SCALE_*, HUB_SOAK_SECONDS,
HUB_BENCH_VERIFY_ENTRIES, HUB_BENCH_SECONDS), set here only when unset, so
`HUB_SCALE_APPLICANTS=1000000 python -m bench` runs the summary at full size.

    python -m bench            # the quick summary
    python -m bench --all      # every benchmark module in full, one after another, as before
                               # (bench.scale's full size and the 10-minute soak: over an hour here)
"""

from __future__ import annotations

import importlib
import os
import sys

MODULES = (
    "bench.trivial",
    "bench.graphql_read",
    "bench.clerk_query",
    "bench.documents",
    "bench.audit",
    "bench.notice",
    "bench.supervision",
    "bench.edge",
    "bench.scale",
    "bench.soak",
)

QUICK = {
    "HUB_BENCH_SECONDS": "3",
    "HUB_SCALE_APPLICANTS": "50000",
    "HUB_SCALE_BASE_APPLICANTS": "5000",
    "HUB_SCALE_ROUNDS": "2",
    "HUB_SOAK_SECONDS": "60",
    "HUB_BENCH_VERIFY_ENTRIES": "200000",
}


def run_all() -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        print(f"\n== {name} ==", flush=True)
        module.main()


def summary() -> list[list[object]]:
    """Run the quick subset (each prints its own tables) and return the summary's rows."""
    for variable, value in QUICK.items():
        os.environ.setdefault(variable, value)
    # Imported after the sizes are set: the modules read them at import.
    from bench import audit, clerk_query, scale, soak, trivial
    from bench.common import print_table

    rows: list[list[object]] = [["benchmark", "measure", "figure", "against (same run)", "ratio", "aim"]]

    print("\n== bench.clerk_query ==", flush=True)
    clerk = clerk_query.main()
    served = clerk.results
    baseline = served.get("postgraphile")
    for name, result in served.items():
        if name != "postgraphile" and name.startswith("hub, 2 workers") and baseline is not None:
            rows.append(
                [
                    "clerk_query",
                    f"{name} req/s (p99 {result.p99_ms:.0f} ms)",
                    f"{result.per_second:.0f}",
                    f"PostGraphile {baseline.per_second:.0f} (p99 {baseline.p99_ms:.0f} ms)",
                    f"{result.per_second / baseline.per_second:.2f}",
                    "≥ 1.0",
                ]
            )

    median = clerk.median_round
    if median is not None:
        rows.append(
            [
                "clerk_query",
                "hub, 2 workers, compiled: CPU ms per request, own + PostgreSQL (same round)",
                str(median.hub_cpu),
                f"PostGraphile {median.postgraphile_cpu}",
                f"{median.cpu:.2f}",
                "",
            ]
        )

    print("\n== bench.trivial ==", flush=True)
    best = trivial.main()
    bare = best["bare strawberry"]
    rows.append(
        [
            "trivial",
            "hub { viewer } req/s",
            f"{best['hub'].per_second:.0f}",
            f"bare strawberry {bare.per_second:.0f}",
            f"{best['hub'].per_second / bare.per_second:.2f}",
            "≥ 0.7",
        ]
    )

    print("\n== bench.scale ==", flush=True)
    figures = scale.main()
    small, large = figures.sizes["small"][0], figures.sizes["large"][0]
    for query in ("clerk's query", "notice"):
        for percentile, attribute in (("p50", "p50_ms"), ("p99", "p99_ms")):
            at_large = getattr(figures.latency[query, "large"], attribute)
            at_small = getattr(figures.latency[query, "small"], attribute)
            rows.append(
                [
                    "scale",
                    f"{query} {percentile}, {large:,} vs {small:,} applicants",
                    f"{at_large:.1f} ms",
                    f"{at_small:.1f} ms",
                    f"{at_large / at_small:.2f}",
                    "≤ 1.2",
                ]
            )
    rows.append(
        [
            "scale",
            f"hub audit verify of the large log, per CPU-s (wall {figures.verified_per_second:,.0f}/s)",
            f"{figures.verified_per_cpu_second:,.0f}/s",
            "",
            "",
            "≥ 300,000/s",
        ]
    )
    rows.append(["scale", "hub audit export of the large log", f"{figures.exported_per_second:,.0f}/s", "", "", ""])

    print("\n== bench.audit (verification) ==", flush=True)
    verification = audit.verification()
    print_table(verification)
    hashlib_cpu, verify_wall, verify_cpu = verification[1][2], verification[3][1], verification[3][2]
    rows.append(
        [
            "audit",
            f"verify {int(os.environ['HUB_BENCH_VERIFY_ENTRIES']):,} entries, per CPU-s (wall {verify_wall}/s)",
            f"{verify_cpu}/s",
            f"SHA-256 of the lines {hashlib_cpu}/s",
            verification[3][3],
            "",
        ]
    )

    print("\n== bench.soak ==", flush=True)
    soaked = soak.main()
    processes = soak.PROCESSES
    rows.append(
        [
            "soak",
            f"errors, {processes} processes, {soak.SECONDS:.0f} s",
            soaked.errors,
            f"{soaked.requests:,} requests",
            "",
            "0",
        ]
    )
    rows.append(
        ["soak", "log gapless and verified", "yes" if soaked.gapless and soaked.verified else "NO", "", "", "yes"]
    )
    rows.append(["soak", "RSS peak / RSS at window start", "", "", f"{soaked.peak_rss_ratio:.3f}", "≤ 1.10"])
    return rows


def main() -> None:
    if "--all" in sys.argv[1:]:
        run_all()
    else:
        rows = summary()
        from bench.common import print_table  # after summary() set the quick sizes it reads at import

        print("\n== summary: headline figures, each against its baseline in the same run ==")
        print_table(rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
