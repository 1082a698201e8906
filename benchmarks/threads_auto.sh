#!/usr/bin/env bash
# The thread policy as a user meets it: a fit alone, a fit started a minute after a busy loop, and
# a second fit started a minute after a first; then the two cases of the quarter-second measure.
# Run it alone on the machine: python -m benchmarks.threads measures fixed thread counts.
cd "$(dirname "$0")/.."
FIT='import sys
from fairsynth import PTGANSynthesizer, load_dataset
m = PTGANSynthesizer(epochs=int(sys.argv[1]), fit_check=False, verbose=False, random_state=0).fit(load_dataset("adult").train)
print(sys.argv[2], "epochs", sys.argv[1], "fit_s", round(m.fit_time_, 1), "threads", m.n_threads_, flush=True)'
sleep 75  # let the 1-minute load average settle
echo "load before: $(cut -d' ' -f1 /proc/loadavg)"
.venv/bin/python -c "$FIT" 10 alone
.venv/bin/python -c 'while True: pass' & LOOP=$!
sleep 65
echo "load with busy loop: $(cut -d' ' -f1 /proc/loadavg)"
.venv/bin/python -c "$FIT" 10 beside-busy-loop
kill $LOOP
sleep 75
echo "load before two fits: $(cut -d' ' -f1 /proc/loadavg)"
.venv/bin/python -c "$FIT" 60 first-of-two & A=$!
sleep 65
echo "load at second start: $(cut -d' ' -f1 /proc/loadavg)"
.venv/bin/python -c "$FIT" 10 second-of-two
wait $A
# A fit right after a busy minute (the load average still says busy; the cores are idle now),
# and one beside a busy loop started 3 s before it.
timeout 40 .venv/bin/python -c 'while True: pass' ; timeout 40 .venv/bin/python -c 'while True: pass' & sleep 40
.venv/bin/python -c "$FIT" 10 right-after-a-busy-minute
.venv/bin/python -c 'while True: pass' & LOOP=$!
sleep 3
.venv/bin/python -c "$FIT" 10 beside-a-loop-started-3s-before
kill $LOOP
