# Latency against payload size, one line per implementation, log-log (make bench-peers).
# Called by bench/peers/run.py with: datafile, outfile, plottitle, ncols, and lts, the number of
# each column's implementation in run.py's list (so that an implementation has the same colour
# and point in both plots, whichever rows a filesystem runs). The data file has a header line of
# quoted implementation names, then "size us us ..." per payload size; "?" marks a gap.
set terminal svg size 800,600 dynamic font "sans,12" background "white"
set output outfile
set title plottitle noenhanced
set datafile missing "?"
set logscale xy
set xrange [70:1.5e6]
set xtics ("100 B" 100, "4 KiB" 4096, "64 KiB" 65536, "1 MiB" 1048576)
set xlabel "payload"
set ylabel "median time per write (us)"
set format y "%g"
set grid xtics ytics mytics
set key below left Left reverse maxcols 2 noenhanced
# The floor is the reference: black and dashed; libajio (2) is drawn thicker.
set linetype 1 lc rgb "#000000" dt 2
set linetype 2 lc rgb "#009e73"
set linetype 3 lc rgb "#56b4e9"
set linetype 4 lc rgb "#0072b2"
set linetype 5 lc rgb "#e69f00"
set linetype 6 lc rgb "#d55e00"
set linetype 7 lc rgb "#cc79a7"
set linetype 8 lc rgb "#8b4513"
set linetype 9 lc rgb "#7b3294"
lt(i) = word(lts, i - 1) + 0
plot for [i=2:ncols] datafile using 1:i with linespoints lt lt(i) lw (lt(i) == 2 ? 4 : 2) \
    pt lt(i) ps 1.2 title columnheader(i)
