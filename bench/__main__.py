"""python -m bench [--quick]: dlteach against PyTorch and raw matmul speed, then the widget callbacks."""

import argparse
import sys

from bench import core


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats: checks that the benchmarks run")
    args = parser.parse_args(argv)

    rows, gflops, mlp_gflops, products_gflops = core.run(quick=args.quick)
    print(f"{'case':<12} {'what':<44} {'dlteach ms':>10} {'torch ms':>9} {'ratio':>6} {'limit':>6}  verdict")
    for name, what, ours, theirs, ratio, limit, verdict in rows:
        if ratio is None:
            print(f"{name:<12} {what:<44} {'-':>10} {'-':>9} {'-':>6} {limit:>6.2f}  {verdict}")
        else:
            print(f"{name:<12} {what:<44} {ours:>10.2f} {theirs:>9.2f} {ratio:>6.2f} {limit:>6.2f}  {verdict}")
    print(f"\nraw float32 matmul (1024 x 1024): {gflops:.1f} GFLOP/s")
    print(f"the MLP step's own products, called bare: {products_gflops:.1f} GFLOP/s = {products_gflops / gflops:.0%} "
          "of raw matmul (the ceiling for the step)")
    if mlp_gflops is not None:
        share = mlp_gflops / gflops
        verdict = "ok" if share >= core.MIN_MATMUL_SHARE else "BELOW the limit"
        print(f"MLP step achieved: {mlp_gflops:.1f} GFLOP/s = {share:.0%} of raw matmul "
              f"(limit >= {core.MIN_MATMUL_SHARE:.0%})  {verdict}; {mlp_gflops / products_gflops:.0%} of its products' ceiling")

    try:
        from bench import widgets
    except ImportError:
        return 0
    print()
    widgets.main(["--quick"] if args.quick else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
