# SPDX-License-Identifier: GPL-2.0
# What the benchmark scripts share; sourced, not run.

# Install and build what a benchmark needs; results go to build/bench.
bench_prepare() {
	scripts/setup.sh
	scripts/build-kmod.sh >/dev/null
	scripts/build-userspace.sh build/plain >/dev/null
	mkdir -p build/bench
}

# Render gnuplot commands from stdin into PNG $1 (WIDTHxHEIGHT $2); the
# figures were printed already, so a missing gnuplot only loses the plot.
bench_plot() {
	local png=$1 size=${2:-800,500}

	command -v gnuplot >/dev/null ||
		apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || {
		echo "bench: no gnuplot, no plot"
		return 0
	}
	{ echo "set terminal pngcairo size $size noenhanced"
	  echo "set output \"$png\""
	  cat; } | gnuplot && echo "plot: $png"
}
